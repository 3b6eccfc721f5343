import { join } from "node:path";
import {
  type Command,
  commandFiles,
  type HostInfo,
  type LogWriterMode,
  logWriterScript,
  normaliseStartDir,
  posixTabScript,
  shQuote,
  TAB_MARKER_VAR,
  tabLogName,
  tabMarker,
  type WrappedTab,
} from "@mc/core";

/** How to reach a tmux server: a `-L` socket name or a `-S` socket path. */
export type TmuxSocket = { name: string } | { path: string };

/** Where tmux runs: its binary and server. */
export interface TmuxTarget {
  /** tmux executable (default `tmux`). */
  tmux: string;
  socket?: TmuxSocket | undefined;
}

/**
 * Global flags for every tmux call. `-u` because tmux 3.3a replaces non-ASCII in format output with `_`
 * when the client's locale is not UTF-8, which would corrupt names such as `build 🚀`.
 */
export function tmuxArgs(t: TmuxTarget, ...args: string[]): Command {
  const sock =
    t.socket === undefined ? [] : "path" in t.socket ? ["-S", t.socket.path] : ["-L", t.socket.name];
  return { file: t.tmux, args: ["-u", ...sock, ...args] };
}

/**
 * A path as a glob(3) pattern that matches only itself. tmux's `source-file` globs its argument (3.3a
 * cmd-source-file.c: `glob(pattern, 0, …)`, so backslash escapes work): unescaped, `[ab]` or `\\`
 * in a state directory matched nothing (a misleading "No such file or directory") and `*` or `?` could
 * source another file as well. A backslash before any other character stands for that character.
 */
export function globLiteral(path: string): string {
  return path.replace(/[\\*?[\]{}~]/g, "\\$&");
}

/**
 * The session name tmux keeps for mc's `name`: tmux turns `.` and `:` into `_` (session.c,
 * session_check_name), and a style (`#[fg=red]`) is written as drawn text ({@link literalStyles}).
 */
export function tmuxSessionKey(name: string): string {
  return literalStyles(name.replace(/[.:]/g, "_"));
}

/**
 * A name tmux shows (a session's, a window's) drawn as written: tmux keeps `#[…]` in a name and draws it
 * as a style each time the status line is drawn (a layouts file coloured, hid or made clickable parts of
 * the user's status line). A run of `#` before `[` is doubled: it is stored as given (format.c copies it)
 * and drawn as the text it was (verified on tmux 3.3a: `a##[fg=red]b` is drawn `a#[fg=red]b`).
 */
