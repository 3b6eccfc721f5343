import type { ConflictPolicy } from "./conflict.js";
import type { ErrorCode } from "./errors.js";
import type { Host } from "./host.js";
import type { MissingDirsPolicy } from "./machine-plan.js";
import type { StartedSession } from "./machine-start.js";
import type { MonitorSnapshot } from "./monitor.js";
import type { MachineRecord } from "./run-record.js";
import type { LayoutConfig } from "./schema.js";
import type { BackendFactory, ExitMode, KillOutcome, LiveOutsideMc } from "./session-backend.js";

/** One machine a manager starts sessions on. */
export interface MachineSpec<O extends object = object> {
  /** `local` for this machine; otherwise the name the user gave it (an ssh alias). */
  name: string;
  host: Host;
  /** The layouts to start there. */
  layouts: readonly LayoutConfig[];
  /** How to reach it again later (saved with the run; given to `connect`). */
  connection?: Record<string, unknown> | undefined;
  /** The backend's options on that machine (tmux socket, zellij binary). */
  backendOptions?: O | undefined;
}

/** Options of {@link SessionManager}. */
export interface SessionManagerOptions<O extends object = object> {
  /** Saved-run kind (the manager's class name, `TmuxLocalManager`). */
  kind: string;
  factory: BackendFactory<O>;
  machines: readonly MachineSpec<O>[];
  /** Put in front of every session name as `<prefix>_<layoutName>`. */
  sessionNamePrefix?: string | undefined;
  /** Keep the tab open with an interactive shell after its command ends (default true). */
  keepShell?: boolean | undefined;
  /** What a tab does once its command ended (overrides keepShell; default "shell"). */
  exitMode?: ExitMode | undefined;
  /** Where the run record is kept (default: this machine). */
  stateHost?: Host | undefined;
  /** Reach a machine of a saved run again; without it only `local` machines can be loaded. */
  connect?: ((machine: string, record: MachineRecord) => Host) | undefined;
  /** How many machines start at the same time (default 4). */
  concurrency?: number | undefined;
}

/** Options shared by the seed's manager constructors (`TmuxLocalManager`, …). */
export interface ManagerOptions {
  sessionLayouts: readonly LayoutConfig[];
  sessionNamePrefix?: string | undefined;
  keepShell?: boolean | undefined;
  /** What a tab does once its command ended (overrides keepShell; default "shell"). */
  exitMode?: ExitMode | undefined;
}

/** Options of {@link SessionManager.startAllSessions}. */
export interface StartOptions {
  /** One policy, or one per machine (`*` as the default). */
  onConflict?: ConflictPolicy | Readonly<Record<string, ConflictPolicy>> | undefined;
  /** Wait this long between two session starts (machineconfig's `--sleep-inbetween`). */
  delayBetweenMs?: number | undefined;
  /** Start only the first N tabs of each session; the others are `not-started` until `startTab`. */
  initialTabs?: number | undefined;
  /** Start directories that do not exist: an error (default), created, or their tabs skipped. */
  missingDirs?: MissingDirsPolicy | undefined;
  /**
   * Layouts earlier batches of the same run asked for (`run -p`): the names resolve as one request with
   * them, so a name one of them has is a repeat (error refuses it; restart and merge give it a copy).
   */
  earlier?: readonly LayoutConfig[] | undefined;
  /** Something the user should know (a skipped tab). */
  onWarning?: ((message: string) => void) | undefined;
  /** Interrupt the start: what this call started is killed again, and ABORTED is thrown. */
  signal?: AbortSignal | undefined;
  /** Called after each session has started (for progress output). */
  onSessionStarted?: ((s: StartedSession) => void) | undefined;
  /** Called when a machine has finished starting, or failed. */
  onMachineDone?: ((r: MachineStartResult) => void) | undefined;
  /**
   * Called once when a machine's start has waited a second for its start lock: another `sessions run`
   * is starting sessions there (or was killed while it did, and its lease has not run out).
   */
  onLockWait?: ((machine: string) => void) | undefined;
}

/** How one machine's start went. */
export type MachineStartResult =
  | { machine: string; ok: true; sessions: StartedSession[] }
  | { machine: string; ok: false; error: Error; sessions: [] };

/** What killing one session found. */
export interface KillResult {
  /** Processes of its tabs that outlived the session (nohup, setsid) and were ended. */
  ended?: number[];
  /** Processes that could not be ended: the session stays in the record. */
  survivors?: { pid: number; command: string }[];
  /** Processes left alone: inside another terminal server (tmux, zellij, screen) one of its tabs started. */
  spared?: { pid: number; command: string }[];
  machine: string;
  name: string;
  ok: boolean;
  outcome?: KillOutcome;
  error?: string;
  /** The error's code when the kill failed with one (SSH_UNREACHABLE: the machine did not answer). */
  code?: ErrorCode;
  /** The kill found it gone, and a live session outside mc's start holds it now (left alone). */
  liveAs?: LiveOutsideMc;
  /** Not killed, and why (`killAtCompletion`: another run follows it now, or a tab of it runs again). */
  kept?: string;
}

/** Options of {@link SessionManager.runMonitoringRoutine}. */
export interface MonitoringOptions {
  intervalMs?: number;
  /** Read process trees on every poll (default true); see {@link StatusOptions.processes}. */
  processes?: boolean;
  killUponCompletion?: boolean;
  /** With killUponCompletion: keep sessions with a failed tab, closing only their successful tabs. */
  keepFailed?: boolean | undefined;
  signal?: AbortSignal;
  maxCycles?: number;
  onSnapshot?: (snap: MonitorSnapshot) => void;
}
