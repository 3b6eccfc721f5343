import { findNodeAtLocation, type Node as JsonNode } from "jsonc-parser";
import { LEVEL_KEYS, levelOf, unknownKeyNote } from "./key-hints.js";
import type { LayoutsFile } from "./schema.js";
import type { At, ValidationIssue } from "./validate.js";

const offsetOf = (root: JsonNode, pointer: (string | number)[]) =>
  findNodeAtLocation(root, pointer)?.offset ?? 0;

/**
 * A layout name given twice: one name is one session, so the second asks for a session the first takes.
 * Said, not refused (machineconfig has no such check, and its files load unchanged): a run of both
 * resolves the clash by `--on-conflict` as for any name asked twice (rename: `dl_1`; error: refused with
 * nothing started), and a run of other layouts of the file is not concerned (review H31-3).
 */
function duplicateLayouts(file: LayoutsFile, root: JsonNode, at: At): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const names = new Map<string, number>();
  file.layouts.forEach((layout, i) => {
    const first = names.get(layout.layoutName);
    const pointer = ["layouts", i, "layoutName"];
    if (first !== undefined) {
      out.push(
        at(
          offsetOf(root, pointer),
          pointer,
          `duplicate layoutName "${layout.layoutName}" (also layouts[${first}]): run together, the second is a name conflict (--on-conflict rename runs it as ${layout.layoutName}_1${layout.layoutName.includes(" ") ? `, ${layout.layoutName.replaceAll(" ", "_")}_1 on tmux and zellij` : ""}; restart and merge-* too, taking over the one an earlier run made); -c and -t take the first`,
        ),
      );
    } else names.set(layout.layoutName, i);
  });
  return out;
}

/**
 * `dependsOn` names tabs of the same layout, each once, never the tab itself, and the graph has no cycle;
 * a tab named by `dependsOn` must have a unique name in its layout.
 */
function dependencies(file: LayoutsFile, root: JsonNode, at: At): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  file.layouts.forEach((layout, li) => {
    const count = new Map<string, number>();
    for (const t of layout.layoutTabs) count.set(t.tabName, (count.get(t.tabName) ?? 0) + 1);
    const edges = new Map<number, number[]>();
    // By name, once: a linear search per edge made a 40,000-tab chain take seconds (review HR90-3).
    const indexOf = new Map<string, number>();
    layout.layoutTabs.forEach((t, i) => {
      if (!indexOf.has(t.tabName)) indexOf.set(t.tabName, i);
    });
    layout.layoutTabs.forEach((tab, ti) => {
      (tab.dependsOn ?? []).forEach((dep, di) => {
        const pointer = ["layouts", li, "layoutTabs", ti, "dependsOn", di];
        const where = (message: string) => out.push(at(offsetOf(root, pointer), pointer, message));
        const target = indexOf.get(dep) ?? -1;
        if (target < 0)
          where(`dependsOn names "${dep}", which is not a tab of layout "${layout.layoutName}"`);
        else if ((count.get(dep) ?? 0) > 1)
          where(`dependsOn names "${dep}", which is the name of several tabs`);
        else if (target === ti) where(`tab "${tab.tabName}" depends on itself`);
        else {
          const e = edges.get(ti);
          if (e) e.push(target);
          else edges.set(ti, [target]);
        }
      });
    });
    const cycle = findCycle(layout.layoutTabs.length, edges);
    if (cycle) {
      const pointer = ["layouts", li, "layoutTabs", cycle[0]!, "dependsOn"];
      // A long cycle is said by its ends (review HR91-5: 30,000 tabs made one 379 KB line).
      const shown = cycle.length > 20 ? [...cycle.slice(0, 10), -1, ...cycle.slice(-9)] : cycle;
      const names = [...shown, cycle[0]!]
        .map((i) => (i < 0 ? `… ${cycle.length - 19} more …` : `"${layout.layoutTabs[i]!.tabName}"`))
        .join(" → ");
      out.push(at(offsetOf(root, pointer), pointer, `dependsOn has a cycle: ${names}`));
    }
  });
  return out;
}

