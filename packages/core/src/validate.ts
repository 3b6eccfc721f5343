import {
  findNodeAtLocation,
  type Node as JsonNode,
  type ParseError,
  parseTree,
  printParseErrorCode,
} from "jsonc-parser";
import type { z } from "zod";
import {
  depth,
  EXPECTED,
  formatPath,
  lineStarts,
  MAX_NESTING,
  nodeToValue,
  nodeValue,
  PARSE_WORDS,
  position,
  typeName,
} from "./json-source.js";
import { levelOf, unknownKeyNote } from "./key-hints.js";
import { checkLayouts, layoutWarnings, lenientFixes } from "./layout-checks.js";
import { KNOWN_VERSIONS, type LayoutsFile, LayoutsFileSchema } from "./schema.js";

export { formatPath, MAX_NESTING } from "./json-source.js";

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

/** Options of {@link parseLayouts}. */
export interface ParseOptions {
  /**
   * Accept what machineconfig runs: unknown keys are warned about (each with its line:column) and
   * ignored, and a `tabWeight` given as a numeric string is read as a number. Strict by default.
   */
  lenient?: boolean;
}

/** Where a problem is: path and line:column in the source. */
export type At = (offset: number, pointer: (string | number)[], message: string) => ValidationIssue;

/** Offset where `[`/`{` nesting (outside strings and comments) first passes MAX_NESTING; a linear scan. */
function nestedTooDeep(src: string): number | undefined {
  let level = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '"') {
      for (i++; i < src.length && src[i] !== '"'; i++) if (src[i] === "\\") i++;
    } else if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      i = end < 0 ? src.length : end + 1;
    } else if (c === "[" || c === "{") {
      if (++level > MAX_NESTING) return i;
    } else if (c === "]" || c === "}") level--;
  }
  return undefined;
}

/**
 * Parse and validate the text of a layouts file (JSON with comments). Never throws for bad input:
 * every problem comes back at once, each with its path and line:column.
 */
export function parseLayouts(text: string, opts: ParseOptions = {}): ValidationResult<LayoutsFile> {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const starts = lineStarts(src);
  const at = (offset: number, pointer: (string | number)[], message: string): ValidationIssue => ({
    path: formatPath(pointer),
    pointer,
    ...position(starts, offset),
    message,
  });

  if (src.trim() === "") return { ok: false, issues: [at(0, [], "the file is empty")] };

  // The JSON parser recurses per level: a file nested 200,000 deep would overflow its stack.
  const deep = nestedTooDeep(src);
  if (deep !== undefined)
    return { ok: false, issues: [at(deep, [], `the document is nested deeper than ${MAX_NESTING} levels`)] };
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
  // JSON allows a key twice and keeps the last; in a shared file that hides an edit, so refuse it. With
  // --lenient it is read as machineconfig's json.loads reads it, the last value, with a warning (review
  // HR81-5: refused even then).
  const warnings: ValidationIssue[] = [];
  const stack: JsonNode[] = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.type === "object") {
      const seen = new Set<string>();
      for (const prop of n.children ?? []) {
        const key = prop.children?.[0];
        const k = String(key?.value);
        if (seen.has(k))
          if (opts.lenient)
            warnings.push(
              at(
                key?.offset ?? prop.offset,
                [...pathOf(n), k],
                `duplicate key "${k}": the last one is read (--lenient)`,
              ),
            );
          else issues.push(at(key?.offset ?? prop.offset, [...pathOf(n), k], `duplicate key "${k}"`));
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

  if (opts.lenient) warnings.push(...lenientFixes(data as Record<string, unknown>, root, at));
  const parsed = LayoutsFileSchema.safeParse(data);
  if (!parsed.success) for (const i of zodIssues(parsed.error, root, at)) issues.push(i);

  if (parsed.success) {
    for (const i of checkLayouts(parsed.data, root, at)) issues.push(i);
    warnings.push(...layoutWarnings(parsed.data, root, at));
    const v = parsed.data.version;
    if (v === undefined)
      warnings.push(at(0, ["version"], 'no version; read as "0.1" (machineconfig writes "0.1")'));
    else if (!(KNOWN_VERSIONS as readonly string[]).includes(v)) {
      const node = findNodeAtLocation(root, ["version"]);
      warnings.push(at(node?.offset ?? 0, ["version"], `unknown version "${v}"; read as "0.1"`));
    }
  }
  const unique = new Map(issues.map((i) => [`${i.line}:${i.column}:${i.path}:${i.message}`, i]));
  // Not spread into one call: 200,000 duplicate keys overflowed the call stack (review HR90-2).
  issues.length = 0;
  for (const i of unique.values()) issues.push(i);
  issues.sort((a, b) => a.line - b.line || a.column - b.column);
  // With --lenient, the keys it ignored are said with the errors: a typo ("comand") is the reason a
  // field is missing.
  if (issues.length > 0 || !parsed.success)
    return { ok: false, issues: [...issues, ...warnings.filter((w) => w.message.startsWith("unknown key"))] };
  return { ok: true, value: parsed.data, warnings };
}

function zodIssues(error: z.ZodError, root: JsonNode, at: At): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  // A field of the wrong type gets that one message: zod also checks the bounds of what it could not read
  // ("layoutTabs must be an array, got a string" then "… must have at least one tab": review H74-5).
  const mistyped = new Set(
    error.issues.filter((i) => i.code === "invalid_type").map((i) => JSON.stringify(i.path)),
  );
  for (const issue of error.issues) {
    if (issue.code !== "invalid_type" && mistyped.has(JSON.stringify(issue.path))) continue;
    const pointer = issue.path.map((p) => (typeof p === "number" ? p : String(p)));
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const keyPath = [...pointer, key];
        const valueNode = findNodeAtLocation(root, keyPath);
        const keyNode = valueNode?.parent?.children?.[0];
        const note = unknownKeyNote(key, levelOf(pointer));
        const hint = note ? ` (${note})` : "";
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
    if (issue.code === "invalid_type") {
      const expected =
        last === "tabWeight" ? "a non-negative integer" : (EXPECTED[issue.expected] ?? issue.expected);
      message = `${label} must be ${expected}, got ${typeName(value)}`;
    } else if (issue.code === "invalid_key") {
      // The key's own rule says why (zod's record issue only says "Invalid key in record").
      message = issue.issues.map((i) => i.message).join("; ") || issue.message;
    } else {
      message = ownWords(issue, label, value) ?? issue.message;
    }
    out.push(at(node?.offset ?? 0, pointer, message));
  }
  return out;
}

