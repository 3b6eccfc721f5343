import type { BenchResults, LaunchResult, MonitorResult, Target } from "./model.js";
import { fmtMs, fmtRatio, ratio } from "./stats.js";

/** Column alignment of {@link markdownTable}. */
export type Align = "l" | "r";

/** Escape a cell for a GitHub markdown table (pipes and newlines would break the row). */
export function mdCell(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

/** A padded GitHub markdown table, readable as plain text in a terminal too. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string {
  const cells = [header, ...rows].map((r) => header.map((_, i) => mdCell(r[i] ?? "")));
  const width = header.map((_, i) => Math.max(3, ...cells.map((r) => [...r[i]!].length)));
  const pad = (s: string, i: number) => {
    const fill = " ".repeat(width[i]! - [...s].length);
    return align[i] === "r" ? fill + s : s + fill;
  };
  const line = (r: readonly string[]) => `| ${r.map(pad).join(" | ")} |`;
  const rule = `|${width.map((w, i) => (align[i] === "r" ? `${"-".repeat(w + 1)}:` : `${"-".repeat(w + 2)}`)).join("|")}|`;
  return [line(cells[0]!), rule, ...cells.slice(1).map(line)].join("\n");
}

const range = (min: number, max: number) => (Number.isFinite(min) ? `${fmtMs(min)} – ${fmtMs(max)}` : "—");

/** The table of one launch scenario. */
export function launchTable(l: LaunchResult): string {
  return markdownTable(
    ["contender", "median", "min – max", "× floor", "all running", "launcher returned", "runs"],
    l.rows.map((r) =>
      r.skipped
        ? [r.label, "skipped", r.skipped, "—", "—", "—", "0"]
        : [
            r.label,
            fmtMs(r.stats.median),
            range(r.stats.min, r.stats.max),
            fmtRatio(r.ratio),
            fmtMs(r.ready.median),
            fmtMs(r.returned.median),
            `${r.stats.n}${r.stats.failed ? ` (+${r.stats.failed} failed${r.error ? `: ${r.error}` : ""})` : ""}`,
          ],
    ),
    ["l", "r", "r", "r", "r", "r", "r"],
  );
}

const isMonitor = (m: BenchResults["monitor"]): m is MonitorResult => m !== undefined && !("skipped" in m);

/** PASS/MISS for each goal, from figures of the same run (SKIP when a side was not measured). */
export function evaluateTargets(r: BenchResults): Target[] {
  const out: Target[] = [];
  const verdict = (ok: boolean | undefined): Target["verdict"] =>
    ok === undefined ? "SKIP" : ok ? "PASS" : "MISS";
  const launch = [...r.launch].sort((a, b) => b.tabs - a.tabs)[0];
  if (launch) {
    const row = (id: string) => launch.rows.find((x) => x.id === id);
    const mc = row("sessions");
    const floor = row("floor");
    const at = `${launch.tabs} tabs${launch.tabs < 100 ? " (goal is set at 100)" : ""}`;
    const have = (x: typeof mc) => x !== undefined && !x.skipped && Number.isFinite(x.stats.median);
    const vsFloor = have(mc) && have(floor) ? ratio(mc!.stats.median, floor!.stats.median) : Number.NaN;
    out.push({
      name: `launch, ${at}: sessions run vs floor`,
      goal: "≤ 1.15× floor",
      measured: fmtRatio(vsFloor),
      verdict: verdict(Number.isFinite(vsFloor) ? vsFloor <= 1.15 : undefined),
    });
    for (const id of ["tmuxp", "tmuxinator"]) {
      const peer = row(id);
      const speedup = have(mc) && have(peer) ? ratio(peer!.stats.median, mc!.stats.median) : Number.NaN;
      out.push({
        name: `launch, ${at}: sessions run vs ${id}`,
        goal: `≥ 2× faster than ${id}`,
        measured: Number.isFinite(speedup)
          ? `${speedup.toFixed(2)}× faster`
          : peer?.skipped
            ? `${id} skipped`
            : "—",
        verdict: verdict(Number.isFinite(speedup) ? speedup >= 2 : undefined),
      });
    }
  }
  if (r.status.length) {
    const worst = Math.max(...r.status.flatMap((s) => [...s.spawned, ...s.execs]));
    out.push({
      name: `status subprocesses (${r.status.map((s) => s.panes).join(", ")} panes)`,
      goal: "≤ 2 at any size",
      measured: `${worst}`,
      verdict: verdict(Number.isFinite(worst) ? worst <= 2 : undefined),
    });
  }
  const m = r.monitor;
  out.push({
    name: isMonitor(m)
      ? `monitoring ${m.tabs} tabs, ${m.seconds} s at ${m.intervalMs / 1000} s`
      : "monitoring",
    goal: "≤ 1% of one core",
    measured: isMonitor(m) ? `${m.percent.toFixed(2)}%` : (m?.skipped ?? "not run"),
    verdict: verdict(isMonitor(m) && Number.isFinite(m.percent) ? m.percent <= 1 : undefined),
  });
  const c = r.cliStart;
  out.push({
    name: "CLI start: sessions --version vs node -e 0",
    goal: "≤ 1.5×",
    measured: c ? fmtRatio(c.ratio) : "not run",
    verdict: verdict(c && Number.isFinite(c.ratio) ? c.ratio <= 1.5 : undefined),
  });
  return out;
}

/** The targets as a table. */
export function targetsTable(targets: readonly Target[]): string {
  return markdownTable(
    ["target", "goal", "measured", "verdict"],
    targets.map((t) => [t.name, t.goal, t.measured, t.verdict]),
  );
}

/**
 * Split `sessions run`'s median into floor + wrapper + CLI process, per launch size, from the diagnostic
 * row and the CLI start figures of the same run. Rows of formatted cells; empty when a part is missing.
 */
export function launchBreakdown(r: BenchResults): string[][] {
  const out: string[][] = [];
  for (const l of r.launch) {
    const med = (id: string) => l.rows.find((x) => x.id === id && !x.skipped)?.stats.median ?? Number.NaN;
    const [floor, wrapped, mc] = [med("floor"), med("floor-wrapped"), med("sessions")];
    if (![floor, wrapped, mc].every(Number.isFinite)) continue;
    const node = r.cliStart?.node.median ?? Number.NaN;
    const load = r.cliStart ? r.cliStart.help.median - node : Number.NaN;
    const signed = (ms: number) =>
      Number.isFinite(ms) ? `${ms < 0 ? "−" : "+"}${fmtMs(Math.abs(ms))}` : "—";
    out.push([
      `${l.tabs}`,
      fmtMs(floor),
      signed(wrapped - floor),
      signed(mc - wrapped),
      fmtMs(node),
      fmtMs(load),
      fmtMs(mc),
    ]);
  }
  return out;
}

/** The whole report (BENCHMARKS.md in a full run; printed to the terminal in both modes). */
export function renderReport(r: BenchResults): string {
  const e = r.env;
  const parts: string[] = [
    "# Benchmarks",
    "",
    "<!-- Generated by `pnpm bench` (apps/bench). Do not edit by hand: run it again. -->",
    "",
    "How fast mc brings up and watches terminal sessions, next to tmuxp, tmuxinator and the tmux floor.",
    "Every figure is a median of runs made in one process, contenders interleaved run by run (A B C A B C …),",
    "each on a fresh private tmux server (`-S <tmpdir>/sock`, `SHELL=/bin/sh`, `-f` config with",
    "`set -g default-shell /bin/sh`). Goals are ratios against a baseline measured in the same run, never",
    "absolute times: a VM's speed varies by ±10–30 % from run to run.",
    "",
    `Run: ${r.date} (${r.mode}, ${(r.durationMs / 1000).toFixed(0)} s) · machine: ${e.cpuModel}, ${e.cores} cores, ${e.ramGiB} GiB RAM, ${e.os}, Linux ${e.kernel}`,
    "",
    `Versions: ${Object.entries(e.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(" · ")}`,
    "",
    "## Targets",
    "",
    targetsTable(r.targets),
    "",
  ];
  if (r.launch.length) {
    parts.push(
      "## Launch",
      "",
      "Detached, from spawning the launcher until every tab's command runs: tab *i*'s command is",
      "`touch <markers>/<i>; exec sleep 100000`, and the bench polls until all N marker files exist **and**",
      "the launcher has exited (both columns are shown too). The tmux server is started before the timer,",
      "the same way for every contender.",
      "",
      "- **floor**: one `tmux source-file` of a hand-written script; each window's command is its pane argv.",
      "- **tmux per command**: `new-session`, then one `tmux new-window` process per tab (how machineconfig",
      "  and most peers build).",
      "- **sessions run**: the built CLI (`node apps/cli/dist/bin.js run FILE --socket SOCK`), private",
      "  `MC_STATE_DIR`; every tab runs through mc's outcome wrapper, as in real use.",
      "- **(diagnostic) floor + mc tab wrapper**: the floor's script, but each pane runs mc's per-tab outcome",
      "  wrapper (`posixTabScript`) as `sessions run` does. floor → this row is what the wrapper costs; this",
      "  row → `sessions run` is what the CLI process costs (node start, module loading, planning, state).",
      "- **tmuxp**: `tmuxp load -d -y -S SOCK FILE.yaml`, `shell_command` per pane (sent with send-keys).",
      "- **tmuxinator**: `tmuxinator start -p FILE.yml --no-attach`, `socket_path:` in the YAML.",
      "",
    );
    for (const l of r.launch) parts.push(`### ${l.tabs} tabs (${l.reps} runs each)`, "", launchTable(l), "");
    const d = launchBreakdown(r);
    if (d.length) {
      parts.push(
        "### Where `sessions run`'s time goes",
        "",
        "Differences of medians from the tables above (and the CLI start table below); an estimate, not a profile.",
        "",
        markdownTable(
          [
            "tabs",
            "floor",
            "+ tab wrapper",
            "+ CLI process",
            "of which node start",
            "of which loading the CLI",
            "= sessions run",
          ],
          d,
          ["r", "r", "r", "r", "r", "r", "r"],
        ),
        "",
      );
    }
  }
  if (r.status.length) {
    parts.push(
      "## Status",
      "",
      "`TmuxLocalManager.checkAllSessionsStatus()` (in-process, built packages) on sessions of 100 tabs each,",
      "against a bare `tmux list-panes -a` with the same format (one subprocess). Subprocesses are counted",
      "twice: the Host's `spawned` counter, and a hook on `child_process.spawn` in the bench process.",
      "",
      markdownTable(
        [
          "panes",
          "sessions",
          "status median",
          "min – max",
          "bare list-panes",
          "× bare",
          "subprocesses (Host)",
          "spawn() calls",
          "tabs seen running",
        ],
        r.status.map((s) => [
          `${s.panes}`,
          `${s.sessions}`,
          fmtMs(s.mc.median),
          range(s.mc.min, s.mc.max),
          fmtMs(s.bare.median),
          fmtRatio(s.ratio),
          `${Math.max(...s.spawned)}`,
          `${Math.max(...s.execs)}`,
          `${s.running}`,
        ]),
        ["r", "r", "r", "r", "r", "r", "r", "r", "r"],
      ),
      "",
    );
  }
  parts.push("## Monitoring cost", "");
  if (isMonitor(r.monitor)) {
    const m = r.monitor;
    parts.push(
      `A child \`sessions status --watch --interval ${m.intervalMs / 1000} --json\` watching ${m.tabs} running tabs. CPU time`,
      "(user + sys of the process and of the children it reaped, from `/proc/<pid>/stat`) over a window that",
      "starts after its first snapshot, so node's start-up is not counted (shown separately).",
      "",
      markdownTable(
        [
          "tabs",
          "window",
          "snapshots",
          "CPU (watch + its tmux clients)",
          "of which tmux clients",
          "% of one core",
          "tmux server CPU",
          "server %",
          "start-up CPU",
        ],
        [
          [
            `${m.tabs}`,
            `${m.seconds} s`,
            `${m.cycles}`,
            fmtMs(m.cpuMs),
            fmtMs(m.childCpuMs),
            `${m.percent.toFixed(2)}%`,
            fmtMs(m.serverCpuMs),
            `${m.serverPercent.toFixed(2)}%`,
            fmtMs(m.startupCpuMs),
          ],
        ],
        ["r", "r", "r", "r", "r", "r", "r", "r", "r"],
      ),
      "",
    );
  } else parts.push(`Skipped: ${r.monitor?.skipped ?? "not run"}.`, "");
  parts.push("## CLI start", "");
  if (r.cliStart) {
    const c = r.cliStart;
    parts.push(
      `Each spawned ${c.reps} times, interleaved.`,
      "",
      markdownTable(
        ["command", "median", "min – max", "× node -e 0"],
        [
          [
            "node apps/cli/dist/bin.js --version",
            fmtMs(c.sessions.median),
            range(c.sessions.min, c.sessions.max),
            fmtRatio(c.ratio),
          ],
          ["node -e 0", fmtMs(c.node.median), range(c.node.min, c.node.max), "1.00×"],
          [
            "(diagnostic) node apps/cli/dist/bin.js --help",
            fmtMs(c.help.median),
            range(c.help.min, c.help.max),
            fmtRatio(ratio(c.help.median, c.node.median)),
          ],
        ],
        ["l", "r", "r", "r"],
      ),
      "",
    );
  } else parts.push("Not run.", "");
  parts.push("## Remote", "");
  if (r.remote.skipped) parts.push(`Skipped: ${r.remote.skipped}.`, "");
  else
    parts.push(
      "`TmuxRemoteManager` (`@mc/remote`, in-process) on three loopback hosts: one private sshd on 127.0.0.1",
      "listening on three ports, each host with its own tmux server. Launch is timed from `startAllSessions()`",
      "until every remote tab's marker exists; status is `checkAllSessionsStatus()` over all of them, its",
      "subprocesses counted with the `child_process.spawn` hook (local ssh clients). With reuse is the package's",
      "default (`ControlMaster=auto`, a fresh control directory per run, so the first connection is included);",
      "without, an ssh wrapper puts `ControlMaster=no` and `ControlPath=none` first. Cases alternate run by run.",
      "",
      markdownTable(
        ["case", "median", "min – max", "subprocesses"],
        (r.remote.rows ?? []).map((x) => [
          x.label,
          fmtMs(x.stats.median),
          range(x.stats.min, x.stats.max),
          x.spawned === undefined ? "—" : `${x.spawned}`,
        ]),
        ["l", "r", "r", "r"],
      ),
      "",
    );
  if (r.notes.length) parts.push("## Notes", "", ...r.notes.map((n) => `- ${n}`), "");
  parts.push(
    "## Reproduce",
    "",
    "```sh",
    "pnpm build            # the bench runs the built packages and CLI",
    "pnpm bench            # full run: writes BENCHMARKS.md and apps/bench/results/latest.json",
    "pnpm bench --quick    # under a minute: prints, writes apps/bench/results/quick.json only",
    "```",
    "",
    "tmuxp and tmuxinator come from Debian (`apt-get install -y tmuxp tmuxinator`); the bench installs them",
    "when it runs as root with apt, and otherwise reports them as skipped.",
    "",
  );
  return parts.join("\n");
}
