import type { HostInfo, ProcessNode } from "@mc/core";

/** `uname -s` → the platform names of {@link HostInfo}. */
export function platformFromUname(uname: string): HostInfo["platform"] {
  const u = uname.trim().toLowerCase();
  if (u === "linux") return "linux";
  if (u === "darwin") return "darwin";
  if (u === "freebsd") return "freebsd";
  if (/^(mingw|msys|cygwin|windows)/.test(u)) return "win32";
  return "other";
}

/** The info operation's output: uname, home, state dir, shell, one per line. */
export function parseInfo(out: string): HostInfo {
  const [uname = "", home = "", stateDir = "", shell = ""] = out.split("\n");
  return {
    platform: platformFromUname(uname),
    home,
    stateDir,
    ...(shell ? { shell } : {}),
  };
}

/** POSIX `etime` (`[[dd-]hh:]mm:ss`) in seconds; undefined when unreadable. */
export function parseEtime(s: string): number | undefined {
  const m = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$/.exec(s.trim());
  if (!m) return undefined;
  return Number(m[1] ?? 0) * 86400 + Number(m[2] ?? 0) * 3600 + Number(m[3]) * 60 + Number(m[4]);
}

/**
 * The process table from the ps operation: first line the remote clock (`date +%s`), then
 * `pid ppid pcpu rss(KiB) etime args…` per process. Start times are the remote clock minus etime, so they
 * compare with the tab records, which the same machine wrote.
 */
export function parsePsTable(out: string): ProcessNode[] {
  const lines = out.split("\n");
  const now = Number(lines[0]?.trim());
  const nodes: ProcessNode[] = [];
  for (const line of lines.slice(1)) {
    const m = /^\s*(\d+)\s+(\d+)\s+([\d.,]+)\s+(\d+)\s+(\S+)\s?(.*)$/.exec(line);
    if (!m) continue;
    const etime = parseEtime(m[5]!);
    nodes.push({
      pid: Number(m[1]),
      ppid: Number(m[2]),
      cpuPercent: Number(m[3]!.replace(",", ".")),
      rssBytes: Number(m[4]) * 1024,
      command: m[6]!,
      ...(etime !== undefined && Number.isFinite(now) ? { startedAt: (now - etime) * 1000 } : {}),
    });
  }
  return nodes;
}

/** The trees under `rootPids` (root first, then descendants breadth-first) from one process table. */
export function treesFromTable(
  table: readonly ProcessNode[],
  rootPids: readonly number[],
): Map<number, ProcessNode[]> {
  const byPid = new Map(table.map((n) => [n.pid, n]));
  const children = new Map<number, number[]>();
  for (const n of table) {
    if (n.pid === n.ppid) continue;
    children.set(n.ppid, [...(children.get(n.ppid) ?? []), n.pid]);
  }
  const out = new Map<number, ProcessNode[]>();
  for (const root of rootPids) {
    if (!byPid.has(root)) continue;
    const seen = new Set<number>();
    const queue = [root];
    const list: ProcessNode[] = [];
    while (queue.length) {
      const pid = queue.shift()!;
      if (seen.has(pid)) continue;
      seen.add(pid);
      list.push(byPid.get(pid)!);
      queue.push(...(children.get(pid) ?? []).sort((a, b) => a - b));
    }
    out.set(root, list);
  }
  return out;
}
