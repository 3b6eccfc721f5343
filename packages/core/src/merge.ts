import { join } from "node:path";
import { McError } from "./errors.js";
import type { HostInfo } from "./host.js";
import { selfIdentity } from "./linux-proc.js";
import type { MachineRuntime } from "./machine-plan.js";
import { pollUntil, sleep } from "./poll.js";
import { type ManagedSession, notPending } from "./run-record.js";
import type { LayoutConfig, TabConfig } from "./schema.js";
import type { PreparedSession } from "./session-backend.js";
import { parseTabRecord, tabRecordName } from "./tab-record.js";

/** What applying a layout to a running session does to each of its tabs. */
export type TabAction = "create" | "keep" | "restart";

/** A layout applied to a running session: the merged layout and what happens to each tab. */
export interface MergePlan {
  /** The session as mc recorded it (its run, run directory and ownership marker stay). */
  old: ManagedSession;
  /**
   * The session's tabs after the merge: every tab that started keeps its place (its window, record and
   * log are numbered by it); the file's other tabs (waiting ones it still has, new ones) take the places
   * left, in the file's order.
   */
  layout: LayoutConfig;
  /** Per tab of `layout`. A waiting tab is `keep`; a tab the file adds is `create`, opened now or waiting. */
  actions: TabAction[];
  /**
   * The tabs of `layout` this run's scheduler opens (waiting ones, and added or restarted ones under a
   * cap), in order.
   */
  pending: number[];
  /** How many waiting tabs the file no longer has: none of them is started. */
  dropped: number;
  /** Their names, in the session's order (a dry run lists them). */
  droppedTabs: string[];
  /** Waiting tabs whose command or directory the file changed: they open with the file's. */
  renewed: number;
  /** Tabs that ran whose command or directory the file changed, kept as they ran (merge-skip). */
  stale: number;
}

/** How {@link planMerge} treats the session's tabs that never started. */
export interface MergeOptions {
  /**
   * The session's tabs that never started (its waiting tabs, less any its records or panes show started).
   * Default: its `pendingTabs`.
   */
  waiting?: ReadonlySet<number> | undefined;
  /**
   * Tabs the merge adds or restarts wait for this run's scheduler (`--max-parallel-tabs`) rather than open
   * at once (a restarted one is closed at once).
   */
  holdAdded?: boolean | undefined;
}

/** What a merge does, counted for the line that says it. */
export interface MergeCounts {
  added: number;
  restarted: number;
  /** Tabs that started before, left as they are. */
  kept: number;
  /** Tabs this run's scheduler opens (waiting ones, and added ones under `--max-parallel-tabs`). */
  waiting: number;
  /** Of `waiting`: tabs that never ran and open with the command the file gives now. */
  renewed: number;
  /** Waiting tabs the file no longer has: not started. */
  dropped: number;
  /** Of `kept`: tabs that ran whose command the file changed, kept with the old one (merge-skip). */
  stale: number;
}

const changed = (a: TabConfig, b: TabConfig) => a.command !== b.command || a.startDir !== b.startDir;

/**
 * Apply `wanted` to the running session `old` (tabs matched by name). A tab that started is kept, or with
 * `overwrite` restarted when its command or directory changed; one the new layout does not name is kept
 * too (it ran). A tab that never started (a waiting one) is planned from `wanted` alone: it opens with the
 * file's command under either policy, in the file's order, and not at all when the file no longer has it
 * (review H59-3: a deleted or renamed waiting tab still ran, a renamed one twice, and merge-skip ran a
 * waiting tab's old command). Tabs it lacks are added.
 */
