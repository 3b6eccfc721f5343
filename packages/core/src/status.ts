import type { ErrorCode } from "./errors.js";
import type { ProcessNode } from "./host.js";

/**
 * State of one tab's command.
 * - `not-started`: a scheduler (`--max-parallel-tabs`) has not opened the tab yet.
 * - `abandoned`: the scheduler that was to open the tab (the `sessions run` that started its session)
 *   ended first, or the `sessions run` that was starting its session ended before the session was made;
 *   its command never ran. It counts as finished and failed (nothing will start it unless
 *   asked: `sessions rerun SESSION/TAB`, or the file run again with `--on-conflict merge-skip`).
 * - `skipped`: a scheduler will never open the tab (a tab it `dependsOn` failed); its command never ran.
 *   It counts as finished and failed, and keeps `exitCode` 125 (what its record and `tab-exited` say).
 * - `pending`: the tab exists but its command has not started yet.
 * - `running`: the command is running (also one whose tab is gone while it runs on: see `orphans`).
 * - `exited`: the command finished with `exitCode`.
 * - `killed`: the command or its tab was ended by `signal` (an exit status of 128+N reads as signal N).
 * - `missing`: the tab is gone and nothing recorded how its command ended.
 * - `unknown`: mc cannot tell (for example the backend did not answer).
 */
export type TabState =
  | "not-started"
  | "abandoned"
  | "skipped"
  | "pending"
  | "running"
  | "exited"
  | "killed"
  | "missing"
  | "unknown";

/** States from which a tab's command will not run again. */
export const FINISHED_STATES: readonly TabState[] = ["exited", "killed", "missing", "skipped", "abandoned"];

/**
 * A failed tab: finished, and not with exit 0 (killed, gone, skipped because a dependency failed, or
 * abandoned by its scheduler), or given up as not ready in time whatever its command's exit (review HR88-3:
 * one that exited 0 before it was closed counted as a success, while its dependants were skipped).
 */
export function isFailedTab(t: {
  state: TabState | string;
  exitCode?: number | undefined;
  notReady?: boolean | undefined;
}): boolean {
  return (
    (t.state === "exited" && (t.exitCode !== 0 || t.notReady === true)) ||
    t.state === "killed" ||
    t.state === "missing" ||
    t.state === "skipped" ||
    t.state === "abandoned"
  );
}

/** Status of one tab. */
export interface TabStatus {
  /** Position of the tab in its layout. */
  index: number;
  /** Which pane of the tab, when it has several (0 is the tab's own command). */
  pane?: number;
  /** Its number in the session's records and logs, when not `index` (a further pane). */
  slot?: number;
  tabName: string;
  command: string;
  state: TabState;
  exitCode?: number;
  signal?: string;
  /** Pid of the tab's root process (the wrapper or pane process). */
  pid?: number;
  /** The backend's handle for the tab (tmux pane id, zellij pane id), when it has one. */
  ref?: string;
  /** The tab's process tree, root first. */
  processes: ProcessNode[];
  /** Epoch ms when the command started / ended, when known. */
  startedAt?: number;
  endedAt?: number;
  /** Milliseconds the command has run (until now, or until it ended). */
  runtimeMs?: number;
  /** Why the command did not run as asked (its start directory could not be entered). */
  error?: string;
  /** Its scheduler gave up waiting for it to be ready (`error` says why): failed, whatever its exit. */
  notReady?: true;
  /** Which run of the command (more than 1 with `retry`, or after `sessions rerun`). */
  attempt?: number;
  /**
   * Its tab is gone (no end recorded) but its command runs on outside it: the pids of those processes
   * (state `running`; `error` says so; `sessions kill` ends them).
   */
  orphans?: number[];
}

/** Counts for one session (machineconfig's `CommandSummary`). */
export interface CommandSummary {
  totalCommands: number;
  runningCommands: number;
  /** Finished: exited, killed or missing. */
  stoppedCommands: number;
  failedCommands: number;
  sessionHealthy: boolean;
}

/** Status of one session. */
export interface SessionStatus {
  session: string;
  /** The machine it runs on (`local`, or its name in the run). */
  machine: string;
  backend: string;
  host: string;
  exists: boolean;
  tabs: TabStatus[];
  summary: CommandSummary;
  /** Why the status is incomplete (the backend or host did not answer). */
  error?: string;
  /**
   * Its run directory is gone (deleted by hand): the records, events and logs of its tabs went with it,
   * and what none says reads `unknown` (review H55-3).
   */
  runDirMissing?: true;
}

