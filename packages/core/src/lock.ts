import { randomBytes } from "node:crypto";
import { win32 } from "node:path";
import { join as posixJoin } from "node:path/posix";
import { McError } from "./errors.js";
import type { Command, CommandResult, HostInfo } from "./host.js";
import { type ProcessIdentity, processEnded, selfIdentity } from "./linux-proc.js";
import { nativeLockOp } from "./lock-native.js";
import { psEncodedArgs, psQuote } from "./quote.js";

/** How long a lock stays valid without its holder renewing it (seconds, by the host's clock). */
export const LOCK_LEASE_SECONDS = 30;

/**
 * The lease in use: {@link LOCK_LEASE_SECONDS}, or `MC_LOCK_LEASE_SECONDS` (at least 3) for a machine
 * where a crashed mc should free its locks sooner (and for tests of exactly that).
 */
export function lockLeaseSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.MC_LOCK_LEASE_SECONDS);
  return Number.isFinite(v) && v >= 3 ? Math.floor(v) : LOCK_LEASE_SECONDS;
}

/**
 * The lock, decided on the host that holds it, in one `sh` call per attempt: `mkdir` takes it; the owner
 * file says until when (host clock), on which boot and pid namespace, and which holder pid with which
 * start time (when the holder runs on that host). A lock is stale when the host rebooted, or (same pid
 * namespace) its holder process is gone or is another process with the same pid; a holder that cannot be
 * checked so (another machine, another namespace) holds it until its lease runs out.
 * A stale lock is moved aside atomically before it is removed, so two contenders cannot both take it.
 * `held` names the holder's token too: a waiter that knows the holder died (see {@link hostLock}) breaks
 * the lock with `break`, which moves it aside only while that token still owns it.
 * Arguments: op (acquire|renew|release|break), dir, token (for break: the holder's), lease seconds,
 * holder pid or "-".
 */
export const POSIX_LOCK_SCRIPT = `op=$1 d=$2 tok=$3 lease=$4 hp=$5
now=$(date +%s) || exit 1
boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || sysctl -n kern.boottime 2>/dev/null | tr -dc '0-9') || boot=
ns=$(readlink /proc/self/ns/pid 2>/dev/null) || ns=
pstart() {
  [ "$1" = - ] && { echo -; return; }
  if [ -r "/proc/$1/stat" ]; then sed -e 's/^.*) //' "/proc/$1/stat" | cut -d' ' -f20
  else ps -o lstart= -p "$1" 2>/dev/null | tr -d ' '; fi
}
zombie() { [ -r "/proc/$1/stat" ] && case $(sed -e 's/^.*) //' "/proc/$1/stat" | cut -d' ' -f1) in Z* | X*) true ;; *) false ;; esac; }
owner() { printf '%s %s %s %s %s %s\\n' "$((now + lease))" "\${boot:--}" "\${ns:--}" "$hp" "$(pstart "$hp")" "$tok" >"$d/owner.$$" && mv -f -- "$d/owner.$$" "$d/owner"; }
# The owner is read only when it is a regular file (a FIFO in its place would block the read for ever).
rd() { [ -f "$d/owner" ] && [ ! -L "$d/owner" ] && read -r "$@" <"$d/owner" 2>/dev/null; }
mine() { rd _u _b _n _p _s t && [ "$t" = "$tok" ]; }
case $op in
release) mine && rm -rf -- "$d"; exit 0 ;;
renew) mine && owner; exit 0 ;;
break) mine && mv -- "$d" "$d.stale.$$" 2>/dev/null && rm -rf -- "$d.stale.$$" && echo "stale its holder is gone"; exit 0 ;;
esac
mkdir -p -- "\${d%/*}" || exit 1
# A directory made but no owner written (a full disk): it goes, or every later mc would wait for it.
if mkdir -- "$d" 2>/dev/null; then owner && { echo got; exit 0; }; rm -rf -- "$d"; exit 1; fi
if [ -L "$d" ] || { [ -e "$d" ] && [ ! -d "$d" ]; }; then
  # One look at its type: a release between the two tests above read as "not a directory" for a moment
  # (12 contenders on a loaded machine met it): gone or a directory again is a lock to try again.
  case $(ls -ld -- "$d" 2>/dev/null) in d* | '') echo "stale released"; exit 0 ;; esac
  echo "$d is not a directory: remove it" >&2; exit 3
fi
# Released between our mkdir and this look: try again at once.
[ -d "$d" ] || { echo "stale released"; exit 0; }
if rd u b n p s t; then
  # A holder this host can check (same boot and pid namespace) holds it while it lives, whatever the
  # clock says; the lease decides only for holders it cannot check.
  stale=
  if [ -n "$boot" ] && [ "$b" != - ] && [ "$b" != "$boot" ]; then stale="the host restarted"
  elif [ "$p" != - ] && [ -n "$ns" ] && [ "$n" = "$ns" ]; then
    # A zombie (killed, not reaped) keeps its start time but holds nothing.
    if [ "$(pstart "$p")" != "$s" ] || zombie "$p"; then stale="its holder (pid $p) is gone"; fi
  elif [ "$now" -gt "$u" ]; then stale="its lease ended"; fi
else
  # Between the holder's mkdir and its owner file: stale only once that is older than a lease.
  t= p=- u=0
  [ -n "$(find "$d" -prune -mmin +1 2>/dev/null)" ] && stale="it has no owner" || stale=
fi
if [ -n "$stale" ]; then
  rd _u _b _n _p _s t2 || t2=
  if [ "$t2" = "$t" ] && mv -- "$d" "$d.stale.$$" 2>/dev/null; then rm -rf -- "$d.stale.$$"; echo "stale $stale"; exit 0; fi
fi
echo "held $u $p $now $t"`;

