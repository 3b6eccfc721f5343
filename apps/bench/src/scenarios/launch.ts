import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  commandFiles,
  LOG_WRITER_PROBE,
  type LogWriterMode,
  logWriterScript,
  parseLogWriterProbe,
  posixTabScript,
  shQuote,
  tabLogName,
} from "@mc/core";
import { noFormat, paneCommand, tmuxQuote } from "@mc/tmux";
import type { LaunchResult, LaunchRow } from "../model.js";
import { rmTree, type Sandbox } from "../sandbox.js";
import { ratio, summarize } from "../stats.js";

/** What each contender's tab runs: touch its marker (the completion criterion), then stay alive. */
export function tabCommand(markers: string, i: number): string {
  return `touch ${shQuote(join(markers, String(i)))}; exec sleep 100000`;
}

/** Files and paths of one launch run. */
export interface LaunchCtx {
  tabs: number;
  /** Run directory (start directory of every tab, home of the generated files). */
  dir: string;
  sock: string;
  markers: string;
  /** No server runs yet: the launcher starts it (with this config when it is tmux itself). */
  cold?: { conf: string } | undefined;
}

/** `tmux -S SOCK source-file FILE`, or on a cold start the same after starting the server with the config. */
function sourceFile(c: LaunchCtx, file: string): string[] {
  return c.cold
    ? ["-S", c.sock, "-f", c.cold.conf, "start-server", ";", "source-file", file]
    : ["-S", c.sock, "source-file", file];
}

