import { randomBytes } from "node:crypto";
import { Document, visit } from "yaml";

// Characters PyYAML's and libyaml's readers refuse in a stream (non-printable), or read as line breaks
// (NEL, LS, PS): written only as escapes inside double quotes. C0 controls get JSON's escapes there.
const RISKY = /[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/;
const RISKY_G = /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g;
const ESCAPE: Record<string, string> = { "\u0085": "\\N", "\u2028": "\\L", "\u2029": "\\P" };
const yamlEscape = (c: string) => {
  const code = c.charCodeAt(0);
  return (
    ESCAPE[c] ??
    (code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`)
  );
};

/**
 * Plain strings the peers' readers take for something else, though the yaml package writes them bare:
 * PyYAML resolves `=` and `<<` to its value and merge tags and then refuses the whole file; Psych reads
 * `:name` as a Symbol (refused by tmuxinator's safe_load) and digits with commas (`1,000`, `0,5`) as
 * numbers. Written double-quoted.
 */
const MISREAD = /^(?:=|<<|:[\s\S]*|[-+]?\d[\d_,]*,[\d_,]*(?:\.\d*)?)$/;
/**
 * Psych matches its booleans, null and infinities in any case (`tRUE`, `oFF`, `nULL`, `.iNF`), where YAML
 * 1.1 (and the yaml package's quoting) knows three spellings of each (review H39-2).
 */
const MISREAD_ANY_CASE = /^(?:yes|true|on|no|false|off|null|~|[-+]?\.inf|\.nan)$/i;

/** A comment line that cannot end early or carry a character a YAML reader refuses. */
const comment = (line: string) => `# ${line.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]/g, "?")}`;

/**
 * YAML that PyYAML (tmuxp) and Ruby's Psych (tmuxinator) read back as exactly these strings: written as
 * YAML 1.1, so `yes`, `on`, `0755`, `12:30` and the like are quoted, never folded, and a string holding
 * a character their readers refuse or take for a line break is double-quoted with that character escaped.
 */
export function yamlText(value: unknown, header: string, o: { erb?: boolean } = {}): string {
  const doc = new Document(value, { version: "1.1", aliasDuplicateObjects: false });
  // Such strings (and those with a line of only blanks) are written by mc, not by the yaml package: its
  // double-quoted writer (2.9.1) folds some strings with astral characters onto several lines and then
  // writes a line of one space as `\\ `, which reads back as a backslash. JSON's string syntax is YAML's
  // double-quoted one, on one line.
  const quoted = new Map<string, string>();
  const nonce = randomBytes(6).toString("hex");
  visit(doc, {
    Scalar(_, node) {
      const erb = o.erb && typeof node.value === "string" && node.value.includes("<%");
      // A line of only blanks: the yaml package writes it into a block scalar without an indentation
      // indicator, where a reader takes it for an empty line (" \n" read back "\n").
      const blankLine = typeof node.value === "string" && /(^|\n)[ \t]+(\n|$)/.test(node.value);
      if (
        typeof node.value === "string" &&
        (RISKY.test(node.value) ||
          MISREAD.test(node.value) ||
          MISREAD_ANY_CASE.test(node.value) ||
          erb ||
          blankLine)
      ) {
        const token = `mcq${nonce}x${quoted.size}x`;
        // For a file read through ERB first (tmuxinator): `<` as an escape, so no `<%` reaches it. ERB's
        // own `<%%` is not Erubis's (tmuxinator's), which keeps it unless a `%>` follows somewhere.
        const json = JSON.stringify(node.value);
        quoted.set(token, erb ? json.replaceAll("<", "\\u003c") : json);
        node.value = token;
        node.type = "PLAIN";
      }
    },
  });
  const text = doc
    .toString({ lineWidth: 0, minContentWidth: 0 })
    .replace(new RegExp(`mcq${nonce}x\\d+x`, "g"), (t) => quoted.get(t) ?? t);
  const body = text.replace(RISKY_G, yamlEscape);
  const head = header.split("\n").map((l) => comment(o.erb ? l.replaceAll("<%", "< %") : l));
  return `${head.join("\n")}\n${body}`;
}
