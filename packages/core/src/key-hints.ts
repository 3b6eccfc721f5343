import { keySuggestion } from "./json-source.js";
import { LayoutConfigSchema, LayoutsFileSchema, PaneConfigSchema, TabConfigSchema } from "./schema.js";

/** The objects of a layouts file that have a fixed set of keys. */
export type KeyLevel = "file" | "layout" | "tab" | "pane" | "readiness" | "retry";

const tabShape = TabConfigSchema.shape;
// readiness and retry are refined or described wrappers of a strict object: their keys are the inner one's.
const innerKeys = (s: unknown): string[] => {
  let t = s as { shape?: Record<string, unknown>; unwrap?: () => unknown; def?: { innerType?: unknown } };
  for (let i = 0; i < 4 && !t.shape; i++) t = (t.unwrap?.() ?? t.def?.innerType ?? {}) as typeof t;
  return Object.keys(t.shape ?? {});
};

/** The keys of each level, from the schema. */
export const LEVEL_KEYS: Readonly<Record<KeyLevel, ReadonlySet<string>>> = {
  file: new Set(Object.keys(LayoutsFileSchema.shape)),
  layout: new Set(Object.keys(LayoutConfigSchema.shape)),
  tab: new Set(Object.keys(tabShape)),
  pane: new Set(Object.keys(PaneConfigSchema.shape)),
  readiness: new Set(innerKeys(tabShape.readiness)),
  retry: new Set(innerKeys(tabShape.retry)),
};

/** Keys people write that mean one of ours; `name` and `title` depend on where they are. */
const SYNONYMS: Readonly<Record<string, string>> = {
  tabs: "layoutTabs",
  cwd: "startDir",
  dir: "startDir",
  cmd: "command",
  weight: "tabWeight",
  sessions: "layouts",
  timeout: "timeoutSeconds",
  backoff: "backoffSeconds",
  attempts: "max",
};

/** Where to look for a key that is not at `level`, nearest first. */
const NEAREST: Readonly<Record<KeyLevel, readonly KeyLevel[]>> = {
  file: ["layout", "tab", "pane", "readiness", "retry"],
  layout: ["tab", "file", "pane", "readiness", "retry"],
  tab: ["layout", "pane", "readiness", "retry", "file"],
  pane: ["tab", "layout", "readiness", "retry", "file"],
  readiness: ["tab", "retry", "layout", "pane", "file"],
  retry: ["tab", "readiness", "layout", "pane", "file"],
};

/** The level of the object at `pointer` (`["layouts", 0, "layoutTabs", 2]` is a tab). */
export function levelOf(pointer: readonly (string | number)[]): KeyLevel {
  const last = pointer[pointer.length - 1];
  const parent = pointer[pointer.length - 2];
  if (pointer.length === 0) return "file";
  if (last === "readiness" || last === "retry") return last;
  if (parent === "layouts") return "layout";
  if (parent === "layoutTabs") return "tab";
  if (parent === "panes") return "pane";
  return "file";
}

/** Where `key` (valid at `to`, not at `from`) belongs, in words. */
function placement(key: string, from: KeyLevel, to: KeyLevel): string {
  const k = `"${key}"`;
  switch (to) {
    case "file":
      return `${k} belongs at the top level of the file`;
    case "layout":
      return from === "file"
        ? `${k} belongs to a layout: put the layout inside "layouts": [ … ]`
        : `${k} is a layout key (next to ${key === "layoutName" ? "layoutTabs" : "layoutName"}), not a ${from} key`;
    case "tab":
      if (from === "layout") return `${k} belongs on each tab (in layoutTabs), not on the layout`;
      if (from === "pane") return `a pane has no ${k}: it is a tab key`;
      if (from === "file") return `${k} belongs on each tab (in layouts[].layoutTabs)`;
      return `${k} is a tab key, not a ${from} key`;
    case "pane":
      return `${k} belongs on a pane (an entry of the tab's "panes")`;
    case "readiness":
    case "retry":
      return `${k} belongs inside the tab's "${to}": { … }`;
  }
}

/** The nearest other level where `key` is valid. */
function home(key: string, level: KeyLevel): KeyLevel | undefined {
  return NEAREST[level].find((l) => LEVEL_KEYS[l].has(key));
}

/**
 * What an unknown `key` of the object at `level` may have meant, in words for after the key: a key of
 * this level it is a typo or synonym of ("did you mean command?"), else where the key (or the key it is
 * a typo of) belongs ("startDir" on a layout belongs on each tab). Never the key itself (review H61-3).
 */
export function unknownKeyNote(key: string, level: KeyLevel): string | undefined {
  const here = LEVEL_KEYS[level];
  const named =
    key === "name" || key === "title"
      ? { file: "layoutName", layout: "layoutName", tab: "tabName" }[level as string]
      : Object.hasOwn(SYNONYMS, key)
        ? SYNONYMS[key]
        : undefined;
  if (named !== undefined && here.has(named)) return `did you mean ${named}?`;
  const typo = keySuggestion(key, here, {});
  if (typo !== undefined) return `did you mean ${typo}?`;
  const own = home(key, level);
  if (own) return placement(key, level, own);
  const elsewhere =
    named ??
    keySuggestion(
      key,
      NEAREST[level].flatMap((l) => [...LEVEL_KEYS[l]]),
      {},
    );
  const to = elsewhere === undefined ? undefined : home(elsewhere, level);
  return elsewhere === undefined || to === undefined
    ? undefined
    : `did you mean ${elsewhere}? ${placement(elsewhere, level, to)}`;
}
