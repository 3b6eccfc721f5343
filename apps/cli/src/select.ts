import { type LayoutConfig, McError, type TabConfig, tabOrigins } from "@mc/core";
import type { RunOptions } from "./commands/run.js";
import { display } from "./display.js";
import { pickLayouts, pickTabs, readLayouts, resolveLayoutsPath } from "./layouts-source.js";
import type { Output } from "./output.js";
import { wholeFrom } from "./program/options.js";

const usage = (reason: string, hint?: string) =>
  new McError("USAGE", reason, { backend: "cli", op: "select", hint });

/** `run`'s default -T/--max-tabs-per-layout and -P/--max-parallel-layouts (machineconfig's). */
export const DEFAULT_MAX_TABS_PER_LAYOUT = 25;
export const DEFAULT_MAX_PARALLEL_LAYOUTS = 25;

/**
 * What `run` with its default limits refuses in these layouts, for `validate` to say (review H74-2: "ok",
 * then `run` exited 2).
 */
export function overDefaultLimits(layouts: readonly LayoutConfig[]): string[] {
  const out = layouts
    .filter((l) => l.layoutTabs.length > DEFAULT_MAX_TABS_PER_LAYOUT)
    .map(
      (l) =>
        `layout "${l.layoutName}" has ${l.layoutTabs.length} tabs, over run's -T/--max-tabs-per-layout ${DEFAULT_MAX_TABS_PER_LAYOUT} (raise it, or split it with sessions balance-load)`,
    );
  if (layouts.length > DEFAULT_MAX_PARALLEL_LAYOUTS)
    out.push(
      `${layouts.length} layouts, over run's -P/--max-parallel-layouts ${DEFAULT_MAX_PARALLEL_LAYOUTS} at once (run them with --parallel-layouts N, or raise it)`,
    );
  return out;
}

/**
 * A `-c`/`-t` value split at its commas, where a name may hold a comma itself: consecutive pieces are
 * joined into the longest run that `known` accepts (a name that exists), else each piece stands alone.
 */
export function splitChoices(value: string, known: (token: string) => boolean): string[] {
  const parts = value.split(",");
  const out: string[] = [];
  for (let i = 0; i < parts.length; ) {
    let j = parts.length;
    while (j > i + 1 && !known(parts.slice(i, j).join(",").trim())) j--;
    out.push(parts.slice(i, j).join(","));
    i = j;
  }
  return out;
}

/** A copy of a tab, known by the same field of the file as the tab (see `tabOrigins`). */
function keepOrigin(from: TabConfig, copy: TabConfig): TabConfig {
  const at = tabOrigins.get(from);
  if (at !== undefined) tabOrigins.set(copy, at);
  return copy;
}

/** The tabs a `-t` token names: `Layout::Tab` (at any `::` that splits it so), else a bare tab name. */
function tabsOf(layouts: readonly LayoutConfig[], token: string): TabConfig[] {
  // Every split that names something: more than one is a choice mc does not make for the user.
  const splits: { layoutName: string; tabName: string; hits: TabConfig[] }[] = [];
  for (let at = token.indexOf("::"); at >= 0; at = token.indexOf("::", at + 1)) {
    const [layoutName, tabName] = [token.slice(0, at), token.slice(at + 2)];
    // Of a layout name the file gives twice, the first: as -c takes it (review H33-8: both were taken).
    const hits =
      layouts.find((l) => l.layoutName === layoutName)?.layoutTabs.filter((t) => t.tabName === tabName) ?? [];
    if (hits.length) splits.push({ layoutName, tabName, hits });
  }
  if (splits.length > 1)
    throw usage(
      `-t ${display(token, { oneLine: true })} names tabs of ${splits.length} layouts: ${splits.map((x) => `tab "${display(x.tabName, { oneLine: true })}" of layout "${display(x.layoutName, { oneLine: true })}"`).join(", ")}`,
      "rename one of them: a name with :: in it cannot be told apart here",
    );
  if (splits.length === 1) return splits[0]!.hits;
  return layouts.flatMap((l) => l.layoutTabs.filter((t) => t.tabName === token));
}

