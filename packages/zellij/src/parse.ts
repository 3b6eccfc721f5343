import type { PaneEvidence } from "@mc/core";

/** One line of `zellij list-sessions --no-formatting`. */
export interface SessionRow {
  name: string;
  /** `(EXITED - attach to resurrect)`: a dead session kept for resurrection; it still blocks its name. */
  exited: boolean;
  /** `(current)`: the session this command runs in. */
  current: boolean;
  /** The `[Created … ago]` text, as zellij printed it (humantime, e.g. `1h 2m 3s`). */
  created: string;
}

/** Remove ANSI escape sequences (zellij colours list-sessions output unless `--no-formatting`). */
export function stripAnsi(s: string): string {
  return s.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, "");
}

// zellij-utils/src/sessions.rs `print_sessions` (same in v0.40.0 … v0.45.0):
// `println!("{} {} {}", session_name, "[Created {humantime} ago]", suffix)`, where suffix is "",
// "(current)" or "(EXITED - attach to resurrect)". The greedy name group takes the last `[Created`, so a
// name holding that text still parses. A name with a newline (mc never makes one; zellij takes it from
// the user) is printed as it is, its lines read as rows: see {@link joinSplitNames}.
const ROW = /^(.*) \[Created ([0-9a-z ]+) ago\] ?(\(current\)|\(EXITED - attach to resurrect\))?\s*$/;

/**
 * Parse `zellij list-sessions --no-formatting`, names exactly as printed: a name may itself hold an
 * escape sequence (`\e[1mzz` is not `zz`; review H53-4: stripping took a foreign session for mc's `zz`).
 * `coloured`: the listing was asked without `--no-formatting`, so its colours are stripped first (names
 * are then only as good as that). Lines that do not match the format (a `--short` listing) are bare names.
 */
export function parseSessionList(stdout: string, o: { coloured?: boolean } = {}): SessionRow[] {
  const rows: SessionRow[] = [];
  for (const raw of (o.coloured ? stripAnsi(stdout) : stdout).split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "") continue;
    const m = ROW.exec(line);
    if (m) {
      rows.push({
        name: m[1]!,
        exited: m[3] === "(EXITED - attach to resurrect)",
        current: m[3] === "(current)",
        created: m[2]!,
      });
    } else {
      rows.push({ name: line, exited: false, current: false, created: "" });
    }
  }
  return rows;
}

/**
 * `list-sessions` rows with each name in `names` that holds a line break made one row again: zellij prints
 * it as it is (0.45.0: `nl⏎x [Created 1s ago]`), so its first lines read as bare names and its last as a row
 * of its own, three sessions where one exists (review H64-3). `names` are exact: the socket directory's.
 */
export function joinSplitNames(rows: readonly SessionRow[], names: readonly string[]): SessionRow[] {
  const out = [...rows];
  for (const name of names) {
    // As parseSessionList read them: blank lines dropped, a trailing CR cut.
    const lines = name
      .split("\n")
      .map((l) => l.replace(/\r$/, ""))
      .filter((l) => l.trim() !== "");
    if (!name.includes("\n") || lines.length < 2) continue;
    const last = lines.length - 1;
    const at = out.findIndex(
      (_, k) =>
        k + last < out.length &&
        lines.every((l, j) => out[k + j]!.name === l && (j === last || out[k + j]!.created === "")),
    );
    if (at >= 0) out.splice(at, lines.length, { ...out[at + last]!, name });
  }
  return out;
}

/** One pane of `zellij action list-panes --json` (zellij-utils/src/data.rs `PaneListEntry`, 0.44.0+). */
export interface PaneRow {
  id: number;
  isPlugin: boolean;
  /** The pane's program has ended (zellij keeps it on screen when it is held). */
  exited: boolean;
  /** Exit status when it ended normally; zellij has none for a death by signal. */
  exitStatus?: number;
  held: boolean;
  tabPosition: number;
  /** The tab's stable id (`close-tab-by-id`). */
  tabId: number;
  tabName: string;
  /** The pane's title: its name when it has one (mc names its panes, see generate.ts `paneName`). */
  title: string;
  /** `command arg1 arg2…` joined with spaces (command.rs `impl Display for RunCommand`). */
  terminalCommand?: string;
}

/** Parse the JSON array printed by `zellij action list-panes --json`; throws on anything else. */
export function parsePaneList(stdout: string): PaneRow[] {
  const data = JSON.parse(stdout) as unknown;
  if (!Array.isArray(data)) throw new Error("list-panes --json did not print an array");
  return data.map((e: Record<string, unknown>): PaneRow => {
    const row: PaneRow = {
      id: Number(e.id),
      isPlugin: e.is_plugin === true,
      exited: e.exited === true,
      held: e.is_held === true,
      tabPosition: Number(e.tab_position ?? -1),
      tabId: Number(e.tab_id ?? -1),
      tabName: String(e.tab_name ?? ""),
      title: String(e.title ?? ""),
    };
    if (typeof e.exit_status === "number") row.exitStatus = e.exit_status;
    if (typeof e.terminal_command === "string") row.terminalCommand = e.terminal_command;
    return row;
  });
}

/**
 * Which tab of a session a pane runs: its command line ends with `<tab script> <index>` (both pane forms
 * of generate.ts `paneArgv`). Undefined for other panes (ones the user opened).
 */
