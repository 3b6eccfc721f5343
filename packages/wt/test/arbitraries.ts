import fc from "fast-check";
import { reservedWindowName } from "../src/index.js";

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

/** A session (window) name wt treats as a name. */
export const windowName = nameText.filter((s) => !reservedWindowName(s));

/** A directory value: anything a Windows path could be (no control characters, no `"`). */
export const dirText = anyText().filter((s) => s.trim() !== "" && !CONTROL.test(s) && !s.includes('"'));

/** A path mc can put in a tab command line (see generate.ts `checkTabArg`). */
export const tabPath = anyText()
  .map((s) => `C:\\${s}\\wrapper.ps1`)
  .filter((s) => !/[\u0000-\u001f"%]/.test(s));

/**
 * How .NET's ProcessStartInfo.ArgumentList (PowerShell `$PSNativeCommandArgumentPassing = 'Standard'`)
 * quotes one argument on Windows (System.PasteArguments.AppendArgument): unchanged unless empty or
 * containing whitespace or `"`, else `"…"` with backslashes doubled before a `"` and at the end.
 */
export function quoteWindowsArg(arg: string): string {
  if (arg !== "" && !/[\s"]/.test(arg)) return arg;
  let out = '"';
  for (let i = 0; i < arg.length; ) {
    let slashes = 0;
    while (arg[i] === "\\") {
      slashes++;
      i++;
    }
    if (i === arg.length) out += "\\".repeat(slashes * 2);
    else if (arg[i] === '"') {
      out += `${"\\".repeat(slashes * 2 + 1)}"`;
      i++;
    } else {
      out += "\\".repeat(slashes) + arg[i];
      i++;
    }
  }
  return `${out}"`;
}
