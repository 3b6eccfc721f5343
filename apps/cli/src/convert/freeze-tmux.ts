import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Command, LayoutConfig } from "@mc/core";
import { type Flat, flatten, shQuote } from "@mc/core";
import { mcPaneCommand, startArgv, type TmuxTarget, tmuxAnswerMs, tmuxArgs, tmuxStoredName } from "@mc/tmux";
import { layoutsFile, mcName, type SourcePane, type SourceTab, toTab } from "./build.js";
import { foregroundOf } from "./foreground.js";
import { argvCommand, isShell, plainWords, shellScriptOf, shlexSplit } from "./shell.js";
import { cellLeaves, cellTree, nearestNamedLayout, parseTmuxLayout } from "./tmux-layout.js";
import { convertError, type Imported, Notes } from "./types.js";

/** One pane of `list-panes -s` in {@link freezeQuery}'s format. */
export interface FrozenPane {
  windowIndex: number;
  windowActive: boolean;
  layout: string;
  windowName: string;
  paneId: number;
  paneActive: boolean;
  pid: number;
  dead: boolean;
  mcName: string;
  startCommand: string;
  /** `pane_current_path`: empty for a dead pane (tmux reads it from the running process). */
  path: string;
  /** `pane_start_path`: the directory the pane started in (`-c`), empty when tmux does not say. */
  startPath: string;
}

const FIELDS = [
  "#{window_index}",
  "#{window_active}",
  "#{window_layout}",
  "#{pane_id}",
  "#{pane_active}",
  "#{pane_pid}",
  "#{pane_dead}",
  "#{@mc_name}",
  "#{window_name}",
  "#{pane_start_command}",
  "#{pane_current_path}",
  "#{pane_start_path}",
];

/**
 * The one tmux call behind freeze: every pane of the session (`list-panes -s`, exact `=name` target).
 * Window names, start commands and paths may hold tabs and newlines (tmux 3.3a prints window names and
 * paths raw), so fields and records are separated by markers with a random part no name or path can contain.
 * Bounded as every tmux call is (15 s, or `MC_TMUX_TIMEOUT`): a stopped server held freeze for ever (review H57-4).
 */
export function freezeQuery(t: TmuxTarget, tmuxName: string): { cmd: Command; nonce: string } {
  const nonce = randomBytes(8).toString("hex");
  const format = `[mc-rec-${nonce}]${FIELDS.join(`<mc-${nonce}>`)}`;
  const cmd = tmuxArgs(t, "list-panes", "-s", "-t", `=${tmuxName}`, "-F", format);
  return { cmd: { ...cmd, timeoutMs: tmuxAnswerMs() }, nonce };
}

/**
 * The tmux names `freeze NAME` tries, in order: NAME as tmux keeps it (a session mc did not start is known
 * by the name `tmux ls` prints), then the name tmux keeps for mc's NAME (`.`/`:` as `_`, `#[` doubled, `\`
 * and `${` escaped: @mc/tmux tmuxStoredName), then for the session mc names after the layout NAME (a space
 * as `_`), as every other command also finds a session by its layout's name (review H56-2).
 */
export function freezeTargets(session: string): string[] {
  return [...new Set([session, tmuxStoredName(session), tmuxStoredName(session.replaceAll(" ", "_"))])];
}

/**
 * Parse {@link freezeQuery}'s output. `#{window_name}` is the name as tmux keeps and shows it, copied
 * exactly: tmux 3.3a prints it raw. (`rename-window` stores C-style escapes, `a\b` as `a\\b`, while
 * `new-window -n` stores the name as given; the two cannot be told apart, so neither is undone.)
 */
export function parseFreeze(stdout: string, nonce: string): FrozenPane[] {
  return stdout
    .split(`[mc-rec-${nonce}]`)
    .slice(1)
    .map((rec) => rec.replace(/\n$/, "").split(`<mc-${nonce}>`))
    .filter((f) => f.length === FIELDS.length)
    .map((f) => ({
      windowIndex: Number(f[0]),
      windowActive: f[1] === "1",
      layout: f[2]!,
      paneId: Number(f[3]!.replace("%", "")),
      paneActive: f[4] === "1",
      pid: Number(f[5]),
      dead: f[6] === "1",
      mcName: f[7]!,
      windowName: f[8]!,
      startCommand: f[9]!,
      path: f[10]!,
      startPath: f[11]!,
    }));
}

