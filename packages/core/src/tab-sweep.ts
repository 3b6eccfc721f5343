import { isMcError } from "./errors.js";
import type { Host } from "./host.js";
import type { KillResult } from "./manager-options.js";
import type { ManagedSession } from "./run-record.js";
import type { KillOutcome, SessionBackend } from "./session-backend.js";
import { sessionSlots } from "./slots.js";
import { TAB_MARKER_VAR, tabMarker } from "./tab-wrapper.js";

/** What a sweep found of one session's tabs after its kill. */
export interface SweepResult {
  /** False where processes cannot be found by environment (no /proc: macOS, BSD, Windows). */
  supported: boolean;
  /** Pids that carried a tab's marker and were ended (TERM, then KILL after 2 s). */
  ended: number[];
  /** Processes that still carry a marker after KILL (another user's, or stuck in the kernel). */
  survivors: { pid: number; command: string }[];
  /** Processes left alone: inside another terminal server (tmux, zellij, screen) a tab started. */
  spared: { pid: number; command: string }[];
}

/**
 * The sweep, in two steps around the tool's kill (`sh -c SWEEP_SCRIPT mc-sweep MODE SIDS AGE MARKER...`):
 *
 * - `sids`, before the kill: the terminal sessions (SIDs) of the processes that carry one of the tab
 *   markers (`MC_TAB=<runDir>#<i>`, exact entries of /proc/<pid>/environ). They are live then, so no
 *   other process can hold those SIDs until every member is gone.
 * - `kill`, after it: every process that carries a marker or is still in one of those SIDs (so
 *   `nohup env -i cmd &`, which drops the marker but stays in the tab's terminal session, is found), that
 *   is still there half a second later (the session's hang-up ends the rest): TERM, up to 2 s, KILL,
 *   survivors reported. With AGE (how many seconds ago the session ended, where that is known), a process
 *   that started since, is not below an older process of the tab's and not in the terminal session of
 *   one, is left alone: it was given a copy of the marker (the age is compared with the host's own uptime,
 *   so no clock skew applies). A leftover that double-forks and calls setsid after the session ended
 *   cannot be told from that.
 *
 * - `find`, for a status: per marker, the processes that still carry it (what `kill` would end), killing nothing.
 *
 * Zombies (ended, not yet reaped) are not counted. Never touched: this sweep and the processes it runs
 * from (mc may be run from inside the tab); anything inside another terminal server a tab started (a tmux,
 * zellij or screen server that carries the marker, its panes and everything below them: those sessions
 * may be the user's own since); a per-user agent a tab happened to start first (gpg-agent, ssh-agent,
 * dbus-daemon and gpg's helpers), which the user's other programs share. Those last two are listed as
 * `spared`. A process that left both the marker and the terminal session (`setsid env -i`) cannot be
 * told from any other; only a cgroup would hold it.
 */
