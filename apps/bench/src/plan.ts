/** What one mode runs. */
export interface Plan {
  launch: { tabs: number; reps: number; warmup: number }[];
  /** Launches with no tmux server running before (each contender starts it). */
  cold: { tabs: number; reps: number; warmup: number }[];
  /** Tabs of the exit-latency scenario (each released in turn). */
  latencyTabs: number;
  status: { panes: number; reps: number }[];
  monitor: { tabs: number; seconds: number; intervalMs: number };
  cliStart: { reps: number; warmup: number };
  /** 3 loopback hosts × `tabs`; 0 reps skips it. */
  remote: { tabs: number; reps: number };
  /** Launch sizes against the real zellij (none: skipped) and repetitions of its status. */
  zellij: { sizes: { tabs: number; reps: number }[]; statusReps: number };
}

/** The full run, and the reduced one CI uses (`--quick`, under a minute). */
export const PLANS: Record<"full" | "quick", Plan> = {
  full: {
    // 1 … 200 tabs: the scaling chart; 20 and 100 carry the goals.
    launch: [
      { tabs: 1, reps: 5, warmup: 1 },
      { tabs: 5, reps: 5, warmup: 0 },
      { tabs: 20, reps: 7, warmup: 0 },
      { tabs: 50, reps: 3, warmup: 0 },
      { tabs: 100, reps: 5, warmup: 0 },
      { tabs: 200, reps: 3, warmup: 0 },
    ],
    cold: [
      { tabs: 20, reps: 5, warmup: 0 },
      { tabs: 100, reps: 3, warmup: 0 },
    ],
    latencyTabs: 10,
    status: [
      { panes: 100, reps: 15 },
      { panes: 500, reps: 15 },
    ],
    monitor: { tabs: 100, seconds: 30, intervalMs: 1000 },
    cliStart: { reps: 30, warmup: 3 },
    remote: { tabs: 30, reps: 3 },
    zellij: {
      sizes: [
        { tabs: 5, reps: 3 },
        { tabs: 20, reps: 3 },
      ],
      statusReps: 7,
    },
  },
  quick: {
    launch: [{ tabs: 20, reps: 3, warmup: 0 }],
    cold: [{ tabs: 20, reps: 2, warmup: 0 }],
    latencyTabs: 5,
    status: [{ panes: 100, reps: 7 }],
    monitor: { tabs: 100, seconds: 5, intervalMs: 1000 },
    cliStart: { reps: 10, warmup: 2 },
    remote: { tabs: 30, reps: 1 },
    // zellij starts in about a second per run: the full run measures it, CI does not wait for it.
    zellij: { sizes: [], statusReps: 0 },
  },
};

/** `pnpm bench --help`. */
export const USAGE = `pnpm bench [--quick] [--no-install] [--render] [--only launch,cold,status,monitor,latency,cli,remote,zellij] [--tabs 20,100] [--reps N]
  --quick       reduced set in under a minute; writes apps/bench/results/quick.json, not BENCHMARKS.md
  --no-install  do not apt-get install tmuxp/tmuxinator when missing (they are reported as skipped)
  --only        run only these scenarios (results.json is still written, BENCHMARKS.md is not)
  --tabs        launch sizes instead of the mode's (BENCHMARKS.md is then not written)
  --reps        repetitions of every launch size and status size
  --render      measure nothing: write BENCHMARKS.md again from apps/bench/results/latest.json`;

/** Apply `--tabs` and `--reps` to a plan. */
export function withOverrides(plan: Plan, argv: readonly string[]): Plan {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const tabs = value("--tabs")
    ?.split(",")
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  const reps = Number(value("--reps"));
  const out = structuredClone(plan);
  if (tabs?.length) {
    out.launch = tabs.map((t) => ({ tabs: t, reps: out.launch[0]!.reps, warmup: out.launch[0]!.warmup }));
    out.cold = [];
  }
  if (Number.isInteger(reps) && reps > 0) {
    for (const l of [...out.launch, ...out.cold]) l.reps = reps;
    for (const s of out.status) s.reps = reps;
  }
  return out;
}
