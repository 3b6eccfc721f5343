import { McError } from "./errors.js";

/**
 * What to do when a session name is already taken: fail, replace the old session, pick `name_N`, or
 * apply the layout to the running session: add the tabs it lacks (`merge-skip`), and also restart the
 * tabs whose command or directory changed (`merge-overwrite`). Restart and merge act only on sessions mc
 * started.
 */
export type ConflictPolicy = "error" | "restart" | "rename" | "merge-skip" | "merge-overwrite";

/** The policies, for CLI choices and validation. */
export const CONFLICT_POLICIES: readonly ConflictPolicy[] = [
  "error",
  "restart",
  "rename",
  "merge-skip",
  "merge-overwrite",
];

/** One requested session and what will happen to it. */
export interface PlannedName {
  /** Position in the request. */
  index: number;
  /** The name that was asked for. */
  requested: string;
  /** The name the session will get. */
  name: string;
  /**
   * `create`: a fresh name; `replace`: the existing session of that name (one mc started) is replaced;
   * `merge`: the layout is applied to that running session (tabs added, or also restarted).
   */
  action: "create" | "replace" | "merge";
  /** True when `name` differs from `requested`. */
  renamed: boolean;
}

/** A conflict found while resolving names. */
export interface NameConflict {
  index: number;
  name: string;
  /**
   * `exists`: a session of that name is running; `duplicate`: asked for twice in this request;
   * `foreign`: restart was asked for, but the session of that name is not one mc started.
   */
  kind: "exists" | "duplicate" | "foreign";
  /** For a duplicate: the name that asked for it first, and the tool's key both become. */
  first?: string;
  key?: string;
}

/** The result of {@link resolveSessionNames}. */
export type ConflictPlan = { ok: true; plan: PlannedName[] } | { ok: false; conflicts: NameConflict[] };

/** Input of {@link resolveSessionNames}. */
export interface ResolveNamesInput {
  requested: readonly string[];
  existing: Iterable<string>;
  policy: ConflictPolicy;
  /**
   * The backend's identity of a name: two names with the same key are the same session (tmux turns `.`
   * and `:` into `_`, so `a.b` and `a_b` collide there). Defaults to the name itself.
   */
  key?: (name: string) => string;
  /** Existing names whose sessions mc did not start: `restart` never replaces them (a conflict instead). */
  foreign?: Iterable<string>;
  /** Existing sessions and foreign ones given by their keys already (the tool's own names). */
  existingKeys?: Iterable<string>;
  foreignKeys?: Iterable<string>;
  /**
   * Running sessions mc made as a repeat's copy (`x_1` for a second `x`), by the tool's key, with the key
   * of the name they were asked for: under restart and merge only these are taken over by a repeat.
   */
  copies?: ReadonlyMap<string, string>;
  /**
   * Names earlier batches of the same run asked for (`run -p`): the request goes on from them, so a name
   * here that one of them has is a repeat, as in one request. They are not in the plan.
   */
  earlier?: readonly string[] | undefined;
}

/**
 * Decide the final session names for a request, before anything starts. Pure.
 * - `error`: any requested name that exists, or is requested twice, is a conflict; all are returned at once.
 * - `restart`: an existing name is reused and its session replaced; a name requested twice keeps it for the
 *   first occurrence and the later ones are renamed (replacing a session started moments ago would lose it):
 *   each takes over a running copy mc made of that name before (`copies`), so the same file run again
 *   replaces what the last run started instead of adding `name_3` (review H50-1); with none left, a fresh
 *   `name_N` that exists nowhere. `merge-*` likewise merge into such a copy.
 * - `rename`: a taken name becomes `name_1`, `name_2`, … skipping names that exist or are requested.
 */
