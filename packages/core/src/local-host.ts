import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { access, lstat, open, readdir, readFile, rename, rm, stat, unlink } from "node:fs/promises";
import { devNull, homedir } from "node:os";
import { basename, delimiter, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { execa } from "execa";
import { defineHost } from "./define-host.js";
import { McError } from "./errors.js";
import type { Command, CommandResult, Host, HostInfo } from "./host.js";
import { linuxProcessTrees } from "./linux-proc.js";
import { makeDirs, makeDirsSync } from "./make-dirs.js";
import { commandDeadline } from "./poll.js";

/** Where mc keeps state on this machine: `$MC_STATE_DIR`, else `$XDG_STATE_HOME/mc`, else `~/.local/state/mc`. */
export function localStateDir(env: NodeJS.ProcessEnv = process.env): string {
  // Always absolute: a relative directory would make every tab's script path relative to wherever a
  // later command runs. A relative XDG_STATE_HOME is invalid by the XDG spec and is ignored.
  if (env.MC_STATE_DIR) return resolve(env.MC_STATE_DIR);
  const xdg = env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : undefined;
  return join(xdg ?? join(env.HOME || homedir(), ".local", "state"), "mc");
}

/**
 * Write a file atomically on this machine: temp file in the same directory, fsync, rename (0600 unless
 * told). Without `durable` (artefacts a session reads at once, probes) it is done with synchronous calls:
 * a launch writes a file per tab, and 100 files through the thread pool cost ~10 ms more than in line.
 */
export async function writeFileAtomic(
  path: string,
  data: string,
  mode = 0o600,
  durable = true,
): Promise<void> {
  if (!durable) return writeFileAtomicSync(path, data, mode);
  await makeDirs(dirname(path), 0o700);
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  const fh = await open(tmp, "w", mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

function writeFileAtomicSync(path: string, data: string, mode: number): void {
  makeDirsSync(dirname(path), 0o700);
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  const fd = openSync(tmp, "w", mode);
  try {
    writeFileSync(fd, data);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

function platformOf(p: NodeJS.Platform): HostInfo["platform"] {
  return p === "linux" || p === "darwin" || p === "win32" || p === "freebsd" ? p : "other";
}

/** Options of {@link localHost}. */
export interface LocalHostOptions {
  /** Environment for every command (defaults to this process's). */
  env?: NodeJS.ProcessEnv;
  /** Overrides the state directory. */
  stateDir?: string;
}

/**
 * Most a state file (a run record, a tab record) may hold to be read: mc writes them a few kilobytes long;
 * a file of hundreds of megabytes in their place was read whole by every `ls` (and past V8's string limit,
 * read as no file at all).
 */
export const STATE_FILE_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Read a regular file; undefined when there is none. A FIFO or device is never opened (it could block);
 * one larger than {@link STATE_FILE_MAX_BYTES} is an error saying so.
 */
async function readRegular(path: string): Promise<string | undefined> {
  try {
    const st = await stat(path);
    if (!st.isFile()) return undefined;
    if (st.size > STATE_FILE_MAX_BYTES)
      throw new McError(
        "STATE_CORRUPT",
        `${path} is too large to be mc's (${Math.round(st.size / 2 ** 20)} MiB)`,
        {
          backend: "core",
          op: "read",
        },
      );
    return await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR")
      return undefined;
    throw e;
  }
}

/**
 * The machine mc runs on: commands through execa, files through node:fs, process trees from Linux /proc
 * (elsewhere derived, see {@link defineHost}), and core's lock held by this process.
 */
export function localHost(opts: LocalHostOptions = {}): Host {
  const env = opts.env ?? process.env;
  let spawned = 0;
  const stateDir = opts.stateDir === undefined ? localStateDir(env) : resolve(opts.stateDir);
  const notFound = (cmd: Command, cause: unknown) =>
    new McError("BINARY_NOT_FOUND", `"${cmd.file}" was not found on PATH`, {
      backend: "core",
      op: "run",
      hint: `install ${cmd.file} or put it on PATH`,
      cause,
    });
  /**
   * Descriptors for a command's pipes, asked of the system first: node's spawn without them emits an
   * error no caller can listen to, and execa then throws a TypeError (review H77-3: every command crashed
   * with a stack trace under `ulimit -n 28`).
   */
  const descriptorsFor = (cmd: Command) => {
    const fds: number[] = [];
    try {
      for (let i = 0; i < 8; i++) fds.push(openSync(devNull, "r"));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EMFILE" || code === "ENFILE")
        throw new McError(
          "COMMAND_FAILED",
          `cannot start ${basename(cmd.file)}: too many open files (${code})`,
          {
            backend: "core",
            op: "run",
            hint:
              code === "EMFILE"
                ? "raise the open-files limit of the shell you run sessions from (ulimit -n) and run again"
                : "the system's table of open files is full: close some programs and run again",
            cause: e,
          },
        );
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  };
  const info: HostInfo = {
    platform: platformOf(process.platform),
    home: env.HOME ?? homedir(),
    stateDir,
    ...(env.SHELL ? { shell: env.SHELL } : {}),
  };
  return defineHost(
    {
      id: "local",
      get spawned() {
        return spawned;
      },
      async run(cmd, runOpts = {}): Promise<CommandResult> {
        descriptorsFor(cmd);
        spawned++;
        const started = performance.now();
        const child = execa(cmd.file, [...cmd.args], {
          reject: false,
          stripFinalNewline: false,
          ...(cmd.cwd === undefined ? {} : { cwd: cmd.cwd }),
          env: { ...env, ...cmd.env },
          extendEnv: false,
          ...(cmd.input === undefined ? { stdin: "ignore" as const } : { input: cmd.input }),
          ...(runOpts.group ? { detached: true } : runOpts.signal ? { cancelSignal: runOpts.signal } : {}),
        });
        // Its own process group, ended whole on abort: TERM, then KILL what is left 2 s later.
        const endGroup = () => {
          const kill = (sig: NodeJS.Signals) => {
            try {
              if (child.pid !== undefined) process.kill(-child.pid, sig);
            } catch {}
          };
          kill("SIGTERM");
          setTimeout(() => kill("SIGKILL"), 2000).unref();
        };
        if (runOpts.group && runOpts.signal) {
          if (runOpts.signal.aborted) endGroup();
          else runOpts.signal.addEventListener("abort", endGroup, { once: true });
          child.finally(() => runOpts.signal?.removeEventListener("abort", endGroup)).catch(() => {});
        }
        // Past its time a command gets SIGTERM, then SIGKILL (execa's own timeout sent SIGTERM only), and
        // once it has exited its output pipes are closed on our side: a tmux client hands its stdout and
        // stderr to its server, and a stopped server would hold them open, so they would never end.
        let timedOut = false;
        const closePipes = () =>
          setTimeout(() => {
            child.stdout?.destroy();
            child.stderr?.destroy();
          }, 100).unref();
        child.once("exit", () => {
          if (timedOut) closePipes();
        });
        let settled = false;
        const deadline =
          cmd.timeoutMs === undefined
            ? undefined
            : commandDeadline(
                cmd.timeoutMs,
                () => {
                  timedOut = true;
                  // Ended, but its output still held open (by a tmux server it handed it to): closed here.
                  if (child.exitCode !== null || child.signalCode !== null) closePipes();
                  child.kill("SIGTERM");
                  setTimeout(() => child.kill("SIGKILL"), 2000).unref();
                },
                () => settled,
              );
        const r = await child.finally(() => {
          settled = true;
          deadline?.clear();
        });
        if ((r as { code?: string }).code === "ENOENT" && r.exitCode === undefined) throw notFound(cmd, r);
        const stderr = typeof r.stderr === "string" ? r.stderr : "";
        return {
          // A command stopped for its time failed, whatever it exited with (tmux exits 0 on SIGTERM).
          exitCode: timedOut ? 124 : (r.exitCode ?? (r.signal ? 128 : 1)),
          stdout: typeof r.stdout === "string" ? r.stdout : "",
          // What was stopped, and why, for the error a caller makes of it.
          stderr: timedOut
            ? `${stderr}${stderr && !stderr.endsWith("\n") ? "\n" : ""}${basename(cmd.file)} did not answer within ${Math.round(cmd.timeoutMs! / 100) / 10} s (mc stopped waiting for it and ended its call)`
            : stderr,
          ...(r.signal ? { signal: r.signal } : {}),
          timedOut,
          durationMs: performance.now() - started,
        };
      },
      async runInteractive(cmd) {
        descriptorsFor(cmd);
        spawned++;
        const r = await execa(cmd.file, [...cmd.args], {
          reject: false,
          stdio: "inherit",
          env: { ...env, ...cmd.env },
          extendEnv: false,
          ...(cmd.cwd === undefined ? {} : { cwd: cmd.cwd }),
        });
        if ((r as { code?: string }).code === "ENOENT" && r.exitCode === undefined) throw notFound(cmd, r);
        return r.exitCode ?? 1;
      },
      info: async () => info,
      readFile: readRegular,
      async readDir(dir) {
        const out = new Map<string, string>();
        let names: string[];
        try {
          names = await readdir(dir);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === "ENOENT" || code === "ENOTDIR") return out;
          throw e;
        }
        await Promise.all(
          names.map(async (n) => {
            const text = await readRegular(join(dir, n)).catch((e: unknown) => {
              // Out of descriptors is no answer about the file: a listing without it would be taken as
              // the directory's (review H79-2: under ulimit -n 24 status showed 4 of 12 sessions, exit 0).
              const code = (e as NodeJS.ErrnoException).code;
              if (code === "EMFILE" || code === "ENFILE")
                throw new McError("STATE_IO", `cannot read ${dir}: too many open files (${code})`, {
                  backend: "core",
                  op: "read",
                  hint: "raise the open-files limit of the shell you run sessions from (ulimit -n) and run again",
                  cause: e,
                });
              return undefined;
            });
            if (text !== undefined) out.set(n, text);
          }),
        );
        return out;
      },
      writeFile: (path, data, o) => writeFileAtomic(path, data, o?.mode, o?.durable ?? true),
      async stat(path) {
        try {
          return (await stat(path)).isDirectory() ? "dir" : "file";
        } catch {
          return undefined;
        }
      },
      async dirAccess(path) {
        try {
          if (!(await stat(path)).isDirectory()) return "not-dir";
        } catch {
          return "missing";
        }
        return access(path, constants.X_OK).then(
          () => "ok" as const,
          () => "denied" as const,
        );
      },
      async makeDir(path) {
        await makeDirs(path);
      },
      async remove(path) {
        // A file is unlinked as one: Node's rm of a file it may not unlink (EPERM) goes on to read it as a
        // directory and says ENOTDIR, scandir (review H65-3).
        const dir = await lstat(path).then(
          (st) => st.isDirectory(),
          () => false,
        );
        if (!dir)
          return unlink(path).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== "ENOENT") throw e;
          });
        // A tab wrapper hung up by a kill may still be writing its last record into the run directory:
        // rm then meets ENOTEMPTY, and a retry finishes the job.
        await rm(path, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
      },
      ...(process.platform === "linux" ? { processTrees: linuxProcessTrees } : {}),
      async which(file) {
        const dirs = (env.PATH ?? "").split(delimiter).filter(Boolean);
        for (const d of file.includes("/") ? [""] : dirs) {
          const p = d ? join(d, file) : file;
          try {
            await access(p, constants.X_OK);
            if ((await stat(p)).isFile()) return p;
          } catch {}
        }
        return undefined;
      },
    },
    { holderPid: process.pid },
  );
}

/**
 * Why a local state directory is not private enough to use, or undefined: mc writes the scripts its tabs
 * run there and trusts the records it keeps there, so anyone who can replace a file or a directory in it
 * runs commands as this user (as root, for root's mc). Refused: the state directory, or a directory in it
 * or in its `managers/`, that other users can write (world-writable, or group-writable and not ours) or
 * that belongs to a user other than this one and root; and, above any of them (through symlinks too), a
 * directory others can write without the sticky bit or that another user owns (either could move the
 * state directory away and put their own in its place). An explicit `MC_STATE_DIR` is checked too.
 */
export function localStateExposure(stateDir: string, uid = process.getuid?.()): string | undefined {
  if (uid === undefined) return undefined;
  const look = (p: string) => {
    try {
      return statSync(p);
    } catch {
      return undefined;
    }
  };
  const dirsIn = (d: string) => {
    try {
      return readdirSync(d).map((n) => join(d, n));
    } catch {
      return [];
    }
  };
  const fix =
    "chmod go-w, or choose a private directory with --state-dir / MC_STATE_DIR; nothing was changed";
  const top = resolve(stateDir);
  const dirs = [top, ...dirsIn(top), ...dirsIn(join(top, "managers"))].filter((d) => look(d)?.isDirectory());
  for (const d of dirs) {
    const st = look(d)!;
    if (st.mode & 0o002) return `the state directory ${d} is writable by every user: ${fix}`;
    if (st.uid !== uid && st.uid !== 0)
      return `the state directory ${d} belongs to uid ${st.uid}, not to you (uid ${uid}): it must be yours`;
    if (st.uid !== uid && st.mode & 0o020) return `the state directory ${d} is writable by its group: ${fix}`;
  }
  // A symlink on the way (in the path as given, or in where a link of ours points) that another user owns:
  // they can point it elsewhere at any moment, whatever the directory it points at now.
  const foreignLink = (p: string, depth = 0): string | undefined => {
    const full = resolve(p);
    let cur = "/";
    for (const part of full.split("/").filter(Boolean)) {
      cur = join(cur, part);
      let l: ReturnType<typeof lstatSync>;
      try {
        l = lstatSync(cur);
      } catch {
        return undefined;
      }
      if (!l.isSymbolicLink()) continue;
      if (l.uid !== uid && l.uid !== 0) return `${cur} (a symlink of uid ${l.uid})`;
      if (depth >= 8) return undefined;
      try {
        return foreignLink(join(resolve(dirname(cur), readlinkSync(cur)), relative(cur, full)), depth + 1);
      } catch {
        return undefined;
      }
    }
    return undefined;
  };
  for (const d of [top, ...dirs]) {
    const link = foreignLink(d);
    if (link)
      return `${link} is on the way to the state directory ${top}: its owner can point it elsewhere at any time; choose a directory of yours with --state-dir / MC_STATE_DIR`;
  }
  // Above: the path as given and, where it (or a directory in it) is a symlink, where it really is.
  const above = new Set<string>();
  for (const d of [top, ...dirs]) {
    let real = d;
    for (let p = d; ; p = dirname(p)) {
      try {
        real = join(realpathSync(p), relative(p, d));
        break;
      } catch {
        if (dirname(p) === p) break;
      }
    }
    for (const base of [d, real])
      for (let a = dirname(base); ; a = dirname(a)) {
        above.add(a);
        if (dirname(a) === a) break;
      }
  }
  for (const a of above) {
    const st = look(a);
    if (!st?.isDirectory() || dirs.includes(a)) continue;
    const sticky = (st.mode & 0o1000) !== 0;
    if (st.mode & 0o002 && !sticky)
      return `${a}, above the state directory ${top}, is writable by every user without the sticky bit: another user could put a directory of theirs in its place; ${fix}`;
    if (st.uid !== uid && st.uid !== 0)
      return `${a}, above the state directory ${top}, belongs to uid ${st.uid}: they could put a directory of theirs in its place; choose a directory of yours with --state-dir / MC_STATE_DIR`;
  }
  return undefined;
}

/**
 * Why mc's local state would end up owned by the wrong user, or undefined. Two cases: running as root
 * with another user's home (`sudo -E`: root-owned files land in that home and the user's own mc can no
 * longer write them), and a state directory that another user already owns (left by an earlier `sudo -E`).
 * An explicit `MC_STATE_DIR` is the user's choice and is never questioned.
 */
export function localStateProblem(
  stateDir: string,
  env: NodeJS.ProcessEnv = process.env,
  uid = process.getuid?.(),
): string | undefined {
  if (uid === undefined || env.MC_STATE_DIR) return undefined;
  const ownerOf = (p: string): number | undefined => {
    for (let d = p; ; d = dirname(d)) {
      try {
        return statSync(d).uid;
      } catch {
        if (dirname(d) === d) return undefined;
      }
    }
  };
  const owner = ownerOf(stateDir);
  if (uid === 0 && env.SUDO_USER && owner !== undefined && owner !== 0) {
    return `running as root (sudo -E) with ${env.SUDO_USER}'s home: ${stateDir} would hold root-owned files ${env.SUDO_USER}'s own mc cannot change; run mc without sudo, or with sudo -H, or set MC_STATE_DIR`;
  }
  if (owner !== undefined && owner !== uid && uid !== 0) {
    return `${stateDir} belongs to uid ${owner}, not to you (uid ${uid}), probably left by sudo -E: sudo chown -R "$(id -un)" ${stateDir}`;
  }
  return undefined;
}