/**
 * zod's own wording of a bound or a choice ("Too small: expected number to be >=0", "Invalid option:
 * expected one of …") in the words of every other message here, with what was given (review H74-5). A
 * message the schema words itself is kept.
 */
function ownWords(issue: z.core.$ZodIssue, label: string, value: unknown): string | undefined {
  if (!/^(Too small|Too big|Invalid option|Invalid input)\b/.test(issue.message)) return undefined;
  const got =
    value === undefined
      ? ""
      : `, got ${typeof value === "string" ? JSON.stringify(value) : typeName(value) === "a number" ? String(value) : typeName(value)}`;
  if (issue.code === "too_small" || issue.code === "too_big") {
    const bound = Number(issue.code === "too_small" ? issue.minimum : issue.maximum);
    const word =
      issue.code === "too_small"
        ? issue.inclusive
          ? "at least"
          : "more than"
        : issue.inclusive
          ? "at most"
          : "less than";
    if (issue.origin === "number") return `${label} must be ${word} ${bound}${got}`;
    if (issue.origin === "array") return `${label} must have ${word} ${bound} item${bound === 1 ? "" : "s"}`;
    if (issue.origin === "string")
      return `${label} must be ${word} ${bound} character${bound === 1 ? "" : "s"} long`;
    return undefined;
  }
  if (issue.code === "invalid_value") {
    const choices = issue.values.map((v) => JSON.stringify(v));
    return choices.length === 1
      ? `${label} must be ${choices[0]}${got}`
      : `${label} must be one of ${choices.join(", ")}${got}`;
  }
  return undefined;
}

/** How many issues {@link formatIssues} lists before it counts the rest. */
export const MAX_LISTED_ISSUES = 200;

/**
 * Render issues as `file:line:col path: message` lines: the first {@link MAX_LISTED_ISSUES}, then how many
 * more (review HR90-2: a file of 100,000 repeated keys printed 100,000 lines).
 */
export function formatIssues(issues: readonly ValidationIssue[], source = "<layouts>"): string {
  const lines = issues
    .slice(0, MAX_LISTED_ISSUES)
    .map((i) => `${source}:${i.line}:${i.column}${i.path ? ` ${i.path}` : ""}: ${i.message}`);
  const more = issues.length - MAX_LISTED_ISSUES;
  if (more > 0) lines.push(`${source}: … and ${more} more`);
  return lines.join("\n");
}

/** Warnings as {@link formatIssues} lines, each marked `warning:` (they do not stop anything). */
export function formatWarnings(issues: readonly ValidationIssue[], source = "<layouts>"): string {
  return formatIssues(issues, source)
    .split("\n")
    .map((l) => `warning: ${l}`)
    .join("\n");
}
