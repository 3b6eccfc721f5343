import { join } from "node:path";
import { type LayoutConfig, McError, parseTabRecord, sessionSlots, sleep, tabRecordName } from "@mc/core";
import { isNoSuchSession, zellijError } from "./errors.js";
import { freeName } from "./free-name.js";
import { sessionFlag } from "./names.js";
import { type PaneRow, paneTabIndex, parseTabRef } from "./parse.js";
import type { ZellijQueries } from "./queries.js";

/** The slots of tab `index`: its own pane's, then its further panes' (core `sessionSlots`). */
export function slotsOfTab(layout: LayoutConfig, index: number): number[] {
  return sessionSlots(layout)
    .filter((x) => x.tab === index)
    .map((x) => x.slot);
}

/**
 * Start a held-back tab: each of its panes (`slots`: the tab's own and its further panes) was created
 * suspended (`start_suspended=true`, generate.ts) and runs once it gets Enter (`action send-keys
 * --pane-id terminal_N Enter`, 0.44+). Verified on 0.45.0, where `action new-tab` on a session without a
 * client makes a tab with no room for a pane (zellij logs "Not enough room for panes") and leaves the new
 * pane's process running outside any tab.
 */
export async function startHeldTab(
  q: ZellijQueries,
  session: string,
  tabScript: string,
  index: number,
  slots: readonly number[] = [index],
  waitMs = 10000,
): Promise<void> {
  // zellij makes a new session's tabs one after another: on a loaded machine a held-back tab's panes can
  // be missing from list-panes for a while after the first tab ran. Wait for all of them; a pane that is
  // there and not held (running, or ended) is refused at once, before any pane of the tab is started.
  const find = async (): Promise<(PaneRow | undefined)[]> => {
    const panes = q.hasListPanes() ? await q.panesOf(session) : undefined;
    const own = Array.isArray(panes) ? panes.filter((p) => !p.isPlugin) : [];
    return slots.map((slot) => own.find((p) => paneTabIndex(p.terminalCommand, tabScript) === slot));
  };
  const ready = (ps: (PaneRow | undefined)[]) => ps.every((p) => p) || ps.some((p) => p && !p.held);
  let panes = await find();
  const deadline = performance.now() + waitMs;
  for (
    let delay = 25;
    !ready(panes) && q.hasListPanes() && performance.now() < deadline;
    delay = Math.min(delay * 2, 250)
  ) {
    await sleep(delay);
    panes = await find();
  }
  if (panes.some((p) => !p?.held || p.exited)) {
    throw new McError("USAGE", `tab ${index} of zellij session "${session}" is not waiting to start`, {
      backend: "zellij",
      op: "start",
      hint: "zellij starts only the tabs a session was started with, held back (--max-parallel-tabs, dependsOn)",
    });
  }
  for (const pane of panes as PaneRow[]) {
    const send = () =>
      q.host.run(
        q.cmd([sessionFlag(session), "action", "send-keys", "--pane-id", `terminal_${pane.id}`, "Enter"]),
      );
    let r = await send();
    // The session answered list-panes a moment ago: a "no active session" now was seen once in a CI run
    // under load (two cores, every suite at once) and not again in isolation. Asked again twice before it
    // is believed; a session that really ended says so each time.
    for (let i = 0; i < 2 && isNoSuchSession(r.stderr); i++) {
      await sleep(250);
      r = await send();
    }
    if (r.exitCode !== 0 || isNoSuchSession(r.stderr))
      throw zellijError("start", r.exitCode, r.stderr, r.stdout);
  }
}

/**
 * Close what a status `ref` names, only while its tab still holds the pane the ref names: tab and pane ids
 * are per session, and a same-named session made since has its own. A pane of a tab that holds other
 * terminal panes (a tab with `panes`) is closed alone (`close-pane --pane-id`, 0.44+, as tmux's
 * `kill-pane`); the last one closes its tab (`close-tab-by-id`, with the tab's plugin panes).
 */
