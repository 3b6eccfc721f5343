import { type LayoutsFile, McError } from "@mc/core";

/** The other tools' formats `sessions import` reads and `sessions export` writes. */
export const FORMATS = ["tmuxp", "tmuxinator", "zellij"] as const;

/** One of {@link FORMATS}. */
export type Format = (typeof FORMATS)[number];

/** Something of the source that mc does not carry over exactly, and where it was. */
export interface ConvertWarning {
  /** Where, in the source's own terms: `windows[2].options`, `tab "docs" > pane 3`. */
  at: string;
  message: string;
  /** Where `at` is in a YAML source file (1-based), when it names a field found there. */
  line?: number;
  column?: number;
}

/** A warning as one line for humans: `FILE:LINE:COL: windows[0].x: …`, as errors are placed. */
export function warningText(source: string, w: ConvertWarning): string {
  const place = w.line === undefined ? "" : `:${w.line}:${w.column ?? 1}`;
  return `${source}${place}: ${w.at ? `${w.at}: ` : ""}${w.message}`;
}

/** Collects the warnings of one conversion (each distinct one once). */
export class Notes {
  readonly list: ConvertWarning[] = [];
  private readonly seen = new Set<string>();

  add(at: string, message: string): void {
    const key = `${at}\u0000${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push({ at, message });
  }
}

/** What an importer needs besides the file's text: where it is and the environment it is read in. */
export interface ImportContext {
  /** Absolute path of the source file (tmuxp resolves `./x` against its directory). */
  file: string;
  /** The directory `sessions import` runs in. */
  cwd: string;
  /** The environment tmuxp or zellij would expand `$VAR` with. */
  env: Readonly<Record<string, string | undefined>>;
}

/** Another tool's file as an mc layouts file (validated), and what could not be carried over. */
export interface Imported {
  /** The source: a file's format, or `tmux`/`zellij` for a frozen session. */
  format: Format | "tmux";
  file: LayoutsFile;
  warnings: ConvertWarning[];
}

/** A source file that cannot be converted: LAYOUT_INVALID (exit 3) with the place and a hint. */
export function convertError(op: string, reason: string, hint?: string): McError {
  return new McError("LAYOUT_INVALID", reason, { backend: "cli", op, hint });
}

/** A JSON-like value as parsed from YAML, JSON or KDL. */
export type Plain = string | number | boolean | null | Plain[] | { [key: string]: Plain };

/** A plain object (not an array, not null). */
export function isMap(v: unknown): v is Record<string, Plain> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
