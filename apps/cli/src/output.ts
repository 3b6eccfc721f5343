import { formatDuration, type StatusReport, type TabStatus } from "@mc/core";
import pc from "picocolors";

type Colors = ReturnType<typeof pc.createColors>;

/** Where the CLI writes: data to stdout, progress and errors to stderr; colour only on a TTY without NO_COLOR. */
export interface Output {
  json: boolean;
  color: boolean;
  tty: boolean;
  c: Colors;
  out(line: string): void;
  err(line: string): void;
  columns: number;
}

/** Build the output for this process. */
export function makeOutput(json: boolean, env: NodeJS.ProcessEnv = process.env): Output {
  const tty = Boolean(process.stdout.isTTY);
  const color = !json && !("NO_COLOR" in env && env.NO_COLOR !== "") && (tty || Boolean(env.FORCE_COLOR));
  return {
    json,
    color,
    tty,
    c: pc.createColors(color),
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
    columns: process.stdout.columns || 120,
  };
}

/** Print a value as JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** `exited 3`, `killed SIGTERM`, … */
export function stateText(t: TabStatus): string {
  if (t.state === "exited") return `exited ${t.exitCode ?? "?"}`;
  if (t.state === "killed") return `killed ${t.signal ?? ""}`.trim();
  return t.state;
}

function paint(c: Colors, t: TabStatus, s: string): string {
  switch (t.state) {
    case "running":
      return c.cyan(s);
    case "pending":
      return c.dim(s);
    case "exited":
      return t.exitCode === 0 ? c.green(s) : c.red(s);
    case "killed":
      return c.magenta(s);
    default:
      return c.yellow(s);
  }
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, " ⏎ ");

/** A plain text table (no colour codes in the width maths). */
export function table(
  headers: string[],
  rows: string[][],
  opts: { c?: Colors; paintCell?: (row: number, col: number, s: string) => string; maxWidth?: number } = {},
): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => [...(r[i] ?? "")].length)));
  const last = widths.length - 1;
  if (opts.maxWidth) {
    const fixed = widths.slice(0, last).reduce((a, w) => a + w + 2, 0);
    widths[last] = Math.max(10, Math.min(widths[last]!, opts.maxWidth - fixed));
  }
  const fitCell = (s: string, w: number) => {
    const chars = [...s];
    return chars.length > w ? `${chars.slice(0, w - 1).join("")}…` : s + " ".repeat(w - chars.length);
  };
  const head = headers
    .map((h, i) => fitCell(h, widths[i]!))
    .join("  ")
    .trimEnd();
  const lines = [opts.c ? opts.c.bold(head) : head];
  rows.forEach((r, ri) => {
    lines.push(
      r
        .map((cell, ci) => {
          const s = fitCell(cell, widths[ci]!);
          return opts.paintCell ? opts.paintCell(ri, ci, s) : s;
        })
        .join("  ")
        .trimEnd(),
    );
  });
  return lines;
}

/** The status table: session, tab, state, exit code, runtime, pid, command. */
export function statusTable(report: StatusReport, out: Output): string[] {
  const tabs = report.sessions.flatMap((s) => s.tabs.map((t) => ({ s, t })));
  const remote = report.sessions.some((s) => s.machine !== "local");
  const rows = tabs.map(({ s, t }) => [
    ...(remote ? [s.machine] : []),
    s.session,
    t.tabName,
    t.state,
    t.exitCode === undefined ? (t.signal ?? "") : String(t.exitCode),
    formatDuration(t.runtimeMs),
    t.pid === undefined ? "" : String(t.pid),
    oneLine(t.command),
  ]);
  const headers = ["SESSION", "TAB", "STATE", "EXIT", "RUNTIME", "PID", "COMMAND"];
  const stateCol = remote ? 3 : 2;
  const lines = table(remote ? ["HOST", ...headers] : headers, rows, {
    c: out.c,
    maxWidth: out.tty ? out.columns : 200,
    paintCell: (ri, ci, s) => (ci === stateCol ? paint(out.c, tabs[ri]!.t, s) : s),
  });
  const g = report.summary;
  lines.push(
    out.c.dim(
      `${g.totalSessions} session${g.totalSessions === 1 ? "" : "s"}, ${g.totalCommands} tab${g.totalCommands === 1 ? "" : "s"}: ${g.runningCommands} running, ${g.stoppedCommands} finished, ${g.failedCommands} failed`,
    ),
  );
  for (const s of report.sessions) if (s.error) lines.push(out.c.yellow(`${s.session}: ${s.error}`));
  return lines;
}

/** Redraws a block of lines in place on a TTY. */
export class LiveBlock {
  private shown = 0;
  constructor(private readonly write: (s: string) => void) {}
  render(lines: string[]): void {
    const up = this.shown > 0 ? `\x1b[${this.shown}F\x1b[0J` : "";
    this.write(`${up}${lines.join("\n")}\n`);
    this.shown = lines.length;
  }
}

/** Lines describing what changed between two reports (for piped, non-TTY monitoring). */
export function transitions(prev: StatusReport | undefined, next: StatusReport): string[] {
  const key = (machine: string, session: string, index: number) => `${machine}\u0000${session}\u0000${index}`;
  const before = new Map<string, string>();
  for (const s of prev?.sessions ?? [])
    for (const t of s.tabs) before.set(key(s.machine, s.session, t.index), stateText(t));
  const time = new Date(next.at).toISOString().slice(11, 19);
  const lines: string[] = [];
  for (const s of next.sessions) {
    const where = s.machine === "local" ? "" : `${s.machine}: `;
    for (const t of s.tabs) {
      const now = stateText(t);
      if (before.get(key(s.machine, s.session, t.index)) === now) continue;
      const after =
        t.runtimeMs !== undefined && t.state !== "running" ? ` after ${formatDuration(t.runtimeMs)}` : "";
      lines.push(`${time} ${where}${s.session} / ${t.tabName}: ${now}${after}`);
    }
  }
  return lines;
}
