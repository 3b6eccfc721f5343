import { lstatSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, extname, join, relative, resolve } from "node:path";
import {
  type BreakingMethod,
  balanceLoad,
  fitName,
  formatIssues,
  formatWarnings,
  type LayoutConfig,
  type LayoutsFile,
  layoutsJsonSchema,
  loadLayoutsFile,
  MAX_LAYOUTS_FILE_BYTES,
  MAX_NAME_LENGTH,
  McError,
  parseLayouts,
  psQuote,
  schemaLine,
  shQuote,
  type ThresholdType,
  tabOrigins,
  tabWeight,
} from "@mc/core";
import { oneLine } from "../display.js";
import {
  importedLayouts,
  otherToolFormat,
  readablePath,
  readLayouts,
  yamlNotLayouts,
} from "../layouts-source.js";
import { type Output, table } from "../output.js";
import { alreadyExists, checkParentDir, writeOutputFile } from "../output-file.js";
import { wholeFrom } from "../program/options.js";
import { overDefaultLimits } from "../select.js";

const usage = (reason: string, hint?: string) => new McError("USAGE", reason, { backend: "cli", hint });

/** `sessions validate FILE`. */
export async function validateCommand(file: string, o: { lenient?: boolean }, out: Output): Promise<number> {
  const r = await loadLayoutsFile(readablePath(file), { lenient: Boolean(o.lenient) });
  const imported = r.ok ? undefined : await importedLayouts(file, out);
  if (imported) {
    const tabs = imported.file.layouts[0]!.layoutTabs.length;
    if (out.json) out.printJson({ ok: true, warnings: [], layouts: imported.file.layouts.length });
    else
      out.out(
        `${file}: ok as a ${imported.format} file (${tabs} tab${tabs === 1 ? "" : "s"}; sessions import shows the layouts file)`,
      );
    return 0;
  }
  const other = r.ok ? undefined : otherToolFormat(file);
  if (other) {
    const issue = {
      path: "",
      pointer: [],
      line: 1,
      column: 1,
      message: `this is ${other}, not an mc layouts file; convert it with: sessions import ${shQuote(file)} -o layouts.json`,
    };
    if (out.json) out.printJson({ ok: false, issues: [issue] });
    else out.err(formatIssues([issue], oneLine(file)));
    return 3;
  }
  const yaml = r.ok ? undefined : await yamlNotLayouts(file, r.issues);
  if (yaml) {
    const issue = { path: "", pointer: [], line: 1, column: 1, message: `this ${yaml.what} (${yaml.hint})` };
    if (out.json) out.printJson({ ok: false, issues: [issue] });
    else {
      out.err(formatIssues([issue], oneLine(file)));
      out.err(out.c.red("1 problem"));
    }
    return 3;
  }
  if (out.json) {
    out.printJson(
      r.ok
        ? {
            ok: true,
            warnings: r.warnings,
            layouts: r.value.layouts.length,
            ...(overDefaultLimits(r.value.layouts).length
              ? { runLimits: overDefaultLimits(r.value.layouts) }
              : {}),
          }
        : { ok: false, issues: r.issues },
    );
    return r.ok ? 0 : 3;
  }
  if (!r.ok) {
    // The file's name on one line: a newline in it split each FILE:LINE:COL line (review H62-5).
    out.err(formatIssues(r.issues, oneLine(file)));
    out.err(out.c.red(`${r.issues.length} problem${r.issues.length === 1 ? "" : "s"}`));
    if (r.issues.some((i) => /^unknown key /.test(i.message)))
      out.err(
        `${out.c.dim("hint:")} fix the fields above, or pass --lenient to ignore keys mc does not know (as machineconfig does)`,
      );
    return 3;
  }
  if (r.warnings.length) out.err(out.c.yellow(formatWarnings(r.warnings, oneLine(file))));
  for (const n of overDefaultLimits(r.value.layouts)) out.err(out.c.yellow(`note: ${oneLine(n)}`));
  const tabs = r.value.layouts.reduce((n, l) => n + l.layoutTabs.length, 0);
  out.out(
    `${oneLine(file)}: ok (${r.value.layouts.length} layout${r.value.layouts.length === 1 ? "" : "s"}, ${tabs} tab${tabs === 1 ? "" : "s"})`,
  );
  return 0;
}

