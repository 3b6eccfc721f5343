import { join } from "node:path";
import {
  type Command,
  commandFiles,
  type ExitMode,
  type HostInfo,
  type LayoutConfig,
  logWriterScript,
  McError,
  type NamedLayout,
  normaliseStartDir,
  posixTabScript,
  type Size,
  type Split,
  shQuote,
  tabLogName,
  type WrappedTab,
  wrappedTabs,
} from "@mc/core";
import { hasLoneSurrogate } from "./names.js";
import { panesBody, sizeValue } from "./pane-tree.js";
import { atLeast, LIST_PANES_SINCE, NEW_SESSION_WITH_LAYOUT_SINCE, type ZellijVersion } from "./version.js";

/**
 * A KDL v1 string literal whose value is exactly `s`. `"` and `\` are escaped, `\n`, `\r`, `\t` use their
 * short escapes, every other non-ASCII BMP character is written as `\u{hex}` (zellij reads layouts
 * with kdl-rs 4.5, a KDL v1 parser, Cargo.lock of v0.40.0…v0.45.0), and characters outside the BMP are
 * written as UTF-8: that is valid KDL v1, and kdljs 0.2.0 (used to check these files) decodes `\u{}`
 * with `String.fromCharCode`, which cannot produce them. Lone surrogates cannot be written at all.
 */
export function kdlString(s: string): string {
  if (hasLoneSurrogate(s)) {
    throw new McError("LAYOUT_INVALID", `${JSON.stringify(s)} holds an unpaired UTF-16 surrogate`, {
      backend: "zellij",
      op: "prepare",
      hint: "fix the text encoding of the layouts file",
    });
  }
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    // Everything else outside printable ASCII in the BMP is escaped, so the file shows every control or
    // invisible character and no KDL newline (U+0085, U+2028, U+2029, FF) can end a comment or string.
    else if (cp < 0x20 || (cp > 0x7e && cp < 0x10000)) out += `\\u{${cp.toString(16)}}`;
    else out += ch;
  }
  return `${out}"`;
}

/**
 * True when zellij would take `dir` literally as a `cwd`. Zellij passes `cwd` and `command` through
 * `shellexpand::full` (zellij-utils/src/kdl/kdl_layout_parser.rs `parse_path`, v0.40.0…v0.45.0):
 * `$VAR`/`${VAR}` are replaced (an unset variable fails the whole layout) and a leading `~` becomes the
 * home directory. Arguments (`args`) are never expanded.
 */
export function isLiteralPath(dir: string): boolean {
  return !dir.includes("$") && !dir.startsWith("~");
}

/**
 * The pane program. Absolute, because zellij resolves a relative `command` against the pane's cwd first
 * (zellij-server/src/os_input_output.rs `resolve_command`): a file named `sh` in a tab's startDir would run.
 */
export const PANE_SHELL = "/bin/sh";

/**
 * `sh -c` program used when a startDir cannot be a KDL `cwd` ({@link isLiteralPath}): the directory
 * travels as an argument, which zellij never expands. `$0` is `mc-tab`.
 */
export const CD_LAUNCHER = 'cd -- "$1" && exec /bin/sh "$2" "$3"';

/** One command of a zellij layout: a tab's own pane or one of its further panes (its `slot`). */
export interface ZellijTab extends WrappedTab {
  /** Already normalised (leading `~`/`$HOME` expanded by mc). */
  startDir: string;
  /** A further pane: how it is split from the pane before it, and its size (schema PaneConfig). */
  split?: Split | undefined;
  size?: Size | undefined;
  focus?: boolean | undefined;
  /** The tab's named layout (tmux's), on its first pane: zellij gets its shape (geometry namedLayoutTree). */
  layout?: NamedLayout | undefined;
}

/**
 * The layout's commands as zellij panes: what the wrapper runs for each slot (core `wrappedTabs`) with
 * the geometry of the pane it comes from.
 */
export function zellijTabs(layout: LayoutConfig): ZellijTab[] {
  return wrappedTabs(layout).map((w) => {
    const t = layout.layoutTabs[w.index]!;
    const p = w.pane ? t.panes?.[w.pane - 1] : undefined;
    const geometry = p
      ? { split: p.split, size: p.size, focus: p.focus }
      : t.layout && t.panes?.length
        ? { layout: t.layout }
        : {};
    return { ...w, ...geometry };
  });
}

