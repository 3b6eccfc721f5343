import { randomBytes } from "node:crypto";
import { type Command, type HostInfo, McError, type ProcessNode, parsePsTable } from "@mc/core";
import { batchScript, exportLines, type Frame, type Op, parseFrames, wrongMachine } from "./batch.js";
import { defaultControlDir, ensurePrivateDir } from "./control-dir.js";
import { droppedError, sshError } from "./errors.js";
import { type HostFacts, parseInfo } from "./parse.js";
import { loginShellQuote, psQuote, shJoin } from "./quote.js";
import { type SshProcess, type SshResult, spawnSsh } from "./spawn.js";
import { type SshHostOptions, sshBaseArgs, sshPercent, sshUserArgs } from "./ssh-args.js";
import { type ResolvedSsh, resolveSsh, resolveSshSync } from "./ssh-config.js";
import { runWindowsOp, type WinResult } from "./windows-ops.js";
import {
  afterBoundary,
  interactiveLine,
  parseShellProbe,
  SHELL_PROBE,
  scriptNotRun,
  stubInput,
  stubLine,
  unknownShell,
  type WindowsShell,
} from "./windows-shell.js";

interface Pending {
  op: Op;
  resolve(f: Frame): void;
  reject(e: unknown): void;
}

const REMOTE_SH = "exec /bin/sh -s";

/** Below this the measured clock difference is noise (a round trip, `date`'s resolution). */
const SKEW_THRESHOLD_MS = 1000;
/** How long a login shell may take to start mc's batch script once connected (see spawnSsh's `up`). */
const LOGIN_MS = 45_000;

/**
 * The ssh side of {@link sshHost}: one control master per connection key, and the batch queue. Every
 * operation started in the same tick goes out as one POSIX sh script on the stdin of one
 * `ssh … -T -- <target> exec /bin/sh -s`; each result comes back in its own framed section.
 */
export class SshTransport {
  readonly sshFile: string;
  readonly userArgs: string[];
  spawned = 0;
  batches = 0;
  mode: "unknown" | "posix" | "win32";
  info: HostInfo | undefined;
  facts: HostFacts | undefined;
  /** Remote clock minus this machine's, in ms (0 until measured or when within noise). */
  skewMs = 0;
  /** A ps table and when it was read (monotonic ms: its age decides reuse). */
  snapshot: { at: number; table: ProcessNode[] } | undefined;
  private resolved: (ResolvedSsh & { controlPath: string }) | undefined;
  private resolving: Promise<void> | undefined;
  private shellProbe: Promise<WindowsShell> | undefined;
  /** The Windows default shell once found. */
  knownShell: WindowsShell | undefined;
  private queue: Pending[] = [];
  private scheduled = false;
  private used = false;

  constructor(
    readonly id: string,
    readonly target: string,
    readonly opts: SshHostOptions,
  ) {
    this.sshFile = opts.ssh ?? "ssh";
    this.userArgs = sshUserArgs(opts);
    this.mode = opts.platform === "posix" ? "posix" : opts.platform === "win32" ? "win32" : "unknown";
  }

  /** The control socket of this connection, once known. */
  get controlPath(): string | undefined {
    return this.resolved?.controlPath;
  }

  private settle(r: ResolvedSsh): void {
    const dir = this.opts.controlDir ?? defaultControlDir(this.opts.localEnv ?? process.env);
    if (this.opts.controlDir !== undefined) ensurePrivateDir(dir);
    this.resolved = { ...r, controlPath: `${sshPercent(dir)}/${r.key}` };
  }

  /** Resolve the connection's name (`ssh -G`) before the first call. */
  async ready(): Promise<void> {
    if (this.resolved) return;
    this.resolving ??= resolveSsh(this.sshFile, this.userArgs, this.target, this.opts.localEnv).then(
      (r) => this.settle(r),
      (e) => {
        this.resolving = undefined;
        throw e;
      },
    );
    await this.resolving;
  }

  /** Every option of a call to this host (resolving synchronously if nothing has run yet). */
  baseArgs(): string[] {
    if (!this.resolved)
      this.settle(resolveSshSync(this.sshFile, this.userArgs, this.target, this.opts.localEnv));
    return sshBaseArgs(this.opts, this.resolved!.controlPath, this.resolved!.known);
  }

