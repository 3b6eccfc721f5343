import { formatDuration, type SessionStatus, type StatusReport, type TabStatus } from "@mc/core";
import {
  type Colors,
  cells,
  colors,
  display,
  fitCells,
  fitCellsStart,
  isDefaultSocket,
  jsonText,
  pad,
  render,
  sessionsCommand,
  unstyled,
} from "./display.js";

export { display } from "./display.js";

/**
 * Where the CLI writes. Humans get `out` (data, stdout) and `err` (progress and errors, stderr): every
 * string passes {@link render}, so nothing from a file or a tool reaches the terminal raw. Programs get
 * `json` (one document) and `jsonLine` (NDJSON), and `data` for text meant for files (completion
 * scripts), all with their exact bytes. Colour only where {@link colorEnabled} says so.
 */
export interface Output {
  json: boolean;
  color: boolean;
  tty: boolean;
  c: Colors;
  out(line: string): void;
  err(line: string): void;
  /** Human text as it comes (no newline added), displayed: commander's help and usage messages. */
  outText(text: string): void;
  errText(text: string): void;
  /** One JSON document on stdout. */
  printJson(value: unknown): void;
  /** One JSON value on one line (NDJSON), for streams. */
  jsonLine(value: unknown): void;
  /** One JSON value on one line on stderr (errors under --json). */
  errJson(value: unknown): void;
  /** Exact text on stdout (a script for a file). */
  data(text: string): void;
  /** A block of lines redrawn in place (TTY only). */
  live(): LiveBlock;
  /**
   * Resolves once stdout has taken what was written (at once when it has room): a long output awaits it
   * now and then, so it is held in a pipe's buffer, not in memory (a 336 MB `logs` to `| less` ran out of
   * heap), and a reader that went (`| head`) ends the writer at its next write.
   */
  drained(): Promise<void>;
  columns: number;
}

/**
 * Colour by the published conventions: FORCE_COLOR=0 (or false) turns it off and any other FORCE_COLOR
 * turns it on (force-color.org); otherwise a non-empty NO_COLOR turns it off (no-color.org); otherwise
 * colour only on a terminal. Never in JSON.
 */
export function colorEnabled(json: boolean, tty: boolean, env: NodeJS.ProcessEnv): boolean {
  if (json) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !/^(0|false)$/i.test(force);
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  return tty;
}

/** The streams an Output writes to (the process's, or a test's). */
export interface Streams {
  stdout: {
    write(s: string): unknown;
    isTTY?: boolean;
    columns?: number;
    rows?: number;
    writableNeedDrain?: boolean;
    once?(event: "drain" | "close", f: () => void): unknown;
    off?(event: "drain" | "close", f: () => void): unknown;
  };
  stderr: { write(s: string): unknown };
}

let keepWorking = false;

/**
 * Output that cannot be written (a file on a full disk throws at once; a pipe or terminal errors later,
 * bin.ts) does not stop a command that owns work (`run`, `rerun`, `kill`): it carries on without it
 * (review H63-1: `run -k >/dev/full` crashed after two of six tabs, the kill never done). Another command
 * ends with exit 1: what it was asked for could not be said.
 */
export function keepWorkingWhenOutputFails(on: boolean): void {
  keepWorking = on;
}

function writeTo(stream: { write(s: string): unknown }, text: string): void {
  try {
    stream.write(text);
  } catch {
    if (keepWorking) return;
    process.exit(1);
  }
}

/** Build the output for this process. */
export function makeOutput(
  json: boolean,
  env: NodeJS.ProcessEnv = process.env,
  streams: Streams = { stdout: process.stdout, stderr: process.stderr },
): Output {
  const tty = Boolean(streams.stdout.isTTY);
  const color = colorEnabled(json, tty, env);
  const columns = streams.stdout.columns || 120;
  return {
    json,
    color,
    tty,
    c: colors,
    out: (l) => writeTo(streams.stdout, `${render(l, color)}\n`),
    err: (l) => writeTo(streams.stderr, `${render(l, color)}\n`),
    outText: (t) => writeTo(streams.stdout, render(t, color)),
    errText: (t) => writeTo(streams.stderr, render(t, color)),
    printJson: (v) => writeTo(streams.stdout, `${jsonText(v, 2)}\n`),
    jsonLine: (v) => writeTo(streams.stdout, `${jsonText(v)}\n`),
    errJson: (v) => writeTo(streams.stderr, `${jsonText(v)}\n`),
    data: (t) => writeTo(streams.stdout, t),
    live: () =>
      new LiveBlock(
        (s) => writeTo(streams.stdout, s),
        () => ({ columns: streams.stdout.columns || columns, rows: streams.stdout.rows || 50 }),
        color,
      ),
    drained: () => {
      const s = streams.stdout;
      if (!s.writableNeedDrain || !s.once) return Promise.resolve();
      // Both listeners go once either fires (one left behind per wait added up: MaxListenersExceeded).
      return new Promise<void>((resolve) => {
        const done = () => {
          s.off?.("drain", done);
          s.off?.("close", done);
          resolve();
        };
        s.once!("drain", done);
        s.once!("close", done);
      });
    },
    columns,
  };
}