/**
 * One cycle of the graph (node indexes), if any: depth-first search with colours, on an explicit stack (a
 * chain of some 6,000 tabs overflowed the call stack: "Maximum call stack size exceeded", review HR90-1).
 */
function findCycle(n: number, edges: Map<number, number[]>): number[] | undefined {
  const colour = new Array<number>(n).fill(0);
  const path: number[] = [];
  const onPath = new Map<number, number>();
  // Per node on the path: the next of its edges to follow.
  const next: number[] = [];
  for (let root = 0; root < n; root++) {
    if (colour[root] !== 0) continue;
    colour[root] = 1;
    onPath.set(root, 0);
    path.push(root);
    next.push(0);
    while (path.length) {
      const v = path[path.length - 1]!;
      const out = edges.get(v) ?? [];
      const i = next[next.length - 1]!;
      if (i < out.length) {
        next[next.length - 1] = i + 1;
        const w = out[i]!;
        if (colour[w] === 1) return path.slice(onPath.get(w));
        if (colour[w] === 0) {
          colour[w] = 1;
          onPath.set(w, path.length);
          path.push(w);
          next.push(0);
        }
        continue;
      }
      colour[v] = 2;
      onPath.delete(v);
      path.pop();
      next.pop();
    }
  }
  return undefined;
}

/** One pane of a tab has the focus: a second `focus: true` is an error, and so is a layout without panes. */
function panes(file: LayoutsFile, root: JsonNode, at: At): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  file.layouts.forEach((layout, li) => {
    layout.layoutTabs.forEach((tab, ti) => {
      const focused = (tab.panes ?? []).flatMap((p, pi) => (p.focus ? [pi] : []));
      for (const pi of focused.slice(1)) {
        const pointer = ["layouts", li, "layoutTabs", ti, "panes", pi, "focus"];
        out.push(
          at(
            offsetOf(root, pointer),
            pointer,
            `only one pane can have the focus (also panes[${focused[0]}])`,
          ),
        );
      }
      out.push(...splitRoom(tab.panes ?? [], ["layouts", li, "layoutTabs", ti], root, at));
      if (tab.layout && !tab.panes?.length) {
        const pointer = ["layouts", li, "layoutTabs", ti, "layout"];
        out.push(
          at(offsetOf(root, pointer), pointer, "layout arranges panes: this tab has none (add panes)"),
        );
      }
    });
  });
  return out;
}

/**
 * Each pane is split from the one before it: a pane whose width (height) is known in cells to be under
 * three cannot be split right (down), since the two panes and the border between them need one cell each.
 * tmux refuses that split ("no space for new pane") after the tab's first panes were made, and tmuxp did
 * the same to an exported file (review H42-6). A size larger than the pane leaves room for is not refused:
 * tmux makes the new pane as large as fits (review H45-2). What percentages or the window leave unknown is
 * not judged.
 */
function splitRoom(
  panes: readonly { split?: "right" | "down" | undefined; size?: string | number | undefined }[],
  tab: (string | number)[],
  root: JsonNode,
  at: At,
): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  // The last pane's width and height in cells, where known (the tab's first pane: the window's, unknown).
  let last: { right?: number; down?: number } = {};
  panes.forEach((p, pi) => {
    const dir = p.split ?? "right";
    const room = last[dir];
    const size = typeof p.size === "number" ? p.size : undefined;
    if (room !== undefined && room < 3) {
      const field = p.split !== undefined ? ["split"] : p.size !== undefined ? ["size"] : [];
      const pointer = [...tab, "panes", pi, ...field];
      const before = pi === 0 ? "the tab's first pane" : `panes[${pi - 1}]`;
      out.push(
        at(
          offsetOf(root, pointer),
          pointer,
          `split ${dir} from ${before}, which is ${room} cell${room === 1 ? "" : "s"} ${dir === "right" ? "wide" : "high"}: a split needs 3 (two panes and the border)`,
        ),
      );
    }
    // The new pane: `size` cells along the split, or what was left when that is less; across, as before.
    const along = size === undefined ? undefined : room === undefined ? size : Math.min(size, room - 2);
    last = { ...last, [dir]: along };
    if (along === undefined) delete last[dir];
  });
  return out;
}

