import { resolve } from "node:path";
import { type Flat, type LayoutConfig, type LayoutsFile, McError, type TabConfig } from "@mc/core";
import { TILDE } from "./paths.js";
import { INTERACTIVE_SHELL, isTmuxKeyName, linesStandAlone } from "./shell.js";
import { convertError, type Format, Notes } from "./types.js";

/** One pane of an mc tab, as the exporters see it (the tab's own first, then its `panes`). */
export interface OutPane {
  /** The command; undefined for an interactive shell. */
  command: string | undefined;
  /** Absolute, or `~`-relative. */
  dir: string;
  /** The tab's variables and the pane's (not the layout's). */
  env: Record<string, string>;
  focus: boolean;
}

/** What `sessions export` produced: the file's text and what could not be carried over. */
export interface Exported {
  format: Format;
  text: string;
  warnings: { at: string; message: string }[];
}

/** The layout to export: the only one, or the one named. */
export function pickLayout(file: LayoutsFile, name: string | undefined): LayoutConfig {
  if (name !== undefined) {
    const l = file.layouts.find((x) => x.layoutName === name);
    if (l) return l;
    // A choice the user makes (or left out) is a usage error, as `run -c` says it (review H48-6: exit 3,
    // "invalid layouts file", for a valid file).
    throw new McError("USAGE", `no layout named ${JSON.stringify(name)}`, {
      backend: "cli",
      op: "export",
      hint: `the file has: ${file.layouts.map((x) => x.layoutName).join(", ")}`,
    });
  }
  if (file.layouts.length === 1) return file.layouts[0]!;
  throw new McError(
    "USAGE",
    `the file has ${file.layouts.length} layouts and a tmuxp, tmuxinator or zellij file holds one session`,
    {
      backend: "cli",
      op: "export",
      hint: `choose one with --layout (${file.layouts.map((x) => x.layoutName).join(", ")})`,
    },
  );
}

/**
 * A startDir for another tool: a relative one is made absolute against `cwd` (mc reads it against the
 * directory sessions runs in; the other tools each read it differently), `$HOME` becomes `~`.
 */
export function outDir(dir: string, cwd: string): string {
  const d = dir.replace(/^(\$HOME|\$\{HOME\})(?=\/|$)/, "~");
  return d.startsWith("/") || TILDE.test(d) ? d : resolve(cwd, d);
}

/** Every pane of a tab with what it inherits from the tab. */
export function tabPanes(tab: TabConfig, cwd: string): Flat<OutPane>[] {
  const dir = outDir(tab.startDir, cwd);
  const first: OutPane = {
    command: tab.command === INTERACTIVE_SHELL ? undefined : tab.command,
    dir,
    env: { ...tab.env },
    focus: false,
  };
  const rest = (tab.panes ?? []).map((p) => {
    const pane: OutPane = {
      command: p.command === INTERACTIVE_SHELL ? undefined : p.command,
      dir: p.startDir === undefined ? dir : outDir(p.startDir, cwd),
      env: { ...tab.env, ...p.env },
      focus: Boolean(p.focus),
    };
    const f: Flat<OutPane> = { pane, split: p.split ?? "right" };
    if (p.size !== undefined) f.size = p.size;
    return f;
  });
  const all: Flat<OutPane>[] = [{ pane: first }, ...rest];
  if (!all.some((p) => p.pane.focus)) first.focus = true;
  return all;
}

/** Warnings for what an mc layout has and the other tools do not. */
export function layoutNotes(
  layout: LayoutConfig,
  notes: Notes,
  hooks: { onStart: boolean; onStop: boolean },
): void {
  if (layout.onStart && !hooks.onStart)
    notes.add("onStart", "this tool has no hook run when a session starts; not carried over");
  if (layout.onStop && !hooks.onStop)
    notes.add("onStop", "this tool has no hook run when a session ends; not carried over");
  layout.layoutTabs.forEach((t) => {
    const at = `tab ${JSON.stringify(t.tabName)}`;
    if (t.dependsOn?.length)
      notes.add(`${at} dependsOn`, "the tool starts every tab at once; not carried over");
    if (t.readiness) notes.add(`${at} readiness`, "not carried over");
    if (t.retry) notes.add(`${at} retry`, "the tool runs a command once; not carried over");
    if (t.tabWeight !== undefined)
      notes.add(`${at} tabWeight`, "only mc's balance-load uses it; not carried over");
  });
}

/**
 * A command as the lines tmuxp or tmuxinator type into the pane's shell: one item per line when every
 * line stands alone, else the whole text as one item (typed with its newlines, so a here-document or a
 * quoted newline arrives intact). Without `leadingSpace` (tmuxinator) a line tmux would read as a key
 * name (`end`, `C-c`) or as flags (`-x`) gets one: the shell ignores it, and the importer takes it off.
 */