export function resolveSessionNames(input: ResolveNamesInput): ConflictPlan {
  // A batch after others (review HR85-4: each batch of `-p` was resolved alone, so `error` refused a
  // repeat after the first batch had run, and restart replaced the session the first batch started). A
  // rename takes the earlier batches' names as taken (below): in a dry run, or after `-k` ended them, they
  // do not exist (review HR88-4: the dry run showed `a` where the run started `a_1`; `-p -k` started two `a`).
  const e = input.earlier?.length && input.policy !== "rename" ? input.earlier.length : 0;
  if (e) {
    const r = resolveSessionNames({
      ...input,
      earlier: undefined,
      requested: [...input.earlier!, ...input.requested],
    });
    if (!r.ok) {
      const conflicts = r.conflicts.filter((c) => c.index >= e).map((c) => ({ ...c, index: c.index - e }));
      if (conflicts.length) return { ok: false, conflicts };
      return resolveSessionNames({ ...input, earlier: undefined });
    }
    return { ok: true, plan: r.plan.filter((p) => p.index >= e).map((p) => ({ ...p, index: p.index - e })) };
  }
  const key = input.key ?? ((s: string) => s);
  const existing = new Set<string>();
  for (const e of input.existing) existing.add(key(e));
  for (const k of input.existingKeys ?? []) existing.add(k);
  const requestedKeys = new Set(input.requested.map(key));
  const taken = new Set<string>();
  if (input.policy === "rename")
    for (const n of input.earlier ?? []) {
      taken.add(key(n));
      requestedKeys.add(key(n));
    }

  if (input.policy === "error") {
    const conflicts: NameConflict[] = [];
    const firstOf = new Map<string, string>();
    input.requested.forEach((name, index) => {
      const k = key(name);
      if (existing.has(k)) conflicts.push({ index, name, kind: "exists" });
      else if (taken.has(k))
        conflicts.push({ index, name, kind: "duplicate", first: firstOf.get(k)!, key: k });
      taken.add(k);
      if (!firstOf.has(k)) firstOf.set(k, name);
    });
    if (conflicts.length) return { ok: false, conflicts };
    return {
      ok: true,
      plan: input.requested.map((name, index) => ({
        index,
        requested: name,
        name,
        action: "create",
        renamed: false,
      })),
    };
  }

  const foreign = new Set<string>();
  for (const f of input.foreign ?? []) foreign.add(key(f));
  for (const k of input.foreignKeys ?? []) foreign.add(k);
  const takesOver = input.policy !== "rename";
  // Taking over, a repeat takes an earlier copy of its name (any `name_N` mc made as one), else a name that
  // exists nowhere; nothing else that exists is ever taken (another file's `name_1`, a foreign one).
  const copies = input.copies ?? new Map<string, string>();
  const fresh = (name: string): string => {
    let free: string | undefined;
    const last = existing.size + requestedKeys.size + taken.size + 1;
    for (let n = 1; ; n++) {
      const candidate = `${name}_${n}`;
      const k = key(candidate);
      if (requestedKeys.has(k) || taken.has(k)) continue;
      if (!existing.has(k)) {
        if (!takesOver) return candidate;
        free ??= candidate;
      } else if (takesOver && !foreign.has(k) && copies.get(k) === key(name)) return candidate;
      if (free !== undefined && n >= last) return free;
    }
  };
  if (takesOver) {
    const conflicts: NameConflict[] = [];
    const seen = new Set<string>();
    input.requested.forEach((name, index) => {
      const k = key(name);
      if (foreign.has(k) && !seen.has(k)) conflicts.push({ index, name, kind: "foreign" });
      seen.add(k);
    });
    if (conflicts.length) return { ok: false, conflicts };
  }
  const plan = input.requested.map((requested, index): PlannedName => {
    const k = key(requested);
    const over = input.policy === "restart" ? "replace" : "merge";
    if (taken.has(k) || (existing.has(k) && input.policy === "rename")) {
      const name = fresh(requested);
      taken.add(key(name));
      const action = takesOver && existing.has(key(name)) ? over : "create";
      return { index, requested, name, action, renamed: true };
    }
    taken.add(k);
    return { index, requested, name: requested, action: existing.has(k) ? over : "create", renamed: false };
  });
  return { ok: true, plan };
}

/** Like {@link resolveSessionNames} but throws one SESSION_CONFLICT error listing every conflict. */
export function planSessionNames(input: ResolveNamesInput, backend = "core"): PlannedName[] {
  const result = resolveSessionNames(input);
  if (result.ok) return result.plan;
  const lines = result.conflicts.map((c) =>
    c.kind === "exists"
      ? `session "${c.name}" already exists`
      : c.kind === "foreign"
        ? `session "${c.name}" exists and was not started by mc (restart and merge act only on sessions mc started)`
        : c.first !== undefined && (c.first !== c.name || c.key !== c.name)
          ? `"${c.first}" and "${c.name}" both become session "${c.key}"`
          : `session "${c.name}" is requested more than once`,
  );
  const foreignOnly = result.conflicts.every((c) => c.kind === "foreign");
  throw new McError(
    "SESSION_CONFLICT",
    lines.length === 1 ? lines[0]! : `${lines.length} conflicts: ${lines.join("; ")}`,
    {
      backend,
      op: "start",
      hint: foreignOnly
        ? "use --on-conflict rename (name_1, name_2, …), or end that session yourself; nothing was started"
        : "use --on-conflict rename (name_1, name_2, …) or --on-conflict restart (replace the running session); nothing was started",
      details: result.conflicts,
    },
  );
}
