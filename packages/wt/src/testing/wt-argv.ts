import { WtParseError } from "../parse.js";

/** The CLI11 release a Windows Terminal build links. */
export type Cli11 = "2.4.2" | "2.6.1";

/** CLI11 of a Windows Terminal version (vcpkg.json: 2.4.2 up to v1.24, 2.6.1 from v1.25.622.0). */
export function cli11Of(wtVersion: readonly number[]): Cli11 {
  const [a = 0, b = 0] = wtVersion;
  return a > 1 || (a === 1 && b >= 25) ? "2.6.1" : "2.4.2";
}

/**
 * What wt makes of a `--window` value. v1.23+ (WindowEmperor.cpp `_dispatchCommandline`): a whole base-10
 * integer (`til::parse_signed`) is an id (>0), the current window (0) or a new one (<0); `last` and `new`
 * are keywords. v1.22 and older (v1.22.11751.0 AppLogic.cpp:557): `std::stoi` reads a prefix (leading
 * blanks, a sign), so `2fa` is window 2. Otherwise it is a name; `_quake` is the quake window.
 */
export function windowTarget(
  value: string,
  wtVersion: readonly number[],
): "name" | "quake" | "id" | "keyword" {
  const [a = 0, b = 0] = wtVersion;
  const modern = a > 1 || (a === 1 && b >= 23);
  if (modern ? /^-?[0-9]+$/.test(value) : /^[ \t\n\v\f\r]*[+-]?[0-9]/.test(value)) return "id";
  if (value === "new" || value === "last") return "keyword";
  return value === "_quake" ? "quake" : "name";
}

/**
 * Test oracles (`@mc/wt/testing`, not the public API): Windows Terminal's command-line rules, to prove
 * what wt makes of the arguments mc generates. Rules are from microsoft/terminal at 20588130
 * (2026-08-19): src/cascadia/TerminalApp/AppCommandlineArgs.cpp, Commandline.cpp,
 * src/cascadia/WindowsTerminal/WindowEmperor.cpp, and CLI11 2.6.1 (the version pinned in its vcpkg.json).
 */

// AppCommandlineArgs.cpp `_commandDelimiterRegex`: a `;` at the start, or one after any char but `\`.
const DELIMITER = /^;|[^\\];/;

/**
 * Split wt's argv (without the program name) into subcommands exactly as `BuildCommands` /
 * `_addCommandsForArg` do, de-escaping `\;` as `Commandline::AddArg` does. An empty subcommand (`;;`)
 * is kept as `[]`; wt runs it as a `new-tab` with defaults.
 */
export function splitWtCommands(argv: readonly string[]): string[][] {
  const commands: string[][] = [[]];
  for (const arg of argv) {
    let remaining = arg;
    do {
      const m = DELIMITER.exec(remaining);
      if (!m) {
        commands.at(-1)!.push(remaining.split("\\;").join(";"));
        break;
      }
      const cut = m[0].length === 1 ? m.index : m.index + 1;
      const next = remaining.slice(0, cut);
      if (next !== "") commands.at(-1)!.push(next.split("\\;").join(";"));
      commands.push([]);
      remaining = remaining.slice(m.index + m[0].length);
    } while (remaining !== "");
  }
  return commands;
}

/**
 * CLI11 2.6.1 `Option::_add_result` escape clause: `[[` + doubled characters + `]]` becomes `[…]`. Windows
 * Terminal pins CLI11 2.6.1 from v1.25 (vcpkg.json); v1.22–v1.24 pin 2.4.2, which has no such clause
 * (`cli11: "2.4.2"` leaves the value alone).
 */
export function cli11Collapse(v: string, cli11: Cli11 = "2.6.1"): string {
  if (cli11 === "2.4.2") return v;
  if (v.length < 4 || !v.startsWith("[[") || !v.endsWith("]]")) return v;
  let out = "[";
  for (let i = 2; i < v.length - 2; i += 2) {
    if (v[i] !== v[i + 1]) return v;
    out += v[i];
  }
  return `${out}]`;
}

/** What a `new-tab` subcommand asks for. */
export interface WtNewTab {
  kind: "new-tab";
  title?: string;
  startingDirectory?: string;
  profile?: string;
  suppressApplicationTitle?: boolean;
  /** The positional command arguments, after CLI11. */
  command: string[];
  /** The command line wt builds from them (AppCommandlineArgs.cpp `_getNewTerminalArgs`). */
  commandline?: string;
}

