import { shQuote } from "./quote.js";
import { type LayoutConfig, type TabConfig, tabWeight } from "./schema.js";

/** How the threshold is measured: tab count or summed `tabWeight`. */
export type ThresholdType = "number" | "weight";
/** How an oversized layout is reduced: split into `name_partK` layouts, or merge tabs into super tabs. */
export type BreakingMethod = "moreLayouts" | "combineTabs";

/** Options of {@link balanceLoad}. */
export interface BalanceOptions {
  /** Most tabs (number) or most weight (weight) per layout (moreLayouts) or per tab (weight/combineTabs). */
  maxThreshold: number;
  thresholdType: ThresholdType;
  breakingMethod: BreakingMethod;
}

/** What balancing did to one input layout. */
export interface BalanceReportEntry {
  layoutName: string;
  action: "kept" | "split" | "combined";
  /** Names of the resulting layouts (split) or the layout itself. */
  into: string[];
  tabsBefore: number;
  tabsAfter: number;
  weightBefore: number;
}

/** Result of {@link balanceLoad}. */
export interface BalanceResult {
  layouts: LayoutConfig[];
  report: BalanceReportEntry[];
  /** Things the user should know: tabs heavier than the threshold, commands that cannot be merged safely. */
  warnings: string[];
}

const layoutWeight = (tabs: readonly TabConfig[]) => tabs.reduce((s, t) => s + tabWeight(t), 0);

/** Split a list into `parts` consecutive chunks whose sizes differ by at most one (larger ones first). */
function evenChunks<T>(items: readonly T[], parts: number): T[][] {
  const out: T[][] = [];
  const base = Math.floor(items.length / parts);
  let extra = items.length % parts;
  let i = 0;
  for (let p = 0; p < parts; p++) {
    const size = base + (extra-- > 0 ? 1 : 0);
    out.push(items.slice(i, i + size));
    i += size;
  }
  return out.filter((c) => c.length > 0);
}

/**
 * The tabs of a layout in groups that must stay in one session: a tab and the tabs it depends on
 * (`dependsOn` names a tab of the same layout), transitively. Groups come in the order of their first
 * tab, each in layout order; a layout without dependsOn gives one group per tab.
 */
export function dependencyGroups(tabs: readonly TabConfig[]): TabConfig[][] {
  const parent = tabs.map((_, i) => i);
  const root = (i: number): number => {
    while (parent[i] !== i) i = parent[i]!;
    return i;
  };
  const byName = new Map(tabs.map((t, i) => [t.tabName, i]));
  tabs.forEach((t, i) => {
    for (const d of t.dependsOn ?? []) {
      const j = byName.get(d);
      if (j !== undefined) parent[root(i)] = root(j);
    }
  });
  const groups = new Map<number, TabConfig[]>();
  tabs.forEach((t, i) => {
    const r = root(i);
    groups.set(r, [...(groups.get(r) ?? []), t]);
  });
  return [...groups.values()];
}

/**
 * Greedy sequential packing of groups (see {@link dependencyGroups}) kept whole: a new chunk starts when
 * the next group would take the chunk over `max` (its tab count or its weight).
 */
function packGroups(
  groups: readonly TabConfig[][],
  max: number,
  size: (tabs: readonly TabConfig[]) => number,
): TabConfig[][] {
  const out: TabConfig[][] = [];
  let cur: TabConfig[] = [];
  for (const g of groups) {
    if (cur.length > 0 && size(cur) + size(g) > max) {
      out.push(cur);
      cur = [];
    }
    cur.push(...g);
  }
  if (cur.length) out.push(cur);
  return out;
}

/** What a merged tab cannot keep: its own environment, shell, panes, layout, readiness, retries, dependencies. */
function mergeable(t: TabConfig, dependedOn: ReadonlySet<string>): boolean {
  const own = Object.keys(t).filter((k) => !["tabName", "startDir", "command", "tabWeight"].includes(k));
  return own.length === 0 && !dependedOn.has(t.tabName);
}

/**
 * The POSIX sh driver of a merged tab: each part runs in its own subshell, in its own start directory (a
 * leading `~` is the home directory), through the user's shell, one after the other; a part that fails is
 * named, the others still run, and the merged tab exits with the first failure's status. Each part travels
 * as one quoted argument, so a trailing `;`, `&`, a comment or a newline in it cannot touch the others.
 */
