/**
 * Commands are data. Generators return {@link Command}s; only a {@link Host} runs them (local: execa,
 * remote: ssh). This single seam lets every backend run remotely and be tested without its tool.
 */
export interface Command {
  /** Executable name or path. Never a shell string. */
  file: string;
  /** Arguments, passed as they are (no shell parsing). */
  args: readonly string[];
  cwd?: string;
  /** Extra environment variables (merged over the host's environment). */
  env?: Readonly<Record<string, string>>;
  /** Text written to the command's stdin. */
  input?: string;
  /** Kill the command after this many milliseconds (then the result has `timedOut`). */
  timeoutMs?: number;
}

/** What a finished command produced. A non-zero exit is a result, not an exception. */
export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Set when the command was killed by a signal. */
  signal?: string;
  timedOut: boolean;
  durationMs: number;
}

/** What {@link HostOperations.dirAccess} found. */
export type DirAccess = "ok" | "missing" | "not-dir" | "denied";

/** The machine a host stands for. */
export interface HostInfo {
  platform: "linux" | "darwin" | "win32" | "freebsd" | "other";
  home: string;
  /** Where mc keeps run state on that machine (`$XDG_STATE_HOME/mc` by default). */
  stateDir: string;
  /** The user's login shell there (`$SHELL`), if known. */
  shell?: string;
}

/** One process in a tab's process tree. */
export interface ProcessNode {
  pid: number;
  ppid: number;
  /** Command line, arguments joined by spaces. */
  command: string;
  /** Share of one CPU since the process started, in percent. */
  cpuPercent: number;
  /** Resident memory in bytes. */
  rssBytes: number;
  /** Start time, epoch milliseconds. */
  startedAt?: number;
  /** Start time in clock ticks since boot (Linux /proc): with the pid, the process's identity. */
  startTicks?: number;
}

/**
 * The few things a transport must do. {@link defineHost} derives every other {@link Host} operation from
 * them (file reads and writes, stat, which, process trees, the lock), per platform; a transport may give
 * any of those itself when it can do better (node:fs locally, one batched round trip over ssh).
 */
export interface HostPrimitives {
  /** `local`, or `ssh:<machine>` for a remote host. Used in messages and state. */
  readonly id: string;
  /** Run a command to completion. Throws McError BINARY_NOT_FOUND when the executable does not exist. */
  /**
   * `group`: the command runs in a process group of its own, and an abort (`signal`) ends that whole group,
   * not only the command (a hook's `sleep` outlived its shell). Where the host cannot (ssh: the remote side
   * is hung up instead), the command alone.
   */
  run(cmd: Command, opts?: { signal?: AbortSignal; group?: boolean }): Promise<CommandResult>;
  /** Run a command attached to this terminal (attach); resolves with its exit code. */
  runInteractive(cmd: Command): Promise<number>;
  info(): Promise<HostInfo>;
  /** Number of subprocesses this host has started (for benchmarks and tests). */
  readonly spawned: number;
  /**
   * True when operations started in the same tick travel together (one round trip, as `sshHost` does):
   * a backend then issues what a poll needs at once rather than in dependent steps.
   */
  readonly coalesces?: boolean;
  /** The command, run on this machine, that runs `cmd` on the host with a terminal (`ssh -t …`). */
  interactiveCommand?(cmd: Command): Command;
  /** Release what the transport holds (an ssh connection this process opened). */
  close?(): Promise<void>;
  /** How far the host's clock is ahead of this machine's (ms), once known: its times are corrected by it. */
  readonly clockSkewMs?: number | undefined;
  /**
   * Why another user of this machine could write mc's state directory there (so plant the scripts tabs
   * run, or records mc acts on), or undefined. The local host judges with {@link localStateExposure}; a
   * remote host says what its info operation found.
   */
  stateExposure?(stateDir: string): Promise<string | undefined>;
}

/** Operations every {@link Host} has; {@link defineHost} derives those a transport does not give. */
export interface HostOperations {
  /** Text of a regular file, or undefined when there is none (a FIFO or device is never opened). */
  readFile(path: string): Promise<string | undefined>;
  /** Every regular file directly inside `dir` (name → text); empty when the directory does not exist. */
  readDir(dir: string): Promise<Map<string, string>>;
  /**
   * Write a file atomically (temp file + rename), creating parent directories (0700). `durable: false`
   * skips flushing it to disk first (a run's artefacts: read at once, and worthless after a reboot).
   */
  writeFile(path: string, data: string, opts?: { mode?: number; durable?: boolean }): Promise<void>;
  /** What is at `path`: a directory, a file, or nothing. */
  stat(path: string): Promise<"dir" | "file" | undefined>;
  /** Whether this user can enter directory `path` (a tab's start directory). */
  dirAccess(path: string): Promise<DirAccess>;
  /** Create a directory and its parents (the user's umask applies, as with mkdir -p). */
  makeDir(path: string): Promise<void>;
  /** Remove a file or directory tree; missing paths are fine. */
  remove(path: string): Promise<void>;
  /** The process trees under the given pids (each list starts with the root), from one read of the process table. */
  processTrees(rootPids: readonly number[]): Promise<Map<number, ProcessNode[]>>;
  /** Whether an executable is found on the host's PATH (its path). */
  which(file: string): Promise<string | undefined>;
  /**
   * Take an exclusive lock named `name` on this host (waiting up to `timeoutMs`), so that two mc processes
   * resolving session names against the same server cannot both take the same name. Resolves with the
   * release function. Staleness is decided on the host, by its clock and its process table.
   */
  lock(name: string, timeoutMs?: number): Promise<() => Promise<void>>;
}

/**
 * Where commands run. Backends never spawn processes any other way. File operations go through the host
 * too, so a remote host can upload artefacts and read run state over the same connection.
 */
export interface Host extends HostPrimitives, HostOperations {
  interactiveCommand(cmd: Command): Command;
}