/** Counts over every session (machineconfig's `GlobalSummary`). */
export interface GlobalSummary {
  totalSessions: number;
  healthySessions: number;
  unhealthySessions: number;
  totalCommands: number;
  runningCommands: number;
  stoppedCommands: number;
  failedCommands: number;
  allSessionsHealthy: boolean;
  allCommandsRunning: boolean;
  /** True when every tab's command has finished. */
  allFinished: boolean;
}

/** Whether a machine answered the last status poll. */
export interface MachineHealth {
  machine: string;
  host: string;
  reachable: boolean;
  error?: string;
  /** Why it was not reached, as an error code (BINARY_NOT_FOUND: its tool is not installed). */
  code?: ErrorCode;
}

/** One status snapshot of everything a manager started. */
export interface StatusReport {
  at: number;
  sessions: SessionStatus[];
  summary: GlobalSummary;
  /** Each machine of the run and whether it answered. */
  machines: MachineHealth[];
}

/** Map a shell exit status to exited/killed: 128+N is how every POSIX shell reports death by signal N. */
export function classifyExit(code: number): Pick<TabStatus, "state" | "exitCode" | "signal"> {
  if (code > 128 && code <= 128 + 64) {
    return { state: "killed", exitCode: code, signal: signalName(code - 128) };
  }
  return { state: "exited", exitCode: code };
}

const SIGNALS = [
  "",
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
];

/** `SIGTERM` for 15, `SIG42` for numbers without a common name. */
export function signalName(n: number): string {
  return SIGNALS[n] || `SIG${n}`;
}

/** Per-session counts. */
export function summarizeSession(tabs: readonly TabStatus[], exists: boolean): CommandSummary {
  const running = tabs.filter((t) => t.state === "running" || t.state === "pending").length;
  const stopped = tabs.filter((t) => FINISHED_STATES.includes(t.state)).length;
  const failed = tabs.filter(isFailedTab).length;
  return {
    totalCommands: tabs.length,
    runningCommands: running,
    stoppedCommands: stopped,
    failedCommands: failed,
    sessionHealthy: exists && tabs.every((t) => t.state !== "missing" && t.state !== "unknown"),
  };
}

/** Global counts over sessions. */
export function summarizeAll(
  sessions: readonly SessionStatus[],
  machines: readonly MachineHealth[] = [],
): GlobalSummary {
  // A tab not started yet of a session that is gone (its machine answered) never starts: it is finished.
  const answered = new Set(machines.filter((m) => m.reachable).map((m) => m.machine));
  const over = (x: SessionStatus, t: TabStatus) =>
    FINISHED_STATES.includes(t.state) || (t.state === "not-started" && !x.exists && answered.has(x.machine));
  const s = (f: (c: CommandSummary) => number) => sessions.reduce((a, x) => a + f(x.summary), 0);
  const healthy = sessions.filter((x) => x.summary.sessionHealthy).length;
  const total = s((c) => c.totalCommands);
  const running = s((c) => c.runningCommands);
  return {
    totalSessions: sessions.length,
    healthySessions: healthy,
    unhealthySessions: sessions.length - healthy,
    totalCommands: total,
    runningCommands: running,
    stoppedCommands: s((c) => c.stoppedCommands),
    // A tab that never starts (its session ended first) is a failure of the run, as it is once it reads
    // abandoned: a run whose queued tabs were lost does not end in success.
    failedCommands:
      s((c) => c.failedCommands) +
      sessions.reduce((a, x) => a + x.tabs.filter((t) => t.state === "not-started" && over(x, t)).length, 0),
    allSessionsHealthy: healthy === sessions.length,
    allCommandsRunning: total > 0 && running === total,
    allFinished: sessions.every((x) => x.tabs.every((t) => over(x, t))),
  };
}

/** Build a report from per-session statuses. */
export function makeReport(
  sessions: SessionStatus[],
  machines: MachineHealth[] = [],
  at = Date.now(),
): StatusReport {
  return { at, sessions, summary: summarizeAll(sessions, machines), machines };
}

/** `1:02:03` / `4:05` from milliseconds. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "-";
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(sec)}` : `${m}:${pad(sec)}`;
}
