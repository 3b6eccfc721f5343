import { join } from "node:path";
import { type ConflictPolicy, planSessionNames } from "./conflict.js";
import { isMcError, McError } from "./errors.js";
import type { Host, HostInfo } from "./host.js";
import { processEnded } from "./linux-proc.js";
import { checkMergeable, type MergePlan, mergeCounts, planMerge } from "./merge.js";
import type { ManagedSession } from "./run-record.js";
import type { LayoutConfig } from "./schema.js";
import type {
  ExitMode,
  ListedSession,
  PreparedSession,
  SessionBackend,
  SessionSpec,
} from "./session-backend.js";
import { hookArtefacts } from "./session-hooks.js";
import { resolveLayouts } from "./start-dirs.js";
import { tabRecordName } from "./tab-record.js";

/** One machine of a run, as the manager holds it. */
export interface MachineRuntime {
  readonly name: string;
  readonly host: Host;
  readonly backend: SessionBackend;
  readonly layouts: readonly LayoutConfig[];
}

/** What to do about start directories that do not exist on the machine. */
export type MissingDirsPolicy = "error" | "create" | "skip";

/** What planning needs besides the machine. */
export interface PlanContext {
  runId: string;
  sessionNamePrefix: string | undefined;
  keepShell: boolean;
  exitMode: ExitMode;
  info: HostInfo;
  onConflict: ConflictPolicy;
  initialTabs?: number | undefined;
  /** What relative start directories are relative to on this machine. */
  baseDir: string;
  missingDirs: MissingDirsPolicy;
  /** Layouts earlier batches of this run asked for (`run -p`): a repeat of one of their names is a repeat. */
  earlier?: readonly LayoutConfig[] | undefined;
  /** The saved record of a session mc started in another run (for restart and merge). */
  previous?: ((listed: ListedSession) => Promise<ManagedSession | undefined>) | undefined;
}

/** A machine's plan: the prepared sessions, what the tool listed, and what the user should know. */
export interface MachinePlan {
  prepared: PreparedSession[];
  listed: ListedSession[];
  warnings: string[];
  /** For each prepared session (by position) merged into a running one: how. */
  merges: Map<number, MergePlan>;
  /** Missing start directories `--missing-dirs create` makes when the run starts (not in a dry run). */
  create?: string[];
}

/** How a layout applies to the running session of its name (the merge policies). */
async function mergePlanOf(m: MachineRuntime, c: PlanContext, listed: ListedSession[], spec: SessionSpec) {
  const overwrite = c.onConflict === "merge-overwrite";
  checkMergeable(m, spec.name, overwrite);
  const key = m.backend.sessionKey(spec.name);
  const l = listed.find((s) => listedKeys(m.backend, s).includes(key)) ?? { name: spec.name };
  const old = await c.previous?.(l).catch((e: unknown) => {
    if (!isMcError(e, "STATE_CORRUPT")) throw e;
    throw new McError(
      "STATE_CORRUPT",
      `session ${JSON.stringify(spec.name)} is mc's, but its run record could not be read (${e.reason}): there is nothing to merge into`,
      {
        backend: m.backend.name,
        op: "start",
        hint: "repair the record, or remove it (sessions ls --prune removes one mc wrote) and restart the session with --on-conflict restart",
        cause: e,
      },
    );
  });
  if (!old) {
    throw new McError(
      "SESSION_CONFLICT",
      `session "${spec.name}" is mc's, but its run record is gone: there is nothing to merge into`,
      {
        backend: m.backend.name,
        op: "start",
        hint: "use --on-conflict restart to replace it, or rename",
      },
    );
  }
  // Its waiting tabs belong to the run that started it while that run lives: a second scheduler would
  // start each of them again.
  const s = old.scheduler;
  if (old.pendingTabs?.length && s && s.pid !== process.pid && processEnded(s) === false) {
    throw new McError(
      "SESSION_CONFLICT",
      `session "${spec.name}" still has ${old.pendingTabs.length} tab(s) waiting for the sessions run that started it (pid ${s.pid}, still running): merging now would start them twice`,
      {
        backend: m.backend.name,
        op: "start",
        hint: `wait until that run has started them, or stop it (kill ${s.pid}) and merge again: its waiting tabs then read abandoned and the merge starts them`,
      },
    );
  }
  const seen = await tabsSeen(m, old);
  // A waiting tab its record or pane shows started (the answer to its start was lost) ran: it is kept.
  const waiting = new Set(
    (old.pendingTabs ?? []).filter((i) => !seen.records.has(tabRecordName(i)) && !seen.panes?.has(i)),
  );
  const plan = planMerge(old, spec.layout, overwrite, { waiting, holdAdded: c.initialTabs !== undefined });
  return keepAWindow(openNeverStarted(plan, seen), seen, m.backend.name);
}

