import { readdir, readFile } from "node:fs/promises";
import type { ProcessNode } from "./host.js";

interface Stat {
  pid: number;
  ppid: number;
  comm: string;
  startTicks: number;
  cpuTicks: number;
  rssPages: number;
}

const CLK_TCK = 100;
const PAGE = 4096;

function parseStat(text: string): Stat | undefined {
  // comm is in parentheses and may contain spaces or ')' itself: split at the last ')'.
  const close = text.lastIndexOf(")");
  const open = text.indexOf("(");
  if (close < 0 || open < 0) return undefined;
  const rest = text.slice(close + 2).split(" ");
  const num = (i: number) => Number(rest[i] ?? 0);
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    ppid: num(1),
    cpuTicks: num(11) + num(12),
    startTicks: num(19),
    rssPages: num(21),
  };
}

async function bootTimeMs(): Promise<{ boot: number; uptime: number }> {
  const up = await readFile("/proc/uptime", "utf8");
  const uptime = Number(up.split(" ")[0]) * 1000;
  return { boot: Date.now() - uptime, uptime };
}

/**
 * Process trees from Linux /proc: one scan of `/proc/<pid>/stat` builds the parent map, then the
 * command lines of the processes that matter are read. No subprocess. Returns an empty map elsewhere.
 */
export async function linuxProcessTrees(rootPids: readonly number[]): Promise<Map<number, ProcessNode[]>> {
  const out = new Map<number, ProcessNode[]>();
  if (process.platform !== "linux" || rootPids.length === 0) return out;
  let entries: string[];
  try {
    entries = await readdir("/proc");
  } catch {
    return out;
  }
  const { boot, uptime } = await bootTimeMs();
  const stats = new Map<number, Stat>();
  const children = new Map<number, number[]>();
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (e) => {
        try {
          const st = parseStat(await readFile(`/proc/${e}/stat`, "utf8"));
          if (!st) return;
          stats.set(st.pid, st);
        } catch {}
      }),
  );
  for (const st of stats.values()) {
    const list = children.get(st.ppid) ?? [];
    list.push(st.pid);
    children.set(st.ppid, list);
  }
  for (const root of rootPids) {
    if (!stats.has(root)) continue;
    const pids: number[] = [];
    const stack = [root];
    while (stack.length) {
      const p = stack.shift()!;
      pids.push(p);
      stack.push(...(children.get(p) ?? []).sort((a, b) => a - b));
    }
    const nodes = await Promise.all(
      pids.map(async (pid): Promise<ProcessNode | undefined> => {
        const st = stats.get(pid)!;
        let command = st.comm;
        try {
          const raw = await readFile(`/proc/${pid}/cmdline`, "utf8");
          if (raw) command = raw.replace(/\0+$/, "").split("\0").join(" ");
        } catch {
          return undefined;
        }
        const startedMs = (st.startTicks / CLK_TCK) * 1000;
        const aliveMs = Math.max(1, uptime - startedMs);
        return {
          pid,
          ppid: st.ppid,
          command,
          cpuPercent: Math.round(((st.cpuTicks / CLK_TCK) * 1000 * 1000) / aliveMs) / 10,
          rssBytes: st.rssPages * PAGE,
          startedAt: Math.round(boot + startedMs),
        };
      }),
    );
    out.set(
      root,
      nodes.filter((n): n is ProcessNode => n !== undefined),
    );
  }
  return out;
}
