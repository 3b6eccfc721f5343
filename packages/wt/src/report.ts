import { formatDuration, type SessionStatus, type StatusReport, type TabStatus } from "@mc/core";

const COMMAND_WIDTH = 50;

const NAMED: Readonly<Record<string, string>> = { "\t": "\\t", "\n": "\\n", "\r": "\\r", "\u001b": "\\e" };

/**
 * A value from a layout or a tool (a command, a tab name, an error) as the report prints it: every C0
 * and C1 control and DEL written visibly (`\e`, `\x07`, `\x9b`), so a layout's command cannot retitle
 * or clear the terminal that prints the status, or set its clipboard (OSC 52). The CLI has its own,
 * wider display function (apps/cli display.ts); this package's text is printed by library users
 * (`console.log(await m.statusReportText())`). (review H43-3)
 */
function visible(s: string): string {
  return s.replace(
    /[\u0000-\u001f\u007f-\u009f]/g,
    (c) => NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

function cut(s: string, n: number): string {
  const one = visible(s).replace(/\s+/g, " ").trim();
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}

function stateText(t: TabStatus): string {
  if (t.state === "exited") return `exited ${t.exitCode ?? "?"}`;
  if (t.state === "killed") return `killed ${t.signal ?? ""}`.trim();
  return t.state;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) =>
    r
      .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join("  ")
      .trimEnd(),
  );
}

/** One session's report (machineconfig `status_reporting`, per session): a line, then a row per tab. */
export function formatSessionReport(s: SessionStatus): string {
  const c = s.summary;
  const head = `${visible(s.session)} [${visible(s.backend)}@${visible(s.host)}] ${s.exists ? "open" : "gone"}, ${
    c.sessionHealthy ? "healthy" : "unhealthy"
  }: ${c.runningCommands}/${c.totalCommands} running, ${c.stoppedCommands} stopped, ${c.failedCommands} failed`;
  const rows = [
    ["TAB", "STATE", "PID", "PROCS", "RUNTIME", "COMMAND"],
    ...s.tabs.map((t) => [
      // A tab with several panes has a row per pane: `tab/pane` (as core's status table).
      t.pane === undefined ? cut(t.tabName, 24) : `${cut(t.tabName, 21)}/${t.pane}`,
      stateText(t),
      t.pid === undefined ? "-" : String(t.pid),
      String(t.processes.length),
      formatDuration(t.runtimeMs),
      cut(t.command, COMMAND_WIDTH),
    ]),
  ];
  return [head, ...(s.error ? [`  ! ${visible(s.error)}`] : []), ...table(rows).map((l) => `  ${l}`)].join(
    "\n",
  );
}

/** Every session's report and the global summary (machineconfig `status_reporting`, global). */
export function formatStatusReport(r: StatusReport): string {
  const g = r.summary;
  const total = `${g.totalSessions} session(s), ${g.healthySessions} healthy; ${g.runningCommands}/${g.totalCommands} command(s) running, ${g.stoppedCommands} stopped, ${g.failedCommands} failed${g.allFinished ? "; all finished" : ""}`;
  if (r.sessions.length === 0) return `no sessions\n${total}`;
  return `${r.sessions.map(formatSessionReport).join("\n\n")}\n\n${total}`;
}
