import { readFileSync } from "node:fs";
import { type Flat, flatten, isMcError, McError, type NamedLayout, PANE_LAYOUTS } from "@mc/core";
import type { SourcePane } from "./build.js";
import { expandVars, joinDir, normDir, TILDE } from "./paths.js";
import { isShell, shlexSplit, untrailSemicolon } from "./shell.js";
import { cellLeaves, cellTree, layoutChecksum, nearestNamedLayout, parseTmuxLayout } from "./tmux-layout.js";
import { convertError, type ImportContext, isMap, type Notes, type Plain } from "./types.js";
import { loc, pyStr, pyTruthy } from "./values.js";

export const SESSION_KEYS = new Set([
  "session_name",
  "start_directory",
  "before_script",
  "shell_command_before",
  "environment",
  "options",
  "global_options",
  "suppress_history",
  "windows",
  "plugins",
  "workspace_builder",
  "workspace_builder_paths",
  "workspace_builder_options",
  "config",
  "socket_name",
  "shell_command",
]);
export const WINDOW_KEYS = new Set([
  "window_name",
  "start_directory",
  "layout",
  "panes",
  "focus",
  "options",
  "options_after",
  "shell_command_before",
  "window_index",
  "window_shell",
  "environment",
  "suppress_history",
]);
export const PANE_KEYS = new Set([
  "shell_command",
  "shell_command_before",
  "start_directory",
  "shell",
  "environment",
  "focus",
  "suppress_history",
  "enter",
  "sleep_before",
  "sleep_after",
]);

/** One typed command of tmuxp (`{cmd, enter?, sleep_before?, sleep_after?}`). */
export interface Cmd {
  cmd: string;
  enter?: Plain;
  sleep?: boolean;
}

export interface Ctx {
  ctx: ImportContext;
  notes: Notes;
  /** Did any command hold `$` or a leading `~`, which tmuxp would have replaced itself? */
  expandable: boolean;
}

export const fail = (reason: string, hint?: string) => convertError("import", reason, hint);

/**
 * Each window converted, every window's problem said at once (each with its field), not only the first
 * window's (review H39-7): one error whose `details.problems` lists them, in the windows' order.
 */
export function eachWindow<W, T>(windows: readonly W[], convert: (w: W, i: number) => T): T[] {
  const out: T[] = [];
  const problems: McError[] = [];
  windows.forEach((w, i) => {
    try {
      out.push(convert(w, i));
    } catch (e) {
      if (!isMcError(e, "LAYOUT_INVALID")) throw e;
      problems.push(e);
    }
  });
  if (problems.length === 1) throw problems[0];
  if (problems.length)
    throw new McError("LAYOUT_INVALID", problems.map((p) => p.reason).join("\n"), {
      backend: "cli",
      op: "import",
      hint: problems.find((p) => p.hint)?.hint,
      details: { problems: problems.map((p) => p.reason) },
    });
  return out;
}

/** tmuxp's `expand_cmd`: a string, a list, or nothing; `blank`/`pane`/null alone mean no command. */
export function expandCmds(v: Plain | undefined, at: string): Cmd[] {
  const list = typeof v === "string" ? [v] : Array.isArray(v) ? v : pyTruthy(v) ? undefined : [];
  if (!list) throw fail(`${at}: commands are a string or a list`);
  if (list.length === 1 && (list[0] === null || list[0] === "blank" || list[0] === "pane")) return [];
  // Only empty commands: tmuxp's Enter in a fresh shell (its blank-panes example: "an empty string will
  // be treated as a carriage return"), a blank pane. Among others, an empty line is kept as written.
  if (list.length > 0 && list.every((c) => typeof c === "string" && c.trim() === "")) return [];
  return list.map((c, i) => {
    if (typeof c === "string") return { cmd: untrailSemicolon(c) };
    if (isMap(c) && typeof c.cmd === "string") {
      const sleep = c.sleep_before !== undefined || c.sleep_after !== undefined;
      return {
        cmd: untrailSemicolon(c.cmd),
        ...(c.enter !== undefined ? { enter: c.enter } : {}),
        ...(sleep ? { sleep } : {}),
      };
    }
    throw fail(`${loc(at, i)}: a command is a string or {cmd: …}`);
  });
}