/**
 * What shows which of a session's tabs opened: its tab records, and the panes the tool lists (undefined
 * where the tool could not say for sure: no answer, no pane list as on Windows Terminal, or no pane at all,
 * which is a session ending or unseen, not one whose tabs never opened).
 */
async function tabsSeen(m: MachineRuntime, old: ManagedSession) {
  const [[obs], records] = await Promise.all([m.backend.observe([old]), m.host.readDir(old.runDir)]);
  const sure = obs?.exists && !obs.noPaneEvidence && obs.error === undefined && obs.panes.size > 0;
  return { records, panes: sure ? new Set(obs.panes.keys()) : undefined };
}

/**
 * A tab the session's record holds that was never opened (a merge or start killed after it recorded the
 * tab, before its window opened) is opened by the merge, not kept: it has no pane and no record of its
 * own, and is not waiting for a scheduler (review H42-2: the merge said "5 kept", its tabs read missing).
 */
function openNeverStarted(plan: MergePlan, seen: Awaited<ReturnType<typeof tabsSeen>>): MergePlan {
  const held = new Set(plan.pending);
  const kept = plan.actions.flatMap((a, i) => (a === "keep" && !held.has(i) ? [i] : []));
  // Only what the tool saw for sure keeps a tab from being opened again.
  if (!kept.length || !seen.panes) return plan;
  const actions = [...plan.actions];
  for (const i of kept) if (!seen.panes.has(i) && !seen.records.has(tabRecordName(i))) actions[i] = "create";
  return { ...plan, actions };
}

/**
 * A restart closes the tab's window, and a session whose last window closes ends. Restarts are made one at
 * a time, so another window (a tab kept, one opened at once, a second restarted one) holds the session
 * meanwhile. Under a cap, restarts wait for the scheduler once closed: when no other window would hold
 * the session, the first of them is restarted at once instead (nothing else runs, so that keeps the cap).
 * A restart of the session's one open window is refused, nothing changed (it ended the session: the
 * merge failed on a session gone).
 */
function keepAWindow(
  plan: MergePlan,
  seen: Awaited<ReturnType<typeof tabsSeen>>,
  backend: string,
): MergePlan {
  const open = seen.panes;
  const restart = plan.actions.flatMap((a, i) => (a === "restart" && open?.has(i) ? [i] : []));
  if (!open || !restart.length) return plan;
  const held = new Set(plan.pending);
  const holders =
    [...open].filter((i) => plan.actions[i] !== "restart").length +
    plan.actions.filter((a, i) => a === "create" && !held.has(i)).length;
  if (holders) return plan;
  if (restart.length === 1)
    throw new McError(
      "USAGE",
      `cannot restart tab ${JSON.stringify(plan.layout.layoutTabs[restart[0]!]!.tabName)} of "${plan.old.name}": its window is the session's only open one, and closing it ends the session`,
      { backend, op: "start", hint: "replace the session with --on-conflict restart; nothing was changed" },
    );
  return { ...plan, pending: plan.pending.filter((i) => i !== restart[0]) };
}

/**
 * The keys a listed session holds: the key of its name, and the tool's own name for it when the backend
 * gave one (a session mc did not start). Both: tmux keeps `#[` of mc's names doubled, so a foreign `a##[x`
 * is in the way of layout `a#[x` by the tool's name, and a foreign `a#[x` by what it is drawn as (the two
 * would show alike in every list).
 */
export function listedKeys(backend: Pick<SessionBackend, "sessionKey">, l: ListedSession): string[] {
  const own = backend.sessionKey(l.name);
  return l.key === undefined || l.key === own ? [own] : [l.key, own];
}

/**
 * For a request that names a session twice under restart or merge: the running sessions mc made as such
 * a repeat's copy (`x_1` asked for as `x`), by the tool's key, with the name they were asked for. Only
 * these are taken over by a repeat (review H52-2: another file's `x_1`, or tmux's `x.1`, was replaced).
 */
