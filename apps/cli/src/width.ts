import { eastAsianWidth } from "get-east-asian-width";

// Terminal cells of a string, as string-width 8 counts them (a property test holds the two equal), with
// everything costly made on first use. string-width builds ICU's grapheme segmenter and a `v`-flag
// RGI_Emoji expression when it is loaded, ~20 ms of every command's start, though nearly every string mc
// measures is printable ASCII, whose width is its length.

const PRINTABLE_ASCII = /^[\u0020-\u007E]*$/;
// ansi-regex 6's pattern: SGR/CSI, OSC (BEL or ST ended), other control strings, two-byte escapes.
const ST = "(?:\\u001B\\u005C|\\u009C)";
const STRING_CONTROLS = "\\u0018\\u001A\\u001B\\u0080-\\u009F";
const ANSI_SOURCE = [
  "\\u001B\\](?:P[\\dA-Fa-f]{7}|R)(?:\\u0007|(?:\\u001B\\u005C|\\u009C))?",
  `(?:\\u001B\\]|\\u009D)[^\\u0007${STRING_CONTROLS}]*(?:\\u0007|${ST})`,
  `(?:\\u001B[PX^_k]|[\\u0090\\u0098\\u009E\\u009F])[^${STRING_CONTROLS}]*${ST}`,
  "(?:\\u001B\\[|\\u009B)[\\u0030-\\u003F]*[\\u0020-\\u002F]*[\\u0040-\\u007E]",
  "\\u001B(?:[\\u0020-\\u002F]+[\\u0030-\\u007E]|[\\dA-PR-TZcf-oq-uy=><~|}])",
].join("|");

interface Lazy {
  ansi: RegExp;
  segmenter: Intl.Segmenter;
  visible: RegExp;
  spacingMark: RegExp;
  rgiEmoji: RegExp;
  pictographic: RegExp;
}
let lazy: Lazy | undefined;
function made(): Lazy {
  lazy ??= {
    ansi: new RegExp(ANSI_SOURCE, "g"),
    segmenter: new Intl.Segmenter(),
    // One negated class, no quantifier: a repeated pattern backtracks badly on long runs of marks. (The
    // `v` flag is newer than the TypeScript target, hence the constructor.)
    // biome-ignore lint/complexity/useRegexLiterals: a `v` literal does not compile for the ES2022 target
    visible: new RegExp(
      "[^\\p{Default_Ignorable_Code_Point}\\p{Control}\\p{Format}\\p{Nonspacing_Mark}\\p{Enclosing_Mark}\\p{Surrogate}]",
      "v",
    ),
    // biome-ignore lint/complexity/useRegexLiterals: as above
    spacingMark: new RegExp("\\p{Spacing_Mark}", "v"),
    // biome-ignore lint/complexity/useRegexLiterals: as above
    rgiEmoji: new RegExp("^\\p{RGI_Emoji}$", "v"),
    pictographic: /\p{Extended_Pictographic}/gu,
  };
  return lazy;
}

const leadingJamo = (c: number | undefined) =>
  c !== undefined && ((c >= 0x1100 && c <= 0x115f) || (c >= 0xa960 && c <= 0xa97c));
const vowelJamo = (c: number | undefined) =>
  c !== undefined && ((c >= 0x1160 && c <= 0x11a7) || (c >= 0xd7b0 && c <= 0xd7c6));
const trailingJamo = (c: number | undefined) =>
  c !== undefined && ((c >= 0x11a8 && c <= 0x11ff) || (c >= 0xd7cb && c <= 0xd7fb));
const jamo = (c: number) => leadingJamo(c) || vowelJamo(c) || trailingJamo(c);

/** Unqualified emoji that terminals still draw two cells wide: a keycap, a ZWJ join of pictographs. */
function wideNonRgiEmoji(segment: string, l: Lazy): boolean {
  if (segment.length > 50) return false;
  if (/^[\d#*]\u20E3$/.test(segment)) return true;
  if (!segment.includes("\u200D")) return false;
  return (segment.match(l.pictographic)?.length ?? 0) >= 2;
}

/** Modern Hangul jamo shape L+V(+T) into one two-cell syllable; undefined when the cluster is not jamo. */
function hangulWidth(visible: string, l: Lazy): number | undefined {
  const points: number[] = [];
  for (const ch of visible) if (l.visible.test(ch)) points.push(ch.codePointAt(0) as number);
  let width = 0;
  for (let i = 0; i < points.length; i++) {
    const c = points[i] as number;
    if (!jamo(c)) {
      if (width === 0) return undefined;
      for (let j = i; j < points.length; j++) width += eastAsianWidth(points[j] as number);
      return width;
    }
    if (leadingJamo(c) && vowelJamo(points[i + 1])) {
      width += 2;
      i += trailingJamo(points[i + 2]) ? 2 : 1;
      continue;
    }
    width += eastAsianWidth(c);
  }
  return points.length === 0 ? undefined : width;
}

/** Terminal cells a (displayed) string takes: wide East Asian characters and emoji count two, marks zero. */
export function cells(input: string): number {
  if (PRINTABLE_ASCII.test(input)) return input.length;
  const l = made();
  const s = input.includes("\u001B") || input.includes("\u009B") ? input.replace(l.ansi, "") : input;
  if (PRINTABLE_ASCII.test(s)) return s.length;
  let width = 0;
  for (const { segment } of l.segmenter.segment(s)) {
    const at = segment.search(l.visible);
    if (at === -1) continue;
    if (l.rgiEmoji.test(segment) || wideNonRgiEmoji(segment, l)) {
      width += 2;
      continue;
    }
    const visible = segment.slice(at);
    const hangul = hangulWidth(visible, l);
    if (hangul !== undefined) {
      width += hangul;
      continue;
    }
    width += eastAsianWidth(visible.codePointAt(0) as number);
    // Trailing spacing marks and halfwidth/fullwidth forms (dakuten, prolonged sound mark) add their own.
    let first = true;
    for (const ch of visible) {
      if (first) {
        first = false;
        continue;
      }
      if (l.spacingMark.test(ch) || (ch >= "\uFF00" && ch <= "\uFFEF"))
        width += eastAsianWidth(ch.codePointAt(0) as number);
    }
  }
  return width;
}
