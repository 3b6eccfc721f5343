import type { Flat, LayoutConfig } from "@mc/core";
import { layoutsFile, mcName, type SourcePane, type SourceTab, toTab } from "./build.js";
import { isAnchored, joinDir, normDir } from "./paths.js";
import { isTmuxKeyName, parseExportLine, shlexSplit, shPath, untrailSemicolon } from "./shell.js";
import { type Ctx, eachWindow, fail, homeOf, layoutOf } from "./tmuxp-panes.js";
import { type ImportContext, type Imported, isMap, Notes, type Plain } from "./types.js";
import { loc, rbStr, unknownKeys } from "./values.js";

const PROJECT_KEYS = new Set([
  "name",
  "project_name",
  "root",
  "project_root",
  "windows",
  "tabs",
  "pre_window",
  "rbenv",
  "rvm",
  "pre_tab",
  "on_project_start",
  "on_project_first_start",
  "on_project_restart",
  "on_project_exit",
  "on_project_stop",
  "pre",
  "post",
  "socket_name",
  "socket_path",
  "tmux_options",
  "cli_args",
  "tmux_command",
  "startup_window",
  "startup_pane",
  "attach",
  "enable_pane_titles",
  "pane_title_position",
  "pane_title_format",
]);
const WINDOW_KEYS = new Set(["root", "layout", "panes", "pre", "synchronize", "focused_pane"]);

/** What tmuxinator says about the keys mc has nothing for. */
const NOT_CARRIED: Record<string, string> = {
  on_project_restart: "runs only when the session already exists; mc has no such hook",
  on_project_exit: "runs when tmuxinator's start script ends (detach); mc has no such hook",
  post: "runs after every start; mc has no such hook",
  socket_name: "mc picks the tmux server with --socket",
  socket_path: "mc picks the tmux server with --socket",
  tmux_options: "mc does not pass options to tmux",
  cli_args: "mc does not pass options to tmux",
  attach: "sessions run does not attach to what it starts (sessions attach does)",
  enable_pane_titles: "mc panes have no titles",
  pane_title_position: "mc panes have no titles",
  pane_title_format: "mc panes have no titles",
};

/** A hook or `pre`: tmuxinator joins a list with "; ". */
function joined(v: Plain | undefined, sep = "; "): string | undefined {
  if (v === undefined || v === null) return undefined;
  const s = Array.isArray(v) ? v.map(rbStr).join(sep) : rbStr(v);
  return s.trim() === "" ? undefined : s;
}

/** What tmuxinator types before each pane's commands: rbenv > rvm > pre_tab > pre_window. */
function preWindow(c: Ctx, d: Record<string, Plain>): string | undefined {
  const order = ["rbenv", "rvm", "pre_tab", "pre_window"] as const;
  const set = order.filter((k) => d[k] !== undefined && d[k] !== null && d[k] !== false);
  for (const k of set.slice(1)) c.notes.add(k, `ignored: ${set[0]} takes its place, as in tmuxinator`);
  const k = set[0];
  if (k === "rbenv") return `rbenv shell ${rbStr(d.rbenv!)}`;
  if (k === "rvm") return `rvm use ${rbStr(d.rvm!)}`;
  return k ? joined(d[k]) : undefined;
}

/** A command line as typed; a line the exporter had to keep from reading as a tmux key comes back. */
const typed = (v: Plain): string => {
  const s = untrailSemicolon(rbStr(v));
  return s.startsWith(" ") && (isTmuxKeyName(s.replace(/^ +/, "")) || /^ +-/.test(s)) ? s.slice(1) : s;
};

/** The commands of a pane or window value (string, list, nothing); null entries type nothing. */
function commands(v: Plain | undefined): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.filter((x) => x !== null).map(typed);
  return [typed(v)];
}

