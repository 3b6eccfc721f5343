// The colour and weight of a program's output that `sessions logs` keeps (review H69-1); the rest of its SGR
// (conceal, blink, reverse, malformed or overlong sequences) never reaches the terminal.

/**
 * What of a program's SGR a log line keeps: colour and weight only. Conceal (8), blink (5, 6) and reverse (7)
 * are not kept: conceal and blink hide or flicker text, and reverse swaps in the terminal's own default
 * colours, which mc cannot see, so it could not tell when reverse makes text the colour of its background.
 */
export interface Style {
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
  /** `31`, `91`, `38;5;N`, `38;2;R;G;B` (and `4x`, `10x`, `48;…` for the background). */
  fg: string | undefined;
  bg: string | undefined;
}
export const PLAIN: Style = {
  bold: false,
  dim: false,
  italic: false,
  underline: false,
  fg: undefined,
  bg: undefined,
};

const byte = (p: string | undefined) => p !== undefined && /^\d{1,3}$/.test(p) && Number(p) <= 255;

/**
 * The style after an SGR sequence's parameters, or undefined when the sequence is malformed (a parameter of
 * more than three digits, a colon sub-parameter, a 38/48 colour out of range or cut short): then the whole
 * sequence is dropped, as a terminal might read it differently.
 */
export function applySgr(params: string, from: Style): Style | undefined {
  if (params.includes(":")) return undefined;
  const ps = params.split(";");
  const s = { ...from };
  for (let i = 0; i < ps.length; ) {
    const p = ps[i]!;
    if (!/^\d{0,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n === 38 || n === 48) {
      let colour: string;
      if (ps[i + 1] === "5" && byte(ps[i + 2])) {
        colour = `${n};5;${Number(ps[i + 2])}`;
        i += 3;
      } else if (ps[i + 1] === "2" && byte(ps[i + 2]) && byte(ps[i + 3]) && byte(ps[i + 4])) {
        colour = `${n};2;${ps
          .slice(i + 2, i + 5)
          .map(Number)
          .join(";")}`;
        i += 5;
      } else return undefined;
      if (n === 38) s.fg = colour;
      else s.bg = colour;
      continue;
    }
    i++;
    if (n === 0) Object.assign(s, PLAIN);
    else if (n === 1) s.bold = true;
    else if (n === 2) s.dim = true;
    else if (n === 3) s.italic = true;
    else if (n === 4) s.underline = true;
    else if (n === 22) s.bold = s.dim = false;
    else if (n === 23) s.italic = false;
    else if (n === 24) s.underline = false;
    else if ((n >= 30 && n <= 37) || (n >= 90 && n <= 97)) s.fg = String(n);
    else if (n === 39) s.fg = undefined;
    else if ((n >= 40 && n <= 47) || (n >= 100 && n <= 107)) s.bg = String(n);
    else if (n === 49) s.bg = undefined;
    // Anything else (5/6 blink, 7 reverse, 8 conceal, 9 strike, fonts, …) is not kept.
  }
  return s;
}

// xterm's default palette for the 16 basic colours; 16–231 are its 6×6×6 cube, 232–255 its greys.
const BASIC = [
  0x000000, 0xcd0000, 0x00cd00, 0xcdcd00, 0x0000ee, 0xcd00cd, 0x00cdcd, 0xe5e5e5, 0x7f7f7f, 0xff0000,
  0x00ff00, 0xffff00, 0x5c5cff, 0xff00ff, 0x00ffff, 0xffffff,
];
function rgb(colour: string): [number, number, number] {
  const ps = colour.split(";").map(Number);
  if (ps[1] === 2 && ps.length === 5) return [ps[2]!, ps[3]!, ps[4]!];
  const n = ps[0]!;
  const index = ps.length === 3 ? ps[2]! : n >= 90 ? n - (n >= 100 ? 100 : 90) + 8 : n % 10;
  if (index < 16) return [BASIC[index]! >> 16, (BASIC[index]! >> 8) & 0xff, BASIC[index]! & 0xff];
  if (index >= 232) return [8 + 10 * (index - 232), 8 + 10 * (index - 232), 8 + 10 * (index - 232)];
  const level = (k: number) => (k === 0 ? 0 : 55 + 40 * k);
  const c = index - 16;
  return [level(Math.floor(c / 36)), level(Math.floor(c / 6) % 6), level(c % 6)];
}

/**
 * A style's SGR parameters, "" for plain. A foreground and background as alike as the same colour (within 32
 * of each channel, xterm's palette) are both left out, so text is never drawn in its background's colour
 * (review H69-1: `\e[38;5;0;48;5;0m`); the default pair is the user's own readable choice.
 */
export function sgrParams(s: Style): string {
  const ps: string[] = [];
  if (s.bold) ps.push("1");
  if (s.dim) ps.push("2");
  if (s.italic) ps.push("3");
  if (s.underline) ps.push("4");
  const a = s.fg === undefined ? undefined : rgb(s.fg);
  const b = s.bg === undefined ? undefined : rgb(s.bg);
  const alike = a !== undefined && b !== undefined && a.every((x, k) => Math.abs(x - b[k]!) <= 32);
  if (!alike) {
    if (s.fg !== undefined) ps.push(s.fg);
    if (s.bg !== undefined) ps.push(s.bg);
  }
  return ps.join(";");
}
