import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { lstatSync, mkdirSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { join as posixJoin } from "node:path/posix";
import type { Command, CommandResult, Host, HostInfo, ProcessNode } from "@mc/core";
import { McError } from "@mc/core";
import {
  ABSENT,
  batchScript,
  exportLines,
  type Frame,
  type Op,
  parseDirListing,
  parseFrames,
} from "./batch.js";
import { droppedError, sshError } from "./errors.js";
import { parseInfo, parsePsTable, treesFromTable } from "./parse.js";
import { loginShellQuote, psEncodedArgs, psQuote } from "./quote.js";
import { type SshProcess, spawnSsh } from "./spawn.js";
import { type SshHostOptions, sshBaseArgs, sshPercent } from "./ssh-args.js";
import { runWindowsOp } from "./windows-ops.js";

/** A {@link Host} on another machine, reached with the system OpenSSH client. */
export interface SshHost extends Host {
  readonly target: string;
  readonly options: Readonly<SshHostOptions>;
  /** Path of the control socket pattern (`<dir>/%C`). */
  readonly controlPath: string;
  /** ssh invocations that carried operations (each is one round trip). */
  readonly batches: number;
  /** The local command that runs `cmd` on the host with a terminal (`ssh -t`), e.g. to attach. */
  interactiveCommand(cmd: Command): Command;
  /** Stop the shared connection (`ssh -O exit`). */
  close(): Promise<void>;
}

interface Pending {
  op: Op;
  resolve(f: Frame): void;
  reject(e: unknown): void;
}

/** The default control directory: private to this user, shared by every mc process of that user. */
export function defaultControlDir(): string {
  const uid = process.getuid?.() ?? 0;
  const dir = join(tmpdir(), `mc-ssh-${uid}`);
  // Unix socket paths are limited to 104 (macOS) / 108 (Linux) bytes; `%C` adds 41.
  return dir.length > 60 ? `/tmp/mc-ssh-${uid}` : dir;
}

/** Create the control directory (0700) and refuse one that another user could reach into. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
    throw new McError("USAGE", `control directory ${dir} is not a private directory of this user`, {
      backend: "remote",
      op: "connect",
      hint: "remove it, or set controlDir to a directory with mode 0700 that you own",
    });
  }
}

const REMOTE_SH = "exec /bin/sh -s";

/**
 * A host whose commands run on another machine through ONE multiplexed OpenSSH connection
 * (`ControlMaster=auto`, `ControlPersist`), never prompting (`BatchMode=yes`).
 *
 * Batching: every operation started in the same tick (`run`, `readFile`, `readDir`, `writeFile`, …) is
 * queued, and at the next macrotask all of them go out as one POSIX sh script on the stdin of one
 * `ssh … -- <target> exec /bin/sh -s`; the script frames each result with a random boundary and byte
 * lengths. A batch that reads a directory (what every backend's status poll does for its tab records)
 * also takes a `ps` snapshot right after the other operations; a `processTrees` call within
 * `snapshotMaxAgeMs` (1 s) is answered from it, so a whole tmux status poll is one round trip, and the
 * process table is from the same instant as the pane list.
 */
export function sshHost(target: string, opts: SshHostOptions = {}): SshHost {
  const controlDir = opts.controlDir ?? defaultControlDir();
  const controlPath = `${sshPercent(controlDir)}/%C`;
  const base = sshBaseArgs(target, opts, controlPath);
  const id = opts.id ?? `ssh:${target}${opts.port === undefined ? "" : `:${opts.port}`}`;
  const sshFile = opts.ssh ?? "ssh";
  const batching = opts.batch ?? true;
  const maxAge = opts.snapshotMaxAgeMs ?? 1000;
  let dirReady = false;
  let spawned = 0;
  let batches = 0;
  let mode: "unknown" | "posix" | "win32" =
    opts.platform === "posix" ? "posix" : opts.platform === "win32" ? "win32" : "unknown";
  let info: HostInfo | undefined;
  let infoPromise: Promise<HostInfo> | undefined;
  let snapshot: { at: number; table: ProcessNode[] } | undefined;
  let queue: Pending[] = [];
  let scheduled = false;

  const exec = (args: string[], input?: string, timeoutMs?: number, signal?: AbortSignal): SshProcess => {
    if (!dirReady) {
      ensurePrivateDir(controlDir);
      dirReady = true;
    }
    spawned++;
    return spawnSsh(sshFile, [...base, ...args], { input, timeoutMs, signal, env: opts.localEnv });
  };

  const applyInfo = (i: HostInfo) => {
    info = { ...i, ...(opts.stateDir === undefined ? {} : { stateDir: opts.stateDir }) };
    return info;
  };

  async function sendBatch(items: Pending[], signal?: AbortSignal): Promise<void> {
    if (mode === "win32") {
      await Promise.all(items.map((it) => runWindowsOp(it, execWin, id, opts.env)));
      return;
    }
    const ops = items.map((i) => i.op);
    const wantInfo = info === undefined && !ops.some((o) => o.kind === "info");
    if (wantInfo) ops.unshift({ kind: "info" });
    const wantPs = ops.some((o) => o.kind === "readDir") && !ops.some((o) => o.kind === "ps");
    if (wantPs) ops.push({ kind: "ps" });
    const boundary = `MCB${randomBytes(16).toString("hex")}`;
    let script: string;
    try {
      script = batchScript(ops, boundary, opts.env);
    } catch (e) {
      // One bad operation (a NUL in a path) must not sink the others: send them without it.
      if (items.length === 1) throw e;
      await Promise.all(items.map((it) => sendBatch([it], signal).catch(it.reject)));
      return;
    }
    const timeouts = ops.flatMap((o) => (o.kind === "run" && o.cmd.timeoutMs ? [o.cmd.timeoutMs] : []));
    const timeoutMs = timeouts.length ? Math.max(...timeouts) + (opts.connectTimeoutMs ?? 10_000) : undefined;
    batches++;
    const r = await exec(["-T", "--", target, REMOTE_SH], script, timeoutMs, signal).result;
    const { frames } = parseFrames(r.stdout, boundary);
    const offset = wantInfo ? 1 : 0;
    if (frames.size === 0) {
      if (mode === "unknown" && (await import("./windows.js")).looksLikeWindowsShell(r.stderr)) {
        mode = "win32";
        await sendBatch(items, signal);
        return;
      }
      const err = r.timedOut
        ? new McError("TIMEOUT", `${id}: no answer within ${timeoutMs} ms`, { backend: "remote", op: "run" })
        : r.exitCode === 0
          ? droppedError(id, items[0]?.op.kind ?? "run", r.stderr)
          : sshError(id, items[0]?.op.kind ?? "run", r.exitCode, r.stderr);
      for (const it of items) it.reject(err);
      return;
    }
    if (mode === "unknown") mode = "posix";
    const infoFrame = frames.get(0);
    if (wantInfo && infoFrame?.status === 0) applyInfo(parseInfo(infoFrame.out.toString("utf8")));
    const psFrame = wantPs ? frames.get(ops.length - 1) : undefined;
    if (psFrame && psFrame.status === 0) {
      snapshot = { at: Date.now(), table: parsePsTable(psFrame.out.toString("utf8")) };
    }
    for (const [k, it] of items.entries()) {
      const f = frames.get(k + offset);
      if (f) it.resolve(f);
      else if (r.timedOut)
        it.reject(new McError("TIMEOUT", `${id}: ${it.op.kind} timed out`, { backend: "remote" }));
      else it.reject(droppedError(id, it.op.kind, r.stderr));
    }
  }

  const execWin = async (line: string, input?: string, timeoutMs?: number) => {
    batches++;
    return exec(["-T", "--", target, line], input, timeoutMs).result;
  };

  function enqueue(op: Op, signal?: AbortSignal): Promise<Frame> {
    return new Promise<Frame>((resolve, reject) => {
      const item = { op, resolve, reject };
      if (!batching || signal) {
        sendBatch([item], signal).catch(reject);
        return;
      }
      queue.push(item);
      if (scheduled) return;
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        const items = queue;
        queue = [];
        sendBatch(items).catch((e) => {
          for (const it of items) it.reject(e);
        });
      });
    });
  }

  const text = (b: Buffer) => b.toString("utf8");
  const failed = (op: string, what: string, f: Frame) =>
    new McError("COMMAND_FAILED", `${id}: ${op} ${what}: ${text(f.err).trim() || `exit ${f.status}`}`, {
      backend: "remote",
      op,
    });

  const remoteLine = (cmd: Command): string => {
    if (mode === "win32") {
      const env = Object.entries({ ...opts.env, ...cmd.env })
        .map(([k, v]) => `$env:${k} = ${psQuote(v)}; `)
        .join("");
      const cd = cmd.cwd === undefined ? "" : `Set-Location -LiteralPath ${psQuote(cmd.cwd)}; `;
      const script = `${env}${cd}& ${[cmd.file, ...cmd.args].map(psQuote).join(" ")}; exit $LASTEXITCODE`;
      return ["powershell", ...psEncodedArgs(script)].join(" ");
    }
    const script = [
      exportLines({ ...opts.env, ...cmd.env }),
      cmd.cwd === undefined ? "" : `cd -- ${loginShellQuote(cmd.cwd)} || exit 126\n`,
      `exec ${[cmd.file, ...cmd.args].map((a) => loginShellQuote(a)).join(" ")}`,
    ].join("");
    return `exec /bin/sh -c ${loginShellQuote(script)}`;
  };

  const host: SshHost = {
    id,
    target,
    options: opts,
    controlPath,
    coalesces: batching,
    get spawned() {
      return spawned;
    },
    get batches() {
      return batches;
    },
    async run(cmd, runOpts = {}): Promise<CommandResult> {
      const started = performance.now();
      const f = await enqueue({ kind: "run", cmd }, runOpts.signal);
      if (f.flags === "nf") {
        throw new McError("BINARY_NOT_FOUND", `"${cmd.file}" was not found on PATH on ${id}`, {
          backend: "remote",
          op: "run",
          hint: `install ${cmd.file} on ${target} or put it on PATH (non-interactive ssh sessions often have a shorter PATH: set env.PATH)`,
        });
      }
      return {
        exitCode: f.status,
        stdout: text(f.out),
        stderr: text(f.err),
        timedOut: false,
        durationMs: performance.now() - started,
      };
    },
    async runInteractive(cmd) {
      const c = host.interactiveCommand(cmd);
      spawned++;
      return new Promise<number>((resolve, reject) => {
        const child = spawn(c.file, [...c.args], { stdio: "inherit", env: opts.localEnv ?? process.env });
        child.on("error", reject);
        child.on("close", (code) => resolve(code ?? 1));
      });
    },
    interactiveCommand(cmd) {
      return { file: sshFile, args: [...base, "-t", "--", target, remoteLine(cmd)] };
    },
    info() {
      if (info) return Promise.resolve(info);
      infoPromise ??= (async () => {
        if (mode === "win32") {
          const { psInfo, parsePsInfo } = await import("./windows.js");
          const call = psInfo();
          const r = await execWin(call.line);
          if (r.exitCode !== 0) throw sshError(id, "info", r.exitCode, r.stderr);
          return applyInfo(parsePsInfo(r.stdout.toString("utf8")));
        }
        const f = await enqueue({ kind: "info" });
        if (f.status !== 0) throw failed("info", "failed", f);
        return info ?? applyInfo(parseInfo(text(f.out)));
      })().finally(() => {
        infoPromise = undefined;
      });
      return infoPromise;
    },
    async readFile(path) {
      const f = await enqueue({ kind: "readFile", path });
      if (f.status === ABSENT) return undefined;
      if (f.status !== 0) throw failed("readFile", path, f);
      return text(f.out);
    },
    async readDir(dir) {
      const f = await enqueue({ kind: "readDir", dir });
      if (f.status === ABSENT) return new Map();
      if (f.status !== 0) throw failed("readDir", dir, f);
      return f.kind === "win" ? f.files! : parseDirListing(f.out, f.flags);
    },
    async writeFile(path, data, o) {
      const tmp = `${path}.tmp-mc-${randomBytes(4).toString("hex")}`;
      const f = await enqueue({ kind: "writeFile", path, data, mode: o?.mode ?? 0o644, tmp });
      if (f.status !== 0) throw failed("writeFile", path, f);
    },
    async stat(path) {
      const f = await enqueue({ kind: "stat", path });
      const s = text(f.out).trim();
      return s === "dir" || s === "file" ? s : undefined;
    },
    async remove(path) {
      const f = await enqueue({ kind: "remove", path });
      if (f.status !== 0) throw failed("remove", path, f);
    },
    async processTrees(pids) {
      if (pids.length === 0) return new Map();
      if (!snapshot || Date.now() - snapshot.at > maxAge) {
        const f = await enqueue({ kind: "ps" });
        if (f.status !== 0) throw failed("processTrees", "ps", f);
        snapshot = { at: Date.now(), table: f.table ?? parsePsTable(text(f.out)) };
      }
      return treesFromTable(snapshot.table, pids);
    },
    async which(file) {
      const f = await enqueue({ kind: "which", file });
      return f.status === 0 ? text(f.out).trim() || undefined : undefined;
    },
    async lock(name, timeoutMs = 30_000) {
      const dir = posixJoin((await host.info()).stateDir, "locks", `${name.replace(/[^\w.-]/g, "_")}.lock`);
      const owner = JSON.stringify({
        host: hostname(),
        pid: process.pid,
        at: Date.now(),
        n: randomBytes(4).toString("hex"),
      });
      const deadline = Date.now() + timeoutMs;
      for (let attempt = 0; ; attempt++) {
        const f = await enqueue({ kind: "lock", dir, owner });
        const [state = "", , held = ""] = text(f.out).split("\n");
        if (f.status === 0 && state === "got") {
          return async () => {
            await enqueue({ kind: "unlock", dir, owner });
          };
        }
        if (f.status !== 0) throw failed("lock", dir, f);
        if (isStale(held)) {
          await enqueue({ kind: "unlock", dir, owner: held });
          continue;
        }
        if (Date.now() > deadline) {
          throw new McError("TIMEOUT", `another mc process holds the lock ${dir} on ${id}: ${held}`, {
            backend: "remote",
            op: "lock",
            hint: "wait for it to finish, or remove the lock directory if that process is gone",
          });
        }
        await new Promise((r) =>
          setTimeout(r, 50 + Math.random() * Math.min(500, 25 * 2 ** Math.min(attempt, 5))),
        );
      }
    },
    async close() {
      if (!dirReady) return;
      spawned++;
      await spawnSsh(sshFile, [...base, "-O", "exit", "--", target], { env: opts.localEnv }).result;
    },
  };
  return host;
}

/** A lock whose owner is a dead process on this machine, or older than 10 minutes, is stale. */
function isStale(ownerText: string): boolean {
  try {
    const o = JSON.parse(ownerText) as { host?: string; pid?: number; at?: number };
    if (typeof o.at === "number" && Date.now() - o.at > 10 * 60_000) return true;
    if (o.host === hostname() && typeof o.pid === "number") {
      try {
        process.kill(o.pid, 0);
        return false;
      } catch (e) {
        return (e as NodeJS.ErrnoException).code !== "EPERM";
      }
    }
    return false;
  } catch {
    // No owner written yet (the holder is between mkdir and writing it): not stale.
    return false;
  }
}
