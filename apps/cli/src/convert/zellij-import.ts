import { type Flat, flatten, type LayoutConfig, type Split, shQuote, type Tree } from "@mc/core";
import type { Node as KdlNode } from "kdljs";
import { layoutsFile, mcName, type SourcePane, type SourceTab, toTab } from "./build.js";
import {
  argsOf,
  bool,
  expandPaneTemplate,
  fillChildren,
  isPaneNode,
  oneOf,
  PANE_PROPS,
  prop,
  sizeOf,
  str,
  type Templates,
} from "./kdl-tree.js";
import { expandVars, joinDir, mcDir } from "./paths.js";
import {
  INTERACTIVE_SHELL,
  parseExportLine,
  plainWords,
  programName,
  shellScriptOf,
  shPath,
} from "./shell.js";
import { convertError, type ImportContext, type Imported, Notes } from "./types.js";

const fail = (reason: string, hint?: string) => convertError("import", reason, hint);

/** zellij's own chrome: mc's zellij sessions have their own, so these panes are left out. */
const CHROME = new Set(["zellij:tab-bar", "zellij:status-bar", "zellij:compact-bar"]);

/** Pane settings mc has nothing for, and why. */
const COSMETIC: Record<string, string> = {
  borderless: "mc does not set pane frames",
  exclude_from_sync: "mc does not synchronize panes",
  contents_file: "mc does not preload pane contents",
  default_fg: "mc does not set pane colours",
  default_bg: "mc does not set pane colours",
  start_suspended: "mc starts every command at once",
  close_on_exit: "what a finished pane does is mc's --exit (shell, close or keep)",
  stacked: "stacked panes become a plain split",
  expanded: "stacked panes become a plain split",
};

interface Ctx {
  ctx: ImportContext;
  notes: Notes;
  t: Templates;
  /** The layout's `cwd`, the base of every relative one. */
  global: string | undefined;
  /** Pane nodes read so far, templates expanded (see {@link MAX_PANE_NODES}). */
  seen?: number;
}

/**
 * Most pane nodes a layout may expand to. Template nesting is capped in depth, but a few templates that
 * each use the next ten times make millions from a few hundred bytes; an mc tab holds 16 panes.
 */
const MAX_PANE_NODES = 10_000;

/** `~`, `$HOME` kept for mc; other variables replaced now, as zellij replaces them when it loads. */
function expandPath(c: Ctx, s: string, at: string): string {
  return mcDir(s, c.ctx.env, (used) =>
    c.notes.add(
      at,
      `$${used.join(", $")} replaced by ${used.length > 1 ? "their values" : "its value"} now (zellij does it at each load)`,
    ),
  );
}

const SPLITS = ["vertical", "horizontal"] as const;
const dirOf = (n: KdlNode, at: string): Split =>
  oneOf(n, "split_direction", at, SPLITS) === "vertical" ? "right" : "down";

/** A shell script as a pane: a first line `export A='1' …` as mc writes it is the pane's variables. */
function scriptPane(script: string, shell: string | undefined): Partial<SourcePane> {
  // The export line ends at the first newline after which the rest of it parses (values may hold newlines).
  let env: Record<string, string> | undefined;
  let body = script;
  for (let k = script.indexOf("\n"); k >= 0 && !env; k = script.indexOf("\n", k + 1)) {
    env = parseExportLine(script.slice(0, k));
    if (env) body = script.slice(k + 1);
  }
  const out: Partial<SourcePane> = { command: body === INTERACTIVE_SHELL || body === "" ? undefined : body };
  if (env) out.env = env;
  if (shell !== undefined) out.shell = shell;
  return out;
}

/** Properties of a pane zellij does not know (it refuses the layout): said, not carried over. */
function unknownProps(c: Ctx, n: KdlNode, at: string, floating = false): void {
  for (const k of Object.keys(n.properties))
    if (!PANE_PROPS.has(k) && !(floating && FLOATING_PROPS.has(k)))
      c.notes.add(`${at} ${k}`, "unknown property, not carried over");
}

/** A floating pane's place (said once for the tab: floating panes become tiled ones). */
const FLOATING_PROPS = new Set(["x", "y", "width", "height", "pinned"]);

