import { join } from "node:path";
import { isMcError, McError } from "./errors.js";
import type { McEvent } from "./events.js";
import type { SessionManager } from "./manager.js";
import { sleep } from "./poll.js";
import { DEFAULT_READINESS_TIMEOUT_S, notReadyReason, probeReadiness } from "./readiness.js";
import { watchRunDirs } from "./run-dir-watch.js";
import type { ManagedSession } from "./run-record.js";
import { isFailedTab, type SessionStatus, type TabStatus } from "./status.js";
import { tabLogName } from "./tab-log.js";

/** Options of {@link schedule}. */
export interface ScheduleOptions {
  /** At most this many tabs of each session run at once (`--max-parallel-tabs`); default: no limit. */
  maxParallel?: number | undefined;
  /** Time between two looks (default 500 ms). */
  pollMs?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Close each tab once its command finished (`--kill-finished-tabs`). */
  closeFinished?: boolean | undefined;
  /** Keep going until every command finished (not just until every tab was opened). */
  untilDone?: boolean | undefined;
  onEvent?: ((e: McEvent) => void) | undefined;
}

const LIVE = new Set<TabStatus["state"]>(["running", "pending"]);
/** How long a look waits for a probe's answer before it goes on (the probe goes on too, and is looked at next time). */
const PROBE_LOOK_MS = 250;
const FAILED = isFailedTab;
/** After a change in a run directory, how long its other changes of the moment are waited for. */
const SETTLE_MS = 15;

/** A readiness probe: its promise, and its answer once it came. */
interface Probe {
  answer: Promise<boolean>;
  ok?: boolean;
}

/** What the scheduler knows of one session beyond its status. */
interface Track {
  ready: Set<number>;
  failed: Set<number>;
  closed: Set<number>;
  /**
   * Tabs that failed their readiness and are to be closed (their command stopped). Closed after the next
   * tabs opened: closing the session's last window ended the session, and every tab still waiting in it
   * was abandoned (review H44-6: `--max-parallel-tabs 1`, one slow service threw the whole queue away).
   */
  failing: Set<number>;
  /** When each tab with a readiness condition was first seen started (ms, monotonic: performance.now). */
  since: Map<number, number>;
  /**
   * Each tab's readiness probe under way (a command may take seconds): looked at, not waited for. Its
   * answer stays until a look reads it (review H75-1: one that came between two looks was dropped, and
   * every probe slower than a look failed its tab).
   */
  probes: Map<number, Probe>;
  /** The session ended under the scheduler (killed by the user or another mc): nothing more starts. */
  gone?: boolean;
  /** The scheduler has returned: no probe is started again. */
  stopped?: boolean;
  /** Wakes the scheduler's wait: a probe said yes, so its dependants can start now. */
  poke: () => void;
}

const key = (s: { machine: string; name: string }) => `${s.machine}\u0000${s.name}`;

/**
 * Open the tabs a session did not open at once, in order, each when its `dependsOn` tabs are ready and a
 * slot of `maxParallel` is free: machineconfig's dynamic mode and docker compose's `depends_on` in one
 * loop. A tab is ready once started, or once its `readiness` probe succeeds; one that is not ready in
 * time is closed and fails, and so does every tab that depends on a failed one (it never starts, and its
 * record says why). Returns when every tab was opened or failed (or, with `untilDone`, finished).
 */
export async function schedule(manager: SessionManager, o: ScheduleOptions = {}): Promise<void> {
  const tracks = new Map<string, Track>();
  // One loop per machine, each asking only its machine: a machine slow to answer (a slow ssh link) held
  // every other machine's tabs behind its own starts and answers (review HR84-1: 25 s for a free slot).
  const machines = [...new Set(manager.managed.map((s) => s.machine))];
  try {
    const ends = await Promise.allSettled(
      machines.map((m) => scheduleMachine(manager, o, tracks, machines.length > 1 ? m : undefined)),
    );
    const failed = ends.find((e): e is PromiseRejectedResult => e.status === "rejected");
    if (failed) throw failed.reason;
  } finally {
    // What a probe of a tab still waiting would start next is not started (an error or a stop ended it).
    for (const t of tracks.values()) t.stopped = true;
  }
}

