import type { HostInfo } from "@mc/core";

/** `uname -s` → the platform names of {@link HostInfo}. */
export function platformFromUname(uname: string): HostInfo["platform"] {
  const u = uname.trim().toLowerCase();
  if (u === "linux") return "linux";
  if (u === "darwin") return "darwin";
  if (u === "freebsd") return "freebsd";
  if (/^(mingw|msys|cygwin|windows)/.test(u)) return "win32";
  return "other";
}

/**
 * What the info operation learns of a POSIX machine besides {@link HostInfo}: who it is (to tell two
 * names of one machine apart), its clock, and whether mc's state there belongs to the remote user.
 */
export interface HostFacts {
  /** `/etc/machine-id` (or the BSD host uuid); empty when the machine has none. */
  machineId: string;
  /** Linux boot id; empty elsewhere. */
  bootId: string;
  uid: string;
  user: string;
  hostname: string;
  /** Variables that choose which multiplexer server a command reaches (`TMUX_TMPDIR`, …). */
  serverEnv: Record<string, string>;
  /** The remote clock when the info ran, epoch ms (second resolution where `date` has no `%N`). */
  clockMs: number;
  /** The state directory exists and is not owned by the remote user (left by `sudo -E`, for example). */
  stateForeignOwner?: string;
  /**
   * The first way another user of that machine could write mc's state there, as core's localStateExposure
   * judges it locally: `world` (a directory of it writable by all), `owner` (one owned by another user
   * than root), `group` (not ours and group-writable), `above-world` (a directory above it writable by
   * all without the sticky bit), `above-owner` (one above it owned by another user than root),
   * `link-owner` (a symlink on the way to it, or in it, that another user than root owns), `unchecked`
   * (that machine's find cannot make the checks).
   */
  stateExposure?: { kind: StateExposureKind; path: string };
}

export type StateExposureKind =
  | "world"
  | "owner"
  | "group"
  | "above-world"
  | "above-owner"
  | "link-owner"
  /** The probe could not run there (a find without -L, -perm or -user; no uid): treated as exposed. */
  | "unchecked";

/**
 * The exposure probe of {@link INFO_SCRIPT} (-L: a symlink is judged by what it points at): one find for
 * the state directory, what is directly in it and in its managers/; one for the directories above it,
 * one for those above where it really is (or its nearest existing parent, before it is made), and one
 * above each directory in it that is a symlink. It prints `exposed=<kind> <path>` lines, nothing when
 * private.
 */
const EXPOSURE_SCRIPT = `mc_above() {
  mc_a=$1
  set --
  while case $mc_a in */*) true ;; *) false ;; esac; do
    mc_a=\${mc_a%/*}; [ -n "$mc_a" ] || mc_a=/
    set -- "$@" "$mc_a"
    [ "$mc_a" = / ] && break
  done
  [ $# -eq 0 ] || find -L "$@" -prune -type d \\( -perm -0002 ! -perm -1000 -exec printf 'exposed=above-world %s\\n' {} \\; -o ! -user "$mc_u" ! -user 0 -exec printf 'exposed=above-owner %s\\n' {} \\; \\) 2>/dev/null
  [ $# -eq 0 ] || find "$@" -prune -type l ! -user "$mc_u" ! -user 0 -exec printf 'exposed=link-owner %s\\n' {} \\; 2>/dev/null
}
mc_exp() {
  mc_u=$(id -u)
  # A find that cannot make these checks (no -L or -H, -perm, -user; no uid) prints nothing, which would
  # read as private: it is said instead.
  case $(find -L / -maxdepth 0 -type d -perm -0000 \\( -user "$mc_u" -o ! -user "$mc_u" \\) -exec printf ok \\; 2>/dev/null)$(find -H / -mindepth 0 -maxdepth 0 -prune -exec printf ok \\; 2>/dev/null) in
    okok) ;;
    *) printf 'exposed=unchecked %s\\n' "$mc_sd"; return 0 ;;
  esac
  case $mc_sd in /*) mc_d=$mc_sd ;; *) mc_d=./$mc_sd ;; esac
  find -L "$mc_d" "$mc_d/managers" -maxdepth 1 -type d \\( -perm -0002 -exec printf 'exposed=world %s\\n' {} \\; -o ! -user "$mc_u" ! -user 0 -exec printf 'exposed=owner %s\\n' {} \\; -o ! -user "$mc_u" -perm -0020 -exec printf 'exposed=group %s\\n' {} \\; \\) 2>/dev/null
  # A symlink of another user's (the state directory, or one in it): they can repoint it at any time.
  find "$mc_d" -prune -type l ! -user "$mc_u" ! -user 0 -exec printf 'exposed=link-owner %s\\n' {} \\; 2>/dev/null
  find -H "$mc_d" "$mc_d/managers" -mindepth 1 -maxdepth 1 -type l ! -user "$mc_u" ! -user 0 -exec printf 'exposed=link-owner %s\\n' {} \\; 2>/dev/null
  mc_above "$mc_d"
  # Where it really is (or, not made yet, where its nearest existing parent really is): that and above.
  mc_e=$mc_d
  while [ ! -d "$mc_e" ] && case $mc_e in */*) true ;; *) false ;; esac; do mc_e=\${mc_e%/*}; [ -n "$mc_e" ] || mc_e=/; done
  mc_rp=$(cd -P -- "$mc_e" 2>/dev/null && pwd -P) && mc_above "$mc_rp/-"
  # A directory in it that is a symlink: above where it really is.
  for mc_l in "$mc_d"/* "$mc_d"/.[!.]* "$mc_d"/managers/* "$mc_d"/managers/.[!.]*; do
    [ -L "$mc_l" ] && [ -d "$mc_l" ] || continue
    mc_t=$(cd -P -- "$mc_l" 2>/dev/null && pwd -P) && mc_above "$mc_t"
  done
}
mc_exp`;

