import { findNodeAtLocation, type Node as JsonNode } from "jsonc-parser";

/** Deepest JSON nesting accepted; a layouts file needs 4. */
export const MAX_NESTING = 64;

/** Keys people write that mean one of ours. */
export const HINTS: Record<string, string> = {
  tabs: "layoutTabs",
  cwd: "startDir",
  dir: "startDir",
  cmd: "command",
  name: "tabName or layoutName",
  title: "tabName",
  weight: "tabWeight",
  sessions: "layouts",
};

/** Every key the layouts format has, at any level (for "did you mean" on a typo). */
const KNOWN_KEYS = [
  "version",
  "layouts",
  "layoutName",
  "layoutTabs",
  "tabName",
  "startDir",
  "command",
  "tabWeight",
  "env",
  "shell",
  "panes",
  "split",
  "size",
  "focus",
  "layout",
  "retry",
  "max",
  "backoffSeconds",
  "dependsOn",
  "readiness",
  "file",
  "port",
  "logMatches",
  "timeoutSeconds",
  "onStart",
  "onStop",
];

/** Edit distance of two short strings (insertions, deletions, substitutions), case-insensitive. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[y.length]!;
}

/**
 * What an unknown key may have meant: a known synonym, else a known key one or two typos away. The keys
 * and synonyms are the layouts format's unless given (an importer gives its tool's: tmuxp's `window_name`).
 */
export function keySuggestion(
  key: string,
  known: Iterable<string> = KNOWN_KEYS,
  hints: Readonly<Record<string, string>> = HINTS,
): string | undefined {
  if (Object.hasOwn(hints, key)) return hints[key];
  if (key.length < 4 || key.length > 40) return undefined;
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    // The key itself is no answer: when it is known but not where it was written, the caller says where.
    if (k === key) continue;
    const d = distance(key, k);
    if (d < bestD && d <= Math.max(1, Math.floor(k.length / 4))) {
      best = k;
      bestD = d;
    }
  }
  return best;
}

/** Format a path such as `["layouts", 0, "layoutName"]` as `layouts[0].layoutName`. */
export function formatPath(pointer: readonly (string | number)[]): string {
  let out = "";
  for (const p of pointer) {
    if (typeof p === "number") out += `[${p}]`;
    else out += /^[A-Za-z_$][\w$]*$/.test(p) ? (out ? `.${p}` : p) : `[${JSON.stringify(p)}]`;
  }
  return out;
}

/** Offsets where each line starts. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

export function position(starts: number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] ?? 0) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - (starts[lo] ?? 0) + 1 };
}

/** `a string`, `an array`, … for messages. */
export function typeName(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return "a string";
  if (typeof v === "number") return Number.isInteger(v) ? "a number" : "a decimal number";
  return `a ${typeof v}`;
}

/** What a zod `expected` means in words. */
export const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  array: "an array",
  object: "an object",
  boolean: "true or false",
  int: "a whole number",
};

/** jsonc-parser's error codes in words. */
export const PARSE_WORDS: Record<string, string> = {
  InvalidSymbol: "unexpected character",
  InvalidNumberFormat: "invalid number",
  PropertyNameExpected: "expected a property name in double quotes",
  ValueExpected: "expected a value",
  ColonExpected: "expected ':'",
  CommaExpected: "expected ',' or a closing bracket",
  CloseBraceExpected: "expected '}'",
  CloseBracketExpected: "expected ']'",
  EndOfFileExpected: "unexpected text after the end of the document",
  InvalidCommentToken: "invalid comment",
  UnexpectedEndOfComment: "unterminated comment",
  UnexpectedEndOfString: "unterminated string",
  UnexpectedEndOfNumber: "unterminated number",
  InvalidUnicode: "invalid \\u escape",
  InvalidEscapeCharacter: "invalid escape character in string",
  InvalidCharacter: "invalid character in string (control characters must be escaped)",
};

/** Nesting depth of a JSON tree (stops counting past MAX_NESTING). */
export function depth(node: JsonNode): number {
  let max = 0;
  const stack: [JsonNode, number][] = [[node, 1]];
  while (stack.length) {
    const [n, d] = stack.pop()!;
    if (d > max) max = d;
    if (max > MAX_NESTING) return max;
    for (const c of n.children ?? []) stack.push([c, n.type === "property" ? d : d + 1]);
  }
  return max;
}

/** The value at a pointer, with objects and arrays as empty placeholders (for messages). */
export function nodeValue(root: JsonNode | undefined, pointer: (string | number)[]): unknown {
  const node = root ? findNodeAtLocation(root, pointer) : undefined;
  if (!node) return undefined;
  if (node.type === "object") return {};
  if (node.type === "array") return [];
  return node.value;
}

/** A plain value from a JSON tree; `__proto__` stays an ordinary key. */
export function nodeToValue(node: JsonNode): unknown {
  switch (node.type) {
    case "object": {
      const o: Record<string, unknown> = {};
      for (const p of node.children ?? []) {
        const [k, v] = p.children ?? [];
        // defineProperty, not assignment: a "__proto__" key must stay an ordinary (unknown) key.
        if (k && v) {
          Object.defineProperty(o, String(k.value), {
            value: nodeToValue(v),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
      }
      return o;
    }
    case "array":
      return (node.children ?? []).map(nodeToValue);
    default:
      return node.value;
  }
}
