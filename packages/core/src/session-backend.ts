import type { ConflictPolicy, PlannedName } from "./conflict.js";
import type { Command, Host, HostInfo } from "./host.js";
import type { MonitorSnapshot } from "./monitor.js";
import type { ManagedSession } from "./persistence.js";
import type { LayoutConfig } from "./schema.js";
import type { SessionStatus } from "./status.js";

/** A file a backend generates for a session (script, KDL layout, ps1), written to the host before start. */
export interface Artefact {
  path: string;
  content: string;
  mode?: number;
  /** What it is, for dry-run output (`tmux build script`, `tab wrapper`, …). */
  description: string;
}

/** One session to start, after conflict resolution. */
export interface SessionSpec extends PlannedName {
  layout: LayoutConfig;
  /** Where this session's tab records go on the host. */
  runDir: string;
  /** Where its artefacts go on the host. */
  artefactDir: string;
  /**
   * Start only the first N tabs; the rest are prepared and started later one by one (the CLI's
   * `--max-parallel-tabs`). A backend that cannot add tabs to a running session rejects it.
   */
  initialTabs?: number;
}

/** A session ready to start: its artefacts and the commands that start it. */
export interface PreparedSession extends SessionSpec {
  artefacts: Artefact[];
  /** Run in order; a non-zero exit fails the start. */
  start: Command[];
}

/** What a backend must provide; the generic {@link SessionManager} does the rest. */
export interface SessionBackend {
  /** `tmux`, `zellij`, `wt`. */
  readonly name: string;
  readonly host: Host;
  /** Identity of a session name for this tool (tmux turns `.` and `:` into `_`). */
  sessionKey(name: string): string;
  /** Reject names this tool cannot hold, before anything starts (throw LAYOUT_INVALID). */
  checkName?(name: string): void;
  /**
   * Name of the host lock held while names are resolved and sessions started, one per server (for
   * example `tmux-<socket>`), so concurrent `sessions run` calls never take the same name.
   */
  readonly lockName?: string;
  /** Fail early with BINARY_NOT_FOUND / VERSION_UNSUPPORTED when the tool is missing or too old. */
  checkAvailable?(): Promise<void>;
  /** Names of the sessions that exist now, including ones that block a name without running. */
  listSessions(): Promise<string[]>;
  /** Pure: the artefacts and start commands of one session. */
  prepare(spec: SessionSpec, info: HostInfo): PreparedSession;
  /** Start a prepared session (its artefacts are already written). Default: run `start` in order. */
  start?(session: PreparedSession): Promise<Record<string, unknown> | undefined>;
  /** Kill a session by name so the name is free again. Missing sessions are not an error. */
  kill(name: string, session?: ManagedSession): Promise<void>;
  /** Status of the given sessions, in as few tool calls as the tool allows (one for tmux). */
  status(sessions: readonly ManagedSession[], opts?: StatusOptions): Promise<SessionStatus[]>;
  /** The command that attaches this terminal to a session (the managed session when there is one). */
  attachCommand(name: string, env?: NodeJS.ProcessEnv, session?: ManagedSession): Command;
  /**
   * True when a successful `start` already proves the session exists (tmux: `source-file` returns only
   * after `new-session` succeeded), so no listing poll is needed; a session whose tabs all finished and
   * closed at once would otherwise look like a failed start.
   */
  readonly startVerifies?: boolean;
  /** How long to wait for a started session to appear (ms). */
  readonly appearTimeoutMs?: number;
}

/** What a status poll gathers. */
export interface StatusOptions {
  /**
   * Read each tab's process tree (pids, command lines, cpu, memory). Default true; monitoring turns it
   * off, since deciding running / exited / killed needs only the pane list and the tab records.
   */
  processes?: boolean;
}

/** Options shared by every manager constructor. */
export interface ManagerOptions {
  sessionLayouts: readonly LayoutConfig[];
  /** Put in front of every session name as `<prefix>_<layoutName>`. */
  sessionNamePrefix?: string | undefined;
  /** Keep the tab open with an interactive shell after its command ends (default true). */
  keepShell?: boolean | undefined;
}

/** Result of starting one session. */
export interface StartedSession {
  name: string;
  requestedName: string;
  action: "create" | "replace";
  renamed: boolean;
  tabs: number;
  artefacts: string[];
}

/** Result of {@link SessionManager.killAllSessions}. */
export interface KillResult {
  name: string;
  ok: boolean;
  error?: string;
}

/** Options of {@link SessionManager.startAllSessions}. */
export interface StartOptions {
  onConflict?: ConflictPolicy;
  /** Wait this long between two session starts (machineconfig's `--sleep-inbetween`). */
  delayBetweenMs?: number;
  /** See {@link SessionSpec.initialTabs}. */
  initialTabs?: number;
  /** Interrupt the start: what this call started is killed again, and ABORTED is thrown. */
  signal?: AbortSignal;
  /** Called after each session has started (for progress output). */
  onSessionStarted?: (s: StartedSession, done: number, total: number) => void;
}

/** Options of {@link SessionManager.runMonitoringRoutine}. */
export interface MonitoringOptions {
  intervalMs?: number;
  /** Read process trees on every poll (default true); see {@link StatusOptions.processes}. */
  processes?: boolean;
  killUponCompletion?: boolean;
  signal?: AbortSignal;
  maxCycles?: number;
  onSnapshot?: (snap: MonitorSnapshot) => void;
}
