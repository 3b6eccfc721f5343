import { formatDuration, type SessionStatus, type StatusReport, type TabStatus } from "@mc/core";

const COMMAND_WIDTH = 50;

function cut(s: string, n: number): string {
  const one = s.replace(/\s+/g, " ").trim();
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
  const head = `${s.session} [${s.backend}@${s.host}] ${s.exists ? "open" : "gone"}, ${
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
  return [head, ...(s.error ? [`  ! ${s.error}`] : []), ...table(rows).map((l) => `  ${l}`)].join("\n");
}

/** Every session's report and the global summary (machineconfig `status_reporting`, global). */
export function formatStatusReport(r: StatusReport): string {
  const g = r.summary;
  const total = `${g.totalSessions} session(s), ${g.healthySessions} healthy; ${g.runningCommands}/${g.totalCommands} command(s) running, ${g.stoppedCommands} stopped, ${g.failedCommands} failed${g.allFinished ? "; all finished" : ""}`;
  if (r.sessions.length === 0) return `no sessions\n${total}`;
  return `${r.sessions.map(formatSessionReport).join("\n\n")}\n\n${total}`;
}
