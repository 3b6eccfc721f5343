import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import type { LaunchRow, ZellijResult } from "../model.js";
import { rmTree, type Sandbox } from "../sandbox.js";
import { ratio, summarize } from "../stats.js";
import { tabCommand } from "./launch.js";

/** The real zellij: on PATH, else the newest `~/.cache/mc-tools/zellij-<v>/bin/zellij` (scripts/setup.sh). */
export function findZellij(): { path: string; version: string } | { skipped: string } {
  const tools = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "mc-tools");
  const built = existsSync(tools)
    ? readdirSync(tools)
        .filter((d) => /^zellij-\d+\.\d+\.\d+$/.test(d))
        .sort((a, b) => b.localeCompare(a, "en", { numeric: true }))
        .map((d) => join(tools, d, "bin", "zellij"))
    : [];
  const onPath = (process.env.PATH ?? "").split(":").map((d) => join(d, "zellij"));
  for (const p of [...onPath, ...built]) {
    if (!existsSync(p)) continue;
    try {
      // zellij panics without a writable $TMPDIR (logging.rs), even for --version.
      const version = execFileSync(p, ["--version"], {
        encoding: "utf8",
        timeout: 10_000,
        env: { ...process.env, TMPDIR: "/tmp" },
      }).trim();
      return { path: p, version };
    } catch {}
  }
  return {
    skipped: `zellij absent: none on PATH nor under ${tools}/zellij-<version>/bin (scripts/setup.sh builds it)`,
  };
}

/** A private zellij world (sockets, TMPDIR, HOME, XDG dirs) under `root`; short, for the socket path. */
export function zellijEnv(bin: string, root: string, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const d = (n: string) => {
    const p = join(root, n);
    mkdirSync(p, { recursive: true });
    return p;
  };
  const home = d("h");
  writeFileSync(join(d("h/.config/zellij"), "config.kdl"), "");
  const env: NodeJS.ProcessEnv = { ...base };
  for (const k of [
    "ZELLIJ",
    "ZELLIJ_SESSION_NAME",
    "ZELLIJ_PANE_ID",
    "ZELLIJ_CONFIG_FILE",
    "ZELLIJ_CONFIG_DIR",
  ])
    delete env[k];
  delete env.XDG_RUNTIME_DIR;
  return Object.assign(env, {
    PATH: `${dirname(bin)}:${base.PATH ?? "/usr/bin:/bin"}`,
    ZELLIJ_SOCKET_DIR: d("s"),
    TMPDIR: d("t"),
    HOME: home,
    XDG_CACHE_HOME: d("c"),
    XDG_CONFIG_HOME: d("g"),
    XDG_DATA_HOME: d("d"),
    SHELL: "/bin/sh",
    LANG: "C.UTF-8",
    MC_STATE_DIR: join(root, "state"),
  });
}

/** The zellij floor: a hand-written KDL layout, one tab per command, each pane `sh -c <command>`. */
export function zellijFloorLayout(dir: string, markers: string, tabs: number): string {
  const s = (x: string) => JSON.stringify(x);
  const lines = ["layout {"];
  for (let i = 0; i < tabs; i++) {
    lines.push(
      `    tab name=${s(`t${i}`)} cwd=${s(dir)} {`,
      `        pane command="/bin/sh" {`,
      `            args "-c" ${s(tabCommand(markers, i))}`,
      "        }",
      "    }",
    );
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

/** Pids of live processes whose command line or environment mentions `text` (a world's root). */
function processesMentioning(text: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      const environ = readFileSync(`/proc/${pid}/environ`, "utf8");
      if (cmd.includes(text) || environ.includes(text)) out.push(Number(pid));
    } catch {}
  }
  return out;
}

