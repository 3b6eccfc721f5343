import type { PANE_LAYOUTS } from "./schema.js";

/** How a pane is opened from the one before it (mc's `split`). */
export type Split = "right" | "down";
/** A pane's size: `"30%"` or a number of cells. */
export type Size = string | number;
/** One of tmux's named layouts (mc's tab `layout`). */
export type NamedLayout = (typeof PANE_LAYOUTS)[number];

/**
 * A tab's panes as a tree: a leaf is a pane, a box lays its children side by side (`right`) or stacked
 * (`down`). `size` is along the parent box's direction: a percentage of it, or cells.
 */
export type Tree<P> = { pane: P; size?: Size | undefined } | Box<P>;
/** A box of a {@link Tree}. */
export interface Box<P> {
  dir: Split;
  children: Tree<P>[];
  size?: Size | undefined;
}

/** A pane as mc lists them: each one after the first is split from the pane before it. */
export interface Flat<P> {
  pane: P;
  split?: Split;
  size?: Size;
}

export const isBox = <P>(t: Tree<P>): t is Box<P> => "dir" in t;

const pct = (s: Size | undefined) =>
  typeof s === "string" && /^\d+(\.\d+)?%$/.test(s) ? Number(s.slice(0, -1)) : undefined;

/** mc's size for a new pane that takes `part` of the pane it splits: a whole percentage, 1 to 99. */
export const percent = (part: number): string => `${Math.min(99, Math.max(1, Math.round(part * 100)))}%`;

/**
 * The tree as mc's flat list. Exact when each box's children are panes except maybe its last (mc splits
 * the newest pane, so a box that is not last would be split in the wrong place): `exact` says so.
 * Sizes become the share of the pane being split, as `split-window -l N%` takes them.
 */
export function flatten<P>(tree: Tree<P>): { panes: Flat<P>[]; exact: boolean } {
  if (!isBox(tree)) return { panes: [{ pane: tree.pane }], exact: true };
  const kids = tree.children;
  const out: Flat<P>[] = [];
  let exact = true;
  const given = kids.map((k) => pct(k.size));
  const fixed = kids.map((k) => typeof k.size === "number");
  const free = kids.filter((_, i) => given[i] === undefined && !fixed[i]).length;
  const rest = Math.max(0, 100 - given.reduce<number>((a, p) => a + (p ?? 0), 0));
  const share = kids.map((_, i) => given[i] ?? (fixed[i] ? 0 : free ? rest / free : 0));
  const from = (i: number) => share.slice(i).reduce((a, b) => a + b, 0);
  kids.forEach((kid, i) => {
    const sub = flatten(kid);
    exact &&= sub.exact;
    const first = sub.panes[0];
    if (i > 0 && first) {
      if (isBox(kids[i - 1]!)) exact = false;
      first.split = tree.dir;
      if (fixed[i]) {
        first.size = kid.size as number;
        if (i < kids.length - 1) exact = false;
      } else if (from(i - 1) > 0) {
        const part = from(i) / from(i - 1);
        if (Math.abs(part - 0.5) > 0.005) first.size = percent(part);
      }
    }
    out.push(...sub.panes);
  });
  return { panes: out, exact };
}

interface MLeaf<P> {
  pane: P;
  share: number;
  cells?: number;
  parent?: MBox<P>;
}
interface MBox<P> {
  dir: Split;
  children: (MLeaf<P> | MBox<P>)[];
  share: number;
  cells?: number;
  parent?: MBox<P>;
}

/** mc's flat list as a tree, each box's children with their share of it (the inverse of {@link flatten}). */
export function unflatten<P>(panes: readonly Flat<P>[]): Tree<P> {
  const leaves: MLeaf<P>[] = [];
  let root: MLeaf<P> | MBox<P> | undefined;
  for (const p of panes) {
    const leaf: MLeaf<P> = { pane: p.pane, share: 1 };
    const prev = leaves[leaves.length - 1];
    leaves.push(leaf);
    if (!prev) {
      root = leaf;
      continue;
    }
    const dir = p.split ?? "right";
    const f = typeof p.size === "number" ? 0 : (pct(p.size) ?? 50) / 100;
    if (typeof p.size === "number") leaf.cells = p.size;
    const parent = prev.parent;
    if (parent && parent.dir === dir) {
      const at = parent.children.indexOf(prev);
      leaf.share = prev.share * f;
      prev.share *= 1 - f;
      leaf.parent = parent;
      parent.children.splice(at + 1, 0, leaf);
      continue;
    }
    const box: MBox<P> = { dir, children: [prev, leaf], share: prev.share };
    if (prev.cells !== undefined) box.cells = prev.cells;
    if (parent) {
      box.parent = parent;
      parent.children[parent.children.indexOf(prev)] = box;
    } else root = box;
    delete prev.cells;
    prev.share = 1 - f;
    leaf.share = f;
    prev.parent = box;
    leaf.parent = box;
  }
  if (!root) throw new Error("a tab has at least one pane");
  return toTree(root, root.cells);
}

