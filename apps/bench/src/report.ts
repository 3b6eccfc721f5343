import type { BenchResults, LaunchResult, Target } from "./model.js";
import { eventSections } from "./report-events.js";
import { zellijSection } from "./report-zellij.js";
import { isMonitor } from "./targets.js";

export { evaluateTargets } from "./targets.js";

import { fmtMs, fmtRatio, ratio } from "./stats.js";

/**
 * What the launch goals leave for a node CLI, from this run's own figures: node's bare start plus the
 * floor with mc's tab wrapper and log writers (the per-tab work `sessions run` keeps: exit codes, start
 * times, logs) is a lower bound for `sessions run` before it does anything of its own.
 */
export function launchBounds(r: BenchResults): string[] {
  const node = r.cliStart?.node.median;
  if (node === undefined || !Number.isFinite(node)) return [];
  const goals: Record<number, number> = { 20: 2.5, 100: 1.5 };
  const lines: string[] = [];
  for (const l of r.launch) {
    const goal = goals[l.tabs];
    if (l.cold || goal === undefined) continue;
    const med = (id: string) => l.rows.find((x) => x.id === id && !x.skipped)?.stats.median ?? Number.NaN;
    const [floor, logged, mc] = [med("floor"), med("floor-logged"), med("sessions")];
    if (![floor, logged, mc].every(Number.isFinite)) continue;
    const bound = node + logged;
    lines.push(
      `- ${l.tabs} tabs: the goal allows ${fmtMs(goal * floor)} (${goal.toFixed(2)}× a ${fmtMs(floor)} floor); \`node -e 0\` (${fmtMs(node)}) plus the floor with mc's wrapper and log writers (${fmtMs(logged)}) is already ${fmtMs(bound)}, ${fmtRatio(ratio(bound, floor))}: what is left to the CLI itself (loading, planning, state) is ${fmtMs(mc - bound)} of \`sessions run\`'s ${fmtMs(mc)}.`,
    );
  }
  return lines.length
    ? [
        "What the launch goals leave, from this run's figures (a lower bound for any node CLI that keeps per-tab",
        "exit codes, start times and logs, before it loads or plans anything):",
        "",
        ...lines,
        "",
      ]
    : [];
}

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

/**
 * The table of one launch scenario; with `cold` (the same size with no server running), two more columns:
 * each contender's cold median and its ratio to the cold floor.
 */
export function launchTable(l: LaunchResult, cold?: LaunchResult): string {
  const coldRow = (id: string) => cold?.rows.find((x) => x.id === id && !x.skipped);
  const extra = cold ? ["cold server", "cold × floor"] : [];
  return markdownTable(
    ["contender", "median", "min – max", "× floor", "all running", "launcher returned", "runs", ...extra],
    l.rows.map((r) => {
      const c = cold
        ? [fmtMs(coldRow(r.id)?.stats.median ?? Number.NaN), fmtRatio(coldRow(r.id)?.ratio ?? Number.NaN)]
        : [];
      return r.skipped
        ? [r.label, "absent", r.skipped, "—", "—", "—", "0", ...c]
        : [
            r.label,
            fmtMs(r.stats.median),
            range(r.stats.min, r.stats.max),
            fmtRatio(r.ratio),
            fmtMs(r.ready.median),
            fmtMs(r.returned.median),
            `${r.stats.n}${r.stats.failed ? ` (+${r.stats.failed} failed${r.error ? `: ${r.error}` : ""})` : ""}`,
            ...c,
          ];
    }),
    ["l", "r", "r", "r", "r", "r", "r", "r", "r"],
  );
}

/** The targets as a table. */
export function targetsTable(targets: readonly Target[]): string {
  return markdownTable(
    ["target", "goal", "measured", "verdict"],
    targets.map((t) => [t.name, t.goal, t.measured, t.verdict]),
  );
}

/**
 * Split `sessions run`'s median into floor + wrapper + log writers + CLI process, per launch size, from the diagnostic
 * row and the CLI start figures of the same run. Rows of formatted cells; empty when a part is missing.
 */