/**
 * Wait (5 s at most) until this pane is laid out. zellij 0.45 spawns a layout's panes before it applies
 * the layout, and what a pane prints, and its exit, before then is queued for a pane the screen does not
 * have yet and never replayed (screen.rs: ApplyLayout drains the events waiting for a client or a tab,
 * not those waiting for a pane): the pane stays empty and "running" for good, and with `--exit close`
 * it never closes. Its terminal is 0x0 until the layout gives it a size, so `stty size` tells; any other
 * answer (a size, no terminal) goes on at once.
 */
const WAIT_FOR_LAYOUT =
  'mc_i=0; while [ "$(stty size 2>/dev/null)" = "0 0" ] && [ "$mc_i" -lt 100 ]; do sleep 0.05; mc_i=$((mc_i + 1)); done';

/**
 * A file in the run directory that says the session's layout was applied long ago: mc writes it before it
 * starts a held-back tab (whose suspended pane may never get a size in a session without a client), so
 * such a tab does not wait.
 */
export const LAID_OUT = "laid-out";

/**
 * `sh -c` program of a pane whose output is logged (zellij has no pipe-pane): util-linux script(1) runs the
 * tab wrapper on a terminal of its own, relays everything both ways (the tab shows and behaves as without
 * it: a pty, window size followed) and copies the output to fd 3, which the log writer of the tab wrapper
 * (core `logWriterScript`, rotated at 8 MiB) appends to `logs/tab-<i>.log`. The pane exits with the
 * wrapper's status. `$0` is `mc-tab`; `$1` script(1), `$2` the log, `$3` a startDir zellij could not take
 * as a cwd (or ""), `$4` the wrapper, `$5` the tab. script(1) runs its command with `$SHELL`, so it gets
 * /bin/sh and the wrapper gets the user's `$SHELL` back.
 */
export const LOGGED_LAUNCHER = [
  // The logs directory first: the wrapper's pid file goes there before the log writer would make it.
  'mkdir -p -m 700 -- "${2%/*}" 2>/dev/null',
  '[ -z "$3" ] || cd -- "$3" || exit 1',
  // Before script(1) copies the pane's size to its own terminal (see WAIT_FOR_LAYOUT; `$2` is the run
  // directory's logs/tab-N.log).
  `[ -e "\${2%/logs/*}/${LAID_OUT}" ] || { ${WAIT_FOR_LAYOUT}; }`,
  "MC_US=${SHELL-} MC_TS=$4 MC_IX=$5 MC_PIDF=$2.pid MC_LAID_OUT=1 SHELL=/bin/sh",
  "export MC_US MC_TS MC_IX MC_PIDF MC_LAID_OUT SHELL",
  'mc_rcf=$2.rc; rm -f -- "$MC_PIDF" "$mc_rcf"; exec 4>&1 6<&0',
  // A list run in the background by a shell without job control starts with SIGINT and SIGQUIT ignored,
  // and so would every process of the tab (a shell cannot trap a signal ignored on entry): Ctrl-C reached
  // no command (review H34-6). GNU env puts them back to their defaults; without it they stay ignored.
  "mc_de=; env --default-signal=INT,QUIT true 2>/dev/null && mc_de='env --default-signal=INT,QUIT'",
  // In the background (so this shell can take the pane's hang-up) with the pane's terminal as stdin.
  // script(1) writes the log to /dev/fd/3 (a descriptor of its own); the tab's processes do not inherit
  // the pipe: a job a command left running (`daemon &`) held the log writer, and with it the pane, open
  // until it ended, and a command could write into the log past the terminal (review HR87-2).
  `{ { $mc_de "$1" -qfec 'exec 3>&-; echo $$ > "$MC_PIDF"; ts=$MC_TS ix=$MC_IX; SHELL=$MC_US; [ -n "$SHELL" ] || unset SHELL; unset MC_US MC_TS MC_IX MC_PIDF; exec /bin/sh "$ts" "$ix"' /dev/fd/3 3>&1 1>&4 4>&- <&6 6<&-; echo $? > "$mc_rcf"; } | { ${logWriterScript('"$2"', undefined, "probe", { scriptBanner: true }).join("; ")}; } >/dev/null 4>&- 6<&-; } &`,
  // script(1) neither dies of the pane's hang-up nor passes it on: hand it to the wrapper's session.
  // (dash's kill takes no `--`: `kill -HUP -PGID`.)
  'mc_fw() { [ -s "$MC_PIDF" ] && kill -"$1" "-$(cat "$MC_PIDF")" 2>/dev/null; }',
  "trap 'mc_fw HUP' HUP; trap 'mc_fw TERM' TERM",
  'mc_j=$!; while kill -0 "$mc_j" 2>/dev/null; do wait "$mc_j"; done',
  'exit "$(cat "$mc_rcf" 2>/dev/null || echo 1)"',
].join("\n");

