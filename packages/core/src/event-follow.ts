import { type ErrorCode, unanswered as isUnanswered } from "./errors.js";
import { type McEvent, sessionEvents, tabEvent } from "./events.js";
import type { SessionManager } from "./manager.js";
import { sleep } from "./poll.js";
import { watchRunDirs } from "./run-dir-watch.js";
import type { ManagedSession } from "./run-record.js";
import { FINISHED_STATES, type SessionStatus, type StatusReport, type TabStatus } from "./status.js";

/** Options of {@link followEvents}. */
export interface FollowOptions {
  /** Only these sessions (default: every session the manager manages). */
  only?: (s: ManagedSession) => boolean;
  signal?: AbortSignal;
  /**
   * How often the tool itself is asked (sessions gone, tabs killed without a record): default 2000 ms, and
   * 30000 ms while every run directory is watched (an ending tab's wrapper writes its record, which wakes
   * the stream at once and brings the next check forward; only a wrapper killed outright, or a dead
   * server, is left for the regular check to find).
   */
  statusEveryMs?: number;
  /** Where files cannot be watched (remote machines), how often they are read; default 250 ms. */
  pollMs?: number;
  /** Events already printed (history), so they are not repeated. */
  skipHistory?: boolean;
  /**
   * What an earlier stream over the same sessions said (a stream that follows them again once their
   * records changed, after a merge or a restart): filled as events are yielded; what is in it is not said
   * again.
   */
  memory?: FollowMemory;
  /**
   * Each report's machines that did not answer (an empty list once all answer again): their sessions are
   * neither gone nor done, so the stream waits on them, and the caller says so.
   */
  onUnanswered?: (machines: { machine: string; error?: string; code?: ErrorCode }[]) => void;
  /** Filled while a machine is asked (see `checkAllSessionsStatus`): its name and when it was asked. */
  asking?: Map<string, number>;
}

/** The events a stream said (their keys) and the tabs whose end it said (by run directory and slot). */
export interface FollowMemory {
  seen: Set<string>;
  ended: Set<string>;
}

/** How often the tool is asked in the {@link HOT_MS} after a change in a run directory. */
const SOON_MS = 200;
const HOT_MS = 3000;

/** An event's identity in {@link FollowMemory.seen}. */
export const eventKey = (e: McEvent) =>
  `${e.type}\u0000${e.machine}\u0000${e.session}\u0000${e.index ?? ""}\u0000${e.time}\u0000${e.attempt ?? ""}`;

/**
 * The live event stream of a run (`sessions events --follow`, `sessions run --monitor --json`): what the
 * tabs' wrappers append to each session's events file, read the moment it changes (inotify on this
 * machine, a short poll elsewhere), plus what only the tool can tell (a session gone, a tab ended without
 * a record), asked every few seconds. Ends with `run-done` once every tab finished or its session is gone.
 */
