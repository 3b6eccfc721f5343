import { display, styleMark } from "./display.js";
import { applySgr, PLAIN, sgrParams } from "./sgr.js";
import { cells } from "./width.js";

/**
 * A tab's log line as a terminal would finally show it ({@link logLine}): the line's escape sequences read
 * into text runs, carriage returns and moves along the line, then emulated on one row. Kept out of
 * display.ts, which holds how mc's own output is shown.
 */

let segmenter: Intl.Segmenter | undefined;

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
/** Columns erase-to-start may blank in one line; a line that asks more is shown without emulation (H72-4). */
const ERASE_BUDGET = 16 * 1024 * 1024;

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
      // ESC 7/8 save and restore the cursor, D/E/M move it a line, c resets, `#8` fills the screen, H sets a
      // tab stop (H72-3: the view's tabs then went elsewhere than the terminal's).
      if (esc?.[2] !== undefined && (esc[1] === "#" || (esc[1] === "" && /^[78DEHMc]$/.test(esc[2]))))
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
  let erased = 0;
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
      else {
        // Each erase to the start walks the row: many of them on a long line were quadratic (H72-4: a
        // 1 MB line of `\e[1K` ran for minutes).
        erased += Math.min(col + 1, len);
        if (erased > ERASE_BUDGET) return undefined;
        for (let j = 0; j <= col && j < len; j++) if (row.text[j] !== undefined) blank(j);
      }
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
    if (r.sgr !== sgr) out += styleMark(r.sgr === "" ? 0 : sgr === "" ? r.sgr : `0;${r.sgr}`);
    sgr = r.sgr;
    out += r.text;
  }
  return sgr === "" ? out : out + styleMark(0);
}
