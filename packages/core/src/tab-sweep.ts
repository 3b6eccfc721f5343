import type { Host } from "./host.js";
import type { ManagedSession } from "./run-record.js";
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
}

/**
 * Find every process that carries one of the markers given as arguments (`MC_TAB=<runDir>#<i>`, exact
 * entries of /proc/<pid>/environ) and is still there half a second later (the session's hang-up ends the
 * rest), TERM them, wait up to 2 s, KILL what is left, and report survivors.
 * One `grep -z` over every environ file (GNU and BusyBox grep), a slower loop where grep has no -z.
 */
export const SWEEP_SCRIPT = `[ -r /proc/self/environ ] || { echo unsupported; exit 0; }
for p do set -- "$@" -e "$p"; shift; done
if printf 'a\\0' | grep -qzx a 2>/dev/null; then
  marked() { grep -lszxF "$@" /proc/[0-9]*/environ 2>/dev/null | sed -n 's|^/proc/\\([0-9]*\\)/environ$|\\1|p'; }
else
  marked() { for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' <"$f" 2>/dev/null | grep -qxF "$@" && { f=\${f#/proc/}; echo "\${f%/environ}"; }; done; }
fi
pids=$(marked "$@" | grep -vx "$$")
# The session's hang-up reaches its processes a moment after the kill: what ends by itself in the next
# half second was not left running.
i=0
while [ -n "$pids" ] && [ $i -lt 5 ]; do sleep 0.1; pids=$(marked "$@" | grep -vx "$$"); i=$((i + 1)); done
[ -n "$pids" ] || { echo none; exit 0; }
echo found $pids
kill -TERM $pids 2>/dev/null
i=0
while [ $i -lt 20 ]; do sleep 0.1; pids=$(marked "$@" | grep -vx "$$"); [ -n "$pids" ] || break; i=$((i + 1)); done
if [ -n "$pids" ]; then kill -KILL $pids 2>/dev/null; sleep 0.3; pids=$(marked "$@" | grep -vx "$$"); fi
for p in $pids; do printf 'survivor %s %s\\n' "$p" "$(tr '\\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"; done
exit 0`;

/** Parse the output of {@link SWEEP_SCRIPT}. */
export function parseSweep(out: string): SweepResult {
  const lines = out.split("\n");
  if (lines[0]?.trim() === "unsupported") return { supported: false, ended: [], survivors: [] };
  const found =
    /^found (.*)$/
      .exec(lines[0] ?? "")?.[1]
      ?.split(/\s+/)
      .filter(Boolean)
      .map(Number) ?? [];
  const survivors = lines.flatMap((l) => {
    const m = /^survivor (\d+) ?(.*)$/.exec(l);
    return m ? [{ pid: Number(m[1]), command: m[2]!.trim() }] : [];
  });
  const left = new Set(survivors.map((s) => s.pid));
  return { supported: true, ended: found.filter((p) => !left.has(p)), survivors };
}

/** End every process the tabs of a killed session left running on its machine (see {@link SWEEP_SCRIPT}). */
export async function sweepTabs(host: Host, s: ManagedSession): Promise<SweepResult> {
  if ((await host.info()).platform === "win32") return { supported: false, ended: [], survivors: [] };
  const markers = sessionSlots(s.layout).map((x) => `${TAB_MARKER_VAR}=${tabMarker(s.runDir, x.slot)}`);
  const r = await host.run({ file: "/bin/sh", args: ["-c", SWEEP_SCRIPT, "mc-sweep", ...markers] });
  if (r.exitCode !== 0)
    throw new Error(`the sweep for left-over processes failed: ${(r.stderr || r.stdout).trim()}`);
  return parseSweep(r.stdout);
}