export const SWEEP_SCRIPT = `[ -r /proc/self/environ ] || { echo unsupported; exit 0; }
# mc may run inside a tab of the session it kills: that tab's hang-up must not end the sweep.
trap '' HUP
mode=$1 sids=$2 age=$3; shift 3
# sids from the first step come as "u=<uptime> SID…": when they were taken. One whose number is now the pid
# of a session leader that started after that was reused: the tab's session emptied during the kill and
# the number went to another program's new session (pids wrap: review HR78, 24 panes of another tmux
# server got the hang-up). Its processes are the tab's only with a marker or below an older tab process.
# While any process is left in the tab's session its number is not given out: those are all the tab's,
# also one started during the kill whose parent is gone (review H79-1: a HUP trap's nohup env -i child).
snap=; case $sids in u=*) snap=\${sids%% *}; snap=\${snap#u=}; case $snap in ''|*[!0-9.]*) snap=;; esac;; esac
# age: seconds since the session ended, where known. A process younger than that, neither below an older
# one of the tab's nor in the terminal session of one, started after the session ended: it only copied a
# marker (review H42-4). (A leftover's double-forked child keeps its terminal session: review H45-1.)
up=$(cut -d' ' -f1 /proc/uptime 2>/dev/null) hz=$(getconf CLK_TCK 2>/dev/null) || hz=
case $hz in ''|*[!0-9]*|0) hz=100;; esac
case $up in ''|*[!0-9.]*) age=;; esac
if printf 'a\\0' | grep -qzx a 2>/dev/null; then
  marked() { grep -lszxF "$@" /proc/[0-9]*/environ 2>/dev/null | sed -n 's|^/proc/\\([0-9]*\\)/environ$|\\1|p'; }
else
  marked() { for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' <"$f" 2>/dev/null | grep -qxF "$@" && { f=\${f#/proc/}; echo "\${f%/environ}"; }; done; }
fi
# k PID: the tab's; s PID COMM: spared (inside another terminal server); d SID: a SID of the tab's.
pick() {
  m=\${M:-$(marked "$@" | tr '\\n' ' ')}
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v marked=" $m " -v sids=" $sids " -v self=$$ -v age="$age" -v up="$up" -v hz="$hz" -v snap="$snap" '
    { l = $0; j = 0; for (k = length(l); k > 0; k--) if (substr(l, k, 1) == ")") { j = k; break }
      if (!j) next
      p = $1; name[p] = substr(l, index(l, "(") + 1, j - index(l, "(") - 1)
      split(substr(l, j + 2), f, " "); state[p] = f[1]; ppid[p] = f[2]; sid[p] = f[4]; all[++n] = p
      young[p] = age != "" && up - f[20] / hz < age + 0; late[p] = snap != "" && f[20] / hz > snap + 0 }
    END {
      # A SID is reused when its number is now the pid of a session leader that started after the ids
      # were taken: while any process was left in that session the number could not be given out.
      for (x = 1; x <= n; x++) { p = all[x]; if (sid[p] == p && late[p]) reused[p] = 1 }
      for (q = self; q > 1 && (q in ppid); q = ppid[q]) mine[q] = 1
      for (x = 1; x <= n; x++) { p = all[x]
        tabs[p] = (index(marked, " " p " ") > 0 || (sid[p] > 0 && index(sids, " " sid[p] " ") > 0 && !(sid[p] in reused))) && state[p] !~ /^[ZX]/
        if (tabs[p] && !young[p]) oldsid[sid[p]] = 1 }
      for (x = 1; x <= n; x++) {
        p = all[x]
        # the process line mc runs in (from inside a tab) is never ended; its terminal session counts
        if (p in mine) { if (index(marked, " " p " ")) print "d", sid[p]; continue }
        mk = index(marked, " " p " ") > 0; sd = sid[p] > 0 && index(sids, " " sid[p] " ") > 0
        if ((!mk && !sd) || state[p] ~ /^[ZX]/) continue
        if (!mk && (sid[p] in reused)) { old = 0; for (q = ppid[p]; !old && q > 1 && (q in ppid); q = ppid[q]) if (tabs[q] && !late[q]) old = 1
          if (!old) continue }
        other = 0; ours = 0
        for (q = p; q > 1 && (q in ppid); q = ppid[q]) {
          if (q == self) { ours = 1; break }
          if (index(marked, " " q " ") && name[q] ~ /^(tmux: server|zellij|screen|SCREEN)|^(gpg-agent|ssh-agent|dbus-daemon|keyboxd|dirmngr|scdaemon)$/) { other = 1; break }
        }
        if (ours) continue
        if (young[p]) { old = (sid[p] in oldsid); for (q = ppid[p]; !old && q > 1 && (q in ppid); q = ppid[q]) if (tabs[q] && !young[q]) old = 1
          if (!old) continue }
        if (other) print "s", p, name[p]
        else { print "k", p; if (mk) print "d", sid[p] }
      }
    }'
}
# table: every process that carries a marker, what find would say of it, as "m PID MARKER" lines: one look
# at the machine for any number of sessions (review H78-1: one look per ended session, for every ls and
# status, took 30 s with 100 records). An entry holding a control character is no marker of mc's.
if [ "$mode" = table ]; then
  printf 'a\\0' | grep -qzx a 2>/dev/null || { echo unsupported; exit 0; }
  t=$(grep -saHz '^MC_TAB=[^[:cntrl:]]*$' /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | sed -n 's|^/proc/\\([0-9][0-9]*\\)/environ:MC_TAB=|\\1 |p')
  echo table
  [ -n "$t" ] || exit 0
  M=" $(printf '%s\\n' "$t" | cut -d' ' -f1 | tr '\\n' ' ')"
  keep=" $(pick | sed -n 's/^k //p' | tr '\\n' ' ') "
  printf '%s\\n' "$t" | while read -r p v; do case $keep in *" $p "*) printf 'm %s %s\\n' "$p" "$v";; esac; done
  exit 0
fi
# find: which of the markers live processes still carry (a status of tabs whose pane is gone), one line each.
# One look at every process for all of them first: the usual answer (none) costs one, not one per tab
# (review H58-4: 20 tabs took 187 processes and a second a status).
if [ "$mode" = find ]; then
  any=$(for m do set -- "$@" -e "$m"; shift; done; pick "$@" | sed -n 's/^k //p')
  n=0
  for m do
    n=$((n + 1))
    if [ -z "$any" ] || [ $# -eq 1 ]; then echo "tab $n $any" | tr '\\n' ' '; echo
    else echo "tab $n $(pick -e "$m" | sed -n 's/^k //p' | tr '\\n' ' ')"; fi
  done
  exit 0
fi
for p do set -- "$@" -e "$p"; shift; done
if [ "$mode" = sids ]; then echo "sids u=$up $(pick "$@" | sed -n 's/^d //p' | sort -un | tr '\\n' ' ')"; exit 0; fi
tab() { pick "$@" | sed -n 's/^k //p'; }
# One look gives both what is the tab's and what is spared (each look reads every process's environment).
look() { seen=$(pick "$@"); pids=$(printf '%s\\n' "$seen" | sed -n 's/^k //p'); }
look "$@"
# The session's hang-up reaches its processes a moment after the kill: what ends by itself in the next
# half second was not left running.
i=0
while [ -n "$pids" ] && [ $i -lt 5 ]; do sleep 0.1; look "$@"; i=$((i + 1)); done
printf '%s\\n' "$seen" | sed -n 's/^s \\([0-9]*\\) \\(.*\\)$/spared \\1 \\2/p'
[ -n "$pids" ] || { echo none; exit 0; }
echo found $pids
kill -TERM $pids 2>/dev/null
i=0
while [ $i -lt 20 ]; do sleep 0.1; pids=$(tab "$@"); [ -n "$pids" ] || break; i=$((i + 1)); done
if [ -n "$pids" ]; then kill -KILL $pids 2>/dev/null; sleep 0.3; pids=$(tab "$@"); fi
for p in $pids; do printf 'survivor %s %s\\n' "$p" "$(tr '\\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"; done
exit 0`;

