import { randomBytes } from "node:crypto";
import { McError } from "./errors.js";
import type { Command, CommandResult, Host, HostInfo, HostOperations, HostPrimitives } from "./host.js";
import { hostLock } from "./lock.js";
import {
  PS_TABLE_SCRIPT,
  parsePsTable,
  parseWindowsProcessRows,
  treesFromTable,
  WINDOWS_PROCESS_SCRIPT,
} from "./process-table.js";
import { psEncodedArgs, psQuote } from "./quote.js";

/** Options of {@link defineHost}. */
export interface DefineHostOptions {
  /**
   * Pid of the process that holds this host's locks, when it runs on that host (this process, for the
   * local host): a lock whose holder died is then free at once instead of when its lease ends.
   */
  holderPid?: number;
}

const sh = (script: string, ...args: string[]): Command => ({
  file: "/bin/sh",
  args: ["-c", script, "mc", ...args],
});

const ps = (script: string): Command => ({ file: "powershell", args: psEncodedArgs(script) });

const READ_FILE = '[ -f "$1" ] || exit 3; exec cat -- "$1"';
const READ_DIR = `cd -- "$1" 2>/dev/null || exit 3
for f in * .[!.]* ..?*; do
  [ -f "$f" ] || continue
  case $f in *'
'*) continue ;; esac
  printf '\\n%s %s\\n' "$2" "$f"; cat -- "$f" || exit 1
done
printf '\\n%s\\n' "$2"`;
const WRITE_FILE = `umask 077; mkdir -p -- "$(dirname -- "$1")" || exit 1
t="$1.tmp-mc-$$"; cat >"$t" && chmod "$2" "$t" && mv -f -- "$t" "$1" || { rm -f -- "$t"; exit 1; }`;
const STAT = 'if [ -d "$1" ]; then echo dir; elif [ -e "$1" ]; then echo file; fi';
const REMOVE = 'exec rm -rf -- "$1"';
const DIR_ACCESS =
  'if [ -d "$1" ]; then if [ -x "$1" ]; then echo ok; else echo denied; fi; elif [ -e "$1" ]; then echo not-dir; else echo missing; fi';
const MAKE_DIR = 'exec mkdir -p -- "$1"';
const WHICH = 'p=$(command -v -- "$1") && case $p in /*) printf "%s\\n" "$p" ;; *) exit 1 ;; esac';

/** Split the output of the POSIX read-dir script into name → text. */
function parseDirFrames(out: string, boundary: string): Map<string, string> {
  const files = new Map<string, string>();
  const parts = out.split(`\n${boundary}`);
  for (const part of parts.slice(1)) {
    if (!part.startsWith(" ")) continue;
    const nl = part.indexOf("\n");
    files.set(part.slice(1, nl), part.slice(nl + 1));
  }
  return files;
}

function failure(p: HostPrimitives, op: string, what: string, r: CommandResult): McError {
  return new McError(
    "STATE_IO",
    `${p.id}: ${op} ${what}: ${(r.stderr || r.stdout).trim() || `exit ${r.exitCode}`}`,
    {
      backend: "core",
      op,
    },
  );
}

