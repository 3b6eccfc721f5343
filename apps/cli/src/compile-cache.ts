import { createHash } from "node:crypto";
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { createRequire, Module } from "node:module";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import vm from "node:vm";

/**
 * A V8 code cache for the CLI bundle, so that a command does not compile ~1 MB of JavaScript each time it
 * starts (about a fifth of a `sessions run`; Node 20 has no compile cache of its own for this). The bundle
 * (`main.cjs`) is compiled with `vm.Script` and the cached data an earlier run of the same command wrote,
 * and the data is written after a run that had none or had it rejected (another node, other V8 flags).
 * One cache per command: V8 deserialises a cache whole, so one covering every command cost `status`
 * ~6 MB of memory for code it never runs.
 *
 * The cache is code: it is read only from a file this user owns and no one else may write, in a directory
 * this user owns and no one else may write (`root` with another user's `HOME` gets no cache), and it is
 * named after the exact bundle (node version, architecture, a hash of its content), so a cache of another
 * build is never offered for this one. Any failure means no cache, never a failed command.
 * Windows has none (no owner check here). `MC_NO_COMPILE_CACHE=1` turns it off.
 */

/** What happened to the cache in this start. */
export type CacheState =
  /** Compiled from the cache. */
  | "used"
  /** A cache was there and V8 refused it (another node or flags, damaged); compiled from source. */
  | "rejected"
  /** No cache yet; compiled from source. */
  | "none"
  /** A cache file that is not safely this user's: ignored. */
  | "unsafe"
  /** Turned off, no cache directory, or source maps wanted: loaded with plain `require`. */
  | "off";

/** The loaded bundle and how: call `save()` once the command has run. */
export interface LoadedBundle {
  exports: Record<string, unknown>;
  state: CacheState;
  /** The cache file used or to be written (undefined when off). */
  file?: string;
  /**
   * Write this command's cache when it was missing or rejected; never throws. `isCommand` tells a command
   * from another word (a typo, an option's value), which gets no cache.
   */
  save(isCommand?: (word: string) => boolean): "written" | "kept" | "skipped";
}

export interface LoadOptions {
  /** The command being run (names the cache's coverage), e.g. `run`. */
  command: string;
  env?: NodeJS.ProcessEnv;
  /** Effective user id (default: this process's). */
  euid?: number;
}

const MAGIC = "mc-v8-cache 3";

/** Where the cache lives: `MC_CACHE_DIR`, else `$XDG_CACHE_HOME/mc`, else `~/.cache/mc`; relative paths are ignored. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const own = env.MC_CACHE_DIR;
  if (own && isAbsolute(own)) return own;
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, "mc");
  let home: string;
  try {
    home = env.HOME || homedir();
  } catch {
    return undefined;
  }
  return home && isAbsolute(home) ? join(home, ".cache", "mc") : undefined;
}

/**
 * What a start runs, which names its cache: its command word (`run`, or an alias: `R`), with `+dry` for a
 * dry run (which leaves the start's code uncompiled); `-` for help or no arguments (commander's code
 * only); `?` when it cannot be told (a path where the command goes): no cache then.
 */
/** Commands that own work while they run (a scheduler, a monitor, a kill half done), not their dry runs. */
const OWNS_WORK = new Set(["run", "run-all", "rerun", "kill", "create-from-command"]);

/**
 * Whether a command line's command owns work: output it cannot write (a closed pipe, a full disk) must not
 * stop it (review H59-2: `run … 2>&1 | head` abandoned every tab not started; H63-1: `>/dev/full` crashed
 * `run -k` before its kill).
 */
export function ownsWork(args: readonly string[]): boolean {
  return OWNS_WORK.has(commandOf(args));
}

/**
 * The commands' one-letter aliases (program/commands.ts; a test keeps the two alike): an alias shares its
 * command's cache (review H74-9: `a` kept a second ~1 MB cache beside `attach`'s).
 */
export const COMMAND_ALIASES: Readonly<Record<string, string>> = {
  r: "run",
  R: "run-all",
  a: "attach",
  b: "balance-load",
  t: "create-template",
  s: "summarize",
  c: "create-from-command",
};

