import { inLine, McError } from "./errors.js";
import type { DirAccess } from "./host.js";
import type { MachineRuntime, PlanContext } from "./machine-plan.js";
import { type ResolvedDir, resolveStartDir, variableIn } from "./paths.js";
import type { LayoutConfig, TabConfig } from "./schema.js";

const dirProblem = {
  "not-dir": "is not a directory",
  denied: "cannot be entered (no permission)",
  missing: "does not exist",
} as const;

/**
 * Where a tab stands in its layouts file (`layouts[1].layoutTabs[0]`), set by whoever read the file and
 * carried over to the copies a selection makes (`-t` gathers tabs into one layout): errors about a tab's
 * directories and shell name the field of the file, not of the selection (review H31-10). "" for a tab of
 * no layouts file (another tool's file, a command line): the field alone, with the layout and tab names.
 */
export const tabOrigins = new WeakMap<TabConfig, string>();

/** One directory a tab needs: its own, or a further pane's. */
interface DirCheck {
  r: ResolvedDir;
  where: string;
  /** A variable in it, read literally (`~/code/$PROJECT`): said where the directory is missing. */
  variable?: string | undefined;
}

/** The directories of tab `ti` of layout `li`, resolved: the tab's, then each pane's own (when it has one). */
function tabDirs(
  tab: TabConfig,
  li: number,
  ti: number,
  ctx: Parameters<typeof resolveStartDir>[1],
): DirCheck[] {
  const at = tabOrigins.get(tab) ?? `layouts[${li}].layoutTabs[${ti}]`;
  // An origin of "": a tab of no layouts file (another tool's, a command line's): its field alone.
  const field = (f: string) => (at ? `${at}.${f}` : f);
  const check = (dir: string, where: string): DirCheck => ({
    r: resolveStartDir(dir, ctx),
    where,
    variable: variableIn(dir),
  });
  return [
    check(tab.startDir, field("startDir")),
    ...(tab.panes ?? []).flatMap((p, pi) =>
      p.startDir ? [check(p.startDir, field(`panes[${pi}].startDir`))] : [],
    ),
  ];
}

/** What one tab's directories say: usable (the tab with absolute paths), skipped, or problems. */
function checkTab(
  tab: TabConfig,
  checks: DirCheck[],
  access: Map<string, DirAccess>,
  c: PlanContext,
  say: { problem(s: string): void; skip(path: string): void },
): TabConfig | undefined {
  let usable = true;
  for (const { r, where, variable } of checks) {
    if ("error" in r) {
      say.problem(`${where}: ${r.error}`);
      usable = false;
      continue;
    }
    const a = access.get(r.path) ?? "missing";
    if (a === "ok") continue;
    usable = false;
    // A missing directory named with a variable was likely meant expanded: said, and never created.
    const why =
      a === "missing" && variable
        ? ` (${JSON.stringify(variable)} is not expanded: only a leading ~, $HOME or \${HOME} is; mc does not create it)`
        : "";
    if (a === "missing" && c.missingDirs === "skip") say.skip(r.path);
    else say.problem(`${where}: ${dirProblem[a]}: ${inLine(r.path)}${why}`);
  }
  if (!usable) return undefined;
  const [first, ...rest] = checks.map((x) => ("path" in x.r ? x.r.path : ""));
  let k = 0;
  const panes = tab.panes?.map((p) => (p.startDir ? { ...p, startDir: rest[k++]! } : p));
  return { ...tab, startDir: first!, ...(panes ? { panes } : {}) };
}

/**
 * Every tab's start directory (and every further pane's own), resolved to an absolute path and checked on
 * the machine that will run it before anything starts: each must exist and be enterable. Missing ones are
 * an error (every one named, in tab order), created, or their tabs skipped, as `missingDirs` says.
 */
