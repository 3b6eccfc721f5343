import { execFileSync, spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type { MonitorResult } from "../model.js";
import type { Sandbox } from "../sandbox.js";
import { cpuPercent, procCpuMs } from "../stats.js";
import type { ManagedFixture } from "./status.js";

let ticks: number | undefined;
function clockTicks(): number {
  ticks ??= Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
  return ticks;
}

function cpuOf(pid: number, withChildren: boolean): number {
  try {
    return procCpuMs(readFileSync(`/proc/${pid}/stat`, "utf8"), withChildren, clockTicks());
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU cost of watching: a child `sessions status --watch --json` on the fixture's state, sampled from
 * /proc after its first snapshot (start-up excluded) and again `seconds` later.
 */
export async function runMonitor(
  sb: Sandbox,
  f: ManagedFixture,
  o: {
    cli: string;
    seconds: number;
    intervalMs: number;
    args?: string[];
    /** Wait this long after the first line before the window (a follower's first full check is start-up). */
    settleMs?: number;
  },
): Promise<MonitorResult> {
  const args = o.args ?? ["status", "--watch", "--interval", String(o.intervalMs / 1000), "--json"];
  const serverPid = Number(
    execFileSync("tmux", ["-S", f.sock, "display-message", "-p", "#{pid}"], {
      env: sb.env,
      encoding: "utf8",
    }).trim(),
  );
  const child = sb.track(
    spawn(process.execPath, [o.cli, ...args], {
      env: { ...sb.env, MC_STATE_DIR: f.stateDir },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  const pid = child.pid!;
  let lines = 0;
  let stderr = "";
  let onLine: (() => void) | undefined;
  child.stdout!.on("data", (b: Buffer) => {
    for (const c of b) if (c === 10) lines++;
    onLine?.();
  });
  child.stderr!.on("data", (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-2000);
  });
  let timer: NodeJS.Timeout | undefined;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  try {
    await Promise.race([
      new Promise<void>((r) => {
        onLine = () => lines > 0 && r();
      }),
      exited.then(() => {
        throw new Error(`sessions ${args.join(" ")} exited early: ${stderr.trim()}`);
      }),
      new Promise((_, rej) => {
        timer = setTimeout(() => rej(new Error("no status snapshot within 30 s")), 30_000);
      }),
    ]).finally(() => clearTimeout(timer));
    onLine = undefined;
    if (o.settleMs) await new Promise((r) => setTimeout(r, o.settleMs));
    const startupCpuMs = cpuOf(pid, true);
    const self0 = cpuOf(pid, false);
    const srv0 = cpuOf(serverPid, false);
    const lines0 = lines;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    const cpuMs = cpuOf(pid, true) - startupCpuMs;
    const childCpuMs = cpuMs - (cpuOf(pid, false) - self0);
    const serverCpuMs = cpuOf(serverPid, false) - srv0;
    const wall = performance.now() - t0;
    return {
      command: `sessions ${args.join(" ")}`,
      tabs: f.panes,
      seconds: o.seconds,
      intervalMs: o.intervalMs,
      cpuMs,
      childCpuMs,
      percent: cpuPercent(cpuMs, wall),
      serverCpuMs,
      serverPercent: cpuPercent(serverCpuMs, wall),
      cycles: lines - lines0,
      startupCpuMs,
    };
  } finally {
    child.kill("SIGINT");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}