/**
 * The argv of a pane: `[command, ...args]`, always ending `<tab script> <slot>` (how a pane is matched
 * to its slot, parse.ts `paneTabIndex`; the slot is the tab's index for a tab's own pane). With `logger` (the host's util-linux script(1)) the
 * tab's output is also logged ({@link LOGGED_LAUNCHER}).
 */
export function paneArgv(
  tab: ZellijTab,
  tabScript: string,
  logger?: { script: string; runDir: string },
): string[] {
  const literal = isLiteralPath(tab.startDir);
  const slot = String(tab.slot ?? tab.index);
  if (logger) {
    const log = join(logger.runDir, tabLogName(tab.slot ?? tab.index));
    const dir = literal ? "" : tab.startDir;
    return [PANE_SHELL, "-c", LOGGED_LAUNCHER, "mc-tab", logger.script, log, dir, tabScript, slot];
  }
  return literal
    ? [PANE_SHELL, tabScript, slot]
    : [PANE_SHELL, "-c", CD_LAUNCHER, "mc-tab", tab.startDir, tabScript, slot];
}

/**
 * The name mc gives a tab's pane: `<tab name> (mc run <run id>)`. It is mc's ownership marker on zellij:
 * zellij shows it as the pane's title (no program can change it), lists it in `list-panes --json`, and
 * writes it into the resurrection layout of the session, where the pane's command is gone once the tab's
 * command ended (see parse.ts `runIdsInLayout`).
 */
export function paneName(tabName: string, runId: string): string {
  return `${tabName} (mc run ${runId})`;
}

/**
 * What the tab wrapper runs once the command ended while a shell stays in the pane (`--exit shell`):
 * it renames its own pane to `<pane name> [exit N]` (`action rename-pane --pane-id`, 0.44+), so a poll
 * sees from `list-panes` alone that the command ended and reads the tab's record (as tmux's `@mc_exit`).
 * zellij itself reports the status only of a pane whose program ended, and the kept shell has not.
 */
export function zellijOnExit(zellij: string, tabs: readonly ZellijTab[], runId: string): string {
  const names = tabs
    .map((t) => `${t.slot ?? t.index}) mc_pn=${shQuote(paneName(t.tabName, runId))} ;;`)
    .join(" ");
  return [
    `case "$1" in ${names} *) mc_pn= ;; esac`,
    `[ -n "$ZELLIJ_PANE_ID" ] && [ -n "$mc_pn" ] && ${shQuote(zellij)} action rename-pane --pane-id "terminal_$ZELLIJ_PANE_ID" "$mc_pn [exit $mc_code]" </dev/null >/dev/null 2>&1`,
  ].join("\n");
}

/**
 * What the tab wrapper runs first under zellij: {@link WAIT_FOR_LAYOUT}, unless the logged launcher did
 * it on the pane's own terminal (`MC_LAID_OUT`; script(1)'s terminal has no size where its input is not
 * a terminal).
 */
export const ZELLIJ_WAIT_FOR_PANE = `[ -n "\${MC_LAID_OUT-}" ] || [ -e "$mc_dir/${LAID_OUT}" ] || { ${WAIT_FOR_LAYOUT}; }; unset MC_LAID_OUT`;