/** Parse the output of {@link SWEEP_SCRIPT} (`kill` mode). */
export function parseSweep(out: string): SweepResult {
  const lines = out.split("\n");
  if (lines[0]?.trim() === "unsupported") return { supported: false, ended: [], survivors: [], spared: [] };
  const found = /^found (.*)$/m.exec(out)?.[1]?.split(/\s+/).filter(Boolean).map(Number) ?? [];
  const listed = (word: string) =>
    lines.flatMap((l) => {
      const m = new RegExp(`^${word} (\\d+) ?(.*)$`).exec(l);
      return m ? [{ pid: Number(m[1]), command: m[2]!.trim() }] : [];
    });
  const survivors = listed("survivor");
  const left = new Set(survivors.map((s) => s.pid));
  return { supported: true, ended: found.filter((p) => !left.has(p)), survivors, spared: listed("spared") };
}

/**
 * The exact environment entries of a session's tabs. grep -F reads a newline as a second pattern: a run
 * directory holding a control character (never made by mc, but a record is only data) is refused.
 */
const markers = (s: ManagedSession, slot?: number) => {
  if (/[\u0000-\u001f\u007f]/.test(s.runDir))
    throw new Error(`the run directory ${JSON.stringify(s.runDir)} holds a control character: no sweep`);
  return sessionSlots(s.layout)
    .filter((x) => slot === undefined || x.slot === slot)
    .map((x) => `${TAB_MARKER_VAR}=${tabMarker(s.runDir, x.slot)}`);
};

/**
 * Before a session's kill: the terminal sessions its tabs' processes are in (see {@link SWEEP_SCRIPT});
 * give the result to {@link sweepTabs}. Empty where processes cannot be read.
 */
export async function tabTerminalSessions(host: Host, s: ManagedSession, slot?: number): Promise<string> {
  if ((await host.info()).platform === "win32") return "";
  const r = await host.run({
    file: "/bin/sh",
    args: ["-c", SWEEP_SCRIPT, "mc-sweep", "sids", "", "", ...markers(s, slot)],
  });
  return r.exitCode === 0 ? (/^sids (.*)$/m.exec(r.stdout)?.[1]?.trim() ?? "") : "";
}

