import cp, { execFile } from "node:child_process";
import { mkdirSync, readdirSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Host, type LayoutConfig, localHost } from "@mc/core";
import { PANE_FORMAT, TmuxLocalManager } from "@mc/tmux";
import type { StatusResult } from "../model.js";
import type { Sandbox } from "../sandbox.js";
import { ratio, summarize } from "../stats.js";
import { tabCommand } from "./launch.js";

const execFileP = promisify(execFile);

/** Split `panes` tabs into layouts of at most `perSession` tabs (`s0`, `s1`, …), tab i touching marker i. */
export function benchLayouts(
  panes: number,
  perSession: number,
  dir: string,
  markers: string,
): LayoutConfig[] {
  const out: LayoutConfig[] = [];
  for (let first = 0; first < panes; first += perSession) {
    const n = Math.min(perSession, panes - first);
    out.push({
      layoutName: `s${out.length}`,
      layoutTabs: Array.from({ length: n }, (_, k) => ({
        tabName: `t${first + k}`,
        startDir: dir,
        command: tabCommand(markers, first + k),
      })),
    });
  }
  return out;
}

/** Managed sessions with N running tabs on a private server (for the status and monitoring scenarios). */
export interface ManagedFixture {
  panes: number;
  sock: string;
  stateDir: string;
  host: Host;
  manager: TmuxLocalManager;
}

/** Start N tabs through `TmuxLocalManager` (sessions of 100) and wait until every command runs. */
export async function managedFixture(sb: Sandbox, panes: number): Promise<ManagedFixture> {
  const dir = sb.dir(`managed-${panes}`);
  const sock = sb.startServer(dir);
  const markers = join(dir, "m");
  mkdirSync(markers);
  const stateDir = join(dir, "state");
  const host = localHost({ env: sb.env, stateDir });
  const manager = new TmuxLocalManager({
    sessionLayouts: benchLayouts(panes, 100, dir, markers),
    socket: sock,
    host,
  });
  await manager.startAllSessions();
  const deadline = Date.now() + 30_000 + panes * 500;
  while (readdirSync(markers).length < panes) {
    if (Date.now() > deadline) throw new Error(`only ${readdirSync(markers).length}/${panes} tabs started`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { panes, sock, stateDir, host, manager };
}

/**
 * Count `child_process.spawn` calls made by this process while `fn` runs: an independent check of the
 * Host's counter (execa spawns through it; `syncBuiltinESMExports` makes ESM importers see the wrapper).
 */
export async function countSpawns<T>(fn: () => Promise<T>): Promise<{ value: T; spawns: number }> {
  const orig = cp.spawn;
  let spawns = 0;
  cp.spawn = function (this: unknown, ...args: unknown[]) {
    spawns++;
    return (orig as (...a: unknown[]) => cp.ChildProcess).apply(this, args);
  } as typeof cp.spawn;
  syncBuiltinESMExports();
  try {
    return { value: await fn(), spawns };
  } finally {
    cp.spawn = orig;
    syncBuiltinESMExports();
  }
}

/**
 * Time the status the `sessions status` table needs (`processes: false`), the one `--json` gives (every
 * tab's process tree) and a bare `tmux list-panes -a`, interleaved, and count subprocesses.
 */
export async function runStatus(
  f: ManagedFixture,
  o: { reps: number; env: NodeJS.ProcessEnv },
): Promise<StatusResult> {
  const mc: number[] = [];
  const full: number[] = [];
  const bare: number[] = [];
  const spawned: number[] = [];
  const execs: number[] = [];
  let running = 0;
  // One untimed call of each first: module and file-system caches.
  await f.manager.checkAllSessionsStatus();
  for (let i = 0; i < o.reps; i++) {
    for (const processes of [false, true]) {
      const before = f.host.spawned;
      const t0 = performance.now();
      const { value: report, spawns } = await countSpawns(() =>
        f.manager.checkAllSessionsStatus({ processes }),
      );
      (processes ? full : mc).push(performance.now() - t0);
      spawned.push(f.host.spawned - before);
      execs.push(spawns);
      running = report.sessions.reduce((n, s) => n + s.tabs.filter((t) => t.state === "running").length, 0);
    }
    const t1 = performance.now();
    await execFileP("tmux", ["-S", f.sock, "list-panes", "-a", "-F", PANE_FORMAT], {
      env: o.env,
      maxBuffer: 64 << 20,
    });
    bare.push(performance.now() - t1);
  }
  const mcStats = summarize(mc);
  const fullStats = summarize(full);
  const bareStats = summarize(bare);
  return {
    panes: f.panes,
    sessions: f.manager.managed.length,
    reps: o.reps,
    mc: mcStats,
    bare: bareStats,
    ratio: ratio(mcStats.median, bareStats.median),
    withProcesses: fullStats,
    withProcessesRatio: ratio(fullStats.median, bareStats.median),
    spawned,
    execs,
    running,
  };
}
