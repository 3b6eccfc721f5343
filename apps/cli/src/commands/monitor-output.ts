import { eventsBetween, type MonitorSnapshot, type SessionManager, type StatusReport } from "@mc/core";
import { type Output, statusTable, transitions } from "../output.js";

/**
 * Monitor a run until every command has finished: a live table on a TTY, transition lines when piped,
 * one JSON line per snapshot with --json. Ctrl-C stops watching and leaves the sessions running.
 */
export async function monitorWithOutput(
  manager: SessionManager,
  o: { intervalMs: number; killUponCompletion: boolean },
  out: Output,
  style: { quiet?: boolean } = {},
): Promise<{ report: StatusReport | undefined; interrupted: boolean }> {
  const ac = new AbortController();
  const onSig = () => ac.abort();
  process.once("SIGINT", onSig);
  process.once("SIGTERM", onSig);
  const live = out.tty && !out.json && !style.quiet ? out.live() : undefined;
  let prev: StatusReport | undefined;
  const down = new Set<string>();
  const onSnapshot = (snap: MonitorSnapshot) => {
    if (snap.error) {
      out.err(out.c.yellow(`status failed: ${snap.error.message}; still watching`));
      return;
    }
    const r = snap.report!;
    for (const h of r.machines) {
      if (!h.reachable && !down.has(h.machine) && !out.json)
        out.err(out.c.yellow(`${h.machine}: not answering (${h.error ?? "?"}); still watching`));
      if (h.reachable && down.has(h.machine) && !out.json)
        out.err(out.c.dim(`${h.machine}: answering again`));
      if (h.reachable) down.delete(h.machine);
      else down.add(h.machine);
    }
    if (out.json) for (const e of eventsBetween(prev, r)) out.jsonLine(e);
    else if (live) live.render(statusTable(r, out));
    else for (const line of transitions(prev, r)) (style.quiet ? out.err : out.out)(line);
    prev = r;
  };
  try {
    const report = await manager.runMonitoringRoutine({
      // States are all monitoring needs; process trees cost most of a poll (sessions status --json has them).
      processes: false,
      intervalMs: o.intervalMs,
      killUponCompletion: o.killUponCompletion,
      signal: ac.signal,
      onSnapshot,
    });
    if (ac.signal.aborted) {
      out.err(out.c.yellow("monitoring stopped; the sessions keep running (sessions status, sessions kill)"));
      return { report, interrupted: true };
    }
    if (o.killUponCompletion) {
      if (!out.json) out.err(out.c.dim("every command finished; sessions killed"));
    } else if (!out.json && !live && !style.quiet && report) {
      for (const line of statusTable(report, out)) out.out(line);
    }
    return { report, interrupted: false };
  } finally {
    process.off("SIGINT", onSig);
    process.off("SIGTERM", onSig);
  }
}