/**
 * A start command as tmux 3.3a shows it (each argument through args_escape, @mc/tmux `startArgv`) back
 * as a command line: one argument was a `sh -c` string and stays one, several are quoted for the shell.
 */
function startCommandLine(s: string): string {
  const argv = startArgv(s);
  return argv.length === 1 ? argv[0]! : argvCommand(argv);
}

/**
 * The command of a pane mc started (its argv is `/bin/sh <tabs.sh> <index>`, @mc/tmux `mcPaneCommand`):
 * the command is in `cmd-<index>` of the run directory the script names (`mc_dir=…`).
 */
export function mcTabCommand(startCommand: string): string | undefined {
  const p = mcPaneCommand(startCommand);
  return p ? mcScriptCommand(p.tabScript, String(p.index)) : undefined;
}

/**
 * The command of tab `index` of mc's tab wrapper `script` (tmux and zellij alike), or undefined; "" for
 * a pane the layout gave no command (an interactive shell: its command file says `true`, review H32-8).
 */
export function mcScriptCommand(script: string, index: string): string | undefined {
  if (!script.endsWith("/tabs.sh") || !/^\d+$/.test(index)) return undefined;
  try {
    const text = readFileSync(script, "utf8");
    if (!text.includes("# Generated by mc.")) return undefined;
    if (mcCaseEntry(text, index).includes("\n    mc_keep=1")) return "";
    const dir = /^mc_dir=(.*)$/m.exec(text)?.[1];
    const runDir = dir ? shlexSplit(dir)[0] : dirname(script);
    return readFileSync(join(runDir!, `cmd-${index}`), "utf8").replace(/\n$/, "");
  } catch {
    return undefined;
  }
}

/** The lines of tab `index`'s entry in mc's tab wrapper (core tab-wrapper.ts caseEntry), up to the next. */
function mcCaseEntry(text: string, index: string): string {
  const start = text.search(new RegExp(`^  ${index}\\) #`, "m"));
  if (start < 0) return "";
  const rest = text.slice(start + 1);
  const next = rest.search(/^ {2}(\d+\)|\*\)) /m);
  return next < 0 ? rest : rest.slice(0, next);
}

/** What a pane runs: mc's own command, the foreground program's argv, or nothing for a shell at its prompt. */
function paneCommand(
  p: FrozenPane,
  notes: Notes,
  at: string,
): { command?: string | undefined; cwd?: string | undefined; shell?: string; cwdGone?: boolean } {
  const mc = mcTabCommand(p.startCommand);
  if (mc !== undefined) return mc === "" ? {} : { command: mc };
  if (p.dead) {
    const start = startCommandLine(p.startCommand);
    notes.add(at, "the pane's program has ended; its start command and start directory are kept");
    return start ? { command: start } : {};
  }
  const fg = foregroundOf(p.pid);
  if (!fg) return {};
  if (fg.line !== undefined)
    return fg.pid === p.pid && isShell(fg.line.split(" ")[0]!) ? {} : { command: fg.line };
  const where = { cwd: fg.cwd, ...(fg.cwdGone ? { cwdGone: true } : {}) };
  if (fg.pipeline)
    notes.add(
      at,
      `its foreground job is a pipeline of ${fg.pipeline + 1} programs: only the first is written (a pipe and what follows it cannot be read back)`,
    );
  if (fg.renamedFrom) {
    // argv[0] is what the process calls itself, not what it runs (review H66-1: `exec -a rm tail -f f`
    // froze as `rm -f f`): the program it runs is written, and said.
    const { exe } = fg.renamedFrom;
    notes.add(
      at,
      `its process calls itself ${JSON.stringify(fg.argv![0])} but runs ${JSON.stringify(exe)}: written as that program with the arguments it shows, which a process can rewrite; check the command`,
    );
    return { command: argvCommand([exe, ...fg.argv!.slice(1)]), ...where };
  }
  const argv = fg.argv!;
  const script = shellScriptOf(argv);
  if (script !== undefined)
    return {
      command: script,
      ...where,
      ...(plainWords(script) ? {} : { shell: argv[0]!.replace(/^-/, "") }),
    };
  // The pane's own shell is at its prompt when it was given no script to run: `/bin/sh prog.sh a1` (a
  // script exec'd as the pane's command) is that command (review H32-3: frozen as an empty shell).
  if (isShell(argv[0]!) && (fg.pid === p.pid ? !shellOperand(argv) : argv.length === 1)) return where;
  return { command: argvCommand(argv), ...where };
}