/** `--choose-layouts a,b`: exact names first, then case-insensitive; unknown names are an error listing the choices. */
export function chooseLayouts(layouts: readonly LayoutConfig[], names: string[]): LayoutConfig[] {
  const picked: LayoutConfig[] = [];
  const unknown: string[] = [];
  for (const raw of names.map((n) => n.trim()).filter(Boolean)) {
    const hit =
      layouts.find((l) => l.layoutName === raw) ??
      layouts.find((l) => l.layoutName.toLowerCase() === raw.toLowerCase());
    if (!hit) unknown.push(raw);
    else if (!picked.includes(hit)) picked.push(hit);
  }
  if (unknown.length) {
    throw usage(
      `no layout named ${unknown.map((u) => `"${u}"`).join(", ")}`,
      `layouts in the file: ${layouts.map((l) => l.layoutName).join(", ")}`,
    );
  }
  return picked;
}

/**
 * `--choose-tabs Tab,Layout::Tab`: the chosen tabs (from the chosen layouts) merged into one layout
 * named `custom-tabs`, as machineconfig does. A token that matches nothing is an error.
 */
export function chooseTabs(layouts: readonly LayoutConfig[], tokens: string[]): LayoutConfig {
  const tabs: LayoutConfig["layoutTabs"] = [];
  const unknown: string[] = [];
  for (const token of tokens.map((t) => t.trim()).filter(Boolean)) {
    const hits = tabsOf(layouts, token);
    if (hits.length === 0) unknown.push(token);
    for (const h of hits) if (!tabs.includes(h)) tabs.push(h);
  }
  if (unknown.length) {
    // As -t takes them: of a layout name given twice, the first layout's tabs (review H36-3).
    const firsts = layouts.filter((l, i) => layouts.findIndex((x) => x.layoutName === l.layoutName) === i);
    const all = [...new Set(firsts.flatMap((l) => l.layoutTabs.map((t) => `${l.layoutName}::${t.tabName}`)))];
    throw usage(
      `no tab matches ${unknown.map((u) => `"${u}"`).join(", ")}`,
      `tabs: ${all.slice(0, 20).join(", ")}${all.length > 20 ? ", …" : ""}`,
    );
  }
  return { layoutName: "custom-tabs", layoutTabs: tabs };
}

/**
 * Chosen tabs (`-t`) as the one session `custom-tabs`, in the order chosen, each as its layout had it: its
 * layout's `env` under its own, a name two chosen tabs share made `<layout>.<tab>`, and `dependsOn`
 * naming the tab of its own layout; one that was not chosen is named `<layout>::<tab>`, so the run is
 * refused rather than a same-named tab of another layout taken for it. A warning names the layouts whose
 * onStart/onStop do not run.
 */
