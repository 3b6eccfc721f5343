import type { LayoutConfig } from "./schema.js";
import type { WrappedTab } from "./tab-wrapper.js";

/** One command of a session: a tab's first pane, or one of its further panes. */
export interface Slot {
  /** Its number in the session's script, records (`tab-<slot>.json`) and logs. */
  slot: number;
  /** The tab's position in its layout. */
  tab: number;
  /** Which pane of the tab: 0 is the tab's own command. */
  pane: number;
}

/**
 * A session's commands, numbered: each tab's first pane is its own index (so a layout without panes
 * numbers exactly as before), then every further pane in order, after the last tab.
 */
export function sessionSlots(layout: LayoutConfig): Slot[] {
  const tabs = layout.layoutTabs;
  const out: Slot[] = tabs.map((_, tab) => ({ slot: tab, tab, pane: 0 }));
  let next = tabs.length;
  tabs.forEach((t, tab) => {
    for (let pane = 1; pane <= (t.panes?.length ?? 0); pane++) out.push({ slot: next++, tab, pane });
  });
  return out;
}

/** Whether any tab of the layout has further panes. */
export function hasPanes(layout: LayoutConfig): boolean {
  return layout.layoutTabs.some((t) => (t.panes?.length ?? 0) > 0);
}

/**
 * What the tab wrapper runs for each slot: a further pane's own command, directory and environment over
 * its tab's and the layout's; a pane without a command is an interactive shell (it runs `true` and stays).
 * `startDirs` are the tabs' resolved directories (pane directories resolve the same way, see machine-plan).
 */
export function wrappedTabs(layout: LayoutConfig): WrappedTab[] {
  return sessionSlots(layout).map(({ slot, tab, pane }) => {
    const t = layout.layoutTabs[tab]!;
    const p = pane === 0 ? undefined : t.panes![pane - 1]!;
    const command = p ? (p.command ?? "true") : t.command;
    return {
      index: tab,
      slot,
      ...(pane ? { pane } : {}),
      ...(p && p.command === undefined ? { keep: true } : {}),
      tabName: t.tabName,
      startDir: p?.startDir ?? t.startDir,
      command,
      env: { ...layout.env, ...t.env, ...p?.env },
      shell: t.shell,
      // Every pane of a tab: a further pane's command is typed as the tab's is.
      ...(t.interactive ? { interactive: true } : {}),
      // Retries are the tab's command's: a further pane runs once.
      retry: p ? undefined : t.retry,
    };
  });
}
