import { sleep } from "./poll.js";
import type { StatusReport } from "./status.js";

/** One step of monitoring. */
export interface MonitorSnapshot {
  cycle: number;
  /** The status, unless this poll failed. */
  report?: StatusReport;
  /** Why this poll failed (the backend or host did not answer); monitoring goes on. */
  error?: Error;
  /** True on the last snapshot: every tab's command has finished. */
  done: boolean;
}

/** Options of {@link monitor}. */
export interface MonitorOptions {
  /** Time between polls (default 2000 ms, as machineconfig). */
  intervalMs?: number;
  /** Stop monitoring (the iterator then ends without `done`). */
  signal?: AbortSignal;
  /** Stop after this many polls (for tests and `status --watch --count`). */
  maxCycles?: number;
  /**
   * What waits between two polls instead of a plain timer (a `watchRunDirs` wait: a tab's end
   * written to its run directory is polled at once, not at the next interval).
   */
  wait?: (ms: number, signal?: AbortSignal) => Promise<unknown>;
}

/**
 * True when every tab of every session has finished. A tab that has not started its command yet is
 * `pending`, never finished, so this cannot fire on a first poll made before the commands began.
 */
export function isAllFinished(report: StatusReport): boolean {
  return report.sessions.length > 0 && report.summary.allFinished;
}

/**
 * Poll `poll` every `intervalMs` and yield snapshots until every tab's command has finished. A failing
 * poll is reported in its snapshot and monitoring carries on (a tmux server restart, a dropped ssh link).
 */
export async function* monitor(
  poll: () => Promise<StatusReport>,
  opts: MonitorOptions = {},
): AsyncGenerator<MonitorSnapshot, void, void> {
  const interval = opts.intervalMs ?? 2000;
  for (let cycle = 0; !opts.signal?.aborted; cycle++) {
    const started = performance.now();
    let snap: MonitorSnapshot;
    try {
      const report = await poll();
      snap = { cycle, report, done: isAllFinished(report) };
    } catch (e) {
      snap = { cycle, error: e instanceof Error ? e : new Error(String(e)), done: false };
    }
    yield snap;
    if (snap.done) return;
    if (opts.maxCycles !== undefined && cycle + 1 >= opts.maxCycles) return;
    await (opts.wait ?? sleep)(Math.max(0, interval - (performance.now() - started)), opts.signal);
  }
}
