import { isBox, type NamedLayout, type Split, type Tree } from "@mc/core";

/**
 * One cell of a tmux layout string (`#{window_layout}`, what tmuxp freeze and tmuxinator new write):
 * `WxH,X,Y` then `,ID` for a pane, `{…}` for cells side by side or `[…]` for stacked ones.
 */
export interface Cell {
  w: number;
  h: number;
  x: number;
  y: number;
  /** The pane id (`%ID`) of a leaf. */
  id?: number;
  dir?: Split;
  children?: Cell[];
}

/** tmux's layout checksum (layout-custom.c `layout_checksum`): 16 bits, rotated right, plus each byte. */
export function layoutChecksum(body: string): string {
  let csum = 0;
  for (const byte of Buffer.from(body, "utf8")) {
    csum = ((csum >> 1) | ((csum & 1) << 15)) & 0xffff;
    csum = (csum + byte) & 0xffff;
  }
  return csum.toString(16).padStart(4, "0");
}

/** Parse a layout string (checksum first, which is not checked); undefined when it is not one. */
export function parseTmuxLayout(s: string): Cell | undefined {
  // tmux reads the checksum with %hx: either case (review H47-6).
  const m = /^[0-9a-f]{4},(.*)$/is.exec(s.trim());
  if (!m) return undefined;
  const text = m[1]!;
  let i = 0;
  const num = (): number => {
    const d = /^\d{1,6}/.exec(text.slice(i));
    if (!d) throw new Error("number expected");
    i += d[0].length;
    return Number(d[0]);
  };
  const eat = (c: string) => {
    if (text[i] !== c) throw new Error(`${c} expected`);
    i++;
  };
  const cell = (depth: number): Cell => {
    if (depth > 32) throw new Error("too deep");
    const w = num();
    eat("x");
    const h = num();
    eat(",");
    const x = num();
    eat(",");
    const y = num();
    const c: Cell = { w, h, x, y };
    if (text[i] === ",") {
      i++;
      c.id = num();
    } else if (text[i] === "{" || text[i] === "[") {
      const close = text[i] === "{" ? "}" : "]";
      c.dir = text[i] === "{" ? "right" : "down";
      i++;
      c.children = [cell(depth + 1)];
      while (text[i] === ",") {
        i++;
        c.children.push(cell(depth + 1));
      }
      eat(close);
    } else throw new Error("pane id or children expected");
    return c;
  };
  try {
    const root = cell(0);
    return i === text.length ? root : undefined;
  } catch {
    return undefined;
  }
}

/** The leaves of a cell, in layout order. */
export function cellLeaves(c: Cell): Cell[] {
  return c.children ? c.children.flatMap(cellLeaves) : [c];
}

/** The cell as a {@link Tree} of `pane(leaf)`, each child sized by its share of its parent. */
export function cellTree<P>(c: Cell, pane: (leaf: Cell) => P): Tree<P> {
  if (!c.children || !c.dir) return { pane: pane(c) };
  const ext = (k: Cell) => (c.dir === "right" ? k.w : k.h);
  const total = c.children.reduce((a, k) => a + ext(k), 0) || 1;
  const even = c.children.every((k) => Math.abs(ext(k) - ext(c.children![0]!)) <= 1);
  return {
    dir: c.dir,
    children: c.children.map((k) => {
      const t = cellTree(k, pane);
      if (!even) t.size = `${Math.round((ext(k) / total) * 100) || 1}%`;
      return t;
    }),
  };
}

/**
 * A layout string for `tree` in a window of `w`×`h` cells: shares become cells, one cell of border
 * between neighbours, leaves numbered in order. tmux fits a string made for another size to the window.
 */