/**
 * The live processes that carry the markers of these commands (`slots`) of a session, what its kill would
 * end: for a status of tabs whose pane is gone with no end recorded (review H55-1: a command that ignores
 * the hang-up runs on, and its tab is not finished). Slot → pids, only those with some; undefined where
 * processes cannot be read by environment (no /proc, Windows) or the host did not answer.
 */
export async function tabsLeftRunning(
  host: Host,
  s: ManagedSession,
  slots: readonly number[],
  /**
   * When the status asking began (`performance.now()`): a look at the machine started since then answers
   * it, also one made for another session's question (`ls` and `status` of many runs ask at once).
   */
  notBefore = performance.now(),
): Promise<Map<number, number[]> | undefined> {
  if (slots.length === 0 || (await host.info()).platform === "win32") return undefined;
  const wanted = slots.flatMap((x) => markers(s, x));
  const table = await markerTable(host, notBefore);
  if (table) {
    const out = new Map<number, number[]>();
    for (const [k, slot] of slots.entries()) {
      const pids = table.get(wanted[k]!.slice(TAB_MARKER_VAR.length + 1));
      if (pids?.length) out.set(slot, pids);
    }
    return out;
  }
  const r = await host.run({
    file: "/bin/sh",
    args: ["-c", SWEEP_SCRIPT, "mc-sweep", "find", "", "", ...wanted],
  });
  if (r.exitCode !== 0 || /^unsupported$/m.test(r.stdout)) return undefined;
  const out = new Map<number, number[]>();
  for (const m of r.stdout.matchAll(/^tab (\d+) ([\d ]*)$/gm)) {
    const pids = m[2]!.split(" ").filter(Boolean).map(Number);
    const slot = slots[Number(m[1]) - 1];
    if (slot !== undefined && pids.length) out.set(slot, pids);
  }
  return out;
}

/** The last look at each machine's markers, and when it began: later questions share it (see below). */
const tables = new Map<string, { at: number; table: Promise<Map<string, number[]> | undefined> }>();

/**
 * Marker → the live processes carrying it (as the `find` mode counts them), for every marker on the
 * host; undefined where the host cannot answer it so (no /proc, a grep without -z): then each session is
 * asked on its own. A look that began at or after `notBefore` (the asking status's start) is shared: a
 * look from before it could predate the processes in question.
 */
function markerTable(host: Host, notBefore: number): Promise<Map<string, number[]> | undefined> {
  const got = tables.get(host.id);
  if (got && got.at >= notBefore) return got.table;
  const table = host
    .run({ file: "/bin/sh", args: ["-c", SWEEP_SCRIPT, "mc-sweep", "table", "", ""] })
    .then((r) => {
      if (r.exitCode !== 0 || !/^table$/m.test(r.stdout)) return undefined;
      const out = new Map<string, number[]>();
      for (const m of r.stdout.matchAll(/^m (\d+) (.+)$/gm)) {
        const list = out.get(m[2]!) ?? [];
        list.push(Number(m[1]));
        out.set(m[2]!, list);
      }
      return out;
    })
    .catch(() => undefined);
  tables.set(host.id, { at: performance.now(), table });
  return table;
}

/**
 * End every process the tabs of a killed session (or one closed pane, `slot`) left running on its machine
 * (see {@link SWEEP_SCRIPT}).
 */
export async function sweepTabs(
  host: Host,
  s: ManagedSession,
  sids = "",
  slot?: number,
  /**
   * How long ago the session ended, where that is known (a session retired as replaced): a process that
   * started since, and not from an older one of the tab's, only carries a copy of its marker.
   */
  endedAgoMs?: number,
): Promise<SweepResult> {
  if ((await host.info()).platform === "win32")
    return { supported: false, ended: [], survivors: [], spared: [] };
  const age = endedAgoMs === undefined ? "" : String(Math.max(0, endedAgoMs) / 1000);
  const r = await host.run({
    file: "/bin/sh",
    args: ["-c", SWEEP_SCRIPT, "mc-sweep", "kill", sids, age, ...markers(s, slot)],
  });
  if (r.exitCode !== 0)
    throw new Error(`the sweep for left-over processes failed: ${(r.stderr || r.stdout).trim()}`);
  return parseSweep(r.stdout);
}

/**
 * A roll-back's kill: the tool's kill, then the sweep of what carries the tabs' markers (a command that
 * ignores the hang-up; one whose shell was forking just as the hang-up came, which then never gets it).
 * Without the terminal-session step: a machine that stopped answering mid-start is not waited for twice.
 * Throws as the tool's kill does; a failed sweep is not the kill's failure.
 */
