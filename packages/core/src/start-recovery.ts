import { McError } from "./errors.js";
import type { Host } from "./host.js";
import { processEnded } from "./linux-proc.js";
import { listedKeys } from "./machine-plan.js";
import type { Machine } from "./machines.js";
import type { MachineStartResult } from "./manager-options.js";
import type { MachineRecord, ManagedRun, ManagedSession } from "./run-record.js";
import type { SessionBackend } from "./session-backend.js";
import { tabRecordName } from "./tab-record.js";
import { killSwept } from "./tab-sweep.js";

/** What recovering from an interrupted or dead start needs of a manager. */
export interface RecoveryOps {
  managed(): readonly ManagedSession[];
  /** How this manager reaches a machine (its record: connection, backend options). */
  machineRecord(machine: string): MachineRecord | undefined;
  /** Every saved run of the manager's kind. */
  runs(): Promise<ManagedRun[]>;
  /** Move sessions of one saved run to its ended list as rolled back (their logs stay, as for any end). */
  retire(runId: string, hit: (s: ManagedSession) => boolean): Promise<void>;
  /** Mark sessions of one saved run as kept: their start was not seen through, but they are whole. */
  keep(runId: string, hit: (s: ManagedSession) => boolean): Promise<unknown>;
  backendOf(machine: string): SessionBackend;
  hostOf(machine: string): Host;
  /** Drop sessions of this manager's run (and their files). */
  dropSessions(machine: string, names: Set<string>): Promise<void>;
}

/**
 * Settle what runs that died mid-start left on machine `m` (their records still say `starting`, and the
 * process that wrote them has ended): called under the backend's lock, where no start is under way, so
 * such a session was never seen through, and would otherwise pile up (a restart killed before it replaced
 * the original leaves its replacement). A session the tool shows whole (every tab that was to open at
 * start has its pane or its record) is kept, and marked so (`ls` still says its start was not seen
 * through): its run died after the tool made it (review H64-2: the next run of any layout killed such a
 * session, all its tabs running). Any other is rolled
 * back: a half-made session, a replacement that never took its name. A session whose kill fails stays
 * recorded. Each is said (`onRolledBack`); one rolled back is kept as an ended session with its logs
 * (review H51-5).
 */
export async function settleDeadStarts(
  ops: RecoveryOps,
  m: Machine<object>,
  onRolledBack?: (message: string) => void,
): Promise<void> {
  const here = reachOf(ops.machineRecord(m.name));
  for (const run of await ops.runs()) {
    // Only a run that reached this machine the same way (the same tmux server: the lock is per server,
    // and a kill elsewhere would answer "gone" for a session that runs on).
    if (reachOf(run.machines[m.name]) !== here) continue;
    const dead = run.sessions.filter(
      (s) =>
        s.machine === m.name && s.starting?.by && !s.starting.kept && processEnded(s.starting.by) === true,
    );
    for (const s of dead) {
      const same = (x: ManagedSession) =>
        x.machine === s.machine && x.name === s.name && x.runDir === s.runDir;
      // A replacement whose run died after it had killed the session it replaces: finished (given its
      // name), not rolled back, which left no session of the name at all (review H68-1).
      if (s.starting?.replacing && (await orphanedReplacement(m, s))) {
        await ops.keep(run.id, same);
        onRolledBack?.(
          `finished the restart of session ${JSON.stringify(s.name)} (run ${run.id}): the sessions run doing it (pid ${s.starting?.by?.pid}) ended after it had killed the session it replaced; its replacement now has the name`,
        );
        continue;
      }
      if (!s.starting?.replacing && (await whole(m, s))) {
        await ops.keep(run.id, same);
        onRolledBack?.(
          `kept session ${JSON.stringify(s.name)} (run ${run.id}): the sessions run that was starting it (pid ${s.starting?.by?.pid}) ended after ${m.backend.name} had made it with all its tabs; left running (sessions kill ends it)`,
        );
        continue;
      }
      const outcome = await killSwept(m.backend, m.host, s).catch(() => undefined);
      if (!outcome) continue;
      await ops.retire(run.id, same);
      // A restart that kills the session it replaces first (a tool that cannot rename) may have done so.
      const first = s.starting?.replacesFirst
        ? ` (a restart: the session it was replacing had been killed, or was about to be)`
        : "";
      const why = `the sessions run that was starting it (pid ${s.starting?.by?.pid}) ended before its start finished${first}`;
      onRolledBack?.(
        outcome === "gone"
          ? `recorded the start of session ${JSON.stringify(s.name)} (run ${run.id}) as rolled back: ${why}, and ${m.backend.name} has no such session`
          : `rolled back the unfinished start of session ${JSON.stringify(s.name)} (run ${run.id}): ${why} (killed?); it is listed as ended by sessions ls, and its logs are kept in ${s.runDir}/logs`,
      );
    }
  }
}