/** Options of each shell that take the next word (bundled short ones too: `-lo vi`). */
const VALUED: Record<string, { short: string; long: readonly string[] }> = {
  bash: { short: "oO", long: ["--rcfile", "--init-file"] },
  zsh: { short: "o", long: ["--emulate"] },
  fish: {
    short: "Cdop",
    long: ["--init-command", "--debug", "--debug-output", "--features", "--profile", "--profile-startup"],
  },
};

/**
 * Whether a shell's argv names a script (an operand after its options), as `sh prog.sh a1` does; an
 * option's value is not one (review H47-5: `fish -C '…'`, `zsh --emulate sh`, `bash -lo vi` froze as
 * commands).
 */
export function shellOperand(argv: readonly string[]): boolean {
  const shell = basename(argv[0]!).replace(/^-/, "");
  const valued = VALUED[shell === "fish" || shell === "zsh" ? shell : "bash"]!;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") return i + 1 < argv.length;
    if (a.startsWith("--")) {
      if (valued.long.includes(a)) i++;
      continue;
    }
    if (/^[-+][A-Za-z]+$/.test(a)) {
      if (valued.short.includes(a.at(-1)!)) i++;
      continue;
    }
    return true;
  }
  return false;
}

/**
 * Where a pane is: its foreground program's directory, else tmux's current path; a dead pane has neither
 * (tmux reads it from the running process), so the directory it started in. When tmux knows none of
 * them (a tmux without `pane_start_path`), the home directory, with a warning: never a silent `.`.
 */
function paneDir(p: FrozenPane, c: ReturnType<typeof paneCommand>, notes: Notes, at: string): string {
  // A directory deleted under the pane: the kernel (and tmux's pane_current_path) add " (deleted)" to the
  // path it had (review H66-4: written as the start directory, which --missing-dirs create then made).
  const gone = c.cwdGone || (!c.cwd && / \(deleted\)$/.test(p.path) && !existsSync(p.path));
  if (gone) {
    const was = c.cwd ?? p.path.replace(/ \(deleted\)$/, "");
    notes.add(at, `its directory ${JSON.stringify(was)} was deleted; it starts in your home directory (~)`);
    return "~";
  }
  const dir = c.cwd || p.path || p.startPath;
  if (dir) return dir;
  notes.add(at, "tmux does not say which directory the pane is in; it starts in your home directory (~)");
  return "~";
}