export function planMerge(
  old: ManagedSession,
  wanted: LayoutConfig,
  overwrite: boolean,
  o: MergeOptions = {},
): MergePlan {
  // A tab's further panes are numbered after the session's last tab (their records and logs): a tab added
  // by a merge would take a pane's number, and each would read the other's record.
  const paned = [...old.layout.layoutTabs, ...wanted.layoutTabs].find((t) => t.panes?.length);
  if (paned)
    throw new McError(
      "USAGE",
      `--on-conflict merge-* cannot merge into session "${old.name}": tab "${paned.tabName}" has panes`,
      { backend: "core", op: "plan", hint: "use --on-conflict restart or rename for layouts with panes" },
    );
  const before = old.layout.layoutTabs;
  const waiting = o.waiting ?? new Set(old.pendingTabs ?? []);
  const never = (i: number) => waiting.has(i);
  // Started tabs keep their places; the places of tabs that never started are free.
  const tabs: (TabConfig | undefined)[] = before.map((t, i) => (never(i) ? undefined : t));
  const actions: (TabAction | undefined)[] = before.map((_, i) => (never(i) ? undefined : "keep"));
  const movable: { tab: TabConfig; action: TabAction }[] = [];
  const named = new Set<number>();
  let renewed = 0;
  let stale = 0;
  // A name the layout repeats (validate warns, run-all makes them) pairs by occurrence: the k-th tab of a
  // name with the k-th one that ran (review HR85-1: each took the first, which an unchanged file restarted
  // with another tab's command, and a waiting duplicate was dropped as "no longer in the file").
  const seen = new Map<string, number>();
  for (const t of wanted.layoutTabs) {
    const k = seen.get(t.tabName) ?? 0;
    seen.set(t.tabName, k + 1);
    let i = -1;
    for (let n = 0; n <= k; n++) {
      i = before.findIndex((x, j) => j > i && x.tabName === t.tabName);
      if (i < 0) break;
    }
    if (i < 0) movable.push({ tab: t, action: "create" });
    else if (never(i)) {
      named.add(i);
      if (changed(before[i]!, t)) renewed++;
      movable.push({ tab: t, action: "keep" });
    } else if (changed(before[i]!, t)) {
      // merge-skip keeps it as it ran, and says so (review H63-6: a rerun then ran the old command unsaid).
      if (!overwrite) stale++;
      else {
        tabs[i] = t;
        actions[i] = "restart";
      }
    }
  }
  const dropped = before.flatMap((t, i) => (never(i) && !named.has(i) ? [t] : []));
  const fixed = tabs.filter((t) => t !== undefined).length;
  const last = tabs.findLastIndex((t) => t !== undefined);
  const size = Math.max(fixed + movable.length, last + 1);
  const pending: number[] = [];
  let next = 0;
  for (let i = 0; i < size; i++) {
    if (tabs[i] !== undefined) continue;
    const m = movable[next++];
    if (!m) {
      // Fewer tabs than places below a tab that started (out of order: a rerun of a later waiting tab): a
      // place cannot be emptied, as every window, record and log is numbered by it. A tab kept there as
      // never started read as failed, rerun ran its old command and giving it back did not (review H63-2..4):
      // refused instead, nothing changed.
      const gone = before
        .flatMap((t, k) => (k < last && never(k) && !named.has(k) ? [`"${t.tabName}"`] : []))
        .join(", ");
      throw new McError(
        "USAGE",
        `cannot merge into session "${old.name}": the file drops waiting tab(s) ${gone}, and tab "${before[last]!.tabName}" after them has already started (its place is numbered)`,
        {
          backend: "core",
          op: "plan",
          hint: "keep those tabs in the file, or replace the session with --on-conflict restart; nothing was changed",
        },
      );
    }
    tabs[i] = m.tab;
    actions[i] = m.action;
    if (m.action === "keep" || o.holdAdded) pending.push(i);
  }
  // Under a cap, a restarted tab is closed at once and reopened by the scheduler when a slot is free, as
  // any waiting tab (review H63-6: merge-overwrite under --max-parallel-tabs was refused outright).
  if (o.holdAdded) {
    for (const [i, a] of actions.entries()) if (a === "restart") pending.push(i);
    pending.sort((x, y) => x - y);
  }
  tabs.length = size;
  actions.length = size;
  const done = actions as TabAction[];
  // Tabs are restarted one at a time while the others hold the session (applyMerge); a session of one tab
  // has nothing to hold it: closing that tab ends the session.
  if (done.length === 1 && done[0] === "restart")
    throw new McError(
      "USAGE",
      `--on-conflict merge-overwrite would restart the only tab of session "${old.name}", which closes the session`,
      { backend: "core", op: "plan", hint: "use --on-conflict restart to replace the whole session" },
    );
  return {
    old,
    layout: { ...old.layout, layoutTabs: tabs as TabConfig[] },
    actions: done,
    pending,
    dropped: dropped.length,
    droppedTabs: dropped.map((t) => t.tabName),
    renewed,
    stale,
  };
}

