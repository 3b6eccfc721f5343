import { join } from "node:path";
import { type ErrorCode, isMcError } from "./errors.js";
import type { Host, ProcessNode } from "./host.js";
import { localUptimeCs, processEnded } from "./linux-proc.js";
import { sleep } from "./poll.js";
import type { ManagedSession } from "./run-record.js";
import type { SessionBackend, SessionObservation, StatusOptions } from "./session-backend.js";
import { type Slot, sessionSlots } from "./slots.js";
import { type SessionStatus, summarizeSession, type TabStatus } from "./status.js";
import { parseTabRecord, type TabRecord, tabRecordName } from "./tab-record.js";
import { decideTabState, isRecordedProcess, type ProcessEvidence, type TabEvidence } from "./tab-state.js";
import { tabsLeftRunning } from "./tab-sweep.js";

/**
 * Tab records read so far, per machine. A record with an end never changes, so it is never read again;
 * one without an end is read again only when the pane says its command may have ended.
 */
export type RecordCache = Map<string, TabRecord>;

const recordKey = (s: ManagedSession, index: number) => `${s.runDir}\u0000${index}`;

/** Forget what was read of tab `index`'s record (it was archived: a rerun writes a new one). */
export function forgetRecord(cache: RecordCache, s: ManagedSession, index: number): void {
  cache.delete(recordKey(s, index));
}

/** What one poll of one machine gathered besides the backend's observations. */
interface Gathered {
  observations: (SessionObservation | undefined)[];
  error: string | undefined;
  /** The error code of a failed observation (BINARY_NOT_FOUND: the tool is not installed). */
  code: ErrorCode | undefined;
  trees: Map<number, ProcessNode[]> | undefined;
  /** Run directories found missing this poll (of sessions with a command whose record was not read). */
  lostDirs: Set<string>;
  /** Tab records (their cache keys) read this poll that are there but cannot be read as one (damaged). */
  damaged: Set<string>;
  /**
   * Each session's waiting tabs as they were before the tool was asked: a tab the scheduler opens during
   * the poll (in this process, on the same session object) is judged by the observation made before it
   * opened, as still waiting, not as a scheduled tab with no pane (review H59-1: the run's own monitor read
   * it `missing`, said tab-killed, and counted it failed).
   */
  pending: Set<number>[];
  /** This machine's uptime (1/100 s) when asked, where the tabs run here and it has /proc; else undefined. */
  uptimeCs: number | undefined;
}

/** Whether tab `index` of a session needs its record read in this poll. */
function needsRead(
  cache: RecordCache,
  s: ManagedSession,
  index: number,
  obs: SessionObservation | undefined,
) {
  const cached = cache.get(recordKey(s, index));
  if (cached?.end !== undefined) return false;
  if (!cached) return true;
  const pane = obs?.panes.get(index);
  // A pane of another wrapper than the record's (respawned, reopened): what it wrote is read again.
  const replaced = pane?.pid !== undefined && pane.pid !== cached.pid;
  return !pane?.alive || replaced || pane.exitStatus !== undefined || Boolean(obs?.noPaneEvidence);
}

/**
 * A tab whose pane runs another wrapper than the one its finished record names (a kept shell keeps its
 * wrapper's pid). Before this poll reads records, such a record is forgotten so it is read again (a merge
 * may have replaced the tab). Once read this poll (`fresh`), it is forgotten, the tab reading from its pane
 * until the new wrapper's record is there, only when the pane is a later attempt than the record (a rerun
 * from another terminal opened it): a pane whose wrapper refused to run the tab again (a respawn, a
 * resurrection) never writes a record, and its tab is what the record says (review H24-1: it read pending
 * for ever). Backends that cannot tell a pane's attempt (zellij, which reruns no tab) keep the record.
 */
function forgetReplaced(
  cache: RecordCache,
  sessions: readonly ManagedSession[],
  observations: readonly (SessionObservation | undefined)[],
  fresh: boolean,
) {
  sessions.forEach((s, si) => {
    for (const [index, pane] of observations[si]?.panes ?? []) {
      const rec = cache.get(recordKey(s, index));
      if (rec?.end === undefined || !pane.alive || pane.pid === undefined || pane.pid === rec.pid) continue;
      if (!fresh || (pane.attempt !== undefined && pane.attempt > (rec.attempt ?? 1)))
        cache.delete(recordKey(s, index));
    }
  });
}