const MERGE_DRIVER = `mc_first=0
mc_part() {
  # The home forms a startDir may start with (paths.ts normaliseStartDir); a relative one is relative to
  # the directory the merged tab starts in, the run's own (see mergeTabs).
  case $2 in
    "~" | '$HOME' | '\${HOME}') set -- "$1" "$HOME" "$3" ;;
    "~/"*) set -- "$1" "$HOME/\${2#"~/"}" "$3" ;;
    '$HOME/'*) set -- "$1" "$HOME/\${2#'$HOME/'}" "$3" ;;
    '\${HOME}/'*) set -- "$1" "$HOME/\${2#'\${HOME}/'}" "$3" ;;
  esac
  ( cd -- "$2" && exec "\${SHELL:-/bin/sh}" -c "$3" )
  mc_c=$?
  if [ "$mc_c" -ne 0 ]; then
    printf 'mc: part "%s" failed (exit %s)\\n' "$1" "$mc_c" >&2
    [ "$mc_first" -ne 0 ] || mc_first=$mc_c
  fi
}
while [ $# -ge 3 ]; do mc_part "$1" "$2" "$3"; shift 3; done
exit "$mc_first"`;

/**
 * Merge tabs into one "super tab" whose command runs each tab's command in turn (see MERGE_DRIVER): every
 * part in its own subshell and directory, a failing part named, and the merged tab failing when any did.
 */
