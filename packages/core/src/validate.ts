import { readFile, stat } from "node:fs/promises";
import {
  findNodeAtLocation,
  type Node as JsonNode,
  type ParseError,
  parseTree,
  printParseErrorCode,
} from "jsonc-parser";
import type { z } from "zod";
import { McError } from "./errors.js";
import { KNOWN_VERSIONS, type LayoutsFile, LayoutsFileSchema } from "./schema.js";

/** One problem found in a layouts file, pointing at the exact field. */
export interface ValidationIssue {
  /** Human path such as `layouts[0].layoutTabs[2].command` (empty for the whole file). */
  path: string;
  /** The same path as keys and indexes. */
  pointer: (string | number)[];
  /** 1-based line of the field (or of the object that lacks it). */
  line: number;
  /** 1-based column. */
  column: number;
  /** Plain words: what is wrong. */
  message: string;
}

/** Result of validation: the typed value and warnings, or every issue at once. */
export type ValidationResult<T> =
  | { ok: true; value: T; warnings: ValidationIssue[] }
  | { ok: false; issues: ValidationIssue[] };

/** Largest layouts file mc reads (bytes). */
export const MAX_LAYOUTS_FILE_BYTES = 8 * 1024 * 1024;
/** Deepest JSON nesting accepted; a layouts file needs 4. */
export const MAX_NESTING = 64;

const HINTS: Record<string, string> = {
  tabs: "layoutTabs",
  cwd: "startDir",
  dir: "startDir",
  cmd: "command",
  name: "tabName or layoutName",
  title: "tabName",
  weight: "tabWeight",
  sessions: "layouts",
};

/** Format a path such as `["layouts", 0, "layoutName"]` as `layouts[0].layoutName`. */
export function formatPath(pointer: readonly (string | number)[]): string {
  let out = "";
  for (const p of pointer) {
    if (typeof p === "number") out += `[${p}]`;
    else out += /^[A-Za-z_$][\w$]*$/.test(p) ? (out ? `.${p}` : p) : `[${JSON.stringify(p)}]`;
  }
  return out;
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

function position(starts: number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] ?? 0) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - (starts[lo] ?? 0) + 1 };
}

function typeName(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return "a string";
  if (typeof v === "number") return Number.isInteger(v) ? "a number" : "a decimal number";
  return `a ${typeof v}`;
}

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  array: "an array",
  object: "an object",
  boolean: "true or false",
};