export async function resolveLayouts(
  m: MachineRuntime,
  c: PlanContext,
): Promise<{ layouts: (LayoutConfig | undefined)[]; warnings: string[]; create: string[] }> {
  const platform = c.info.platform === "win32" ? "win32" : "posix";
  const ctx = { home: c.info.home, base: c.baseDir, platform } as const;
  const checks = m.layouts.map((l, li) => l.layoutTabs.map((t, ti) => tabDirs(t, li, ti, ctx)));
  const dirs = [...new Set(checks.flat(2).flatMap((x) => ("path" in x.r ? [x.r.path] : [])))];
  const [access] = await Promise.all([
    Promise.all(dirs.map(async (d) => [d, await m.host.dirAccess(d)] as const)).then((x) => new Map(x)),
    // On Windows a tab's shell is Windows Terminal's word (cmd, powershell, pwsh) or a path the wt backend
    // checks itself; elsewhere it is the program that reads the tab's command.
    c.info.platform === "win32" || m.backend.name === "wt" ? undefined : checkShells(m),
  ]);
  // Made when the run starts (startMachine), never while planning: a dry run changes nothing.
  // Never one named with a variable (`./$PWD` is not what anyone meant: review H61-9).
  const literal = new Set(
    checks.flat(2).flatMap((x) => ("path" in x.r && x.variable !== undefined ? [x.r.path] : [])),
  );
  const create =
    c.missingDirs === "create" ? dirs.filter((x) => access.get(x) === "missing" && !literal.has(x)) : [];
  for (const d of create) access.set(d, "ok");
  const problems: string[] = [];
  const warnings: string[] = create.map(
    (d) => `will create the missing start directory ${inLine(d)} on ${m.host.id}`,
  );
  const layouts = m.layouts.map((layout, li) => {
    const tabs = layout.layoutTabs.flatMap((tab, ti) => {
      const who = `(layout "${layout.layoutName}", tab "${tab.tabName}")`;
      const ok = checkTab(tab, checks[li]![ti]!, access, c, {
        problem: (s) => problems.push(`${s} ${who}`),
        skip: (path) =>
          warnings.push(
            `skipped tab "${tab.tabName}" of layout "${layout.layoutName}": ${inLine(path)} does not exist on ${m.host.id}`,
          ),
      });
      return ok ? [ok] : [];
    });
    if (tabs.length === 0 && layout.layoutTabs.length > 0 && problems.length === 0) {
      warnings.push(
        `skipped layout "${layout.layoutName}": none of its start directories exist on ${m.host.id}`,
      );
      return undefined;
    }
    return { ...layout, layoutTabs: tabs };
  });
  if (problems.length) throw dirError(m, problems, c.missingDirs);
  return { layouts, warnings, create };
}

function dirError(m: MachineRuntime, problems: string[], policy: PlanContext["missingDirs"]): McError {
  const missingOnly = problems.every((p) => p.includes(dirProblem.missing));
  // Under create, what is left missing is what mc does not make (a variable it does not expand): the
  // hint does not offer the option just given (review H74-8).
  const offer = policy === "create" ? "pass --missing-dirs skip" : "pass --missing-dirs create|skip";
  return new McError(
    "LAYOUT_INVALID",
    `${problems.length === 1 ? "a start directory cannot be used" : `${problems.length} start directories cannot be used`} on ${m.host.id}:\n${problems.join("\n")}`,
    {
      backend: m.backend.name,
      op: "start",
      hint: missingOnly
        ? `create them, fix startDir, or ${offer}; nothing was started`
        : "fix startDir (or the directories' permissions); nothing was started",
      details: problems,
    },
  );
}

/**
 * Every tab's `shell` is a program on the machine that runs it (a path, or a name on PATH), checked before
 * anything starts: otherwise each such tab would start and at once read "exited 127".
 */
async function checkShells(m: MachineRuntime): Promise<void> {
  const uses = new Map<string, string[]>();
  m.layouts.forEach((l, li) => {
    l.layoutTabs.forEach((t, ti) => {
      if (t.shell !== undefined)
        uses.set(t.shell, [
          ...(uses.get(t.shell) ?? []),
          [tabOrigins.get(t) ?? `layouts[${li}].layoutTabs[${ti}]`, "shell"].filter(Boolean).join("."),
        ]);
    });
  });
  if (uses.size === 0) return;
  const found = await Promise.all([...uses.keys()].map(async (sh) => [sh, await m.host.which(sh)] as const));
  const host = m.host.id === "local" ? "this machine" : m.host.id;
  const problems = found.flatMap(([sh, path]) =>
    path ? [] : uses.get(sh)!.map((where) => `${where}: "${sh}" is not a program on ${host}`),
  );
  if (problems.length === 0) return;
  const spaced = found.some(([sh, path]) => !path && /\s/.test(sh));
  throw new McError(
    "LAYOUT_INVALID",
    `${problems.length === 1 ? "a tab's shell cannot be run" : `${problems.length} tabs' shells cannot be run`} on ${host}:\n${problems.join("\n")}`,
    {
      backend: m.backend.name,
      op: "start",
      hint: spaced
        ? "shell is one program (a path, or a name on PATH), not a command line: options go in command; nothing was started"
        : "install it, or give its full path; nothing was started",
      details: problems,
    },
  );
}
