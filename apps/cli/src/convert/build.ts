import type { Flat, NamedLayout } from "@mc/core";
import {
  checkName,
  formatPath,
  type LayoutConfig,
  type LayoutsFile,
  MAX_PANES,
  type PaneConfig,
  parseLayouts,
  schemaLine,
  type TabConfig,
} from "@mc/core";
import { INTERACTIVE_SHELL, plainWords } from "./shell.js";
import { convertError, type Notes } from "./types.js";

/** A pane as an importer reads it, before it becomes part of an mc tab. */
export interface SourcePane {
  /** The command line; undefined for a pane that is only an interactive shell. */
  command?: string | undefined;
  startDir: string;
  /** Every variable the pane gets beyond the layout's `env`. */
  env?: Readonly<Record<string, string>> | undefined;
  /** The program that interprets the command (mc's tab `shell`). */
  shell?: string | undefined;
  focus?: boolean | undefined;
}

/** A window or tab as an importer reads it. */
export interface SourceTab {
  name: string;
  /** Where it is in the source, for warnings and errors. */
  at: string;
  panes: Flat<SourcePane>[];
  layout?: NamedLayout | undefined;
}

/** A name as mc takes it, or an error that says where the source has it. */
export function mcName(value: string, at: string, what: string): string {
  try {
    return checkName(value, what);
  } catch (e) {
    throw convertError("import", `${at}: ${(e as Error).message.replace(/^\[mc\][^:]*: /, "")}`);
  }
}

const sameEnv = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

/**
 * One mc tab: the first pane is the tab itself, the others its `panes`. A pane's variables are written
 * as what differs from the tab's; one the tab has and the pane's source did not give reaches the pane
 * in mc anyway (mc adds a pane's variables to the tab's), which is a warning.
 */
/**
 * Lines that change the shell they are typed into (its directory, variables, a virtualenv) or move to
 * another machine: tmuxp and tmuxinator type them into the pane's shell, so they apply at its prompt.
 */
const SHELL_SETUP =
  /^\s*(cd|pushd|source|\.|export|unset|alias|ssh|mosh|conda activate|workon|nvm use|rbenv shell|pyenv shell|direnv)(\s|$)/m;

/**
 * `typed`: the source tool types each pane's commands into its shell (tmuxp, tmuxinator): a line that sets
 * that shell up reaches only the tab's command in mc (the shell left after it starts afresh), said once a tab.
 */
export function toTab(t: SourceTab, notes: Notes, o: { typed?: string } = {}): TabConfig {
  if (o.typed && t.panes.some((f) => f.pane.command !== undefined && SHELL_SETUP.test(f.pane.command)))
    notes.add(
      t.at,
      `its cd, source, export or ssh lines apply to the tab's command only: ${o.typed} types them into the pane's shell, mc runs them with the command, and the shell left after it starts afresh in startDir`,
    );
  if (t.panes.length > MAX_PANES)
    throw convertError(
      "import",
      `${t.at}: ${t.panes.length} panes; an mc tab has at most ${MAX_PANES}`,
      "split the window into several before importing it",
    );
  const [first, ...rest] = t.panes;
  if (!first) throw convertError("import", `${t.at}: no panes`);
  const p0 = first.pane;
  const tab: TabConfig = {
    tabName: mcName(t.name, t.at, "tabName"),
    startDir: p0.startDir,
    command: p0.command ?? INTERACTIVE_SHELL,
  };
  const tabEnv = p0.env ?? {};
  if (Object.keys(tabEnv).length) tab.env = { ...tabEnv };
  if (p0.shell) tab.shell = p0.shell;
  const panes = rest.map((f, i) => {
    const p = f.pane;
    const pane: PaneConfig = {};
    if (p.command !== undefined) pane.command = p.command;
    if (p.startDir !== tab.startDir) pane.startDir = p.startDir;
    const own = p.env ?? {};
    if (!sameEnv(own, tabEnv)) {
      const diff = Object.fromEntries(Object.entries(own).filter(([k, v]) => tabEnv[k] !== v));
      if (Object.keys(diff).length) pane.env = diff;
      const leaked = Object.keys(tabEnv).filter((k) => !(k in own));
      if (leaked.length)
        notes.add(
          `${t.at} pane ${i + 2}`,
          `gets ${leaked.join(", ")} from the tab in mc, which its source did not give it (mc adds a pane's variables to the tab's)`,
        );
    }
    // A pane of plain words runs alike in any shell: only a pane whose own shell mattered is said.
    if (p.shell !== tab.shell && p.command !== undefined && !(p.shell === undefined && plainWords(p.command)))
      notes.add(
        `${t.at} pane ${i + 2}`,
        `its program ${JSON.stringify(p.shell ?? "(the default shell)")} is not kept: mc runs every pane of a tab with the tab's shell (${JSON.stringify(tab.shell ?? "$SHELL")})`,
      );
    if (f.split) pane.split = f.split;
    if (f.size !== undefined) pane.size = f.size;
    if (p.focus) pane.focus = true;
    return pane;
  });
  if (panes.length) tab.panes = panes;
  if (t.layout && t.panes.length > 1) tab.layout = t.layout;
  return tab;
}

/**
 * The layouts file for these layouts, checked by core's own validation before anything is written: a
 * problem is reported at its place in the source (`origins[layout][tab]`).
 */
export function layoutsFile(layouts: LayoutConfig[], origins: string[][], source: string): LayoutsFile {
  const file = { ...schemaLine(layouts), version: "0.1", layouts };
  const r = parseLayouts(JSON.stringify(file));
  if (r.ok) return r.value;
  const where = (pointer: (string | number)[]) => {
    const [, li, , ti, ...rest] = pointer;
    const origin = typeof li === "number" && typeof ti === "number" ? origins[li]?.[ti] : undefined;
    return origin ? `${origin}${rest.length ? ` (${formatPath(rest)})` : ""}` : formatPath(pointer);
  };
  throw convertError(
    "import",
    `${source} cannot become an mc layouts file:\n${r.issues.map((i) => `${where(i.pointer)}: ${i.message}`).join("\n")}`,
  );
}
