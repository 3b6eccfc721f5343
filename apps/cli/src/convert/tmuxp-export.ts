import type { LayoutConfig } from "@mc/core";
import { type Flat, unflatten } from "@mc/core";
import {
  checkTyped,
  type Exported,
  fieldOf,
  layoutNotes,
  newNotes,
  type OutPane,
  outDir,
  tabPanes,
  tmuxDir,
  tmuxName,
  tmuxSessionName,
  typedItems,
} from "./export-common.js";
import { argvCommand } from "./shell.js";
import { formatTmuxLayout } from "./tmux-layout.js";
import type { Notes } from "./types.js";
import { yamlText } from "./yaml-out.js";

/** tmuxp builds every window 800×600 (`new-session -x 800 -y 600`): layout strings are made for that. */
const TMUXP_SIZE = [800, 600] as const;

/** tmuxp reads these alone as "no command": a command by that name is written as `{cmd: …}`. */
const BLANK_WORDS = new Set(["blank", "pane"]);

// tmuxp runs os.path.expandvars/expanduser over names, directories, variables' values and commands.
const EXPANDS = /\$(\w|\{)/;

function expansionNotes(layout: LayoutConfig, notes: Notes): void {
  const names = [layout.layoutName, ...layout.layoutTabs.map((t) => t.tabName)];
  if (names.some((n) => EXPANDS.test(n) || n.startsWith("~")))
    notes.add("names", "tmuxp replaces $VAR and a leading ~ in session and window names when it loads them");
  const values = [
    layout.env,
    ...layout.layoutTabs.flatMap((t) => [t.env, ...(t.panes ?? []).map((p) => p.env)]),
  ];
  if (
    values.some((e) =>
      Object.values(e ?? {}).some((v) => EXPANDS.test(v) || v.startsWith(".") || v.startsWith("~")),
    )
  )
    notes.add(
      "env",
      "tmuxp replaces $VAR in variables' values, a leading ~ with a home directory, and makes a value starting with . a path when it loads them",
    );
  const cmds = layout.layoutTabs.flatMap((t) => [t.command, ...(t.panes ?? []).map((p) => p.command ?? "")]);
  if (cmds.some((c) => /'[^']*\$(\w|\{)[^']*'/.test(c)))
    notes.add("commands", "tmuxp replaces $VAR in commands when it loads them, also inside single quotes");
  if (layout.onStart && EXPANDS.test(layout.onStart))
    notes.add("onStart", "tmuxp replaces $VAR in before_script when it loads it");
  // mc takes a start directory as written; tmuxp expands it, and has no escape for a `$` (review H39-3).
  const dirs = layout.layoutTabs.flatMap((t) => [
    t.startDir,
    ...(t.panes ?? []).map((p) => p.startDir ?? ""),
  ]);
  if (dirs.some((d) => EXPANDS.test(d)))
    notes.add(
      "startDir",
      "tmuxp replaces $VAR in start_directory when it loads it (there is no escape for $): a directory whose name holds $ opens elsewhere",
    );
}

function paneEntry(
  f: Flat<OutPane>,
  windowDir: string,
  tabEnv: Record<string, string>,
  many: boolean,
  at: string,
): Record<string, unknown> {
  const p = f.pane;
  const items = p.command === undefined ? [] : typedItems(p.command, true);
  checkTyped(items, at, "tmuxp");
  const entry: Record<string, unknown> = {
    shell_command: items.length === 1 && BLANK_WORDS.has(items[0]!) ? [{ cmd: items[0] }] : items,
  };
  if (p.dir !== windowDir) entry.start_directory = tmuxDir(p.dir, "a pane");
  // A pane's environment replaces the window's in tmuxp, so it is written whole.
  const same =
    Object.keys(p.env).length === Object.keys(tabEnv).length &&
    Object.entries(p.env).every(([k, v]) => tabEnv[k] === v);
  if (!same) entry.environment = p.env;
  if (p.focus && many) entry.focus = true;
  return entry;
}

/** An mc layout as a tmuxp workspace (YAML) that `tmuxp load` builds into the same windows and panes. */
export function exportTmuxp(layout: LayoutConfig, cwd: string): Exported {
  const notes = newNotes();
  layoutNotes(layout, notes, { onStart: true, onStop: false });
  expansionNotes(layout, notes);
  const first = layout.layoutTabs[0]!;
  const doc: Record<string, unknown> = {
    session_name: tmuxSessionName(layout.layoutName, notes),
    start_directory: tmuxDir(outDir(first.startDir, cwd), `tab ${JSON.stringify(first.tabName)}`),
  };
  if (layout.env && Object.keys(layout.env).length) doc.environment = layout.env;
  // tmuxp runs before_script without a shell (shlex-split), in the session's start_directory.
  if (layout.onStart) doc.before_script = argvCommand(["sh", "-c", layout.onStart]);
  doc.windows = layout.layoutTabs.map((tab, ti) => {
    const panes = tabPanes(tab, cwd);
    const dir = panes[0]!.pane.dir;
    const at = `tab ${JSON.stringify(tab.tabName)}`;
    const w: Record<string, unknown> = {
      window_name: tmuxName(tab.tabName, at, notes),
      start_directory: tmuxDir(dir, at),
    };
    if (tab.layout) w.layout = tab.layout;
    else if (panes.length > 1) w.layout = formatTmuxLayout(unflatten(panes), ...TMUXP_SIZE);
    if (tab.shell) w.window_shell = tab.shell;
    if (tab.env && Object.keys(tab.env).length) w.environment = tab.env;
    w.panes = panes.map((f, i) => paneEntry(f, dir, { ...tab.env }, panes.length > 1, fieldOf(at, ti, i)));
    return w;
  });
  const header = `tmuxp workspace written by mc (sessions export --to tmuxp) from layout ${JSON.stringify(layout.layoutName)}.\nLoad it with: tmuxp load <this file>`;
  return { format: "tmuxp", text: yamlText(doc, header), warnings: notes.list };
}
