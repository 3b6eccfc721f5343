/** One pane from {@link PANE_FORMAT} output. */
export interface PaneRow {
  session: string;
  /** The name mc gave the session (tmux's own name can differ: `.`/`:` become `_`). */
  mcName: string;
  windowId: string;
  windowName: string;
  paneId: string;
  pid: number;
  dead: boolean;
  deadStatus?: number;
  /** The run id mc stamped on the session (empty for sessions mc did not build). */
  runId: string;
  /** tmux's id of the session (`$3`). */
  sessionId: string;
  /** Exit status the tab wrapper stamped on the pane (`@mc_exit`), once its command ended. */
  exit?: number;
  startCommand: string;
}

/** Parse `list-panes -a -F PANE_FORMAT` output. Lines that do not have every field are skipped. */
export function parsePanes(stdout: string): PaneRow[] {
  const rows: PaneRow[] = [];
  for (const line of stdout.split("\n")) {
    const f = line.split("\t");
    if (f.length < 12) continue;
    // pane_start_command is last and may itself hold tabs: join the rest back.
    const [session, mcName, windowId, windowName, paneId, pid, dead, deadStatus, runId, sessionId, exit] = f;
    rows.push({
      session: session!,
      mcName: mcName!,
      windowId: windowId!,
      windowName: windowName!,
      paneId: paneId!,
      pid: Number(pid),
      dead: dead === "1",
      ...(deadStatus ? { deadStatus: Number(deadStatus) } : {}),
      runId: runId!,
      sessionId: sessionId!,
      ...(exit ? { exit: Number(exit) } : {}),
      startCommand: f.slice(11).join("\t"),
    });
  }
  return rows;
}

/** One session from `list-sessions -F SESSION_FORMAT`: the display name is mc's name when set. */
export function parseSessions(stdout: string): { key: string; name: string; id: string; runId: string }[] {
  return stdout
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => {
      const [key, mcName, id, runId] = l.split("\t");
      return { key: key!, name: mcName || key!, id: id ?? "", runId: runId ?? "" };
    });
}

/**
 * The tab index of a pane started by mc: its start command is `exec /bin/sh <tabs.sh> <index>`, shown
 * by tmux 3.3a wrapped in double quotes with `\"` escapes. Returns undefined for panes mc did not start
 * (a pane the user split off, another tool's window) or whose script is not `tabScript`.
 */
export function paneTabIndex(startCommand: string, tabScript: string): number | undefined {
  let s = startCommand;
  if (s.startsWith('"') && s.endsWith('"')) s = s.slice(1, -1).replace(/\\(.)/g, "$1");
  const m = /^exec \/bin\/sh (.+) (\d+)$/.exec(s);
  if (!m) return undefined;
  const script = m[1]!.startsWith("'") ? m[1]!.slice(1, -1).replace(/'\\''/g, "'") : m[1]!;
  return script === tabScript ? Number(m[2]) : undefined;
}