/** What a `focus-tab` subcommand asks for. */
export interface WtFocusTab {
  kind: "focus-tab";
  target?: number;
  next?: boolean;
  previous?: boolean;
}

/** What a `split-pane` subcommand asks for: a new-tab's fields, the direction of the new pane and its size. */
export interface WtSplitPane extends Omit<WtNewTab, "kind"> {
  kind: "split-pane";
  /** `-H`/`--horizontal`: the new pane below (`down`); `-V`/`--vertical`: to the right. */
  direction?: "down" | "right";
  /** `-s`/`--size`: the new pane's fraction of the pane it splits (default 0.5). */
  size?: number;
}

/** What a `focus-pane` subcommand asks for. */
export interface WtFocusPane {
  kind: "focus-pane";
  target: number;
}

/** One wt action. */
export type WtAction = WtNewTab | WtFocusTab | WtSplitPane | WtFocusPane;

/** A whole wt invocation: the target window and the actions in order. */
export interface WtInvocation {
  /** `--window` value, when given. */
  window?: string;
  actions: WtAction[];
}

const ROOT_FLAGS = new Set(["-v", "--version", "-M", "--maximized", "-F", "--fullscreen", "-f", "--focus"]);
const ROOT_OPTIONS: Record<string, string> = {
  "-w": "window",
  "--window": "window",
  "-s": "saved",
  "--saved": "saved",
  "--pos": "pos",
  "--size": "size",
};
const NEW_TAB_OPTIONS: Record<string, string> = {
  "-p": "profile",
  "--profile": "profile",
  "--sessionId": "sessionId",
  "-d": "startingDirectory",
  "--startingDirectory": "startingDirectory",
  "--title": "title",
  "--tabColor": "tabColor",
  "--colorScheme": "colorScheme",
};
const NEW_TAB_FLAGS: Record<string, string> = {
  "--suppressApplicationTitle": "suppressApplicationTitle",
  "--useApplicationTitle": "useApplicationTitle",
  "--appendCommandLine": "appendCommandLine",
  "--inheritEnvironment": "inheritEnvironment",
  "--reloadEnvironment": "reloadEnvironment",
};
const NEW_TAB = new Set(["new-tab", "nt"]);
const FOCUS_TAB = new Set(["focus-tab", "ft"]);
const SPLIT_PANE = new Set(["split-pane", "sp"]);
const FOCUS_PANE = new Set(["focus-pane", "fp"]);
const OTHER_SUBCOMMANDS = new Set(["move-focus", "mf", "move-pane", "mp", "swap-pane"]);

interface OptionHit {
  key: string;
  value?: string;
  consumed: number;
}

/** Match `args[i]` against options: `--name=value`, `--name value`, `-x value`, `-xvalue` (CLI11 split_long / split_short). */
function matchOption(
  args: readonly string[],
  i: number,
  options: Record<string, string>,
  flags: Record<string, string> | Set<string>,
  cli11: Cli11 = "2.6.1",
): OptionHit | undefined {
  const a = args[i]!;
  const eq = a.startsWith("--") ? a.indexOf("=") : -1;
  const name = eq >= 0 ? a.slice(0, eq) : a.startsWith("--") ? a : a.slice(0, 2);
  const isFlag = flags instanceof Set ? flags.has(name) : name in flags;
  if (isFlag && (name === a || eq >= 0)) {
    const key = flags instanceof Set ? name : flags[name]!;
    return { key, consumed: 1 };
  }
  const key = options[name];
  if (!key) return undefined;
  if (eq >= 0 && eq < a.length - 1) return { key, value: cli11Collapse(a.slice(eq + 1), cli11), consumed: 1 };
  if (!a.startsWith("--") && a.length > 2)
    return { key, value: cli11Collapse(a.slice(2), cli11), consumed: 1 };
  // CLI11 takes the next argument as the value whatever it looks like (App_inl.hpp "gather the minimum").
  if (i + 1 >= args.length) throw new WtParseError(`${name} requires a value`);
  return { key, value: cli11Collapse(args[i + 1]!, cli11), consumed: 2 };
}

const looksLikeOption = (a: string) => /^--?[^-\d]/.test(a);

