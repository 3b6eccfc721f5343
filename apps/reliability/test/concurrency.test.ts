import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PrivateTmux, privateTmux } from "../../../packages/tmux/test/harness.js";
import { BIN, delay, type Ran, recordFigures, requireCli, sessions } from "./support.js";

const figures: Record<string, unknown> = {};
let t: PrivateTmux;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  requireCli();
  t = privateTmux();
  env = { ...t.env, NO_COLOR: "1" };
});
afterAll(async () => {
  t.stop();
  await recordFigures("concurrency", figures);
});

interface LsRow {
  run: string;
  session: string;
  live: boolean;
  /** Killed or replaced sessions stay listed (with their logs) until pruned. */
  ended?: { at: string; by: string };
}

const lsFailures: string[] = [];

async function ls(): Promise<LsRow[]> {
  const r = await sessions(["ls", "--json"], env, t.work);
  if (r.code !== 0) {
    lsFailures.push(`ls exited ${r.code}: ${r.stderr.trim()}`);
    return [];
  }
  return JSON.parse(r.stdout).runs as LsRow[];
}

const crashed = (r: Ran) => r.code === 1 && /this is a bug in mc|TypeError|ReferenceError/.test(r.stderr);

describe("concurrency: status and kill while run is starting", () => {
  it("no crash, no lost session, no session killed that was not asked for, state consistent", async () => {
    const started = performance.now();
    const rounds = 3;
    let statusCalls = 0;
    let killCalls = 0;
    const problems: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const names = Array.from({ length: 8 }, (_, i) => `c${round}-${i}`);
      const file = join(t.dir, `conc${round}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          version: "0.1",
          layouts: names.map((layoutName) => ({
            layoutName,
            layoutTabs: [{ tabName: "t", startDir: t.work, command: "sleep 120" }],
          })),
        }),
      );
      const run = new Promise<Ran>((resolve) => {
        execFile(
          process.execPath,
          [BIN, "run", file, "--socket", t.socket, "--sleep-inbetween", "0.1"],
          { env, cwd: t.work },
          (err, stdout, stderr) =>
            resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
      let done = false;
      void run.then(() => {
        done = true;
      });
      const targeted = new Set<string>();
      const others: Promise<Ran>[] = [];
      // While the run starts its sessions: status twice at a time, and a kill of every other session as soon as it is recorded.
      while (!done) {
        others.push(sessions(["status", "--json"], env, t.work), sessions(["status"], env, t.work));
        statusCalls += 2;
        const rows = await ls();
        for (const row of rows) {
          const k = Number(row.session.split("-")[1]);
          if (row.session.startsWith(`c${round}-`) && k % 2 === 0 && !targeted.has(row.session)) {
            targeted.add(row.session);
            others.push(sessions(["kill", row.session], env, t.work));
            killCalls++;
          }
        }
        await delay(Math.random() * 80);
      }
      const runResult = await run;
      const results = await Promise.all(others);
      if (runResult.code !== 0)
        problems.push(`round ${round}: run exited ${runResult.code}: ${runResult.stderr}`);
      for (const r of results) {
        if (crashed(r)) problems.push(`round ${round}: crash: ${r.stderr}`);
        else if (r.code !== 0) problems.push(`round ${round}: exit ${r.code}: ${r.stderr.split("\n")[0]}`);
      }
      const live = t.sessions().filter((s) => s.startsWith(`c${round}-`));
      const listed = (await ls()).filter((r) => r.session.startsWith(`c${round}-`));
      const recorded = listed.filter((r) => !r.ended);
      const ended = listed.filter((r) => r.ended);
      const untargeted = names.filter((n) => !targeted.has(n));
      // Sessions nobody asked to kill are alive and recorded exactly once; killed ones are gone and forgotten.
      for (const n of untargeted) {
        if (!live.includes(n)) problems.push(`round ${round}: ${n} was killed without being asked`);
        const rec = recorded.filter((r) => r.session === n);
        if (rec.length !== 1 || !rec[0]!.live)
          problems.push(`round ${round}: ${n} recorded ${rec.length} time(s) (live: ${rec[0]?.live})`);
      }
      for (const n of targeted) {
        if (live.includes(n)) problems.push(`round ${round}: ${n} survived its kill`);
        if (recorded.some((r) => r.session === n))
          problems.push(`round ${round}: ${n} killed but still managed`);
        const gone = ended.filter((r) => r.session === n);
        if (gone.length !== 1 || gone[0]!.ended!.by !== "killed")
          problems.push(`round ${round}: ${n} killed but listed ${gone.length} time(s) as ended (killed)`);
      }
      for (const r of ended) {
        if (!targeted.has(r.session))
          problems.push(`round ${round}: ${r.session} listed as ended, never killed`);
      }
      for (const n of live) {
        if (!recorded.some((r) => r.session === n))
          problems.push(`round ${round}: ${n} is running but no run file records it (orphan)`);
      }
      figures[`round${round}`] = {
        started: names.length,
        killedWhileStarting: targeted.size,
        live: live.length,
        recorded: recorded.length,
      };
    }
    problems.push(...lsFailures);
    // Whatever is still recorded must go with `kill --all`; a survivor is a session mc lost track of.
    const cleanup = await sessions(["kill", "--all"], env, t.work);
    if (cleanup.code !== 0) problems.push(`kill --all exited ${cleanup.code}: ${cleanup.stderr}`);
    const survivors = t.sessions().filter((s) => s !== "keeper");
    for (const s of survivors) problems.push(`${s} survived kill --all (orphan)`);
    for (const s of survivors) t.tmux("kill-session", "-t", `=${s}`);
    figures.statusCalls = statusCalls;
    figures.killCalls = killCalls;
    figures.problems = problems;
    figures.ms = Math.round(performance.now() - started);
    expect(problems).toEqual([]);
  }, 120_000);
});