/** The scheduling of one machine's sessions (every machine's when `only` is not given). */
async function scheduleMachine(
  manager: SessionManager,
  o: ScheduleOptions,
  tracks: Map<string, Track>,
  only: string | undefined,
): Promise<void> {
  // A tab's end is written to its run directory by its wrapper: the next tab's slot is filled the moment
  // that happens, not at the next poll (review H78-3: `--max-parallel-tabs 1`, 20 tabs of 0.1 s took 45 s,
  // two seconds a tab, at the default --poll-seconds 2). The poll stays for what writes nothing there (a
  // tab killed outright, another machine's tabs).
  const local = () =>
    manager.managed.filter(
      (s) => (only === undefined || s.machine === only) && manager.hostOf(s.machine).id === "local",
    );
  let wake = watchRunDirs(local(), { settleMs: SETTLE_MS });
  const wait = async (ms: number) => {
    if (!wake.watchesAll(local())) {
      wake.close();
      wake = watchRunDirs(local(), { settleMs: SETTLE_MS });
    }
    await wake(ms, o.signal);
  };
  try {
    await scheduleLoop(manager, o, tracks, wait, () => wake.poke(), only);
  } finally {
    wake.close();
  }
}

async function scheduleLoop(
  manager: SessionManager,
  o: ScheduleOptions,
  tracks: Map<string, Track>,
  wait: (ms: number) => Promise<void>,
  poke: () => void,
  only: string | undefined,
) {
  const mine = () => manager.managed.filter((s) => only === undefined || s.machine === only);
  const track = (s: ManagedSession) => {
    let t = tracks.get(key(s));
    if (!t) {
      t = {
        ready: new Set(),
        failed: new Set(),
        closed: new Set(),
        failing: new Set(),
        since: new Map(),
        probes: new Map(),
        poke,
      };
      tracks.set(key(s), t);
    }
    return t;
  };
  for (;;) {
    if (o.signal?.aborted) return;
    const report = await manager.checkAllSessionsStatus({
      processes: false,
      ...(only === undefined ? {} : { machines: [only] }),
    });
    for (const s of mine()) {
      const st = report.sessions.find((x) => x.machine === s.machine && x.session === s.name);
      const reachable = report.machines.some((h) => h.machine === s.machine && h.reachable);
      if (st) await step(manager, s, st, reachable, track(s), o);
    }
    const pending = mine().some((s) => s.pendingTabs?.length && !track(s).gone);
    // A tab with a readiness condition is watched until it is ready or fails, dependants or not.
    const probing = mine().some((s) => {
      const st = report.sessions.find((x) => x.machine === s.machine && x.session === s.name);
      const t = track(s);
      return s.layout.layoutTabs.some((tab, i) => {
        const state = st?.tabs.find((x) => x.index === i && !x.pane)?.state;
        return tab.readiness && !t.ready.has(i) && !t.failed.has(i) && state !== undefined && LIVE.has(state);
      });
    });
    if (!pending && !probing && (!o.untilDone || report.summary.allFinished)) return;
    await wait(o.pollMs ?? 500);
  }
}

/** `p`, or nothing once `signal` is aborted first (`p` then goes on by itself; its listener is removed). */
async function unlessStopped<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (!signal) return p;
  let off = () => {};
  const stop = new Promise<undefined>((resolve) => {
    const h = () => resolve(undefined);
    signal.addEventListener("abort", h, { once: true });
    off = () => signal.removeEventListener("abort", h);
  });
  try {
    return await Promise.race([p, stop]);
  } finally {
    off();
  }
}

