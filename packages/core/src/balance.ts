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

/** Greedy sequential packing: start a new chunk when the next tab would go over `max`. */
function weightChunks(tabs: readonly TabConfig[], max: number): TabConfig[][] {
  const out: TabConfig[][] = [];
  let cur: TabConfig[] = [];
  let w = 0;
  for (const t of tabs) {
    const tw = tabWeight(t);
    if (cur.length > 0 && w + tw > max) {
      out.push(cur);
      cur = [];
      w = 0;
    }
    cur.push(t);
    w += tw;
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * The POSIX sh driver of a merged tab: each part runs in its own subshell, in its own start directory (a
 * leading `~` is the home directory), through the user's shell, one after the other; a part that fails is
 * named, the others still run, and the merged tab exits with the first failure's status. Each part travels
 * as one quoted argument, so a trailing `;`, `&`, a comment or a newline in it cannot touch the others.
 */
const MERGE_DRIVER = `mc_first=0
mc_part() {
  case $2 in "~") set -- "$1" "$HOME" "$3" ;; "~/"*) set -- "$1" "$HOME/\${2#"~/"}" "$3" ;; esac
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
export function mergeTabs(tabs: readonly TabConfig[], tabName: string, _warnings: string[]): TabConfig {
  const args = tabs.flatMap((t) => [t.tabName, t.startDir, t.command]).map(shQuote);
  const command = `/bin/sh -c ${shQuote(MERGE_DRIVER)} mc-merged ${args.join(" ")}`;
  return { tabName, startDir: tabs[0]!.startDir, command, tabWeight: layoutWeight(tabs) };
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
    const chunks =
      thresholdType === "number" ? evenOrFixed(tabs, max, breakingMethod) : weightChunks(tabs, max);
    if (breakingMethod === "moreLayouts") {
      entry.action = "split";
      entry.into = [];
      let k = 1;
      for (const chunk of chunks) {
        const [name, used] = uniqueLayoutName(layout.layoutName, k);
        k = used + 1;
        result.layouts.push({ layoutName: name, layoutTabs: chunk });
        entry.into.push(name);
      }
      entry.tabsAfter = tabs.length;
    } else {
      entry.action = "combined";
      const usedTabNames = new Set(tabs.map((t) => t.tabName));
      const newTabs = chunks.map((chunk, i) => {
        if (chunk.length === 1) return chunk[0]!;
        let name = `super_tab_${i + 1}`;
        for (let n = 1; usedTabNames.has(name); n++) name = `super_tab_${i + 1}_${n}`;
        usedTabNames.add(name);
        return mergeTabs(chunk, name, result.warnings);
      });
      result.layouts.push({ layoutName: layout.layoutName, layoutTabs: newTabs });
      entry.tabsAfter = newTabs.length;
    }
    result.report.push(entry);
  }
  return result;
}

function evenOrFixed(tabs: readonly TabConfig[], max: number, method: BreakingMethod): TabConfig[][] {
  if (method === "combineTabs") return evenChunks(tabs, max);
  const out: TabConfig[][] = [];
  for (let i = 0; i < tabs.length; i += max) out.push(tabs.slice(i, i + max));
  return out;
}
