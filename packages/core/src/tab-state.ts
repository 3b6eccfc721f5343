import type { ProcessNode } from "./host.js";
import type { TabStatus } from "./status.js";
import { classifyExit } from "./status.js";
import type { TabRecord } from "./tab-record.js";

/** What a backend saw of one tab's pane in one poll. */
export interface PaneEvidence {
  /** The backend's handle for the pane (tmux `%3`, zellij `terminal_2`). */
  ref?: string;
  /** Pid of the pane's root process (the tab wrapper), when the tool reports it. */
  pid?: number;
  /** The pane is still there with its program running (after the command, that may be the kept shell). */
  alive: boolean;
  /**
   * Exit status of the tab's command as the tool reports it, once it ended (zellij `exit_status`, tmux
   * `pane_dead_status`, or the status the wrapper stamped on its pane while a shell stays in it).
   */
  exitStatus?: number;
  /** The tool says the pane's program was ended by a signal (the name when known, else ""). */
  killedBy?: string;
  /** The attempt the pane's wrapper was started as (a rerun's is one more than its record's), when known. */
  attempt?: number;
}

/** Whether the recorded wrapper process is still alive, judged by pid and start time together. */
export type ProcessEvidence = "alive" | "dead" | "unknown";

/**
 * Everything mc knows about one tab in one poll. Backends gather the pane part; core reads the tab record
 * and the process table, so the same evidence always reads the same on every backend.
 */
export interface TabEvidence {
  /** False for a tab a scheduler (`--max-parallel-tabs`) has not started yet. */
  scheduled: boolean;
  /** That scheduler is known to have ended: the tab will not be started. */
  schedulerEnded?: boolean;
  /** The tab's pane as the tool reports it; undefined when the tool lists no such pane. */
  pane?: PaneEvidence;
  /** The tool cannot list panes at all (Windows Terminal): only the record and process speak. */
  noPaneEvidence?: boolean;
  /** The wrapper's record (`tab-<i>.json`), when one was read. */
  record?: TabRecord;
  /** Whether the record's pid still runs and is the same process (start time checked). */
  process: ProcessEvidence;
  /** The tool or host did not answer this poll. */
  unreachable: boolean;
  /**
   * Until this time (epoch ms) a tab without a record counts as still starting, not missing (a window
   * that was launched moments ago, on a tool that cannot list panes).
   */
  startingUntil?: number;
  /**
   * The machine's uptime now (1/100 s), where known (this machine): with the record's `up`, a running
   * tab's runtime is measured on the machine's own clock since boot, which a wall clock stepped back or
   * forward does not move (review H79-3: RUNTIME read 0:00 after a step back).
   */
  uptimeCs?: number;
}

/** The part of {@link TabStatus} that {@link decideTabState} fills in. */
export type TabOutcome = Pick<
  TabStatus,
  | "state"
  | "exitCode"
  | "signal"
  | "startedAt"
  | "endedAt"
  | "runtimeMs"
  | "pid"
  | "ref"
  | "error"
  | "attempt"
>;

/** What a record's `error` means, for humans. */
const RECORD_ERRORS: Record<string, string> = {
  startDir: "its start directory could not be entered; the command did not run",
  dependency: "not started: a tab it depends on failed",
};

/** The outcome a finished record states: exited with its code, or killed by its signal. */
function recordEnd(r: TabRecord): TabOutcome {
  const startedAt = r.start * 1000;
  const endedAt = (r.end ?? r.start) * 1000;
  const base = {
    startedAt,
    endedAt,
    runtimeMs: Math.max(0, endedAt - startedAt),
    pid: r.pid,
    ...(r.error ? { error: RECORD_ERRORS[r.error] ?? r.error } : {}),
    ...(r.attempt && r.attempt > 1 ? { attempt: r.attempt } : {}),
  };
  // Never started (a tab it depends on failed): no process, no runtime; the 125 the record holds stays.
  if (r.error === "dependency")
    return { state: "skipped", exitCode: r.exit ?? 125, endedAt, error: RECORD_ERRORS.dependency! };
  if (r.signal)
    return { ...base, state: "killed", signal: r.signal.startsWith("SIG") ? r.signal : `SIG${r.signal}` };
  return { ...base, ...classifyExit(r.exit ?? 0) };
}

