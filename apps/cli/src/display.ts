import { randomBytes } from "node:crypto";
import { shQuote } from "@mc/core";
import { cells } from "./width.js";

export { cells };

const PICTO = /\p{Extended_Pictographic}/u;
const EMOJI = /\p{Emoji}/u;
/** Characters a terminal would act on or hide: controls, format and default-ignorable code points, separators. */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\p{Default_Ignorable_Code_Point}]/u;

function hex(cp: number): string {
  if (cp === 0x1b) return "\\e";
  if (cp < 0x100) return `\\x${cp.toString(16).padStart(2, "0")}`;
  if (cp < 0x10000) return `\\u${cp.toString(16).padStart(4, "0")}`;
  return `\\u{${cp.toString(16)}}`;
}

/** Zero-width joiners and variation selectors that belong to an emoji sequence stay: they draw nothing else. */
function emojiGlue(ch: string, prev: string | undefined, next: string | undefined): boolean {
  if (ch === "\u200d")
    return (
      prev !== undefined && next !== undefined && (PICTO.test(prev) || prev === "\ufe0f") && PICTO.test(next)
    );
  if (ch === "\ufe0f" || ch === "\ufe0e") return prev !== undefined && EMOJI.test(prev);
  return false;
}

/**
 * What a human sees of a string: every C0 and C1 control, DEL, bidi override, zero-width or otherwise
 * invisible character is written visibly (`\e`, `\x07`, `\u202e`), so text from a layouts file or a tool
 * can never move the cursor, clear the screen, set the clipboard (OSC 52) or hide what really runs.
 * Newlines stay (as ` ⏎ ` with `oneLine`); a tab is shown as `\t` (a space with `oneLine`). Files and
 * `--json` never go through this.
 */
export function display(s: string, opts: { oneLine?: boolean } = {}): string {
  let out = "";
  const chars = [...s];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === "\n") out += opts.oneLine ? " ⏎ " : ch;
    else if (ch === "\t") out += opts.oneLine ? " " : "\\t";
    else if (HIDDEN.test(ch) && !emojiGlue(ch, chars[i - 1], chars[i + 1])) out += hex(ch.codePointAt(0)!);
    else out += ch;
  }
  return out;
}

/**
 * A name from outside (a session, a tab) quoted in a message or listed: its line breaks and tabs written `\n`
 * and `\t`, as {@link display} writes every other control (`\e`), so one name never reads as two lines or
 * two names (review H64-3: a zellij session `a⏎x` was listed as `a`, `x`, and `a⏎  x`).
 */
export function nameText(s: string): string {
  return s.replace(/\n/g, "\\n").replace(/\t/g, "\\t");
}

/** A value from outside (a path, a name) inside a line of mc's own: displayed on that one line. */
export const oneLine = (s: string): string => display(s, { oneLine: true });

const HIDDEN_ALL = new RegExp(HIDDEN.source, "gu");

/**
 * JSON text that is safe in a terminal and means exactly the same value: every character a terminal would
 * act on or hide (DEL, C1 controls, bidi and other format characters, which JSON.stringify leaves raw) is
 * written as a `\uXXXX` escape. A program reading it gets the exact strings back.
 */
