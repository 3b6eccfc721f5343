import type { ManagedSession } from "./run-record.js";
import { sessionSlots } from "./slots.js";
import { classifyExit, type SessionStatus, type StatusReport, type TabStatus } from "./status.js";
import { parseTabRecord, readyMarkerName, tabRecordName } from "./tab-record.js";
import { EVENTS_FILE } from "./tab-wrapper.js";

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
  /** Which pane of the tab, when it has several (0 is the tab's own command). */
  pane?: number;
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

/** An event about one tab, from its status. */
export function tabEvent(s: SessionStatus, t: TabStatus, type: McEventType, time: number): McEvent {
  return {
    type,
    time: iso(time),
    machine: s.machine,
    session: s.session,
    tab: t.tabName,
    index: t.index,
    ...(t.pane === undefined ? {} : { pane: t.pane }),
    ...(t.exitCode === undefined ? {} : { exitCode: t.exitCode }),
    ...(t.signal ? { signal: t.signal } : {}),
    ...(t.error ? { reason: t.error } : {}),
  };
}

const started = (t: TabStatus | undefined) =>
  t !== undefined &&
  t.state !== "not-started" &&
  t.state !== "abandoned" &&
  t.state !== "pending" &&
  t.state !== "unknown";

/**
 * The events between two status reports of the same run (the polling fallback of the event stream):
 * a tab that began running, ended (exited or killed), or a session that went away. Times are the tab's
 * own where the record has them, else the report's.
 */
export function eventsBetween(prev: StatusReport | undefined, next: StatusReport): McEvent[] {
  const before = new Map<string, { s: SessionStatus; tabs: Map<number, TabStatus> }>();
  for (const s of prev?.sessions ?? [])
    before.set(`${s.machine}\u0000${s.session}`, {
      s,
      tabs: new Map(s.tabs.map((t) => [t.slot ?? t.index, t])),
    });
  const out: McEvent[] = [];
  for (const s of next.sessions) {
    const old = before.get(`${s.machine}\u0000${s.session}`);
    for (const t of s.tabs) {
      const was = old?.tabs.get(t.slot ?? t.index);
      if (was?.state === t.state && was.exitCode === t.exitCode) continue;
      if (!started(was) && started(t)) out.push(tabEvent(s, t, "tab-started", t.startedAt ?? next.at));
      if (t.state === "missing" && was?.state !== "missing") {
        out.push({
          ...tabEvent(s, t, "tab-killed", next.at),
          reason: "its tab is gone and nothing recorded how the command ended",
        });
      } else if (t.state === "exited" || t.state === "skipped") {
        out.push(tabEvent(s, t, "tab-exited", t.endedAt ?? next.at));
      } else if (t.state === "killed" && was?.state !== "killed")
        out.push(tabEvent(s, t, "tab-killed", t.endedAt ?? next.at));
    }
    if (old?.s.exists && !s.exists)
      out.push({ type: "session-gone", time: iso(next.at), machine: s.machine, session: s.session });
  }
  return out;
}

/** A line the tab wrapper appended to the session's events file. */
interface WrapperEvent {
  type: McEventType;
  t: number;
  session?: string;
  tab?: string;
  index?: number;
  pane?: number;
  exitCode?: number;
  signal?: string;
  attempt?: number;
  reason?: string;
}

const TAB_EVENTS = new Set<McEventType>(["tab-started", "tab-exited", "tab-killed", "tab-retried"]);

/** Seconds since the epoch that a date can hold (a tab can write anything to its own events file). */
const isTime = (t: unknown): t is number =>
  typeof t === "number" && Number.isFinite(t) && Math.abs(t) < 8.64e12;
const isCount = (n: unknown, min = 0) => n === undefined || (Number.isSafeInteger(n) && (n as number) >= min);
const isText = (x: unknown) => x === undefined || typeof x === "string";

/** One line of a session's events file, or undefined when it is damaged in any field mc reads. */
function wrapperEvent(line: string): WrapperEvent | undefined {
  try {
    const v = JSON.parse(line) as WrapperEvent;
    const ok =
      v &&
      typeof v === "object" &&
      TAB_EVENTS.has(v.type) &&
      isTime(v.t) &&
      Number.isSafeInteger(v.index) &&
      v.index! >= 0 &&
      isCount(v.pane) &&
      (v.exitCode === undefined || Number.isSafeInteger(v.exitCode)) &&
      isCount(v.attempt, 1) &&
      isText(v.signal) &&
      isText(v.reason);
    return ok ? v : undefined;
  } catch {
    return undefined;
  }
}

