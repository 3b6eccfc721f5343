import type { SessionStatus, StatusReport, TabStatus } from "./status.js";

/** What happened, one line of `sessions events` and of `sessions run --monitor --json`. */
export type McEventType =
  | "session-started"
  | "tab-started"
  | "tab-ready"
  | "tab-exited"
  | "tab-killed"
  | "tab-retried"
  | "session-gone"
  | "run-done";

/** One event. Every event has `type`, `time` (ISO 8601) and, where it concerns one, `session` and `tab`. */
export interface McEvent {
  type: McEventType;
  time: string;
  /** The machine (`local`, or its name in the run). */
  machine?: string;
  session?: string;
  tab?: string;
  /** The tab's position in its layout. */
  index?: number;
  exitCode?: number;
  signal?: string;
  attempt?: number;
  /** Why it is reported (a tab that could not enter its directory, a machine that did not answer). */
  reason?: string;
  /** run-done: how many tabs failed, and the last status report. */
  failed?: number;
  report?: StatusReport;
}

const iso = (ms: number) => new Date(ms).toISOString();

function tabEvent(s: SessionStatus, t: TabStatus, type: McEventType, time: number): McEvent {
  return {
    type,
    time: iso(time),
    machine: s.machine,
    session: s.session,
    tab: t.tabName,
    index: t.index,
    ...(t.exitCode === undefined ? {} : { exitCode: t.exitCode }),
    ...(t.signal ? { signal: t.signal } : {}),
    ...(t.error ? { reason: t.error } : {}),
  };
}

const started = (t: TabStatus | undefined) =>
  t !== undefined && t.state !== "not-started" && t.state !== "pending" && t.state !== "unknown";

/**
 * The events between two status reports of the same run (the polling fallback of the event stream):
 * a tab that began running, ended (exited or killed), or a session that went away. Times are the tab's
 * own where the record has them, else the report's.
 */
export function eventsBetween(prev: StatusReport | undefined, next: StatusReport): McEvent[] {
  const before = new Map<string, { s: SessionStatus; tabs: Map<number, TabStatus> }>();
  for (const s of prev?.sessions ?? [])
    before.set(`${s.machine}\u0000${s.session}`, { s, tabs: new Map(s.tabs.map((t) => [t.index, t])) });
  const out: McEvent[] = [];
  for (const s of next.sessions) {
    const old = before.get(`${s.machine}\u0000${s.session}`);
    for (const t of s.tabs) {
      const was = old?.tabs.get(t.index);
      if (was?.state === t.state && was.exitCode === t.exitCode) continue;
      if (!started(was) && started(t)) out.push(tabEvent(s, t, "tab-started", t.startedAt ?? next.at));
      if (t.state === "missing" && was?.state !== "missing") {
        out.push({
          ...tabEvent(s, t, "tab-killed", next.at),
          reason: "its tab is gone and nothing recorded how the command ended",
        });
      } else if (t.state === "exited") {
        out.push(tabEvent(s, t, "tab-exited", t.endedAt ?? next.at));
      } else if (t.state === "killed" && was?.state !== "killed")
        out.push(tabEvent(s, t, "tab-killed", t.endedAt ?? next.at));
    }
    if (old?.s.exists && !s.exists)
      out.push({ type: "session-gone", time: iso(next.at), machine: s.machine, session: s.session });
  }
  return out;
}
