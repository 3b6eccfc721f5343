import { join } from "node:path";
import { McError } from "./errors.js";
import type { HostInfo } from "./host.js";
import { selfIdentity } from "./linux-proc.js";
import type { MachineRuntime } from "./machine-plan.js";
import { pollUntil } from "./poll.js";
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
  /** The session's tabs after the merge, old ones first in their places, new ones after. */
  layout: LayoutConfig;
  /** Per tab of `layout`. */
  actions: TabAction[];
}

const changed = (a: TabConfig, b: TabConfig) => a.command !== b.command || a.startDir !== b.startDir;

/**
 * Apply `wanted` to the running session `old` (tabs matched by name): tabs it lacks are added; with
 * `overwrite`, tabs whose command or directory changed are restarted; every other tab is kept, also the
 * ones the new layout does not name.
 */
export function planMerge(old: ManagedSession, wanted: LayoutConfig, overwrite: boolean): MergePlan {
  // A tab's further panes are numbered after the session's last tab (their records and logs): a tab added
  // by a merge would take a pane's number, and each would read the other's record.
  const paned = [...old.layout.layoutTabs, ...wanted.layoutTabs].find((t) => t.panes?.length);
  if (paned)
    throw new McError(
      "USAGE",
      `--on-conflict merge-* cannot merge into session "${old.name}": tab "${paned.tabName}" has panes`,
      { backend: "core", op: "plan", hint: "use --on-conflict restart or rename for layouts with panes" },
    );
  const tabs = [...old.layout.layoutTabs];
  const actions: TabAction[] = tabs.map(() => "keep");
  for (const t of wanted.layoutTabs) {
    const i = tabs.findIndex((x) => x.tabName === t.tabName);
    if (i < 0) {
      tabs.push(t);
      actions.push("create");
    } else if (overwrite && changed(tabs[i]!, t)) {
      tabs[i] = t;
      actions[i] = "restart";
    }
  }
  // Tabs are restarted one at a time while the others hold the session (applyMerge); a session of one tab
  // has nothing to hold it: closing that tab ends the session.
  if (actions.length === 1 && actions[0] === "restart")
    throw new McError(
      "USAGE",
      `--on-conflict merge-overwrite would restart the only tab of session "${old.name}", which closes the session`,
      { backend: "core", op: "plan", hint: "use --on-conflict restart to replace the whole session" },
    );
  return { old, layout: { ...old.layout, layoutTabs: tabs }, actions };
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
  /** Called with the merged session before any tab is opened or closed (its record is written there). */
  before?: (session: ManagedSession) => Promise<void>,
): Promise<ManagedSession> {
  const { savedIn: _, ...data } = plan.old.data ?? {};
  const { scheduler: _dead, ...old } = plan.old;
  // This run schedules what is still pending now (the run that did may have ended: its tabs read abandoned).
  const scheduler = old.pendingTabs?.length ? selfIdentity() : undefined;
  const session: ManagedSession = {
    ...old,
    ...(scheduler ? { scheduler } : {}),
    data,
    layout: plan.layout,
    artefacts: p.artefacts.map((a) => a.path),
  };
  // Recorded with the new layout before a tab changes: an end between a tab's opening and the record
  // (Ctrl-C's second press, a kill -9) left a tab no record knew, so no status, kill sweep or rerun
  // reached it (review H35-4). A tab not opened yet reads as not running, which it is not.
  await before?.(session);
  // New tabs first, then each restarted tab closed and opened again in turn: the session always holds a
  // window (closing every old one first ended a session whose tabs all changed).
  // A tab this merge opens is no longer waiting (an abandoned one it restarts, too): a scheduler that
  // still listed it would open it again.
  for (const [i, a] of plan.actions.entries())
    if (a === "create") {
      await m.backend.startTab!(session, i, info);
      notPending(session, i);
    }
  const restart = plan.actions.flatMap((a, i) => (a === "restart" ? [i] : []));
  if (restart.length) {
    const [obs] = await m.backend.observe([plan.old]);
    for (const i of restart) {
      const rec = join(session.runDir, tabRecordName(i));
      const pid = parseTabRecord(await m.host.readFile(rec))?.pid;
      const ref = obs?.panes.get(i)?.ref;
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
      const text = await m.host.readFile(rec);
      if (text !== undefined) {
        await m.host.writeFile(rec.replace(/\.json$/, `.prev-${Date.now()}.json`), text);
        await m.host.remove(rec);
      }
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