/**
 * What is valid but likely a mistake, as warnings (machineconfig's files must keep loading): layout names
 * tmux would give one session name (it writes `.` and `:` as `_`), and tab names used twice in a layout
 * (`SESSION/TAB` can then name them only by position).
 */
export function layoutWarnings(file: LayoutsFile, root: JsonNode, at: At): ValidationIssue[] {
  const out: ValidationIssue[] = duplicateLayouts(file, root, at);
  const tmuxNames = new Map<string, number>();
  file.layouts.forEach((layout, i) => {
    const key = layout.layoutName.replace(/[.: ]/g, "_");
    const first = tmuxNames.get(key);
    const pointer = ["layouts", i, "layoutName"];
    if (first !== undefined && file.layouts[first]!.layoutName !== layout.layoutName) {
      out.push(
        at(
          offsetOf(root, pointer),
          pointer,
          `layoutName "${layout.layoutName}" and "${file.layouts[first]!.layoutName}" (layouts[${first}]) are one session, "${key}": a session's name has _ for a space, and tmux's for . and : too`,
        ),
      );
    } else if (first === undefined) tmuxNames.set(key, i);
    const tabs = new Map<string, number>();
    layout.layoutTabs.forEach((t, ti) => {
      const seen = tabs.get(t.tabName);
      const tp = ["layouts", i, "layoutTabs", ti, "tabName"];
      if (seen !== undefined)
        out.push(
          at(
            offsetOf(root, tp),
            tp,
            `tabName "${t.tabName}" is also layoutTabs[${seen}]: commands name these tabs by position (${layout.layoutName}/${seen}, ${layout.layoutName}/${ti})`,
          ),
        );
      else tabs.set(t.tabName, ti);
      // A dependency named twice is one dependency: said, as a slip in the file (review H74-5).
      const deps = t.dependsOn ?? [];
      deps.forEach((d, di) => {
        if (deps.indexOf(d) === di) return;
        const dp = ["layouts", i, "layoutTabs", ti, "dependsOn", di];
        out.push(at(offsetOf(root, dp), dp, `dependsOn names "${d}" again (dependsOn[${deps.indexOf(d)}])`));
      });
    });
  });
  return out;
}

/**
 * Linux's bound on one string of a command's environment (MAX_ARG_STRLEN: 32 pages, `NAME=value` and its
 * NUL, in bytes): a longer one makes every exec of the tab fail with E2BIG, its kept shell too.
 */
export const MAX_ENV_STRING_BYTES = 128 * 1024;

/**
 * The most environment of its layout a tab (or pane) may carry, in bytes: under the kernel's whole
 * argument-and-environment bound (ARG_MAX, 2 MiB with the default 8 MiB stack), with room for the
 * environment the tab inherits and mc's own.
 */
export const MAX_ENV_TOTAL_BYTES = 1024 * 1024;

const envBytes = (k: string, v: string) => Buffer.byteLength(`${k}=${v}`) + 1;

/**
 * `env` a command can be given: each `NAME=value` within {@link MAX_ENV_STRING_BYTES}, and the layout's,
 * tab's and pane's together within {@link MAX_ENV_TOTAL_BYTES} (review H67-9: a 140 kB value passed
 * validate, and the tab failed 126 and its window vanished).
 */