/** `sessions summarize FILE`. */
export async function summarizeCommand(file: string, o: { lenient?: boolean }, out: Output): Promise<number> {
  const f = await readLayouts(file, o, out);
  const counts = f.layouts.map((l) => l.layoutTabs.length);
  const total = counts.reduce((a, b) => a + b, 0);
  const max = f.layouts[counts.indexOf(Math.max(...counts))]!;
  const min = f.layouts[counts.indexOf(Math.min(...counts))]!;
  const summary = {
    file,
    version: f.version,
    layouts: f.layouts.length,
    tabs: total,
    averageTabsPerLayout: Math.round((total / f.layouts.length) * 100) / 100,
    largest: { layoutName: max.layoutName, tabs: max.layoutTabs.length },
    smallest: { layoutName: min.layoutName, tabs: min.layoutTabs.length },
    perLayout: f.layouts.map((l) => ({
      layoutName: l.layoutName,
      tabs: l.layoutTabs.length,
      weight: l.layoutTabs.reduce((w, t) => w + tabWeight(t), 0),
    })),
  };
  if (out.json) {
    out.printJson(summary);
    return 0;
  }
  out.out(`${out.c.bold(oneLine(file))}  version ${f.version ?? "unknown"}`);
  out.out(
    `${summary.layouts} layouts, ${total} tabs, ${summary.averageTabsPerLayout} tabs per layout on average`,
  );
  out.out(
    `largest: ${max.layoutName} (${max.layoutTabs.length}), smallest: ${min.layoutName} (${min.layoutTabs.length})`,
  );
  out.out("");
  for (const l of table(
    ["#", "LAYOUT", "TABS", "WEIGHT"],
    summary.perLayout.map((p, i) => [String(i + 1), p.layoutName, String(p.tabs), String(p.weight)]),
    { c: out.c },
  ))
    out.out(l);
  return 0;
}

/** `sessions balance-load FILE -m N -t number|weight -b moreLayouts|combineTabs [-o OUT]`. */
export async function balanceCommand(
  file: string,
  o: {
    maxThreshold: number;
    thresholdType: string;
    breakingMethod: string;
    outputPath?: string;
    force?: boolean;
    lenient?: boolean;
  },
  out: Output,
): Promise<number> {
  const tt: Record<string, ThresholdType> = { number: "number", n: "number", weight: "weight", w: "weight" };
  const bm: Record<string, BreakingMethod> = {
    moreLayouts: "moreLayouts",
    ml: "moreLayouts",
    combineTabs: "combineTabs",
    ct: "combineTabs",
  };
  const thresholdType = tt[o.thresholdType];
  const breakingMethod = bm[o.breakingMethod];
  if (!thresholdType) throw usage(`unknown --threshold-type "${o.thresholdType}"`, "use number or weight");
  if (!breakingMethod)
    throw usage(`unknown --breaking-method "${o.breakingMethod}"`, "use moreLayouts or combineTabs");
  if (!Number.isInteger(o.maxThreshold) || o.maxThreshold < 1) throw usage(`--max-threshold ${wholeFrom(1)}`);
  if (file === "-" && o.outputPath === undefined)
    throw usage(
      "balance-load - reads standard input: there is no file to write the result next to",
      "name it with -o",
    );
  const f = await readLayouts(file, o, out);
  const result = balanceLoad(f.layouts, { maxThreshold: o.maxThreshold, thresholdType, breakingMethod });
  const output: LayoutsFile = { ...f, layouts: result.layouts };
  const target =
    o.outputPath ??
    join(
      dirname(file),
      `${basename(file, extname(file))}_adjusted_${o.maxThreshold}_${o.thresholdType}_${o.breakingMethod}.json`,
    );
  // A file named with -o is kept unless --force (review H52-13); the default name next to the input is
  // balance-load's own output, written again on each run (as machineconfig does).
  await writeOutputFile(
    target,
    `${JSON.stringify(output, null, 4)}\n`,
    "-o",
    file,
    o.outputPath === undefined || o.force === true,
  );
  if (out.json) {
    out.printJson({ output: target, report: result.report, warnings: result.warnings });
    return 0;
  }
  for (const r of result.report) {
    out.err(
      r.action === "kept"
        ? `${r.layoutName}: kept (${r.tabsBefore} tabs)`
        : r.action === "split"
          ? `${r.layoutName}: split into ${r.into.join(", ")}`
          : `${r.layoutName}: ${r.tabsBefore} tabs combined into ${r.tabsAfter}`,
    );
  }
  for (const w of result.warnings) out.err(out.c.yellow(`warning: ${w}`));
  out.out(oneLine(target));
  return 0;
}

