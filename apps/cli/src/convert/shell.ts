import { shQuote } from "@mc/core";

/**
 * The command of a tab whose source pane runs no command, only an interactive shell (a tmuxp `blank` pane,
 * a tmuxinator window without commands, a zellij `pane` with no command). mc's further panes may omit
 * `command` and get an interactive shell, but a tab's own first pane needs one: this one makes the tab
 * that interactive shell, running until the user leaves it. Export turns it back into a blank pane.
 */
export const INTERACTIVE_SHELL = 'exec "${SHELL:-/bin/sh}"';

/** Programs that are shells: a pane running one of them with no `-c` is an interactive shell. */
export const SHELLS = new Set([
  "sh",
  "ash",
  "bash",
  "dash",
  "ksh",
  "mksh",
  "oksh",
  "yash",
  "zsh",
  "fish",
  "csh",
  "tcsh",
  "nu",
  "elvish",
  "xonsh",
  "pwsh",
]);

/** The program name of an argv[0]: no directory, no login-shell dash (`-bash` → `bash`). */
export function programName(arg0: string): string {
  return (arg0.split("/").pop() ?? arg0).replace(/^-/, "");
}

/** True when argv[0] names a shell. */
export function isShell(arg0: string): boolean {
  return SHELLS.has(programName(arg0));
}

/**
 * Split a string into words the way Python's `shlex.split` does (POSIX mode), which is how tmuxp runs
 * `before_script`: whitespace separates, '…' is literal, "…" keeps `\"` and `\\` escapes, a backslash
 * outside quotes escapes the next character. Throws on an unclosed quote, as shlex does.
 */
