import { spawnSync } from "node:child_process";
import type { CliStartResult } from "../model.js";
import { ratio, summarize } from "../stats.js";

/** Spawn `node bin.cjs --version`, `node -e 0` and `node bin.cjs --help` in turn, `reps` times each (plus warm-up runs). */
export function runCliStart(o: {
  cli: string;
  reps: number;
  warmup: number;
  env: NodeJS.ProcessEnv;
}): CliStartResult {
  // `--help` loads the whole CLI (commander, @mc/core with zod and execa): what every real command pays,
  // compiled from the code cache the warm-up runs wrote; and once more without it (a first run ever, or
  // a user whose cache cannot be written).
  const cases = {
    sessions: [o.cli, "--version"],
    node: ["-e", "0"],
    help: [o.cli, "--help"],
    helpNoCache: [o.cli, "--help"],
  };
  const times: Record<keyof typeof cases, number[]> = { sessions: [], node: [], help: [], helpNoCache: [] };
  const noCache = { ...o.env, MC_NO_COMPILE_CACHE: "1" };
  for (let i = -o.warmup; i < o.reps; i++) {
    for (const [k, args] of Object.entries(cases) as [keyof typeof cases, string[]][]) {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, args, {
        env: k === "helpNoCache" ? noCache : o.env,
        stdio: "ignore",
      });
      const ms = performance.now() - t0;
      if (i >= 0) times[k].push(r.status === 0 ? ms : Number.NaN);
    }
  }
  const sessions = summarize(times.sessions);
  const node = summarize(times.node);
  return {
    reps: o.reps,
    sessions,
    node,
    help: summarize(times.help),
    helpNoCache: summarize(times.helpNoCache),
    ratio: ratio(sessions.median, node.median),
  };
}