function parseSplitPane(args: readonly string[], cli11: Cli11): WtSplitPane {
  const out: WtSplitPane = { kind: "split-pane", command: [] };
  const rest: string[] = [];
  let i = 0;
  // AppCommandlineArgs.cpp `_buildSplitPaneParser`: -H/-V (excluding each other), -s/--size (0,1),
  // -D/--duplicate, then new-tab's options and command.
  for (; i < args.length; ) {
    const a = args[i]!;
    if (a === "--" || !looksLikeOption(a)) break;
    if (a === "-H" || a === "--horizontal" || a === "-V" || a === "--vertical") {
      const d = a === "-H" || a === "--horizontal" ? "down" : "right";
      if (out.direction && out.direction !== d) throw new WtParseError("split-pane: -H excludes -V");
      out.direction = d;
      i++;
      continue;
    }
    const hit = matchOption(args, i, { "-s": "size", "--size": "size" }, {}, cli11);
    if (hit) {
      const n = Number(hit.value);
      if (!(n > 0 && n < 1)) throw new WtParseError(`split-pane: --size ${hit.value} is not in (0,1)`);
      out.size = n;
      i += hit.consumed;
      continue;
    }
    const opt = matchOption(args, i, NEW_TAB_OPTIONS, NEW_TAB_FLAGS, cli11);
    if (!opt) throw new WtParseError(`split-pane: unknown option ${a}`);
    rest.push(...args.slice(i, i + opt.consumed));
    i += opt.consumed;
  }
  const { kind: _, ...tab } = parseNewTab([...rest, ...args.slice(i)], cli11);
  return { ...out, ...tab, kind: "split-pane" };
}

function parseFocusPane(args: readonly string[]): WtFocusPane {
  const hit = args.length ? matchOption(args, 0, { "-t": "target", "--target": "target" }, {}) : undefined;
  if (!hit || hit.consumed !== args.length || !/^\d+$/.test(hit.value!))
    throw new WtParseError(`focus-pane: expected --target <id>, got ${args.join(" ")}`);
  return { kind: "focus-pane", target: Number(hit.value) };
}

function parseNewTab(args: readonly string[], cli11: Cli11): WtNewTab {
  const tab: WtNewTab = { kind: "new-tab", command: [] };
  let i = 0;
  for (; i < args.length; ) {
    const a = args[i]!;
    if (a === "--") {
      i++;
      break;
    }
    if (!looksLikeOption(a)) break;
    const hit = matchOption(args, i, NEW_TAB_OPTIONS, NEW_TAB_FLAGS, cli11);
    if (!hit) throw new WtParseError(`new-tab: unknown option ${a}`);
    if (hit.key === "title") tab.title = hit.value!;
    else if (hit.key === "startingDirectory") tab.startingDirectory = hit.value!;
    else if (hit.key === "profile") tab.profile = hit.value!;
    else if (hit.key === "suppressApplicationTitle") tab.suppressApplicationTitle = true;
    else if (hit.key === "useApplicationTitle") tab.suppressApplicationTitle = false;
    i += hit.consumed;
  }
  // positionals_at_end(true): from the first positional on, everything is the command (AppCommandlineArgs.cpp).
  for (const a of args.slice(i)) {
    if (a.startsWith("[") && a.endsWith("]") && !a.startsWith("[[")) {
      // CLI11 splits a bracketed vector value at commas; mc never emits one.
      tab.command.push(
        ...a
          .slice(1, -1)
          .split(",")
          .filter((x) => x !== ""),
      );
    } else tab.command.push(cli11Collapse(a, cli11));
  }
  if (tab.command.length) tab.commandline = wtJoinCommandline(tab.command);
  return tab;
}

function parseFocusTab(args: readonly string[]): WtFocusTab {
  const out: WtFocusTab = { kind: "focus-tab" };
  for (let i = 0; i < args.length; ) {
    const hit = matchOption(
      args,
      i,
      { "-t": "target", "--target": "target" },
      {
        "-n": "next",
        "--next": "next",
        "-p": "previous",
        "--previous": "previous",
      },
    );
    if (!hit) throw new WtParseError(`focus-tab: unexpected ${args[i]}`);
    if (hit.key === "target") {
      if (!/^\d+$/.test(hit.value!)) throw new WtParseError(`focus-tab: bad target ${hit.value}`);
      out.target = Number(hit.value);
    } else out[hit.key as "next" | "previous"] = true;
    i += hit.consumed;
  }
  return out;
}

