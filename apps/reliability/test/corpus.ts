import fc from "fast-check";

/**
 * The shared corpus of hostile strings. Every generator (tmux build script + tab wrapper, zellij KDL,
 * wt PowerShell) and the real-tmux run are fed from here, in every field (layoutName, tabName, startDir,
 * command, host). Grouped by the layer each group attacks, so a failure names what broke.
 */
export const HOSTILE = {
  shell: [
    "; touch MARKER",
    "&& touch MARKER",
    "|| touch MARKER",
    "| tee MARKER",
    "$(touch MARKER)",
    "`touch MARKER`",
    "${IFS}touch${IFS}MARKER",
    "> MARKER",
    "< /etc/passwd",
    "& touch MARKER &",
    "*",
    "~root",
    "!!",
    "a\\",
    "\\",
    "$HOME",
    "${HOME:-x}",
    "$((1+1))",
    "<(touch MARKER)",
    "#",
    "-",
    "--",
    "-e",
  ],
  quotes: [
    "'",
    '"',
    "`",
    "''",
    '""',
    "'\\''",
    "\\'",
    '\\"',
    "\u2018\u2019\u201a\u201b",
    "\u201c\u201d",
    "'\"`",
  ],
  tmux: [
    "#{session_name}",
    "#(touch MARKER)",
    "##",
    "#",
    "#[fg=red]",
    "#{?1,a,b}",
    "%%",
    "%1",
    "#{l:x}",
    "{",
    "}",
    "\\;",
    ";",
  ],
  kdl: [
    '"',
    "\\",
    "{}",
    "{",
    "}",
    ";",
    "/-",
    "//",
    "/* x */",
    "*/",
    'r#"raw"#',
    "\\u{41}",
    "null",
    "true",
    "}\n}\nlayout {",
  ],
  powershell: [
    ";",
    "`",
    "$",
    "$env:PATH",
    "$(touch MARKER)",
    "@(1)",
    "--%",
    "|",
    "&",
    "<#",
    "#>",
    "[[x]]",
    "%PATH%",
    "\\;",
    ";;",
    "-Command",
    "new-tab",
  ],
  whitespace: ["\n", "\r", "\r\n", "\t", " ", "  ", "\u00a0", "\u2028", "\u2029", "\u0085", "\f", "\v"],
  unicode: [
    "\u202etxt.exe",
    "\u200f\u200e",
    "e\u0301\u0302\u0303",
    "\u{1F680}",
    "\u{1F469}\u200d\u{1F469}\u200d\u{1F467}",
    "\ufeff",
    "\u200b",
    "\u4e2d\u6587",
    "\ufffd",
    "\u0627\u0644\u0639\u0631\u0628\u064a\u0629",
  ],
  ssh: [
    "-oProxyCommand=touch MARKER",
    "host -p 1",
    "a\nb",
    "-J evil",
    "user@host:22",
    "[::1]",
    "-",
    "-l root",
  ],
} as const;

/** Lone UTF-16 surrogates: a JS string (and a JSON `\ud800` escape) can hold them, UTF-8 cannot. */
export const LONE_SURROGATES = ["\ud800", "a\udc00b", "\udbff"] as const;

/** 64 KiB of text: past tmux's 16 KiB client message limit, far past any terminal's title. */
export const LONG = `${"x".repeat(64 * 1024 - 8)}#{q}'"$;`;

/** Every corpus entry, flat. */
export const ALL_HOSTILE: string[] = Object.values(HOSTILE).flat();

/** True when `s` holds a lone surrogate. */
export function hasLoneSurrogate(s: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/**
 * What core's schema accepts as a name (layoutName, tabName): not blank, no C0/C1 control, DEL, line
 * separator or bidirectional control, at most 256 characters, already in NFC (the form mc keeps).
 */
export function schemaName(s: string): boolean {
  return s.trim() !== "" && !CONTROL.test(s) && !BIDI.test(s) && s.length <= 256 && s === s.normalize("NFC");
}

/** What core's schema accepts as startDir or command: not blank, no NUL. */
export function schemaText(s: string): boolean {
  return s.trim() !== "" && !s.includes("\u0000");
}

/** Replace the placeholder `MARKER` with a path whose existence proves an injection ran. */
export function armed(s: string, marker: string): string {
  return s.replaceAll("MARKER", marker);
}

const piece = fc.constantFrom(...ALL_HOSTILE);

/**
 * A hostile field: a corpus entry, a mix of entries and arbitrary text (full Unicode, control characters
 * included), or arbitrary text alone. `maxPieces` bounds the mix.
 */
export function hostile(maxPieces = 4): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: piece },
    {
      weight: 4,
      arbitrary: fc
        .array(fc.oneof(piece, fc.string({ unit: "grapheme", maxLength: 6 })), {
          minLength: 1,
          maxLength: maxPieces,
        })
        .map((a) => a.join("")),
    },
    { weight: 2, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 24 }) },
  );
}

/** A hostile name core's schema accepts (no lone surrogates: see the lone-surrogate finding). */
export const hostileName = hostile().filter((s) => schemaName(s) && !hasLoneSurrogate(s));

/** A hostile startDir or command core's schema accepts (control characters allowed, no NUL). */
export const hostileText = hostile(6).filter((s) => schemaText(s) && !hasLoneSurrogate(s));

/** One hostile tab. */
export interface HostileTab {
  tabName: string;
  startDir: string;
  command: string;
}

/** A hostile layout: 1–3 tabs, every field from the corpus. */
export const hostileLayout = fc.record({
  layoutName: hostileName,
  layoutTabs: fc.array(fc.record({ tabName: hostileName, startDir: hostileText, command: hostileText }), {
    minLength: 1,
    maxLength: 3,
  }),
});
