import type { Stats } from "./stats.js";

/** One contender's figures in one launch scenario. */
export interface LaunchRow {
  id: string;
  label: string;
  /** Headline: spawn → every marker exists and the launcher has exited. Milliseconds. */
  stats: Stats;
  /** Spawn → every marker exists (the launcher may still be running). */
  ready: Stats;
  /** Spawn → the launcher exited. */
  returned: Stats;
  /** `stats.median / floor median`. */
  ratio: number;
  samples: number[];
  /** Why the contender did not run (tool missing); a skipped row has no figures. */
  skipped?: string;
  /** First error seen, when some samples failed. */
  error?: string;
}

/** Launch of N tabs, every contender interleaved run by run. */
export interface LaunchResult {
  tabs: number;
  reps: number;
  /** No tmux server ran before the launch: each contender started it (what a user meets first). */
  cold?: boolean;
  rows: LaunchRow[];
}

/** `checkAllSessionsStatus()` against a bare `tmux list-panes -a` at one size. */
export interface StatusResult {
  panes: number;
  sessions: number;
  reps: number;
  /** `checkAllSessionsStatus({ processes: false })`: what the `sessions status` table needs. */
  mc: Stats;
  bare: Stats;
  ratio: number;
  /** `checkAllSessionsStatus()` with every tab's process tree (`sessions status --json`). */
  withProcesses?: Stats;
  /** Its ratio against the bare list-panes. */
  withProcessesRatio?: number;
  /** `Host.spawned` delta of each status call (the same every time, normally). */
  spawned: number[];
  /** Processes started by this node process during each status call (child_process.spawn hook). */
  execs: number[];
  /** Tabs the last status reported as running (sanity: should equal `panes`). */
  running: number;
}

/** CPU cost of `sessions status --watch` on N tabs. */
export interface MonitorResult {
  /** The watching command (`sessions status --watch …`, `sessions events --follow`). */
  command?: string;
  tabs: number;
  seconds: number;
  intervalMs: number;
  /** CPU ms of the watch process and the children it waited for (tmux clients), during the window. */
  cpuMs: number;
  /** Part of `cpuMs` spent in the children (the tmux clients it spawned). */
  childCpuMs: number;
  percent: number;
  /** CPU ms of the tmux server during the window (answering the queries), for context. */
  serverCpuMs: number;
  serverPercent: number;
  /** Status snapshots the process printed during the window. */
  cycles: number;
  /** CPU ms of the process start (node + loading the CLI + first poll), excluded from `percent`. */
  startupCpuMs: number;
}

/** How soon a tab's end reaches `sessions events --follow` (command exit → its `tab-exited` line). */
export interface LatencyResult {
  tabs: number;
  /** Milliseconds from releasing each tab's command to reading its event. */
  samples: number[];
  stats: Stats;
}

/** Peak memory of the CLI process for `sessions status --json` on N panes. */
export interface RssResult {
  panes: number;
  /** VmHWM of the CLI process, MiB. */
  peakMiB: number;
  /** Wall time of that status call (ms), for context. */
  ms: number;
  /** VmHWM of the command's first run, which compiled the CLI and wrote its compile cache (MiB; older results lack it). */
  firstPeakMiB?: number;
}

/** `sessions --version` against `node -e 0`. */
export interface CliStartResult {
  reps: number;
  sessions: Stats;
  node: Stats;
  /** `sessions --help`: loads the whole CLI, as every real command does (diagnostic). */
  help: Stats;
  /** `sessions --help` with the compile cache off (`MC_NO_COMPILE_CACHE=1`): a first run (diagnostic; older results lack it). */
  helpNoCache?: Stats;
  ratio: number;
}

/** Remote scenario: figures, or why it did not run. */
export interface RemoteResult {
  skipped?: string;
  rows?: { label: string; stats: Stats; spawned?: number }[];
}

/** Launch and status rows against the real zellij, or why they were not measured. */
export interface ZellijResult {
  skipped?: string;
  version?: string;
  /** Per size: the floor (a hand-written layout) and `sessions run -b zellij`, interleaved. */
  launch?: { tabs: number; reps: number; rows: LaunchRow[] }[];
  /** `sessions status --json` (whole CLI process) against the bare zellij queries it needs. */
  status?: { tabs: number; reps: number; mc: Stats; bare: Stats; ratio: number };
}

/** A speed goal checked against a baseline of the same run. */
export interface Target {
  name: string;
  goal: string;
  measured: string;
  verdict: "PASS" | "MISS" | "SKIP";
  /** A check held from earlier work, not one of issue 18's goals (reported in its own table). */
  check?: true;
}

/** What the machine and tools were. */
export interface Environment {
  cpuModel: string;
  cores: number;
  ramGiB: number;
  os: string;
  kernel: string;
  versions: Record<string, string>;
}

/** Everything one `pnpm bench` run measured. */
export interface BenchResults {
  mode: "full" | "quick";
  date: string;
  durationMs: number;
  env: Environment;
  launch: LaunchResult[];
  status: StatusResult[];
  monitor?: MonitorResult | { skipped: string };
  /** The event-driven watch: `sessions events --follow` on the same tabs. */
  follow?: MonitorResult | { skipped: string };
  latency?: LatencyResult | { skipped: string };
  rss?: RssResult;
  cliStart?: CliStartResult;
  remote: RemoteResult;
  zellij?: ZellijResult;
  /** Path of the launch-scaling SVG, relative to the repository root (full runs). */
  chart?: string;
  targets: Target[];
  notes: string[];
}