/** The floor: one `tmux source-file` script; each window's command is its pane argv. */
export function floorScript(c: LaunchCtx): string {
  const lines: string[] = [];
  for (let i = 0; i < c.tabs; i++) {
    const common = `-n t${i} -c ${tmuxQuote(c.dir)} ${tmuxQuote(tabCommand(c.markers, i))}`;
    lines.push(i === 0 ? `new-session -d -s floor ${common}` : `new-window -d -t '=floor:' ${common}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Diagnostic, not a contender: the floor's single `source-file`, but every pane runs mc's per-tab outcome
 * wrapper (`posixTabScript` from @mc/core, as `sessions run` does). Its distance to the floor is what the
 * wrapper costs; its distance to `sessions run` is what the CLI process costs.
 */
export function wrappedFloorFiles(
  c: LaunchCtx,
  o: { logs?: boolean; logWriter?: LogWriterMode } = {},
): {
  build: string;
  tabs: string;
  tabsPath: string;
  /** Each tab's command, which the wrapper reads (as `sessions run` writes them). */
  commands: { path: string; content: string }[];
} {
  const tabsPath = join(c.dir, "tabs.sh");
  const runDir = join(c.dir, "run");
  const wrapped = Array.from({ length: c.tabs }, (_, i) => ({
    index: i,
    tabName: `t${i}`,
    startDir: c.dir,
    command: tabCommand(c.markers, i),
  }));
  const tabs = posixTabScript({
    title: "bench: floor with mc's tab wrapper",
    runDir,
    tabs: wrapped,
    keepShell: true,
    ...(o.logWriter ? { logWriter: o.logWriter } : {}),
  });
  const lines: string[] = [];
  for (let i = 0; i < c.tabs; i++) {
    const common = `-n t${i} -c ${tmuxQuote(c.dir)} ${paneCommand(tabsPath, i).map(tmuxQuote).join(" ")}`;
    lines.push(i === 0 ? `new-session -d -s wrapped ${common}` : `new-window -d -t '=wrapped:' ${common}`);
    // As `sessions run` builds it (tmux generate.ts pipeArgs): the pane's output to its log writer.
    const log = noFormat(
      logWriterScript(shQuote(join(runDir, tabLogName(i))), undefined, o.logWriter).join("; "),
    );
    if (o.logs) lines.push(`pipe-pane -o -t '=wrapped:${i === 0 ? "" : "{end}"}' ${tmuxQuote(log)}`);
  }
  return { build: `${lines.join("\n")}\n`, tabs, tabsPath, commands: commandFiles(runDir, wrapped) };
}

/** One tmux process per command: `new-session`, then one `tmux new-window` per tab (sh script). */
export function perCommandScript(c: LaunchCtx): string {
  const tmux = `tmux -S ${shQuote(c.sock)}${c.cold ? ` -f ${shQuote(c.cold.conf)}` : ""}`;
  const lines = ["set -e"];
  for (let i = 0; i < c.tabs; i++) {
    const common = `-n t${i} -c ${shQuote(c.dir)} ${shQuote(tabCommand(c.markers, i))}`;
    lines.push(
      i === 0
        ? `${tmux} new-session -d -s percmd ${common}`
        : `${tmux} new-window -d -t '=percmd:' ${common}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** tmuxp workspace (JSON is YAML): one window per tab, the command sent to the pane's shell. */
export function tmuxpConfig(c: LaunchCtx): string {
  return JSON.stringify({
    session_name: "tmuxp",
    start_directory: c.dir,
    windows: Array.from({ length: c.tabs }, (_, i) => ({
      window_name: `t${i}`,
      panes: [{ shell_command: [tabCommand(c.markers, i)] }],
    })),
  });
}

/** tmuxinator project (JSON is YAML); tmuxinator has no socket flag, so `socket_path` goes in the file. */
export function tmuxinatorConfig(c: LaunchCtx): string {
  return JSON.stringify({
    name: "tmuxinator",
    root: c.dir,
    socket_path: c.sock,
    windows: Array.from({ length: c.tabs }, (_, i) => ({ [`t${i}`]: tabCommand(c.markers, i) })),
  });
}

/** machineconfig-style layouts file for `sessions run`: one layout with N tabs. */
export function layoutsConfig(c: LaunchCtx): string {
  return JSON.stringify({
    version: "0.1",
    layouts: [
      {
        layoutName: "bench",
        layoutTabs: Array.from({ length: c.tabs }, (_, i) => ({
          tabName: `t${i}`,
          startDir: c.dir,
          command: tabCommand(c.markers, i),
        })),
      },
    ],
  });
}

/** A process to spawn. */
export interface Spawn {
  file: string;
  args: string[];
  env?: Record<string, string>;
}

/** One way of launching N tabs. */
export interface Contender {
  id: string;
  label: string;
  /** Why it cannot run here. */
  skip?: string | undefined;
  /** Write its files into the run directory and say what to spawn (untimed). */
  prepare(c: LaunchCtx): Spawn;
}

/** The contenders (and one diagnostic row), in the order they run within each round. */
export function contenders(o: {
  cli: string;
  tmuxp?: string;
  tmuxinator?: string;
  missing: Record<string, string>;
}): Contender[] {
  const write = (c: LaunchCtx, name: string, text: string) => {
    const p = join(c.dir, name);
    writeFileSync(p, text);
    return p;
  };
  return [
    {
      id: "floor",
      label: "floor: tmux source-file",
      prepare: (c) => ({ file: "tmux", args: sourceFile(c, write(c, "floor.tmux", floorScript(c))) }),
    },
    {
      id: "sessions",
      label: "sessions run",
      prepare: (c) => ({
        file: process.execPath,
        args: [
          o.cli,
          "run",
          write(c, "layouts.json", layoutsConfig(c)),
          "--socket",
          c.sock,
          "--max-tabs-per-layout",
          String(c.tabs),
        ],
        env: { MC_STATE_DIR: join(c.dir, "state") },
      }),
    },
    {
      id: "floor-wrapped",
      label: "(diagnostic) floor + mc tab wrapper",
      prepare: (c) => {
        const f = wrappedFloorFiles(c);
        writeFileSync(f.tabsPath, f.tabs, { mode: 0o755 });
        mkdirSync(join(c.dir, "run"), { recursive: true });
        for (const cmd of f.commands) writeFileSync(cmd.path, cmd.content, { mode: 0o600 });
        return { file: "tmux", args: sourceFile(c, write(c, "wrapped.tmux", f.build)) };
      },
    },
    {
      id: "floor-logged",
      label: "(diagnostic) floor + mc tab wrapper + log writers",
      prepare: (c) => {
        // The log writer is found once per machine, as the tmux backend does (untimed).
        const probe = spawnSync(LOG_WRITER_PROBE[0], LOG_WRITER_PROBE.slice(1), { encoding: "utf8" });
        const f = wrappedFloorFiles(c, { logs: true, logWriter: parseLogWriterProbe(probe.stdout ?? "") });
        writeFileSync(f.tabsPath, f.tabs, { mode: 0o755 });
        mkdirSync(join(c.dir, "run"), { recursive: true });
        for (const cmd of f.commands) writeFileSync(cmd.path, cmd.content, { mode: 0o600 });
        return { file: "tmux", args: sourceFile(c, write(c, "logged.tmux", f.build)) };
      },
    },
    {
      id: "percmd",
      label: "tmux per command",
      prepare: (c) => ({ file: "/bin/sh", args: [write(c, "percmd.sh", perCommandScript(c))] }),
    },
    {
      id: "tmuxp",
      label: "tmuxp load",
      skip: o.tmuxp ? undefined : o.missing.tmuxp,
      prepare: (c) => ({
        file: o.tmuxp!,
        args: ["load", "-d", "-y", "-S", c.sock, write(c, "tmuxp.yaml", tmuxpConfig(c))],
      }),
    },
    {
      id: "tmuxinator",
      label: "tmuxinator start",
      skip: o.tmuxinator ? undefined : o.missing.tmuxinator,
      prepare: (c) => ({
        file: o.tmuxinator!,
        args: ["start", "-p", write(c, "tmuxinator.yml", tmuxinatorConfig(c)), "--no-attach"],
      }),
    },
  ];
}

/** One timed launch: spawn → all markers exist and the launcher exited. */
export interface LaunchSample {
  ms: number;
  readyMs: number;
  returnedMs: number;
  error?: string;
}

const count = (dir: string) => {
  try {
    return readdirSync(dir).length;
  } catch {
    return 0;
  }
};

/** Time one contender once on a fresh server; the server and the run directory are removed after. */
export async function timeLaunch(
  sb: Sandbox,
  c: Contender,
  tabs: number,
  timeoutMs: number,
  cold = false,
): Promise<LaunchSample> {
  const dir = sb.dir(`launch-${c.id}-${tabs}${cold ? "-cold" : ""}`);
  const sock = cold ? join(dir, "sock") : sb.startServer(dir);
  const ctx: LaunchCtx = {
    tabs,
    dir,
    sock,
    markers: join(dir, "m"),
    cold: cold ? { conf: sb.conf } : undefined,
  };
  mkdirSync(ctx.markers);
  try {
    const s = c.prepare(ctx);
    return await new Promise<LaunchSample>((resolve) => {
      const t0 = performance.now();
      let readyMs = Number.NaN;
      let returnedMs = Number.NaN;
      let output = "";
      const child = sb.track(
        spawn(s.file, s.args, { cwd: dir, env: { ...sb.env, ...s.env }, stdio: ["ignore", "pipe", "pipe"] }),
      );
      const keep = (b: Buffer) => {
        output = (output + b.toString()).slice(-2000);
      };
      child.stdout!.on("data", keep);
      child.stderr!.on("data", keep);
      const finish = (error?: string) => {
        clearInterval(poll);
        clearTimeout(timer);
        const ms = Math.max(readyMs, returnedMs);
        resolve(error ? { ms: Number.NaN, readyMs, returnedMs, error } : { ms, readyMs, returnedMs });
      };
      const check = () => {
        if (Number.isNaN(readyMs) && count(ctx.markers) >= tabs) readyMs = performance.now() - t0;
        if (!Number.isNaN(readyMs) && !Number.isNaN(returnedMs)) finish();
      };
      const poll = setInterval(check, 5);
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        finish(`timed out after ${timeoutMs / 1000} s with ${count(ctx.markers)}/${tabs} tabs running`);
      }, timeoutMs);
      child.on("error", (e) => finish(e.message));
      child.on("exit", (code, signal) => {
        returnedMs = performance.now() - t0;
        if (code !== 0) finish(`exit ${code ?? signal}: ${output.trim().split("\n").slice(-2).join(" / ")}`);
        else check();
      });
    });
  } finally {
    sb.killServer(ctx.sock);
    try {
      rmTree(dir);
    } catch {
      // A wrapper still writing its record after the hang-up; the sandbox removes the root at the end.
    }
  }
}

/**
 * Launch N tabs with every contender, interleaved run by run (A B C A B C …) so that drift in the
 * machine's speed hits all of them alike. Warm-up rounds run first and are not counted.
 */
export async function runLaunch(
  sb: Sandbox,
  all: readonly Contender[],
  o: { tabs: number; reps: number; warmup: number; cold?: boolean; log: (s: string) => void },
): Promise<LaunchResult> {
  const samples = new Map<string, LaunchSample[]>(all.map((c) => [c.id, []]));
  const timeoutMs = 30_000 + o.tabs * 1_000;
  for (let round = -o.warmup; round < o.reps; round++) {
    const line: string[] = [];
    for (const c of all) {
      if (c.skip) continue;
      const s = await timeLaunch(sb, c, o.tabs, timeoutMs, o.cold);
      if (round >= 0) samples.get(c.id)!.push(s);
      line.push(`${c.id} ${s.error ? "FAILED" : `${(s.ms / 1000).toFixed(2)}s`}`);
      // Let the killed server's panes die before the next contender starts.
      await new Promise((r) => setTimeout(r, 150));
    }
    o.log(
      `  launch ${o.tabs} tabs${o.cold ? " (cold server)" : ""}, ${round < 0 ? "warm-up" : `run ${round + 1}/${o.reps}`}: ${line.join(", ")}`,
    );
  }
  const floor = summarize(samples.get("floor")!.map((s) => s.ms));
  const rows: LaunchRow[] = all.map((c) => {
    const ss = samples.get(c.id)!;
    const stats = summarize(ss.map((s) => s.ms));
    const error = ss.find((s) => s.error)?.error;
    return {
      id: c.id,
      label: c.label,
      stats,
      ready: summarize(ss.map((s) => s.readyMs)),
      returned: summarize(ss.map((s) => s.returnedMs)),
      ratio: ratio(stats.median, floor.median),
      samples: ss.map((s) => s.ms),
      ...(c.skip ? { skipped: c.skip } : {}),
      ...(error ? { error } : {}),
    };
  });
  return { tabs: o.tabs, reps: o.reps, ...(o.cold ? { cold: true } : {}), rows };
}

/** One untimed `sessions run` of one tab, so the CLI's compile cache (in the sandbox) holds the launch path. */
export async function warmCli(sb: Sandbox, all: readonly Contender[]): Promise<void> {
  const c = all.find((x) => x.id === "sessions");
  if (!c || c.skip) return;
  const s = await timeLaunch(sb, c, 1, 60_000);
  if (s.error) throw new Error(`warm-up run: ${s.error}`);
}