/** Every operation through POSIX sh on the host (Linux, macOS, BSD; local or remote). */
function posixOperations(p: HostPrimitives, holderPid?: number): HostOperations {
  const ops: HostOperations = {
    async readFile(path) {
      const r = await p.run(sh(READ_FILE, path));
      if (r.exitCode === 3) return undefined;
      if (r.exitCode !== 0) throw failure(p, "read", path, r);
      return r.stdout;
    },
    async readDir(dir) {
      const boundary = `MCD${randomBytes(12).toString("hex")}`;
      const r = await p.run(sh(READ_DIR, dir, boundary));
      if (r.exitCode === 3) return new Map();
      if (r.exitCode !== 0) throw failure(p, "read", dir, r);
      return parseDirFrames(r.stdout, boundary);
    },
    async writeFile(path, data, o) {
      const mode = (o?.mode ?? 0o600).toString(8);
      const r = await p.run({ ...sh(WRITE_FILE, path, mode), input: data });
      if (r.exitCode !== 0) throw failure(p, "write", path, r);
    },
    async stat(path) {
      const s = (await p.run(sh(STAT, path))).stdout.trim();
      return s === "dir" || s === "file" ? s : undefined;
    },
    async remove(path) {
      const r = await p.run(sh(REMOVE, path));
      if (r.exitCode !== 0) throw failure(p, "remove", path, r);
    },
    async dirAccess(path) {
      const a = (await p.run(sh(DIR_ACCESS, path))).stdout.trim();
      return a === "ok" || a === "denied" || a === "not-dir" ? a : "missing";
    },
    async makeDir(path) {
      const r = await p.run(sh(MAKE_DIR, path));
      if (r.exitCode !== 0) throw failure(p, "create", path, r);
    },
    async which(file) {
      const r = await p.run(sh(WHICH, file));
      return r.exitCode === 0 ? r.stdout.trim() || undefined : undefined;
    },
    async processTrees(pids) {
      if (pids.length === 0) return new Map();
      const r = await p.run(sh(PS_TABLE_SCRIPT));
      if (r.exitCode !== 0) throw failure(p, "list", "processes", r);
      return treesFromTable(parsePsTable(r.stdout), pids);
    },
    lock: (name, timeoutMs) => hostLock({ ...p, ...ops }, name, { timeoutMs, holderPid, platform: "posix" }),
  };
  return ops;
}

/** Every operation through Windows PowerShell 5.1 or pwsh on the host. */
function windowsOperations(p: HostPrimitives, holderPid?: number): HostOperations {
  const run = async (what: string, script: string) => {
    const r = await p.run(ps(`$ErrorActionPreference = 'Stop'\n${script}`));
    if (r.exitCode !== 0) throw failure(p, what, "", r);
    return r.stdout.replace(/^\uFEFF/, "");
  };
  const ops: HostOperations = {
    async readFile(path) {
      const out = await run(
        "read",
        `$p = ${psQuote(path)}; if (-not (Test-Path -LiteralPath $p -PathType Leaf)) { 'A'; exit 0 }
'F'; [IO.File]::ReadAllText($p)`,
      );
      return out.startsWith("A") ? undefined : out.replace(/^F\r?\n/, "");
    },
    async readDir(dir) {
      const out = await run(
        "read",
        `$d = ${psQuote(dir)}; $o = @{}
if (Test-Path -LiteralPath $d -PathType Container) { foreach ($f in Get-ChildItem -LiteralPath $d -File -Force) { $o[$f.Name] = [IO.File]::ReadAllText($f.FullName) } }
ConvertTo-Json -InputObject $o -Compress`,
      );
      return new Map(Object.entries(JSON.parse(out.trim() || "{}") as Record<string, string>));
    },
    async writeFile(path, data) {
      const b64 = Buffer.from(data, "utf8").toString("base64");
      // PowerShell binds $null to a string parameter as "", so File.Replace would get an empty backup path
      // and throw (ArgumentException: Path.GetFullPath("")); [NullString]::Value is a real null: no backup.
      await run(
        "write",
        `$p = ${psQuote(path)}; $t = "$p.tmp-mc-$PID"
[void][IO.Directory]::CreateDirectory([IO.Path]::GetDirectoryName($p))
[IO.File]::WriteAllBytes($t, [Convert]::FromBase64String(${psQuote(b64)}))
if (Test-Path -LiteralPath $p) { [IO.File]::Replace($t, $p, [NullString]::Value) } else { [IO.File]::Move($t, $p) }`,
      );
    },
    async stat(path) {
      const out = (
        await run(
          "stat",
          `$p = ${psQuote(path)}; if (Test-Path -LiteralPath $p -PathType Container) { 'dir' } elseif (Test-Path -LiteralPath $p) { 'file' }`,
        )
      ).trim();
      return out === "dir" || out === "file" ? out : undefined;
    },
    async remove(path) {
      await run(
        "remove",
        `$p = ${psQuote(path)}; if (Test-Path -LiteralPath $p) { Remove-Item -LiteralPath $p -Recurse -Force }`,
      );
    },
    async dirAccess(path) {
      const out = (
        await run(
          "stat",
          `$p = ${psQuote(path)}; if (Test-Path -LiteralPath $p -PathType Container) { try { [void][IO.Directory]::GetFileSystemEntries($p); 'ok' } catch { 'denied' } } elseif (Test-Path -LiteralPath $p) { 'not-dir' } else { 'missing' }`,
        )
      ).trim();
      return out === "ok" || out === "denied" || out === "not-dir" ? out : "missing";
    },
    async makeDir(path) {
      await run("create", `[void][IO.Directory]::CreateDirectory(${psQuote(path)})`);
    },
    async which(file) {
      const out = await run(
        "which",
        `$c = Get-Command -Name ${psQuote(file)} -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1; if ($c) { $c.Source }`,
      );
      return out.trim() || undefined;
    },
    async processTrees(pids) {
      if (pids.length === 0) return new Map();
      return treesFromTable(parseWindowsProcessRows(await run("list", WINDOWS_PROCESS_SCRIPT)), pids);
    },
    lock: (name, timeoutMs) => hostLock({ ...p, ...ops }, name, { timeoutMs, holderPid, platform: "win32" }),
  };
  return ops;
}

