import {
  type Flat,
  isBox,
  McError,
  type NamedLayout,
  namedLayoutTree,
  normaliseStartDir,
  type SessionSpec,
  type Size,
  type Split,
  type Tree,
  unflatten,
} from "@mc/core";
import type { LaunchTab } from "./generate.js";

/**
 * A tab's panes as the wt actions that open them, pure. mc's panes are a tree of splits (core geometry:
 * `unflatten` for a flat list, `namedLayoutTree` for a tab's named `layout`); wt builds one with
 * `split-pane`, which always splits the FOCUSED pane and focuses the new one. Sources (microsoft/terminal,
 * AppCommandlineArgs.cpp `_buildSplitPaneParser`, Pane.cpp `_Split`, TerminalTab.cpp `SplitPane`):
 * - `-H`/`--horizontal` puts the new pane BELOW (SplitDirection::Down): mc's `down`; `-V`/`--vertical`
 *   puts it to the RIGHT: mc's `right`.
 * - `-s`/`--size` is the new pane's fraction of the pane it splits, exclusive (0, 1); default 0.5.
 * - Pane ids count from 0 in creation order within a tab; the split pane keeps its id (its content moves
 *   to the first child), the new pane takes the next id. `focus-pane --target <id>` (in v1.10.1933.0 already, below
 *   mc's minimum 1.18) focuses one.
 * A size in cells has no wt form (wt sizes are fractions only), so it is refused, never approximated.
 */

/** One pane of a tab as the planner sees it: its slot (wrapper argument) and geometry. */
export interface PlanPane {
  /** The wrapper slot this pane runs (core `sessionSlots`). */
  slot: number;
  split?: Split | undefined;
  size?: Size | undefined;
  focus?: boolean | undefined;
  /** The tab's named layout (on its first pane, as zellij's pane-tree takes it). */
  layout?: NamedLayout | undefined;
  /** Field path for errors (`layouts[i].layoutTabs[j].panes[k]`). */
  at: string;
}

/** One wt action after a tab's `new-tab`. */
export type PaneAction =
  | { kind: "split"; direction: Split; size?: number; slot: number }
  | { kind: "focus"; target: number };

/** Refuse a size wt cannot express; percentages become fractions. */
function fraction(p: PlanPane): void {
  if (p.size === undefined) return;
  if (typeof p.size === "number") {
    throw new McError(
      "LAYOUT_INVALID",
      `${p.at}.size: ${p.size} cells cannot be expressed in Windows Terminal (split-pane --size takes a fraction of the pane it splits)`,
      { backend: "wt", op: "prepare", hint: 'give the size as a percentage such as "30%"' },
    );
  }
  if (
    !/^\d{1,3}(\.\d+)?%$/.test(p.size) ||
    !(Number(p.size.slice(0, -1)) > 0 && Number(p.size.slice(0, -1)) < 100)
  ) {
    throw new McError(
      "LAYOUT_INVALID",
      `${p.at}.size: ${JSON.stringify(p.size)} is not a pane size wt takes`,
      {
        backend: "wt",
        op: "prepare",
        hint: 'a percentage strictly between 0% and 100%, such as "30%"',
      },
    );
  }
}

/** The tree of a tab's panes, as zellij's pane-tree builds it. */
export function wtPaneTree(panes: readonly PlanPane[]): Tree<PlanPane> {
  for (const p of panes) fraction(p);
  const layout = panes[0]?.layout;
  if (layout && panes.length > 1) return namedLayoutTree(layout, panes);
  return unflatten(
    panes.map(
      (p, i): Flat<PlanPane> => ({
        pane: p,
        ...(i > 0 ? { split: p.split ?? "right" } : {}),
        ...(i > 0 && p.size !== undefined ? { size: p.size } : {}),
      }),
    ),
  );
}

const firstLeaf = (t: Tree<PlanPane>): PlanPane => (isBox(t) ? firstLeaf(t.children[0]!) : t.pane);

