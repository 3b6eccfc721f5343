import {
  type Flat,
  isBox,
  McError,
  type NamedLayout,
  namedLayoutTree,
  type Size,
  type Split,
  type Tree,
  unflatten,
} from "@mc/core";

/** The geometry of one pane of a tab (generate.ts `ZellijTab`). */
export interface PaneGeometry {
  split?: Split | undefined;
  size?: Size | undefined;
  focus?: boolean | undefined;
  layout?: NamedLayout | undefined;
}

/** Writes one pane's KDL node at `indent`, with the `size` its split box gives it. */
export type PaneWriter<P> = (pane: P, size: Size | undefined, indent: string) => string[];

/**
 * mc's split direction as zellij's (kdl_layout_parser.rs `parse_split_direction`, v0.40.0…v0.45.0):
 * `split_direction="vertical"` lays the children side by side (mc's `right`), `"horizontal"` stacks them
 * (mc's `down`).
 */
export const splitDirection = (s: Split): "vertical" | "horizontal" =>
  s === "right" ? "vertical" : "horizontal";

/**
 * A tab's panes as their tree of splits: each further pane split from the one before it with its own size
 * (core geometry `unflatten`), or, with the tab's named layout (first pane's `layout`), that layout's shape
 * (sizes then come from the layout, as `select-layout` does on tmux).
 */
export function paneTree<P extends PaneGeometry>(panes: readonly P[]): Tree<P> {
  const layout = panes[0]?.layout;
  if (layout && panes.length > 1) return namedLayoutTree(layout, panes);
  const flat = panes.map(
    (p, i): Flat<P> => ({
      pane: p,
      ...(i > 0 ? { split: p.split ?? "right" } : {}),
      ...(i > 0 && p.size !== undefined ? { size: p.size } : {}),
    }),
  );
  return flexible(unflatten(flat));
}

/**
 * zellij gives fixed (cells) panes their room first and shares the rest by percentage: a box's only
 * pane without cells takes all of that rest, so a percentage it was given goes.
 */
function flexible<P>(t: Tree<P>): Tree<P> {
  if (!isBox(t)) return t;
  const children = t.children.map(flexible);
  const flex = children.filter((c) => typeof c.size !== "number");
  if (flex.length === 1 && children.length > 1) {
    const only = flex[0]!;
    const { size: _, ...rest } = only;
    children[children.indexOf(only)] = rest as Tree<P>;
  }
  return { ...t, children };
}

/**
 * The KDL of a tab's panes: a single pane as it is, several as nested `pane split_direction=…` boxes.
 * Only the first pane asking for focus gets it (zellij focuses one pane per tab).
 */
export function panesBody<P extends PaneGeometry>(
  panes: readonly P[],
  write: PaneWriter<P>,
  indent: string,
): string[] {
  const focused = panes.find((p) => p.focus);
  const node = (t: Tree<P>, at: string): string[] => {
    if (!isBox(t)) return write(focused === t.pane ? t.pane : { ...t.pane, focus: false }, t.size, at);
    const size = t.size === undefined ? "" : ` size=${sizeValue(t.size)}`;
    return [
      `${at}pane split_direction="${splitDirection(t.dir)}"${size} {`,
      ...t.children.flatMap((c) => node(c, `${at}    `)),
      `${at}}`,
    ];
  };
  return node(paneTree(panes), indent);
}

/** A KDL `size` value: cells as a number, a percentage as the string zellij parses (`"30%"`). */
export function sizeValue(s: Size): string {
  if (typeof s === "number" && Number.isInteger(s) && s > 0) return String(s);
  if (typeof s === "string" && /^\d{1,3}%$/.test(s)) return `"${s}"`;
  throw new McError("LAYOUT_INVALID", `${JSON.stringify(s)} is not a pane size`, {
    backend: "zellij",
    op: "prepare",
    hint: 'a size is a percentage such as "30%" or a number of cells',
  });
}
