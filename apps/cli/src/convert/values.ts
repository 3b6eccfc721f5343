import { keySuggestion } from "@mc/core";
import type { Notes, Plain } from "./types.js";
import { isMap } from "./types.js";

/** Python's truth value (tmuxp tests `focus`, `enter` and the like with `if x:`): "false" is true. */
export function pyTruthy(v: Plain | undefined): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return true;
}

/** Python's `str()` of a YAML scalar (`True`, `None`, `8080`), as tmuxp passes values on to tmux. */
export function pyStr(v: Plain): string {
  if (typeof v === "string") return v;
  if (v === true) return "True";
  if (v === false) return "False";
  if (v === null) return "None";
  if (typeof v === "number") return String(v);
  return JSON.stringify(v);
}

/** Ruby's `to_s` of a YAML scalar (`true`, `""` for nil), as tmuxinator uses them. */
export function rbStr(v: Plain): string {
  if (typeof v === "string") return v;
  if (v === null) return "";
  if (typeof v === "boolean" || typeof v === "number") return String(v);
  return JSON.stringify(v);
}

/**
 * Warn about every key of `map` that is not in `known`, with the known key it may be a typo of, as the
 * layouts format's validator says it (review H50-3: `window_nmae` started a window of an empty shell).
 */
export function unknownKeys(
  map: Record<string, Plain>,
  known: ReadonlySet<string>,
  at: string,
  notes: Notes,
  tool: string,
): void {
  for (const k of Object.keys(map))
    if (!known.has(k)) {
      const guess = keySuggestion(k, known, {});
      notes.add(
        `${at}${at ? "." : ""}${k}`,
        `unknown key, not carried over (${tool} ignores it too${guess ? `; did you mean ${guess}?` : ""})`,
      );
    }
}

/** `windows[2]`-style location. */
export const loc = (base: string, key: string | number) =>
  typeof key === "number" ? `${base}[${key}]` : `${base}${base ? "." : ""}${key}`;