/** A pane node with no child panes: what it runs and where. */
function leaf(c: Ctx, n: KdlNode, at: string, tabDir: string, floating = false): SourcePane | undefined {
  const plugin = n.children.find((k) => k.name === "plugin");
  const location = plugin
    ? String(plugin.properties.location ?? "")
    : typeof prop(n, "plugin") === "string"
      ? String(prop(n, "plugin"))
      : undefined;
  if (location !== undefined) {
    if (CHROME.has(location))
      c.notes.add(
        `plugin ${location}`,
        "zellij's own bars are left out (mc's zellij sessions have their own)",
      );
    else c.notes.add(at, `plugin pane ${JSON.stringify(location)} not carried over`);
    return undefined;
  }
  for (const [k, why] of Object.entries(COSMETIC))
    if (prop(n, k) !== undefined) c.notes.add(`${at} ${k}`, `${why}; not carried over`);
  unknownProps(c, n, at, floating);
  const cwd = str(n, "cwd", at);
  const pane: SourcePane = {
    startDir: cwd === undefined ? tabDir : joinDir(tabDir, expandPath(c, cwd, `${at} cwd`)),
  };
  const command = str(n, "command", at);
  const edit = str(n, "edit", at);
  if (command !== undefined) {
    const args = argsOf(n, at);
    // `$SHELL -c SCRIPT` (what mc's exporter writes) runs the script in the user's shell, as mc does.
    const userShell = command === "$SHELL" || command === "${SHELL}";
    const program = userShell
      ? { text: "sh", used: [] }
      : expandVars(command, c.ctx.env, (v) => v === "HOME");
    if (program.used.length)
      c.notes.add(`${at} command`, `$${program.used.join(", $")} replaced now (zellij does it at each load)`);
    const script = shellScriptOf([program.text, ...args]);
    if (script === undefined) pane.command = [shPath(program.text), ...args.map(shQuote)].join(" ");
    // `sh -c` is how layouts run a command line at all: the script alone when any shell reads it alike,
    // else with the shell zellij would run it with as the tab's `shell` (review H66-3: a POSIX loop ran
    // under the user's fish). `$SHELL -c` (mc's export) is the user's shell, as mc's default.
    else
      Object.assign(
        pane,
        scriptPane(
          script,
          userShell || (programName(program.text) === "sh" && plainWords(script)) ? undefined : program.text,
        ),
      );
  } else if (edit !== undefined) {
    const file = joinDir(pane.startDir, expandPath(c, edit, `${at} edit`));
    pane.command = `"\${EDITOR:-vi}" ${shPath(file)}`;
    c.notes.add(
      `${at} edit`,
      "becomes a command that opens $EDITOR (zellij uses its scrollback editor, then $EDITOR)",
    );
  }
  if (bool(n, "focus", at) === true) pane.focus = true;
  const name = str(n, "name", at);
  if (name !== undefined)
    c.notes.add(`${at} name`, `pane name ${JSON.stringify(name)} not carried over (mc panes have no names)`);
  return pane;
}

/** The tree of a pane node (a box when it has child panes), or undefined when nothing of it is kept. */
function paneTree(
  c: Ctx,
  raw: KdlNode,
  at: string,
  tabDir: string,
  floating: SourcePane[],
  depth: number,
): Tree<SourcePane> | undefined {
  c.seen = (c.seen ?? 0) + 1;
  if (c.seen > MAX_PANE_NODES)
    throw convertError(
      "import",
      `the layout's panes expand to more than ${MAX_PANE_NODES} (at ${at}): its pane_template uses multiply them`,
    );
  const n = c.t.panes.has(raw.name) ? expandPaneTemplate(raw, c.t, depth) : raw;
  if (n.name === "children") return undefined;
  if (n.name === "floating_panes") {
    n.children.forEach((f, i) => {
      const p =
        f.name === "pane" || c.t.panes.has(f.name)
          ? leaf(
              c,
              c.t.panes.has(f.name) ? expandPaneTemplate(f, c.t, depth) : f,
              `${at} floating pane ${i + 1}`,
              tabDir,
              true,
            )
          : undefined;
      if (p) floating.push(p);
    });
    return undefined;
  }
  const kids = n.children.filter((k) => !PANE_PROPS.has(k.name));
  for (const k of kids)
    if (!isPaneNode(k, c.t)) c.notes.add(`${at} ${k.name}`, "unknown node, not carried over");
  const panes = kids.filter((k) => isPaneNode(k, c.t));
  const sized = sizeOf(n, at);
  if (!panes.length) {
    const p = leaf(c, n, at, tabDir);
    return p ? { pane: p, size: sized } : undefined;
  }
  unknownProps(c, n, at);
  return box(c, dirOf(n, at), panes, at, tabDir, floating, depth + 1, sized);
}

