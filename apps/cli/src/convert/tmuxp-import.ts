import { dirname } from "node:path";
import type { Flat } from "@mc/core";
import { type LayoutConfig, shQuote } from "@mc/core";
import { layoutsFile, mcName, type SourcePane, type SourceTab, toTab } from "./build.js";
import { joinDir, TILDE } from "./paths.js";
import { shellScriptOf, shlexSplit, shPath } from "./shell.js";
import {
  before,
  type Cmd,
  type Ctx,
  commandOf,
  dirOf,
  eachWindow,
  envOf,
  expandCmds,
  expanded,
  fail,
  layoutOf,
  PANE_KEYS,
  paneMap,
  SESSION_KEYS,
  WINDOW_KEYS,
  withShell,
} from "./tmuxp-panes.js";
import { type ImportContext, type Imported, isMap, Notes, type Plain } from "./types.js";
import { loc, pyStr, pyTruthy, unknownKeys } from "./values.js";

/** What a window inherits from its session. */
interface Session {
  dir: string | undefined;
  before: Cmd[];
}

/** A name tmuxp runs through `expandshell` (`~` and variables). */
function nameOf(c: Ctx, v: Plain, at: string): string {
  const s = expanded(c, v, at, false);
  const home = c.ctx.env.HOME;
  return home !== undefined ? s.replace(TILDE, home) : s;
}

/** `suppress_history: false` where it is written: mc cannot put commands into a shell's history. */
function historyNote(c: Ctx, level: Record<string, Plain>, at: string): void {
  if ("suppress_history" in level && !pyTruthy(level.suppress_history))
    c.notes.add(
      loc(at, "suppress_history"),
      "mc runs commands from a file, so they never reach the shell's history",
    );
}

/** `before_script`: tmuxp runs it (split like shlex, no shell) in the session's directory, before the windows. */
function beforeScript(
  c: Ctx,
  v: Plain | undefined,
  fileDir: string,
  dir: string | undefined,
  firstDir: string,
): string | undefined {
  if (v === undefined || v === null) return undefined;
  const s = expanded(c, v, "before_script", true);
  let words: string[];
  try {
    words = shlexSplit(s.startsWith(".") ? joinDir(fileDir, s) : s);
  } catch (e) {
    throw fail(`before_script: ${(e as Error).message}`);
  }
  const [program, ...args] = words;
  if (!program) return undefined;
  c.notes.add(
    "before_script",
    "becomes onStart; tmuxp kills the session when it fails, mc's onStart rules apply instead",
  );
  // `sh -c SCRIPT` (what sessions export writes) is the script itself.
  const run = shellScriptOf(words) ?? [shPath(program), ...args.map(shQuote)].join(" ");
  return (dir ?? ".") === firstDir ? run : `cd -- ${shPath(dir ?? ".")} || exit\n${run}`;
}

function sessionNotes(c: Ctx, data: Record<string, Plain>): void {
  const each = (key: string, why: string) => {
    const v = data[key];
    if (isMap(v)) for (const k of Object.keys(v)) c.notes.add(loc(key, k), why);
  };
  each("options", "tmux session option, not carried over (mc does not set tmux options)");
  each("global_options", "tmux server option, not carried over (mc does not set tmux options)");
  if (Array.isArray(data.plugins) && data.plugins.length)
    c.notes.add("plugins", "tmuxp plugins (Python) are not carried over");
  historyNote(c, data, "");
  for (const k of ["workspace_builder", "workspace_builder_paths", "workspace_builder_options"])
    if (k in data) c.notes.add(k, "tmuxp's builder settings have no counterpart in mc; not carried over");
  for (const k of ["config", "socket_name", "shell_command"])
    if (k in data) c.notes.add(k, "ignored by tmuxp load, and not carried over");
}

/** tmux window numbers: `window_index` where given, else the lowest free one, in file order. */
function windowIndexes(windows: Plain[]): number[] {
  const used = new Set<number>();
  return windows.map((w) => {
    const given = isMap(w) && typeof w.window_index === "number" ? w.window_index : undefined;
    let i = given ?? 0;
    if (given === undefined) while (used.has(i)) i++;
    used.add(i);
    return i;
  });
}

/** One pane of a window: its directory, variables, commands and program. */
function paneOf(
  c: Ctx,
  w: Record<string, Plain>,
  raw: Plain,
  i: number,
  at: string,
  dirs: { own?: string | undefined; trickled?: string | undefined },
  s: Session,
): SourcePane {
  const pat = loc(loc(at, "panes"), i);
  const pm = paneMap(raw, pat);
  unknownKeys(pm, PANE_KEYS, pat, c.notes, "tmuxp");
  const dir =
    pm.start_directory != null
      ? dirOf(c, pm.start_directory, loc(pat, "start_directory"), dirs.own ?? dirs.trickled)
      : dirs.trickled;
  const env =
    "environment" in pm
      ? envOf(c, pm.environment, loc(pat, "environment"), c.ctx.cwd)
      : envOf(c, w.environment, loc(at, "environment"), c.ctx.cwd);
  const cmds = [
    ...s.before,
    ...before(w.shell_command_before, loc(at, "shell_command_before"), c.notes),
    ...before(pm.shell_command_before, loc(pat, "shell_command_before"), c.notes),
    ...expandCmds(pm.shell_command, loc(pat, "shell_command")),
  ];
  historyNote(c, pm, pat);
  const program =
    i === 0
      ? pm.shell != null && pm.shell !== ""
        ? pm.shell
        : w.window_shell
      : "shell" in pm
        ? pm.shell
        : w.window_shell;
  const pane: SourcePane = { command: commandOf(c, pm, cmds, pat), startDir: dir ?? "." };
  if (env && Object.keys(env).length) pane.env = env;
  if (pyTruthy(pm.focus)) pane.focus = true;
  return withShell(c, pane, program == null ? undefined : pyStr(program), pat);
}

