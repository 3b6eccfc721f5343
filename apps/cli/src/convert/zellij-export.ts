import type { LayoutConfig } from "@mc/core";
import { isBox, namedLayoutTree, type Tree, unflatten } from "@mc/core";
import { isLiteralPath, kdlString } from "@mc/zellij";
import { type Exported, layoutNotes, newNotes, type OutPane, tabPanes } from "./export-common.js";
import { exportLine, INTERACTIVE_SHELL } from "./shell.js";
import type { Notes } from "./types.js";

const CHROME = `    default_tab_template {
        pane size=1 borderless=true {
            plugin location="zellij:tab-bar"
        }
        children
        pane size=2 borderless=true {
            plugin location="zellij:status-bar"
        }
    }`;

const sizeProp = (s: string | number | undefined) =>
  s === undefined ? "" : ` size=${typeof s === "number" ? s : kdlString(s)}`;

/** A pane: the tab's shell (`$SHELL` unless the tab names one) runs the command with `-c`. */
function paneNode(
  p: OutPane,
  size: string | number | undefined,
  shell: string | undefined,
  layoutEnv: Record<string, string>,
  indent: string,
): string {
  const env = { ...layoutEnv, ...p.env };
  const focus = p.focus ? " focus=true" : "";
  const head = `${indent}pane cwd=${kdlString(p.dir)}${sizeProp(size)}${focus}`;
  if (p.command === undefined && Object.keys(env).length === 0) return head;
  const script = [...(Object.keys(env).length ? [exportLine(env)] : []), p.command ?? INTERACTIVE_SHELL].join(
    "\n",
  );
  return `${head} command=${kdlString(shell ?? "$SHELL")} {\n${indent}    args "-c" ${kdlString(script)}\n${indent}}`;
}

function treeNode(
  t: Tree<OutPane>,
  shell: string | undefined,
  env: Record<string, string>,
  indent: string,
): string {
  if (!isBox(t)) return paneNode(t.pane, t.size, shell, env, indent);
  const dir = t.dir === "right" ? "vertical" : "horizontal";
  const kids = t.children.map((k) => treeNode(k, shell, env, `${indent}    `)).join("\n");
  return `${indent}pane split_direction="${dir}"${sizeProp(t.size)} {\n${kids}\n${indent}}`;
}

function pathNotes(layout: LayoutConfig, notes: Notes): void {
  const dirs = layout.layoutTabs.flatMap((t) => [
    t.startDir,
    ...(t.panes ?? []).map((p) => p.startDir ?? ""),
  ]);
  if (
    dirs.some(
      (d) =>
        d.slice(d.startsWith("$HOME") ? 5 : d.startsWith("${HOME}") ? 7 : 0).includes("$") &&
        !isLiteralPath(d),
    )
  )
    notes.add(
      "startDir",
      "zellij replaces $VAR in cwd when it loads the layout (and refuses it when VAR is unset)",
    );
}

/** An mc layout as a zellij KDL layout that `zellij --layout FILE` opens. */
export function exportZellij(layout: LayoutConfig, cwd: string): Exported {
  const notes = newNotes();
  layoutNotes(layout, notes, { onStart: false, onStop: false });
  pathNotes(layout, notes);
  const env = { ...layout.env };
  const tabs = layout.layoutTabs.map((t) => {
    const panes = tabPanes(t, cwd);
    let tree: Tree<OutPane>;
    if (t.layout && panes.length > 1) {
      tree = namedLayoutTree(
        t.layout,
        panes.map((f) => f.pane),
      );
      notes.add(
        `tab ${JSON.stringify(t.tabName)} layout`,
        `zellij has no ${t.layout}; the panes are split in its shape`,
      );
    } else tree = unflatten(panes);
    const body = treeNode(tree, t.shell, env, "        ");
    return `    tab name=${kdlString(t.tabName)} {\n${body}\n    }`;
  });
  const header = `// zellij layout written by mc (sessions export --to zellij) from layout ${kdlString(layout.layoutName)}.\n// Open it with: zellij --layout <this file>`;
  return {
    format: "zellij",
    text: `${header}\nlayout {\n${CHROME}\n${tabs.join("\n")}\n}\n`,
    warnings: notes.list,
  };
}