function box(
  c: Ctx,
  dir: Split,
  nodes: KdlNode[],
  at: string,
  tabDir: string,
  floating: SourcePane[],
  depth: number,
  size?: string | number,
): Tree<SourcePane> | undefined {
  const children = nodes
    .map((k, i) => paneTree(c, k, `${at} > pane ${i + 1}`, tabDir, floating, depth))
    .filter((k): k is Tree<SourcePane> => k !== undefined);
  if (children.length === 0) return undefined;
  if (children.length === 1) return { ...children[0]!, size };
  return { dir, children, size };
}

/** What a tab's title line may set (zellij refuses others). */
const TAB_PROPS = new Set(["name", "cwd", "focus", "split_direction", "hide_floating_panes"]);

/** One tab (a `tab` node, a tab template's use, or the whole layout when it has no tabs). */
function tabOf(c: Ctx, node: KdlNode, index: number, body: KdlNode[]): SourceTab & { focus: boolean } {
  // A tab's settings are on its title line only (the layout node's `cwd` child is the global cwd).
  const title = (k: string) => node.properties[k];
  const titled = { ...node, children: [] };
  // A name that is not a string: zellij ignores it (the tab gets its default name), so does mc, and says so.
  const rawName = title("name");
  const given = typeof rawName === "string" ? rawName : undefined;
  const name = given ?? `Tab #${index + 1}`;
  const at = `tab ${JSON.stringify(name)}`;
  const cwd = str(titled, "cwd", at);
  for (const k of Object.keys(node.properties))
    if (!TAB_PROPS.has(k)) c.notes.add(`${at} ${k}`, "unknown property, not carried over");
  if (rawName !== undefined && given === undefined)
    c.notes.add(`${at} name`, `${JSON.stringify(rawName)} is not a string; zellij ignores it too`);
  for (const k of body)
    if (!isPaneNode(k, c.t) && !PANE_PROPS.has(k.name))
      c.notes.add(`${at} ${k.name}`, "unknown node, not carried over (zellij refuses it)");
  const tabDir = cwd === undefined ? (c.global ?? ".") : joinDir(c.global, expandPath(c, cwd, `${at} cwd`));
  const floating: SourcePane[] = [];
  const tree = box(
    c,
    oneOf(titled, "split_direction", at, SPLITS) === "vertical" ? "right" : "down",
    body.filter((k) => isPaneNode(k, c.t)),
    at,
    tabDir,
    floating,
    0,
  ) ?? { pane: { startDir: tabDir } };
  const flat = flatten(tree);
  if (!flat.exact) c.notes.add(at, "nested splits approximated: mc splits each pane from the one before");
  const panes: Flat<SourcePane>[] = [...flat.panes];
  if (floating.length)
    c.notes.add(
      at,
      floating.length === 1
        ? "a floating pane becomes a tiled pane at the end"
        : `${floating.length} floating panes become tiled panes at the end`,
    );
  for (const p of floating) panes.push({ pane: { ...p, focus: false }, split: "right" });
  const first = panes.findIndex((p) => p.pane.focus);
  panes.forEach((p, i) => {
    if (i === first && i > 0) p.pane.focus = true;
    else delete p.pane.focus;
  });
  if (title("hide_floating_panes") !== undefined)
    c.notes.add(`${at} hide_floating_panes`, "not carried over");
  return { name, at, panes, focus: bool(titled, "focus", at) === true };
}