  /** The command a user can run to check this connection, for error hints. */
  probe(): string {
    return this.sshLine("true");
  }

  /** The ssh command line a user types to run `remote` there, with the options mc was given (`-F`, …). */
  sshLine(remote: string): string {
    return `ssh ${shJoin([...this.userArgs, "--", this.target, remote])}`;
  }

  exec(
    args: string[],
    input?: string,
    timeoutMs?: number,
    signal?: AbortSignal,
    up?: { token: string; ms: number },
  ): SshProcess {
    this.spawned++;
    return spawnSsh(this.sshFile, [...this.baseArgs(), ...args], {
      input,
      timeoutMs,
      signal,
      env: this.opts.localEnv,
      up,
    });
  }

  /** How long a login may take to start mc's script: the connection's time, and 45 s for the login shell. */
  upTimeoutMs(): number {
    return (this.opts.connectTimeoutMs ?? 10_000) + (this.opts.loginTimeoutMs ?? LOGIN_MS);
  }

  execWin = async (line: string, input?: string, timeoutMs?: number): Promise<SshResult> => {
    await this.ready();
    this.batches++;
    return this.exec(["-T", "--", this.target, line], input, timeoutMs).result;
  };

  /** The Windows host's OpenSSH default shell: given, or found with one probe (see windows-shell.ts). */
  windowsShell(): Promise<WindowsShell> {
    if (this.opts.windowsShell) {
      this.knownShell = this.opts.windowsShell;
      return Promise.resolve(this.opts.windowsShell);
    }
    this.shellProbe ??= (async () => {
      const r = await this.execWin(SHELL_PROBE, "");
      const shell = parseShellProbe(r.stdout.toString("utf8"));
      if (shell) {
        this.knownShell = shell;
        return shell;
      }
      if (r.exitCode === 255) throw sshError(this.id, "connect", 255, r.stderr, { probe: this.probe() });
      throw unknownShell(this.id, r.stdout.toString("utf8"), r.stderr);
    })().catch((e) => {
      this.shellProbe = undefined;
      throw e;
    });
    return this.shellProbe;
  }

  /**
   * Run one PowerShell script on a Windows host: the command line is the constant stub of its default
   * shell, the script travels on stdin, and only what it printed after its boundary counts.
   */
  winScript = async (script: string, op: string, timeoutMs?: number): Promise<WinResult> => {
    const shell = await this.windowsShell();
    const boundary = `MCW${randomBytes(12).toString("hex")}`;
    const r = await this.execWin(stubLine(shell), stubInput(script, boundary), timeoutMs);
    const got = afterBoundary(r.stdout, r.stderr, boundary);
    if (r.timedOut)
      throw new McError("TIMEOUT", `${this.id}: ${op}: no answer within ${timeoutMs} ms`, {
        backend: "remote",
        op,
      });
    if (!got) {
      if (r.exitCode === 255) throw sshError(this.id, op, r.exitCode, r.stderr, { probe: this.probe() });
      throw scriptNotRun(this.id, op, shell, { ...r, stdout: r.stdout.toString("utf8") });
    }
    return { exitCode: r.exitCode, ...got };
  };

  private applyInfo(out: string, sentAt: number, doneAt: number): void {
    const parsed = parseInfo(out);
    const { facts, ...info } = parsed;
    this.info = { ...info, ...(this.opts.stateDir === undefined ? {} : { stateDir: this.opts.stateDir }) };
    if (!facts) return;
    this.facts = facts;
    // The remote clock was read between the script's start (its `up` token, read at `sentAt` here when
    // known) and the answer: a slow login before the script (a slow PAM, reverse DNS, a ForceCommand) is
    // no longer half taken for skew (review HR84-3: times 1.5 s early after a 3 s login). What is under the
    // uncertainty of that window is not told from latency, and taken as none.
    const skew = facts.clockMs - (sentAt + doneAt) / 2;
    const unsure = Math.max(0, doneAt - sentAt) / 2;
    this.skewMs =
      Number.isFinite(skew) && Math.abs(skew) >= SKEW_THRESHOLD_MS + unsure ? Math.round(skew) : 0;
  }

