import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  type Command,
  type CommandResult,
  defineHost,
  type Host,
  type HostInfo,
  type HostOperations,
  type HostPrimitives,
  McError,
  parsePsTable,
  treesFromTable,
} from "@mc/core";
import { ABSENT, type Frame } from "./batch.js";
import { sshError, stateError } from "./errors.js";
import type { HostFacts } from "./parse.js";
import { parseDestination } from "./quote.js";
import type { SshHostOptions } from "./ssh-args.js";
import { SshTransport } from "./ssh-transport.js";
import { remoteStateExposure, remoteStateRefusal } from "./state-owner.js";
import { parseDirListing } from "./tar.js";

/** A {@link Host} on another machine, reached with the system OpenSSH client. */
export interface SshHost extends Host {
  /** The destination as ssh takes it (brackets and URI ports removed, see {@link parseDestination}). */
  readonly target: string;
  readonly options: Readonly<SshHostOptions>;
  /** The control socket of this connection (known after the first call). */
  readonly controlPath: string | undefined;
  /** ssh invocations that carried operations (each is one round trip). */
  readonly batches: number;
  /** Remote clock minus this machine's clock in ms, measured on the first call (0 within a second). */
  readonly clockSkewMs: number;
  /** Who the machine is (machine id, boot, user, server environment), from the first call. */
  facts(): Promise<HostFacts | undefined>;
  /** The command a user can run to check this connection (`ssh -p 2222 -- gpu-1 true`). */
  readonly probe: string;
  /** Nothing to release: the shared control master is never torn down (ControlPersist ends it). */
  close(): Promise<void>;
}

const text = (b: Buffer) => b.toString("utf8");

/** The batched file operations: each is one operation in this tick's batch. */
function batchedOperations(t: SshTransport): Partial<HostOperations> {
  const failed = (op: string, what: string, f: Frame) =>
    stateError(t.id, op, what, text(f.err) || `exit ${f.status}`, t.info?.stateDir);
  return {
    async readFile(path) {
      const f = await t.enqueue({ kind: "readFile", path });
      if (f.status === ABSENT) return undefined;
      if (f.status !== 0) throw failed("read", path, f);
      return text(f.out);
    },
    async readDir(dir) {
      const f = await t.enqueue({ kind: "readDir", dir });
      if (f.status === ABSENT) return new Map();
      if (f.status !== 0) throw failed("read", dir, f);
      return f.kind === "win" ? f.files! : parseDirListing(f.out, f.flags);
    },
    async writeFile(path, data, o) {
      const tmp = `${path}.tmp-mc-${randomBytes(4).toString("hex")}`;
      const f = await t.enqueue({ kind: "writeFile", path, data, mode: o?.mode ?? 0o600, tmp });
      if (f.status !== 0) throw failed("write", path, f);
    },
    async stat(path) {
      const s = text((await t.enqueue({ kind: "stat", path })).out).trim();
      return s === "dir" || s === "file" ? s : undefined;
    },
    async remove(path) {
      const f = await t.enqueue({ kind: "remove", path });
      if (f.status !== 0) throw failed("remove", path, f);
    },
    async processTrees(pids) {
      if (pids.length === 0) return new Map();
      if (!t.snapshot || performance.now() - t.snapshot.at > (t.opts.snapshotMaxAgeMs ?? 1000)) {
        const f = await t.enqueue({ kind: "ps" });
        if (f.status !== 0)
          throw new McError("COMMAND_FAILED", `${t.id}: ps: ${text(f.err).trim()}`, { backend: "remote" });
        t.snapshot = { at: performance.now(), table: f.table ?? parsePsTable(text(f.out)) };
      }
      return treesFromTable(t.snapshot.table, pids);
    },
    async which(file) {
      const f = await t.enqueue({ kind: "which", file });
      return f.status === 0 ? text(f.out).trim() || undefined : undefined;
    },
  };
}