/**
 * Shares as whole percentages that sum to exactly 100, each at least 1 (largest remainder), so a box's
 * sizes always fill it: rounding each share alone made 12.5% + 12.5% + 75% into 101%, and a share below
 * 1% (a pane split off a small pane) into 1%, 103% for a box of tiny panes, which each backend then
 * scaled its own way. Undefined when a box has more than 100 children (then it is shared evenly).
 */
export function wholePercents(shares: readonly number[]): number[] | undefined {
  const n = shares.length;
  const total = shares.reduce((a, b) => a + b, 0);
  if (n === 0 || n > 100 || !(total > 0)) return undefined;
  const floor1 = new Set<number>();
  let exact: number[] = [];
  for (;;) {
    const free = shares.map((_, i) => i).filter((i) => !floor1.has(i));
    const room = 100 - floor1.size;
    const weight = free.reduce((a, i) => a + shares[i]!, 0);
    exact = shares.map((s, i) => (floor1.has(i) ? 1 : weight > 0 ? (s / weight) * room : room / free.length));
    const small = free.filter((i) => exact[i]! < 1);
    if (!small.length) break;
    for (const i of small) floor1.add(i);
  }
  const out = exact.map((x) => Math.floor(x));
  let left = 100 - out.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    out[i]!++;
    left--;
  }
  return out;
}

function toTree<P>(n: MLeaf<P> | MBox<P>, size?: Size): Tree<P> {
  if (!("dir" in n)) return size === undefined ? { pane: n.pane } : { pane: n.pane, size };
  const kids = n.children;
  const even = kids.every((c) => c.cells === undefined && Math.abs(c.share - 1 / kids.length) < 0.005);
  // Cells are the pane's own; the percentages share what the cell-sized children leave, and a lone
  // percentage child simply takes the rest.
  const shared = kids.filter((c) => c.cells === undefined);
  const pcts = even || shared.length < 2 ? undefined : wholePercents(shared.map((c) => c.share));
  let k = 0;
  const box: Box<P> = {
    dir: n.dir,
    children: kids.map((c) => {
      const own = c.cells ?? (pcts ? `${pcts[k++]}%` : undefined);
      return toTree(c, own);
    }),
  };
  const own = n.cells ?? size;
  if (own !== undefined) box.size = own;
  return box;
}

/** The shape of one of tmux's named layouts for these panes (tmux 3.3a layout-set.c). */
export function namedLayoutTree<P>(layout: NamedLayout, panes: readonly P[]): Tree<P> {
  const leaves = panes.map((pane) => ({ pane }));
  if (leaves.length === 1) return leaves[0]!;
  const [main, ...rest] = leaves as [{ pane: P }, ...{ pane: P }[]];
  const group = (dir: Split, ls: Tree<P>[]): Tree<P> => (ls.length === 1 ? ls[0]! : { dir, children: ls });
  switch (layout) {
    case "even-horizontal":
      return { dir: "right", children: leaves };
    case "even-vertical":
      return { dir: "down", children: leaves };
    case "main-vertical":
      return { dir: "right", children: [main, group("down", rest)] };
    case "main-horizontal":
      return { dir: "down", children: [main, group("right", rest)] };
    case "tiled": {
      let rows = 1;
      let cols = 1;
      while (rows * cols < leaves.length) {
        rows++;
        if (rows * cols < leaves.length) cols++;
      }
      const lines: Tree<P>[] = [];
      for (let i = 0; i < leaves.length; i += cols) lines.push(group("right", leaves.slice(i, i + cols)));
      return group("down", lines);
    }
  }
}