async function step(
  manager: SessionManager,
  s: ManagedSession,
  st: SessionStatus,
  reachable: boolean,
  t: Track,
  o: ScheduleOptions,
) {
  const tabs = s.layout.layoutTabs;
  // A readiness timeout is measured on the monotonic clock: a wall clock stepped forward (NTP, a resumed
  // VM) failed a healthy tab at once, closed it and skipped its dependants (review H25-3).
  const now = performance.now();
  // Gone (its machine answered: no server is an answer too): its held-back tabs stay not started, and
  // the final report says so.
  if (t.gone || (!st.exists && reachable)) {
    t.gone = true;
    return;
  }
  // Its machine did not answer this look (an ssh outage): nothing is decided or started until it does.
  if (!reachable) return;
  const finished = (x: TabStatus) => x.state === "exited" || x.state === "killed";
  // A pane without a command is an interactive shell the user asked for: it has no "finished" to close at.
  const interactive = (x: TabStatus) =>
    Boolean(x.pane) && tabs[x.index]?.panes?.[x.pane! - 1]?.command === undefined;
  const toClose = o.closeFinished
    ? st.tabs.filter((x) => x.ref && !t.closed.has(x.slot ?? x.index) && finished(x) && !interactive(x))
    : [];
  // A tab is its first pane (its own command): further panes are not what others depend on.
  const checks: Promise<void>[] = [];
  for (const tab of st.tabs.filter((x) => !x.pane)) {
    const i = tab.index;
    if (FAILED(tab)) t.failed.add(i);
    if (t.ready.has(i) || t.failed.has(i) || !(LIVE.has(tab.state) || tab.state === "exited")) continue;
    checks.push(readyCheck(manager, s, tab, t, now, o));
  }
  // Every tab's probe at once, each looked at for a moment: one slow readiness command held up every
  // other tab's probe and start, and its own timeout, by up to 15 s a look (review H67-5). A stop does
  // not wait for them: a probe ends by itself.
  if (o.signal?.aborted) return;
  await unlessStopped(Promise.all(checks), o.signal);
  if (o.signal?.aborted) return;
  // A tab that failed its readiness is closed before the next tab opens, so that no more than the cap
  // run at once (review HR82-6: its command ran beside the next one for up to 1.5 s); unless it holds the
  // session's last window: closing that would end the session, and every tab still waiting with it. Where
  // the waiting tabs are in the session already (zellij), they hold it open (review HR84-2).
  const held = manager.factory.capabilities.heldTabsOpen ? (s.pendingTabs?.length ?? 0) : 0;
  const windows = st.tabs.filter((x) => x.ref && !x.pane && !t.closed.has(x.slot ?? x.index));
  const failingNow = windows.filter((x) => t.failing.has(x.index) && LIVE.has(x.state));
  /** Close a tab's window (and end what its command left); it is not looked at again. */
  const close = async (tab: TabStatus) => {
    t.closed.add(tab.slot ?? tab.index);
    await manager.closeTab(tab.ref!, s.machine, { session: s, slot: tab.slot ?? tab.index }).catch(() => {});
  };
  // Still in `failing` until its window is seen gone: its slot (and its panes') stays free meanwhile.
  if (failingNow.length && windows.length + held > failingNow.length)
    for (const tab of failingNow) await close(tab);
  // Tabs, not panes: a tab with several panes takes one slot, as at the first start. One that failed its
  // readiness is being closed (or was just closed): its slot is free.
  let running = new Set(
    st.tabs.filter((x) => LIVE.has(x.state) && !t.failing.has(x.index)).map((x) => x.index),
  ).size;
  let opened = 0;
  const event = (i: number, type: "tab-started" | "tab-exited", more: Partial<McEvent> = {}) =>
    o.onEvent?.({
      type,
      time: new Date().toISOString(),
      machine: s.machine,
      session: s.name,
      tab: tabs[i]!.tabName,
      index: i,
      ...more,
    });
  for (const i of [...(s.pendingTabs ?? [])]) {
    // Taken off the list meanwhile (another command started it; this copy follows the record).
    if (!s.pendingTabs?.includes(i)) continue;
    // Started already, though still listed as waiting: its record says so (the answer to its start was
    // lost: ssh dropped after the remote command ran). Opening it again would run its command twice.
    const seen = st.tabs.find((x) => x.index === i && !x.pane);
    if (seen && seen.state !== "not-started" && seen.state !== "abandoned") {
      await manager.stopWaiting(s.name, i, s.machine);
      // Never started, but failed for good: a scheduler wrote its "a tab it depends on failed" record
      // and ended before it saved. Nothing started, nothing to say.
      if (seen.state === "skipped") {
        t.failed.add(i);
        continue;
      }
      event(i, "tab-started");
      continue;
    }
    const deps = (tabs[i]!.dependsOn ?? []).map((n) => tabs.findIndex((x) => x.tabName === n));
    const broken = deps.find((d) => t.failed.has(d));
    if (broken !== undefined) {
      await manager.failPendingTab(
        s.name,
        i,
        `not started: the tab it depends on ("${tabs[broken]!.tabName}") failed`,
        s.machine,
      );
      t.failed.add(i);
      event(i, "tab-exited", { exitCode: 125, reason: "dependency failed" });
      continue;
    }
    if (!deps.every((d) => t.ready.has(d))) continue;
    if (o.maxParallel !== undefined && running >= o.maxParallel) break;
    // Stopped (Ctrl-C, TERM) while this look was under way (a readiness probe takes seconds): nothing more
    // opens (review H67-2: a dependant opened after "stopped scheduling" was said).
    if (o.signal?.aborted) return;
    const started = await startOrGone(manager, s, i, t);
    if (started === "later" || !started) return;
    running++;
    opened++;
    event(i, "tab-started");
  }
  // Finished tabs close after the next ones opened: closing a session's last tab ends the session (and,
  // on tmux, a server with nothing else), so while tabs are still to come one finished tab stays.
  // A tab that failed its readiness is closed before a finished one: its command still runs. While tabs
  // wait and it holds the session's last window, it waits for the next tab to open.
  const failing = st.tabs.filter(
    (x) => x.ref && t.failing.has(x.index) && !x.pane && !t.closed.has(x.slot ?? x.index),
  );
  for (const x of st.tabs)
    if (t.failing.has(x.index) && !x.pane && (!x.ref || !LIVE.has(x.state))) t.failing.delete(x.index);
  const closing = [...failing, ...toClose];
  const open = st.tabs.filter((x) => x.ref && !t.closed.has(x.slot ?? x.index)).length + opened;
  // While tabs wait, one finished window stays open: a running tab is no keeper, since the user may close
  // its window (a stuck job) or its command its own pane, and with the last window the session and the
  // waiting tabs were gone (review HR82-2). Waiting tabs that are in the session already hold it open.
  const keepOne = s.pendingTabs?.length && !held && (toClose.length > 0 || open - closing.length < 1) ? 1 : 0;
  for (const tab of closing.slice(0, closing.length - keepOne)) {
    t.failing.delete(tab.index);
    await close(tab);
  }
}

