import type { StatusReport } from "./status.js";

/**
 * Express a report's times in this machine's clock. A remote machine's tab records and process start
 * times are in its own clock, and core measures a running tab's runtime against this machine's: with a
 * remote clock `skewMs` ahead, every start moves back by the skew, and a running tab's runtime is
 * (measured again from the remote start; an ended tab's runtime, end minus start in one clock, is right).
 */
export function correctClock(
  report: StatusReport,
  skewOf: (machine: string) => number,
  now = Date.now(),
): StatusReport {
  const sessions = report.sessions.map((s) => {
    const skew = skewOf(s.machine);
    if (!skew) return s;
    const tabs = s.tabs.map((t) => ({
      ...t,
      ...(t.startedAt === undefined ? {} : { startedAt: t.startedAt - skew }),
      ...(t.endedAt === undefined ? {} : { endedAt: t.endedAt - skew }),
      // Core clamps a negative runtime to 0: a running tab's runtime is measured again, in the remote clock.
      ...(t.runtimeMs !== undefined && t.endedAt === undefined && t.startedAt !== undefined
        ? { runtimeMs: Math.max(0, now + skew - t.startedAt) }
        : {}),
      processes: t.processes.map((p) =>
        p.startedAt === undefined ? p : { ...p, startedAt: p.startedAt - skew },
      ),
    }));
    return { ...s, tabs };
  });
  return { ...report, sessions };
}
