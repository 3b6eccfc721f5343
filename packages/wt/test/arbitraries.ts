import fc from "fast-check";

// Characters that matter to one of the layers (PowerShell quotes, wt's `;` and `\;`, CLI11 `[[…]]` and `=`,
// Windows quoting `"` and `\`, `%VAR%`), mixed with any Unicode grapheme.
const tricky = fc.constantFrom(
  "'",
  "\u2018",
  "\u2019",
  "\u201A",
  "\u201B",
  ";",
  "\\",
  '"',
  "[",
  "]",
  "[[",
  "]]",
  " ",
  "%",
  "`",
  "$",
  "=",
  "-",
  "--",
  "@",
  "(",
  ")",
  "{",
  "}",
  "#",
  "<#",
  "#>",
  "|",
  "&",
  ",",
  "é",
  "😀",
  "new-tab",
  "\\;",
  ";;",
  "focus-tab",
  "--title",
  "-d",
);
const unit = fc.oneof(tricky, fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }));

/** Any text made of those pieces, including control characters. */
export const anyText = (maxLength = 12) => fc.string({ unit, minLength: 1, maxLength });

const CONTROL = /[\u0000-\u001f\u007f]/;

/** What the layout schema lets through as a name or title: not blank, no control characters. */
export const nameText = anyText().filter((s) => s.trim() !== "" && !CONTROL.test(s));

/** A directory value: anything a Windows path could be (no control characters, no `"`) that wt keeps (no `%…%`). */
export const dirText = anyText().filter(
  (s) => s.trim() !== "" && !CONTROL.test(s) && !s.includes('"') && !/%[^%]+%/.test(s),
);

/** A path mc can put in a tab command line (see generate.ts `checkTabArg`). */
export const tabPath = anyText()
  .map((s) => `C:\\${s}\\wrapper.ps1`)
  .filter((s) => !/[\u0000-\u001f"%]/.test(s));

/** A session name: anything the schema lets through, wt ids and keywords included. */
export const sessionName = fc.oneof(
  nameText,
  fc.constantFrom("0", "-1", "42", "new", "last", "_quake", "2fa", "0day", " 7", "+1x", "[[aa]]"),
);

/** Re-exported for older importers (apps/reliability); the generator itself lives in src/generate.ts. */
export { quoteWindowsArg } from "../src/index.js";

/** Text that means something to PowerShell, cmd or JSON inside an environment value (or nothing at all). */
const hostile = fc.constantFrom(
  "\n",
  "\r\n",
  "\t",
  "$(whoami)",
  "${env:PATH}",
  "$env:USERPROFILE",
  "`",
  "`n",
  "'@",
  "@'\n",
  '"',
  "\\",
  "%PATH%",
  "^",
  "!x!",
  "\u2028",
  "\u00a0",
  "日本",
  "😀",
  "e\u0301",
);

/** Any environment value the schema lets through (no NUL, no lone surrogate), hostile pieces included. */
export const envValue = fc.string({ unit: fc.oneof(hostile, unit), maxLength: 16 });

/** A POSIX environment variable name (what the schema accepts). */
export const envName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/);