async function readRecords(
  host: Host,
  cache: RecordCache,
  wanted: { s: ManagedSession; index: number }[],
  damaged: Set<string>,
) {
  await Promise.all(
    wanted.map(async ({ s, index }) => {
      const path = join(s.runDir, tabRecordName(index));
      const key = recordKey(s, index);
      const text = await host.readFile(path).catch(() => undefined);
      if (keepRecord(cache, key, text)) return;
      // Not a record, yet a file is there (not JSON, empty, a FIFO, a device, too large to be one): damaged
      // (reviews H65-6, H72-5: it read `pending`, with no word of it). The wrapper writes its first record in
      // place, so one caught mid-write is read again a moment later before it is called damaged.
      if (!text && (await host.stat(path).catch(() => undefined)) !== "file") return;
      await sleep(50);
      if (!keepRecord(cache, key, await host.readFile(path).catch(() => undefined))) damaged.add(key);
    }),
  );
}

/** A tab record read: kept when it is one (true). */
function keepRecord(cache: RecordCache, key: string, text: string | undefined): boolean {
  const rec = parseTabRecord(text);
  if (rec) cache.set(key, rec);
  return rec !== undefined;
}

/**
 * Observe the sessions and read what can have changed. On a host that coalesces (ssh), the observation,
 * every run directory and the process snapshot travel in one round trip; locally a record is read only
 * when it can have changed.
 */
async function gather(
  backend: SessionBackend,
  cache: RecordCache,
  sessions: readonly ManagedSession[],
  opts: StatusOptions,
): Promise<Gathered> {
  const host = backend.host;
  const open = sessions.filter((s) =>
    slotNumbers(s).some((i) => cache.get(recordKey(s, i))?.end === undefined),
  );
  let error: string | undefined;
  let code: ErrorCode | undefined;
  // Before the observation: a tab's window is opened before it leaves `pendingTabs`.
  const pending = sessions.map((s) => new Set(s.pendingTabs ?? []));
  const [observations, dirs] = await Promise.all([
    backend.observe(sessions).catch((e: unknown) => {
      error = e instanceof Error ? e.message.replace(/^\[mc\]( \[[^\]]*\])?( \w+:)? /, "") : String(e);
      code = isMcError(e) ? e.code : undefined;
      return sessions.map(() => undefined);
    }),
    host.coalesces ? Promise.all(open.map((s) => host.readDir(s.runDir).catch(() => undefined))) : [],
  ]);
  const lostDirs = new Set<string>();
  const damaged = new Set<string>();
  for (const [k, dir] of dirs.entries()) {
    const s = open[k]!;
    // A run directory always holds the session's script and command files: none at all is none there.
    if (dir?.size === 0 && s.runDir) lostDirs.add(s.runDir);
    for (const i of slotNumbers(s)) keepRecord(cache, recordKey(s, i), dir?.get(tabRecordName(i)));
  }
  forgetReplaced(cache, sessions, observations, Boolean(host.coalesces));
  if (!host.coalesces) {
    const wanted = sessions.flatMap((s, si) =>
      slotNumbers(s).flatMap((index) => (needsRead(cache, s, index, observations[si]) ? [{ s, index }] : [])),
    );
    await readRecords(host, cache, wanted, damaged);
  }
  // A new wrapper that had not written its record yet: its pane speaks for it.
  forgetReplaced(cache, sessions, observations, true);
  // A command with no record: not started yet, or its run directory is gone (deleted by hand), when no
  // record will ever say how it runs (review H55-3: it read pending for ever). Asked only then.
  if (!host.coalesces)
    await Promise.all(
      sessions.map(async (s) => {
        if (!s.runDir || slotNumbers(s).every((i) => cache.has(recordKey(s, i)))) return;
        if ((await host.stat(s.runDir).catch(() => "dir")) !== "dir") lostDirs.add(s.runDir);
      }),
    );
  const pids = new Set<number>();
  sessions.forEach((s, si) => {
    const obs = observations[si];
    slotNumbers(s).forEach((index) => {
      const rec = cache.get(recordKey(s, index));
      const pane = obs?.panes.get(index);
      // Without pane evidence the recorded wrapper's own process is the only sign its tab is still open
      // (a shell kept after the command): it is looked up even after the command ended.
      if (rec && (rec.end === undefined || obs?.noPaneEvidence) && (!pane?.alive || opts.processes !== false))
        pids.add(rec.pid);
      if (pane?.alive && pane.pid !== undefined && opts.processes !== false) pids.add(pane.pid);
    });
  });
  // A remote host that did not answer the observation will not answer this either.
  // Nor is a machine whose tool is not installed asked about processes: mc could not look at its sessions
  // at all, so its open tabs read unknown, not running on a wrapper's pid alone (review H50-12).
  const trees =
    pids.size === 0
      ? new Map<number, ProcessNode[]>()
      : (error !== undefined && host.coalesces) || code === "BINARY_NOT_FOUND"
        ? undefined
        : await host.processTrees([...pids]).catch(() => undefined);
  const uptimeCs = host.id === "local" ? localUptimeCs() : undefined;
  return { observations, error, code, trees, lostDirs, damaged, pending, uptimeCs };
}

