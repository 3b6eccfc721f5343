import { spawn, spawnSync } from "node:child_process";
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { LatencyResult, RssResult } from "../model.js";
import type { Sandbox } from "../sandbox.js";
import { summarize } from "../stats.js";
import type { ManagedFixture } from "./status.js";

/**
 * How soon a tab's end is seen: `sessions run` starts N tabs that each wait on a FIFO and then exit 3; a
 * child `sessions events --follow` watches them. For each tab in turn the bench writes its FIFO (the command
 * ends at once) and times until the tab's `tab-exited` line arrives on the follower's stdout.
 */
export async function runLatency(sb: Sandbox, o: { cli: string; tabs: number }): Promise<LatencyResult> {
  const dir = sb.dir("latency");
  const sock = sb.startServer(dir);
  const env = { ...sb.env, MC_STATE_DIR: join(dir, "state") };
  const fifos = Array.from({ length: o.tabs }, (_, i) => join(dir, `go-${i}`));
  for (const f of fifos) spawnSync("mkfifo", [f]);
  const file = join(dir, "layouts.json");
  writeFileSync(
    file,
    JSON.stringify({
      version: "0.1",
      layouts: [
        {
          layoutName: "latency",
          layoutTabs: fifos.map((f, i) => ({
            tabName: `t${i}`,
            startDir: dir,
            command: `read x < '${f}'; exit 3`,
          })),
        },
      ],
    }),
  );
  const run = spawnSync(process.execPath, [o.cli, "run", file, "--socket", sock], { env, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`sessions run failed: ${run.stderr.trim()}`);
  const follower = sb.track(
    spawn(process.execPath, [o.cli, "events", "latency", "--follow"], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  const seen = new Map<string, number>();
  let started = 0;
  let buf = "";
  follower.stdout!.on("data", (b: Buffer) => {
    buf += b.toString();
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        const e = JSON.parse(line) as { type: string; tab?: string };
        if (e.type === "tab-started") started++;
        if (e.type === "tab-exited" && e.tab) seen.set(e.tab, performance.now());
      } catch {}
    }
  });
  const until = async (ok: () => boolean, what: string, ms = 20_000) => {
    const end = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > end) throw new Error(`latency: no ${what} within ${ms / 1000} s`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  try {
    await until(() => started >= o.tabs, "tab-started for every tab");
    await new Promise((r) => setTimeout(r, 300));
    const samples: number[] = [];
    for (const [i, f] of fifos.entries()) {
      const fd = openSync(f, "w");
      const t0 = performance.now();
      writeSync(fd, "\n");
      closeSync(fd);
      await until(() => seen.has(`t${i}`), `tab-exited for t${i}`);
      samples.push(seen.get(`t${i}`)! - t0);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { tabs: o.tabs, samples, stats: summarize(samples) };
  } finally {
    follower.kill("SIGINT");
    sb.killServer(sock);
  }
}

/** Peak RSS (VmHWM) of `sessions status --json` on a fixture, read by a preload as the process exits. */
export function runStatusRss(sb: Sandbox, f: ManagedFixture, o: { cli: string }): RssResult {
  const dir = sb.dir(`rss-${f.panes}`);
  const preload = join(dir, "hwm.cjs");
  const out = join(dir, "hwm");
  writeFileSync(
    preload,
    `process.on("exit", () => { const fs = require("node:fs"); const m = /VmHWM:\\s+(\\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8")); fs.writeFileSync(${JSON.stringify(out)}, m ? m[1] : "0"); });\n`,
  );
  const once = () => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ["--require", preload, o.cli, "status", "--json"], {
      env: { ...sb.env, MC_STATE_DIR: f.stateDir },
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
    });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`sessions status failed: ${r.stderr.trim()}`);
    const tabs = (JSON.parse(r.stdout) as { sessions: { tabs: unknown[] }[] }).sessions.reduce(
      (n, s) => n + s.tabs.length,
      0,
    );
    if (tabs !== f.panes) throw new Error(`sessions status saw ${tabs} of ${f.panes} tabs`);
    return { ms, peakMiB: Number(readFileSync(out, "utf8")) / 1024 };
  };
  // The first `status` compiles the CLI and writes its compile cache (shown); a user's next ones are measured.
  const first = once();
  const { ms, peakMiB } = once();
  return { panes: f.panes, peakMiB, ms, firstPeakMiB: first.peakMiB };
}