/** Each child's share of its box: given percentages, the rest shared evenly by the others. */
function shares(kids: readonly Tree<PlanPane>[]): number[] {
  const given = kids.map((k) =>
    typeof k.size === "string" && /^\d+(\.\d+)?%$/.test(k.size) ? Number(k.size.slice(0, -1)) : undefined,
  );
  const free = given.filter((g) => g === undefined).length;
  const rest = Math.max(0, 100 - given.reduce<number>((a, g) => a + (g ?? 0), 0));
  return given.map((g) => g ?? (free ? rest / free : 0));
}

/** wt's `--size` for a share: strictly inside (0, 1), three decimals; undefined for an even split. */
function wtSize(part: number): number | undefined {
  if (Math.abs(part - 0.5) < 0.0005) return undefined;
  return Math.min(0.999, Math.max(0.001, Math.round(part * 1000) / 1000));
}

/**
 * The actions that open a tab's panes after `new-tab` (which runs the first pane, slot `panes[0].slot`):
 * each box is split off its first child's pane one child after another, then each child is built inside
 * its pane; `focus-pane` only where the pane to split is not the focused one; the pane asking for focus
 * gets it last.
 */
export function paneActions(panes: readonly PlanPane[]): PaneAction[] {
  const tree = wtPaneTree(panes);
  const out: PaneAction[] = [];
  const ids = new Map<PlanPane, number>([[firstLeaf(tree), 0]]);
  let next = 1;
  let focused = 0;
  const focus = (id: number) => {
    if (id !== focused) out.push({ kind: "focus", target: id });
    focused = id;
  };
  const build = (t: Tree<PlanPane>, id: number): void => {
    if (!isBox(t)) return;
    const share = shares(t.children);
    const from = (i: number) => share.slice(i).reduce((a, b) => a + b, 0);
    const regions = [id];
    let region = id;
    for (let i = 1; i < t.children.length; i++) {
      focus(region);
      const lead = firstLeaf(t.children[i]!);
      const size = from(i - 1) > 0 ? wtSize(from(i) / from(i - 1)) : undefined;
      out.push({ kind: "split", direction: t.dir, ...(size === undefined ? {} : { size }), slot: lead.slot });
      region = next++;
      ids.set(lead, region);
      focused = region;
      regions.push(region);
    }
    t.children.forEach((c, i) => {
      build(c, regions[i]!);
    });
  };
  build(tree, 0);
  const wanted = panes.find((p) => p.focus);
  const target = wanted === undefined ? undefined : ids.get(wanted);
  if (target !== undefined && panes.length > 1) focus(target);
  return out;
}

/**
 * The launch's tabs with their panes: each tab's first pane runs its own slot, and its further panes
 * (core `sessionSlots` numbering) come as split and focus actions, each with its absolute start directory.
 */
export function launchTabs(spec: Pick<SessionSpec, "layout" | "index">, home: string): LaunchTab[] {
  let next = spec.layout.layoutTabs.length;
  return spec.layout.layoutTabs.map((t, j): LaunchTab => {
    const startDir = normaliseStartDir(t.startDir, home);
    const base = { title: t.tabName, startDir, slot: j };
    if (!t.panes?.length) return base;
    const at = `layouts[${spec.index}].layoutTabs[${j}]`;
    const dirs = new Map<number, string>();
    const panes: PlanPane[] = [
      { slot: j, at, ...(t.layout ? { layout: t.layout } : {}) },
      ...t.panes.map((p, k): PlanPane => {
        const slot = next++;
        dirs.set(slot, p.startDir === undefined ? startDir : normaliseStartDir(p.startDir, home));
        return { slot, split: p.split, size: p.size, focus: p.focus, at: `${at}.panes[${k}]` };
      }),
    ];
    const actions = paneActions(panes).map((a) =>
      a.kind === "focus" ? a : { ...a, startDir: dirs.get(a.slot) ?? startDir },
    );
    return { ...base, panes: actions };
  });
}