/** Whether the process a record names still runs (the same process: start time checked). */
function recordedAlive(rec: TabRecord, g: Gathered): ProcessEvidence {
  if (!g.trees) return "unknown";
  const root = g.trees.get(rec.pid)?.[0];
  return root && isRecordedProcess(rec, root) ? "alive" : "dead";
}

function processOf(rec: TabRecord | undefined, g: Gathered): ProcessEvidence {
  if (!rec || rec.end !== undefined) return "dead";
  return recordedAlive(rec, g);
}

function evidence(
  s: ManagedSession,
  slot: Slot,
  cache: RecordCache,
  g: Gathered,
  si: number,
  schedulerEnded: () => boolean,
): TabEvidence {
  const obs = g.observations[si];
  const rec = cache.get(recordKey(s, slot.slot));
  const pane = obs?.panes.get(slot.slot);
  const scheduled = !g.pending[si]?.has(slot.tab);
  return {
    scheduled,
    ...(!scheduled && schedulerEnded() ? { schedulerEnded: true } : {}),
    ...(pane ? { pane } : {}),
    ...(obs?.noPaneEvidence ? { noPaneEvidence: true } : {}),
    ...(rec ? { record: rec } : {}),
    process: processOf(rec, g),
    unreachable: Boolean(g.error),
    ...(obs?.startingUntil === undefined ? {} : { startingUntil: obs.startingUntil }),
    ...(g.uptimeCs === undefined ? {} : { uptimeCs: g.uptimeCs }),
  };
}

/**
 * One status row per command: a tab, or each pane of a tab that has several (`pane` then numbers them,
 * 0 being the tab's own command), in the layout's order.
 */
function tabsOf(s: ManagedSession, si: number, cache: RecordCache, g: Gathered, now: number): TabStatus[] {
  const slots = sessionSlots(s.layout).sort((a, b) => a.tab - b.tab || a.pane - b.pane);
  // Whether the run that is to start the waiting tabs has ended: asked once per session and poll.
  let ended: boolean | undefined;
  const schedulerEnded = () => (ended ??= s.scheduler ? processEnded(s.scheduler) === true : false);
  return slots.map((slot): TabStatus => {
    const t = s.layout.layoutTabs[slot.tab]!;
    const outcome = decideTabState(evidence(s, slot, cache, g, si, schedulerEnded), now);
    const live = outcome.state === "running" || outcome.state === "pending";
    const pane = g.observations[si]?.panes.get(slot.slot);
    // A live pane shows its processes even after the command ended (the shell kept in the tab).
    const root = pane?.alive && pane.pid !== undefined ? pane.pid : live ? outcome.pid : undefined;
    const processes = root === undefined ? [] : (g.trees?.get(root) ?? []);
    // Its run directory is gone: what no record says is not known (the tool's own exit status still is).
    const lost = g.lostDirs.has(s.runDir) && !cache.has(recordKey(s, slot.slot));
    if (lost) {
      if (outcome.state === "pending") outcome.state = "unknown";
      outcome.error = `its run directory ${s.runDir} is missing: no record says how its command runs or ended`;
    }
    // Its record is there but damaged: how its command runs or ended is not known from it.
    const damaged = !lost && g.damaged.has(recordKey(s, slot.slot)) && !cache.has(recordKey(s, slot.slot));
    if (damaged) {
      if (outcome.state === "pending") outcome.state = "unknown";
      outcome.error = `its record ${join(s.runDir, tabRecordName(slot.slot))} is damaged (not a record mc wrote): no record says how its command runs or ended`;
    }
    const note = lost || damaged ? undefined : slot.pane === 0 ? s.tabErrors?.[String(slot.tab)] : undefined;
    const command = slot.pane === 0 ? t.command : (t.panes![slot.pane - 1]!.command ?? "");
    return {
      index: slot.tab,
      ...(t.panes?.length ? { pane: slot.pane } : {}),
      ...(slot.slot === slot.tab ? {} : { slot: slot.slot }),
      tabName: t.tabName,
      command,
      ...outcome,
      ...(note ? { error: note } : {}),
      // A note is mc's own word that the tab failed: a readiness given up (a skipped tab says so itself).
      ...(note && outcome.state !== "skipped" ? { notReady: true as const } : {}),
      processes,
    };
  });
}

