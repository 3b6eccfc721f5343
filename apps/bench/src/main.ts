import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { launchChart } from "./chart.js";
import { cliBin, describeEnvironment, ensureAnchors, REPO_ROOT, staleBuilds, which } from "./env.js";
import type { BenchResults } from "./model.js";
import { PLANS, USAGE, withOverrides } from "./plan.js";
import { evaluateTargets, renderReport } from "./report.js";
import { rmTree, Sandbox } from "./sandbox.js";
import { runCliStart } from "./scenarios/cli-start.js";
import { runLatency, runStatusRss } from "./scenarios/events.js";
import { contenders, runLaunch, warmCli } from "./scenarios/launch.js";
import { runMonitor } from "./scenarios/monitor.js";
import { runRemote } from "./scenarios/remote.js";
import { type ManagedFixture, managedFixture, runStatus } from "./scenarios/status.js";
import { runZellij } from "./scenarios/zellij.js";

async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (argv.includes("--render")) return render();
  const quick = argv.includes("--quick");
  const onlyAt = argv.indexOf("--only");
  const only = onlyAt >= 0 ? new Set((argv[onlyAt + 1] ?? "").split(",")) : undefined;
  const want = (s: string) => !only || only.has(s);
  const mode = quick ? "quick" : "full";
  const plan = withOverrides(PLANS[mode], argv);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const started = performance.now();
  const [startLoad] = loadavg();
  const notes: string[] = [];
  let failed = false;

  if (!which("tmux")) {
    log("bench: tmux is not installed; nothing to measure (apt-get install -y tmux)");
    return 1;
  }
  const cli = cliBin();
  const stale = staleBuilds();
  if (stale.length) {
    const msg = `built code older than its source (or missing) for ${stale.join(", ")}: run \`pnpm --filter @mc/core --filter @mc/tmux --filter @mc/cli build\` first; figures below measure the old build`;
    log(`bench: WARNING: ${msg}`);
    notes.push(msg);
  }
  const anchors = ensureAnchors({ install: !argv.includes("--no-install"), log });
  if (anchors.note) notes.push(anchors.note);
  for (const m of Object.values(anchors.missing)) notes.push(`skipped: ${m}`);
  const env = describeEnvironment();
  log(
    `bench: ${mode} run on ${env.cpuModel} (${env.cores} cores), ${Object.entries(env.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
  );

  const sb = new Sandbox();
  const removeHandlers = sb.installHandlers();
  const results: BenchResults = {
    mode,
    date: new Date().toISOString(),
    durationMs: 0,
    env,
    launch: [],
    status: [],
    remote: { skipped: "not run" },
    targets: [],
    notes,
  };
  const attempt = async (name: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      failed = true;
      const msg = `${name} failed: ${(e as Error).message}`;
      log(`bench: ${msg}`);
      notes.push(msg);
    }
  };
  try {
    if (want("cli")) {
      await attempt("CLI start", async () => {
        log("CLI start…");
        results.cliStart = runCliStart({ cli, ...plan.cliStart, env: sb.env });
      });
    }
    const all = contenders({ cli, ...anchors });
    if (want("launch") || want("cold") || want("latency") || want("monitor") || want("status")) {
      // A user's second command finds the compile cache their first one wrote: so does every timed one.
      await attempt("compile cache warm-up", async () => {
        log("warming the CLI's compile cache (one untimed `sessions run` of 1 tab)…");
        await warmCli(sb, all);
      });
    }
    if (want("launch")) {
      for (const l of plan.launch) {
        await attempt(`launch ${l.tabs}`, async () => {
          log(`launch ${l.tabs} tabs…`);
          results.launch.push(await runLaunch(sb, all, { ...l, log }));
        });
      }
    }
    if (want("cold")) {
      for (const l of plan.cold) {
        await attempt(`launch ${l.tabs} (cold server)`, async () => {
          log(`launch ${l.tabs} tabs, no server running…`);
          results.launch.push(await runLaunch(sb, all, { ...l, cold: true, log }));
        });
      }
    }
    if (want("latency")) {
      await attempt("exit latency", async () => {
        log(`exit latency over ${plan.latencyTabs} tabs…`);
        results.latency = await runLatency(sb, { cli, tabs: plan.latencyTabs });
      });
    }
    if (want("status") || want("monitor")) {
      for (const s of plan.status) {
        const withMonitor = want("monitor") && s.panes === plan.monitor.tabs;
        if (!want("status") && !withMonitor) continue;
        let fixture: ManagedFixture | undefined;
        await attempt(`status ${s.panes}`, async () => {
          log(`status ${s.panes} panes: starting them…`);
          fixture = await managedFixture(sb, s.panes);
          if (want("status")) {
            results.status.push(await runStatus(fixture, { reps: s.reps, env: sb.env }));
            if (s.panes === Math.max(...plan.status.map((x) => x.panes)))
              results.rss = runStatusRss(sb, fixture, { cli });
          }
          if (withMonitor) {
            log(
              `monitoring ${s.panes} tabs for ${plan.monitor.seconds} s (status --watch, events --follow)…`,
            );
            results.monitor = await runMonitor(sb, fixture, { cli, ...plan.monitor });
            results.follow = await runMonitor(sb, fixture, {
              cli,
              ...plan.monitor,
              args: ["events", "--follow"],
              settleMs: 3000,
            });
          }
        });
        if (fixture) {
          sb.killServer(fixture.sock);
          try {
            rmTree(dirname(fixture.sock));
          } catch {}
        }
      }
      if (want("monitor") && !results.monitor)
        results.monitor = { skipped: `no ${plan.monitor.tabs}-pane fixture was started` };
    }
    if (!want("remote")) results.remote = { skipped: "not selected (--only)" };
    else if (plan.remote.reps === 0) results.remote = { skipped: "quick mode (the full run measures it)" };
    else {
      await attempt("remote", async () => {
        log(`remote: 10 hosts × ${plan.remote.tabs} tabs through a private sshd…`);
        results.remote = await runRemote(sb, { ...plan.remote, withoutReuse: mode === "full", log });
      });
    }
    if (results.remote.skipped) log(`remote: skipped: ${results.remote.skipped}`);
    if (!want("zellij")) results.zellij = { skipped: "not selected (--only)" };
    else if (plan.zellij.sizes.length === 0)
      results.zellij = { skipped: "quick mode (the full run measures it)" };
    else {
      await attempt("zellij", async () => {
        log("zellij: launch and status against the real zellij…");
        results.zellij = await runZellij(sb, { cli, ...plan.zellij, log });
      });
    }
    if (results.zellij?.skipped) log(`zellij: skipped: ${results.zellij.skipped}`);
  } finally {
    sb.cleanup();
    removeHandlers();
  }

  results.durationMs = performance.now() - started;
  const [endLoad] = loadavg();
  notes.push(
    `load average (1 min) at start ${startLoad!.toFixed(2)}, at end ${endLoad!.toFixed(2)} on ${env.cores} cores: other work on the machine slows and scatters every contender alike (they are interleaved), so read the ratios`,
  );
  results.targets = evaluateTargets(results);
  const svg = launchChart(results);
  // A quick or partial run never overwrites the chart of a full one.
  if (svg && !quick && !only && !argv.includes("--tabs") && !argv.includes("--reps")) {
    writeFileSync(join(REPO_ROOT, "apps", "bench", "launch-scaling.svg"), svg);
    results.chart = "apps/bench/launch-scaling.svg";
  }
  const report = renderReport(results);
  process.stdout.write(`${report}\n`);
  const resultsDir = join(REPO_ROOT, "apps", "bench", "results");
  mkdirSync(resultsDir, { recursive: true });
  // Only a whole full run is `latest.json` (what --render reads); a partial run never overwrites it.
  const partial = only || argv.includes("--tabs") || argv.includes("--reps");
  const jsonPath = join(resultsDir, quick ? "quick.json" : partial ? "partial.json" : "latest.json");
  writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  log(`bench: wrote ${jsonPath}`);
  // A quick run (CI) must not dirty the tree; a partial run (--only) would overwrite real figures.
  if (!quick && !only && !argv.includes("--tabs") && !argv.includes("--reps")) {
    writeFileSync(join(REPO_ROOT, "BENCHMARKS.md"), report);
    log(`bench: wrote ${join(REPO_ROOT, "BENCHMARKS.md")}`);
  }
  for (const t of results.targets) log(`${t.verdict.padEnd(4)} ${t.name}: ${t.measured} (goal ${t.goal})`);
  log(`bench: done in ${(results.durationMs / 1000).toFixed(1)} s`);
  return failed ? 1 : 0;
}

/** `--render`: BENCHMARKS.md again from the last full run's figures (after a change to the report only). */
function render(): number {
  const results = JSON.parse(
    readFileSync(join(REPO_ROOT, "apps", "bench", "results", "latest.json"), "utf8"),
  ) as BenchResults;
  results.targets = evaluateTargets(results);
  writeFileSync(join(REPO_ROOT, "BENCHMARKS.md"), renderReport(results));
  process.stderr.write(`bench: rendered BENCHMARKS.md from the run of ${results.date}\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