export function tabsAsOne(
  layouts: readonly LayoutConfig[],
  chosen: readonly TabConfig[],
): { layout: LayoutConfig; warnings: string[] } {
  const from = new Map<TabConfig, LayoutConfig>();
  for (const l of layouts) for (const t of l.layoutTabs) from.set(t, l);
  const count = new Map<string, number>();
  for (const t of chosen) count.set(t.tabName, (count.get(t.tabName) ?? 0) + 1);
  const taken = new Set(count.keys());
  const renamed = new Map<TabConfig, string>();
  for (const t of chosen) {
    if ((count.get(t.tabName) ?? 0) < 2) continue;
    const base = `${from.get(t)?.layoutName ?? "custom"}.${t.tabName}`;
    let name = base;
    // As mc renames sessions: NAME_1, NAME_2 … (review H74-3: _2 first, and not said).
    for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    renamed.set(t, name);
  }
  // `<layout>.<tab>` is the README's rule; a name the file already uses for another chosen tab is said.
  const clashes = [...renamed].filter(
    ([t, n]) => n !== `${from.get(t)?.layoutName ?? "custom"}.${t.tabName}`,
  );
  const nameOf = (t: TabConfig) => renamed.get(t) ?? t.tabName;
  const tabs = chosen.map((t) => {
    const l = from.get(t);
    const dep = (d: string) => {
      const target = chosen.find((c) => from.get(c) === l && c.tabName === d);
      return target ? nameOf(target) : l ? `${l.layoutName}::${d}` : d;
    };
    return keepOrigin(t, {
      ...t,
      tabName: nameOf(t),
      ...(l?.env || t.env ? { env: { ...l?.env, ...t.env } } : {}),
      ...(t.dependsOn ? { dependsOn: t.dependsOn.map(dep) } : {}),
    });
  });
  const hooks = [...new Set(chosen.map((t) => from.get(t)))].filter(
    (l): l is LayoutConfig => l !== undefined && (l.onStart !== undefined || l.onStop !== undefined),
  );
  const warnings = hooks.length
    ? [
        `the onStart/onStop of ${hooks.map((l) => JSON.stringify(l.layoutName)).join(", ")} do not run: the chosen tabs are one session, custom-tabs`,
      ]
    : [];
  for (const [t, n] of clashes)
    warnings.push(
      `tab "${t.tabName}" of layout "${from.get(t)?.layoutName ?? "custom"}" is "${n}": another chosen tab is named "${from.get(t)?.layoutName ?? "custom"}.${t.tabName}"`,
    );
  return { layout: { layoutName: "custom-tabs", layoutTabs: tabs }, warnings };
}

/** Interactive choice of layouts on a terminal (a checkbox list). */
export async function chooseInteractively(layouts: readonly LayoutConfig[]): Promise<LayoutConfig[]> {
  if (!process.stdin.isTTY)
    throw usage("-i needs a terminal", "use --choose-layouts or --choose-tabs instead");
  const { default: checkbox } = await import("@inquirer/checkbox");
  const picked = await checkbox({
    message: "Layouts to run",
    choices: layouts.map((l) => ({
      name: display(
        `${l.layoutName} (${l.layoutTabs.length} tab${l.layoutTabs.length === 1 ? "" : "s"}: ${l.layoutTabs.map((t) => t.tabName).join(", ")})`,
        { oneLine: true },
      ),
      value: l,
      checked: true,
    })),
    required: true,
  });
  return picked;
}

const blank = (v: string) => v.split(",").every((x) => x.trim() === "");

/**
 * Every tab of every layout as one session (`all-layouts-dynamic`), each tab as its layout had it: its
 * layout's `env` under its own, and `dependsOn` naming the tab of its own layout. A tab name that more
 * than one layout uses becomes `<layout>.<tab>` (unique), so a dependency never reaches into another layout.
 * The layouts' onStart/onStop belong to sessions that are not started: a warning says so.
 */
export function allLayoutsAsOne(layouts: readonly LayoutConfig[]): {
  layout: LayoutConfig;
  warnings: string[];
} {
  const count = new Map<string, number>();
  for (const l of layouts)
    for (const t of l.layoutTabs) count.set(t.tabName, (count.get(t.tabName) ?? 0) + 1);
  const taken = new Set(count.keys());
  const tabs = layouts.flatMap((l) => {
    const renamed = new Map<string, string>();
    for (const t of l.layoutTabs) {
      if ((count.get(t.tabName) ?? 0) < 2 || renamed.has(t.tabName)) continue;
      let name = `${l.layoutName}.${t.tabName}`;
      for (let k = 2; taken.has(name); k++) name = `${l.layoutName}.${t.tabName}_${k}`;
      taken.add(name);
      renamed.set(t.tabName, name);
    }
    const named = (n: string) => renamed.get(n) ?? n;
    return l.layoutTabs.map((t) =>
      keepOrigin(t, {
        ...t,
        tabName: named(t.tabName),
        ...(l.env || t.env ? { env: { ...l.env, ...t.env } } : {}),
        ...(t.dependsOn ? { dependsOn: t.dependsOn.map(named) } : {}),
      }),
    );
  });
  const hooks = layouts.filter((l) => l.onStart !== undefined || l.onStop !== undefined);
  const warnings = hooks.length
    ? [
        `the onStart/onStop of ${hooks.map((l) => JSON.stringify(l.layoutName)).join(", ")} do not run: all-layouts-dynamic is one session of their tabs`,
      ]
    : [];
  return { layout: { layoutName: "all-layouts-dynamic", layoutTabs: tabs }, warnings };
}