/** The slot numbers of a session's commands (its tabs, then their further panes). */
function slotNumbers(s: ManagedSession): number[] {
  return sessionSlots(s.layout).map((x) => x.slot);
}

/** Whether a session's record says a `sessions run` that is still alive (not this process) is starting it. */
export function startingNow(s: ManagedSession): boolean {
  const by = s.starting?.by;
  return by !== undefined && by.pid !== process.pid && processEnded(by) === false;
}

/**
 * Status of one machine's managed sessions: the backend observes, core reads the tab records and the
 * process table, and {@link decideTabState} decides every tab. A tab that reads `missing` because its
 * wrapper died without an end record is usually one that was just hung up (its recorder writes the end
 * a few milliseconds later): its record is read once more before it is called missing.
 */
export async function pollSessions(
  backend: SessionBackend,
  machine: string,
  cache: RecordCache,
  sessions: readonly ManagedSession[],
  opts: StatusOptions = {},
): Promise<{ sessions: SessionStatus[]; error?: string; code?: ErrorCode }> {
  if (sessions.length === 0) return { sessions: [] };
  const asked = opts.since ?? performance.now();
  const g = await gather(backend, cache, sessions, opts);
  let now = Date.now();
  let tabs = sessions.map((s, si) => tabsOf(s, si, cache, g, now));
  // Looked for before a missing tab's record is read again: a recorder writes its end just before it, the
  // last process with the tab's marker, exits, so a look that finds none is followed by a read that finds
  // the end (the other order read `missing` for a moment between the two: seen in CI).
  const orphans = g.error ? [] : await findOrphans(backend.host, sessions, tabs, g.observations, asked);
  const late = sessions.flatMap((s, si) =>
    tabs[si]!.flatMap((t) => {
      const slot = t.slot ?? t.index;
      return t.state === "missing" && !orphans[si]?.has(slot) && cache.get(recordKey(s, slot))
        ? [{ s, index: slot }]
        : [];
    }),
  );
  if (late.length && !g.error) {
    await sleep(200);
    await readRecords(backend.host, cache, late, g.damaged);
    now = Date.now();
    tabs = sessions.map((s, si) => tabsOf(s, si, cache, g, now));
  }
  const statuses = sessions.map((s, si): SessionStatus => {
    const obs = g.observations[si];
    // Being started by a live `sessions run` (its record says so, before the session is made): not
    // gone, its tabs not yet started (review H37-7: kill said "already gone", wait a failure, ls --prune
    // removed its run directory mid-start).
    const starting = startingNow(s) && !obs?.exists;
    // Its start ended (the run was killed) and the session is not there: a tab with no record never ran.
    // Not `missing` ("the tab is gone"): the run that was to start it ended first, as for a waiting tab
    // whose scheduler ended (review H51-6: a run killed before zellij made the session read "tab gone").
    const by = s.starting?.by;
    const neverMade = !starting && !obs?.exists && by !== undefined && processEnded(by) === true;
    const t = starting
      ? tabs[si]!.map((x) => (x.state === "missing" ? { ...x, state: "pending" as const } : x))
      : neverMade
        ? tabs[si]!.map((x) =>
            x.state === "missing" && !cache.get(recordKey(s, x.slot ?? x.index))
              ? {
                  ...x,
                  state: "abandoned" as const,
                  error: `never started: the sessions run that was starting its session (pid ${by.pid}) ended before the session was made`,
                }
              : x,
          )
        : tabs[si]!;
    // Without pane evidence a session exists while a tab runs or starts, or while a recorded wrapper
    // still holds its tab open after the command ended (Windows Terminal with a kept shell). So where the
    // tool did not answer (review H27-4: it read "exists": false while its tab ran).
    const open = (i: number) => {
      const rec = cache.get(recordKey(s, i));
      return rec !== undefined && recordedAlive(rec, g) === "alive";
    };
    const exists = starting
      ? true
      : obs?.noPaneEvidence || (g.error !== undefined && obs === undefined)
        ? t.some((x) => x.state === "running" || x.state === "pending") || slotNumbers(s).some((i) => open(i))
        : Boolean(obs?.exists);
    // A server not up yet is no news about a session still starting.
    const error = g.error ?? (starting ? undefined : obs?.error);
    return {
      session: s.name,
      machine,
      backend: backend.name,
      host: backend.host.id,
      exists,
      tabs: t,
      summary: summarizeSession(t, exists),
      ...(error ? { error } : {}),
      ...(g.lostDirs.has(s.runDir) ? { runDirMissing: true as const } : {}),
    };
  });
  if (!g.error) await applyOrphans(backend.host, statuses, orphans, now);
  if (!g.error) return { sessions: statuses };
  return { sessions: statuses, error: g.error, ...(g.code ? { code: g.code } : {}) };
}