export function shlexSplit(s: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let i = 0;
  const push = (c: string) => {
    word = (word ?? "") + c;
  };
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
      i++;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw new Error("no closing quotation");
      push(s.slice(i + 1, end));
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      let part = "";
      for (; j < s.length && s[j] !== '"'; j++) {
        if (s[j] === "\\" && (s[j + 1] === '"' || s[j + 1] === "\\")) j++;
        part += s[j];
      }
      if (j >= s.length) throw new Error("no closing quotation");
      push(part);
      i = j + 1;
    } else if (c === "\\") {
      if (i + 1 >= s.length) throw new Error("no escaped character");
      push(s[i + 1]!);
      i += 2;
    } else {
      push(c);
      i++;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** A POSIX shell command line that runs exactly `argv` (each word single-quoted where needed). */
export function argvCommand(argv: readonly string[]): string {
  return argv.map(shQuote).join(" ");
}

/**
 * The script of `sh -c SCRIPT` (any shell, optionally with `-l`/`-i` first), or undefined when `argv`
 * is not a shell running one script: a pane running `bash -c "make; exec bash"` runs `make; exec bash`.
 */
export function shellScriptOf(argv: readonly string[]): string | undefined {
  if (argv.length < 3 || !isShell(argv[0]!)) return undefined;
  const rest = argv.slice(1).filter((a) => a !== "-l" && a !== "-i" && a !== "--login");
  return rest.length === 2 && rest[0] === "-c" ? rest[1] : undefined;
}

/**
 * Whether every shell mc may run a command with (sh, bash, zsh, fish) reads `script` alike: plain words,
 * nothing quoted, expanded or redirected, no operator. Such a `sh -c SCRIPT` is SCRIPT in any shell; any
 * other script keeps the shell that was to run it (review H66-3: `bash -c 'arr=(a b)…'` unwrapped ran
 * under dash, a POSIX `for` loop under fish).
 */
export function plainWords(script: string): boolean {
  return /^[A-Za-z0-9_./:@+,-]+(?: +[A-Za-z0-9_./:@+,=-]+)*$/.test(script);
}

/**
 * A directory for a POSIX shell: quoted as one word, except that a leading `~`, `~/`, `$HOME` or
 * `${HOME}` stays live so the shell expands it, as mc does for startDir.
 */
export function shPath(dir: string): string {
  const m = /^(~(?=\/|$)|\$HOME(?![A-Za-z0-9_])|\$\{HOME\})(.*)$/s.exec(dir);
  if (!m) return shQuote(dir);
  const head = m[1] === "~" ? "~" : '"$HOME"';
  return m[2] ? `${head}${shQuote(m[2])}` : head;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `export A='1' B='2'`: one line that sets these variables in a POSIX shell (and fish). */
export function exportLine(env: Readonly<Record<string, string>>): string {
  return `export ${Object.entries(env)
    .map(([k, v]) => `${k}=${shQuote(v)}`)
    .join(" ")}`;
}

/** The variables of a line {@link exportLine} wrote, or undefined for any other line. */
export function parseExportLine(line: string): Record<string, string> | undefined {
  if (!line.startsWith("export ")) return undefined;
  let words: string[];
  try {
    words = shlexSplit(line.slice(7));
  } catch {
    return undefined;
  }
  const env: Record<string, string> = {};
  for (const w of words) {
    const eq = w.indexOf("=");
    if (eq < 1 || !NAME.test(w.slice(0, eq))) return undefined;
    env[w.slice(0, eq)] = w.slice(eq + 1);
  }
  if (Object.keys(env).length === 0 || exportLine(env) !== line) return undefined;
  return env;
}

/**
 * Key names tmux's `send-keys` reads as a key, not as text (key-string.c, tmux 3.3a, case-insensitive):
 * tmuxinator types each command with `send-keys 'cmd' C-m`, so a command line `end` presses End.
 */
const KEY_NAMES = new Set(
  [
    ...Array.from({ length: 24 }, (_, i) => `f${i + 1}`),
    "ic",
    "insert",
    "dc",
    "delete",
    "home",
    "end",
    "npage",
    "pagedown",
    "pgdn",
    "ppage",
    "pageup",
    "pgup",
    "tab",
    "btab",
    "space",
    "bspace",
    "enter",
    "escape",
    "up",
    "down",
    "left",
    "right",
    "any",
    "kp/",
    "kp*",
    "kp-",
    "kp+",
    "kp.",
    "kpenter",
    ...Array.from({ length: 10 }, (_, i) => `kp${i}`),
  ].map((k) => k.toLowerCase()),
);

/** True when tmux's send-keys would press a key for this text instead of typing it. */
export function isTmuxKeyName(text: string): boolean {
  const s = text.toLowerCase();
  if (KEY_NAMES.has(s) || /^0x[0-9a-f]+$/.test(s)) return true;
  if (/^(mouse|wheel|secondclick|doubleclick|tripleclick)/.test(s)) return true;
  // Modifier prefixes (C-x, M-x, S-x, ^x) in front of one character or a key name.
  const m = /^(?:[cms]-|\^)+(.+)$/.exec(s);
  return Boolean(m && ([...m[1]!].length === 1 || isTmuxKeyName(m[1]!)));
}

/**
 * Whether every line of a command is a complete shell line on its own, so typing the lines one after
 * the other (what tmuxp and tmuxinator do) runs the same as the whole: no quote, `$(…)` or backslash
 * continuation open at a line's end, and no here-document (its body must not be retyped).
 */
export function linesStandAlone(command: string): boolean {
  let quote: "'" | '"' | "`" | undefined;
  let depth = 0;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === "\n" && (quote !== undefined || depth > 0)) return false;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      continue;
    }
    if (c === "\\") {
      if (command[i + 1] === "\n") return false;
      i++;
      continue;
    }
    if (quote === undefined && c === "#" && (i === 0 || /[\s;&|()]/.test(command[i - 1]!))) {
      while (i + 1 < command.length && command[i + 1] !== "\n") i++;
      continue;
    }
    if (quote === '"' || quote === "`") {
      if (c === quote) quote = undefined;
      else if (c === "$" && command[i + 1] === "(") [depth, i] = [depth + 1, i + 1];
      else if (c === ")" && depth > 0) depth--;
      continue;
    }
    if (c === "'" || c === '"' || c === "`") quote = c;
    else if (c === "<" && command[i + 1] === "<" && command[i + 2] !== "<") return false;
    else if (c === "$" && command[i + 1] === "(") [depth, i] = [depth + 1, i + 1];
    else if (c === ")" && depth > 0) depth--;
  }
  return quote === undefined && depth === 0;
}

/** What an importer reads back of a typed line export ended `; ` (export-common trailingSemicolon): the space off. */
export function untrailSemicolon(line: string): string {
  return /; +$/.test(line) ? line.slice(0, -1) : line;
}