/**
 * Load the file and apply -c / -t (a blank value opens a picker on a terminal) / -i / --all-file and the
 * sanity limits.
 */
export async function selectLayouts(file: string, o: RunOptions, out: Output): Promise<LayoutConfig[]> {
  const layoutsFile = await readLayouts(await resolveLayoutsPath(file, out), o, out);
  let layouts: LayoutConfig[] = layoutsFile.layouts;
  if (o.allFile) {
    if (o.chooseLayouts !== undefined || o.chooseTabs !== undefined)
      throw usage("--all-file runs every tab of the file: it does not combine with -c or -t");
    // machineconfig's --all-file: every tab of every layout, as one session.
    const all = allLayoutsAsOne(layouts);
    for (const w of all.warnings) out.err(out.c.yellow(`warning: ${w}`));
    return [all.layout];
  }
  if (o.chooseLayouts !== undefined) {
    const all = layouts;
    // Only an empty value opens the picker; one that names nothing (`-c ","`) is every layout, as
    // machineconfig reads it (review HR81-5: refused, quoting a "" the user never typed).
    if (o.chooseLayouts !== "" && blank(o.chooseLayouts))
      out.err(
        out.c.yellow(
          `warning: -c ${display(JSON.stringify(o.chooseLayouts), { oneLine: true })} names no layout: every layout of the file runs`,
        ),
      );
    layouts = blank(o.chooseLayouts)
      ? o.chooseLayouts === ""
        ? await pickLayouts(layouts)
        : layouts
      : chooseLayouts(
          layouts,
          splitChoices(o.chooseLayouts, (n) => layouts.some((l) => l.layoutName === n)),
        );
    // A name the file gives twice: -c takes the first, and says so (review H34-8: silently).
    for (const l of layouts) {
      const same = all.flatMap((x, i) => (x.layoutName === l.layoutName ? [i] : []));
      if (same.length > 1)
        out.err(
          out.c.yellow(
            `warning: -c "${display(l.layoutName, { oneLine: true })}": layouts[${same.join("], layouts[")}] of the file have this name; only the first, layouts[${same[0]}], runs`,
          ),
        );
    }
  }
  if (o.interactive) layouts = await chooseInteractively(layouts);
  if (o.chooseTabs !== undefined) {
    const chosen = blank(o.chooseTabs)
      ? await pickTabs(layouts)
      : chooseTabs(
          layouts,
          splitChoices(o.chooseTabs, (t) => tabsOf(layouts, t).length > 0),
        );
    const one = tabsAsOne(layouts, chosen.layoutTabs);
    for (const w of one.warnings) out.err(out.c.yellow(`warning: ${w}`));
    layouts = [one.layout];
  }
  for (const l of layouts) {
    if (l.layoutTabs.length > o.maxTabsPerLayout) {
      throw usage(
        `layout "${l.layoutName}" has ${l.layoutTabs.length} tabs, over --max-tabs-per-layout ${o.maxTabsPerLayout}`,
        "raise the limit, or split it with `sessions balance-load`",
      );
    }
  }
  if (o.parallelLayouts !== undefined) {
    if (o.parallelLayouts < 1) throw usage(`--parallel-layouts ${wholeFrom(1)}`);
    if (o.parallelLayouts > o.maxParallelLayouts)
      throw usage(
        `--parallel-layouts ${o.parallelLayouts} is over --max-parallel-layouts ${o.maxParallelLayouts}`,
      );
  } else if (layouts.length > o.maxParallelLayouts && o.maxParallelTabs === undefined) {
    throw usage(
      `${layouts.length} layouts would start at once, over --max-parallel-layouts ${o.maxParallelLayouts}`,
      "run them in batches with --parallel-layouts N, or raise the limit",
    );
  }
  return layouts;
}
