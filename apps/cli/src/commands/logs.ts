import { join } from "node:path";
import {
  FINISHED_STATES,
  type Host,
  isFailedTab,
  LogFollower,
  lastLines,
  McError,
  readTabLog,
  type SessionStatus,
  sessionSlots,
  sleep,
  type TabStatus,
  tabLogName,
} from "@mc/core";
import { logLine } from "../log-line.js";
import { type Output, tabLabel } from "../output.js";
import type { LoadedRun } from "../registry.js";
import {
  type FoundSession,
  findTarget,
  lostRunDirError,
  lostRunDirs,
  resolveLive,
  withRuns,
} from "./runs.js";
import { untilStopped } from "./stop-soon.js";

export interface LogsOptions {
  follow?: boolean;
  lines?: number;
  host?: string;
  socket?: string;
  backend?: string;
  raw?: boolean;
  /** Milliseconds between reads with --follow. */
  pollMs?: number;
}

/** A log the command prints: one command's (a tab, or a pane of one) with the label it is shown with. */
interface LogSource {
  slot: number;
  label: string;
  tab: string;
  index: number;
  pane?: number;
}

/** The logs of a target: one tab's commands (its panes), or every command of the session. */
function sourcesOf(found: FoundSession & { tab?: number; pane?: number }): LogSource[] {
  const tabs = found.session.layout.layoutTabs;
  return sessionSlots(found.session.layout)
    .filter((x) => found.tab === undefined || x.tab === found.tab)
    .filter((x) => found.pane === undefined || x.pane === found.pane)
    .sort((a, b) => a.tab - b.tab || a.pane - b.pane)
    .map((x) => {
      const several = (tabs[x.tab]!.panes?.length ?? 0) > 0;
      const name = tabs[x.tab]!.tabName;
      return {
        slot: x.slot,
        label: several ? `${name}/${x.pane}` : name,
        tab: name,
        index: x.tab,
        ...(several ? { pane: x.pane } : {}),
      };
    });
}

/** One log line to the user: displayed safely (colours kept), exact with --raw, an object with --json. */
function printer(found: FoundSession, sources: LogSource[], o: LogsOptions, out: Output) {
  const width = Math.max(...sources.map((x) => x.label.length));
  const palette = [out.c.cyan, out.c.magenta, out.c.green, out.c.yellow];
  const prefixed = sources.length > 1;
  return (src: LogSource, line: string) => {
    if (out.json) {
      // A terminal's line ends in \r\n: the line is what came before.
      const where = { session: found.session.name, tab: src.tab, index: src.index };
      const pane = src.pane === undefined ? {} : { pane: src.pane };
      out.jsonLine({ ...where, ...pane, line: line.replace(/\r$/, "") });
    } else if (o.raw) {
      out.data(`${prefixed ? `${src.label} | ` : ""}${line}\n`);
    } else {
      const k = sources.indexOf(src);
      const prefix = prefixed ? `${palette[k % palette.length]!(src.label.padEnd(width))} | ` : "";
      out.out(prefix + readableLine(line));
    }
  };
}

/** Why a session's tabs keep no log, as its backend recorded at start (`data.logsNotKept`). */
export function logsNotKept(s: { data?: Record<string, unknown> | undefined }): string | undefined {
  const why = s.data?.logsNotKept;
  return typeof why === "string" ? why : undefined;
}

/** Longest line shown whole (a longer one, written whole by the log writer, shows its end). */
const MAX_LINE = 1024 * 1024;