/** A pane entry in its long form (tmuxp's `expand_cmd` of a pane). */
export function paneMap(p: Plain, at: string): Record<string, Plain> {
  if (typeof p === "string" || Array.isArray(p)) return { shell_command: p };
  if (!pyTruthy(p)) return { shell_command: [] };
  if (isMap(p)) return p;
  throw fail(`${at}: a pane is a string, a list of commands or a mapping`);
}

/** `shell_command_before` of a level (a mapping there is ignored by tmuxp, so here too, with a warning). */
export function before(v: Plain | undefined, at: string, notes: Notes): Cmd[] {
  if (isMap(v)) {
    notes.add(at, "a mapping here is ignored by tmuxp; not carried over");
    return [];
  }
  return expandCmds(v, at);
}

/** A value tmuxp runs through `expandshell`: variables replaced now (with a warning), `~` kept for mc. */
export function expanded(c: Ctx, v: Plain, at: string, keepHome: boolean): string {
  const s = pyStr(v);
  // mc expands $HOME only at the start of a directory: elsewhere it is replaced now (review H32-16).
  const { text, used } = expandVars(
    s,
    c.ctx.env,
    (n, i, whole) => keepHome && n === "HOME" && i === 0 && /^(\/|$)/.test(s.slice(whole.length)),
  );
  if (used.length)
    c.notes.add(
      at,
      `$${used.join(", $")} replaced by ${used.length > 1 ? "their values" : "its value"} now (tmuxp does it at each load)`,
    );
  return text;
}

/** A directory: `.`-relative ones against `base` (tmuxp's rule), the rest as mc reads them. */
export function dirOf(c: Ctx, v: Plain, at: string, base: string | undefined): string {
  // `~user` is that user's home, as tmuxp's expanduser makes it (review H32-17: kept as text, then joined
  // under the session's directory); `~` and `~/…` stay for mc.
  const d = expanded(c, typeof v === "string" && /^~[^/]/.test(v) ? homeOf(c, v, at) : v, at, true);
  return d.startsWith(".") ? joinDir(base ?? c.ctx.cwd, d) : normDir(d);
}

/** Variables of a level; values starting with `.` are made absolute against `base`, as tmuxp does. */
export function envOf(
  c: Ctx,
  v: Plain | undefined,
  at: string,
  base: string,
): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isMap(v)) throw fail(`${at}: environment is a mapping`);
  const out: Record<string, string> = {};
  for (const [k, raw] of Object.entries(v)) {
    // `__proto__` is a name tmux would set, but not one a layouts file can hold (review H32-9: dropped
    // without a word).
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || k === "__proto__") {
      c.notes.add(
        loc(at, k),
        k === "__proto__"
          ? "mc cannot set a variable named __proto__; not carried over"
          : "not a variable name mc can set (letters, digits, _); not carried over",
      );
      continue;
    }
    // tmuxp's expandshell is expanduser, then expandvars: a leading ~ is the home directory (review
    // H32-2: kept as text, the tab saw "~/x" where tmuxp sets /home/u/x).
    const val = expanded(c, homeOf(c, raw, loc(at, k)), loc(at, k), false);
    out[k] = val.startsWith(".") ? joinDir(base, val) : val;
  }
  return out;
}

/**
 * Python's os.path.expanduser (Ruby's File.expand_path, for tmuxinator) of a value: `~` and `~/…` from
 * $HOME, `~user/…` from /etc/passwd.
 */
export function homeOf(c: Ctx, v: Plain, at: string, tool = "tmuxp"): Plain {
  if (typeof v !== "string" || !v.startsWith("~")) return v;
  const m = /^~([^/]*)(.*)$/s.exec(v)!;
  const home = m[1] === "" ? c.ctx.env.HOME : passwdHome(m[1]!);
  if (home === undefined) return v;
  c.notes.add(
    at,
    `~${m[1]} replaced by ${m[1] === "" ? "$HOME's value" : "that user's home directory"} now (${tool} does it at each load)`,
  );
  return (home === "/" ? "" : home.replace(/\/+$/, "")) + m[2]! || "/";
}