/** Stop a world: its sessions, any process of it still running, its files. */
function stopWorld(bin: string, root: string, env: NodeJS.ProcessEnv): void {
  spawnSync(bin, ["kill-all-sessions", "--yes"], { env, stdio: "ignore", timeout: 20_000 });
  for (const pid of processesMentioning(root)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  try {
    rmTree(root);
  } catch {}
}

const count = (dir: string) => {
  try {
    return readdirSync(dir).length;
  } catch {
    return 0;
  }
};

/** One timed launch (ms): both conditions, every marker and the launcher's exit; NaN when it failed. */
interface Sample {
  ms: number;
  readyMs: number;
  returnedMs: number;
  error?: string;
}

/** Spawn → every marker exists and the launcher exited (ms); NaN and the reason when it did not. */
function timeOne(
  sb: Sandbox,
  file: string,
  args: string[],
  o: { env: NodeJS.ProcessEnv; cwd: string; markers: string; tabs: number; timeoutMs: number },
): Promise<Sample> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let ready = Number.NaN;
    let returned = Number.NaN;
    let output = "";
    const child: ChildProcess = sb.track(
      spawn(file, args, { cwd: o.cwd, env: o.env, stdio: ["ignore", "pipe", "pipe"] }),
    );
    const keep = (b: Buffer) => {
      output = (output + b.toString()).slice(-2000);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    const finish = (error?: string) => {
      clearInterval(poll);
      clearTimeout(timer);
      const ms = error ? Number.NaN : Math.max(ready, returned);
      resolve({ ms, readyMs: ready, returnedMs: returned, ...(error ? { error } : {}) });
    };
    const check = () => {
      if (Number.isNaN(ready) && count(o.markers) >= o.tabs) ready = performance.now() - t0;
      if (!Number.isNaN(ready) && !Number.isNaN(returned)) finish();
    };
    const poll = setInterval(check, 5);
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      finish(`timed out after ${o.timeoutMs / 1000} s with ${count(o.markers)}/${o.tabs} tabs running`);
    }, o.timeoutMs);
    child.on("error", (e) => finish(e.message));
    child.on("exit", (code, signal) => {
      returned = performance.now() - t0;
      if (code !== 0) finish(`exit ${code ?? signal}: ${output.trim().split("\n").slice(-2).join(" / ")}`);
      else check();
    });
  });
}

/**
 * The launch and status rows against the real zellij. Launch: the floor (`zellij
 * --new-session-with-layout FILE attach --create-background NAME` of a hand-written layout whose panes run
 * the commands) and `sessions run -b zellij`, interleaved, each in a fresh private zellij world.
 * Status: `sessions status --json` (the whole CLI process) against the two bare zellij queries it needs
 * (`list-sessions`, `action list-panes --json`), on a session `sessions run` started.
 */
export async function runZellij(
  sb: Sandbox,
  o: { cli: string; sizes: { tabs: number; reps: number }[]; statusReps: number; log: (s: string) => void },
): Promise<ZellijResult> {
  const found = findZellij();
  if ("skipped" in found) return { skipped: found.skipped };
  const bin = found.path;
  const out: ZellijResult = { version: found.version, launch: [] };
  for (const size of o.sizes) {
    const samples: Record<Id, Sample[]> = { floor: [], sessions: [] };
    for (let r = 0; r < size.reps; r++) {
      for (const id of ["floor", "sessions"] as const) {
        const w = newWorld(sb, bin);
        const s = await launchOnce(sb, w, id, { bin, cli: o.cli, tabs: size.tabs });
        samples[id].push(s);
        // The last `sessions run` of the last size stays up for the status rows.
        const keep = id === "sessions" && r === size.reps - 1 && size === o.sizes.at(-1) && !s.error;
        if (keep) out.status = await zellijStatus(bin, o.cli, w.env, size.tabs, o.statusReps);
        stopWorld(bin, w.root, w.env);
      }
      o.log(
        `  zellij launch ${size.tabs} tabs, run ${r + 1}/${size.reps}: floor ${fmt(samples.floor.at(-1)?.ms)}, sessions ${fmt(samples.sessions.at(-1)?.ms)}`,
      );
    }
    out.launch!.push({ tabs: size.tabs, reps: size.reps, rows: launchRows(samples) });
  }
  return out;
}

type Id = "floor" | "sessions";