/**
 * The tool shows session `s` whole: it exists, and each tab that was to open at start (not a waiting one)
 * has its pane or its record. Where the tool cannot say for sure (no answer, no pane list as on Windows
 * Terminal), it is not.
 */
async function whole(m: Machine<object>, s: ManagedSession): Promise<boolean> {
  const [[obs], records, listed] = await Promise.all([
    m.backend.observe([s]).catch(() => [undefined]),
    m.host.readDir(s.runDir).catch(() => new Map<string, string>()),
    m.backend.listSessions().catch(() => undefined),
  ]);
  if (!obs?.exists || obs.error !== undefined || obs.noPaneEvidence) return false;
  // Under its own name (not the private one a tool builds it under first).
  const key = m.backend.sessionKey(s.name);
  if (!listed?.some((l) => listedKeys(m.backend, l).includes(key))) return false;
  const waiting = new Set(s.pendingTabs ?? []);
  return s.layout.layoutTabs.every(
    (_, i) => waiting.has(i) || obs.panes.has(i) || records.has(tabRecordName(i)),
  );
}

/**
 * A dead replacement whose original is gone (no session holds the name), whole under its private name:
 * given its name. False (rolled back as before) where any of that is not so, or the rename fails.
 */
async function orphanedReplacement(m: Machine<object>, s: ManagedSession): Promise<boolean> {
  if (!m.backend.finishRecorded) return false;
  const listed = await m.backend.listSessions().catch(() => undefined);
  const key = m.backend.sessionKey(s.name);
  // The replacement itself may be listed by its name (tmux lists mc's sessions by mc's name): another
  // run's session of the name is the original.
  const mine = s.data?.runId;
  if (!listed || listed.some((l) => listedKeys(m.backend, l).includes(key) && l.runId !== mine)) return false;
  const [obs] = await m.backend.observe([s]).catch(() => [undefined]);
  if (!obs?.exists || obs.error !== undefined || obs.noPaneEvidence) return false;
  const waiting = new Set(s.pendingTabs ?? []);
  if (!s.layout.layoutTabs.every((_, i) => waiting.has(i) || obs.panes.has(i))) return false;
  return m.backend.finishRecorded(s).then(
    () => true,
    () => false,
  );
}

/** What picks a machine's server: its backend options and, over ssh, where the connection goes. */
function reachOf(r: MachineRecord | undefined): string {
  const c = (r?.connection ?? {}) as { target?: unknown; port?: unknown; user?: unknown };
  return JSON.stringify([r?.backendOptions ?? {}, c.target ?? null, c.port ?? null, c.user ?? null]);
}

/**
 * Kill what one machine's finished start made (newest first) and drop it from the record: the start was
 * interrupted while another machine was still starting (sessions merged into are left as they are).
 */
export async function rollBackMachine(
  ops: RecoveryOps,
  r: MachineStartResult & { ok: true },
): Promise<MachineStartResult> {
  const made = r.sessions.filter((x) => x.action !== "merge").reverse();
  const backend = ops.backendOf(r.machine);
  const gone = new Set<string>();
  for (const x of made) {
    const s = ops.managed().find((y) => y.machine === r.machine && y.name === x.name);
    if (!s) continue;
    const ok = await killSwept(backend, ops.hostOf(r.machine), s).then(
      () => true,
      () => false,
    );
    if (ok) gone.add(s.name);
  }
  await ops.dropSessions(r.machine, gone).catch(() => {});
  const kept = r.sessions.length - gone.size;
  // A restart that finished here had killed the sessions it replaced: said, as a failed start says it
  // (review H60-2: four running sessions were gone and no line named them).
  const replaced = made.filter((x) => x.action === "replace").map((x) => JSON.stringify(x.name));
  const lost = replaced.length ? `; the restart had already killed ${replaced.join(", ")}` : "";
  return {
    machine: r.machine,
    ok: false,
    error: new McError(
      "ABORTED",
      `interrupted while starting sessions; rolled back ${gone.size} of ${made.length} session(s) this run had started on ${r.machine}${kept ? ` (${kept} left: merged into, or not reached)` : ""}${lost}`,
      {
        backend: backend.name,
        op: "start",
        details: { killedOriginals: made.filter((x) => x.action === "replace").map((x) => x.name) },
      },
    ),
    sessions: [],
  };
}