/** The most tabs `create-from-command` makes (a tmux session of more is of no use to anyone). */
const MAX_COMMAND_TABS = 10_000;

/** `sessions create-template [NAME] --num-tabs N`: a starter layouts file in this directory. */
export async function templateCommand(
  name: string | undefined,
  o: { numTabs: number; force?: boolean },
  out: Output,
): Promise<number> {
  if (!Number.isInteger(o.numTabs) || o.numTabs < 1) throw usage(`--num-tabs ${wholeFrom(1)}`);
  const target = resolve(name ? (name.endsWith(".json") ? name : `${name}.json`) : "layout.json");
  // lstat: a dangling symlink is there too (writing through it failed as an internal error).
  if (lstatSync(target, { throwIfNoEntry: false }) && !o.force) throw alreadyExists(target);
  const cwd = process.cwd();
  const rel = relative(homedir(), cwd);
  // Outside the home directory (machineconfig crashed there) the absolute path is kept.
  const startDir = rel === "" ? "~" : rel.startsWith("..") || resolve(rel) === rel ? cwd : `~/${rel}`;
  const layout: LayoutConfig = {
    // A directory's name may hold what a name may not (review H44-1: an ESC made a file validate refused).
    layoutName: `${fitName(basename(cwd), MAX_NAME_LENGTH - "Layout".length).trim() || "root"}Layout`,
    layoutTabs: Array.from({ length: o.numTabs }, (_, i) => ({
      tabName: `Tab${i + 1}`,
      startDir,
      command: `echo 'Tab${i + 1}: replace this command'`,
    })),
  };
  const file: LayoutsFile = { ...schemaLine([layout]), version: "0.1", layouts: [layout] };
  const text = `${JSON.stringify(file, null, 4)}\n`;
  // Never a file mc itself would refuse to read.
  if (Buffer.byteLength(text) > MAX_LAYOUTS_FILE_BYTES) {
    const each = Buffer.byteLength(text) / o.numTabs;
    throw usage(
      `--num-tabs ${o.numTabs} makes a file over ${MAX_LAYOUTS_FILE_BYTES / 1024 / 1024} MiB, more than mc reads`,
      `at most about ${Math.floor(MAX_LAYOUTS_FILE_BYTES / each)} tabs here`,
    );
  }
  // Never a file mc itself would refuse to read: a directory whose path cannot be a startDir is said.
  const checked = parseLayouts(text);
  if (!checked.ok) {
    const first = checked.issues[0]!;
    throw usage(
      `this directory cannot be a tab's startDir: ${first.message}`,
      "run create-template from another directory and set startDir by hand",
    );
  }
  await checkParentDir(target, JSON.stringify(target));
  // --force replaces it as -o does (a link to nothing is refused, never followed into another directory).
  if (o.force) await writeOutputFile(target, text, "create-template");
  else await writeFile(target, text, { flag: "wx" });
  if (out.json) out.printJson({ written: target });
  else out.out(oneLine(target));
  return 0;
}