export async function closeTabByRef(q: ZellijQueries, ref: string): Promise<void> {
  const t = parseTabRef(ref);
  if (!t)
    throw new McError("USAGE", `"${ref}" is not a zellij tab reference`, { backend: "zellij", op: "kill" });
  const panes = await q.panesOf(t.session);
  if (!Array.isArray(panes)) return;
  const inTab = panes.filter((p) => !p.isPlugin && p.tabId === t.tabId);
  if (!inTab.some((p) => p.id === t.paneId)) return;
  const args =
    inTab.length > 1
      ? ["close-pane", "--pane-id", `terminal_${t.paneId}`]
      : ["close-tab-by-id", String(t.tabId)];
  const r = await q.host.run(q.cmd([sessionFlag(t.session), "action", ...args]));
  if (r.exitCode !== 0 && !isNoSuchSession(r.stderr))
    throw zellijError("kill", r.exitCode, r.stderr, r.stdout);
}

/**
 * `--exit close`: close the tabs whose commands all ended. zellij 0.45 closes a pane with `close_on_exit`,
 * but a tab left with no selectable pane (only its tab bar, a plugin) is closed only while zellij renders
 * for an attached client (screen.rs `render`: `tabs_to_close`), so in a detached session such a tab stays
 * for good. mc closes it (`close-tab-by-id`) once it holds no terminal pane and every pane of it recorded
 * its end; closing the last tab ends the session, as on tmux. A tab holding a terminal pane that is not
 * mc's (one the user added) is left alone. `done` keeps the tabs already settled, so a session whose tabs
 * all run asks zellij nothing more.
 */
export async function closeEndedTabs(
  q: ZellijQueries,
  s: { name: string; runDir: string; layout: LayoutConfig },
  tabScript: string,
  panes: readonly PaneRow[],
  done: Set<number>,
  killTimeoutMs?: number,
): Promise<void> {
  const slots = sessionSlots(s.layout);
  const tabs = s.layout.layoutTabs;
  const open = new Set(
    panes
      .filter((p) => !p.isPlugin)
      .map((p) => paneTabIndex(p.terminalCommand, tabScript))
      .map((slot) => slots.find((x) => x.slot === slot)?.tab),
  );
  const waiting = tabs.map((_, i) => i).filter((i) => !open.has(i) && !done.has(i));
  if (waiting.length === 0) return;
  const all = await q.listPanes(s.name, true);
  if (!Array.isArray(all)) return;
  const tabEnded = async (i: number) =>
    (
      await Promise.all(
        slotsOfTab(s.layout, i).map(
          async (slot) =>
            parseTabRecord(await q.host.readFile(join(s.runDir, tabRecordName(slot))).catch(() => undefined))
              ?.end !== undefined,
        ),
      )
    ).every(Boolean);
  const closing: { i: number; tabId: number }[] = [];
  for (const i of waiting) {
    const name = tabs[i]!.tabName;
    const inTab = all.filter((p) => p.tabName === name);
    // A name two tabs share cannot tell them apart; a tab zellij no longer has is settled.
    if (tabs.filter((t) => t.tabName === name).length !== 1 || inTab.length === 0) {
      done.add(i);
      continue;
    }
    if (inTab.some((p) => !p.isPlugin)) {
      if (inTab.every((p) => p.isPlugin || paneTabIndex(p.terminalCommand, tabScript) === undefined))
        done.add(i);
      continue;
    }
    if (await tabEnded(i)) closing.push({ i, tabId: inTab[0]!.tabId });
  }
  // Closing the session's last tabs ends it, and zellij would keep it as an EXITED entry that no longer
  // names mc's panes (they closed first): mc ends it as `sessions kill` does, entry and all, so the next
  // run finds the name free. A tab the user opened in the session keeps it alive.
  // Only once every tab of the layout has ended: a held-back tab may not be in zellij yet.
  const left = new Set(all.map((p) => p.tabName));
  for (const c of closing) left.delete(tabs[c.i]!.tabName);
  if (
    closing.length > 0 &&
    left.size === 0 &&
    (await Promise.all(tabs.map((_, i) => tabEnded(i)))).every(Boolean)
  ) {
    await freeName(q, s.name, true, killTimeoutMs);
    for (const c of closing) done.add(c.i);
    return;
  }
  for (const c of closing) {
    const r = await q.host.run(q.cmd([sessionFlag(s.name), "action", "close-tab-by-id", String(c.tabId)]));
    if (r.exitCode === 0) done.add(c.i);
  }
}