const CSI_AT = /\x1b\[[0-?]*[ -/]*[@-~]/y;

/** Where the shown end of an over-long line starts: never inside a CSI sequence (H71-2: `\e[35m` was cut to `5m`) or a surrogate pair. */
function cutAt(l: string): number {
  let start = l.length - MAX_LINE;
  const esc = l.lastIndexOf("\x1b", start);
  CSI_AT.lastIndex = esc;
  if (esc >= 0 && start - esc < 100 && CSI_AT.test(l) && CSI_AT.lastIndex > start) start = esc;
  const c = l.charCodeAt(start);
  return c >= 0xdc00 && c <= 0xdfff ? start - 1 : start;
}

/** A log's text as lines; one longer than {@link MAX_LINE} shows its end after mc's notice of the cut. */
export const splitLines = (text: string) =>
  (text === "" ? [] : text.replace(/\n$/, "").split("\n")).map((l) => {
    if (l.length <= MAX_LINE) return l;
    const start = cutAt(l);
    return `[mc: ${start} characters of this line not shown] ${l.slice(start)}`;
  });

const CUT_NOTICE = /^\[mc: \d+ characters of this line not shown\] /;

/**
 * A log line for humans ({@link logLine}), mc's cut notice kept outside the emulated line: a carriage return
 * in the text after it cannot overwrite it (H71-2).
 */
export function readableLine(line: string): string {
  const notice = CUT_NOTICE.exec(line)?.[0];
  return notice !== undefined && line.length - notice.length >= MAX_LINE
    ? notice + logLine(line.slice(notice.length))
    : logLine(line);
}

/** `sessions logs SESSION[/TAB] [-f] [-n N]`: what a tab printed, kept after it, its session and its server end. */
export async function logsCommand(target: string, o: LogsOptions, out: Output): Promise<number> {
  return withRuns(
    out,
    async (runs) => {
      const found = await resolveLive(runs, () => findTarget(runs, target, o.host));
      const { manager } = found.run;
      if (!manager.factory.capabilities.logs) {
        throw new McError("USAGE", `${manager.factory.name} does not keep tab logs (capability "logs")`, {
          backend: "cli",
          op: "logs",
          hint: "status shows each tab's state and exit code",
        });
      }
      const notKept = logsNotKept(found.session);
      if (notKept !== undefined) {
        // Not "no output recorded", which a tab that printed nothing reads (review H51-4).
        throw new McError("USAGE", `the tabs of "${found.session.name}" kept no log: ${notKept}`, {
          backend: "cli",
          op: "logs",
          hint: "status shows each tab's state and exit code; a session started where script(1) is installed keeps logs",
        });
      }
      const lost = await lostRunDirs([found]);
      if (lost.length) throw lostRunDirError(lost, "logs");
      const host = manager.hostOf(found.machine);
      const sources = sourcesOf(found);
      const print = printer(found, sources, o, out);
      if (!o.follow || found.endedAt !== undefined) {
        let any = false;
        for (const src of sources) {
          const text = await readTabLog(host, found.session.runDir, src.slot);
          let n = 0;
          for (const line of splitLines(o.lines === undefined ? text : lastLines(text, o.lines))) {
            any = true;
            print(src, line);
            if (++n % 256 === 0) await out.drained();
          }
        }
        if (!any && !out.json && o.lines !== 0) out.err(out.c.dim("no output recorded"));
        return 0;
      }
      return follow(found, host, sources, o, print, () => out.drained());
    },
    o,
  );
}

/**
 * Print the last lines, then each new line as the tabs write it, until every followed command has
 * finished (or the session is gone) and its last output was printed, or Ctrl-C.
 */
async function follow(
  found: FoundSession,
  host: Host,
  sources: LogSource[],
  o: LogsOptions,
  print: (src: LogSource, line: string) => void,
  drained: () => Promise<void>,
): Promise<number> {
  const ac = new AbortController();
  const stop = () => ac.abort();
  // `on`, not `once` (see monitor-output.ts interruptible): removed in the finally below. SIGTERM (a
  // supervisor, `timeout`) stops the follow as Ctrl-C does, not by dying mid-line (review H55-4).
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const path = (slot: number) => join(found.session.runDir, tabLogName(slot));
  const followers = new Map(sources.map((src) => [src.slot, new LogFollower(host, path(src.slot))]));
  const body = async (): Promise<number> => {
    // Start with the last lines already written (10, like tail -f, unless -n says otherwise).
    for (const src of sources) {
      const text = await followers.get(src.slot)!.start();
      for (const line of splitLines(lastLines(text, o.lines ?? 10))) print(src, line);
    }
    let lastCheck = 0;
    // When the commands were seen finished, and how many looks since then brought nothing: the log
    // writers may still be behind (tmux feeds pipe-pane after the pane's program ended), so whole lines
    // are read until four looks (a second) bring nothing (or 5 s passed), and only then a last line without its end
    // (review HR90-4: a line still being written was printed as two).
    let finishedAt: number | undefined;
    let quiet = 0;
    for (;;) {
      if (finishedAt === undefined && performance.now() - lastCheck > 1000) {
        lastCheck = performance.now();
        if (
          await allFinished(
            found,
            sources.map((x) => x.slot),
          )
        )
          finishedAt = performance.now();
      }
      const finished = finishedAt !== undefined && (quiet >= 4 || performance.now() - finishedAt > 5000);
      let got = false;
      for (const src of sources) {
        // A read gives at most 4 MiB: one that is behind reads again at once (a fast writer rotates its
        // log every 8 MiB), and once finished, everything left is printed.
        const f = followers.get(src.slot)!;
        for (;;) {
          const text = await f.next(finished);
          if (text !== "") got = true;
          // A reader slower than the writer holds the follower back, not mc's memory (a read is up to
          // 4 MiB: waited on every 256 lines, as without -f).
          let n = 0;
          for (const line of splitLines(text)) {
            print(src, line);
            if (++n % 256 === 0) await drained();
          }
          await drained();
          if (!f.behind && (!finished || text === "")) break;
        }
      }
      if (finished || ac.signal.aborted) return 0;
      if (finishedAt !== undefined) quiet = got ? 0 : quiet + 1;
      await sleep(o.pollMs ?? 250, ac.signal).catch(() => {});
    }
  };
  try {
    // A stop while a call to a host that stopped answering pends ends the follow at once (exit 0).
    return (await untilStopped(body(), ac.signal)) ?? 0;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

/** Whether every followed command (by slot) has finished, or the session is gone. */
async function allFinished(found: FoundSession, slots: number[]): Promise<boolean> {
  const report = await found.run.manager.checkAllSessionsStatus({
    processes: false,
    machines: [found.machine],
  });
  const s = report.sessions.find((x) => x.session === found.session.name && x.machine === found.machine);
  if (!s?.exists) return true;
  return slots.every((i) => {
    const t = s.tabs.find((x) => (x.slot ?? x.index) === i);
    return t !== undefined && FINISHED_STATES.includes(t.state);
  });
}

const failedTab = isFailedTab;

/**
 * `status --tail N`: the last `n` lines of every failed tab's log, added to its status as `logTail`
 * (tabs of backends that keep no logs get none).
 */
export async function addLogTails(runs: LoadedRun[], sessions: SessionStatus[], n: number): Promise<void> {
  await Promise.all(
    sessions.flatMap((st) =>
      st.tabs.filter(failedTab).map(async (t) => {
        const run = runs.find((r) =>
          r.manager.managed.some((s) => s.machine === st.machine && s.name === st.session),
        );
        if (!run?.manager.factory.capabilities.logs) return;
        const s = run.manager.managed.find((x) => x.machine === st.machine && x.name === st.session)!;
        const notKept = logsNotKept(s);
        if (notKept !== undefined) {
          (t as TabStatus & { logNotKept?: string }).logNotKept = notKept;
          return;
        }
        const text = await readTabLog(run.manager.hostOf(s.machine), s.runDir, t.slot ?? t.index).catch(
          () => "",
        );
        (t as TabStatus & { logTail?: string[] }).logTail = splitLines(lastLines(text, n));
      }),
    ),
  );
}

/** The tails added by {@link addLogTails}, for humans: a heading per tab, then its lines, indented. */
export function logTailLines(sessions: SessionStatus[], out: Output): string[] {
  const lines: string[] = [];
  for (const s of sessions) {
    for (const t of s.tabs as (TabStatus & { logTail?: string[]; logNotKept?: string })[]) {
      if (t.logNotKept !== undefined)
        lines.push("", out.c.bold(`${s.session} / ${tabLabel(t)}: no log kept (${t.logNotKept})`));
      if (!t.logTail) continue;
      lines.push("", out.c.bold(`${s.session} / ${tabLabel(t)}: last ${t.logTail.length} line(s)`));
      for (const l of t.logTail) lines.push(`  ${readableLine(l)}`);
    }
  }
  return lines;
}