/** The session's start hooks as one onStart, run in the project root as tmuxinator does. */
function onStart(
  c: Ctx,
  d: Record<string, Plain>,
  root: string | undefined,
  firstDir: string,
): string | undefined {
  const hooks = ["on_project_start", "pre", "on_project_first_start"]
    .map((k) => {
      const s = joined(d[k]);
      if (s) c.notes.add(k, "becomes part of onStart (run once before the tabs start)");
      return s;
    })
    .filter((s): s is string => s !== undefined);
  if (!hooks.length) return undefined;
  const dir = root ?? ".";
  return `${dir === firstDir ? "" : `cd -- ${shPath(dir)} || exit\n`}${hooks.join("\n")}`;
}

interface Project {
  root: string | undefined;
  pre: string | undefined;
}

/**
 * The directory of a first line `cd DIR` or `cd -- DIR` (what `tmuxinator new` and mc's exporter write
 * for a pane that starts elsewhere than its window), as mc writes a directory.
 */
function cdLine(line: string): string | undefined {
  if (!/^cd\s/.test(line)) return undefined;
  const arg = line.replace(/^cd\s+(--\s+)?/, "");
  const home = /^(~(?=\/|$)|"\$HOME")(.*)$/s.exec(arg);
  let words: string[];
  try {
    words = shlexSplit(home ? home[2]! : arg);
  } catch {
    return undefined;
  }
  if (home) return words.length <= 1 ? normDir(`~${words[0] ?? ""}`) : undefined;
  return words.length === 1 && words[0] ? normDir(words[0]) : undefined;
}

/**
 * A pane from the lines it types. A first line `export A='1' …` exactly as mc's exporter writes it (what
 * tmuxinator has instead of environment keys) is the pane's variables.
 */
function withEnv(all: string[], windowDir: string): SourcePane {
  const cd = all.length ? cdLine(all[0]!) : undefined;
  const lines = cd === undefined ? all : all.slice(1);
  const env = lines.length ? parseExportLine(lines[0]!) : undefined;
  const rest = env ? lines.slice(1) : lines;
  const startDir = cd === undefined ? windowDir : joinDir(windowDir, cd);
  const pane: SourcePane = { command: rest.length ? rest.join("\n") : undefined, startDir };
  if (env) pane.env = env;
  return pane;
}

/** One pane's commands: pre_window, the window's `pre`, then its own, each typed as a line. */
function paneOf(raw: Plain, at: string, pre: (string | undefined)[], dir: string, c: Ctx): SourcePane {
  let body = raw;
  if (isMap(raw)) {
    const [title] = Object.keys(raw);
    if (title !== undefined)
      c.notes.add(at, `pane title ${JSON.stringify(title)} not carried over (mc panes have no titles)`);
    body = title === undefined ? null : raw[title]!;
  }
  return withEnv([...pre.filter((p): p is string => p !== undefined), ...commands(body)], dir);
}

/**
 * A directory's `~user` as that user's home, as tmuxinator's File.expand_path makes it (review H47-4: kept
 * as text, which mc refuses to run, and a window's joined under the project's); `~` stays for mc.
 */
function userHome(c: Ctx, v: Plain, at: string): Plain {
  return typeof v === "string" && /^~[^/]/.test(v) ? homeOf(c, v, at, "tmuxinator") : v;
}

