/** Quote a string for a POSIX shell: the result is one word whose value is exactly `s`. */
export function shQuote(s: string): string {
  if (s !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

// PowerShell treats ' and the typographic single quotes U+2018..U+201B alike inside '…' literals
// (tokenizer CharExtensions.IsSingleQuote); a doubled quote stands for one.
const PS_SINGLE_QUOTES = /['\u2018\u2019\u201A\u201B]/g;

/** A PowerShell single-quoted literal whose value is exactly `s` (no expansion of `$`, backtick or anything). */
export function psQuote(s: string): string {
  return `'${s.replace(PS_SINGLE_QUOTES, (q) => q + q)}'`;
}

/**
 * Arguments that make PowerShell run `script` non-interactively with no command-line quoting at all:
 * `-EncodedCommand` takes base64 of the script's UTF-16LE bytes (about_Pwsh).
 */
export function psEncodedArgs(script: string): string[] {
  return [
    "-NoLogo",
    "-NoProfile",
    "-NonInteractive",
    "-ExecutionPolicy",
    "Bypass",
    "-EncodedCommand",
    Buffer.from(script, "utf16le").toString("base64"),
  ];
}