async function copiesOf(
  m: MachineRuntime,
  c: PlanContext,
  requested: readonly string[],
  listed: readonly ListedSession[],
): Promise<Map<string, string>> {
  const copies = new Map<string, string>();
  const keys = requested.map((n) => m.backend.sessionKey(n));
  if (c.onConflict === "error" || c.onConflict === "rename" || new Set(keys).size === keys.length)
    return copies;
  for (const s of listed) {
    if (!s.runId || s.exited) continue;
    const saved = await c.previous?.(s).catch(() => undefined);
    const asked = saved?.requestedName;
    if (asked === undefined || m.backend.sessionKey(asked) === m.backend.sessionKey(saved!.name)) continue;
    for (const k of listedKeys(m.backend, s)) copies.set(k, m.backend.sessionKey(asked));
  }
  return copies;
}

/**
 * The names asked for on a machine, before conflict resolution: `<prefix>_<name>` or `<name>`, where name is
 * the layout's as the backend spells it ({@link SessionBackend.layoutSessionName}).
 */
export function requestedNames(
  layouts: readonly LayoutConfig[],
  prefix: string | undefined,
  backend?: Pick<SessionBackend, "layoutSessionName">,
): string[] {
  return layouts.map((l) => {
    const name = backend?.layoutSessionName?.(l.layoutName) ?? l.layoutName;
    return prefix ? `${prefix}_${name}` : name;
  });
}

/**
 * Where a machine's run state goes: `runs/<runId>/s<i>` for this machine, and a directory of its own per
 * named machine, so machines that share a home (NFS, one box listed twice) never share records.
 */
export function runDirOf(info: HostInfo, runId: string, machine: string, index: number): string {
  const base = join(info.stateDir, "runs", runId);
  if (machine === "local") return join(base, `s${index}`);
  const slug = machine.replace(/[^\w.-]/g, "_").slice(0, 40);
  return join(base, `m-${slug}-${Buffer.from(machine).toString("hex").slice(0, 8)}`, `s${index}`);
}

/**
 * A merge opens the tabs it restarts, and without `--max-parallel-tabs` the tabs it adds, at once, in the
 * running session: it cannot hold one back until its dependencies are ready. Refused before anything
 * changes (review H37-1, H37-2: such tabs ran at once, one beside a dependency that had failed). Tabs that
 * wait (waiting ones; added and restarted ones under a cap) are opened by this run's scheduler, which keeps
 * to both.
 */
function refuseUnscheduledMerge(plan: MergePlan, backend: string): void {
  const held = new Set(plan.pending);
  const opened = plan.layout.layoutTabs.filter(
    (_, i) => (plan.actions[i] === "create" || plan.actions[i] === "restart") && !held.has(i),
  );
  // A tab that only has a readiness probe is opened as any other: what would wait for it has dependsOn.
  const waits = opened.filter((t) => t.dependsOn?.length);
  if (waits.length)
    throw new McError(
      "USAGE",
      `cannot merge into "${plan.old.name}": tab ${JSON.stringify(waits[0]!.tabName)} has dependsOn, which a merge cannot wait for`,
      {
        backend,
        op: "start",
        hint: "restart the session instead (--on-conflict restart); nothing was changed",
      },
    );
}

/**
 * The tabs a session does not open at once: those that depend on others (a scheduler opens them when
 * their dependencies are ready), and, with `initialTabs` N (`--max-parallel-tabs`), all but the first N
 * of the others.
 */
export function pendingOf(layout: LayoutConfig, initialTabs: number | undefined): { pendingTabs?: number[] } {
  const free = layout.layoutTabs.flatMap((t, i) => (t.dependsOn?.length ? [] : [i]));
  const now = new Set(initialTabs === undefined ? free : free.slice(0, Math.max(1, initialTabs)));
  const pending = layout.layoutTabs.flatMap((_, i) => (now.has(i) ? [] : [i]));
  return pending.length ? { pendingTabs: pending } : {};
}

/**
 * Every tab a tab depends on is in the session that runs: a tab left out (`-t`, `--missing-dirs skip`)
 * would hold its dependants back forever, and a session whose every tab waits has nothing to open.
 */
