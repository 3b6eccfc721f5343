import type { PlannedName } from "./conflict.js";
import type { Command, Host, HostInfo } from "./host.js";
import type { MergeCounts } from "./merge.js";
import type { ManagedSession } from "./run-record.js";
import type { LayoutConfig } from "./schema.js";
import type { PaneEvidence } from "./tab-state.js";

/**
 * What a backend can do. The CLI checks a request against these before anything starts and names the
 * missing capability; no backend silently ignores an option.
 */
export interface BackendCapabilities {
  /** Tabs can be added to a running session (`--max-parallel-tabs`, rerun). */
  addTabsLater: boolean;
  /**
   * Tabs held back for later (`pendingTabs`) are in the session from its start, waiting (zellij: suspended
   * panes), so they keep it open; elsewhere a held-back tab is opened when it starts.
   */
  heldTabsOpen: boolean;
  /** One tab can be closed while its session keeps running (`--kill-finished-tabs`). */
  closeTab: boolean;
  /** The tool itself reports a pane's exit status, beside mc's tab wrapper. */
  nativeExitStatus: boolean;
  /** Sessions can be renamed, so a session is built under a private name and takes its name last. */
  renameSession: boolean;
  /** Attaching from inside a session of the same tool switches the client instead of nesting. */
  attachFromInside: boolean;
  /** A tab can hold several panes. */
  panes: boolean;
  /** The tool lists sessions mc did not start (so `attach` can reach any session). */
  listsForeignSessions: boolean;
  /** A pane whose program ended can stay on screen, finished, without a shell (`--exit keep`). */
  keepPane: boolean;
  /** Each tab's output is also written to `tab-<i>.log` in its run directory (`sessions logs`). */
  logs: boolean;
  /** A layout's `onStop` runs when its session ends, however it ends (killed, or its last tab closed). */
  stopHook: boolean;
}

/** Options of {@link SessionBackend.startTab}. */
export interface StartTabOptions {
  /** The attempt number the tab's wrapper starts counting from (a rerun: one more than the last). */
  attempt?: number;
  /**
   * The `ref` (from `observe`) of a tab the new one goes before, so a restarted tab keeps its place;
   * a backend that cannot place a tab opens it last.
   */
  before?: string;
}

/** The capability names, for messages and checks. */
export type Capability = keyof BackendCapabilities;

/** A session as the tool lists it. */
export interface ListedSession {
  /** The name the user sees (mc's name when mc built it; tmux may keep another key). */
  name: string;
  /**
   * The tool's own name for it, when the backend knows it (tmux's session name): compared as it is, never
   * through `sessionKey` again (tmux's key of a key is another name: `a##[x` became `a####[x`).
   */
  key?: string;
  /**
   * What the tool calls a session mc named, where the backend knows it (tmux: renamed by hand, `y` for
   * mc's `x`): `attach` takes it as the tool shows it. Never a key for conflicts: mc's name is.
   */
  shownAs?: string;
  /** mc's run id stamped on the session: set only for sessions mc built (its ownership marker). */
  runId?: string;
  /** It no longer runs but still blocks its name (a zellij EXITED session). */
  exited?: boolean;
}

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
  /** The run this session belongs to; backends stamp it on what they build (the ownership marker). */
  runId: string;
  /** The machine it will run on (`local`, or its name in the run). */
  machine: string;
  layout: LayoutConfig;
  /** Where this session's tab records go on the host. */
  runDir: string;
  /** Where its artefacts go on the host. */
  artefactDir: string;
  /** Keep the tab open with an interactive shell after its command ends (`exitMode` "shell"). */
  keepShell: boolean;
  /**
   * What a tab does once its command ended: `shell` leaves an interactive shell, `close` closes the tab,
   * `keep` keeps the finished pane (its output) on screen without a shell (backends with `keepPane`).
   */
  exitMode: ExitMode;
  /**
   * Tabs not to open now (indexes, ascending): a scheduler opens them later with `startTab`, when their
   * dependencies are ready or a slot of `--max-parallel-tabs` frees. Only asked of a backend with the
   * `addTabsLater` capability; the session is built from the other tabs, in layout order.
   */
  pendingTabs?: readonly number[];
}

/** A session ready to start: its artefacts and the commands that start it. */
export interface PreparedSession extends SessionSpec {
  artefacts: Artefact[];
  /** Run in order; a non-zero exit fails the start. */
  start: Command[];
  /** For a layout merged into a running session: what happens to each of its tabs. */
  tabActions?: ("create" | "keep" | "restart")[];
  /** For a layout merged into a running session: what the merge does, counted. */
  merge?: MergeCounts;
  /** For a layout merged into a running session: its waiting tabs the file no longer has (never started). */
  droppedTabs?: string[];
}

/** What a backend saw of one managed session in one poll. */
export interface SessionObservation {
  /** The session runs in the tool. */
  exists: boolean;
  /** The panes mc started, by tab index. */
  panes: ReadonlyMap<number, PaneEvidence>;
  /** The tool cannot list panes (Windows Terminal): tab states come from records and processes only. */
  noPaneEvidence?: boolean;
  /** Until this time (epoch ms) tabs without a record count as still starting. */
  startingUntil?: number;
  /** Why the observation is incomplete (the tool did not answer). */
  error?: string;
}

/** What a tab does once its command ended (`--exit`). */
export type ExitMode = "shell" | "close" | "keep";

/** What a kill found: the session was killed, or there was nothing of mc's left to kill. */
export type KillOutcome = "killed" | "gone";

/**
 * A live session that holds what a managed session the kill found gone was, outside mc's start: the user
 * resurrected it from the tool's saved entry (its panes still carry mc's run id), renamed it, or made a new
 * session of its name. Never mc's to kill: the kill says where it is and leaves it.
 */
