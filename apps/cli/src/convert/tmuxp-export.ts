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
import { argvCommand, INTERACTIVE_SHELL } from "./shell.js";
import { formatTmuxLayout } from "./tmux-layout.js";
import type { Notes } from "./types.js";
import { yamlText } from "./yaml-out.js";

/** tmuxp builds every window 800×600 (`new-session -x 800 -y 600`): layout strings are made for that. */
const TMUXP_SIZE = [800, 600] as const;

/** tmuxp reads these alone as "no command": a command by that name is written as `{cmd: …}`. */
const BLANK_WORDS = new Set(["blank", "pane"]);

// tmuxp runs os.path.expandvars/expanduser over names, directories, variables' values and commands.
const EXPANDS = /\$(\w|\{)/;

/**
 * What tmuxp's `os.path.expandvars` may replace in `s` (CPython posixpath: `\$(\w+|\{[^}]*\})` with re.ASCII,
 * left to right, each replaced only when the loading process's environment has the name): each `$NAME` or
 * `${NAME}` as written, with its NAME. `$1` is one; `${}` and a name holding `=` are not, no environment
 * can hold them.
 */
export function expandvarsRefs(s: string): { text: string; name: string }[] {
  return [...s.matchAll(/\$([A-Za-z0-9_]+|\{[^}]*\})/g)]
    .map((m) => ({ text: m[0], name: m[1]!.startsWith("{") ? m[1]!.slice(1, -1) : m[1]! }))
    .filter((r) => r.name !== "" && !r.name.includes("="));
}

const listed = (xs: readonly string[]) => [...new Set(xs)].join(", ");

/**
 * A command's `$NAME`s, which tmuxp replaces when it loads the file with the value in its OWN environment:
 * not the pane's (a variable of the layout's `env` is the tmux session's, not tmuxp's), and before the
 * command runs (`cd /x && echo "$PWD"`, `X=1; echo $X` get tmuxp's values). The shell would expand them
 * later, in the pane (review H56-1).
 */
function commandNotes(
  command: string,
  at: string,
  envs: readonly (readonly [string, Record<string, string> | undefined])[],
  notes: Notes,
): void {
  const refs = expandvarsRefs(command);
  if (!refs.length) return;
  const quoted = /'[^']*\$(\w|\{)[^']*'/.test(command) ? ", also inside single quotes" : "";
  notes.add(
    at,
    `tmuxp replaces ${listed(refs.map((r) => r.text))} when it loads the file${quoted}, with the value in tmuxp's own environment where that has the variable: not the pane's value, nor one the command sets first (a cd, X=1)`,
  );
  for (const [whose, env] of envs) {
    const keys = refs.map((r) => r.name).filter((n) => env !== undefined && Object.hasOwn(env, n));
    if (keys.length)
      notes.add(
        at,
        `${listed(keys)}: set by the ${whose}'s env, which is the pane's environment, not tmuxp's: where tmuxp's own environment has ${keys.length === 1 ? "it" : "them"}, the command gets that value instead`,
      );
  }
}

function expansionNotes(layout: LayoutConfig, notes: Notes): void {
  // The session's name as written: its `$` may have become `_` (review H58-6: warned of what was not left).
  const names = [tmuxSessionName(layout.layoutName, newNotes()), ...layout.layoutTabs.map((t) => t.tabName)];
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
  layout.layoutTabs.forEach((t, ti) => {
    const at = `tab ${JSON.stringify(t.tabName)}`;
    [t, ...(t.panes ?? [])].forEach((p, i) => {
      // An interactive shell is written as none: its `${SHELL:-/bin/sh}` never reaches tmuxp.
      if (p.command !== undefined && p.command !== INTERACTIVE_SHELL)
        commandNotes(
          p.command,
          fieldOf(at, ti, i),
          [["layout", layout.env], ["tab", t.env], ...(i ? ([["pane", p.env]] as const) : [])],
          notes,
        );
    });
  });
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