function envSizes(file: LayoutsFile, root: JsonNode, at: At): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const values = (env: Readonly<Record<string, string>> | undefined, pointer: (string | number)[]) => {
    for (const [k, v] of Object.entries(env ?? {})) {
      const n = envBytes(k, v);
      if (n <= MAX_ENV_STRING_BYTES) continue;
      const p = [...pointer, "env", k];
      out.push(
        at(
          offsetOf(root, p),
          p,
          `env ${k} is ${n} bytes as NAME=value: no command can be given one over ${MAX_ENV_STRING_BYTES} (Linux MAX_ARG_STRLEN); pass it in a file`,
        ),
      );
    }
  };
  const total = (envs: (Readonly<Record<string, string>> | undefined)[], pointer: (string | number)[]) => {
    const merged = Object.assign({}, ...envs) as Record<string, string>;
    const n = Object.entries(merged).reduce((sum, [k, v]) => sum + envBytes(k, v), 0);
    if (n <= MAX_ENV_TOTAL_BYTES) return;
    const p = [...pointer, "env"];
    out.push(
      at(
        offsetOf(root, p),
        p,
        `env of this ${pointer.length === 2 ? "layout" : pointer.at(-2) === "panes" ? "pane with its tab's and layout's" : "tab with its layout's"} is ${n} bytes: over the ${MAX_ENV_TOTAL_BYTES} mc passes to a command (the kernel's bound is about 2 MiB with all arguments); pass it in a file`,
      ),
    );
  };
  file.layouts.forEach((layout, li) => {
    values(layout.env, ["layouts", li]);
    layout.layoutTabs.forEach((tab, ti) => {
      const tp = ["layouts", li, "layoutTabs", ti];
      values(tab.env, tp);
      total([layout.env, tab.env], tab.env ? tp : ["layouts", li]);
      (tab.panes ?? []).forEach((pane, pi) => {
        const pp = [...tp, "panes", pi];
        values(pane.env, pp);
        if (pane.env) total([layout.env, tab.env, pane.env], pp);
      });
    });
  });
  return [...new Map(out.map((i) => [`${i.path}:${i.message}`, i])).values()];
}

/** What a valid layouts file must also satisfy beyond its schema. */
export function checkLayouts(file: LayoutsFile, root: JsonNode, at: At): ValidationIssue[] {
  return [...dependencies(file, root, at), ...panes(file, root, at), ...envSizes(file, root, at)];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * `--lenient`: drop unknown keys at the file, layout and tab levels, read a numeric-string `tabWeight` as
 * a number and a negative one as 0, in place; each change is a warning with its line:column.
 */
export function lenientFixes(data: Record<string, unknown>, root: JsonNode, at: At): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const strip = (o: Record<string, unknown>, known: ReadonlySet<string>, pointer: (string | number)[]) => {
    for (const k of Object.keys(o)) {
      if (known.has(k)) continue;
      const keyPath = [...pointer, k];
      const keyNode = findNodeAtLocation(root, keyPath)?.parent?.children?.[0];
      const note = unknownKeyNote(k, levelOf(pointer));
      out.push(
        at(keyNode?.offset ?? 0, keyPath, `unknown key "${k}" ignored (--lenient${note ? `; ${note}` : ""})`),
      );
      delete o[k];
    }
  };
  strip(data, LEVEL_KEYS.file, []);
  const layouts = Array.isArray(data.layouts) ? data.layouts : [];
  layouts.forEach((l, li) => {
    if (!isObject(l)) return;
    strip(l, LEVEL_KEYS.layout, ["layouts", li]);
    const tabs = Array.isArray(l.layoutTabs) ? l.layoutTabs : [];
    tabs.forEach((t, ti) => {
      if (!isObject(t)) return;
      const pointer = ["layouts", li, "layoutTabs", ti];
      strip(t, LEVEL_KEYS.tab, pointer);
      if (typeof t.tabWeight === "string" && /^\s*\d+\s*$/.test(t.tabWeight)) {
        const p = [...pointer, "tabWeight"];
        out.push(
          at(
            offsetOf(root, p),
            p,
            `tabWeight "${t.tabWeight}" read as the number ${Number(t.tabWeight)} (--lenient)`,
          ),
        );
        t.tabWeight = Number(t.tabWeight);
      }
      // machineconfig's schema asks only for an integer; a weight below nothing weighs nothing.
      if (typeof t.tabWeight === "number" && Number.isInteger(t.tabWeight) && t.tabWeight < 0) {
        const p = [...pointer, "tabWeight"];
        out.push(at(offsetOf(root, p), p, `tabWeight ${t.tabWeight} read as 0 (--lenient)`));
        t.tabWeight = 0;
      }
    });
  });
  return out;
}
