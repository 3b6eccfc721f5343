import type { ProcessNode } from "./host.js";

/**
 * The trees under `rootPids` (root first, then descendants breadth-first) from one process table. Every
 * process-tree reader (Linux `/proc`, `ps` on other POSIX hosts, PowerShell on Windows) ends here.
 */
export function treesFromTable(
  table: readonly ProcessNode[],
  rootPids: readonly number[],
): Map<number, ProcessNode[]> {
  const byPid = new Map(table.map((n) => [n.pid, n]));
  const children = new Map<number, number[]>();
  for (const n of table) {
    if (n.pid === n.ppid) continue;
    const list = children.get(n.ppid);
    if (list) list.push(n.pid);
    else children.set(n.ppid, [n.pid]);
  }
  const out = new Map<number, ProcessNode[]>();
  for (const root of rootPids) {
    if (!byPid.has(root)) continue;
    const seen = new Set<number>();
    const queue = [root];
    const list: ProcessNode[] = [];
    for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
      if (seen.has(pid)) continue;
      seen.add(pid);
      list.push(byPid.get(pid)!);
      queue.push(...(children.get(pid) ?? []).sort((a, b) => a - b));
    }
    out.set(root, list);
  }
  return out;
}

/**
 * The POSIX `ps` call behind process trees on hosts without `/proc` access from node (remote hosts, macOS,
 * BSD): the host's clock first, so `etime` becomes a start time in that host's clock (the clock its tab
 * records use), then `pid ppid pcpu rss(KiB) etime args…`; `-ww` keeps whole command lines on procps and BSD.
 */
export const PS_TABLE_SCRIPT =
  "date +%s; exec ps -A -ww -o pid= -o ppid= -o pcpu= -o rss= -o etime= -o args=";

/** POSIX `etime` (`[[dd-]hh:]mm:ss`) in seconds; undefined when unreadable. */
export function parseEtime(s: string): number | undefined {
  const m = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$/.exec(s.trim());
  if (!m) return undefined;
  return Number(m[1] ?? 0) * 86400 + Number(m[2] ?? 0) * 3600 + Number(m[3]) * 60 + Number(m[4]);
}

/** Parse the output of {@link PS_TABLE_SCRIPT}. */
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

/**
 * The PowerShell script behind process trees on Windows: one `Win32_Process` query of the whole table,
 * printed as JSON `[{pid, ppid, start (epoch ms), rss, cmd}]`. Works in Windows PowerShell 5.1 and pwsh.
 */
export const WINDOWS_PROCESS_SCRIPT = `$ErrorActionPreference = 'Stop'
$mcEpoch = [DateTime]::new(1970, 1, 1, 0, 0, 0, [DateTimeKind]::Utc)
$mcRows = foreach ($p in Get-CimInstance -ClassName Win32_Process) {
  $s = 0
  if ($p.CreationDate) { $s = [long]($p.CreationDate.ToUniversalTime() - $mcEpoch).TotalMilliseconds }
  [pscustomobject]@{ pid = [int]$p.ProcessId; ppid = [int]$p.ParentProcessId; start = $s; rss = [long]$p.WorkingSetSize; cmd = [string]$p.CommandLine }
}
ConvertTo-Json -InputObject @($mcRows) -Compress -Depth 2
`;

/** Parse the output of {@link WINDOWS_PROCESS_SCRIPT} (or any JSON array of such rows). */
export function parseWindowsProcessRows(stdout: string): ProcessNode[] {
  const text = stdout.replace(/^\uFEFF/, "").trim();
  if (text === "") return [];
  const parsed = JSON.parse(text) as unknown;
  const rows = Array.isArray(parsed) ? parsed : [parsed];
  return rows.flatMap((x) => {
    const r = x as { pid?: unknown; ppid?: unknown; start?: unknown; rss?: unknown; cmd?: unknown };
    if (typeof r?.pid !== "number" || typeof r.ppid !== "number") return [];
    return [
      {
        pid: r.pid,
        ppid: r.ppid,
        command: typeof r.cmd === "string" ? r.cmd : "",
        cpuPercent: 0,
        rssBytes: typeof r.rss === "number" ? r.rss : 0,
        ...(typeof r.start === "number" && r.start > 0 ? { startedAt: r.start } : {}),
      },
    ];
  });
}