function paneOutcome(p: PaneEvidence): TabOutcome | undefined {
  if (p.exitStatus !== undefined) return classifyExit(p.exitStatus);
  if (!p.alive && p.killedBy !== undefined)
    return { state: "killed", ...(p.killedBy ? { signal: p.killedBy } : {}) };
  return undefined;
}

/**
 * The one rule that turns a tab's evidence into its state. In order:
 * 1. A record with an end is final: the wrapper wrote how the command ended.
 * 2. Not scheduled yet: `not-started`; `abandoned` once the process that was to schedule it has ended.
 * 3. A record without an end: `running` while the pane (or, without pane evidence, the recorded
 *    process) lives; the tool's own exit status when the pane ended without the wrapper recording it
 *    (it was killed outright); `unknown` when nobody answered; else `missing`.
 * 4. No record: `pending` while the pane lives or the tab is still starting; the tool's exit status when
 *    the pane ended before the wrapper could write anything; `unknown` when nobody answered; else `missing`.
 */
export function decideTabState(e: TabEvidence, now = Date.now()): TabOutcome {
  const ref = e.pane?.ref === undefined ? {} : { ref: e.pane.ref };
  const r = e.record;
  if (r?.end !== undefined) return { ...recordEnd(r), ...ref };
  if (!e.scheduled && !r) return { state: e.schedulerEnded ? "abandoned" : "not-started" };
  const paneEnd = e.pane ? paneOutcome(e.pane) : undefined;
  if (r) {
    const startedAt = r.start * 1000;
    const attempt = r.attempt && r.attempt > 1 ? { attempt: r.attempt } : {};
    const running = {
      state: "running" as const,
      startedAt,
      runtimeMs:
        r.up !== undefined && e.uptimeCs !== undefined && e.uptimeCs >= r.up
          ? (e.uptimeCs - r.up) * 10
          : Math.max(0, now - startedAt),
      pid: r.pid,
      ...attempt,
      ...ref,
    };
    if (paneEnd) return { ...paneEnd, startedAt, pid: r.pid, ...ref };
    if (e.pane?.alive) return running;
    if (e.process === "alive") return running;
    if (e.unreachable || (e.process === "unknown" && e.noPaneEvidence)) {
      return { state: "unknown", startedAt, pid: r.pid, ...ref };
    }
    return { state: "missing", startedAt, pid: r.pid, ...ref };
  }
  const pid = e.pane?.pid === undefined ? {} : { pid: e.pane.pid };
  if (paneEnd) return { ...paneEnd, ...pid, ...ref };
  if (e.pane?.alive) return { state: "pending", ...pid, ...ref };
  if (e.startingUntil !== undefined && now < e.startingUntil) return { state: "pending" };
  if (e.unreachable) return { state: "unknown", ...ref };
  return { state: "missing", ...ref };
}

/**
 * Whether a process from the process table is the wrapper a record describes: the pid alone can be
 * reused. Where the record has the uptime it was written at and the table the start in ticks since boot
 * (Linux), the process must have started by then; else no later than shortly after the record's start (the
 * wrapper writes its start once it runs; `ps` start times on other hosts have one-second resolution).
 */
export function isRecordedProcess(r: TabRecord, p: Pick<ProcessNode, "startedAt" | "startTicks">): boolean {
  // Both counted since boot (1/100 s: Linux's USER_HZ), no wall clock in them (review H77-2: a clock 60 s
  // behind made a stranger that took the pid 10 s after the tab "the tab", running). The pid was the
  // wrapper's when it wrote `up`: a process holding it now that started after that is another one.
  if (r.up !== undefined && p.startTicks !== undefined) return p.startTicks <= r.up + 1;
  if (p.startedAt === undefined) return true;
  return p.startedAt <= r.start * 1000 + 2000;
}