  /** Put an operation in this tick's batch (or send it alone: no batching, or a cancellable call). */
  enqueue(op: Op, signal?: AbortSignal): Promise<Frame> {
    if (!this.used) {
      this.used = true;
      this.opts.onFirstUse?.();
    }
    return new Promise<Frame>((resolve, reject) => {
      const item = { op, resolve, reject };
      if (this.opts.batch === false || signal) {
        this.send([item], signal).catch(reject);
        return;
      }
      this.queue.push(item);
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        const items = this.queue;
        this.queue = [];
        this.send(items).catch((e) => {
          for (const it of items) it.reject(e);
        });
      });
    });
  }

  /** Send one batch and answer each of its operations. */
  async send(items: Pending[], signal?: AbortSignal): Promise<void> {
    await this.ready();
    // Did not answer earlier in this command (see SshHostOptions.unanswered): not waited for again.
    const silent = this.opts.unanswered?.get(this.resolved!.key);
    if (silent) {
      for (const it of items) it.reject(silent);
      return;
    }
    if (this.mode === "win32") {
      await Promise.all(items.map((it) => runWindowsOp(it, this.winScript, this.opts.env)));
      return;
    }
    const ops = items.map((i) => i.op);
    const wantInfo = this.info === undefined && !ops.some((o) => o.kind === "info");
    if (wantInfo) ops.unshift({ kind: "info", stateDir: this.opts.stateDir });
    const wantPs = ops.some((o) => o.kind === "readDir") && !ops.some((o) => o.kind === "ps");
    if (wantPs) ops.push({ kind: "ps" });
    const boundary = `MCB${randomBytes(16).toString("hex")}`;
    let script: string;
    try {
      script = batchScript(ops, boundary, this.opts.env, this.opts.expectMachine);
    } catch (e) {
      // One bad operation (a NUL in a path) must not sink the others: send them without it.
      if (items.length === 1) throw e;
      await Promise.all(items.map((it) => this.send([it], signal).catch(it.reject)));
      return;
    }
    const timeouts = ops.flatMap((o) => (o.kind === "run" && o.cmd.timeoutMs ? [o.cmd.timeoutMs] : []));
    const timeoutMs = timeouts.length
      ? Math.max(...timeouts) + (this.opts.connectTimeoutMs ?? 10_000)
      : undefined;
    this.batches++;
    const sentAt = Date.now();
    const r = await this.exec(["-T", "--", this.target, REMOTE_SH], script, timeoutMs, signal, {
      token: `${boundary}-up`,
      ms: this.upTimeoutMs(),
    }).result;
    const other = this.opts.expectMachine && wrongMachine(r.stdout, boundary);
    if (other) {
      const want = this.opts.expectMachine!;
      const e = new McError(
        "SSH_UNREACHABLE",
        `${this.id} now reaches another machine (machine id ${other.id}, uid ${other.uid}) than the one this run started on (machine id ${want.id}, uid ${want.uid}): nothing was run there`,
        {
          backend: "remote",
          hint: "the ssh config or the name's address changed since the run started: point it back to that machine",
        },
      );
      for (const it of items) it.reject(e);
      return;
    }
    const { frames } = parseFrames(r.stdout, boundary);
    if (frames.size === 0) return this.failBatch(items, r, timeoutMs, signal);
    if (this.mode === "unknown") this.mode = "posix";
    const offset = wantInfo ? 1 : 0;
    const infoFrame = frames.get(ops.findIndex((o) => o.kind === "info"));
    if (!this.info && infoFrame?.status === 0)
      this.applyInfo(infoFrame.out.toString("utf8"), r.upAt ?? sentAt, Date.now());
    const psFrame = wantPs ? frames.get(ops.length - 1) : undefined;
    if (psFrame?.status === 0)
      this.snapshot = { at: performance.now(), table: parsePsTable(psFrame.out.toString("utf8")) };
    for (const [k, it] of items.entries()) {
      const f = frames.get(k + offset);
      if (f) it.resolve(f);
      else if (r.timedOut)
        it.reject(new McError("TIMEOUT", `${this.id}: ${it.op.kind} timed out`, { backend: "remote" }));
      else it.reject(droppedError(this.id, it.op.kind, r.stderr));
    }
  }

  /** No frame came back: a Windows shell (retry as such), a timeout, a dropped link or an ssh error. */
  private async failBatch(
    items: Pending[],
    r: SshResult,
    timeoutMs: number | undefined,
    signal?: AbortSignal,
  ) {
    if (this.mode === "unknown" && (await import("./windows.js")).looksLikeWindowsShell(r.stderr)) {
      this.mode = "win32";
      await this.send(items, signal);
      return;
    }
    const op = items[0]?.op.kind ?? "run";
    const err = r.notUp
      ? new McError(
          "SSH_UNREACHABLE",
          `${this.id}: connected, but the login did not start mc's commands within ${Math.round(this.upTimeoutMs() / 1000)} s (a login shell or rc file that hangs?)`,
          { backend: "remote", op, hint: `check that \`${this.probe()}\` answers at once` },
        )
      : r.timedOut
        ? new McError("TIMEOUT", `${this.id}: no answer within ${timeoutMs} ms`, {
            backend: "remote",
            op: "run",
          })
        : // The login ran mc's script (its up token came) and the connection then dropped: the machine
          // answered; what came is part of a batch, not a reason (review HR89-2: "unreachable: ./cmd-0\0…").
          r.exitCode === 0 || r.upAt !== undefined
          ? droppedError(this.id, op, r.stderr)
          : // nologin(8) prints its message on stdout: what the login shell said is the cause either way.
            sshError(this.id, op, r.exitCode, `${r.stdout.toString("utf8").slice(0, 2000)}\n${r.stderr}`, {
              probe: this.probe(),
            });
    // Not a connection that dropped mid-batch (exit 0) or a command that ran past its time: the machine
    // did not answer, which this command need not wait out again.
    // A connection the server dropped before the login (sshd's MaxStartups under load: "Connection reset
    // by peer", "closed by remote host") may well be taken next time: not remembered (review HR83: with a
    // run's start now remembering, one such drop failed the machine's every later step).
    // Nor one that answered (its up token came) and dropped after: the next connection may well work, and
    // a start's roll-back needs it (review HR89-2: nothing was rolled back, the tabs ran on unsaid).
    const transient = /reset by peer|closed by remote host|kex_exchange_identification/i.test(err.message);
    if (
      err.code === "SSH_UNREACHABLE" &&
      !transient &&
      r.upAt === undefined &&
      (r.notUp || (!r.timedOut && r.exitCode !== 0))
    )
      this.opts.unanswered?.set(this.resolved!.key, err);
    for (const it of items) it.reject(err);
  }

  /**
   * The line ssh hands the remote login shell to run `cmd` with a terminal (attach). On Windows the
   * default shell must be known first (`info()` finds it), else cmd.exe is assumed.
   */
  remoteLine(cmd: Command): string {
    if (this.mode === "win32") {
      const env = Object.entries({ ...this.opts.env, ...cmd.env })
        .map(([k, v]) => `$env:${k} = ${psQuote(v)}; `)
        .join("");
      const cd = cmd.cwd === undefined ? "" : `Set-Location -LiteralPath ${psQuote(cmd.cwd)}; `;
      const script = `${env}${cd}& ${[cmd.file, ...cmd.args].map(psQuote).join(" ")}; exit $LASTEXITCODE`;
      return interactiveLine(script, this.knownShell ?? "cmd");
    }
    const script = [
      exportLines({ ...this.opts.env, ...cmd.env }),
      cmd.cwd === undefined ? "" : `cd -- ${shJoin([cmd.cwd])} || exit 126\n`,
      `exec ${shJoin([cmd.file, ...cmd.args])}`,
    ].join("");
    // The login shell (maybe fish) reads only this one line; the script inside it is POSIX sh.
    return `exec /bin/sh -c ${loginShellQuote(script)}`;
  }
}