/**
 * Start held-back tab `i`; false when the session turned out to be gone meanwhile (killed between the
 * look and the start): that is not an error of the run, the report shows the session as it ended;
 * "later" when its machine stopped answering (it is tried again once it answers).
 */
async function startOrGone(
  manager: SessionManager,
  s: ManagedSession,
  i: number,
  t: Track,
): Promise<boolean | "later"> {
  try {
    await manager.startTab(s.name, i, s.machine);
    return true;
  } catch (e) {
    // Its run directory is gone (deleted by hand): every tab opened now would lose its log and exit, and
    // recreate part of the directory (review H65-7). Scheduling stops; the tabs open run on.
    if (isMcError(e, "STATE_CORRUPT") && (e.details as { runDir?: unknown } | undefined)?.runDir) {
      const left = s.pendingTabs?.length ?? 0;
      throw new McError(
        "STATE_CORRUPT",
        `${e.reason}; stopped scheduling: ${left} tab(s) of ${JSON.stringify(s.name)} not started`,
        { backend: e.backend, op: "start", hint: e.hint, cause: e, details: e.details },
      );
    }
    const again = await manager.checkAllSessionsStatus({ processes: false }).catch(() => undefined);
    const st = again?.sessions.find((x) => x.machine === s.machine && x.session === s.name);
    const answered = again?.machines.some((h) => h.machine === s.machine && h.reachable);
    if (st && !st.exists && answered) {
      t.gone = true;
      return false;
    }
    // Its machine stopped answering: the tab stays waiting and is started once it answers again.
    if (again && !answered) return "later";
    throw e;
  }
}