export async function* followEvents(
  manager: SessionManager,
  o: FollowOptions = {},
): AsyncGenerator<McEvent, StatusReport | undefined> {
  const tracked = () => manager.managed.filter((s) => o.only?.(s) ?? true);
  const { seen, ended } = o.memory ?? { seen: new Set<string>(), ended: new Set<string>() };
  const gone = new Set<string>();
  /** Tabs whose end the tool's answer said before their wrapper's own line was read. */
  const fromTool = new Set<string>();
  /** A tab's key in `ended`: by its session's run directory, so a restarted session's tabs are new ones. */
  const tabKey = (machine: string, session: string, t: { index: number; pane?: number | undefined }) =>
    `${tracked().find((x) => x.machine === machine && x.name === session)?.runDir ?? ""}\u0000${machine}\u0000${session}\u0000${t.index}.${t.pane ?? 0}`;
  const wake = watchRunDirs(tracked().filter((s) => manager.hostOf(s.machine).id === "local"));
  // Watched directories say a tab's end themselves, so the tool is asked seldom; but a machine that did
  // not answer says nothing until asked again: every 2 s while one is silent (review H54-1: its answer
  // came back 30 s late, and a wait ended 8 "did not answer" about a server answering for 14 s).
  let silentNow = false;
  const statusEvery = () => o.statusEveryMs ?? (silentNow || !wake.watchesAll(tracked()) ? 2000 : 30_000);
  // Intervals on the monotonic clock: a wall clock stepped back (NTP, a VM resumed) held every status check
  // for as long as the step, and `wait` with it (review H77-1).
  let lastStatus = Number.NEGATIVE_INFINITY;
  let first = true;
  let changed = true;
  // After a change (a record, an event) the tool is asked every SOON_MS for a while, not at the next
  // regular check: a tab's end is several steps (its event, its record, the pane's own mark in the tool),
  // and only the last makes the tool's answer final.
  let hotUntil = 0;
  /** The events of these sessions' run directories not yielded yet, oldest first. */
  const readFresh = async (sessions: ManagedSession[]): Promise<McEvent[]> => {
    const fresh: McEvent[] = [];
    for (const s of sessions) {
      if (gone.has(`${s.machine}\u0000${s.name}`)) continue;
      const host = manager.hostOf(s.machine);
      const files = await host.readDir(s.runDir).catch(() => new Map<string, string>());
      for (const e of sessionEvents({ session: s, files, skewMs: host.clockSkewMs ?? 0 })) {
        // A tab's end is known from its event, also one said before (by a stream that followed these
        // sessions until their records changed): not said again from the tool's answer.
        const tk = tabKey(s.machine, s.name, { index: e.index ?? 0, pane: e.pane });
        const end = e.type === "tab-exited" || e.type === "tab-killed";
        if (end) ended.add(tk);
        const k = eventKey(e);
        if (seen.has(k)) continue;
        seen.add(k);
        // A new attempt of the tab (a rerun): its end is a new one.
        if (e.type === "tab-started" || e.type === "tab-retried") fromTool.delete(tk);
        // The tool's answer said this end first (a wrapper's line can come after the record the status
        // read): not said twice (review HR82-1).
        if (end && fromTool.delete(tk)) continue;
        if (!(first && o.skipHistory)) fresh.push(e);
      }
    }
    return fresh.sort((a, b) => a.time.localeCompare(b.time));
  };
  try {
    for (;;) {
      // Watched directories that did not change have nothing new to read.
      const fresh = await readFresh(changed || !wake.watchesAll(tracked()) ? tracked() : []);
      first = false;
      if (changed || fresh.some((e) => e.type === "tab-exited" || e.type === "tab-killed"))
        hotUntil = performance.now() + HOT_MS;
      for (const e of fresh) yield e;
      const since = performance.now() - lastStatus;
      const hot = performance.now() < hotUntil;
      if (since >= statusEvery() || (hot && since >= SOON_MS)) {
        lastStatus = performance.now();
        const report = await manager
          .checkAllSessionsStatus({
            processes: false,
            // Only the machines of the sessions followed: another machine of the run is not contacted, and
            // one that does not answer cannot hold up this stream (review H53-1: `wait rw --host h2`).
            machines: tracked().map((s) => s.machine),
            ...(o.asking ? { asking: o.asking } : {}),
          })
          .catch(() => undefined);
        if (report) {
          for (const e of fromStatus(report, tracked(), gone, ended, tabKey)) {
            seen.add(eventKey(e));
            if (e.type === "tab-killed")
              fromTool.add(tabKey(e.machine ?? "", e.session ?? "", { index: e.index ?? 0, pane: e.pane }));
            yield e;
          }
          const mine = report.sessions.filter((x) =>
            tracked().some((s) => s.machine === x.machine && s.name === x.session),
          );
          // A machine that did not answer says nothing of its sessions: they are not gone, and not done.
          const unanswered = report.machines.filter(
            (h) => !h.reachable && mine.some((x) => x.machine === h.machine),
          );
          o.onUnanswered?.(
            unanswered.map((h) => ({
              machine: h.machine,
              ...(h.error ? { error: h.error } : {}),
              ...(h.code ? { code: h.code } : {}),
            })),
          );
          const silent = new Set(unanswered.map((h) => h.machine));
          silentNow = silent.size > 0;
          // A session the tool does not list while a tab's command still runs (its recorded wrapper is
          // alive: a zellij session renamed, a tmux socket removed) is not over (review H40-2: wait said
          // its running tabs had failed).
          const done = mine.every(
            (x) =>
              !silent.has(x.machine) &&
              (x.exists
                ? x.tabs.every((t) => FINISHED_STATES.includes(t.state))
                : !x.tabs.some((t) => t.state === "running")),
          );
          if (done) {
            // The tool can tell a tab ended (its record) a moment before its wrapper appends `tab-exited`:
            // that line is waited for briefly, and said from the record if it never comes.
            // (Only an exited tab has a wrapper to write one.)
            const waiting = () => unsaid(mine, ended, tabKey).some(({ t }) => t.state === "exited");
            for (let i = 0; i < 10 && waiting(); i++) {
              await sleep(50);
              for (const e of await readFresh(tracked())) yield e;
            }
            for (const { s, t } of unsaid(mine, ended, tabKey)) {
              ended.add(tabKey(s.machine, s.session, t));
              const e = tabEvent(s, t, "tab-exited", t.endedAt ?? report.at);
              seen.add(eventKey(e));
              yield e;
            }
            const failed = mine
              .flatMap((x) => x.tabs)
              .filter((t) => t.state !== "exited" || t.exitCode !== 0).length;
            yield { type: "run-done", time: new Date().toISOString(), failed, report };
            return report;
          }
        }
      }
      if (o.signal?.aborted) return undefined;
      // Watched directories wake the loop themselves: no reading in between, only the tool's answer is due.
      const due = (performance.now() < hotUntil ? SOON_MS : statusEvery()) - (performance.now() - lastStatus);
      changed = await wake(wake.watchesAll(tracked()) ? due : Math.min(due, o.pollMs ?? 250), o.signal);
    }
  } finally {
    wake.close();
  }
}

