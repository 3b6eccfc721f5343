import { describe, expect, it } from "vitest";
import { launchChart } from "../src/chart.js";
import type { BenchResults, LaunchResult, LaunchRow } from "../src/model.js";
import { PLANS, withOverrides } from "../src/plan.js";
import {
  evaluateTargets,
  launchBreakdown,
  launchTable,
  markdownTable,
  mdCell,
  renderReport,
} from "../src/report.js";
import {
  floorScript,
  layoutsConfig,
  perCommandScript,
  tabCommand,
  tmuxinatorConfig,
  tmuxpConfig,
  wrappedFloorFiles,
} from "../src/scenarios/launch.js";
import { benchLayouts } from "../src/scenarios/status.js";
import { zellijFloorLayout } from "../src/scenarios/zellij.js";
import { cpuPercent, fmtMs, fmtRatio, median, procCpuMs, ratio, summarize } from "../src/stats.js";

describe("stats", () => {
  it("median of odd and even counts, unsorted input untouched", () => {
    const xs = [5, 1, 3];
    expect(median(xs)).toBe(3);
    expect(xs).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(median([])).toBeNaN();
  });

  it("summarize counts failed (NaN) samples apart and never as zero", () => {
    expect(summarize([30, Number.NaN, 10, 20])).toEqual({ n: 3, median: 20, min: 10, max: 30, failed: 1 });
    const none = summarize([Number.NaN]);
    expect(none.n).toBe(0);
    expect(none.failed).toBe(1);
    expect(none.median).toBeNaN();
    expect(none.min).toBeNaN();
  });

  it("ratio and cpuPercent refuse missing or non-positive baselines", () => {
    expect(ratio(150, 100)).toBe(1.5);
    expect(ratio(150, 0)).toBeNaN();
    expect(ratio(Number.NaN, 100)).toBeNaN();
    expect(cpuPercent(300, 30_000)).toBe(1);
    expect(cpuPercent(1, 0)).toBeNaN();
  });

  it("procCpuMs reads utime+stime (+cutime+cstime) after the last ')' of comm", () => {
    // Fields 14–17 = 120 30 7 3 ticks; comm holds spaces and a ')' to trip naive splitting.
    const stat = "4242 (node (x) y) S 1 4242 4242 0 -1 4194304 100 0 0 0 120 30 7 3 20 0 11 0 500 1000 50";
    expect(procCpuMs(stat, false, 100)).toBe(1500);
    expect(procCpuMs(stat, true, 100)).toBe(1600);
    expect(procCpuMs(stat, true, 1000)).toBe(160);
    expect(procCpuMs("garbage")).toBeNaN();
  });

  it("formats milliseconds and ratios for tables", () => {
    expect(fmtMs(4.5)).toBe("4.50 ms");
    expect(fmtMs(850.4)).toBe("850 ms");
    expect(fmtMs(2414)).toBe("2.41 s");
    expect(fmtMs(Number.NaN)).toBe("—");
    expect(fmtRatio(1.069)).toBe("1.07×");
    expect(fmtRatio(Number.NaN)).toBe("—");
  });
});

describe("markdown rendering", () => {
  it("pads columns, aligns right where asked, and escapes pipes", () => {
    const t = markdownTable(
      ["name", "ms"],
      [
        ["a|b", "5"],
        ["long name", "1234"],
      ],
      ["l", "r"],
    );
    expect(t.split("\n")).toEqual([
      "| name      |   ms |",
      "|-----------|-----:|",
      "| a\\|b      |    5 |",
      "| long name | 1234 |",
    ]);
    expect(mdCell("x\ny")).toBe("x y");
  });

  it("a missing cell renders empty rather than shifting the row", () => {
    expect(markdownTable(["a", "b"], [["1"]]).split("\n")[2]).toBe("| 1   |     |");
  });
});

const st = (median: number, n = 3) => ({ n, median, min: median * 0.9, max: median * 1.1, failed: 0 });
const row = (id: string, ms: number, extra: Partial<LaunchRow> = {}): LaunchRow => ({
  id,
  label: id,
  stats: st(ms),
  ready: st(ms),
  returned: st(ms),
  ratio: Number.NaN,
  samples: [ms],
  ...extra,
});

function results(launch: LaunchResult[], over: Partial<BenchResults> = {}): BenchResults {
  return {
    mode: "full",
    date: "2026-11-24T00:00:00.000Z",
    durationMs: 60_000,
    env: { cpuModel: "CPU", cores: 2, ramGiB: 24, os: "Debian", kernel: "6", versions: { node: "v20" } },
    launch,
    status: [],
    remote: { skipped: "no remote" },
    targets: [],
    notes: [],
    ...over,
  };
}