/** A window map (`root`, `layout`, `panes`, `pre`, …) as a tab. */
function hashedWindow(c: Ctx, v: Record<string, Plain>, at: string, name: string, p: Project): SourceTab {
  unknownKeys(v, WINDOW_KEYS, at, c.notes, "tmuxinator");
  let dir = p.root ?? ".";
  if (v.root != null && rbStr(v.root) !== "") {
    const own = normDir(rbStr(userHome(c, v.root, loc(at, "root"))));
    if (!isAnchored(own))
      c.notes.add(
        loc(at, "root"),
        "read against the project root, as tmuxinator 3.3+ does (3.0-3.2 read it against their own working directory)",
      );
    dir = joinDir(p.root, own);
  }
  if (v.synchronize != null && v.synchronize !== false)
    c.notes.add(loc(at, "synchronize"), "mc does not synchronize panes; not carried over");
  const raw = v.panes == null ? [] : Array.isArray(v.panes) ? v.panes : [v.panes];
  if (!raw.length) {
    for (const k of ["pre", "layout", "focused_pane"])
      if (k in v)
        c.notes.add(loc(at, k), "ignored by tmuxinator for a window without panes; not carried over");
    return { name, at, panes: [{ pane: paneOf(null, at, [p.pre], dir, c) }] };
  }
  const pre = [p.pre, joined(v.pre, " && ")];
  const panes: Flat<SourcePane>[] = raw.map((r, i) => {
    const pane = paneOf(r, loc(loc(at, "panes"), i), pre, dir, c);
    return i ? { pane, split: "down" } : { pane };
  });
  const focus = focusedPane(v.focused_pane, raw);
  if (focus !== undefined && focus > 0 && panes[focus]) panes[focus].pane.focus = true;
  else if (v.focused_pane != null && focus === undefined)
    c.notes.add(loc(at, "focused_pane"), "names no pane of the window; not carried over");
  // tmuxinator runs `select-layout tiled` after each split and re-applies the last one when none is given.
  const layout =
    panes.length > 1 ? (layoutOf(c, v.layout ?? "tiled", panes, loc(at, "layout")) ?? undefined) : undefined;
  return { name, at, panes, layout };
}

/** tmuxinator 3.4's `focused_pane`: an index from 0, or a pane's title. */
function focusedPane(v: Plain | undefined, raw: Plain[]): number | undefined {
  if (typeof v === "number") return Number.isInteger(v) && v >= 0 && v < raw.length ? v : undefined;
  if (typeof v !== "string") return undefined;
  const i = raw.findIndex((r) => isMap(r) && Object.keys(r)[0] === v);
  return i < 0 ? undefined : i;
}

/** One entry of `windows`: a one-key map from the window's name to its commands or settings. */
function windowTab(c: Ctx, w: Plain, i: number, p: Project): SourceTab {
  const at = loc("windows", i);
  if (!isMap(w) || Object.keys(w).length === 0)
    throw fail(`${at}: a window is a one-key mapping (name: commands or settings)`);
  const [key, ...more] = Object.keys(w);
  // A `<<` key that reached here was quoted (a plain one is a merge key, read so): Psych takes it for a
  // merge key all the same, so tmuxinator reads another window than mc would (review H39-1).
  if (key === "<<")
    throw fail(
      `${at}: a window named "<<": tmuxinator's YAML reader takes it for a merge key, quoted or not, and reads another window`,
      "rename the window",
    );
  for (const k of more)
    c.notes.add(loc(at, k), "tmuxinator reads only the first key of a window; not carried over");
  let name = key!;
  if (name === "") {
    name = `window-${i}`;
    c.notes.add(at, `no window name (tmux would show the running program's name); named "${name}"`);
  }
  const v = w[key!]!;
  if (isMap(v)) return hashedWindow(c, v, at, name, p);
  // tmuxinator sends a window's commands only when they are text (or a list): `w: oFF` sends nothing
  // (review H47-2: the tab ran `false` and failed).
  const scalar = typeof v === "number" || typeof v === "boolean";
  if (scalar)
    c.notes.add(
      loc(at, name),
      `${JSON.stringify(v)} is not text, and tmuxinator sends no command for it: the tab is a shell`,
    );
  const lines = [p.pre, ...commands(v === "" || scalar ? null : v)].filter(
    (s): s is string => s !== undefined,
  );
  return { name, at, panes: [{ pane: withEnv(lines, p.root ?? ".") }] };
}