export function launchBreakdown(r: BenchResults): string[][] {
  const out: string[][] = [];
  for (const l of r.launch) {
    const med = (id: string) => l.rows.find((x) => x.id === id && !x.skipped)?.stats.median ?? Number.NaN;
    const [floor, wrapped, mc] = [med("floor"), med("floor-wrapped"), med("sessions")];
    if (![floor, wrapped, mc].every(Number.isFinite)) continue;
    // Older results have no logged row: the log writers are then part of the CLI process's share.
    const logged = Number.isFinite(med("floor-logged")) ? med("floor-logged") : wrapped;
    const node = r.cliStart?.node.median ?? Number.NaN;
    const load = r.cliStart ? r.cliStart.help.median - node : Number.NaN;
    const signed = (ms: number) =>
      Number.isFinite(ms) ? `${ms < 0 ? "−" : "+"}${fmtMs(Math.abs(ms))}` : "—";
    out.push([
      `${l.tabs}`,
      fmtMs(floor),
      signed(wrapped - floor),
      signed(logged - wrapped),
      signed(mc - logged),
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
    "The goals of issue #18, each against a baseline of the same run:",
    "",
    targetsTable(r.targets.filter((t) => !t.check)),
    "",
    ...launchBounds(r),
    "Other checks, held from earlier work (not goals of #18):",
    "",
    targetsTable(r.targets.filter((t) => t.check)),
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
      "- **sessions run**: the built CLI (`node apps/cli/dist/bin.cjs run FILE --socket SOCK`), private",
      "  `MC_STATE_DIR`; every tab runs through mc's outcome wrapper, as in real use.",
      "- **(diagnostic) floor + mc tab wrapper**: the floor's script, but each pane runs mc's per-tab outcome",
      "  wrapper (`posixTabScript`) as `sessions run` does. floor → this row is what the wrapper costs; this",
      "  row → the next is what the log writers cost.",
      "- **(diagnostic) floor + mc tab wrapper + log writers**: the same, plus each pane's output piped to its",
      "  log writer (`pipe-pane -o` running core's log writer inline: perl, or awk where there is none), as `sessions run` builds it. This row →",
      "  `sessions run` is what the CLI process costs (node start, module loading, planning, state).",
      "- **tmuxp**: `tmuxp load -d -y -S SOCK FILE.yaml`, `shell_command` per pane (sent with send-keys).",
      "- **tmuxinator**: `tmuxinator start -p FILE.yml --no-attach`, `socket_path:` in the YAML.",
      "",
    );
    parts.push(
      "With **no server running** (the cold columns, and their own tables), each contender starts the tmux server itself, as a user's",
      "first command of the day does (the floor with `tmux -f CONF start-server \\; source-file`).",
      "",
    );
    if (r.chart) parts.push(`![Launch time against number of tabs](${r.chart})`, "");
    for (const l of r.launch)
      parts.push(
        `### ${l.tabs} tabs${l.cold ? ", no tmux server running (cold)" : ""} (${l.reps} runs each)`,
        "",
        launchTable(l, l.cold ? undefined : r.launch.find((c) => c.cold && c.tabs === l.tabs)),
        "",
      );
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
            "+ log writers",
            "+ CLI process",
            "of which node start",
            "of which loading the CLI",
            "= sessions run",
          ],
          d,
          ["r", "r", "r", "r", "r", "r", "r", "r"],
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
      "against a bare `tmux list-panes -a` with the same format (one subprocess): as the `sessions status`",
      "table asks it (`processes: false`: states, exit codes, pids) and as `status --json` does (also every",
      "tab's process tree from /proc: three small reads per process). Subprocesses are counted twice: the",
      "Host's `spawned` counter, and a hook on `child_process.spawn` in the bench process.",
      "",
      markdownTable(
        [
          "panes",
          "sessions",
          "status median",
          "min – max",
          "bare list-panes",
          "× bare",
          "with process trees",
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
          s.withProcesses ? fmtMs(s.withProcesses.median) : "–",
          s.withProcessesRatio === undefined ? "–" : fmtRatio(s.withProcessesRatio),
          `${Math.max(...s.spawned)}`,
          `${Math.max(...s.execs)}`,
          `${s.running}`,
        ]),
        ["r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r"],
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
  parts.push(...eventSections(r));
  parts.push("## CLI start", "");
  if (r.cliStart) {
    const c = r.cliStart;
    parts.push(
      `Each spawned ${c.reps} times, interleaved. Every command but \`--version\` loads the CLI's one bundle`,
      "(`dist/main.cjs`), compiled from the V8 code cache an earlier run left in the cache directory (the",
      "bench's own, warmed by its warm-up runs); without one (a first run) node compiles it from source.",
      "",
      markdownTable(
        ["command", "median", "min – max", "× node -e 0"],
        [
          [
            "node apps/cli/dist/bin.cjs --version",
            fmtMs(c.sessions.median),
            range(c.sessions.min, c.sessions.max),
            fmtRatio(c.ratio),
          ],
          ["node -e 0", fmtMs(c.node.median), range(c.node.min, c.node.max), "1.00×"],
          [
            "(diagnostic) node apps/cli/dist/bin.cjs --help",
            fmtMs(c.help.median),
            range(c.help.min, c.help.max),
            fmtRatio(ratio(c.help.median, c.node.median)),
          ],
          ...(c.helpNoCache
            ? [
                [
                  "(diagnostic) the same, no compile cache (`MC_NO_COMPILE_CACHE=1`: a first run)",
                  fmtMs(c.helpNoCache.median),
                  range(c.helpNoCache.min, c.helpNoCache.max),
                  fmtRatio(ratio(c.helpNoCache.median, c.node.median)),
                ],
              ]
            : []),
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
      "`TmuxRemoteManager` (`@mc/remote`, in-process) on 1, 3 and 10 loopback hosts: one private sshd on",
      "127.0.0.1 listening on ten ports, each host with its own tmux server and state. Launch is timed from `startAllSessions()`",
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
  parts.push(...zellijSection(r));
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