/** Input of {@link zellijLayout}. */
export interface ZellijLayoutInput {
  /** Session name (shown in the header comment only). */
  name: string;
  /** The run the session belongs to (in every pane's name). */
  runId: string;
  tabs: readonly ZellijTab[];
  /** Path of the tab wrapper script on the host. */
  tabScript: string;
  /** Add zellij's compact tab bar to every tab (default true, as machineconfig's layouts did). */
  tabBar?: boolean;
  /** Close a pane once its program ended (`--exit close`); otherwise zellij holds it, finished, on screen. */
  closeOnExit?: boolean;
  /**
   * Tabs held back (indexes): their pane waits, suspended, until mc starts it (`send-keys Enter`). zellij
   * 0.45 cannot give a tab added to a session without a client any room for a pane, so every tab is
   * created at start and the held-back ones start later.
   */
  suspended?: readonly number[] | undefined;
  /** Log each tab's output with the host's util-linux script(1) (see {@link paneArgv}). */
  logger?: { script: string; runDir: string } | undefined;
}

/** The KDL node of one pane (without its closing brace), at `indent`, with `size` from its split box. */
export function paneNode(
  l: ZellijLayoutInput,
  t: ZellijTab,
  size: Size | undefined,
  indent: string,
): string[] {
  const [command, ...args] = paneArgv(t, l.tabScript, l.logger);
  // A tab's own pane takes its directory from the tab node; a further pane names its own.
  const cwd = t.pane && isLiteralPath(t.startDir) ? ` cwd=${kdlString(t.startDir)}` : "";
  const held = l.suspended?.includes(t.index) ? " start_suspended=true" : "";
  const sized = size === undefined ? "" : ` size=${sizeValue(size)}`;
  const focus = t.focus ? " focus=true" : "";
  return [
    `${indent}pane${sized}${focus}${cwd} command=${kdlString(command!)} name=${kdlString(paneName(t.tabName, l.runId))} close_on_exit=${l.closeOnExit ? "true" : "false"}${held} {`,
    `${indent}    args ${args.map(kdlString).join(" ")}`,
    `${indent}}`,
  ];
}

/** The KDL lines of one tab (indented for the `layout` block): its panes, in order of their panes. */
function tabLines(l: ZellijLayoutInput, panes: readonly ZellijTab[]): string[] {
  const t = panes[0]!;
  const cwd = isLiteralPath(t.startDir) ? ` cwd=${kdlString(t.startDir)}` : "";
  return [
    `    tab name=${kdlString(t.tabName)}${cwd} {`,
    ...panesBody(panes, (p, size, indent) => paneNode(l, p, size, indent), "        "),
    "    }",
  ];
}

/** The layout's panes grouped by tab, each tab's in pane order. */
function byTab(tabs: readonly ZellijTab[]): ZellijTab[][] {
  const groups = new Map<number, ZellijTab[]>();
  for (const t of tabs) groups.set(t.index, [...(groups.get(t.index) ?? []), t]);
  return [...groups.keys()]
    .sort((a, b) => a - b)
    .map((i) => groups.get(i)!.sort((a, b) => (a.pane ?? 0) - (b.pane ?? 0)));
}

/**
 * The KDL v1 layout of one session: one tab per layout tab with its name and cwd, one command pane per
 * tab running the POSIX tab wrapper (`/bin/sh <script> <index>`), named with mc's marker
 * ({@link paneName}). `close_on_exit false` keeps a pane whose wrapper has ended on screen with its exit
 * status (zellij's "held" pane, kdl_layout_parser.rs `hold_on_close`), which is also what lets
 * `list-panes` report `exit_status`; the wrapper itself keeps an interactive shell in the pane unless
 * the exit mode says otherwise.
 */