const PARSE_WORDS: Record<string, string> = {
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

function depth(node: JsonNode): number {
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

function nodeValue(root: JsonNode | undefined, pointer: (string | number)[]): unknown {
  const node = root ? findNodeAtLocation(root, pointer) : undefined;
  if (!node) return undefined;
  if (node.type === "object") return {};
  if (node.type === "array") return [];
  return node.value;
}

/**
 * Parse and validate the text of a layouts file (JSON with comments). Never throws for bad input:
 * every problem comes back at once, each with its path and line:column.
 */
export function parseLayouts(text: string): ValidationResult<LayoutsFile> {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const starts = lineStarts(src);
  const at = (offset: number, pointer: (string | number)[], message: string): ValidationIssue => ({
    path: formatPath(pointer),
    pointer,
    ...position(starts, offset),
    message,
  });

  if (src.trim() === "") return { ok: false, issues: [at(0, [], "the file is empty")] };

  const errors: ParseError[] = [];
  const root = parseTree(src, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0 || !root) {
    const issues = errors.map((e) => {
      const code = printParseErrorCode(e.error);
      return at(e.offset, [], `invalid JSON: ${PARSE_WORDS[code] ?? code}`);
    });
    // Only the first syntax error is reliable; the parser's later ones are mostly echoes of it.
    return { ok: false, issues: issues.length ? issues.slice(0, 1) : [at(0, [], "invalid JSON")] };
  }
  if (depth(root) > MAX_NESTING) {
    return { ok: false, issues: [at(0, [], `the document is nested deeper than ${MAX_NESTING} levels`)] };
  }

  const issues: ValidationIssue[] = [];
  const pathOf = (node: JsonNode): (string | number)[] => {
    const out: (string | number)[] = [];
    let n: JsonNode | undefined = node;
    while (n?.parent) {
      const p: JsonNode = n.parent;
      if (p.type === "property") out.unshift(String(p.children?.[0]?.value));
      else if (p.type === "array") out.unshift(p.children?.indexOf(n) ?? 0);
      n = p.type === "property" ? p.parent : p;
    }
    return out;
  };
  // JSON allows a key twice and keeps the last; in a shared file that hides an edit, so refuse it.
  const stack: JsonNode[] = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.type === "object") {
      const seen = new Set<string>();
      for (const prop of n.children ?? []) {
        const key = prop.children?.[0];
        const k = String(key?.value);
        if (seen.has(k))
          issues.push(at(key?.offset ?? prop.offset, [...pathOf(n), k], `duplicate key "${k}"`));
        // No layouts key is called __proto__; say so here, since schema checks may not see it as a key.
        else if (k === "__proto__")
          issues.push(at(key?.offset ?? prop.offset, [...pathOf(n), k], 'unknown key "__proto__"'));
        seen.add(k);
      }
    }
    for (const c of n.children ?? []) stack.push(c);
  }

  const data: unknown = nodeToValue(root);
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    const shape = Array.isArray(data) ? " (a bare array is machineconfig's old documented format)" : "";
    issues.push(
      at(
        root.offset,
        [],
        `the file must be an object with "version" and "layouts", got ${typeName(data)}${shape}`,
      ),
    );
    return { ok: false, issues };
  }

  const parsed = LayoutsFileSchema.safeParse(data);
  if (!parsed.success) issues.push(...zodIssues(parsed.error, root, at));

  const warnings: ValidationIssue[] = [];
  if (parsed.success) {
    const names = new Map<string, number>();
    parsed.data.layouts.forEach((layout, i) => {
      const first = names.get(layout.layoutName);
      const pointer = ["layouts", i, "layoutName"];
      const node = findNodeAtLocation(root, pointer);
      if (first !== undefined) {
        issues.push(
          at(
            node?.offset ?? 0,
            pointer,
            `duplicate layoutName "${layout.layoutName}" (also layouts[${first}])`,
          ),
        );
      } else names.set(layout.layoutName, i);
    });
    const v = parsed.data.version;
    if (!(KNOWN_VERSIONS as readonly string[]).includes(v)) {
      const node = findNodeAtLocation(root, ["version"]);
      warnings.push(at(node?.offset ?? 0, ["version"], `unknown version "${v}"; read as "0.1"`));
    }
  }
  const unique = new Map(issues.map((i) => [`${i.line}:${i.column}:${i.path}:${i.message}`, i]));
  issues.splice(0, issues.length, ...unique.values());
  issues.sort((a, b) => a.line - b.line || a.column - b.column);
  if (issues.length > 0 || !parsed.success) return { ok: false, issues };
  return { ok: true, value: parsed.data, warnings };
}

function nodeToValue(node: JsonNode): unknown {
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

function zodIssues(
  error: z.ZodError,
  root: JsonNode,
  at: (offset: number, pointer: (string | number)[], message: string) => ValidationIssue,
): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const issue of error.issues) {
    const pointer = issue.path.map((p) => (typeof p === "number" ? p : String(p)));
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const keyPath = [...pointer, key];
        const valueNode = findNodeAtLocation(root, keyPath);
        const keyNode = valueNode?.parent?.children?.[0];
        const hint = Object.hasOwn(HINTS, key) ? ` (did you mean ${HINTS[key]}?)` : "";
        out.push(at(keyNode?.offset ?? valueNode?.offset ?? 0, keyPath, `unknown key "${key}"${hint}`));
      }
      continue;
    }
    const node = findNodeAtLocation(root, pointer);
    const value = node ? nodeValue(root, pointer) : undefined;
    let message: string;
    if (issue.code === "invalid_type" && !node) {
      message = `${String(pointer[pointer.length - 1])} is required`;
      let parentPath = pointer.slice(0, -1);
      let parent = findNodeAtLocation(root, parentPath);
      while (!parent && parentPath.length) {
        parentPath = parentPath.slice(0, -1);
        parent = findNodeAtLocation(root, parentPath);
      }
      out.push(at(parent?.offset ?? 0, pointer, message));
      continue;
    }
    if (issue.code === "invalid_type") {
      const last = pointer[pointer.length - 1];
      const parentKey = pointer[pointer.length - 2];
      const label =
        typeof last === "number"
          ? parentKey === "layouts"
            ? "each layout"
            : parentKey === "layoutTabs"
              ? "each tab"
              : "each item"
          : String(last ?? "value");
      const expected =
        last === "tabWeight" ? "a non-negative integer" : (EXPECTED[issue.expected] ?? issue.expected);
      message = `${label} must be ${expected}, got ${typeName(value)}`;
    } else {
      message = issue.message;
    }
    out.push(at(node?.offset ?? 0, pointer, message));
  }
  return out;
}