/**
 * The POSIX sh of the info operation: one value per line (platform, home, state dir — `$MC_STATE_DIR`,
 * else `$XDG_STATE_HOME/mc`, else `~/.local/state/mc`, as core's localStateDir —, shell, then the facts).
 * With the first call of each host it also removes this user's batch temp dirs older than a day: a batch killed with
 * SIGKILL (the machine's sshd killed, an OOM kill) cannot run its EXIT trap.
 */
export const INFO_SCRIPT = `mc_sd=\${MC_STATE_DIR:-\${XDG_STATE_HOME:-$HOME/.local/state}/mc}
uname -s; printf '%s\\n' "$HOME" "$mc_sd" "\${SHELL:-}"
cat /etc/machine-id 2>/dev/null || sysctl -n kern.hostuuid 2>/dev/null || echo
cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo
id -u 2>/dev/null || echo; id -un 2>/dev/null || echo; hostname 2>/dev/null || uname -n
date +%s%N
printf '%s\\n' "TMUX_TMPDIR=\${TMUX_TMPDIR:-}" "XDG_RUNTIME_DIR=\${XDG_RUNTIME_DIR:-}" "ZELLIJ_SOCKET_DIR=\${ZELLIJ_SOCKET_DIR:-}"
if [ -e "$mc_sd" ] && [ ! -O "$mc_sd" ]; then ls -ld -- "$mc_sd" | awk '{print "owner=" $3}'; else echo owner=; fi
${EXPOSURE_SCRIPT}
find "\${TMPDIR:-/tmp}" /tmp -maxdepth 1 -name 'mc-ssh.*' -user "$(id -u)" -mmin +1440 -exec rm -rf {} + 2>/dev/null || :`;

/** Epoch ms from `date +%s%N` (GNU) or what BSD prints for it (`<seconds>N` or `<seconds>%N`). */
export function parseClock(s: string): number {
  const t = s.trim();
  if (/^\d{13,}$/.test(t)) return Math.floor(Number(t.slice(0, 13)));
  const sec = /^(\d+)/.exec(t);
  return sec ? Number(sec[1]) * 1000 : Number.NaN;
}

/** The info operation's output (see {@link INFO_SCRIPT}). */
export function parseInfo(out: string): HostInfo & { facts?: HostFacts } {
  const lines = out.split("\n");
  const [uname = "", home = "", stateDir = "", shell = ""] = lines;
  const info: HostInfo = { platform: platformFromUname(uname), home, stateDir, ...(shell ? { shell } : {}) };
  if (lines.length < 13) return info;
  const serverEnv: Record<string, string> = {};
  for (const l of lines.slice(10, 13)) {
    const eq = l.indexOf("=");
    if (eq > 0 && l.slice(eq + 1)) serverEnv[l.slice(0, eq)] = l.slice(eq + 1);
  }
  const owner = (lines[13] ?? "").replace(/^owner=/, "");
  const facts: HostFacts = {
    machineId: (lines[4] ?? "").trim(),
    bootId: (lines[5] ?? "").trim(),
    uid: (lines[6] ?? "").trim(),
    user: (lines[7] ?? "").trim(),
    hostname: (lines[8] ?? "").trim(),
    clockMs: parseClock(lines[9] ?? ""),
    serverEnv,
    ...(owner ? { stateForeignOwner: owner } : {}),
  };
  // The probe's lines come last; a path may hold a newline, so a line starts a new finding only if it
  // reads `exposed=<kind> `.
  const found =
    /(?:^|\n)exposed=(world|owner|group|above-world|above-owner|link-owner|unchecked) ([\s\S]*?)(?=\nexposed=(?:world|owner|group|above-world|above-owner|link-owner|unchecked) |\n?$)/.exec(
      lines.slice(14).join("\n"),
    );
  if (found) facts.stateExposure = { kind: found[1] as StateExposureKind, path: found[2]! };
  return { ...info, facts };
}
