import { join } from "node:path";
import { type Host, type KillOutcome, McError, parseTabRecord, tabRecordName } from "@mc/core";
import { pwshError } from "./errors.js";
import { parseKillReport } from "./parse.js";
import { liveWrappers } from "./registry.js";
import { type KillTarget, killScript, scriptFileArgs } from "./scripts.js";

/**
 * Kill one run's tabs. mc first writes `tab-<i>.kill` for every tab (a tab still starting sees it and
 * leaves at once), then one PowerShell call stops the processes under the live wrappers; each wrapper
 * records KILL and exits 0, so Windows Terminal closes its tab instead of leaving a dead one in the window
 * (ConptyConnection.cpp: exit code 0 → Closed). A wrapper that did not leave is stopped and mc writes its
 * end record. Only what really stopped counts: a survivor (an elevated process) is an error, never a kill.
 */
export async function killRun(host: Host, pwsh: string, runDir: string, tabs: number): Promise<KillOutcome> {
  // The kill files come first: a wrapper moves its start record into place and only then looks for its
  // kill file, so one that found none had already recorded its start, and the read below sees it. Read
  // first, a wrapper recording in between (the process-table query takes 0.5–2 s on Windows) was neither
  // targeted nor stopped and ran its command after the kill (review H43-5).
  await Promise.all(
    Array.from({ length: tabs }, (_, i) => host.writeFile(join(runDir, `tab-${i}.kill`), "kill\n")),
  );
  const live = await liveWrappers(host, runDir, tabs);
  if (live.length === 0) return "gone";
  const target = (p: { pid: number; startedAt?: number }): KillTarget => ({
    pid: p.pid,
    startedAt: p.startedAt ?? -1,
  });
  const wrappers = live.map((w) => target(w.tree[0]!));
  const others = live.flatMap((w) => w.tree.slice(1).map(target));
  const script = join(runDir, "kill.ps1");
  await host.writeFile(script, killScript(wrappers, others));
  const r = await host.run({ file: pwsh, args: scriptFileArgs(script), timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw pwshError(r, "kill", { pwsh, wt: "wt" });
  const report = parseKillReport(r.stdout);
  const stopped = new Set(report.stopped);
  const end = Math.floor(Date.now() / 1000);
  let killed = 0;
  for (const { index, record } of live) {
    const path = join(runDir, tabRecordName(index));
    const now = parseTabRecord(await host.readFile(path));
    // The wrapper writes its own KILL record when it could leave by itself, possibly before the kill
    // script even looked (a wrapper waiting out a retry backoff sees the kill file within 50 ms); mc
    // writes the record only for a wrapper it stopped.
    if (now?.end !== undefined) {
      if (now.signal === "KILL" || stopped.has(record.pid)) killed++;
      continue;
    }
    if (!stopped.has(record.pid)) continue;
    await host.writeFile(path, `${JSON.stringify({ ...record, end, signal: "KILL" })}\n`);
    killed++;
  }
  if (report.survivors.length > 0) {
    throw new McError(
      "COMMAND_FAILED",
      `${report.survivors.length} process(es) did not stop: ${report.survivors.join(", ")}`,
      {
        backend: "wt",
        op: "kill",
        hint: 'an elevated process (a profile with "elevate": true, or a command run as administrator) can only be stopped from an elevated shell',
        details: report,
      },
    );
  }
  return killed > 0 || stopped.size > 0 ? "killed" : "gone";
}