/** Read and validate a layouts file from disk. I/O problems come back as issues too. */
export async function loadLayoutsFile(path: string): Promise<ValidationResult<LayoutsFile>> {
  const fail = (message: string): ValidationResult<LayoutsFile> => ({
    ok: false,
    issues: [{ path: "", pointer: [], line: 1, column: 1, message }],
  });
  let size: number;
  try {
    const st = await stat(path);
    if (st.isDirectory()) return fail("is a directory, not a layouts file");
    size = st.size;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(code === "ENOENT" ? "no such file" : `cannot read: ${code ?? String(e)}`);
  }
  if (size > MAX_LAYOUTS_FILE_BYTES) {
    return fail(`the file is ${size} bytes; layouts files are limited to ${MAX_LAYOUTS_FILE_BYTES} bytes`);
  }
  const bytes = await readFile(path);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const bad = firstBadUtf8Byte(bytes);
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < bad; i++) if (bytes[i] === 10) [line, lineStart] = [line + 1, i + 1];
    return {
      ok: false,
      issues: [
        {
          path: "",
          pointer: [],
          line,
          column: bad - lineStart + 1,
          message: `the file is not valid UTF-8 (bad byte 0x${bytes[bad]?.toString(16)} at offset ${bad})`,
        },
      ],
    };
  }
  return parseLayouts(text);
}

/** Offset of the first byte that breaks UTF-8 (only called when decoding failed). */
function firstBadUtf8Byte(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    const n =
      c < 0x80 ? 0 : c >= 0xc2 && c < 0xe0 ? 1 : c >= 0xe0 && c < 0xf0 ? 2 : c >= 0xf0 && c < 0xf5 ? 3 : -1;
    if (n < 0) return i;
    // After some lead bytes the second byte's range is narrower (RFC 3629 §4): no overlong forms, no
    // surrogates (ED A0–BF), nothing past U+10FFFF.
    const [lo, hi] =
      c === 0xe0
        ? [0xa0, 0xbf]
        : c === 0xed
          ? [0x80, 0x9f]
          : c === 0xf0
            ? [0x90, 0xbf]
            : c === 0xf4
              ? [0x80, 0x8f]
              : [0x80, 0xbf];
    const second = b[i + 1];
    if (n > 0 && (second === undefined || second < lo || second > hi)) return i;
    for (let k = 2; k <= n; k++) if (((b[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return i;
}

/** Render issues as `file:line:col path: message` lines. */
export function formatIssues(issues: readonly ValidationIssue[], source = "<layouts>"): string {
  return issues
    .map((i) => `${source}:${i.line}:${i.column}${i.path ? ` ${i.path}` : ""}: ${i.message}`)
    .join("\n");
}

/** Return the value of a valid result, or throw one LAYOUT_INVALID error listing every issue. */
export function unwrapLayouts<T>(result: ValidationResult<T>, source = "<layouts>"): T {
  if (result.ok) return result.value;
  const n = result.issues.length;
  throw new McError(
    "LAYOUT_INVALID",
    `${source} has ${n} problem${n === 1 ? "" : "s"}:\n${formatIssues(result.issues, source)}`,
    {
      backend: "core",
      op: "load",
      hint: "fix the fields above; nothing was started",
      details: result.issues,
    },
  );
}

/** Load a layouts file and throw LAYOUT_INVALID (with every issue) when it is not valid. */
export async function readLayoutsFile(path: string): Promise<LayoutsFile> {
  return unwrapLayouts(await loadLayoutsFile(path), path);
}