/** Notes for the project keys mc has no counterpart for. */
function projectNotes(c: Ctx, d: Record<string, Plain>, tabs: SourceTab[]): void {
  for (const [k, why] of Object.entries(NOT_CARRIED))
    if (k in d && d[k] !== null) c.notes.add(k, `${why}; not carried over`);
  if (d.tmux_command != null && rbStr(d.tmux_command) !== "tmux")
    c.notes.add("tmux_command", "mc runs tmux itself; not carried over");
  if ("on_project_stop" in d)
    c.notes.add("on_project_stop", "becomes onStop, which mc also runs when the session ends another way");
  if (d.project_name != null && d.name != null)
    c.notes.add("name", "ignored: project_name takes its place, as in tmuxinator");
  if (d.project_root != null && d.root != null)
    c.notes.add("root", "ignored: project_root takes its place, as in tmuxinator");
  if (d.tabs != null && d.windows != null)
    c.notes.add("windows", "ignored: tabs takes its place, as in tmuxinator");
  const sw = d.startup_window;
  const target = sw == null ? 0 : typeof sw === "number" ? sw : tabs.findIndex((t) => t.name === rbStr(sw));
  if (target !== 0) c.notes.add("startup_window", "mc opens a session on its first tab; not carried over");
  const tab = tabs[0];
  if (d.startup_pane != null && target !== 0)
    c.notes.add("startup_pane", "applies to startup_window, which is not carried over; not carried over");
  if (d.startup_pane != null && target === 0 && tab) {
    const n = Number(d.startup_pane);
    const pane = Number.isInteger(n) ? tab.panes[n] : undefined;
    if (!pane) c.notes.add("startup_pane", "names no pane of the first window; not carried over");
    for (const f of tab.panes) delete f.pane.focus;
    if (pane && n > 0) pane.pane.focus = true;
  }
}

/** A tmuxinator project (YAML, already parsed; ERB refused before) as an mc layouts file. */
export function importTmuxinator(data: Plain, ctx: ImportContext, source: string): Imported {
  if (!isMap(data)) throw fail(`${source}: a tmuxinator project is a mapping (name, root, windows, …)`);
  const c: Ctx = { ctx, notes: new Notes(), expandable: false };
  unknownKeys(data, PROJECT_KEYS, "", c.notes, "tmuxinator");
  const rawName = data.project_name ?? data.name;
  if (rawName == null || rbStr(rawName).trim() === "")
    throw fail(`${source}: name is missing`, "tmuxinator needs it too");
  const rawRoot = data.project_root ?? data.root;
  const root =
    rawRoot == null || rbStr(rawRoot).trim() === ""
      ? undefined
      : normDir(rbStr(userHome(c, rawRoot, data.project_root != null ? "project_root" : "root")));
  const windows = data.tabs ?? data.windows;
  if (!Array.isArray(windows) || windows.length === 0) throw fail(`${source}: windows is missing or empty`);
  // pre_window `export A='1' …` as mc's exporter writes it is the layout's variables.
  const pre = preWindow(c, data);
  const env = pre === undefined ? undefined : parseExportLine(pre);
  const p: Project = { root, pre: env ? undefined : pre };
  const tabs = eachWindow(windows, (w, i) => windowTab(c, w, i, p));
  projectNotes(c, data, tabs);
  const layout: LayoutConfig = {
    layoutName: mcName(rbStr(rawName), data.project_name != null ? "project_name" : "name", "layoutName"),
    layoutTabs: tabs.map((t) => toTab(t, c.notes, { typed: "tmuxinator" })),
  };
  if (env) layout.env = env;
  const start = onStart(c, data, root, layout.layoutTabs[0]!.startDir);
  if (start) layout.onStart = start;
  const stop = joined(data.on_project_stop);
  if (stop) layout.onStop = stop;
  const file = layoutsFile([layout], [tabs.map((t) => t.at)], source);
  return { format: "tmuxinator", file, warnings: c.notes.list };
}