export function jsonText(value: unknown, indent?: number): string {
  const unicodeEscape = (ch: string) => {
    let out = "";
    for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, "0")}`;
    return out;
  };
  // A raw newline in JSON.stringify's output is only ever the indentation's (strings escape theirs).
  return (JSON.stringify(value, null, indent) ?? "null").replace(HIDDEN_ALL, (ch) =>
    ch === "\n" ? ch : unicodeEscape(ch),
  );
}

// Made on first use: ICU's grapheme data costs ~10 ms, which a command that never cuts a line should not pay.
let segmenter: Intl.Segmenter | undefined;

/** Cut a displayed string to at most `width` cells, marking the cut with `…`. */
export function fitCells(s: string, width: number): string {
  if (cells(s) <= width) return s;
  if (width <= 0) return "";
  let out = "";
  let used = 0;
  segmenter ??= new Intl.Segmenter(undefined, { granularity: "grapheme" });
  for (const { segment } of segmenter.segment(s)) {
    const w = cells(segment);
    if (used + w > width - 1) break;
    out += segment;
    used += w;
  }
  return `${out}…`;
}

/** Cut a displayed string to at most `width` cells from its start (a path's end is what tells it apart). */
export function fitCellsStart(s: string, width: number): string {
  if (cells(s) <= width) return s;
  if (width <= 0) return "";
  segmenter ??= new Intl.Segmenter(undefined, { granularity: "grapheme" });
  const parts = [...segmenter.segment(s)].map((x) => x.segment);
  let out = "";
  let used = 0;
  for (let i = parts.length - 1; i >= 0; i--) {
    const w = cells(parts[i]!);
    if (used + w > width - 1) break;
    out = parts[i]! + out;
    used += w;
  }
  return `…${out}`;
}

/** Pad a displayed string with spaces to `width` cells. */
export function pad(s: string, width: number): string {
  return s + " ".repeat(Math.max(0, width - cells(s)));
}

// Styles travel as markers carrying a per-process random nonce, so text from a file can never forge one:
// only markers made by this process become escape sequences; everything else is displayed.
const NONCE = randomBytes(8).toString("hex");
const MARK = new RegExp(`\\uE000${NONCE}:([0-9;:]{1,64})\\uE001`, "g");
const mark = (code: number | string) => `\uE000${NONCE}:${code}\uE001`;
/** A style marker for {@link render} (log-line.ts builds a log line's colours with it). */
export const styleMark = mark;

/** Colour functions; `styled(open, close)` wraps text in markers that {@link render} turns into SGR. */
export interface Colors {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  magenta(s: string): string;
}

const styled = (open: number, close: number) => (s: string) => `${mark(open)}${s}${mark(close)}`;

/** The colour functions (markers; rendered or dropped by {@link render}). */
export const colors: Colors = {
  bold: styled(1, 22),
  dim: styled(2, 22),
  red: styled(31, 39),
  green: styled(32, 39),
  yellow: styled(33, 39),
  cyan: styled(36, 39),
  magenta: styled(35, 39),
};

/** Drop this process's style markers, leaving the text (for measuring). */
export function unstyled(s: string): string {
  return s.replace(MARK, "");
}

/**
 * The one way text reaches the terminal: everything is passed through {@link display}, then this process's
 * own style markers become SGR sequences (with colour on) or vanish (off).
 */
export function render(s: string, color: boolean, opts: { oneLine?: boolean } = {}): string {
  let out = "";
  let last = 0;
  for (const m of s.matchAll(MARK)) {
    out += display(s.slice(last, m.index), opts);
    if (color) out += `\x1b[${m[1]}m`;
    last = m.index + m[0].length;
  }
  return out + display(s.slice(last), opts);
}

/**
 * Session names (or `SESSION/TAB`s) as the last words of a `sessions …` command a hint says, to be pasted:
 * each shell-quoted (a `$(…)`, `$x` or backtick in a name is never run or expanded: review H57-1), after
 * `--` when one starts with `-`, which would be read as an option (H57-2). Options go before them.
 */
export function nameWords(...names: string[]): string {
  const words = names.map(shQuote).join(" ");
  return names.some((n) => n.startsWith("-")) ? `-- ${words}` : words;
}

/** tmux's own server: `default` in its per-user directory (`$TMUX_TMPDIR/tmux-UID/default`). */
export const isDefaultSocket = (path: string) => /\/tmux-\d+\/default$/.test(path);

/** A session as a pasted command must name it: its machine (`local` or a host) and its tmux server. */
export interface SessionPlace {
  name: string;
  machine?: string | undefined;
  /** tmux: the socket path of its server (the default server needs no `--socket`). */
  socket?: string | undefined;
  /** The `--ssh-config` file its machine was named through (review HR80-4: the hint failed without it). */
  sshConfig?: string | undefined;
}

/** The `--host`/`--socket` options that name a session's machine and tmux server ("" for the default's). */
export function placeWords(s: Omit<SessionPlace, "name">): string {
  return [
    ...(s.machine !== undefined && s.machine !== "local" ? ["--host", shQuote(s.machine)] : []),
    ...(s.machine !== undefined && s.machine !== "local" && s.sshConfig !== undefined
      ? ["--ssh-config", shQuote(s.sshConfig)]
      : []),
    ...(s.socket !== undefined && !isDefaultSocket(s.socket) ? ["--socket", shQuote(s.socket)] : []),
  ].join(" ");
}

/**
 * A `sessions VERB …` command line a hint says, to be pasted: the names as {@link nameWords} gives them,
 * after `--host` and `--socket` where the sessions are not on this machine's default tmux server (a session
 * of that name on another machine or server is not the one meant, and a bare name there is ambiguous or
 * wrong: reviews H57-3, H58-1, H58-6). Sessions on different machines or servers get one command each,
 * joined by `; `.
 */
export function sessionsCommand(verb: string, sessions: readonly SessionPlace[]): string {
  const groups = new Map<string, string[]>();
  for (const s of sessions) {
    const where = placeWords(s);
    groups.set(where, [...(groups.get(where) ?? []), s.name]);
  }
  return [...groups]
    .map(([where, names]) => ["sessions", verb, ...(where ? [where] : []), nameWords(...names)].join(" "))
    .join("; ");
}