/** `sessions schema [NAME]`: the JSON Schema of layouts files, or of one command's `--json` output. */
export async function schemaCommand(name: string | undefined, out: Output): Promise<number> {
  if (name === undefined || name === "layouts") {
    out.printJson(layoutsJsonSchema());
    return 0;
  }
  const { OUTPUT_SCHEMAS, outputJsonSchema } = await import("../output-schemas.js");
  if (!(name in OUTPUT_SCHEMAS))
    throw usage(`no schema "${name}"`, `schemas: layouts, ${Object.keys(OUTPUT_SCHEMAS).join(", ")}`);
  out.printJson(outputJsonSchema(name as keyof typeof OUTPUT_SCHEMAS));
  return 0;
}

/**
 * The layout of `sessions create-from-command -n N -- CMD…`: N tabs, `{idx}` and `{idx_max}` replaced
 * in every argument. One argument is a shell command line; several are an argv, each quoted.
 */
export function layoutFromCommand(
  o: {
    num: number;
    name: string;
    startDir: string;
    maxTabs?: number;
    /** The tabs run the command in PowerShell (Windows Terminal): an argv is quoted for it, not for sh. */
    powershell?: boolean;
  },
  argv: string[],
): LayoutConfig {
  if (argv.length === 0)
    throw usage(
      "give the command after --",
      "sessions create-from-command -n 4 -- python job.py --idx {idx}",
    );
  if (!Number.isInteger(o.num) || o.num < 1) throw usage(`--num ${wholeFrom(1)}`);
  // Planned and shown, each tab costs ~85 KB: 100000 of them ran node out of memory (review H44-2).
  if (o.num > MAX_COMMAND_TABS)
    throw usage(
      `-n ${o.num} is over ${MAX_COMMAND_TABS}, the most tabs create-from-command makes`,
      "split the work: several layouts, or sessions run-all FILE -t N over a file of them",
    );
  const max = o.maxTabs ?? 25;
  if (o.num > max)
    throw usage(
      `-n ${o.num} is over --max-tabs-per-layout ${max}`,
      "raise --max-tabs-per-layout (sessions run-all FILE -t N runs any number of tabs N at a time)",
    );
  const sub = (s: string, i: number) =>
    s.replaceAll("{idx}", String(i)).replaceAll("{idx_max}", String(o.num));
  const layout: LayoutConfig = {
    layoutName: o.name,
    layoutTabs: Array.from({ length: o.num }, (_, i) => ({
      tabName: `tab${i}`,
      startDir: o.startDir,
      command:
        argv.length === 1
          ? sub(argv[0]!, i)
          : o.powershell
            ? // Every argument a literal, none PowerShell syntax (a bare --% ends parsing at a |; a,b is an
              // array; @x splats): review H32-15. `&` runs the quoted program.
              `& ${argv.map((a) => psQuote(sub(a, i))).join(" ")}`
            : argv.map((a) => shQuote(sub(a, i))).join(" "),
    })),
  };
  // Flags get the checks a file gets: the layout they make is validated as if it were written in one,
  // and never written (-o) larger than a layouts file mc reads.
  const json = JSON.stringify({ version: "0.1", layouts: [layout] }, null, 4);
  if (Buffer.byteLength(json) > MAX_LAYOUTS_FILE_BYTES)
    throw usage(
      `-n ${o.num} makes a layouts file over ${MAX_LAYOUTS_FILE_BYTES / 1024 / 1024} MiB, more than mc reads`,
      `at most about ${Math.floor((MAX_LAYOUTS_FILE_BYTES / Buffer.byteLength(json)) * o.num)} tabs of this command`,
    );
  const checked = parseLayouts(json);
  if (!checked.ok) {
    const flag = (path: string) =>
      /\.command$/.test(path) ? "the command" : /\.startDir$/.test(path) ? "--start-dir" : "--name";
    const why = [...new Set(checked.issues.map((i) => `${flag(i.path)}: ${i.message}`))];
    throw usage(why.join("; "));
  }
  // Its tabs come from no file: a start directory that cannot be used is named as the field (H36-4).
  for (const t of layout.layoutTabs) tabOrigins.set(t, "");
  return layout;
}