/** What `plan` does, counted (see {@link MergeCounts}). */
export function mergeCounts(plan: MergePlan): MergeCounts {
  const n = (a: TabAction) => plan.actions.filter((x) => x === a).length;
  const held = new Set(plan.pending);
  return {
    added: n("create"),
    restarted: n("restart"),
    kept: plan.actions.filter((a, i) => a === "keep" && !held.has(i)).length,
    // A restarted tab held for a slot is counted restarted.
    waiting: plan.pending.filter((i) => plan.actions[i] !== "restart").length,
    renewed: plan.renewed,
    stale: plan.stale,
    dropped: plan.dropped,
  };
}

/** Merging needs a backend that opens tabs later (and, to restart one, closes a tab). */
export function checkMergeable(m: MachineRuntime, name: string, overwrite: boolean): void {
  const caps = m.backend.capabilities;
  const missing = !caps.addTabsLater ? "addTabsLater" : overwrite && !caps.closeTab ? "closeTab" : undefined;
  if (!missing) return;
  throw new McError(
    "USAGE",
    `${m.backend.name} cannot merge a layout into session "${name}" (capability "${missing}")`,
    {
      backend: m.backend.name,
      op: "start",
      hint: "use --on-conflict restart or rename with this backend",
    },
  );
}

/**
 * Carry out a merge on the running session: its regenerated artefacts are already written (the tab
 * wrapper is replaced atomically, so tabs still running keep the one they started with). Restarted tabs
 * are closed, their record kept as `tab-<i>.prev-<time>.json`, and opened again; new tabs are opened.
 */