/** The transport's primitives: run, attach, info. */
function primitives(t: SshTransport): HostPrimitives {
  const interactiveCommand = (cmd: Command): Command => ({
    file: t.sshFile,
    args: [...t.baseArgs(), "-t", "--", t.target, t.remoteLine(cmd)],
  });
  return {
    id: t.id,
    coalesces: t.opts.batch !== false,
    get spawned() {
      return t.spawned;
    },
    async run(cmd, runOpts = {}): Promise<CommandResult> {
      const started = performance.now();
      const f = await t.enqueue({ kind: "run", cmd }, runOpts.signal);
      if (f.flags === "nf") {
        throw new McError("BINARY_NOT_FOUND", `"${cmd.file}" was not found on PATH on ${t.id}`, {
          backend: "remote",
          op: "run",
          hint: `install ${cmd.file} on ${t.target} or put it on the PATH of a non-interactive ssh session there (often shorter than a login shell's: ${t.sshLine("echo $PATH")} shows it)`,
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
    interactiveCommand,
    async runInteractive(cmd) {
      await t.ready();
      if (t.mode === "win32") await t.windowsShell();
      const c = interactiveCommand(cmd);
      t.spawned++;
      return new Promise<number>((resolve, reject) => {
        const child = spawn(c.file, [...c.args], { stdio: "inherit", env: t.opts.localEnv ?? process.env });
        child.on("error", reject);
        child.on("close", (code) => resolve(code ?? 1));
      });
    },
    info: () => hostInfo(t),
    // The control master is shared with every other mc process of this user (and a live `attach`):
    // it is never torn down here. ControlPersist ends it once nobody has used it for that long.
    close: async () => {},
  };
}

const infoCalls = new WeakMap<SshTransport, Promise<HostInfo>>();

async function hostInfo(t: SshTransport): Promise<HostInfo> {
  if (t.info) return t.info;
  let p = infoCalls.get(t);
  if (!p) {
    p = (async () => {
      await t.ready();
      if (t.mode !== "win32") {
        const f = await t.enqueue({ kind: "info", stateDir: t.opts.stateDir });
        // A first call that found a Windows shell (auto detection) asks again, the Windows way.
        if ((t.mode as SshTransport["mode"]) !== "win32") {
          if (f.status !== 0)
            throw new McError("COMMAND_FAILED", `${t.id}: info: ${text(f.err).trim()}`, {
              backend: "remote",
            });
          if (!t.info)
            throw new McError("INTERNAL", `${t.id}: the info operation was not read`, { backend: "remote" });
          return t.info;
        }
      }
      const { psInfo, parsePsInfo } = await import("./windows.js");
      const r = await t.winScript(psInfo(), "info");
      if (r.exitCode !== 0) throw sshError(t.id, "info", r.exitCode, r.err, { probe: t.probe() });
      const info = parsePsInfo(text(r.out), await t.windowsShell());
      t.info = t.opts.stateDir === undefined ? info : { ...info, stateDir: t.opts.stateDir };
      return t.info;
    })().finally(() => infoCalls.delete(t));
    infoCalls.set(t, p);
  }
  return p;
}

/**
 * A host whose commands run on another machine through ONE multiplexed OpenSSH connection per
 * effective configuration (`ControlMaster=auto`, `ControlPersist`), never prompting (`BatchMode=yes`).
 *
 * Batching: every operation started in the same tick (`run`, `readFile`, `readDir`, `writeFile`, …) goes
 * out as one POSIX sh script on one ssh invocation. A batch that reads a directory (what every status
 * poll does for its tab records) also takes a `ps` snapshot (core's PS_TABLE_SCRIPT); `processTrees`
 * within `snapshotMaxAgeMs` (1 s) is answered from it, so a whole tmux status poll is one round trip.
 * The lock is core's one lock ({@link hostLock}), run through the batched `run`; Windows hosts get
 * PowerShell operations, one invocation each.
 */
export function sshHost(target: string, opts: SshHostOptions = {}): SshHost {
  const dest = parseDestination(target);
  if (dest.port !== undefined && opts.port !== undefined && dest.port !== opts.port) {
    throw new McError(
      "USAGE",
      `ssh target ${JSON.stringify(target)} gives port ${dest.port} but the port option is ${opts.port}`,
      {
        backend: "remote",
        op: "connect",
      },
    );
  }
  const o: SshHostOptions = { ...opts, ...(dest.port === undefined ? {} : { port: dest.port }) };
  const id = o.id ?? `ssh:${dest.target}${o.port === undefined ? "" : `:${o.port}`}`;
  const t = new SshTransport(id, dest.target, o);
  // Object.assign onto the primitives keeps their `spawned` getter live (a spread would copy its value).
  const base = defineHost(Object.assign(primitives(t), batchedOperations(t)));
  const lock = base.lock;
  // Every write or removal in mc's state there is refused where that state is another user's or others
  // could write it (a swapped `runs` symlink would have `ls --prune` remove what it points at).
  const inState = <A extends unknown[], R>(op: string, f: (path: string, ...a: A) => Promise<R>) => ({
    value: async (path: string, ...a: A): Promise<R> => {
      const { stateDir } = await hostInfo(t);
      if (path === stateDir || path.startsWith(`${stateDir.replace(/\/+$/, "")}/`)) {
        const refused = remoteStateRefusal(t.id, stateDir, t.facts, op);
        if (refused) throw refused;
      }
      return f(path, ...a);
    },
  });
  return Object.defineProperties(base, {
    writeFile: inState("write", base.writeFile),
    remove: inState("remove", base.remove),
    makeDir: inState("mkdir", base.makeDir),
    target: { value: dest.target, enumerable: true },
    options: { value: o, enumerable: true },
    controlPath: { get: () => t.controlPath, enumerable: true },
    batches: { get: () => t.batches, enumerable: true },
    clockSkewMs: { get: () => t.skewMs, enumerable: true },
    probe: { get: () => t.probe(), enumerable: true },
    facts: {
      value: async () => {
        await hostInfo(t);
        return t.facts;
      },
    },
    // Every change mc makes in its state there (start, rerun, kill's records) takes this lock first:
    // refused, before the lock directory is made, where that state is another user's or others could
    // write it.
    lock: {
      value: async (name: string, timeoutMs?: number) => {
        const refused = remoteStateRefusal(t.id, (await hostInfo(t)).stateDir, t.facts, "lock");
        if (refused) throw refused;
        return lock(name, timeoutMs);
      },
    },
    stateExposure: {
      value: async (stateDir: string) => {
        const info = await hostInfo(t);
        // The probe judged the state directory the info operation names; another one is not known.
        return stateDir === info.stateDir ? remoteStateExposure(t.id, stateDir, t.facts) : undefined;
      },
    },
  }) as SshHost;
}