/** The same lock in PowerShell (Windows PowerShell 5.1 and pwsh): lease by the host clock, holder pid and start time. */
function windowsLockScript(op: string, dir: string, token: string, lease: number, holderPid: string): string {
  return `$ErrorActionPreference = 'Stop'
$op = ${psQuote(op)}; $d = ${psQuote(dir)}; $tok = ${psQuote(token)}; $lease = ${lease}; $hp = ${psQuote(holderPid)}
$now = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds()
$f = Join-Path $d 'owner'
function PStart($id) { if ($id -eq '-') { return '-' }; $p = Get-Process -Id ([int]$id) -ErrorAction SilentlyContinue; if ($p) { return [string]$p.StartTime.ToFileTimeUtc() }; return 'gone' }
function Mine { if (Test-Path -LiteralPath $f) { return ((Get-Content -LiteralPath $f -Raw).Trim() -split ' ')[3] -eq $tok }; return $false }
function Owner { Set-Content -LiteralPath $f -Value ("{0} {1} {2} {3}" -f ($now + $lease), $hp, (PStart $hp), $tok) -NoNewline }
if ($op -eq 'release') { if (Mine) { Remove-Item -LiteralPath $d -Recurse -Force }; exit 0 }
if ($op -eq 'renew') { if (Mine) { Owner }; exit 0 }
[void][IO.Directory]::CreateDirectory((Split-Path -Parent $d))
try { [void](New-Item -ItemType Directory -Path $d -ErrorAction Stop); Owner; 'got'; exit 0 } catch { if (-not (Test-Path -LiteralPath $d -PathType Container)) { if (Test-Path -LiteralPath $d) { throw }; 'stale released'; exit 0 } }
$u = 0; $p = '-'; $s = ''; $stale = ''
if (Test-Path -LiteralPath $f) { $u, $p, $s, $t = (Get-Content -LiteralPath $f -Raw).Trim() -split ' '
  if ($p -ne '-') { if ((PStart $p) -ne $s) { $stale = "its holder (pid $p) is gone" } } elseif ($now -gt [long]$u) { $stale = 'its lease ended' } }
elseif (((Get-Date) - (Get-Item -LiteralPath $d).LastWriteTime).TotalSeconds -gt 60) { $stale = 'it has no owner' }
if ($stale) { $g = "$d.stale.$PID"; try { Move-Item -LiteralPath $d -Destination $g -ErrorAction Stop; Remove-Item -LiteralPath $g -Recurse -Force; "stale $stale"; exit 0 } catch {} }
"held $u $p $now"`;
}

/**
 * A token for a holder the host cannot check (its pid lives on another machine): random hex, then the
 * holder's {@link ProcessIdentity} as base64url JSON, so a waiter on the holder's own machine can tell it
 * died (a SIGKILLed `sessions run`) and need not wait out its lease. Letters, digits, `.`, `_`, `-` only:
 * one word in the owner line and safe in any shell.
 */
function lockToken(holderPid: number | undefined): string {
  const hex = randomBytes(8).toString("hex");
  const id = holderPid === undefined ? selfIdentity() : undefined;
  return id ? `${hex}.${Buffer.from(JSON.stringify(id)).toString("base64url")}` : hex;
}

/** The identity a {@link lockToken} carries; undefined for a plain (older, or checkable holder's) token. */
function tokenIdentity(token: string | undefined): ProcessIdentity | undefined {
  const enc = token?.split(".")[1];
  if (!enc || !/^[\w-]+$/.test(enc)) return undefined;
  try {
    const v = JSON.parse(Buffer.from(enc, "base64url").toString("utf8")) as Partial<ProcessIdentity>;
    return Number.isInteger(v.pid) &&
      Number.isInteger(v.start) &&
      typeof v.boot === "string" &&
      typeof v.machine === "string" &&
      (v.ns === undefined || typeof v.ns === "string")
      ? (v as ProcessIdentity)
      : undefined;
  } catch {
    return undefined;
  }
}

/** What {@link hostLock} needs of a host. */
export interface LockHost {
  readonly id: string;
  run(cmd: Command): Promise<CommandResult>;
  info(): Promise<HostInfo>;
}

/** Options of {@link hostLock}. */
export interface HostLockOptions {
  timeoutMs?: number | undefined;
  /** Pid of the holder when it runs on that host (this process, for the local host). */
  holderPid?: number | undefined;
  platform: "posix" | "win32";
}

