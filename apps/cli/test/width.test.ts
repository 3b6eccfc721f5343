import fc from "fast-check";
import stringWidth from "string-width";
import { describe, expect, it } from "vitest";
import { cells } from "../src/width.js";

// mc counts cells itself so that nothing costly is made at start-up; it must count as string-width does.
// Strings are drawn from the ranges where the rules differ: ASCII, controls and escapes, combining and
// spacing marks, East Asian wide/fullwidth/halfwidth/ambiguous, Hangul jamo, emoji with ZWJ, variation
// selectors, keycaps and skin tones, format characters, private use and lone surrogates.
const pieces = [
  "a",
  " ",
  "~",
  "\t",
  "\n",
  "\u0000",
  "\u007f",
  "\u0085",
  "\u009b",
  "\u001b",
  "\u001b[31m",
  "\u001b[0m",
  "\u001b]8;;http://x\u0007",
  "\u001b]0;t\u001b\\",
  "\u001bP1$r\u001b\\",
  "\u001bc",
  "\u009b1m",
  "\u0301",
  "\u0903",
  "\u093f",
  "\u20dd",
  "\u200b",
  "\u200d",
  "\u2060",
  "\ufeff",
  "\u00ad",
  "\u061c",
  "\u202e",
  "\u2066",
  "漢",
  "字",
  "ｗ",
  "ｶ",
  "ﾞ",
  "ﾟ",
  "ｰ",
  "\uff00",
  "\uffef",
  "\u00a7",
  "\u2460",
  "α",
  "\u1100",
  "\u1161",
  "\u11a8",
  "\ua960",
  "\ud7b0",
  "\ud7cb",
  "한",
  "🚀",
  "👍",
  "🏽",
  "\ufe0f",
  "\ufe0e",
  "1\u20e3",
  "#",
  "*",
  "👨",
  "👩",
  "👧",
  "❤",
  "☺",
  "🇯",
  "🇵",
  "\ue000",
  "\udb80\udc00",
  "\ud800",
  "\udc00",
  "é",
  "\u0e33",
  "\u0f7f",
  "\u1160",
  "\u3000",
  "\u3099",
];
const text = fc.array(fc.constantFrom(...pieces), { maxLength: 12 }).map((a) => a.join(""));

describe("cells", () => {
  it("counts every string as string-width 8 does", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          text,
          fc.string({ unit: "grapheme", maxLength: 10 }),
          fc.string({ unit: "binary", maxLength: 10 }),
        ),
        (s) => {
          expect(cells(s)).toBe(stringWidth(s));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("answers printable ASCII without building the segmenter", () => {
    expect(cells("")).toBe(0);
    expect(cells("status of api ~/x")).toBe(17);
  });
});
