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
}

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
id -u; id -un 2>/dev/null || echo; hostname 2>/dev/null || uname -n
date +%s%N
printf '%s\\n' "TMUX_TMPDIR=\${TMUX_TMPDIR:-}" "XDG_RUNTIME_DIR=\${XDG_RUNTIME_DIR:-}" "ZELLIJ_SOCKET_DIR=\${ZELLIJ_SOCKET_DIR:-}"
if [ -e "$mc_sd" ] && [ ! -O "$mc_sd" ]; then ls -ld -- "$mc_sd" | awk '{print "owner=" $3}'; else echo owner=; fi
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
  return { ...info, facts };
}