/**
 * Parse wt's argv (without the program name) into the target window and the actions, with the subset
 * of wt's CLI that mc uses (root options, `new-tab`/`nt`, `split-pane`/`sp`, `focus-pane`/`fp`, `focus-tab`/`ft`). Unknown options throw.
 */
export function parseWtArgv(argv: readonly string[], cli11: Cli11 = "2.6.1"): WtInvocation {
  const inv: WtInvocation = { actions: [] };
  for (const cmd of splitWtCommands(argv)) {
    let i = 0;
    // The root App is a prefix command: its options come first (AppCommandlineArgs.cpp `_buildParser`).
    for (; i < cmd.length; ) {
      const a = cmd[i]!;
      if (
        NEW_TAB.has(a) ||
        FOCUS_TAB.has(a) ||
        SPLIT_PANE.has(a) ||
        FOCUS_PANE.has(a) ||
        OTHER_SUBCOMMANDS.has(a) ||
        !looksLikeOption(a)
      )
        break;
      const hit = matchOption(cmd, i, ROOT_OPTIONS, ROOT_FLAGS, cli11);
      if (!hit) break;
      if (hit.key === "window") inv.window = hit.value!;
      i += hit.consumed;
    }
    const rest = cmd.slice(i);
    const sub = rest[0];
    if (sub !== undefined && FOCUS_TAB.has(sub)) inv.actions.push(parseFocusTab(rest.slice(1)));
    else if (sub !== undefined && SPLIT_PANE.has(sub)) inv.actions.push(parseSplitPane(rest.slice(1), cli11));
    else if (sub !== undefined && FOCUS_PANE.has(sub)) inv.actions.push(parseFocusPane(rest.slice(1)));
    else if (sub !== undefined && OTHER_SUBCOMMANDS.has(sub))
      throw new WtParseError(`${sub} is not modelled`);
    else inv.actions.push(parseNewTab(sub !== undefined && NEW_TAB.has(sub) ? rest.slice(1) : rest, cli11));
  }
  return inv;
}

/** wt's rebuild of a tab's command line: arguments joined by spaces, those with a space wrapped in `"…"` unescaped. */
export function wtJoinCommandline(args: readonly string[]): string {
  return args.map((a) => (a.includes(" ") ? `"${a}"` : a)).join(" ");
}

/**
 * Split a Windows command line into argv as `CommandLineToArgvW` does: the program name ends at the
 * next space or closing quote with no escapes; after it, `2n` backslashes + `"` give `n` backslashes and
 * toggle quoting, `2n+1` give `n` and a literal `"`, other backslashes are literal. (`""` inside quotes
 * gives `"` and stays quoted, the C runtime's post-2008 rule; mc never emits it.)
 */
export function windowsArgv(cmdline: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = cmdline.length;
  let arg0 = "";
  if (cmdline[0] === '"') {
    const close = cmdline.indexOf('"', 1);
    arg0 = cmdline.slice(1, close < 0 ? n : close);
    i = close < 0 ? n : close + 1;
  } else {
    while (i < n && cmdline[i] !== " " && cmdline[i] !== "\t") arg0 += cmdline[i++];
  }
  out.push(arg0);
  for (;;) {
    while (i < n && (cmdline[i] === " " || cmdline[i] === "\t")) i++;
    if (i >= n) break;
    let cur = "";
    let quoted = false;
    while (i < n && (quoted || (cmdline[i] !== " " && cmdline[i] !== "\t"))) {
      let slashes = 0;
      while (cmdline[i] === "\\") {
        slashes++;
        i++;
      }
      if (cmdline[i] === '"') {
        cur += "\\".repeat(Math.floor(slashes / 2));
        if (slashes % 2 === 1) cur += '"';
        else if (quoted && cmdline[i + 1] === '"') {
          cur += '"';
          i++;
        } else quoted = !quoted;
        i++;
      } else {
        cur += "\\".repeat(slashes);
        if (i < n && (quoted || (cmdline[i] !== " " && cmdline[i] !== "\t"))) cur += cmdline[i++];
      }
    }
    out.push(cur);
  }
  return out;
}