describe("targets", () => {
  const launch100: LaunchResult = {
    tabs: 100,
    reps: 3,
    rows: [
      row("floor", 1000),
      row("floor-wrapped", 1050),
      row("sessions", 1100),
      row("tmuxp", 2300),
      row("tmuxinator", 2100),
    ],
  };

  it("judges 100 tabs against 1.5× the floor, 20 tabs against 2.5×, the wrapper against 1.2×, and the peers", () => {
    const t = evaluateTargets(
      results([{ ...launch100, tabs: 20, rows: [row("floor", 40), row("sessions", 101)] }, launch100]),
    );
    const by = (name: string) => t.find((x) => x.name.startsWith(name));
    expect(by("launch, 100 tabs: sessions run vs floor")).toMatchObject({
      measured: "1.10×",
      verdict: "PASS",
    });
    expect(by("launch, 20 tabs: sessions run vs floor")).toMatchObject({
      measured: "2.52×",
      verdict: "MISS",
    });
    expect(by("launch, 100 tabs: floor + mc's tab wrapper")).toMatchObject({
      measured: "1.05×",
      verdict: "PASS",
    });
    expect(by("launch, 100 tabs: sessions run vs tmuxp")).toMatchObject({
      measured: "2.09×",
      verdict: "PASS",
    });
    expect(by("launch, 100 tabs: sessions run vs tmuxinator")).toMatchObject({
      measured: "1.91×",
      verdict: "MISS",
      check: true,
    });
    // The issue's own goals are the Targets table; the peers, subprocesses and CLI start are checks.
    expect(t.filter((g) => !g.check).map((g) => g.name.replace(/\d+/g, "N"))).toEqual([
      "launch, N tabs: sessions run vs floor",
      "launch, N tabs: sessions run vs floor",
      "launch, N tabs: floor + mc's tab wrapper vs floor",
      "status of N panes (the sessions status table) vs bare tmux list-panes -a",
      "status of N panes with process trees (status --json) vs bare list-panes",
      "CLI memory: sessions status --json on N panes (peak RSS, MiB)",
      "monitoring N running tabs (sessions events --follow), % of one core",
      "a tab's exit seen by events --follow (slowest of N)",
      "remote status of N hosts: ssh round trips",
    ]);
    const md = renderReport({ ...results([launch100]), targets: t });
    expect(md.indexOf("sessions run vs tmuxinator")).toBeGreaterThan(md.indexOf("Other checks"));
  });

  it("what was not measured is SKIP, never PASS; a cold launch never stands in for a warm one", () => {
    const rows = [
      row("floor", 100),
      row("sessions", 200),
      row("tmuxp", 0, { skipped: "tmuxp not installed" }),
    ];
    const t = evaluateTargets(
      results([
        { tabs: 100, reps: 1, cold: true, rows },
        { tabs: 20, reps: 1, rows },
      ]),
    );
    expect(t.find((x) => x.name.startsWith("launch, 100 tabs: sessions run vs floor"))).toMatchObject({
      verdict: "SKIP",
    });
    expect(t.find((x) => x.name.startsWith("launch, 20 tabs: sessions run vs tmuxp"))).toMatchObject({
      verdict: "SKIP",
      measured: "not measured",
    });
    for (const name of ["status of", "CLI memory", "monitoring", "a tab's exit", "remote status"])
      expect(t.find((x) => x.name.startsWith(name))?.verdict, name).toBe("SKIP");
  });

  it("status, memory, event-driven monitoring, exit latency, remote round trips and CLI start have their goals", () => {
    const status = [100, 500].map((panes) => ({
      panes,
      sessions: panes / 100,
      reps: 2,
      mc: st(20),
      bare: st(5),
      ratio: panes === 500 ? 1.8 : 4,
      spawned: [1, 1],
      execs: panes === 500 ? [1, 3] : [1, 1],
      running: panes,
    }));
    const monitor = {
      tabs: 100,
      seconds: 30,
      intervalMs: 1000,
      cpuMs: 240,
      childCpuMs: 90,
      percent: 0.8,
      serverCpuMs: 30,
      serverPercent: 0.1,
      cycles: 30,
      startupCpuMs: 200,
    };
    const follow = { ...monitor, command: "sessions events --follow", percent: 0.25 };
    const latency = { tabs: 5, samples: [20, 30, 120], stats: { ...st(30), max: 120 } };
    const rss = { panes: 500, peakMiB: 79.4, ms: 300 };
    const remote = {
      rows: [{ label: "status 10 hosts × 30 tabs, ControlMaster (default)", stats: st(500), spawned: 10 }],
    };
    const cliStart = { reps: 5, sessions: st(70), node: st(60), help: st(200), ratio: 70 / 60 };
    const t = evaluateTargets(results([], { status, monitor, follow, latency, rss, remote, cliStart }));
    const by = (name: string) => t.find((x) => x.name.startsWith(name));
    expect(by("status of 500 panes")).toMatchObject({ measured: "1.80×", verdict: "PASS" });
    expect(by("status subprocesses")).toMatchObject({ measured: "3", verdict: "MISS" });
    expect(by("CLI memory")).toMatchObject({ measured: "79.4 MiB", verdict: "PASS" });
    expect(by("monitoring")).toMatchObject({ measured: "0.25%", verdict: "PASS" });
    expect(by("a tab's exit")).toMatchObject({ verdict: "MISS" });
    expect(by("remote status")).toMatchObject({ measured: "10", verdict: "PASS" });
    expect(by("CLI start")).toMatchObject({ measured: "1.17×", verdict: "PASS" });
  });

  it("draws launch time against tabs as an SVG, one line per contender measured", () => {
    const sizes = [1, 20, 200].map((tabs) => ({
      tabs,
      reps: 1,
      rows: [
        row("floor", tabs * 2 + 10),
        row("sessions", tabs * 3 + 100),
        row("tmuxp", 0, { skipped: "absent" }),
      ],
    }));
    const svg = launchChart(results(sizes))!;
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg).toContain("sessions run: 200 tabs, 700 ms");
    expect(svg).not.toContain("tmuxp load");
    expect(launchChart(results([sizes[0]!]))).toBeUndefined();
  });

  it("breaks sessions run down into floor + wrapper + log writers + CLI process", () => {
    const cliStart = { reps: 5, sessions: st(70), node: st(60), help: st(260), ratio: 1 };
    // Without the logged row (older results) the log writers fall in the CLI process's share.
    expect(launchBreakdown(results([launch100], { cliStart }))).toEqual([
      ["100", "1.00 s", "+50 ms", "+0.00 ms", "+50 ms", "60 ms", "200 ms", "1.10 s"],
    ]);
    const logged = { ...launch100, rows: [...launch100.rows, row("floor-logged", 1080)] };
    expect(launchBreakdown(results([logged], { cliStart }))).toEqual([
      ["100", "1.00 s", "+50 ms", "+30 ms", "+20 ms", "60 ms", "200 ms", "1.10 s"],
    ]);
    expect(launchBreakdown(results([{ ...launch100, rows: [row("floor", 1)] }]))).toEqual([]);
  });

  it("renders a report with every section, the targets and a skipped contender", () => {
    const r = results([{ ...launch100, rows: [...launch100.rows, row("x", 0, { skipped: "x missing" })] }]);
    r.targets = evaluateTargets(r);
    const md = renderReport(r);
    for (const h of [
      "# Benchmarks",
      "## Targets",
      "### 100 tabs (3 runs each)",
      "## Monitoring cost",
      "## CLI start",
      "## Remote",
      "## Reproduce",
    ])
      expect(md).toContain(h);
    expect(md).toMatch(/\| x +\| +absent \| +x missing \| +— \|/);
    expect(md).toContain("Skipped: no remote.");
    expect(md).toContain("## Zellij");
    expect(md).toContain("Skipped: not run.");
    const z = renderReport({
      ...r,
      zellij: {
        version: "zellij 0.45.0",
        launch: [{ tabs: 5, reps: 1, rows: [row("zellij-floor", 300), row("zellij-sessions", 600)] }],
        status: { tabs: 5, reps: 1, mc: st(400), bare: st(50), ratio: 8 },
      },
    });
    expect(z).toContain("### zellij, 5 tabs (1 runs each)");
    expect(z).toMatch(/\| +5 \| +400 ms \|.*\| +50 ms \| +8\.00× \|/);
    expect(launchTable(launch100)).toContain("1.10 s");
    // A warm table carries the cold figures of the same size in two more columns.
    const cold = {
      ...launch100,
      cold: true,
      rows: [row("floor", 1200), { ...row("sessions", 1500), ratio: 1.25 }],
    };
    const both = launchTable(launch100, cold).split("\n");
    expect(both[0]).toMatch(/cold server \| cold × floor \|$/);
    expect(both.find((l) => l.startsWith("| sessions"))).toMatch(/1\.50 s \| +1\.25× \|$/);
    expect(both.find((l) => l.startsWith("| tmuxp"))).toMatch(/— \| +— \|$/);
  });
});