/** A status row's tab: its name, and `name/1` for a further pane of a tab that has several. */
export function tabLabel(t: TabStatus): string {
  return t.pane === undefined ? t.tabName : `${t.tabName}/${t.pane}`;
}

/** `exited 3`, `killed SIGTERM`, `not started`, … */
export function stateText(t: TabStatus): string {
  if (t.state === "exited") return `exited ${t.exitCode ?? "?"}`;
  if (t.state === "killed") return `killed ${t.signal ?? ""}`.trim();
  if (t.state === "not-started") return "not started";
  return t.state;
}

function paint(c: Colors, t: TabStatus, s: string): string {
  switch (t.state) {
    case "running":
      return c.cyan(s);
    case "pending":
    case "not-started":
    case "abandoned":
    case "skipped":
      return c.dim(s);
    case "exited":
      return t.exitCode === 0 ? c.green(s) : c.red(s);
    case "killed":
      return c.magenta(s);
    default:
      return c.yellow(s);
  }
}

/** A row that may be on a tmux server of its own (`ls`, `status`). */
type Located = { socket?: string | undefined };

/**
 * The SOCKET column of `ls` and `status`, or undefined when every row is on the default tmux server: two
 * sessions of one name on two servers are told apart by it. The default server's cell reads `default`
 * (cells pass through display(): a path with control characters stays visible).
 */
export function socketColumn(rows: readonly Located[]): ((row: Located) => string) | undefined {
  if (!rows.some((r) => r.socket !== undefined && !isDefaultSocket(r.socket))) return undefined;
  return (r) => (r.socket === undefined ? "" : isDefaultSocket(r.socket) ? "default" : r.socket);
}

/**
 * How a line names the tmux server of a session, by {@link socketColumn}'s rule: nothing for tmux's
 * default server (or none known), else ` (tmux socket PATH)`. Five `killed rb on h2` lines for five
 * servers on h2 are told apart by it (review H53-2).
 */
export function socketNote(socket: string | undefined): string {
  return socket === undefined || isDefaultSocket(socket) ? "" : ` (tmux socket ${socket})`;
}

/**
 * A plain text table. Cells are displayed (one line each, controls made visible) before they are
 * measured, widths are terminal cells, and the widest columns are cut to fit `maxWidth`.
 */
export function table(
  allHeaders: string[],
  allRows: string[][],
  opts: {
    c?: Colors;
    paintCell?: (row: number, col: number, s: string) => string;
    maxWidth?: number;
    /** Columns never cut (what a user copies: a run id). */
    keep?: number[];
    /** Columns cut at their start (paths: their end tells them apart). */
    cutStart?: number[];
    /** Columns left out, when the table is too wide, if every row says the same in them. */
    droppable?: number[];
  } = {},
): string[] {
  const widthOf = (hs: string[], rs: string[][]) =>
    hs.map((h, i) => Math.max(cells(h), ...rs.map((r) => cells(r[i] ?? ""))));
  let shown = allRows.map((r) => r.map((cell) => display(cell, { oneLine: true })));
  const total = (ws: number[]) => ws.reduce((a, w) => a + w, 0) + 2 * (ws.length - 1);
  // Which of the given columns are shown (paintCell, keep and cutStart speak of the given ones).
  let cols = allHeaders.map((_, i) => i);
  if (opts.maxWidth && total(widthOf(allHeaders, shown)) > opts.maxWidth && opts.droppable?.length) {
    const uniform = (i: number) => shown.every((r) => r[i] === shown[0]?.[i]);
    cols = cols.filter((i) => !(opts.droppable!.includes(i) && shown.length > 0 && uniform(i)));
  }
  const headers = cols.map((i) => allHeaders[i]!);
  shown = shown.map((r) => cols.map((i) => r[i] ?? ""));
  const widths = widthOf(headers, shown);
  if (opts.maxWidth)
    fitWidths(
      widths,
      headers,
      opts.maxWidth,
      cols.map((i) => opts.keep?.includes(i) ?? false),
    );
  const cell = (s: string, w: number, ci: number) =>
    pad(opts.cutStart?.includes(cols[ci]!) ? fitCellsStart(s, w) : fitCells(s, w), w);
  const head = headers
    .map((h, i) => pad(fitCells(h, widths[i]!), widths[i]!))
    .join("  ")
    .trimEnd();
  const lines = [opts.c ? opts.c.bold(head) : head];
  shown.forEach((r, ri) => {
    lines.push(
      r
        .map((text, ci) => {
          const s = cell(text, widths[ci]!, ci);
          return opts.paintCell ? opts.paintCell(ri, cols[ci]!, s) : s;
        })
        .join("  ")
        .trimEnd(),
    );
  });
  return lines;
}

