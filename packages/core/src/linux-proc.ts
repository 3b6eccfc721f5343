import { closeSync, existsSync, openSync, readdirSync, readlinkSync, readSync } from "node:fs";
import type { ProcessNode } from "./host.js";

interface Stat {
  pid: number;
  ppid: number;
  comm: string;
  /** Process state letter (`R`, `S`, `Z` for a zombie, …). */
  state: string;
  startTicks: number;
  cpuTicks: number;
  rssPages: number;
  threads: number;
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
    state: rest[0] ?? "",
    ppid: num(1),
    cpuTicks: num(11) + num(12),
    startTicks: num(19),
    rssPages: num(21),
    threads: num(17),
  };
}

const chunk = Buffer.allocUnsafe(1 << 16);

/**
 * A /proc file's text: one open, reads into a shared buffer, close (readFileSync also stats the file,
 * which /proc sizes as 0, and allocates per call: a 500-pane status reads ~4,000 of these).
 */
function read(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined;
  }
  try {
    const parts: Buffer[] = [];
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n < chunk.length && parts.length === 0) return chunk.toString("utf8", 0, n);
      parts.push(Buffer.from(chunk.subarray(0, n)));
      if (n < chunk.length) return Buffer.concat(parts).toString("utf8");
    }
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Whether this kernel has `children` files (CONFIG_PROC_CHILDREN), asked once of this process. */
let childrenFiles: boolean | undefined;

/**
 * Direct children of `pid` from its threads' `children` files (only the main thread's when it has one
 * thread: no directory listing); undefined where the kernel has no such files.
 */
function childrenOf(pid: number, threads: number): number[] | undefined {
  childrenFiles ??= existsSync(`/proc/${process.pid}/task/${process.pid}/children`);
  if (!childrenFiles) return undefined;
  let tasks: string[];
  try {
    tasks = threads === 1 ? [String(pid)] : readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const t of tasks) {
    // A thread or process that ended meanwhile has no children to give.
    const text = read(`/proc/${pid}/task/${t}/children`) ?? "";
    for (const c of text.split(" ")) if (c.trim()) out.push(Number(c));
  }
  return out;
}

/** Fallback without `children` files: one scan of every `/proc/<pid>/stat` for the parent map. */
function scanChildren(): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const st = parseStat(read(`/proc/${e}/stat`) ?? "");
    if (!st) continue;
    const list = map.get(st.ppid) ?? [];
    list.push(st.pid);
    map.set(st.ppid, list);
  }
  return map;
}

/**
 * Process trees from Linux /proc, no subprocess: the tree under each root is walked through
 * `/proc/<pid>/task/<tid>/children` (about 0.1 ms a tree; a full `/proc` scan is the fallback where the
 * kernel lacks those files), and only the processes found are read. Returns an empty map elsewhere.
 */
export async function linuxProcessTrees(rootPids: readonly number[]): Promise<Map<number, ProcessNode[]>> {
  const out = new Map<number, ProcessNode[]>();
  if (process.platform !== "linux" || rootPids.length === 0 || !existsSync("/proc/uptime")) return out;
  const uptimeMs = Number((read("/proc/uptime") ?? "0").split(" ")[0]) * 1000;
  const bootMs = Date.now() - uptimeMs;
  let scanned: Map<number, number[]> | undefined;
  const kids = (pid: number, threads: number): number[] => {
    if (!scanned) {
      const direct = childrenOf(pid, threads);
      if (direct !== undefined) return direct;
      scanned = scanChildren();
    }
    return scanned.get(pid) ?? [];
  };
  for (const root of rootPids) {
    const nodes: ProcessNode[] = [];
    const queue = [root];
    while (queue.length) {
      const pid = queue.shift()!;
      const st = parseStat(read(`/proc/${pid}/stat`) ?? "");
      // A zombie has exited: it only waits for a parent to reap it (an init that never reaps, in some
      // containers, keeps it forever), so it is not a running process.
      if (!st || st.state === "Z" || st.state === "X") continue;
      // Read every time: exec keeps the pid and the start time, so no key tells a cached command line is
      // still the process's (a fork read before its exec showed the parent shell's command for good).
      const raw = read(`/proc/${pid}/cmdline`);
      const command = raw ? raw.replace(/\0+$/, "").split("\0").join(" ") : st.comm;
      const startedMs = (st.startTicks / CLK_TCK) * 1000;
      const aliveMs = Math.max(1, uptimeMs - startedMs);
      nodes.push({
        pid,
        ppid: st.ppid,
        command,
        cpuPercent: Math.round(((st.cpuTicks / CLK_TCK) * 1000 * 1000) / aliveMs) / 10,
        rssBytes: st.rssPages * PAGE,
        startedAt: Math.round(bootMs + startedMs),
        startTicks: st.startTicks,
      });
      queue.push(...kids(pid, st.threads).sort((a, b) => a - b));
    }
    if (nodes.length) out.set(root, nodes);
  }
  return out;
}

/**
 * A process of this machine as it can be recognised later, by another mc process: pid, start time (clock
 * ticks since boot, /proc/<pid>/stat field 22), boot id and machine id. Linux only (undefined elsewhere).
 */
export interface ProcessIdentity {
  pid: number;
  start: number;
  boot: string;
  machine: string;
  /** Its pid namespace (`/proc/self/ns/pid` link text): containers share a boot id, not pids. */
  ns?: string;
}

const pidNamespace = (): string => {
  try {
    return readlinkSync("/proc/self/ns/pid");
  } catch {
    return "";
  }
};

/** A small file's text, trimmed (the file reader above). */
const readText = (p: string): string | undefined => read(p)?.trim();

/** This process's {@link ProcessIdentity}, or undefined where there is no /proc. */
export function selfIdentity(): ProcessIdentity | undefined {
  const st = parseStat(readText("/proc/self/stat") ?? "");
  const boot = readText("/proc/sys/kernel/random/boot_id");
  if (!st || !boot) return undefined;
  const ns = pidNamespace();
  return {
    pid: process.pid,
    start: st.startTicks,
    boot,
    machine: readText("/etc/machine-id") ?? "",
    ...(ns ? { ns } : {}),
  };
}

/**
 * Whether the process `id` names has ended: `true` when this is its machine and either the machine was
 * restarted since or no process with its pid and start time runs; `undefined` when this cannot be told
 * here (another machine sharing the state directory, no /proc).
 */
export function processEnded(id: ProcessIdentity): boolean | undefined {
  const boot = readText("/proc/sys/kernel/random/boot_id");
  if (!boot) return undefined;
  const machine = readText("/etc/machine-id") ?? "";
  // Without a machine id two containers sharing the state directory (and the kernel's boot id) could
  // not be told apart; another pid namespace cannot see the process either way.
  if (!machine || machine !== id.machine) return undefined;
  if (boot !== id.boot) return true;
  if (!id.ns || id.ns !== pidNamespace()) return undefined;
  const st = parseStat(readText(`/proc/${id.pid}/stat`) ?? "");
  return !st || st.startTicks !== id.start || st.state === "Z";
}

/** This machine's uptime in 1/100 s (as a tab's wrapper records it in `up`), or undefined without /proc. */
export function localUptimeCs(): number | undefined {
  if (process.platform !== "linux") return undefined;
  const m = /^(\d+)\.(\d\d)\s/.exec(read("/proc/uptime") ?? "");
  return m ? Number(m[1]) * 100 + Number(m[2]) : undefined;
}
