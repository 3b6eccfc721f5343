import type { Node as KdlNode, Value as KdlValue } from "kdljs";
import { convertError } from "./types.js";

/** Templates of a zellij layout (pane_template, tab_template, default_tab_template), by name. */
export interface Templates {
  panes: Map<string, KdlNode>;
  tabs: Map<string, KdlNode>;
  defaultTab?: KdlNode | undefined;
}

/** Properties a pane may give as a child node instead of on its title line (`pane { cwd "x" }`). */
export const PANE_PROPS = new Set([
  "cwd",
  "command",
  "args",
  "name",
  "size",
  "focus",
  "split_direction",
  "borderless",
  "close_on_exit",
  "start_suspended",
  "edit",
  "plugin",
  "stacked",
  "expanded",
  "exclude_from_sync",
  "contents_file",
  "default_fg",
  "default_bg",
]);

/** Deepest template nesting followed (a template that uses itself never ends). */
const MAX_EXPANSION = 32;

/** A property of a node: on its title line, or as a child node's first value. */
export function prop(n: KdlNode, key: string): KdlValue | undefined {
  if (Object.hasOwn(n.properties, key)) return n.properties[key];
  return n.children.find((c) => c.name === key)?.values[0];
}

/**
 * A string property, or undefined when absent. Of another type (`command=5`, `cwd=true`) it is refused,
 * as zellij refuses the layout: ignored, the pane's command vanished without a word (review H39-6).
 */
export function str(n: KdlNode, key: string, at: string): string | undefined {
  const v = prop(n, key);
  if (v === undefined || typeof v === "string") return v;
  throw convertError(
    "import",
    `${at}: ${key} is ${JSON.stringify(v)}, not a string (zellij refuses the layout too)`,
  );
}

/** A value zellij takes from a few words (`split_direction`), checked as zellij checks it. */
export function oneOf<T extends string>(
  n: KdlNode,
  key: string,
  at: string,
  words: readonly T[],
): T | undefined {
  const v = str(n, key, at);
  if (v === undefined) return undefined;
  // As written or capitalised (`vertical`, `Vertical`), as zellij takes them; it refuses `VERTICAL`.
  const w = words.find((x) => x === v || `${x[0]!.toUpperCase()}${x.slice(1)}` === v);
  if (w !== undefined) return w;
  throw convertError(
    "import",
    `${at}: ${key} is ${JSON.stringify(v)}, not one of ${words.join(", ")} (zellij refuses the layout too)`,
  );
}

/** A boolean property (`focus`), refused when it is something else, as zellij refuses it. */
export function bool(n: KdlNode, key: string, at: string): boolean | undefined {
  const v = prop(n, key);
  if (v === undefined || typeof v === "boolean") return v;
  throw convertError(
    "import",
    `${at}: ${key} is ${JSON.stringify(v)}, not true or false (zellij refuses the layout too)`,
  );
}

/** A pane's `args`: strings, as zellij takes them (a number there is refused). */
export function argsOf(n: KdlNode, at: string): string[] {
  const values = n.children.find((k) => k.name === "args")?.values ?? [];
  const bad = values.find((v) => typeof v !== "string");
  if (bad !== undefined)
    throw convertError(
      "import",
      `${at}: args holds ${JSON.stringify(bad)}, not a string (zellij refuses the layout too)`,
    );
  return values as string[];
}

/** A pane's or tab's `size`: cells (a number or digits) or a percentage, as zellij reads it. */
export function sizeOf(n: KdlNode, at: string): string | number | undefined {
  const v = prop(n, "size");
  if (v === undefined) return undefined;
  if (typeof v === "number" && Number.isInteger(v) && v > 0) return v;
  if (typeof v === "string" && /^\d+$/.test(v) && Number(v) > 0) return v;
  // A percentage of 1 to 100 (zellij refuses 0% and 150%).
  const pct = typeof v === "string" && /^\d+%$/.test(v) ? Number(v.slice(0, -1)) : undefined;
  if (pct !== undefined && pct >= 1 && pct <= 100) return v as string;
  throw convertError(
    "import",
    `${at}: size is ${JSON.stringify(v)}, not a number of cells or a percentage (zellij refuses the layout too)`,
  );
}

/** True for a node that lays out panes (a pane, a pane template's use, the `children` slot). */
export function isPaneNode(n: KdlNode, t: Templates): boolean {
  return n.name === "pane" || n.name === "children" || n.name === "floating_panes" || t.panes.has(n.name);
}

/** Put `fill` where `children` is in `body` (once); without a slot, `fill` follows the body. */
export function fillChildren(body: KdlNode[], fill: KdlNode[]): KdlNode[] {
  let used = false;
  const walk = (nodes: KdlNode[]): KdlNode[] =>
    nodes.flatMap((n) => {
      if (n.name === "children" && !used) {
        used = true;
        return fill;
      }
      return n.children.length ? [{ ...n, children: walk(n.children) }] : [n];
    });
  const out = walk(body);
  return used ? out : [...out, ...fill];
}

/**
 * A use of a pane template, as the pane it stands for: the template's properties and child nodes, the
 * use's over them (a command template takes the use's `args`, `cwd`, `close_on_exit`, …), and the use's
 * panes in the template's `children` slot.
 */
export function expandPaneTemplate(use: KdlNode, t: Templates, depth: number): KdlNode {
  if (depth > MAX_EXPANSION)
    throw convertError(
      "import",
      `pane_template "${use.name}" uses itself (nested over ${MAX_EXPANSION} levels)`,
    );
  const tpl = t.panes.get(use.name)!;
  const { name: _, ...tplProps } = tpl.properties;
  const useProps = Object.keys(use.properties);
  const overridden = new Set([
    ...useProps,
    ...use.children.filter((c) => PANE_PROPS.has(c.name)).map((c) => c.name),
  ]);
  const tplChildren = tpl.children.filter((c) => !(PANE_PROPS.has(c.name) && overridden.has(c.name)));
  const props = Object.fromEntries(
    Object.entries(tplProps).filter(([k]) => !overridden.has(k) || useProps.includes(k)),
  );
  const useSettings = use.children.filter((c) => PANE_PROPS.has(c.name));
  const usePanes = use.children.filter((c) => !PANE_PROPS.has(c.name));
  const panes = fillChildren(
    tplChildren.filter((c) => !PANE_PROPS.has(c.name)),
    usePanes,
  );
  return {
    ...use,
    name: "pane",
    properties: { ...props, ...use.properties },
    children: [...tplChildren.filter((c) => PANE_PROPS.has(c.name)), ...useSettings, ...panes],
  };
}