/**
 * Narrow the widest columns (the last first, on a tie) until the row fits `maxWidth` cells, none below its
 * header or 8 cells (10 for the last): one long name must not make every row wrap.
 */
function fitWidths(widths: number[], headers: string[], maxWidth: number, keep: boolean[] = []): void {
  const last = widths.length - 1;
  const min = widths.map((w, i) =>
    keep[i] ? w : Math.min(w, Math.max(cells(headers[i] ?? ""), i === last ? 10 : 8)),
  );
  let over = widths.reduce((a, w) => a + w, 0) + 2 * last - maxWidth;
  while (over > 0) {
    let k = -1;
    for (let i = last; i >= 0; i--) if (widths[i]! > min[i]! && (k < 0 || widths[i]! > widths[k]!)) k = i;
    if (k < 0) return;
    const next = Math.max(min[k]!, ...widths.map((w, i) => (i === k ? 0 : w)));
    const cut = Math.min(over, Math.max(1, widths[k]! - next));
    widths[k] = widths[k]! - cut;
    over -= cut;
  }
}

/** The status table: session, tab, state, exit code, runtime, pid, command (and the machine, when remote). */
/**
 * The kill of one session, to be pasted: its machine and tmux server named (a session of that name elsewhere
 * is not the one meant: review H58-1, the orphan hint killed a healthy session of the same name).
 */
function killCommand(s: SessionStatus & Located): string {
  return sessionsCommand("kill", [{ name: s.session, machine: s.machine, socket: s.socket }]);
}

export function statusTable(
  report: Omit<StatusReport, "sessions"> & { sessions: (SessionStatus & Located)[] },
  out: Pick<Output, "c" | "tty" | "columns">,
): string[] {
  const tabs = report.sessions.flatMap((s) => s.tabs.map((t) => ({ s, t })));
  const remote = report.sessions.some((s) => s.machine !== "local");
  const socket = socketColumn(report.sessions);
  const rows = tabs.map(({ s, t }) => [
    ...(remote ? [s.machine] : []),
    s.session,
    ...(socket ? [socket(s)] : []),
    tabLabel(t),
    t.state,
    // A skipped tab's 125 is mc's mark (its command never ran), not an exit status: the STATE says it. A
    // killed tab shows its signal, however it is known (review H50-6: `killed 137` beside `killed SIGHUP`).
    t.exitCode === undefined || t.state === "skipped" || (t.state === "killed" && t.signal)
      ? (t.signal ?? "")
      : String(t.exitCode),
    formatDuration(t.runtimeMs),
    t.pid === undefined ? "" : String(t.pid),
    t.command,
  ]);
  const headers = [
    "SESSION",
    ...(socket ? ["SOCKET"] : []),
    "TAB",
    "STATE",
    "EXIT",
    "RUNTIME",
    "PID",
    "COMMAND",
  ];
  const stateCol = (remote ? 3 : 2) + (socket ? 1 : 0);
  const lines = table(remote ? ["HOST", ...headers] : headers, rows, {
    c: out.c,
    maxWidth: out.tty ? out.columns : 200,
    // A socket path loses its start, not the end that tells it apart (as in ls).
    cutStart: socket ? [remote ? 2 : 1] : [],
    paintCell: (ri, ci, s) => (ci === stateCol ? paint(out.c, tabs[ri]!.t, s) : s),
  });
  const g = report.summary;
  lines.push(
    out.c.dim(
      `${g.totalSessions} session${g.totalSessions === 1 ? "" : "s"}, ${g.totalCommands} tab${g.totalCommands === 1 ? "" : "s"}: ${g.runningCommands} running, ${g.stoppedCommands} finished, ${g.failedCommands} failed`,
    ),
  );
  // One line per error and server, not per session (33 sessions on a machine without tmux said it 33
  // times): the line names the machine and tmux server it is about, whose rows above are not answers
  // (review H54-2: two stopped servers read as one line, the second's session among "3 more").
  const byError = new Map<string, { where: string; error: string; names: string[] }>();
  for (const s of report.sessions) {
    if (!s.error) continue;
    const server = socket?.(s) ?? "";
    const where = [remote ? `on ${s.machine}` : "", server ? `(tmux server ${server})` : ""]
      .filter(Boolean)
      .join(" ");
    const key = `${s.machine}\u0000${server}\u0000${s.error}`;
    const group = byError.get(key) ?? { where, error: s.error, names: [] };
    group.names.push(display(s.session, { oneLine: true }));
    byError.set(key, group);
  }
  for (const { where, error, names } of byError.values()) {
    const who =
      names.length <= 3 ? names.join(", ") : `${names.slice(0, 3).join(", ")} and ${names.length - 3} more`;
    lines.push(
      out.c.yellow(
        `${who}${where ? ` ${display(where, { oneLine: true })}` : ""}: ${display(error, { oneLine: true })}`,
      ),
    );
  }
  for (const s of report.sessions) {
    // Why a tab ended as it did, when mc knows more than its state (a readiness timeout, a start directory).
    for (const t of s.tabs)
      if (t.error && (t.state !== "running" || t.orphans))
        lines.push(
          out.c.yellow(
            `${display(s.session, { oneLine: true })} / ${display(tabLabel(t), { oneLine: true })}: ${display(t.error, { oneLine: true })}${t.orphans ? `: ${display(killCommand(s), { oneLine: true })}` : ""}`,
          ),
        );
  }
  return lines;
}