/** A window as a tab: tmuxp splits each pane below the one before, then applies `layout`. */
function windowTab(c: Ctx, w: Plain, at: string, s: Session, index: number): SourceTab {
  if (!isMap(w)) throw fail(`${at}: a window is a mapping (window_name, panes, …)`);
  unknownKeys(w, WINDOW_KEYS, at, c.notes, "tmuxp");
  let name: string;
  if (w.window_name != null) name = nameOf(c, w.window_name, loc(at, "window_name"));
  else {
    name = `window-${index}`;
    c.notes.add(at, `no window_name (tmux would show the running program's name); named "${name}"`);
  }
  const own =
    w.start_directory != null ? dirOf(c, w.start_directory, loc(at, "start_directory"), s.dir) : undefined;
  const trickled = own === undefined ? s.dir : joinDir(s.dir, own);
  if (w.panes !== undefined && w.panes !== null && !Array.isArray(w.panes))
    throw fail(`${loc(at, "panes")}: panes is a list`);
  const raw = Array.isArray(w.panes) && w.panes.length ? w.panes : [null];
  const panes = raw.map((p, i) => paneOf(c, w, p, i, at, { own, trickled }, s));
  // Each split selects the new pane, so without a focused pane the last one has the focus.
  const focus = panes.map((p) => Boolean(p.focus)).lastIndexOf(true);
  panes.forEach((p, i) => {
    if (i === (focus < 0 ? panes.length - 1 : focus) && i > 0) p.focus = true;
    else delete p.focus;
  });
  const flat: Flat<SourcePane>[] = panes.map((pane, i) => (i ? { pane, split: "down" } : { pane }));
  const layout = layoutOf(c, w.layout, flat, loc(at, "layout"));
  for (const key of ["options", "options_after"]) {
    const o = w[key];
    if (isMap(o))
      for (const k of Object.keys(o))
        c.notes.add(
          loc(loc(at, key), k),
          "tmux window option, not carried over (mc does not set tmux options)",
        );
  }
  historyNote(c, w, at);
  if ("window_index" in w)
    c.notes.add(
      loc(at, "window_index"),
      "the tabs are in tmux's order of window_index, as tmuxp builds the windows; the numbers themselves are not kept",
    );
  return { name, at, panes: flat, layout };
}

/** A tmuxp workspace (YAML or JSON, already parsed) as an mc layouts file. */
export function importTmuxp(data: Plain, ctx: ImportContext, source: string): Imported {
  if (!isMap(data)) throw fail(`${source}: a tmuxp workspace is a mapping (session_name, windows, …)`);
  const c: Ctx = { ctx, notes: new Notes(), expandable: false };
  unknownKeys(data, SESSION_KEYS, "", c.notes, "tmuxp");
  if (data.session_name == null) throw fail(`${source}: session_name is missing`, "tmuxp needs it too");
  const fileDir = dirname(ctx.file);
  const layout: LayoutConfig = {
    layoutName: mcName(nameOf(c, data.session_name, "session_name"), "session_name", "layoutName"),
    layoutTabs: [],
  };
  const dir =
    data.start_directory != null ? dirOf(c, data.start_directory, "start_directory", fileDir) : undefined;
  const env = envOf(c, data.environment, "environment", fileDir);
  if (env && Object.keys(env).length) layout.env = env;
  sessionNotes(c, data);
  const windows = data.windows;
  if (!Array.isArray(windows) || windows.length === 0) throw fail(`${source}: windows is missing or empty`);
  const s: Session = {
    dir,
    before: before(data.shell_command_before, "shell_command_before", c.notes),
  };
  const indexes = windowIndexes(windows);
  const tabs = eachWindow(windows, (w, i) => ({
    tab: windowTab(c, w, loc("windows", i), s, indexes[i]!),
    index: indexes[i]!,
    focus: isMap(w) && pyTruthy(w.focus),
  })).sort((a, b) => a.index - b.index);
  const focused = tabs.filter((t) => t.focus).pop();
  if (focused && focused !== tabs[0])
    c.notes.add(
      loc(focused.tab.at, "focus"),
      "mc opens a session on its first tab; the window focus is not carried over",
    );
  if (c.expandable)
    c.notes.add(
      "shell_command",
      "tmuxp replaces $VAR and a leading ~ in commands when it loads them; mc leaves them to the pane's shell (the same unless quoted or set differently)",
    );
  layout.layoutTabs = tabs.map((t) => toTab(t.tab, c.notes, { typed: "tmuxp" }));
  const onStart = beforeScript(c, data.before_script, fileDir, dir, layout.layoutTabs[0]!.startDir);
  if (onStart) layout.onStart = onStart;
  const file = layoutsFile([layout], [tabs.map((t) => t.tab.at)], source);
  return { format: "tmuxp", file, warnings: c.notes.list };
}