export function typedItems(command: string, leadingSpace: boolean): string[] {
  const items = command.includes("\n") && linesStandAlone(command) ? command.split("\n") : [command];
  // Spaces then a key name get one more too: the importer takes exactly one off. So does a line that
  // starts with `-` (spaces before it or not): tmuxinator's `send-keys -t W LINE` would read it as flags.
  const keys = leadingSpace
    ? items
    : items.map((l) => (isTmuxKeyName(l.replace(/^ +/, "")) || /^ *-/.test(l) ? ` ${l}` : l));
  // Both tools hand the line to tmux's send-keys, and tmux reads an argument ending in `;` as a command
  // separator (a final `\;` becomes `;`): `find … -exec rm {} \;` arrived cut (review H32-11). A space
  // after it is nothing to the shell; the importers take it off.
  return keys.map(trailingSemicolon);
}

/**
 * A typed line ending in `;` with one space after it ({@link typedItems}), as tmux will pass it on. One
 * that ends in `;` and spaces already gets one more too: the importer takes exactly one off.
 */
export function trailingSemicolon(line: string): string {
  return /; *$/.test(line) ? `${line} ` : line;
}

/**
 * Where pane `i` of tab `ti` (0: the tab's own command) is in the layout, for messages: the tab by name
 * and the exact field (`tab "a" (layoutTabs[1].panes[0].command)`), as validation names fields.
 */
export function fieldOf(at: string, ti: number, i: number): string {
  return `${at} (layoutTabs[${ti}]${i ? `.panes[${i - 1}]` : ""}.command)`;
}

/**
 * tmuxp and tmuxinator TYPE a pane's lines into its shell, where a control character edits the line
 * before it runs (Ctrl+U erases what came before, Tab completes, Ctrl+C abandons it, a carriage return
 * runs what came before early): the pane would run another command than the layout's. Refused.
 */
export function checkTyped(lines: readonly string[], at: string, tool: string): void {
  for (const l of lines) {
    const c = /[\u0000-\u0009\u000b-\u001f\u007f]/.exec(l)?.[0];
    if (c === undefined) continue;
    const code = `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
    throw convertError(
      "export",
      `${at}: what it types holds the control character ${code}; ${tool} types it into the shell, which would edit the line (Ctrl+U erases it, Tab completes, …) and run another command`,
      "write the character with printf or $'\\x..' in the command, or export to zellij (which runs commands rather than typing them)",
    );
  }
}

/** A fresh warning list for one export. */
export const newNotes = () => new Notes();

/** What tmux reads as a format in a session or window name and a start directory (`#(…)` runs a command). */
export const TMUX_FORMAT = /#[({[#,}A-Za-z]/;

/**
 * A session or window name for a file tmux will load (tmuxp, tmuxinator): tmux expands formats in
 * `new-session -s`, `new-window -n` and `-c`, so a `#` that would start one becomes `_`, with a warning.
 */
export function tmuxName(name: string, at: string, notes: Notes): string {
  if (!TMUX_FORMAT.test(name)) return name;
  const safe = name.replaceAll("#", "_");
  notes.add(
    at,
    `written as ${JSON.stringify(safe)}: tmux reads #(…) and #{…} in names as formats, and would run #(…)`,
  );
  return safe;
}

/**
 * A session name for tmuxp or tmuxinator: {@link tmuxName}, and `.` and `:` as tmux keeps them (`_`), `\`
 * and a `$` tmux would escape as `_` too, with a warning: libtmux refuses a name with `.` (BadSessionName), and tmuxinator's later commands target the
 * name as written, which tmux renamed, so nothing was typed into the session (review H32-7).
 */
export function tmuxSessionName(name: string, notes: Notes): string {
  const safe = tmuxName(name, "layoutName", notes);
  const spaced = safe.replace(/[.: ]/g, "_");
  // What tmux would store escaped (@mc/tmux tmuxStoredName): a `$` before `_` is one too, so a run of `$`
  // goes whole (`a$$b` is `a__b`, not `a$_b`).
  const kept = spaced.replaceAll("\\", "_").replace(/\$+(?=[A-Za-z_{])/g, (run) => "_".repeat(run.length));
  if (kept === safe) return safe;
  const why = [
    ...(/[.:]/.test(safe)
      ? [
          "tmux keeps . and : in a session's name as _ (tmuxp refuses them, and tmuxinator would lose the session it made)",
        ]
      : []),
    // The name `sessions run` gives the session on tmux, so a script's `tmux attach -t` finds either (review H33-7).
    ...(safe.includes(" ") ? ["sessions run spells a space in a session's name as _ on tmux"] : []),
    // tmux 3.3a stores `\` as `\\` and `${`/`$x` as `\${`/`\$x` (review H56-2): tmuxp then failed an
    // assertion on the name it read back, and tmuxinator typed every command into a session it could not find.
    ...(kept !== spaced
      ? [
          "tmux keeps \\ and a $ before a letter, _ or { in a session's name escaped (\\\\, \\$), under which tmuxp and tmuxinator would not find the session they made",
        ]
      : []),
  ];
  notes.add("layoutName", `written as ${JSON.stringify(kept)}: ${why.join("; ")}`);
  return kept;
}

/** A start directory tmux gets with `-c` (a format there would be expanded, `#(…)` run): refused. */
export function tmuxDir(dir: string, at: string): string {
  if (!TMUX_FORMAT.test(dir)) return dir;
  throw convertError(
    "export",
    `${at}: the start directory ${JSON.stringify(dir)} holds what tmux reads as a format (#(…), #{…}), which it would expand or run when it loads the file`,
    "start that tab in another directory, or export to zellij",
  );
}