function checkDependencies(layout: LayoutConfig): void {
  const names = new Set(layout.layoutTabs.map((t) => t.tabName));
  for (const t of layout.layoutTabs)
    for (const d of t.dependsOn ?? [])
      if (!names.has(d))
        throw new McError(
          "USAGE",
          `tab "${t.tabName}" of layout "${layout.layoutName}" depends on "${d}", which this run leaves out`,
          { backend: "core", op: "plan", hint: `select "${d}" too (-t), or make its start directory exist` },
        );
}

/** Resolve names against the sessions on the machine and generate every artefact, starting nothing. */
export async function planMachine(m: MachineRuntime, c: PlanContext): Promise<MachinePlan> {
  const hooked = m.layouts.find((l) => l.onStart !== undefined);
  if (hooked && c.info.platform === "win32") {
    throw new McError(
      "USAGE",
      `onStart needs a POSIX shell: layout "${hooked.layoutName}" runs on Windows (${m.host.id})`,
      {
        backend: m.backend.name,
        op: "start",
        hint: "drop onStart for this layout, or make it the first tab's command",
      },
    );
  }
  const { layouts, warnings, create } = await resolveLayouts(m, c);
  const keep = layouts.flatMap((l, i) =>
    l ? [{ layout: l, name: requestedNames([m.layouts[i]!], c.sessionNamePrefix, m.backend)[0]! }] : [],
  );
  for (const k of keep) checkDependencies(k.layout);
  const requested = keep.map((k) => k.name);
  for (const n of requested) m.backend.checkName?.(n);
  await m.backend.checkAvailable?.();
  const listed = await m.backend.listSessions();
  const earlier = c.earlier?.length ? requestedNames(c.earlier, c.sessionNamePrefix, m.backend) : [];
  const names = planSessionNames(
    {
      requested,
      ...(earlier.length ? { earlier } : {}),
      // The earlier batches' names count: a repeat of one takes over the copy the last run made of it
      // (review HR88-1: each run of the file with -p added a_2, a_3, …).
      copies: await copiesOf(m, c, [...earlier, ...requested], listed),
      // An ended session of mc's that still holds its name (a zellij EXITED entry) is not in the way: the
      // backend deletes it before its start. Anyone else's, ended or not, is.
      existing: [],
      existingKeys: listed.filter((s) => !(s.exited && s.runId)).flatMap((s) => listedKeys(m.backend, s)),
      foreignKeys: listed.filter((s) => !s.runId).flatMap((s) => listedKeys(m.backend, s)),
      policy: c.onConflict,
      key: (n) => m.backend.sessionKey(n),
    },
    m.backend.name,
  );
  const merges = new Map<number, MergePlan>();
  const prepared: PreparedSession[] = [];
  for (const p of names) {
    const dir = runDirOf(c.info, c.runId, m.name, p.index);
    const spec: SessionSpec = {
      ...p,
      runId: c.runId,
      machine: m.name,
      layout: keep[p.index]!.layout,
      runDir: dir,
      artefactDir: dir,
      keepShell: c.exitMode === "shell",
      exitMode: c.exitMode,
      ...pendingOf(keep[p.index]!.layout, c.initialTabs),
    };
    if (p.action === "merge") {
      const plan = await mergePlanOf(m, c, listed, spec);
      refuseUnscheduledMerge(plan, m.backend.name);
      merges.set(prepared.length, plan);
      // The running session keeps its run, run directory and marker: its artefacts are regenerated there.
      const at = plan.old.runDir;
      const runId = typeof plan.old.data?.runId === "string" ? plan.old.data.runId : c.runId;
      // The merged session's waiting tabs are numbered in the merged layout, not the file's.
      const { pendingTabs: _, ...merged } = spec;
      const p2 = m.backend.prepare(
        {
          ...merged,
          runId,
          runDir: at,
          artefactDir: at,
          layout: plan.layout,
          ...(plan.pending.length ? { pendingTabs: plan.pending } : {}),
        },
        c.info,
      );
      prepared.push({
        ...p2,
        tabActions: plan.actions,
        merge: mergeCounts(plan),
        droppedTabs: plan.droppedTabs,
      });
    } else {
      // The layout's onStart / onStop go with the session's artefacts, whatever the tool.
      const p1 = m.backend.prepare(spec, c.info);
      prepared.push({ ...p1, artefacts: [...p1.artefacts, ...hookArtefacts(spec.layout, spec.runDir)] });
    }
  }
  return { prepared, listed, warnings, merges, create };
}