export interface LiveOutsideMc {
  /** The live session's name (the managed name, or the one it was renamed to). */
  session: string;
  /** `unknown`: the tool did not list the live session's panes, so whose it is could not be told. */
  how: "resurrected" | "renamed" | "replaced" | "unknown";
}

/** What a backend must provide; the generic {@link SessionManager} does the rest. */
export interface SessionBackend {
  /** `tmux`, `zellij`, `wt`. */
  readonly name: string;
  readonly host: Host;
  readonly capabilities: BackendCapabilities;
  /** Identity of a session name for this tool (tmux turns `.` and `:` into `_`). */
  sessionKey(name: string): string;
  /**
   * The session name a layout asks for, from its `layoutName` (before a prefix and conflict resolution):
   * tmux and zellij spell a space as `_`, as machineconfig's TmuxLocalManager and ZellijLocalManager name
   * sessions (`g 2` → `g_2`, `LocalJobMgr_g_2`); the layout's name as written where absent (Windows Terminal,
   * as machineconfig's WTLocalManager).
   */
  layoutSessionName?(layoutName: string): string;
  /** Reject names this tool cannot hold, before anything starts (throw LAYOUT_INVALID). */
  checkName?(name: string): void;
  /**
   * Name of the host lock held while names are resolved and sessions started, one per server (for
   * example `tmux-<socket>`), so concurrent `sessions run` calls never take the same name.
   */
  readonly lockName?: string;
  /** Fail early with BINARY_NOT_FOUND / VERSION_UNSUPPORTED when the tool is missing or too old. */
  checkAvailable?(): Promise<void>;
  /** The sessions that exist now, including ones that block a name without running. */
  listSessions(): Promise<ListedSession[]>;
  /** Pure: the artefacts and start commands of one session. */
  prepare(spec: SessionSpec, info: HostInfo): PreparedSession;
  /**
   * Start a prepared session (its artefacts are already written); returns facts to save with it. With
   * `renameSession`, a session whose action is `replace` is built under a private name: the session it
   * replaces is killed only once every replacement of the run has started, then {@link finish} names it.
   */
  start?(session: PreparedSession): Promise<Record<string, unknown> | undefined>;
  /** Give a replacement built under a private name its real name (backends with `renameSession`). */
  finish?(session: PreparedSession): Promise<void>;
  /**
   * {@link finish} for a recorded replacement whose run died after the session it replaced was killed (the
   * next start finishes it: review H68-1). Throws when it cannot (no record of the tool's session).
   */
  finishRecorded?(session: ManagedSession): Promise<void>;
  /**
   * Kill a session so the name is free again. Given the managed session, only if it is still the one mc
   * started (its ownership marker matches); a same-named session someone made since is never touched.
   */
  kill(name: string, session?: ManagedSession): Promise<KillOutcome>;
  /**
   * Where a managed session that {@link kill} found gone lives on outside mc's start (a resurrected or
   * renamed session, or another of its name); undefined when nothing live holds it.
   */
  liveOutsideMc?(session: ManagedSession): Promise<LiveOutsideMc | undefined>;
  /** One observation per session, in as few tool calls as the tool allows (one for tmux). */
  observe(sessions: readonly ManagedSession[]): Promise<SessionObservation[]>;
  /** The command that attaches this terminal to a session (the managed session when there is one). */
  attachCommand(name: string, env?: NodeJS.ProcessEnv, session?: ManagedSession): Command;
  /** The command that opens a plain new interactive session of the tool in this terminal (`attach -n`). */
  newSessionCommand?(env?: NodeJS.ProcessEnv): Command;
  /** Open tab `index` of a running managed session (backends with `addTabsLater`). */
  startTab?(session: ManagedSession, index: number, info: HostInfo, o?: StartTabOptions): Promise<void>;
  /** Close one tab by the `ref` its status reported (backends with `closeTab`). */
  closeTab?(ref: string): Promise<void>;
  /**
   * True when a successful `start` already proves the session exists (tmux: `source-file` returns only
   * after `new-session` succeeded), so no listing poll is needed.
   */
  readonly startVerifies?: boolean;
  /** How long to wait for a started session to appear (ms). */
  readonly appearTimeoutMs?: number;
}

/**
 * A backend package's entry point: its name, what it can do, and how to make it on a host. The CLI's
 * registry is a typed map from backend name to a lazy import of one of these.
 */
export interface BackendFactory<O extends object = object> {
  readonly name: string;
  /** The kind under which this backend's runs are saved (`TmuxLocalManager`). */
  readonly kind: string;
  /** The tool's executable, for messages. */
  readonly binary: string;
  readonly capabilities: BackendCapabilities;
  /** A backend on `host` with these options (saved with the run, so they must be plain JSON). */
  create(host: Host, options: O): SessionBackend;
  /**
   * Options made exact for this machine before they are saved with a run, so every later command reaches
   * the same server (tmux: the socket the tool would pick from `$TMUX` and `$TMUX_TMPDIR`).
   */
  pinLocal?(options: O, env: NodeJS.ProcessEnv): O;
}

/** What a status poll gathers. */
export interface StatusOptions {
  /**
   * Read each tab's process tree (pids, command lines, cpu, memory). Default true; monitoring turns it
   * off, since deciding running / exited / killed needs only the panes and the tab records.
   */
  processes?: boolean;
  /**
   * When the caller began asking (`performance.now()`), for a caller asking many runs: a look at a
   * machine's processes made since then answers every run's "what did an ended tab leave running".
   * Default: when this status began.
   */
  since?: number;
}