/** What `sessions events` knows of one session: its run directory's files and its entry in the run record. */
export interface SessionHistory {
  session: ManagedSession & { endedAt?: number; endedBy?: string };
  /** The run directory's files (`events.ndjson`, `ready-<i>.json`), by name. */
  files: Map<string, string>;
  /** How far the machine's clock is ahead of this one's (ms; the host's `clockSkewMs`): taken off. */
  skewMs?: number;
}

/**
 * A session's events so far, oldest first: `session-started` (from the run record), what its tabs' wrapper
 * wrote (`tab-started`, `tab-retried`, `tab-exited`, `tab-killed`), `tab-ready` (when its probe succeeded,
 * or when it started if it has none) and, for an ended session, `session-gone`. Damaged lines are skipped.
 */
export function sessionEvents(h: SessionHistory): McEvent[] {
  const s = h.session;
  // In this machine's clock, as status's times are (status-clock.ts).
  const at = (seconds: number) => iso(seconds * 1000 - (h.skewMs ?? 0));
  const base = { machine: s.machine, session: s.name };
  const out: McEvent[] = [];
  const tabs = s.layout.layoutTabs;
  const readySeen = new Set<number>();
  for (const line of (h.files.get(EVENTS_FILE) ?? "").split("\n")) {
    const e = wrapperEvent(line);
    if (!e || e.index! >= tabs.length) continue;
    const index = e.index!;
    // An exit status that says a signal ended the command (128+N) is a kill, as status says it
    // (review H50-6: `tab-exited` 137 here, `killed SIGKILL` in status).
    const killed =
      e.type === "tab-exited" && e.exitCode !== undefined && e.signal === undefined
        ? classifyExit(e.exitCode).signal
        : undefined;
    const ev: McEvent = {
      type: killed ? "tab-killed" : e.type,
      time: at(e.t),
      ...base,
      tab: tabs[index]!.tabName,
      index,
      ...(e.pane ? { pane: e.pane } : {}),
      ...(e.exitCode === undefined ? {} : { exitCode: e.exitCode }),
      ...(e.signal === undefined ? {} : { signal: e.signal }),
      ...(killed ? { signal: killed } : {}),
      ...(e.attempt === undefined ? {} : { attempt: e.attempt }),
      ...(e.reason === undefined ? {} : { reason: e.reason }),
    };
    out.push(ev);
    if (e.type === "tab-started" && !e.pane && !tabs[index]!.readiness && !readySeen.has(index)) {
      readySeen.add(index);
      out.push({ ...ev, type: "tab-ready" });
    }
  }
  // A tab a scheduler never opened (a tab it depends on failed) has no wrapper to say it ended: its record,
  // written by the scheduler, does.
  for (const slot of sessionSlots(s.layout)) {
    const rec = parseTabRecord(h.files.get(tabRecordName(slot.slot)));
    if (rec?.error !== "dependency" || rec.end === undefined) continue;
    out.push({
      type: "tab-exited",
      time: at(rec.end),
      ...base,
      tab: tabs[slot.tab]!.tabName,
      index: slot.tab,
      ...(slot.pane ? { pane: slot.pane } : {}),
      exitCode: rec.exit ?? 125,
      reason: "not started: a tab it depends on failed",
    });
  }
  tabs.forEach((t, index) => {
    const marker = h.files.get(readyMarkerName(index));
    if (!t.readiness || marker === undefined) return;
    try {
      const { t: sec } = JSON.parse(marker) as { t: unknown };
      if (isTime(sec)) out.push({ type: "tab-ready", time: at(sec), ...base, tab: t.tabName, index });
    } catch {}
  });
  // The session's start comes first and its end last, whatever two machines' clocks say in between.
  const started: McEvent = { type: "session-started", time: iso(s.startedAt), ...base };
  const gone: McEvent[] =
    s.endedAt === undefined
      ? []
      : [{ type: "session-gone", time: iso(s.endedAt), ...base, reason: s.endedBy ?? "ended" }];
  return [started, ...out.sort((a, b) => a.time.localeCompare(b.time)), ...gone];
}