export function literalStyles(name: string): string {
  return name.replace(/#+(?=\[)/g, (run) => run + run);
}

/** VIS_CSTYLE's short escapes (vis(3)); any other control character is written in octal (VIS_OCTAL). */
const CSTYLE: Record<string, string> = {
  "\n": "n",
  "\r": "r",
  "\b": "b",
  "\u0007": "a",
  "\v": "v",
  "\t": "t",
  "\f": "f",
};

/**
 * The name tmux stores, lists and matches `=NAME` against for mc's session `name`: {@link tmuxSessionKey},
 * then tmux's utf8_stravis over it (3.3a session_check_name, on every `new-session -s` and `rename-session`):
 * `\` is `\\`, a `$` before an ASCII letter, `_` or `{` is `\$`, a control character C-style or octal
 * (verified on tmux 3.3a: `a${b}` is listed `a\${b}`, `a$1` and `a$` as given). Only for comparing with
 * what tmux lists and for targets: the escaping is done again on every name tmux is given to store, so
 * a name passed to `new-session -s` or `rename-session` stays {@link tmuxSessionKey}'s.
 */
export function tmuxStoredName(name: string): string {
  return tmuxSessionKey(name).replace(/\\|\$(?=[A-Za-z_{])|[\u0000-\u001f\u007f]/g, (c) =>
    c === "\\" || c === "$" ? `\\${c}` : `\\${CSTYLE[c] ?? c.charCodeAt(0).toString(8).padStart(3, "0")}`,
  );
}

/** An exact session target: `=name` never matches `name2` (tmux prefix-matches plain names). */
export function exactSession(name: string): string {
  return `=${tmuxStoredName(name)}`;
}

/**
 * Quote a string for tmux's configuration parser as one single-quoted word. Inside single quotes tmux
 * processes no escapes, so a quote is written by closing, adding `"'"`, and reopening (cmd-parse.y joins
 * adjacent quoted parts into one word).
 */
export function tmuxQuote(s: string): string {
  return `'${s.replace(/'/g, `'"'"'`)}'`;
}

/**
 * Escape `#` for arguments tmux expands as formats (`new-session -s`, `new-window -n` and `-c`,
 * `rename-session`): without this a layout named `#(touch x)`, or a startDir holding it, would run
 * `touch x` (verified on tmux 3.3a). The pane's shell command is not expanded and must not be escaped.
 */
export function noFormat(s: string): string {
  // A run of `#` before `[` is a style (#[fg=red]) that format.c copies as it is, so it is left alone.
  return s.replace(/#(?!#*\[)/g, "##");
}

/** One command of a tmux build: a tab's first pane (`pane` absent or 0), or one of its further panes. */
export type TmuxTab = WrappedTab & {
  /** A further pane: to the right of the pane before it, or below it. */
  split?: "right" | "down" | undefined;
  /** A further pane's width or height: "30%" or cells. */
  size?: string | number | undefined;
  /** This pane has the focus when the tab opens. */
  focus?: boolean | undefined;
  /** The first pane carries its tab's named layout. */
  layout?: string | undefined;
};

/** Input of {@link tmuxBuildScript}. */
export interface TmuxBuild {
  /** The session name the user sees. */
  name: string;
  tabs: readonly TmuxTab[];
  /** Path of the tab wrapper script on the host. */
  tabScript: string;
  /** Run id recorded on the session, so mc can tell its sessions apart. */
  runId: string;
  /** Where the tabs' records and logs go. */
  runDir: string;
  /** Which program the log writers run on that machine (core's LogWriterMode; "probe" when unknown). */
  logWriter?: LogWriterMode | undefined;
}

/**
 * What the tab wrapper runs after the command ends, under tmux: it stamps the exit status on its own
 * pane (`@mc_exit`), so one `list-panes` tells status which tabs finished without reading any file.
 */
export function tmuxOnExit(tmux: string): string {
  return `[ -n "$TMUX_PANE" ] && ${shQuote(tmux)} set-option -p -t "$TMUX_PANE" @mc_exit "$mc_code" 2>/dev/null`;
}

/**
 * The pane command of tab `index`, as argv: tmux (3.0+) execs a command of several arguments itself,
 * with no shell in between, so the pane pid is the wrapper and no `default-shell -c` (a user's fish or
 * zsh, with its startup files) runs per pane. `paneTabIndex` reads it back from `#{pane_start_command}`.
 */
export function paneCommand(tabScript: string, index: number, attempt?: number): string[] {
  return ["/bin/sh", tabScript, String(index), ...(attempt === undefined ? [] : [String(attempt)])];
}

/** The name a session is built under before it takes its real name (unique to the run and session). */
export function buildName(runId: string, index: number): string {
  return `mc-build-${runId}-${index}`;
}

/**
 * A tmux script (run with `tmux source-file`) that builds the whole session in one client invocation.
 * tmux 3.3a's source-file carries on after a failing line, so the session is built under a private
 * name only this run can have and renamed at the end: if the real name was taken meanwhile, the rename
 * fails and nothing was added to somebody else's session. Targets are exact (`=name:`), names are
 * format-escaped, and no window or pane index is assumed (a user's `base-index 1` works).
 */
export function tmuxBuildScript(
  b: TmuxBuild & {
    index: number;
    pending?: readonly number[] | undefined;
    rename?: boolean;
    /**
     * Keep each finished pane on screen (remain-on-exit on: `--exit keep`), or close it (off: `--exit
     * close`); unset: the user's tmux decides (a kept shell's pane ends only when the user leaves it).
     */
    keepPanes?: boolean | undefined;
  },
): string {
  const tmp = buildName(b.runId, b.index);
  const target = `=${tmp}:`;
  const lines = [
    `# mc: build of session ${JSON.stringify(b.name)} (${tabCount(b.tabs)} tab${tabCount(b.tabs) === 1 ? "" : "s"})`,
    "# Generated by mc; run with: tmux source-file <this file>",
  ];
  const later = new Set(b.pending ?? []);
  tabGroups(b.tabs)
    .filter((g) => !later.has(g[0]!.index))
    .forEach((group, i) => {
      const first = i === 0;
      // Windows are appended in order, so the newest is the last one ({end}).
      const w = windowArgs({
        create: first ? ["new-session", "-d", "-s", tmp] : ["new-window", "-d", "-t", target],
        target: first ? target : `=${tmp}:{end}`,
        panes: group,
        tabScript: b.tabScript,
        runDir: b.runDir,
        logWriter: b.logWriter,
        keepPanes: b.keepPanes,
      });
      lines.push(tmuxLine(w[0]!));
      if (first) {
        lines.push(`set-option -t ${tmuxQuote(target)} @mc_name ${tmuxQuote(b.name)}`);
        lines.push(`set-option -t ${tmuxQuote(target)} @mc_run ${tmuxQuote(b.runId)}`);
        // Printed to the source-file client: mc targets the session by this id from now on, since
        // tmux rewrites some names (`.`/`:` to `_`, `\\` and `$x` escaped by utf8_stravis) and a
        // name starting with `$` would read as an id.
        lines.push(`display-message -p -t ${tmuxQuote(target)} '#{session_id}'`);
      }
      for (const args of w.slice(1)) lines.push(tmuxLine(args));
    });
  // A replacement keeps its private name until the session it replaces is gone (see renameCommand).
  if (b.rename !== false) lines.push(renameLine(tmp, b.name));
  return `${lines.join("\n")}\n`;
}

/** How many tabs (windows) a list of commands makes. */
function tabCount(tabs: readonly TmuxTab[]): number {
  return new Set(tabs.map((t) => t.index)).size;
}

/** The commands of each tab, first pane first, tabs in layout order. */
export function tabGroups(tabs: readonly TmuxTab[]): TmuxTab[][] {
  const byTab = new Map<number, TmuxTab[]>();
  for (const t of tabs) byTab.set(t.index, [...(byTab.get(t.index) ?? []), t]);
  return [...byTab.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, g]) => g.sort((x, y) => (x.pane ?? 0) - (y.pane ?? 0)));
}

/**
 * One tmux command as a line of a tmux script. Only flags, whole numbers and lowercase words (command,
 * option and layout names) stay bare, for a readable dry run; anything else is quoted (tmux's parser
 * reads `%`, `{`, `;`, `#`, `~`, quotes and more in a bare word: `-n %PATH%` fails to parse).
 */
function tmuxLine(args: readonly string[]): string {
  return args.map((a) => (/^(-[A-Za-z]+|\d+|[a-z][a-z-]*)$/.test(a) ? a : tmuxQuote(a))).join(" ");
}

/**
 * The tmux commands (argv each) that open one tab: `create` makes its window with its first pane, then
 * each further pane is split from the one before (it becomes the window's active pane, so `target`
 * reaches it), every pane's output goes to its log, the tab's named layout is applied and the focus put
 * on the pane asked for (the first by default) by its offset from the last one.
 */
export function windowArgs(o: {
  create: string[];
  target: string;
  panes: readonly TmuxTab[];
  tabScript: string;
  /** The run directory whose logs/ holds each pane's log. */
  runDir: string;
  /** Which program the log writer runs on that machine (core's LogWriterMode; "probe" when unknown). */
  logWriter?: LogWriterMode | undefined;
  keepPanes?: boolean | undefined;
  attempt?: number | undefined;
}): string[][] {
  const [p0, ...rest] = o.panes;
  const slot = (t: TmuxTab) => t.slot ?? t.index;
  // Each pane's marker is in its first process's own environment (tmux does not expand -e), so every
  // process of the tab carries it from the start, even one forked before the wrapper exports it: a kill's
  // sweep finds a command a hang-up missed (its shell was forking as the tab closed).
  const marker = (t: TmuxTab) => ["-e", `${TAB_MARKER_VAR}=${tabMarker(o.runDir, slot(t))}`];
  const out: string[][] = [
    [
      ...o.create,
      "-n",
      noFormat(literalStyles(p0!.tabName)),
      "-c",
      noFormat(p0!.startDir),
      ...marker(p0!),
      ...paneCommand(o.tabScript, slot(p0!), o.attempt),
    ],
  ];
  // new-session -e sets the session's environment: later windows (and the user's) must not inherit it.
  if (o.create[0] === "new-session") out.push(["set-environment", "-t", o.target, "-u", TAB_MARKER_VAR]);
  // Said either way where the run asked (`--exit keep` / `close`): a user's `remain-on-exit on` left the
  // finished panes of `--exit close` on screen, dead (review H77-6).
  if (o.keepPanes !== undefined)
    out.push(["set-option", "-w", "-t", o.target, "remain-on-exit", o.keepPanes ? "on" : "off"]);
  out.push(pipeArgs(o.target, o.runDir, slot(p0!), o.logWriter));
  for (const p of rest) {
    const size = p.size === undefined ? [] : ["-l", String(p.size)];
    const dir = p.split === "down" ? "-v" : "-h";
    out.push([
      "split-window",
      "-t",
      o.target,
      dir,
      ...size,
      "-c",
      noFormat(p.startDir),
      ...marker(p),
      ...paneCommand(o.tabScript, slot(p)),
    ]);
    out.push(pipeArgs(o.target, o.runDir, slot(p), o.logWriter));
  }
  if (p0!.layout && rest.length) out.push(["select-layout", "-t", o.target, p0!.layout]);
  const focus = Math.max(
    0,
    o.panes.findIndex((p) => p.focus),
  );
  const back = o.panes.length - 1 - focus;
  if (back > 0) out.push(["select-pane", "-t", `${o.target}.-${back}`]);
  return out;
}

/**
 * The tmux arguments that also send a pane's output to its log (`pipe-pane -o`, whose command tmux 3.x
 * expands as a format and passes through strftime: `#` and `%` are escaped; review H49-1: a state
 * directory with `%Y` in its path had its logs written under `2026`). What the tab shows and how programs
 * in it behave do not change.
 * The writer is core's script inline: pipe-pane's own `sh -c` execs perl or awk, no second shell reading
 * tabs.sh (that was ~1/4 of a log writer's launch cost per pane).
 */
export function pipeArgs(target: string, runDir: string, slot: number, writer?: LogWriterMode): string[] {
  const log = shQuote(join(runDir, tabLogName(slot)));
  const script = logWriterScript(log, undefined, writer).join("; ");
  return ["pipe-pane", "-o", "-t", target, noFormat(script).replaceAll("%", "%%")];
}

/** `--`: a name such as "-e" is a name, not a flag. */
function renameLine(from: string, to: string): string {
  return `rename-session -t ${tmuxQuote(`=${from}`)} -- ${tmuxQuote(noFormat(tmuxSessionKey(to)))}`;
}

/** The tmux call that gives a session built under its private name its real name. */
export function renameCommand(
  t: TmuxTarget,
  sessionId: string | undefined,
  from: string,
  to: string,
): Command {
  return tmuxArgs(t, "rename-session", "-t", sessionId ?? `=${from}`, "--", noFormat(tmuxSessionKey(to)));
}

/** Artefacts and start command of one tmux session. */
export interface TmuxSessionFiles {
  buildPath: string;
  build: string;
  tabScriptPath: string;
  tabScript: string;
  /** Each tab's command, read by the wrapper from a file (mode 0600), never from a command line. */
  commandFiles: { path: string; content: string }[];
  start: Command;
}

/** Everything needed to start one session: the build script, the tab wrapper and the tmux call. */
export function tmuxSessionFiles(
  t: TmuxTarget,
  o: {
    name: string;
    index: number;
    tabs: readonly TmuxTab[];
    dir: string;
    runDir: string;
    runId: string;
    keepShell: boolean;
    /** Tabs opened later (`startTab`): the build makes windows for the others only. */
    pending?: readonly number[] | undefined;
    /** False for a replacement: it is renamed once the session it replaces is gone. */
    rename?: boolean;
    keepPanes?: boolean | undefined;
    /** Which program the log writer runs on that machine (see core's LogWriterMode). */
    logWriter?: LogWriterMode | undefined;
  },
  info: HostInfo,
): TmuxSessionFiles {
  const tabScriptPath = join(o.dir, "tabs.sh");
  const buildPath = join(o.dir, "build.tmux");
  const tabs = o.tabs.map((tab) => ({ ...tab, startDir: normaliseStartDir(tab.startDir, info.home) }));
  return {
    buildPath,
    build: tmuxBuildScript({
      name: o.name,
      index: o.index,
      tabs,
      tabScript: tabScriptPath,
      runId: o.runId,
      runDir: o.runDir,
      logWriter: o.logWriter,
      pending: o.pending,
      ...(o.rename === false ? { rename: false } : {}),
      ...(o.keepPanes !== undefined ? { keepPanes: o.keepPanes } : {}),
    }),
    tabScriptPath,
    commandFiles: commandFiles(o.runDir, tabs),
    tabScript: posixTabScript({
      title: `mc: tabs of tmux session ${JSON.stringify(o.name)}`,
      session: o.name,
      runDir: o.runDir,
      tabs,
      keepShell: o.keepShell,
      onExit: tmuxOnExit(t.tmux),
      ...(o.logWriter ? { logWriter: o.logWriter } : {}),
    }),
    // start-server first: source-file needs a running server, and the new session keeps it alive.
    // A server that does not answer at all fails the start (rolled back) rather than hanging it.
    start: { ...tmuxArgs(t, "start-server", ";", "source-file", globLiteral(buildPath)), timeoutMs: 60_000 },
  };
}

/** Fields of the one `list-panes -a` query behind status. Tab-separated; names cannot hold tabs. */
export const PANE_FORMAT = [
  "#{session_name}",
  "#{@mc_name}",
  "#{window_id}",
  "#{window_name}",
  "#{pane_id}",
  "#{pane_pid}",
  "#{pane_dead}",
  "#{pane_dead_status}",
  "#{@mc_run}",
  "#{session_id}",
  "#{@mc_exit}",
  "#{pane_start_command}",
].join("\t");

/** Fields of `list-sessions`. */
export const SESSION_FORMAT = ["#{session_name}", "#{@mc_name}", "#{session_id}", "#{@mc_run}"].join("\t");

/**
 * The script tmux's `session-closed` hook runs (`run-shell -b`) for layouts with `onStop`: for each of
 * mc's sessions registered in `dir` (`<runId>-<index>.stop`: server pid, session id, run directory) that
 * is gone from this server, it claims the entry (a rename, so two hooks never run it twice) and runs the
 * session's onStop. Entries of a server that is no longer running are dropped: a killed server runs no
 * hooks. It prints nothing and exits 0, so tmux never shows anything on a user's screen.
 */
export function tmuxStopDispatcher(t: TmuxTarget, dir: string): string {
  const tmux = tmuxArgs(t);
  return `#!/bin/sh
# mc: runs the onStop of mc's sessions on this tmux server once they are gone (tmux session-closed hook).
exec >/dev/null 2>&1 </dev/null
# tmux runs this in the foreground (a background job of a server that exits with its last session never
# starts), so it hands the work to a detached copy of itself at once and returns.
if [ -z "\${MC_ONSTOP_DETACHED:-}" ]; then
  export MC_ONSTOP_DETACHED=1
  if command -v setsid >/dev/null 2>&1; then setsid /bin/sh "$0" "$@" & else (trap '' HUP TERM; exec /bin/sh "$0" "$@") & fi
  exit 0
fi
mc_tmux() { ${[tmux.file, ...tmux.args].map(shQuote).join(" ")} "$@"; }
mc_dir=${shQuote(dir)}
# The server's pid comes from the hook itself (#{pid}): when the closed session was its last, the server
# is exiting and cannot be asked any more (then every session it had is gone: has-session fails).
# Without it (mc runs this when it finds no server), every session of a server that is gone has ended.
mc_pid=\${1:-}
[ -n "$mc_pid" ] || mc_pid=$(mc_tmux display-message -p '#{pid}') || mc_pid=
for mc_f in "$mc_dir"/*.stop; do
  [ -f "$mc_f" ] || continue
  read -r mc_spid mc_sid mc_run <"$mc_f" || continue
  # Entries are per socket, which one server holds at a time: an entry of another server (or of none
  # answering) is of a server that is gone, whatever its process is still doing.
  if [ -n "$mc_pid" ] && [ "$mc_spid" = "$mc_pid" ]; then mc_tmux has-session -t "$mc_sid" && continue; fi
  mv -- "$mc_f" "$mc_f.$$" || continue
  /bin/sh "$mc_run/hooks.sh" onStop
  rm -f -- "$mc_f.$$"
done
exit 0
`;
}