export async function killSwept(
  backend: Pick<SessionBackend, "kill">,
  host: Host,
  s: ManagedSession,
): Promise<KillOutcome> {
  const outcome = await backend.kill(s.name, s);
  if (s.runDir) await sweepTabs(host, s).catch(() => undefined);
  return outcome;
}

/** The tool locks this process holds for its kills: one hold shared by the kills running together. */
const held = new Map<string, { count: number; taking: Promise<() => Promise<void>> }>();

/**
 * A host's lock `name`, shared by this process's kills that run at the same time (`kill` ends several
 * sessions at once): they keep other processes' starts and merges out, not each other (review H47-3: on
 * a tmux server that did not answer each held it for its 15 s, the others queued and failed on a lock
 * "another mc process" held, naming this one). Released when the last of them is done.
 */
function sharedLock(host: Host, name: string): Promise<() => Promise<void>> {
  const key = `${host.id}\u0000${name}`;
  let h = held.get(key);
  if (!h) {
    h = { count: 0, taking: host.lock(name) };
    held.set(key, h);
    h.taking.catch(() => held.delete(key));
  }
  const mine = h;
  mine.count++;
  return mine.taking.then(
    (release) => async () => {
      if (--mine.count > 0) return;
      held.delete(key);
      await release();
    },
    (e: unknown) => {
      mine.count--;
      throw e;
    },
  );
}

/**
 * The tool's kill of one session, between the two steps of the sweep: the terminal sessions of its tabs
 * taken before, what they left running ended after. Not ok when the tool failed or a process survived.
 */
export async function killAndSweep(
  backend: Pick<SessionBackend, "kill" | "lockName" | "liveOutsideMc">,
  host: Host,
  s: ManagedSession,
): Promise<KillResult> {
  const base = { machine: s.machine, name: s.name };
  let outcome: KillResult["outcome"];
  let liveAs: KillResult["liveAs"];
  let sweep: SweepResult;
  try {
    // Each step asked once more when it fails: a Ctrl-C from the terminal reaches the process group, the
    // script mc runs included, and the kill goes on (review H41-1: the sweep made again after the tool's
    // kill no longer found the tabs' terminal sessions, and a `nohup env -i` child ran on).
    const sids = await tabTerminalSessions(host, s)
      .catch(() => tabTerminalSessions(host, s))
      .catch(() => "");
    // The tool's kill under the tool's lock, which a start or merge on that server holds while it makes
    // sessions: a kill between a merge's look and its new tab ended that tab's start with a raw tool
    // error, and two kills of a server's last session raced its exit (review H46-1, H46-2). The sweep
    // after it is outside the lock (kills of several sessions overlap their waits).
    // A lock that cannot be written (a full disk, which `ls --prune` must still clear: review H23-3) is
    // not taken; one another mc holds past the wait is the kill's failure.
    const release = backend.lockName
      ? await sharedLock(host, backend.lockName).catch((e: unknown) => {
          if (isMcError(e, "STATE_IO")) return undefined;
          throw e;
        })
      : undefined;
    try {
      outcome = await backend.kill(s.name, s);
    } finally {
      await release?.();
    }
    // Gone by its name, yet live outside mc's start (resurrected, renamed): said, not "already gone", and
    // asked before the sweep, which ends what its tabs run there (review H51-2).
    if (outcome === "gone" && backend.liveOutsideMc)
      liveAs = await backend.liveOutsideMc(s).catch(() => undefined);
    sweep = await sweepTabs(host, s, sids).catch(() => sweepTabs(host, s, sids));
  } catch (e) {
    const code = isMcError(e) ? { code: e.code } : {};
    return {
      ...base,
      ok: false,
      ...(outcome ? { outcome } : {}),
      error: isMcError(e) ? e.reason : (e as Error).message,
      ...code,
    };
  }
  const found = {
    ...(liveAs ? { liveAs } : {}),
    ...(sweep.ended.length ? { ended: sweep.ended } : {}),
    ...(sweep.spared.length ? { spared: sweep.spared } : {}),
  };
  if (sweep.survivors.length === 0) return { ...base, ok: true, outcome, ...found };
  const list = sweep.survivors.map((p) => `${p.pid} ${p.command}`).join("; ");
  return {
    ...base,
    ok: false,
    outcome,
    ...found,
    survivors: sweep.survivors,
    error: `${sweep.survivors.length} process(es) of its tabs survived SIGKILL: ${list}`,
  };
}