/**
 * Redraws a block of lines in place on a TTY. Every line is cut to the terminal's width, so no line wraps;
 * when the terminal got narrower since the last draw, the rows the old lines now wrap into are counted,
 * so the block is erased whole instead of piling up copies. A block taller than the terminal is cut too
 * (the cursor cannot move above the screen's top to erase it).
 */
export class LiveBlock {
  private shown: number[] = [];
  constructor(
    private readonly write: (s: string) => void,
    private readonly size: () => { columns: number; rows: number },
    private readonly color: boolean,
  ) {}

  render(all: string[]): void {
    const { columns, rows: height } = this.size();
    const cols = Math.max(10, columns);
    const room = Math.max(2, height - 1);
    const lines =
      all.length > room
        ? [...all.slice(0, room - 1), colors.dim(`… ${all.length - room + 1} more lines`)]
        : all;
    const rows = this.shown.reduce((n, w) => n + Math.max(1, Math.ceil(w / cols)), 0);
    const up = rows > 0 ? `\x1b[${rows}F\x1b[0J` : "";
    const drawn = lines.map((l) => {
      const text = render(l, this.color, { oneLine: true });
      const plain = render(l, false, { oneLine: true });
      if (cells(plain) < cols) return { text, width: cells(plain) };
      const cut = fitCells(plain, cols - 1);
      return { text: cut, width: cells(cut) };
    });
    this.shown = drawn.map((d) => d.width);
    this.write(`${up}${drawn.map((d) => d.text).join("\n")}\n`);
  }
}

/** Lines describing what changed between two reports (for piped, non-TTY monitoring). */
export function transitions(prev: StatusReport | undefined, next: StatusReport): string[] {
  const key = (machine: string, session: string, index: number) => `${machine}\u0000${session}\u0000${index}`;
  const before = new Map<string, string>();
  for (const s of prev?.sessions ?? [])
    for (const t of s.tabs) before.set(key(s.machine, s.session, t.slot ?? t.index), stateText(t));
  const time = new Date(next.at).toISOString().slice(11, 19);
  const lines: string[] = [];
  for (const s of next.sessions) {
    const where = s.machine === "local" ? "" : `${display(s.machine, { oneLine: true })}: `;
    for (const t of s.tabs) {
      const now = stateText(t);
      if (before.get(key(s.machine, s.session, t.slot ?? t.index)) === now) continue;
      const after =
        t.runtimeMs !== undefined && t.state !== "running" ? ` after ${formatDuration(t.runtimeMs)}` : "";
      const why =
        t.error && (t.state !== "running" || t.orphans) ? ` (${display(t.error, { oneLine: true })})` : "";
      lines.push(
        `${time} ${where}${display(s.session, { oneLine: true })} / ${display(tabLabel(t), { oneLine: true })}: ${now}${after}${why}`,
      );
    }
  }
  return lines;
}

export { unstyled };