/**
 * A tab that reads `missing` (its pane is gone, no end recorded) whose command still runs: a command that
 * ignores the hang-up lives on after its tab or its tmux server was killed (review H55-1). It is not
 * finished: it reads `running`, with what runs and how to end it. The processes are found by the tab's
 * marker, as `kill` finds them, and only for such tabs: a status of tabs that read anything else looks at
 * no more processes than before. Not where the tool lists no panes (Windows Terminal): there the wrapper's
 * own process says whether a tab runs, and its processes carry no marker /proc shows.
 */
async function findOrphans(
  host: Host,
  sessions: readonly ManagedSession[],
  tabs: readonly TabStatus[][],
  observations: readonly (SessionObservation | undefined)[],
  /** When this status began asking (`performance.now()`). */
  asked: number,
): Promise<(Map<number, number[]> | undefined)[]> {
  return Promise.all(
    sessions.map(async (s, si) => {
      if (observations[si]?.noPaneEvidence || !s.runDir) return undefined;
      const slots = tabs[si]!.filter(mayLiveOn).map((t) => t.slot ?? t.index);
      if (!slots.length) return undefined;
      return tabsLeftRunning(host, s, slots, asked).catch(() => undefined);
    }),
  );
}

/**
 * A tab whose command may run on without it: its pane is gone with no end recorded (`missing`), or its
 * wrapper recorded the hang-up as the end (`killed` SIGHUP): the hang-up reaches the command too, but a
 * command that ignores it runs on (review H64-1: a closed zellij pane read killed, finished, while its
 * command ran; `wait` and `run -m` counted it done). Not a hang-up while its pane is still there (the tool
 * gave its `ref`): that killed the command itself (`kill -HUP`), and the shell `--exit shell` keeps in the
 * pane, which carries the tab's marker, is no command running on (review HR88-2: it read running for
 * ever, and `run -m` and `wait` never returned).
 */
const mayLiveOn = (t: TabStatus) =>
  t.state === "missing" || (t.state === "killed" && t.signal === "SIGHUP" && t.ref === undefined);

/** The tabs {@link findOrphans} found running on outside their tab (see {@link mayLiveOn}): `running`, with why. */
async function applyOrphans(
  host: Host,
  statuses: SessionStatus[],
  orphans: readonly (Map<number, number[]> | undefined)[],
  now: number,
): Promise<void> {
  await Promise.all(
    statuses.map(async (x, si) => {
      const left = orphans[si];
      if (!left?.size) return;
      const pids = [...left.values()].flat();
      const trees = await host.processTrees(pids).catch(() => undefined);
      x.tabs = x.tabs.map((t) => {
        const found = left.get(t.slot ?? t.index);
        if (!mayLiveOn(t) || !found) return t;
        const { exitCode: _c, signal: _s, endedAt: _e, ...rest } = t;
        return {
          ...rest,
          state: "running" as const,
          pid: found[0]!,
          orphans: found,
          ...(t.startedAt === undefined ? {} : { runtimeMs: Math.max(0, now - t.startedAt) }),
          error: `its tab is gone, but its command runs on outside it (pid ${found.join(", ")}); a kill of its session ends it`,
          processes: found.flatMap((p) => trees?.get(p)?.slice(0, 1) ?? []),
        };
      });
      x.summary = summarizeSession(x.tabs, x.exists);
    }),
  );
}

/** A session on a machine that did not answer: every tab `unknown`, with why. */
export function unknownStatus(
  s: ManagedSession,
  m: { backend: { name: string }; host: { id: string } },
  error: string,
): SessionStatus {
  const tabs = s.layout.layoutTabs.map((t, index) => ({
    index,
    tabName: t.tabName,
    command: t.command,
    state: "unknown" as const,
    processes: [],
  }));
  return {
    session: s.name,
    machine: s.machine,
    backend: m.backend.name,
    host: m.host.id,
    exists: false,
    tabs,
    summary: summarizeSession(tabs, false),
    error,
  };
}