/** A private zellij world for one run. */
interface World {
  root: string;
  env: NodeJS.ProcessEnv;
  work: string;
  markers: string;
}

let worlds = 0;

function newWorld(sb: Sandbox, bin: string): World {
  // Short: zellij's socket path must stay under 108 bytes.
  const root = join("/tmp", `mzb-${process.pid}-${++worlds}`);
  mkdirSync(root, { recursive: true });
  const env = zellijEnv(bin, root, sb.env);
  sb.onCleanup(() => stopWorld(bin, root, env));
  const w = { root, env, work: join(root, "w"), markers: join(root, "m") };
  mkdirSync(w.work, { recursive: true });
  mkdirSync(w.markers, { recursive: true });
  return w;
}

/** One timed launch of `id` in world `w`. */
function launchOnce(sb: Sandbox, w: World, id: Id, o: { bin: string; cli: string; tabs: number }) {
  const timing = { env: w.env, cwd: w.work, markers: w.markers, tabs: o.tabs, timeoutMs: 60_000 };
  if (id === "floor") {
    const kdl = join(w.root, "floor.kdl");
    writeFileSync(kdl, zellijFloorLayout(w.work, w.markers, o.tabs));
    const args = ["--new-session-with-layout", kdl, "attach", "--create-background", "floor"];
    return timeOne(sb, o.bin, args, timing);
  }
  const file = join(w.root, "layouts.json");
  const layoutTabs = Array.from({ length: o.tabs }, (_, i) => ({
    tabName: `t${i}`,
    startDir: w.work,
    command: tabCommand(w.markers, i),
  }));
  writeFileSync(file, JSON.stringify({ version: "0.1", layouts: [{ layoutName: "bench", layoutTabs }] }));
  const args = [o.cli, "run", file, "-b", "zellij", "--prefix", "", "--max-tabs-per-layout", String(o.tabs)];
  return timeOne(sb, process.execPath, args, timing);
}

/** The floor's and `sessions run`'s rows of one size. */
function launchRows(samples: Record<Id, Sample[]>): LaunchRow[] {
  const floor = summarize(samples.floor.map((x) => x.ms));
  const row = (id: Id, label: string): LaunchRow => {
    const ss = samples[id];
    const stats = summarize(ss.map((x) => x.ms));
    const error = ss.find((x) => x.error)?.error;
    return {
      id: `zellij-${id}`,
      label,
      stats,
      ready: summarize(ss.map((x) => x.readyMs)),
      returned: summarize(ss.map((x) => x.returnedMs)),
      ratio: ratio(stats.median, floor.median),
      samples: ss.map((x) => x.ms),
      ...(error ? { error } : {}),
    };
  };
  return [
    row("floor", "floor: zellij attach --create-background (hand-written layout)"),
    row("sessions", "sessions run -b zellij"),
  ];
}

const fmt = (ms: number | undefined) =>
  ms === undefined || !Number.isFinite(ms) ? "FAILED" : `${(ms / 1000).toFixed(2)}s`;

/** `sessions status --json` vs the bare queries (list-sessions, list-panes --json), interleaved. */
async function zellijStatus(
  bin: string,
  cli: string,
  env: NodeJS.ProcessEnv,
  tabs: number,
  reps: number,
): Promise<NonNullable<ZellijResult["status"]>> {
  const timed = (file: string, args: string[][]) => {
    const t0 = performance.now();
    for (const a of args) {
      const r = spawnSync(file, a, { env, stdio: "ignore", timeout: 30_000 });
      if (r.status !== 0) return Number.NaN;
    }
    return performance.now() - t0;
  };
  const mc: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < reps; i++) {
    mc.push(timed(process.execPath, [[cli, "status", "--json"]]));
    bare.push(
      timed(bin, [
        ["list-sessions", "--no-formatting"],
        ["--session", "bench", "action", "list-panes", "--json"],
      ]),
    );
  }
  const m = summarize(mc);
  const b = summarize(bare);
  return { tabs, reps, mc: m, bare: b, ratio: ratio(m.median, b.median) };
}