/** The tab nodes of the layout with their bodies, templates applied. */
function tabsOf(c: Ctx, layout: KdlNode): { node: KdlNode; body: KdlNode[] }[] {
  const out: { node: KdlNode; body: KdlNode[] }[] = [];
  for (const n of layout.children) {
    const tpl = n.name === "tab" ? c.t.defaultTab : c.t.tabs.get(n.name);
    if (n.name !== "tab" && !c.t.tabs.has(n.name)) continue;
    const body = tpl ? fillChildren(tpl.children, n.children) : n.children;
    const { name: _, ...tplProps } = tpl && tpl !== c.t.defaultTab ? tpl.properties : {};
    out.push({ node: { ...n, properties: { ...tplProps, ...n.properties } }, body });
  }
  return out;
}

/** Templates and settings of the layout node; what is neither is a warning. */
function readLayoutNode(notes: Notes, layout: KdlNode): { t: Templates; global: string | undefined } {
  const t: Templates = { panes: new Map(), tabs: new Map() };
  let global: string | undefined;
  for (const n of layout.children) {
    const name = typeof n.properties.name === "string" ? n.properties.name : undefined;
    if (n.name === "pane_template" && name) t.panes.set(name, n);
    else if (n.name === "tab_template" && name) t.tabs.set(name, n);
    else if (n.name === "default_tab_template") t.defaultTab = n;
    else if (n.name === "cwd" && typeof n.values[0] === "string") global = n.values[0];
    else if (n.name === "new_tab_template")
      notes.add("new_tab_template", "used by zellij for tabs opened later; not carried over");
    else if (n.name === "swap_tiled_layout" || n.name === "swap_floating_layout")
      notes.add(n.name, "zellij's alternative arrangements are not carried over");
  }
  const rest = layout.children.filter(
    (n) =>
      ![
        "pane_template",
        "tab_template",
        "default_tab_template",
        "cwd",
        "new_tab_template",
        "swap_tiled_layout",
        "swap_floating_layout",
        "tab",
        "pane",
        "floating_panes",
        "children",
      ].includes(n.name) &&
      !t.tabs.has(n.name) &&
      !t.panes.has(n.name),
  );
  for (const n of rest) notes.add(n.name, "unknown node, not carried over");
  return { t, global };
}

/** A zellij KDL layout (already parsed) as an mc layouts file with one layout named `name`. */
export function importZellij(doc: KdlNode[], ctx: ImportContext, source: string, name: string): Imported {
  const layouts = doc.filter((n) => n.name === "layout");
  if (layouts.length !== 1)
    throw fail(`${source}: a zellij layout has exactly one layout node, this has ${layouts.length}`);
  const notes = new Notes();
  for (const n of doc)
    if (n.name !== "layout")
      notes.add(n.name, "zellij configuration, not part of the layout; not carried over");
  const layoutNode = layouts[0]!;
  const { t, global } = readLayoutNode(notes, layoutNode);
  const c: Ctx = {
    ctx,
    notes,
    t,
    global:
      global === undefined ? undefined : expandPath({ ctx, notes, t, global: undefined }, global, "cwd"),
  };
  const tabNodes = tabsOf(c, layoutNode);
  const hasPanes = layoutNode.children.some(
    (n) => n.name === "pane" || n.name === "floating_panes" || t.panes.has(n.name),
  );
  if (tabNodes.length && hasPanes)
    throw fail(`${source}: the layout has both tabs and panes (zellij refuses it too)`);
  const tabs = tabNodes.length
    ? tabNodes.map((x, i) => tabOf(c, x.node, i, x.body))
    : [tabOf(c, layoutNode, 0, layoutNode.children)];
  const focused = tabs.find((x) => x.focus);
  if (focused && focused !== tabs[0])
    notes.add(`${focused.at} focus`, "mc opens a session on its first tab; not carried over");
  const layout: LayoutConfig = {
    layoutName: mcName(name, source, "layoutName"),
    layoutTabs: tabs.map((x) => toTab(x, notes)),
  };
  return {
    format: "zellij",
    file: layoutsFile([layout], [tabs.map((x) => x.at)], source),
    warnings: notes.list,
  };
}