/**
 * A whole {@link Host} from a transport's primitives: every operation the transport does not give is
 * derived from `run`, through POSIX sh or, on Windows, PowerShell (chosen from the host's platform on
 * first use). The lock is always core's one algorithm ({@link hostLock}) unless the transport gives one.
 */
export function defineHost(p: HostPrimitives & Partial<HostOperations>, o: DefineHostOptions = {}): Host {
  let derived: Promise<HostOperations> | undefined;
  const base = (): Promise<HostOperations> => {
    derived ??= p.info().then((info: HostInfo) => {
      const self = { ...p, ...given };
      return info.platform === "win32"
        ? windowsOperations(self, o.holderPid)
        : posixOperations(self, o.holderPid);
    });
    return derived;
  };
  const given: Partial<HostOperations> = {};
  const names = [
    "readFile",
    "readDir",
    "writeFile",
    "stat",
    "dirAccess",
    "makeDir",
    "remove",
    "processTrees",
    "which",
    "lock",
  ] as const;
  for (const n of names) if (p[n]) (given as Record<string, unknown>)[n] = p[n].bind(p);
  const pick = <K extends keyof HostOperations>(k: K): HostOperations[K] => {
    const own = given[k];
    if (own) return own;
    const later = (...args: unknown[]) =>
      base().then((ops) => (ops[k] as (...a: unknown[]) => Promise<unknown>)(...args));
    return later as unknown as HostOperations[K];
  };
  const host: Host = {
    id: p.id,
    get spawned() {
      return p.spawned;
    },
    ...(p.coalesces === undefined ? {} : { coalesces: p.coalesces }),
    get clockSkewMs() {
      return p.clockSkewMs;
    },
    run: (cmd, opts) => p.run(cmd, opts),
    runInteractive: (cmd) => p.runInteractive(cmd),
    info: () => p.info(),
    interactiveCommand: (cmd) => (p.interactiveCommand ? p.interactiveCommand(cmd) : cmd),
    ...(p.close ? { close: () => p.close!() } : {}),
    readFile: pick("readFile"),
    readDir: pick("readDir"),
    writeFile: pick("writeFile"),
    stat: pick("stat"),
    dirAccess: pick("dirAccess"),
    makeDir: pick("makeDir"),
    remove: pick("remove"),
    processTrees: pick("processTrees"),
    which: pick("which"),
    lock: pick("lock"),
  };
  return host;
}