/** A user's home directory from this machine's /etc/passwd (undefined when there is none). */
function passwdHome(user: string): string | undefined {
  try {
    const line = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((l) => l.split(":")[0] === user);
    return line?.split(":")[5] || undefined;
  } catch {
    return undefined;
  }
}

/** The commands a pane runs: typed lines, one after the other, whatever each one's exit status. */
export function commandOf(c: Ctx, pane: Record<string, Plain>, cmds: Cmd[], at: string): string | undefined {
  let enter = pane.enter ?? true;
  const run: string[] = [];
  const dropped: string[] = [];
  if (pane.sleep_before !== undefined || pane.sleep_after !== undefined || cmds.some((x) => x.sleep))
    c.notes.add(at, "sleep_before/sleep_after not carried over: mc runs the commands without pauses");
  for (const x of cmds) {
    enter = x.enter ?? enter;
    if (pyTruthy(enter)) run.push(x.cmd);
    else dropped.push(x.cmd);
  }
  if (dropped.length)
    c.notes.add(
      at,
      `typed but never entered (enter: false), so not carried over: ${dropped.map((d) => JSON.stringify(d)).join(", ")}`,
    );
  if (run.some((x) => x.includes("$") || TILDE.test(x))) c.expandable = true;
  return run.length ? run.join("\n") : undefined;
}

/** The program a pane runs instead of the default shell (`shell`, `window_shell`), applied to the pane. */
export function withShell(c: Ctx, p: SourcePane, program: string | undefined, at: string): SourcePane {
  if (program === undefined || program === "") return p;
  let words: string[] = [];
  try {
    words = shlexSplit(program);
  } catch {}
  if (words.length === 1 && isShell(words[0]!))
    return p.command === undefined ? { ...p, command: program } : { ...p, shell: program };
  if (p.command !== undefined)
    c.notes.add(
      at,
      `the pane runs ${JSON.stringify(program)}; the commands tmuxp would type into it are not carried over`,
    );
  return { ...p, command: program };
}

/** How a tmuxp window's `layout` becomes mc's: a name, or splits read from a layout string. */
export function layoutOf(
  c: Ctx,
  v: Plain | undefined,
  panes: Flat<SourcePane>[],
  at: string,
): NamedLayout | undefined {
  if (v === undefined || v === null) return undefined;
  const s = pyStr(v);
  if ((PANE_LAYOUTS as readonly string[]).includes(s)) return s as NamedLayout;
  const mirrored = /^(main-(?:horizontal|vertical))-mirrored$/.exec(s);
  if (mirrored) {
    c.notes.add(
      at,
      `${s} becomes ${mirrored[1]} (mc knows tmux 3.0's layouts; tmux 3.3a's server exits on ${s})`,
    );
    return mirrored[1] as NamedLayout;
  }
  const cell = parseTmuxLayout(s);
  if (!cell) {
    c.notes.add(at, `${JSON.stringify(s)} is not a tmux layout; not carried over`);
    return undefined;
  }
  // tmux refuses a layout string whose checksum is not its body's ("invalid layout"): so did the tool
  // loading this file (review H32-14: mc drew it).
  const [sum, ...body] = s.trim().split(",");
  if (sum!.toLowerCase() !== layoutChecksum(body.join(","))) {
    c.notes.add(
      at,
      `the layout string's checksum is ${sum}, its content's ${layoutChecksum(body.join(","))}: tmux refuses it ("invalid layout"); not carried over`,
    );
    return undefined;
  }
  if (cellLeaves(cell).length !== panes.length) {
    c.notes.add(
      at,
      `the layout string has ${cellLeaves(cell).length} panes, the window ${panes.length}; not carried over`,
    );
    return undefined;
  }
  let n = 0;
  const flat = flatten(cellTree(cell, () => panes[n++]!.pane));
  if (flat.exact) {
    panes.splice(0, panes.length, ...flat.panes);
    return undefined;
  }
  const named = nearestNamedLayout(cell) ?? "tiled";
  c.notes.add(
    at,
    `the layout string becomes ${named}, the nearest of tmux's named layouts (mc splits each pane from the one before)`,
  );
  return named;
}