describe("launch inputs", () => {
  const c = { tabs: 3, dir: "/tmp/it's dir", sock: "/tmp/it's dir/sock", markers: "/tmp/it's dir/m" };

  it("every contender runs the same tab command, quoted for its own parser", () => {
    expect(tabCommand(c.markers, 2)).toBe(`touch '/tmp/it'\\''s dir/m/2'; exec sleep 100000`);
    const floor = floorScript(c).trim().split("\n");
    expect(floor).toHaveLength(3);
    expect(floor[0]).toMatch(/^new-session -d -s floor -n t0 -c '\/tmp\/it'"'"'s dir' /);
    expect(floor[2]).toMatch(/^new-window -d -t '=floor:' -n t2 /);
    const per = perCommandScript(c).trim().split("\n");
    expect(per).toHaveLength(4);
    expect(per[1]).toContain(`tmux -S '/tmp/it'\\''s dir/sock' new-session -d -s percmd`);
  });

  it("peer configs are JSON (valid YAML) with one window per tab", () => {
    const tp = JSON.parse(tmuxpConfig(c));
    expect(tp.windows).toHaveLength(3);
    expect(tp.windows[1].panes[0].shell_command[0]).toBe(tabCommand(c.markers, 1));
    const ti = JSON.parse(tmuxinatorConfig(c));
    expect(ti.socket_path).toBe(c.sock);
    expect(ti.windows[2]).toEqual({ t2: tabCommand(c.markers, 2) });
    const l = JSON.parse(layoutsConfig(c));
    expect(l.layouts[0].layoutTabs.map((t: { command: string }) => t.command)).toEqual(
      [0, 1, 2].map((i) => tabCommand(c.markers, i)),
    );
  });

  it("the diagnostic floor runs mc's wrapper in every pane, and its log writer as sessions run does", () => {
    const f = wrappedFloorFiles(c);
    expect(f.build.trim().split("\n")).toHaveLength(3);
    expect(f.build).toContain("'/bin/sh' ");
    expect(f.tabs).toContain("mc_put");
    const logged = wrappedFloorFiles(c, { logs: true, logWriter: "interactive" }).build.trim().split("\n");
    expect(logged).toHaveLength(6);
    expect(logged[1]).toMatch(/^pipe-pane -o -t '=wrapped:' 'MC_LOG=.*logs\/tab-0\.log.*exec awk /);
    expect(logged[5]).toMatch(/^pipe-pane -o -t '=wrapped:\{end\}' 'MC_LOG=.*logs\/tab-2\.log.*exec awk /);
    expect(logged[1]).not.toContain("tabs.sh");
  });

  it("the zellij floor is a KDL layout with one tab per command, each string quoted for KDL", () => {
    const kdl = zellijFloorLayout(c.dir, 'm"\\x', 3).trim().split("\n");
    expect(kdl[0]).toBe("layout {");
    expect(kdl.at(-1)).toBe("}");
    expect(kdl.filter((l) => l.trim().startsWith("tab "))).toHaveLength(3);
    expect(kdl[1]).toBe(`    tab name="t0" cwd="/tmp/it's dir" {`);
    // JSON string syntax is KDL v1's: the quote and the backslash are escaped.
    expect(kdl[3]).toBe(`            args "-c" ${JSON.stringify(tabCommand('m"\\x', 0))}`);
    expect(kdl[3]).toContain('\\"');
  });

  it("benchLayouts splits panes into sessions of at most 100, tab i touching marker i", () => {
    const ls = benchLayouts(250, 100, "/d", "/d/m");
    expect(ls.map((l) => l.layoutTabs.length)).toEqual([100, 100, 50]);
    expect(ls[2]!.layoutTabs[0]!.command).toBe(tabCommand("/d/m", 200));
  });
});

describe("plans", () => {
  it("quick is a subset of full; --tabs and --reps override without touching the defaults", () => {
    expect(PLANS.quick.launch.map((l) => l.tabs)).toEqual([20]);
    expect(PLANS.full.launch.map((l) => l.tabs)).toEqual([1, 5, 20, 50, 100, 200]);
    const p = withOverrides(PLANS.quick, ["--tabs", "50,x,200", "--reps", "2"]);
    expect(p.launch.map((l) => [l.tabs, l.reps])).toEqual([
      [50, 2],
      [200, 2],
    ]);
    expect(p.status[0]!.reps).toBe(2);
    expect(p.cold).toEqual([]);
    expect(PLANS.quick.launch[0]!.reps).toBe(3);
    // CI's quick run never waits for zellij; the full run measures it.
    expect(PLANS.quick.zellij.sizes).toEqual([]);
    expect(PLANS.full.zellij.sizes.map((z) => z.tabs)).toEqual([5, 20]);
  });
});