/** A started tab becomes ready (its probe succeeds, or at once without one), or fails when out of time. */
async function readyCheck(
  manager: SessionManager,
  s: ManagedSession,
  tab: TabStatus,
  t: Track,
  now: number,
  o: ScheduleOptions,
) {
  const cfg = s.layout.layoutTabs[tab.index]!;
  const r = cfg.readiness;
  const emit = () =>
    o.onEvent?.({
      type: "tab-ready",
      time: new Date().toISOString(),
      machine: s.machine,
      session: s.name,
      tab: cfg.tabName,
      index: tab.index,
    });
  if (!r) {
    t.ready.add(tab.index);
    if (cfg.dependsOn !== undefined || s.layout.layoutTabs.some((x) => x.dependsOn?.includes(cfg.tabName)))
      emit();
    return;
  }
  if (!t.since.has(tab.index)) t.since.set(tab.index, now);
  const limit = (r.timeoutSeconds ?? DEFAULT_READINESS_TIMEOUT_S) * 1000;
  // The tab is probed again as soon as a probe says no (at most every PROBE_LOOK_MS): its probes follow
  // one another at their own pace, and each look reads the newest answer (review H76-1: a probe slower
  // than a look ran every other look, 1.7 s apart, and a condition true well within a 1.5 s timeout
  // failed it). They stop once the tab is ready or failed, or the scheduler is stopped.
  const i = tab.index;
  const launch = (): Probe => {
    const began = performance.now();
    const host = manager.hostOf(s.machine);
    const logPath = join(s.runDir, tabLogName(i));
    // A probe may run no longer than the tab has left (a `sleep 100` probe of a 1 s timeout failed after 21 s).
    const left = (limit - (began - t.since.get(i)!)) / 1000;
    const made: Probe = {
      answer: probeReadiness(host, r, {
        startDir: cfg.startDir,
        logPath,
        shell: cfg.shell,
        limitSeconds: left,
      })
        .catch(() => false)
        .then((ok) => {
          made.ok = ok;
          if (ok) t.poke();
          if (!ok) {
            const again = () => {
              const over = performance.now() - t.since.get(i)! >= limit;
              if (o.signal?.aborted || t.stopped || t.gone || t.ready.has(i) || t.failed.has(i) || over)
                return;
              if (t.probes.get(i) === made) t.probes.set(i, launch());
            };
            setTimeout(again, Math.max(0, PROBE_LOOK_MS - (performance.now() - began))).unref();
          }
          return ok;
        }),
    };
    return made;
  };
  let probe = t.probes.get(i);
  if (!probe) {
    probe = launch();
    t.probes.set(i, probe);
  }
  const ok = probe.ok ?? (await Promise.race([probe.answer, sleep(PROBE_LOOK_MS).then(() => undefined)]));
  if (ok) {
    t.ready.add(tab.index);
    emit();
    // For `sessions events` later: when it became ready (a tab without a probe is ready when it starts).
    await manager.noteTabReady(s.name, tab.index, s.machine).catch(() => {});
    return;
  }
  if (now - t.since.get(tab.index)! < limit) return;
  t.failed.add(tab.index);
  // Says so when a logMatches pattern was given up as too slow (review H67-4).
  await manager.noteTabError(s.name, tab.index, notReadyReason(r, limit / 1000), s.machine);
  if (tab.ref && manager.factory.capabilities.closeTab) t.failing.add(tab.index);
}