export function zellijLayout(l: ZellijLayoutInput): string {
  const tabCount = new Set(l.tabs.map((t) => t.index)).size;
  const lines = [
    `// mc: zellij layout of session ${kdlString(l.name)} (${tabCount} tab${tabCount === 1 ? "" : "s"})`,
    "// Generated by mc; every string is escaped data.",
    "layout {",
  ];
  if (l.tabBar ?? true) {
    lines.push(
      "    default_tab_template {",
      "        pane size=1 borderless=true {",
      '            plugin location="zellij:compact-bar"',
      "        }",
      "        children",
      "    }",
    );
  }
  for (const panes of byTab(l.tabs)) lines.push(...tabLines(l, panes));
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

/**
 * The command that starts a detached session from a layout file. `attach --create-background NAME` is
 * the only detached creation zellij has (cli.rs `Sessions::Attach`, since 0.40.0); the layout comes from
 * the global `--new-session-with-layout` (0.41.0+) or `--layout` (0.40.x), see
 * {@link NEW_SESSION_WITH_LAYOUT_SINCE}. The name is a plain positional (no `--`: zellij after 0.45 reads
 * what follows `--` as the initial command, PR #5543); names that clap could misread are rejected earlier.
 */
export function startCommand(
  zellij: string,
  version: ZellijVersion | undefined,
  layoutPath: string,
  name: string,
  configDir?: string,
): Command {
  const flag =
    version === undefined || atLeast(version, NEW_SESSION_WITH_LAYOUT_SINCE)
      ? "--new-session-with-layout"
      : "--layout";
  // Where zellij would find no configuration directory, and so start its default layout (ZellijHostFacts).
  const dir = configDir ? ["--config-dir", configDir] : [];
  return {
    file: zellij,
    args: [...dir, flag, layoutPath, "attach", "--create-background", name],
    timeoutMs: 20000,
  };
}

/** Artefacts and start command of one zellij session. */
export interface ZellijSessionFiles {
  layoutPath: string;
  layout: string;
  tabScriptPath: string;
  tabScript: string;
  /** Each tab's command, which the wrapper reads (mode 0600: it may hold secrets). */
  commandFiles: { path: string; content: string }[];
  start: Command;
}

/** Input of {@link zellijSessionFiles}. */
export interface ZellijSessionInput {
  zellij: string;
  version: ZellijVersion | undefined;
  name: string;
  runId: string;
  tabs: readonly ZellijTab[];
  dir: string;
  runDir: string;
  exitMode: ExitMode;
  /** Tabs not to start now: created suspended, a scheduler starts them later (see `suspended`). */
  pending?: readonly number[] | undefined;
  tabBar?: boolean | undefined;
  /** The host's util-linux script(1), which logs each tab's output; no logs without it. */
  script?: string | undefined;
  /** A configuration directory the start must name (see ZellijHostFacts.configDir). */
  configDir?: string | undefined;
}

/**
 * Everything needed to start one session: the KDL layout (held-back tabs suspended), the tab wrapper and
 * the zellij call.
 */
export function zellijSessionFiles(o: ZellijSessionInput, info: HostInfo): ZellijSessionFiles {
  const tabScriptPath = join(o.dir, "tabs.sh");
  const layoutPath = join(o.dir, "layout.kdl");
  const tabs = o.tabs.map((t) => ({ ...t, startDir: normaliseStartDir(t.startDir, info.home) }));
  return {
    layoutPath,
    layout: zellijLayout({
      name: o.name,
      runId: o.runId,
      tabs,
      suspended: o.pending,
      tabScript: tabScriptPath,
      closeOnExit: o.exitMode === "close",
      ...(o.tabBar === undefined ? {} : { tabBar: o.tabBar }),
      ...(o.script ? { logger: { script: o.script, runDir: o.runDir } } : {}),
    }),
    tabScriptPath,
    commandFiles: commandFiles(o.runDir, tabs),
    tabScript: posixTabScript({
      title: `mc: tabs of zellij session ${JSON.stringify(o.name)}`,
      session: o.name,
      runDir: o.runDir,
      tabs,
      keepShell: o.exitMode === "shell",
      onStart: ZELLIJ_WAIT_FOR_PANE,
      // A pane whose wrapper ends (keep, close) reports its own exit status; rename-pane is 0.44+.
      ...(o.exitMode === "shell" && (o.version === undefined || atLeast(o.version, LIST_PANES_SINCE))
        ? { onExit: zellijOnExit(o.zellij, tabs, o.runId) }
        : {}),
    }),
    start: startCommand(o.zellij, o.version, layoutPath, o.name, o.configDir),
  };
}
