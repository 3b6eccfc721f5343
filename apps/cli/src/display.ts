import { randomBytes } from "node:crypto";
import { shQuote } from "@mc/core";
import { applySgr, PLAIN, sgrParams } from "./sgr.js";
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

/** Colour and style (SGR) sequences in a program's output: read by `applySgr` (sgr.ts); a longer one is dropped. */
const SGR = /\x1b\[([0-9;:]{0,64})m/y;
/** Any other CSI sequence (cut short at the line's end or not): its parameters, intermediates and final byte. */
const CSI = /(?:\x1b\[|\u009b)([0-?]*)([ -/]*)([@-~]?)/y;
/**
 * Every other escape sequence a program may print (titles, OSC 52 clipboard writes, device control strings,
 * two-character escapes): dropped. OSC (ended by BEL or ST, or by the line's end), DCS/SOS/PM/APC, the rest.
 */
const OTHER_ESC = /\x1b(?:\][^\x07\x1b]*(?:\x07|\x1b\\)?|[PX^_][^\x1b]*(?:\x1b\\)?|([ -/]*)([0-~]?))/y;

/**
 * A stretch of a log line's text in one style (its SGR parameters), or what moves the cursor along the line:
 * a carriage return, a tab (HT), backspace (BS), NUL (`shown` is the control as written), CUF/CUB/HPR (`by`),
 * CHA/HPA (`to`), and erase in line (EL: `erase` 0 to the end, 1 to the start, 2 all).
 */
type Piece =
  | { text: string; sgr: string }
  | { cr: true }
  | { shown: "\t" | "\b" | "\0"; sgr: string }
  | { by: number }
  | { to: number }
  | { erase: 0 | 1 | 2 };

/** Columns the emulated line may reach; a line that goes further is shown without emulation (nothing hidden). */
const MAX_COL = 4 * 1024 * 1024;

const BREAK = /[\x00\x08\t\x0b\x0c\r\x1b\u009b]/g;

/**
 * A log line's pieces, and whether it holds a cursor move or edit that is not emulated (cursor up or down,
 * erase in display, delete or insert characters, save/restore, a vertical tab, any C1 CSI, …): such a line
 * that also moves the cursor along it is shown unemulated ({@link logLine}), as mc cannot know what it left.
 */
function pieces(s: string): { ps: Piece[]; moves: boolean; unknown: boolean } {
  const ps: Piece[] = [];
  let moves = false;
  let unknown = false;
  let style = PLAIN;
  let sgr = "";
  const text = (t: string) => {
    if (t !== "") ps.push({ text: t, sgr });
  };
  const move = (p: Piece) => {
    moves = true;
    ps.push(p);
  };
  let i = 0;
  while (i < s.length) {
    BREAK.lastIndex = i;
    const at = BREAK.exec(s)?.index ?? -1;
    if (at < 0) {
      text(s.slice(i));
      break;
    }
    text(s.slice(i, at));
    const c = s[at]!;
    i = at + 1;
    if (c === "\r") move({ cr: true });
    else if (c === "\t" || c === "\b" || c === "\0") move({ shown: c, sgr });
    else if (c === "\x0b" || c === "\x0c") {
      // VT and FF move the cursor down a line: shown, as before, and the line is not emulated.
      unknown = true;
      text(c);
    } else {
      SGR.lastIndex = CSI.lastIndex = OTHER_ESC.lastIndex = at;
      const m = c === "\x1b" ? SGR.exec(s) : null;
      if (m) {
        const after = applySgr(m[1]!, style);
        if (after) {
          style = after;
          sgr = sgrParams(style);
        }
        i = SGR.lastIndex;
        continue;
      }
      const csi = CSI.exec(s);
      if (csi) {
        i = CSI.lastIndex;
        const [, params = "", inter = "", final = ""] = csi;
        const n = Math.min(MAX_COL, Number(/^\d{0,9}/.exec(params)![0] || "1") || 1);
        const plain = /^[\d;]*$/.test(params) && inter === "" && c === "\x1b";
        if (final === "" || final === "m") continue;
        if (plain && (final === "C" || final === "a")) move({ by: n });
        else if (plain && final === "D") move({ by: -n });
        else if (plain && (final === "G" || final === "`")) move({ to: n - 1 });
        else if (plain && final === "K" && /^[012]?$/.test(params))
          move({ erase: Number(params || 0) as 0 | 1 | 2 });
        // Modes (`?25l` hides the cursor), reports and window or cursor-shape settings move nothing.
        else if (!(/^\?[\d;]*$/.test(params) && (final === "h" || final === "l")) && !/^[nctq]$/.test(final))
          unknown = true;
        continue;
      }
      const esc = OTHER_ESC.exec(s);
      i = OTHER_ESC.lastIndex;
      // ESC 7/8 save and restore the cursor, D/E/M move it a line, c resets, `#8` fills the screen.
      if (esc?.[2] !== undefined && (esc[1] === "#" || (esc[1] === "" && /^[78DEMc]$/.test(esc[2]))))
        unknown = true;
    }
  }
  return { ps, moves, unknown };
}

/** The emulated line: per column its grapheme, style and width; a wide character's later columns hold width 0. */
interface Row {
  text: (string | undefined)[];
  sgr: string[];
  width: number[];
}

const ASCII_RUN = /[ -~]+/y;
const OTHER_RUN = /[^ -~]+/y;
/** Code units segmented at once: each segment ICU gives copies its whole input (H71-1), so inputs stay short. */
const CHUNK = 64;

/**
 * Each grapheme of `text`, in order, in time linear in its length: printable ASCII is one column per
 * character; other runs are segmented in chunks of {@link CHUNK} code units (never splitting a surrogate
 * pair), each chunk's last grapheme carried into the next unless it is longer than a chunk (then the marks
 * after it start a grapheme of their own, which {@link overwritten} joins to the character before).
 */
function eachGrapheme(text: string, f: (g: string) => void): void {
  segmenter ??= new Intl.Segmenter(undefined, { granularity: "grapheme" });
  let i = 0;
  while (i < text.length) {
    ASCII_RUN.lastIndex = i;
    if (ASCII_RUN.exec(text)) {
      for (let k = i; k < ASCII_RUN.lastIndex; k++) f(text[k]!);
      i = ASCII_RUN.lastIndex;
      continue;
    }
    OTHER_RUN.lastIndex = i;
    OTHER_RUN.exec(text);
    const end = OTHER_RUN.lastIndex;
    // One code point between printable ASCII (`e\u0301` repeated) is one grapheme: no segmenter call.
    if (end - i === 1 || (end - i === 2 && text.codePointAt(i)! > 0xffff)) {
      f(text.slice(i, end));
      i = end;
      continue;
    }
    let carry = "";
    for (let s = i; s < end; ) {
      let e = Math.min(end, s + CHUNK);
      const last = text.charCodeAt(e - 1);
      if (e < end && last >= 0xd800 && last <= 0xdbff) e++;
      const gs: string[] = [];
      for (const { segment } of segmenter.segment(carry + text.slice(s, e))) gs.push(segment);
      carry = e < end && gs.at(-1)!.length <= CHUNK ? gs.pop()! : "";
      for (const g of gs) f(g);
      s = e;
    }
    if (carry !== "") f(carry);
    i = end;
  }
}

/**
 * The line a terminal is left with, on one row of unbounded width: a carriage return goes back to column 0
 * and later text overwrites only the columns it covers; the rest of the earlier text, in its own colours,
 * stays (review H69-1: `deleting everything\rok` reads `okleting everything`, as on the terminal). A tab
 * moves to the next multiple of 8, a backspace one column left (not past 0), NUL nothing; CUF/CUB/CHA/HPA
 * move and EL erases as on a terminal (H71-2: `\e[20C` or a tab after `\r` no longer lets later text
 * overwrite what the terminal kept). Columns are counted as the line will be shown: terminal cells
 * ({@link cells}, wide characters two) of each grapheme. Undefined when the line holds a character
 * {@link display} writes visibly (`\x07`, `\u200b`: its escape would take columns the terminal did not give
 * it and overwrite text the terminal kept) or reaches past {@link MAX_COL}.
 */
function overwritten(ps: Piece[]): Row | undefined {
  const row: Row = { text: [], sgr: [], width: [] };
  let col = 0;
  const head = (x: number) => {
    let h = x;
    while (h > 0 && row.width[h] === 0) h--;
    return h;
  };
  const blank = (j: number) => {
    row.text[j] = " ";
    row.sgr[j] = "";
    row.width[j] = 1;
  };
  // A character partly overwritten or erased is gone whole, its other columns blank (as xterm does).
  const clear = (x: number) => {
    const h = head(x);
    const w = Math.max(1, row.width[h] ?? 1);
    for (let j = h; j < h + w; j++) blank(j);
  };
  // Measuring a non-ASCII grapheme is slow next to the rest; a progress bar repeats the same few. -1: one
  // that is displayed visibly.
  const widths = new Map<string, number>();
  let whole = false;
  for (const p of ps) {
    if ("cr" in p) col = 0;
    else if ("by" in p) col = Math.min(MAX_COL, Math.max(0, col + p.by));
    else if ("to" in p) col = Math.min(MAX_COL, p.to);
    else if ("shown" in p) {
      if (p.shown === "\t") col = Math.min(MAX_COL, (Math.floor(col / 8) + 1) * 8);
      else if (p.shown === "\b") col = Math.max(0, col - 1);
    } else if ("erase" in p) {
      const len = row.width.length;
      if (col < len && row.width[col] !== 1 && row.text[col] !== undefined) clear(col);
      if (p.erase !== 1)
        row.text.length = row.sgr.length = row.width.length = p.erase === 0 ? Math.min(len, col) : 0;
      else for (let j = 0; j <= col && j < len; j++) if (row.text[j] !== undefined) blank(j);
    } else
      eachGrapheme(p.text, (unit) => {
        if (whole) return;
        let w = unit.length === 1 && unit >= " " && unit <= "~" ? 1 : widths.get(unit);
        if (w === undefined) {
          w = display(unit) === unit ? cells(unit) : -1;
          if (widths.size < 4096) widths.set(unit, w);
        }
        if (w < 0) {
          whole = true;
          return;
        }
        if (w === 0) {
          // A combining mark belongs to the character before the cursor; at column 0 there is none, and it
          // takes no column (H71-2: `Xabc\r\u0301ok` reads `okbc`).
          if (col > 0) {
            const h = head(col - 1);
            if (row.text[h] === undefined) blank(h);
            row.text[h] += unit;
          }
          return;
        }
        w = Math.max(1, w);
        if (col + w > MAX_COL) {
          whole = true;
          return;
        }
        for (let j = col; j < col + w && j < row.width.length; j++)
          if (row.text[j] !== undefined && row.width[j] !== 1) clear(j);
        row.text[col] = unit;
        row.sgr[col] = p.sgr;
        row.width[col] = w;
        for (let j = 1; j < w; j++) {
          row.text[col + j] = "";
          row.sgr[col + j] = p.sgr;
          row.width[col + j] = 0;
        }
        col += w;
      });
    if (whole) return undefined;
  }
  return row;
}

/**
 * One line of a tab's log as a terminal would finally show it, safe to print: carriage returns, tabs,
 * backspaces and moves along the line act as on a terminal ({@link overwritten}); colour and weight stay (as
 * style markers: {@link render} prints them only with colour on), nothing that hides or blinks text does
 * (see `sgr.ts`), every other escape sequence is dropped and any remaining control character is displayed
 * visibly. A line that also moves the cursor in a way not emulated (up, down, delete, insert, …) or holds a
 * character displayed visibly (a control, a zero-width one) is shown whole instead, each carriage return as a dim `\r`, tabs, backspaces and NULs visibly: mc cannot tell what
 * the terminal kept, so it shows everything (H71-2). Logs hold whatever the tab's programs printed: never
 * raw to the terminal.
 */
export function logLine(line: string): string {
  const { ps, moves, unknown } = pieces(line.replace(/\r+$/, ""));
  const runs: { text: string; sgr: string }[] = [];
  const row = moves && !unknown ? overwritten(ps) : undefined;
  if (row) {
    for (let j = 0; j < row.width.length; j++) {
      if (row.width[j] === 0) continue;
      runs.push({ text: row.text[j] ?? " ", sgr: row.text[j] === undefined ? "" : row.sgr[j]! });
    }
  } else {
    for (const p of ps) {
      if ("text" in p) runs.push(p);
      else if ("shown" in p) runs.push({ text: p.shown, sgr: p.sgr });
      else if ("cr" in p) runs.push({ text: "\\r", sgr: "2" });
    }
  }
  let out = "";
  let sgr = "";
  for (const r of runs) {
    if (r.sgr !== sgr) out += mark(r.sgr === "" ? 0 : sgr === "" ? r.sgr : `0;${r.sgr}`);
    sgr = r.sgr;
    out += r.text;
  }
  return sgr === "" ? out : out + mark(0);
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
}

/** The `--host`/`--socket` options that name a session's machine and tmux server ("" for the default's). */
export function placeWords(s: Omit<SessionPlace, "name">): string {
  return [
    ...(s.machine !== undefined && s.machine !== "local" ? ["--host", shQuote(s.machine)] : []),
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