export function commandOf(args: readonly string[]): string {
  const end = args.indexOf("--");
  const opts = end < 0 ? args : args.slice(0, end);
  if (opts.length === 0 || opts.includes("--help") || opts.includes("-h")) return "-";
  let w: string | undefined;
  for (let i = 0; i < opts.length && w === undefined; i++) {
    const a = opts[i]!;
    // The one global option with a value, given before the command: its value is not the command.
    if (a === "--state-dir") i++;
    else if (!a.startsWith("-")) w = a;
  }
  if (!w || !/^[A-Za-z][A-Za-z-]{0,31}$/.test(w)) return "?";
  w = COMMAND_ALIASES[w] ?? w;
  return opts.includes("--dry-run") ? `${w}+dry` : w;
}

/** A cache's file name, and what a name says: the build (node, arch, bundle hash) and the command. */
const cacheName = (build: string, command: string) => `cli-${build}-${command}.v8`;
const CACHE_NAME = /^cli-(.+-[0-9a-f]{32})-(-|[A-Za-z][A-Za-z-]*(?:\+dry)?)\.v8$/;
const TMP_NAME = /^cli-.+-[0-9a-f]{32}-(?:-|[A-Za-z][A-Za-z-]*(?:\+dry)?)\.v8\.tmp-\d+$/;

/** Owned by `euid` and writable by no one else (group, others). */
function privateTo(st: { uid: number; mode: number }, euid: number): boolean {
  return st.uid === euid && (st.mode & 0o022) === 0;
}

/** The payload's digest in the header: V8 (Node 20) does not check the cache's contents, and one flipped
 * byte in it crashed every command (SIGTRAP, SIGSEGV) or, worse, ran damaged code. */
const digestOf = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** The cache file's V8 data, or why there is none. */
function readCache(dir: string, file: string, euid: number): Buffer | "none" | "unsafe" | "unsafe-file" {
  let d: ReturnType<typeof lstatSync>;
  try {
    d = lstatSync(dir);
  } catch {
    return "none";
  }
  if (!d.isDirectory() || !privateTo(d, euid)) return "unsafe";
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" ? "none" : "unsafe-file";
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || !privateTo(st, euid) || st.size > 64 * 1024 * 1024) return "unsafe-file";
    const all = readFileSync(fd);
    const nl = all.indexOf(10);
    // `mc-v8-cache 3 <sha256 of the data>`
    const head = nl > 0 && nl < 4096 ? all.toString("latin1", 0, nl).split(" ") : [];
    if (`${head[0]} ${head[1]}` !== MAGIC) return "none";
    const data = all.subarray(nl + 1);
    return head[2] === digestOf(data) ? data : "none";
  } catch {
    return "none";
  } finally {
    closeSync(fd);
  }
}

/** Write `data` as `file` atomically in `dir` (made 0700 if missing; refused unless it is this user's alone). */
function writeCache(dir: string, file: string, build: string, data: Buffer, euid: number): boolean {
  try {
    if (!existsSync(dir)) {
      // Made only below a directory of this user's or root's: `sudo -E` (root with a user's HOME) would
      // otherwise leave a root-owned directory in the user's home that their own runs must then refuse.
      let up = dirname(dir);
      while (!existsSync(up) && dirname(up) !== up) up = dirname(up);
      const owner = statSync(up).uid;
      if (owner !== euid && owner !== 0) return false;
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    }
    const d = lstatSync(dir);
    if (!d.isDirectory() || !privateTo(d, euid)) return false;
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      unlinkSync(tmp); // left by a process of this pid that died mid-write
    } catch {}
    const fd = openSync(
      tmp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    try {
      const head = Buffer.from(`${MAGIC} ${digestOf(data)}\n`, "latin1");
      writeSync(fd, head);
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off);
    } catch (e) {
      closeSync(fd);
      unlinkSync(tmp);
      throw e;
    }
    closeSync(fd);
    renameSync(tmp, file);
    try {
      prune(dir, build);
    } catch {}
    return true;
  } catch {
    return false;
  }
}

/**
 * Keep the caches of this build and of the newest three others (each build and node version has its
 * own: a developer's rebuilds pile up), and remove what a process killed mid-write left (over a minute
 * old). Only files named as mc names its caches are ever removed: MC_CACHE_DIR may hold other files.
 */