export function formatTmuxLayout<P>(tree: Tree<P>, w: number, h: number): string {
  let next = 0;
  const cell = (t: Tree<P>, cw: number, ch: number, x: number, y: number): string => {
    const head = `${cw}x${ch},${x},${y}`;
    if (!isBox(t)) return `${head},${next++}`;
    const along = t.dir === "right" ? cw : ch;
    const room = along - (t.children.length - 1);
    const sizes = share(t.children, room, t.dir);
    let at = t.dir === "right" ? x : y;
    const parts = t.children.map((k, i) => {
      const s = sizes[i]!;
      const out = t.dir === "right" ? cell(k, s, ch, at, y) : cell(k, cw, s, x, at);
      at += s + 1;
      return out;
    });
    return t.dir === "right" ? `${head}{${parts.join(",")}}` : `${head}[${parts.join(",")}]`;
  };
  const body = cell(tree, w, h, 0, 0);
  return `${layoutChecksum(body)},${body}`;
}

/** The fewest cells a tree takes along `dir`: a cell a pane, one of border between neighbours. */
function fewest<P>(t: Tree<P>, dir: Split): number {
  if (!isBox(t)) return 1;
  const each = t.children.map((k) => fewest(k, dir));
  return t.dir === dir ? each.reduce((a, b) => a + b, 0) + each.length - 1 : Math.max(...each);
}

/**
 * Split `room` cells among children: fixed cells first, percentages, the rest evenly; each at least what
 * it needs, and together exactly `room`, as tmux checks (a size in cells larger than the window gave a
 * string tmux refuses, "size mismatch": review H39-5). Cells over are taken from the largest.
 */
function share<P>(kids: Tree<P>[], room: number, dir: Split): number[] {
  const fixed = kids.map((k) => (typeof k.size === "number" ? k.size : undefined));
  const pcts = kids.map((k) => (typeof k.size === "string" ? Number(k.size.replace("%", "")) : undefined));
  const flexRoom = Math.max(0, room - fixed.reduce<number>((a, f) => a + (f ?? 0), 0));
  const free = kids.filter((_, i) => fixed[i] === undefined && pcts[i] === undefined).length;
  const pctSum = pcts.reduce<number>((a, p) => a + (p ?? 0), 0);
  const each = free ? Math.max(0, 100 - pctSum) / free : 0;
  const weights = kids.map((_, i) => (fixed[i] !== undefined ? 0 : (pcts[i] ?? each)));
  const wsum = weights.reduce((a, b) => a + b, 0) || 1;
  const sizes = kids.map((_, i) => fixed[i] ?? Math.floor((flexRoom * weights[i]!) / wsum));
  const flexIdx = kids.map((_, i) => i).filter((i) => fixed[i] === undefined);
  const last = flexIdx[flexIdx.length - 1] ?? kids.length - 1;
  sizes[last] = sizes[last]! + room - sizes.reduce((a, b) => a + b, 0);
  const least = kids.map((k) => fewest(k, dir));
  const out = sizes.map((s, i) => Math.max(least[i]!, s));
  let over = out.reduce((a, b) => a + b, 0) - room;
  while (over > 0) {
    let big = -1;
    for (let i = 0; i < out.length; i++)
      if (out[i]! > least[i]! && (big < 0 || out[i]! - least[i]! > out[big]! - least[big]!)) big = i;
    if (big < 0) break;
    const take = Math.min(over, out[big]! - least[big]!);
    out[big] = out[big]! - take;
    over -= take;
  }
  if (over < 0) out[last] = out[last]! - over;
  return out;
}

/**
 * The named layout closest to a cell's shape: all side by side or all stacked (even-*), one pane beside
 * or above a group (main-*), rows of panes (tiled). Undefined for a single pane.
 */
export function nearestNamedLayout(c: Cell): NamedLayout | undefined {
  if (!c.children || !c.dir) return undefined;
  const leavesOnly = (k: Cell) => !k.children;
  if (c.children.every(leavesOnly)) return c.dir === "right" ? "even-horizontal" : "even-vertical";
  const [first, second] = c.children;
  if (c.children.length === 2 && first && !first.children && second?.children?.every(leavesOnly))
    return c.dir === "right" ? "main-vertical" : "main-horizontal";
  return "tiled";
}