/** One window: its panes in layout order, split and sized as the layout string says. */
function windowTab(panes: FrozenPane[], notes: Notes): SourceTab {
  const w = panes[0]!;
  const at = `window ${w.windowIndex}`;
  const byId = new Map(panes.map((p) => [p.paneId, p]));
  const source = (p: FrozenPane, i: number): SourcePane => {
    const c = paneCommand(p, notes, `${at} pane ${i + 1}`);
    const pane: SourcePane = {
      startDir: paneDir(p, c, notes, `${at} pane ${i + 1}`),
      command: c.command,
      ...(c.shell ? { shell: c.shell } : {}),
    };
    if (p.paneActive) pane.focus = true;
    return pane;
  };
  const cell = parseTmuxLayout(w.layout);
  const leaves = cell ? cellLeaves(cell) : [];
  let flat: Flat<SourcePane>[];
  let layout: SourceTab["layout"];
  if (cell && leaves.length === panes.length && leaves.every((l) => byId.has(l.id ?? -1))) {
    let i = 0;
    const r = flatten(cellTree(cell, (leaf) => source(byId.get(leaf.id!)!, i++)));
    flat = r.panes;
    if (!r.exact) {
      layout = nearestNamedLayout(cell);
      for (const f of flat.slice(1)) delete f.size;
      notes.add(
        at,
        `its layout becomes ${layout}, the nearest of tmux's named layouts (mc splits each pane from the one before)`,
      );
    }
  } else {
    flat = panes.map((p, i) => (i ? { pane: source(p, i), split: "down" } : { pane: source(p, i) }));
    notes.add(at, "its layout could not be read; the panes are stacked");
  }
  const focus = flat.findIndex((f) => f.pane.focus);
  flat.forEach((f, i) => {
    if (i !== focus || i === 0) delete f.pane.focus;
  });
  // tmux allows a window without a name; an mc tab has one (review H32-13: the whole freeze was refused).
  const drawn = drawnName(w.windowName);
  if (drawn.trim() === "") {
    const name = `window-${w.windowIndex}`;
    notes.add(at, `it has no name; written as ${JSON.stringify(name)}`);
    return { name, at, panes: flat, layout };
  }
  return { name: drawn, at, panes: flat, layout };
}

/**
 * A window name as tmux draws it, where that differs from how it keeps it: an even run of `#` before `[`
 * is drawn as half as many (mc writes a name's `#[` so, @mc/tmux literalStyles). An odd run is a style.
 */
const drawnName = (name: string) =>
  name.replace(/#+(?=\[)/g, (run) => (run.length % 2 ? run : run.slice(run.length / 2)));

/**
 * C0 and C1 control characters, DEL and the Unicode line separators (core's name rule): tmux keeps them
 * in a name given to `new-window -n`, and an mc tab name cannot hold them.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** The name itself is never printed: it holds exactly the characters that would garble a terminal. */
const controlName = (tmuxName: string, index: number, server: readonly string[]) =>
  convertError(
    "freeze",
    `window ${index}: its name holds control characters (a newline, tab, escape, …), which an mc tab name cannot`,
    `rename it (tmux ${[...server, "rename-window", "-t", `=${tmuxName}:${index}`].map((a) => (a.startsWith("-") && a.length === 2 ? a : shQuote(a))).join(" ")} NEW-NAME) and freeze again`,
  );

/** A running tmux session (panes from {@link parseFreeze}) as an mc layouts file. */
export function freezeTmux(
  session: string,
  rows: FrozenPane[],
  server: readonly string[] = [],
  tmuxName = tmuxStoredName(session),
): Imported {
  if (rows.length === 0) throw convertError("freeze", `tmux session ${JSON.stringify(session)} has no panes`);
  const notes = new Notes();
  const windows = new Map<number, FrozenPane[]>();
  for (const r of rows) windows.set(r.windowIndex, [...(windows.get(r.windowIndex) ?? []), r]);
  const ordered = [...windows.entries()].sort((a, b) => a[0] - b[0]).map(([, ps]) => ps);
  const named = ordered.find((ps) => CONTROL.test(ps[0]!.windowName));
  if (named) throw controlName(tmuxName, named[0]!.windowIndex, server);
  const tabs = ordered.map((ps) => windowTab(ps, notes));
  const active = ordered.findIndex((ps) => ps[0]!.windowActive);
  if (active > 0)
    notes.add(
      `window ${ordered[active]![0]!.windowIndex}`,
      "the active window; mc opens a session on its first tab",
    );
  notes.add("environment", "the panes' environment variables are not captured");
  const name = rows[0]!.mcName || session;
  const layout: LayoutConfig = {
    layoutName: mcName(name, "session", "layoutName"),
    layoutTabs: tabs.map((t) => toTab(t, notes)),
  };
  return {
    format: "tmux",
    file: layoutsFile([layout], [tabs.map((t) => t.at)], `tmux session ${session}`),
    warnings: notes.list,
  };
}
