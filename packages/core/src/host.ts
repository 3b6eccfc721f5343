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
}

/**
 * Where commands run. Backends never spawn processes any other way. File operations go through the host
 * too, so a remote host can upload artefacts and read run state over the same connection.
 */
export interface Host {
  /** `local`, or `ssh:<target>` for a remote host. Used in messages and state. */
  readonly id: string;
  /** Run a command to completion. Throws McError BINARY_NOT_FOUND when the executable does not exist. */
  run(cmd: Command, opts?: { signal?: AbortSignal }): Promise<CommandResult>;
  /** Run a command attached to this terminal (attach); resolves with its exit code. */
  runInteractive(cmd: Command): Promise<number>;
  info(): Promise<HostInfo>;
  /** Text of a file, or undefined when it does not exist. */
  readFile(path: string): Promise<string | undefined>;
  /** Every regular file directly inside `dir` (name → text); empty when the directory does not exist. */
  readDir(dir: string): Promise<Map<string, string>>;
  /** Write a file atomically (temp file + rename), creating parent directories. */
  writeFile(path: string, data: string, opts?: { mode?: number }): Promise<void>;
  /** What is at `path`: a directory, a file, or nothing. */
  stat(path: string): Promise<"dir" | "file" | undefined>;
  /** Remove a file or directory tree; missing paths are fine. */
  remove(path: string): Promise<void>;
  /** The process trees under the given pids (each list starts with the root), from one read of the process table. */
  processTrees(rootPids: readonly number[]): Promise<Map<number, ProcessNode[]>>;
  /** Whether an executable is found on the host's PATH. */
  which(file: string): Promise<string | undefined>;
  /**
   * Take an exclusive lock named `name` on this host (waiting up to `timeoutMs`), so that two mc processes
   * resolving session names against the same server cannot both take the same name. Resolves with the
   * release function. Optional: a host without it is not locked.
   */
  lock?(name: string, timeoutMs?: number): Promise<() => Promise<void>>;
  /**
   * True when operations started in the same tick travel together (one round trip, as `sshHost` does):
   * a backend then issues what a poll needs at once rather than in dependent steps.
   */
  readonly coalesces?: boolean;
  /** Number of subprocesses this host has started (for benchmarks and tests). */
  readonly spawned: number;
}