export function mergeTabs(tabs: readonly TabConfig[], tabName: string, warnings: string[]): TabConfig {
  const args = tabs.flatMap((t) => [t.tabName, t.startDir, t.command]).map(shQuote);
  const command = `/bin/sh -c ${shQuote(MERGE_DRIVER)} mc-merged ${args.join(" ")}`;
  // A relative startDir is relative to the directory sessions runs in: the merged tab then starts there
  // ("."), so each part's `cd` finds it as the unmerged tab would have.
  const relative = tabs.some((t) => !/^(~|\$HOME|\$\{HOME\})(?=$|\/)|^\//.test(t.startDir));
  // Its weight is the parts' sum, up to the largest a layouts file holds (review H44-7: a sum past it made a
  // file validate refused).
  const sum = layoutWeight(tabs);
  if (sum > Number.MAX_SAFE_INTEGER)
    warnings.push(
      `tab "${tabName}": its parts weigh ${sum}, over the largest tabWeight (${Number.MAX_SAFE_INTEGER}), which it is given`,
    );
  const tabWeight = Math.min(sum, Number.MAX_SAFE_INTEGER);
  return { tabName, startDir: relative ? "." : tabs[0]!.startDir, command, tabWeight };
}

/**
 * Rebalance layouts so that none exceeds `maxThreshold` (machineconfig's `balance-load`, with its bugs
 * fixed): combineTabs yields exactly `maxThreshold` tabs when there are more, generated names never collide
 * with existing ones, and a single tab heavier than the threshold is reported instead of silently kept.
 */
export function balanceLoad(layouts: readonly LayoutConfig[], opts: BalanceOptions): BalanceResult {
  const { maxThreshold: max, thresholdType, breakingMethod } = opts;
  if (!Number.isInteger(max) || max < 1) throw new RangeError("maxThreshold must be a positive integer");
  const usedLayoutNames = new Set(layouts.map((l) => l.layoutName));
  const result: BalanceResult = { layouts: [], report: [], warnings: [] };
  const uniqueLayoutName = (base: string, startAt: number): [string, number] => {
    for (let k = startAt; ; k++) {
      const name = `${base}_part${k}`;
      if (!usedLayoutNames.has(name)) {
        usedLayoutNames.add(name);
        return [name, k];
      }
    }
  };

  for (const layout of layouts) {
    const tabs = layout.layoutTabs;
    const entry: BalanceReportEntry = {
      layoutName: layout.layoutName,
      action: "kept",
      into: [layout.layoutName],
      tabsBefore: tabs.length,
      tabsAfter: tabs.length,
      weightBefore: layoutWeight(tabs),
    };
    if (thresholdType === "weight") {
      for (const t of tabs) {
        if (tabWeight(t) > max) {
          result.warnings.push(
            `layout "${layout.layoutName}", tab "${t.tabName}": weight ${tabWeight(t)} is over the threshold ${max} on its own`,
          );
        }
      }
    }
    const over = thresholdType === "number" ? tabs.length > max : layoutWeight(tabs) > max;
    if (!over) {
      result.layouts.push(layout);
      result.report.push(entry);
      continue;
    }
    const size = thresholdType === "number" ? (t: readonly TabConfig[]) => t.length : layoutWeight;
    if (breakingMethod === "moreLayouts") {
      // A tab and what it depends on stay in one session (dependsOn names a tab of the same layout).
      const groups = dependencyGroups(tabs);
      for (const g of groups)
        if (g.length > 1 && size(g) > max)
          result.warnings.push(
            `layout "${layout.layoutName}": tabs ${g.map((t) => `"${t.tabName}"`).join(", ")} depend on one another and stay in one layout, over the threshold ${max}`,
          );
      const chunks = packGroups(groups, max, size);
      // Nothing to split (one dependsOn chain holds every tab): the layout stays as it is, under its own
      // name; a lone `_part1` would rename the session for no gain.
      if (chunks.length < 2) {
        result.layouts.push(layout);
        result.report.push(entry);
        result.warnings.push(
          `layout "${layout.layoutName}" cannot be split: it is kept as it is, over the threshold ${max}`,
        );
        continue;
      }
      if (layout.onStart !== undefined || layout.onStop !== undefined)
        result.warnings.push(
          `layout "${layout.layoutName}": each of its ${chunks.length} parts is a session of its own and runs its onStart/onStop`,
        );
      entry.action = "split";
      entry.into = [];
      let k = 1;
      for (const chunk of chunks) {
        const [name, used] = uniqueLayoutName(layout.layoutName, k);
        k = used + 1;
        // Every part keeps the layout's own fields (env, onStart, onStop), as its tabs expect them.
        result.layouts.push({ ...layout, layoutName: name, layoutTabs: chunk });
        entry.into.push(name);
      }
      entry.tabsAfter = tabs.length;
    } else {
      entry.action = "combined";
      // Tabs with settings of their own (env, panes, readiness, dependsOn, …) or that others depend on
      // stay tabs of their own; the rest are merged into what is left of the threshold.
      const dependedOn = new Set(tabs.flatMap((t) => t.dependsOn ?? []));
      const kept = tabs.filter((t) => !mergeable(t, dependedOn));
      const plain = tabs.filter((t) => mergeable(t, dependedOn));
      if (kept.length > 0)
        result.warnings.push(
          `layout "${layout.layoutName}": ${kept.map((t) => `"${t.tabName}"`).join(", ")} kept as tab(s) of their own (settings a merged tab cannot keep, or a dependency)`,
        );
      const room = thresholdType === "number" ? Math.max(1, max - kept.length) : max;
      const chunks =
        thresholdType === "number"
          ? evenChunks(plain, room)
          : packGroups(
              plain.map((t) => [t]),
              max,
              size,
            );
      if (thresholdType === "number" && kept.length + Math.min(plain.length, room) > max)
        result.warnings.push(
          `layout "${layout.layoutName}": ${kept.length + chunks.length} tabs remain, over the threshold ${max}`,
        );
      const usedTabNames = new Set(tabs.map((t) => t.tabName));
      const merged = chunks.map((chunk, i) => {
        if (chunk.length === 1) return chunk[0]!;
        let name = `super_tab_${i + 1}`;
        for (let n = 1; usedTabNames.has(name); n++) name = `super_tab_${i + 1}_${n}`;
        usedTabNames.add(name);
        return mergeTabs(chunk, name, result.warnings);
      });
      // In layout order: a merged tab where its first part was.
      const at = new Map(chunks.map((c, i) => [c[0]!, merged[i]!]));
      const newTabs = tabs.flatMap((t) => (kept.includes(t) ? [t] : at.has(t) ? [at.get(t)!] : []));
      result.layouts.push({ ...layout, layoutTabs: newTabs });
      entry.tabsAfter = newTabs.length;
    }
    result.report.push(entry);
  }
  return result;
}