type TabKey = (machine: string, session: string, t: { index: number; pane?: number | undefined }) => string;

/**
 * Finished tabs whose end no event has said yet: exited or skipped, and those that will never start (their
 * scheduler ended first, or their session did): a consumer of `tab-exited` learnt of those only from
 * `run-done`'s count (review HR82-4).
 */
function unsaid(
  sessions: SessionStatus[],
  ended: Set<string>,
  tabKey: TabKey,
): { s: SessionStatus; t: TabStatus }[] {
  const over = (s: SessionStatus, t: TabStatus) =>
    t.state === "exited" ||
    t.state === "skipped" ||
    t.state === "abandoned" ||
    (t.state === "not-started" && !s.exists);
  return sessions.flatMap((s) =>
    s.tabs
      .filter((t) => over(s, t) && !ended.has(tabKey(s.machine, s.session, t)))
      .map((t) => ({ s, t: t.state === "not-started" && !t.error ? { ...t, error: NEVER_STARTED } : t })),
  );
}

/** Why a tab that waited in a session that ended was never started. */
const NEVER_STARTED = "never started: its session ended first";

/** What only the tool's answer tells: sessions gone, tabs that ended without writing an event. */
function fromStatus(
  report: StatusReport,
  sessions: ManagedSession[],
  gone: Set<string>,
  ended: Set<string>,
  tabKey: TabKey,
): McEvent[] {
  const out: McEvent[] = [];
  const time = new Date(report.at).toISOString();
  for (const s of report.sessions) {
    const key = `${s.machine}\u0000${s.session}`;
    if (!sessions.some((x) => x.machine === s.machine && x.name === s.session)) continue;
    for (const t of s.tabs) {
      const tk = tabKey(s.machine, s.session, t);
      if (ended.has(tk) || (t.state !== "killed" && t.state !== "missing")) continue;
      ended.add(tk);
      out.push({
        type: "tab-killed",
        time,
        machine: s.machine,
        session: s.session,
        tab: t.tabName,
        index: t.index,
        ...(t.pane ? { pane: t.pane } : {}),
        ...(t.signal ? { signal: t.signal } : {}),
        reason: t.error ?? "its tab is gone and nothing recorded how the command ended",
      });
    }
    // A tool that answered that the session's server is not running answered: the session is gone
    // (review H46-3: a kill of a server's last session had no session-gone). Only no answer is not.
    const answered = report.machines.find((h) => h.machine === s.machine)?.reachable !== false;
    if (!s.exists && (!s.error || (answered && !isUnanswered(s.error))) && !gone.has(key)) {
      gone.add(key);
      out.push({ type: "session-gone", time, machine: s.machine, session: s.session });
    }
  }
  return out;
}