function prune(dir: string, build: string): void {
  const names = readdirSync(dir);
  const at = (n: string) => lstatSync(join(dir, n)).mtimeMs;
  const newest = new Map<string, number>();
  for (const n of names) {
    const b = CACHE_NAME.exec(n)?.[1];
    if (b && b !== build) newest.set(b, Math.max(newest.get(b) ?? 0, at(n)));
  }
  const kept = new Set(
    [...newest]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([b]) => b),
  );
  for (const n of names) {
    const b = CACHE_NAME.exec(n)?.[1];
    if (b && b !== build && !kept.has(b)) unlinkSync(join(dir, n));
    else if (TMP_NAME.test(n) && Date.now() - at(n) > 60_000) unlinkSync(join(dir, n));
  }
}

/** Whether to load without the cache: turned off, Windows, or source maps wanted (they map `require`d code only). */
function cacheOff(env: NodeJS.ProcessEnv): boolean {
  if (process.platform === "win32" || typeof process.geteuid !== "function") return true;
  if (env.MC_NO_COMPILE_CACHE && env.MC_NO_COMPILE_CACHE !== "0") return true;
  if (env.NODE_DISABLE_COMPILE_CACHE) return true;
  return (process as { sourceMapsEnabled?: boolean }).sourceMapsEnabled === true;
}

/**
 * The bundle's function without the cache, as node's CommonJS loader compiles a module: where source maps
 * are on (the reason the cache is off), only code compiled there has its stack traces mapped.
 */
function compileOff(bundle: string, source: string): unknown {
  const m = new Module(bundle);
  m.filename = bundle;
  (m as unknown as { _compile(code: string, file: string): void })._compile(
    `module.exports = ${source}`,
    bundle,
  );
  return m.exports;
}

/** Load the CommonJS bundle at `bundle` (an absolute path), through the code cache where it can. */
export function loadBundle(bundle: string, o: LoadOptions): LoadedBundle {
  const env = o.env ?? process.env;
  const req = createRequire(bundle);
  // The bundle is the body of a function expression (bundle-wrapper.ts), compiled as it was read: a
  // wrapped copy would be a second ~1.3 MB string at the peak. Read straight into a string (node's UTF-8
  // fast path, no Buffer beside it).
  const source = readFileSync(bundle, "utf8");
  const call = (fn: unknown): Record<string, unknown> => {
    const mod = { exports: {} as Record<string, unknown> };
    (fn as (...a: unknown[]) => void).call(mod.exports, mod.exports, req, mod, bundle, dirname(bundle));
    return mod.exports;
  };
  const dir = cacheOff(env) || o.command === "?" ? undefined : cacheDir(env);
  if (!dir) return { exports: call(compileOff(bundle, source)), state: "off", save: () => "skipped" };
  const euid = o.euid ?? process.geteuid!();
  // Named after the bundle's content: npm packs every file with one fixed mtime, and a reinstall can reuse
  // an inode, so two builds of one size could share a name by stat alone, and V8 checks only the source's
  // length: it would run the other build's code. (node:crypto is loaded by every command anyway.)
  const digest = createHash("sha256").update(source).digest("hex").slice(0, 32);
  const build = `${process.version}-${process.arch}-${digest}`;
  const file = join(dir, cacheName(build, o.command));
  const cached = readCache(dir, file, euid);
  const script = new vm.Script(source, {
    filename: bundle,
    // The bundle has no `import()` (the build turns them into require): code compiled from a cache has
    // no dynamic import callback.
    ...(typeof cached === "object" ? { cachedData: cached } : {}),
  });
  const state: CacheState =
    typeof cached === "object"
      ? script.cachedDataRejected
        ? "rejected"
        : "used"
      : cached === "unsafe-file"
        ? "unsafe"
        : cached;
  // Not the cache's data itself: the save below must not keep ~1 MB alive.
  const dirUnsafe = cached === "unsafe";
  const exports = call(script.runInThisContext());
  return {
    exports,
    state,
    file,
    save(isCommand) {
      // A file of ours others could write, or not a file, in a directory only we can write: replaced by a
      // rename (which never follows what it replaces). A directory others could write: left alone.
      if (dirUnsafe) return "skipped";
      if (state === "used") return "kept";
      // A typo or an option's value is no command: no cache of its own (any word would make a file).
      const word = o.command.replace(/\+dry$/, "");
      if (word !== "-" && isCommand && !isCommand(word)) return "skipped";
      let data: Buffer;
      try {
        data = script.createCachedData();
      } catch {
        return "skipped";
      }
      return writeCache(dir, file, build, data, euid) ? "written" : "skipped";
    },
  };
}
