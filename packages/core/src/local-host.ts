import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { execa } from "execa";
import { McError } from "./errors.js";
import type { Command, CommandResult, Host, HostInfo, ProcessNode } from "./host.js";
import { linuxProcessTrees } from "./proc.js";

/** Where mc keeps state on this machine: `$MC_STATE_DIR`, else `$XDG_STATE_HOME/mc`, else `~/.local/state/mc`. */
export function localStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MC_STATE_DIR) return env.MC_STATE_DIR;
  const base = env.XDG_STATE_HOME || join(homedir(), ".local", "state");
  return join(base, "mc");
}

/** Write a file atomically on this machine: temp file in the same directory, fsync, rename. */
export async function writeFileAtomic(path: string, data: string, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
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

/**
 * An exclusive lock on this machine: a directory created with mkdir (atomic), holding the owner's pid.
 * A lock whose owner process is gone is taken over, so a crashed mc never blocks the next one.
 */
export async function lockLocal(dir: string, timeoutMs = 30_000): Promise<() => Promise<void>> {
  try {
    return await takeLock(dir, timeoutMs);
  } catch (e) {
    if (e instanceof McError) throw e;
    // A read-only, full or misplaced state directory is the user's to fix, not a bug in mc.
    throw new McError("STATE_IO", `cannot lock ${dir}: ${(e as Error).message}`, {
      backend: "core",
      op: "lock",
      hint: "check that the state directory ($MC_STATE_DIR or $XDG_STATE_HOME/mc) is writable and the disk is not full",
      cause: e,
    });
  }
}

async function takeLock(dir: string, timeoutMs: number): Promise<() => Promise<void>> {
  await mkdir(dirname(dir), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      await mkdir(dir);
      await writeFileAtomic(join(dir, "owner"), `${process.pid}\n`);
      return async () => {
        await rm(dir, { recursive: true, force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const owner = Number((await readFile(join(dir, "owner"), "utf8").catch(() => "")).trim());
    let alive = true;
    if (owner > 0) {
      try {
        process.kill(owner, 0);
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === "EPERM";
      }
    } else {
      // No owner yet: the holder is between mkdir and writing its pid. Only a long-stale one is taken over.
      const age = await stat(dir).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      alive = age < 5_000;
    }
    if (!alive) {
      await rm(dir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new McError("TIMEOUT", `another mc process holds ${dir} (pid ${owner || "?"})`, {
        backend: "core",
        op: "lock",
        hint: "wait for it to finish, or remove the lock directory if that process is not mc",
      });
    }
    await new Promise((r) =>
      setTimeout(r, 10 + Math.random() * Math.min(200, 10 * 2 ** Math.min(attempt, 5))),
    );
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

/** The machine mc runs on: commands through execa, files through node:fs, processes from /proc. */
export function localHost(opts: LocalHostOptions = {}): Host {
  const env = opts.env ?? process.env;
  let spawned = 0;
  const stateDir = opts.stateDir ?? localStateDir(env);
  const notFound = (cmd: Command, cause: unknown) =>
    new McError("BINARY_NOT_FOUND", `"${cmd.file}" was not found on PATH`, {
      backend: "core",
      op: "run",
      hint: `install ${cmd.file} or put it on PATH`,
      cause,
    });
  return {
    id: "local",
    get spawned() {
      return spawned;
    },
    async run(cmd, runOpts = {}): Promise<CommandResult> {
      spawned++;
      const started = performance.now();
      const r = await execa(cmd.file, [...cmd.args], {
        reject: false,
        stripFinalNewline: false,
        ...(cmd.cwd === undefined ? {} : { cwd: cmd.cwd }),
        env: { ...env, ...cmd.env },
        extendEnv: false,
        ...(cmd.input === undefined ? { stdin: "ignore" as const } : { input: cmd.input }),
        ...(cmd.timeoutMs === undefined ? {} : { timeout: cmd.timeoutMs }),
        ...(runOpts.signal ? { cancelSignal: runOpts.signal } : {}),
      });
      if ((r as { code?: string }).code === "ENOENT" && r.exitCode === undefined) throw notFound(cmd, r);
      return {
        exitCode: r.exitCode ?? (r.signal ? 128 : 1),
        stdout: typeof r.stdout === "string" ? r.stdout : "",
        stderr: typeof r.stderr === "string" ? r.stderr : "",
        ...(r.signal ? { signal: r.signal } : {}),
        timedOut: r.timedOut,
        durationMs: performance.now() - started,
      };
    },
    async runInteractive(cmd) {
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
    async info() {
      return {
        platform: platformOf(process.platform),
        home: env.HOME ?? homedir(),
        stateDir,
        ...(env.SHELL ? { shell: env.SHELL } : {}),
      };
    },
    async readFile(path) {
      try {
        return await readFile(path, "utf8");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw e;
      }
    },
    async readDir(dir) {
      const out = new Map<string, string>();
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return out;
        throw e;
      }
      await Promise.all(
        names.map(async (n) => {
          try {
            out.set(n, await readFile(join(dir, n), "utf8"));
          } catch {}
        }),
      );
      return out;
    },
    writeFile: (path, data, o) => writeFileAtomic(path, data, o?.mode),
    async stat(path) {
      try {
        return (await stat(path)).isDirectory() ? "dir" : "file";
      } catch {
        return undefined;
      }
    },
    async remove(path) {
      // A tab wrapper hung up by a kill may still be writing its last record into the run directory:
      // rm then meets ENOTEMPTY, and a retry finishes the job.
      await rm(path, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    },
    processTrees: (pids): Promise<Map<number, ProcessNode[]>> => linuxProcessTrees(pids),
    lock: (name, timeoutMs) =>
      lockLocal(join(stateDir, "locks", `${name.replace(/[^\w.-]/g, "_")}.lock`), timeoutMs),
    async which(file) {
      const dirs = (env.PATH ?? "").split(delimiter).filter(Boolean);
      for (const d of file.includes("/") ? [""] : dirs) {
        const p = d ? join(d, file) : file;
        try {
          await access(p, constants.X_OK);
          return p;
        } catch {}
      }
      return undefined;
    },
  };
}