export function paneTabIndex(terminalCommand: string | undefined, tabScript: string): number | undefined {
  if (!terminalCommand) return undefined;
  const marker = ` ${tabScript} `;
  const at = terminalCommand.lastIndexOf(marker);
  if (at < 0) return undefined;
  const rest = terminalCommand.slice(at + marker.length);
  return /^\d+$/.test(rest) ? Number(rest) : undefined;
}

// generate.ts `paneName`, with the `[exit N]` the tab wrapper adds once the command ended (zellijOnExit).
const PANE_MARK = / \(mc run ([0-9A-Za-z-]+)\)(?: \[exit (\d+)\])?$/;

/**
 * The run id in the name mc gives each pane (generate.ts `paneName`: `<tab name> (mc run <id>)`). zellij
 * keeps a pane's name as its title (terminal_pane.rs `current_title`), whatever the program in it does to
 * the terminal title, and writes it into the resurrection layout (`pane name=…`).
 */
export function runIdOfPaneName(title: string): string | undefined {
  return PANE_MARK.exec(title)?.[1];
}

/** The exit status the tab wrapper stamped on its pane's name (`… [exit 3]`) once the command ended. */
export function exitOfPaneName(title: string): number | undefined {
  const code = PANE_MARK.exec(title)?.[2];
  return code === undefined ? undefined : Number(code);
}

/**
 * The run ids that mc pane names carry in a layout zellij wrote (`dump-layout`, or a resurrection file
 * `session-layout.kdl`): `pane name="… (mc run <id>)"`. zellij writes the command of a pane only while it
 * runs a program other than the default shell (session_layout_metadata.rs `update_terminal_commands`), so
 * the name is the one mark that survives a tab whose command ended.
 */
export function runIdsInLayout(kdl: string): Set<string> {
  const ids = new Set<string>();
  for (const m of kdl.matchAll(/\bname="((?:[^"\\]|\\.)*)"/g)) {
    const id = PANE_MARK.exec(m[1]!)?.[1];
    if (id) ids.add(id);
  }
  return ids;
}

/**
 * The run id of a pane whose command runs an mc tab wrapper kept under `stateDir`
 * (`… <stateDir>/runs/<run id>/[m-<machine>/]s<i>/tabs.sh <tab>`, core's `runDirOf`).
 */
export function runIdOfCommand(terminalCommand: string | undefined, stateDir: string): string | undefined {
  if (!terminalCommand) return undefined;
  const marker = ` ${stateDir.replace(/\/+$/, "")}/runs/`;
  const at = terminalCommand.lastIndexOf(marker);
  if (at < 0) return undefined;
  const m = /^([0-9A-Za-z-]+)\/(?:m-[\w.-]+\/)?s\d+\/tabs\.sh \d+$/.exec(
    terminalCommand.slice(at + marker.length),
  );
  return m?.[1];
}

/**
 * A tab's `ref` in status: zellij's pane and tab ids only mean something inside their session, so the ref
 * carries all three (`zellij:<tab id>:<pane id>:<session>`; the name is last, so it may hold `:`).
 */
export function tabRef(session: string, p: Pick<PaneRow, "id" | "tabId">): string {
  return `zellij:${p.tabId}:${p.id}:${session}`;
}

/** The parts of a {@link tabRef}; undefined for anything else. */
export function parseTabRef(ref: string): { session: string; tabId: number; paneId: number } | undefined {
  const m = /^zellij:(\d+):(\d+):([\s\S]+)$/.exec(ref);
  return m ? { tabId: Number(m[1]), paneId: Number(m[2]), session: m[3]! } : undefined;
}

/**
 * What the panes of one session say about its tabs: the pane running tab `i` of the wrapper `tabScript`
 * is tab `i`'s pane. A held pane that has not exited is suspended (resurrected, or a tab held back for
 * later): its program is not running. An exited pane has zellij's exit status, none for a death by signal;
 * a live one may carry the status the wrapper stamped on its name once the command ended.
 */
export function paneEvidence(
  session: string,
  panes: readonly PaneRow[],
  tabScript: string,
): Map<number, PaneEvidence> {
  const byIndex = new Map<number, PaneEvidence>();
  for (const p of panes) {
    if (p.isPlugin) continue;
    const i = paneTabIndex(p.terminalCommand, tabScript);
    if (i === undefined || byIndex.has(i)) continue;
    const status = p.exited ? p.exitStatus : exitOfPaneName(p.title);
    byIndex.set(i, {
      ref: tabRef(session, p),
      alive: !p.exited && !p.held,
      ...(status !== undefined ? { exitStatus: status } : {}),
      // zellij has no exit status for a death by signal (status.code() is None).
      ...(p.exited && p.exitStatus === undefined ? { killedBy: "" } : {}),
    });
  }
  return byIndex;
}

/** The panes that run the wrapper `tabScript` (a session's own panes, whatever the session is called). */
export function ownPanes(panes: readonly PaneRow[], tabScript: string): PaneRow[] {
  return panes.filter((p) => !p.isPlugin && paneTabIndex(p.terminalCommand, tabScript) !== undefined);
}

/**
 * What is left of a session mc started once every one of its command panes closed (`--exit close`):
 * zellij 0.45 keeps a tab open while a plugin pane is in it (the `zellij:link` plugin it loads, the tab
 * bar), so the session stays with plugin panes only. No terminal pane means no user work in it; its tabs
 * must be ones the managed session has.
 */
export function isRemains(panes: readonly PaneRow[], tabNames: readonly string[]): boolean {
  return panes.every((p) => p.isPlugin && tabNames.includes(p.tabName));
}