export async function applyMerge(
  m: MachineRuntime,
  p: PreparedSession,
  plan: MergePlan,
  info: HostInfo,
  /**
   * Records the merged session: called before any tab is opened or closed, and again as each restarted
   * tab takes its new command.
   */
  record?: (session: ManagedSession) => Promise<void>,
): Promise<ManagedSession> {
  const { savedIn: _, ...data } = plan.old.data ?? {};
  const { scheduler: _dead, pendingTabs: _waited, tabErrors, ...old } = plan.old;
  const held = new Set(plan.pending);
  // What was said of a tab stays with its place only where that tab started (the others moved or left).
  const errors = Object.fromEntries(Object.entries(tabErrors ?? {}).filter(([i]) => !held.has(Number(i))));
  // This run schedules what waits now (the run that did may have ended: its tabs read abandoned).
  const scheduler = plan.pending.length ? selfIdentity() : undefined;
  const session: ManagedSession = {
    ...old,
    ...(plan.pending.length ? { pendingTabs: [...plan.pending] } : {}),
    ...(scheduler ? { scheduler } : {}),
    ...(Object.keys(errors).length ? { tabErrors: errors } : {}),
    data,
    // A tab being restarted is recorded as it ran until its old attempt is closed and its record moved: a
    // merge killed in between left the old attempt's record (its pid, log and end) under the new command,
    // and the next merge, finding the command unchanged, kept a tab that no longer ran (review H65-1).
    layout: {
      ...plan.layout,
      layoutTabs: plan.layout.layoutTabs.map((t, i) =>
        plan.actions[i] === "restart" ? (plan.old.layout.layoutTabs[i] ?? t) : t,
      ),
    },
    artefacts: p.artefacts.map((a) => a.path),
  };
  // Recorded with the new layout before a tab changes: an end between a tab's opening and the record
  // (Ctrl-C's second press, a kill -9) left a tab no record knew, so no status, kill sweep or rerun
  // reached it (review H35-4). A tab not opened yet reads as not running, which it is not.
  await record?.(session);
  // New tabs first, then each restarted tab closed and opened again in turn: the session always holds a
  // window (closing every old one first ended a session whose tabs all changed). A new tab held for the
  // scheduler (`--max-parallel-tabs`) is opened by it.
  for (const [i, a] of plan.actions.entries())
    if (a === "create" && !held.has(i)) {
      await m.backend.startTab!(session, i, info);
      notPending(session, i);
    }
  // Those restarted at once first: one of them may be what holds the session while the others close.
  const restart = plan.actions
    .flatMap((a, i) => (a === "restart" ? [i] : []))
    .sort((x, y) => Number(held.has(x)) - Number(held.has(y)) || x - y);
  if (restart.length) {
    const [obs] = await m.backend.observe([plan.old]);
    // Windows still open: a held restart is only closed (the scheduler reopens it), unless its window is
    // the session's last one, which closing would end: then it is reopened at once (it is the one tab
    // running, within any cap).
    let open = new Set([...(obs?.panes.values() ?? [])].flatMap((x) => (x.ref ? [x.ref] : []))).size;
    open += plan.actions.filter((a, i) => a === "create" && !held.has(i)).length;
    for (const i of restart) {
      const rec = join(session.runDir, tabRecordName(i));
      const pid = parseTabRecord(await m.host.readFile(rec))?.pid;
      const ref = obs?.panes.get(i)?.ref;
      const later = held.has(i) && (!ref || open > 1);
      if (ref && later) open--;
      if (ref) await m.backend.closeTab!(ref);
      // The closed tab's wrapper writes its last record as it dies: wait for it, so it cannot land on the
      // new tab's record.
      if (pid !== undefined) {
        await pollUntil(async () => ((await m.host.processTrees([pid])).has(pid) ? undefined : true), {
          timeoutMs: 3000,
          onTimeout: () =>
            new McError("TIMEOUT", `tab ${i} of "${session.name}" did not close`, {
              backend: m.backend.name,
            }),
        });
      }
      // Its recorder writes the end a moment after the wrapper is gone (the last process with the tab's
      // marker): the record is moved once it says the end, or an end written after the move landed on the
      // new tab's record, which then read killed (a CI run of tmux-real under load). A wrapper killed outright
      // writes none: not waited for past 3 s.
      let text = await m.host.readFile(rec);
      for (const until = performance.now() + 3000; text !== undefined && performance.now() < until; ) {
        if (parseTabRecord(text)?.end !== undefined) break;
        await sleep(50);
        text = await m.host.readFile(rec);
      }
      if (text !== undefined) {
        await m.host.writeFile(rec.replace(/\.json$/, `.prev-${Date.now()}.json`), text);
        await m.host.remove(rec);
      }
      // Closed, its record kept as an attempt: from here it is the new tab, not started yet (a merge ended
      // here opens it next time, as a tab with neither pane nor record).
      session.layout.layoutTabs[i] = plan.layout.layoutTabs[i]!;
      await record?.(session);
      if (later) continue;
      // In its old place: before the next tab still open (a later restarted one is still its old window).
      const next = [...(obs?.panes.entries() ?? [])]
        .filter(([j, p]) => j > i && p.ref !== undefined)
        .sort(([x], [y]) => x - y)[0]?.[1].ref;
      await m.backend.startTab!(session, i, info, next ? { before: next } : {});
      notPending(session, i);
    }
  }
  return session;
}