/**
 * Take lock `name` in `<stateDir>/locks` of a host and keep it (its lease is renewed every third of
 * {@link LOCK_LEASE_SECONDS}) until the returned function releases it. A release that fails is harmless:
 * the lease runs out, so it never hides the error of the work the lock guarded.
 */
export async function hostLock(
  host: LockHost,
  name: string,
  o: HostLockOptions,
): Promise<() => Promise<void>> {
  const { stateDir } = await host.info();
  const lease = lockLeaseSeconds();
  const file = `${name.replace(/[^\w.-]/g, "_")}.lock`;
  const dir =
    o.platform === "win32" ? win32.join(stateDir, "locks", file) : posixJoin(stateDir, "locks", file);
  const token = lockToken(o.holderPid);
  const pid = o.holderPid === undefined ? "-" : String(o.holderPid);
  const call = (op: string, tok: string): Command =>
    o.platform === "win32"
      ? {
          file: "powershell",
          args: psEncodedArgs(windowsLockScript(op, dir, tok, lease, pid)),
        }
      : {
          file: "/bin/sh",
          args: ["-c", POSIX_LOCK_SCRIPT, "mc-lock", op, dir, tok, String(lease), pid],
        };
  // The holder runs on the host itself (the local host): the same protocol without a shell per step.
  const native = o.platform === "posix" && o.holderPid === process.pid && process.platform === "linux";
  const exec = async (op: string, tok = token): Promise<CommandResult> => {
    if (!native) return host.run(call(op, tok));
    try {
      return {
        exitCode: 0,
        stdout: nativeLockOp(op, dir, tok, lease, pid),
        stderr: "",
        timedOut: false,
        durationMs: 0,
      };
    } catch (e) {
      return { exitCode: 1, stdout: "", stderr: (e as Error).message, timedOut: false, durationMs: 0 };
    }
  };
  const timeoutMs = o.timeoutMs ?? 30_000;
  const deadline = performance.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const r = await exec("acquire");
    const answer = r.stdout.trim();
    if (r.exitCode !== 0 || !/^(got|held|stale)/.test(answer)) {
      throw new McError(
        "STATE_IO",
        `${host.id}: cannot take the lock ${dir}: ${(r.stderr || r.stdout).trim() || `exit ${r.exitCode}`}`,
        {
          backend: "core",
          op: "lock",
          hint: /EMFILE|ENFILE|too many open files/i.test(`${r.stderr}${r.stdout}`)
            ? "raise the open-files limit of the shell you run sessions from (ulimit -n) and run again"
            : "check that the state directory ($MC_STATE_DIR or $XDG_STATE_HOME/mc) is writable and the disk is not full",
        },
      );
    }
    if (answer === "got") {
      const renew = setInterval(() => void exec("renew").catch(() => {}), (lease * 1000) / 3);
      renew.unref?.();
      return async () => {
        clearInterval(renew);
        await exec("release").catch(() => {});
      };
    }
    // A holder on this machine that the host could not check (this machine reached it over ssh) and that
    // died (review H70-3: a SIGKILLed run held the next one for its whole 30 s lease): broken at once,
    // as the host breaks a stale lock. The Windows script names no token: its holders keep the lease rule.
    const holderToken = answer.startsWith("held") ? answer.split(" ")[4] : undefined;
    const holderId = o.platform === "posix" ? tokenIdentity(holderToken) : undefined;
    // Only a holder of this boot: machines cloned from one image share a machine id, and another boot of
    // "this" machine would read as ended while it holds the lock from a clone.
    if (holderToken && holderId?.boot === selfIdentity()?.boot && processEnded(holderId!) === true) {
      const b = await exec("break", holderToken);
      if (b.exitCode === 0 && b.stdout.trim().startsWith("stale")) continue;
    }
    // A stale lock was just removed (or released meanwhile): again at once, within the same deadline.
    const stale = answer.startsWith("stale");
    if (performance.now() > deadline) {
      const [, until, holder] = stale ? [] : answer.split(" ");
      // A holder this host can check holds the lock while it lives (a stopped one too): named, so it can be
      // found; one on another machine is held until its lease ends.
      const known = holder !== undefined && /^\d+$/.test(holder);
      throw new McError(
        "TIMEOUT",
        `another mc process${known ? ` (pid ${holder})` : ""} holds the lock ${dir} on ${host.id}`,
        {
          backend: "core",
          op: "lock",
          details: { holderPid: holder, leaseUntil: Number(until) },
          hint: known
            ? `wait for it to finish, or end it (kill ${holder}); one stopped with Ctrl-Z holds the lock until it goes on (fg) or ends`
            : `wait for it to finish; its lease ends within ${lease} s of its last renewal`,
        },
      );
    }
    await new Promise((res) =>
      setTimeout(res, stale ? 1 : 20 + Math.random() * Math.min(400, 20 * 2 ** Math.min(attempt, 5))),
    );
  }
}
