import { createHash } from "node:crypto";
import { join } from "node:path";
import { inLine, McError, unanswered } from "./errors.js";
import type { HostInfo } from "./host.js";
import type { Machine } from "./machines.js";
import { pollUntil } from "./poll.js";
import { type ManagedSession, notPending } from "./run-record.js";
import { sessionSlots } from "./slots.js";
import { FINISHED_STATES, type StatusReport } from "./status.js";
import { forgetRecord } from "./status-poll.js";
import { parseTabRecord, tabRecordName } from "./tab-record.js";

/** What the tab operations need of a manager. */
export interface TabOps {
  machine(name: string): Machine<object>;
  hostInfo(machine: string): Promise<HostInfo>;
  /** Status of the sessions on these machines only: the run's others are not contacted (review H53-1). */
  status(machines: readonly string[]): Promise<StatusReport>;
  /** Change a session's entry here and in the run record as saved (see RunState.updateSession). */
  updateSession(s: ManagedSession, change: (x: ManagedSession) => void): Promise<void>;
}

/**
 * The lock of one tab's start: held by a rerun, and by a scheduler opening a waiting tab, until the tab's
 * wrapper has written its record (an abandoned tab has two ways to start: both opened it).
 */
export function tabLockName(s: ManagedSession, index: number): string {
  return `rerun-${createHash("sha256").update(`${s.runDir}\u0000${index}`).digest("hex").slice(0, 16)}`;
}

/** How long a started tab's wrapper has to write its record. */
const RECORD_WAIT_MS = 5000;

/**
 * Wait (a few seconds at most) until tab `index`'s record says attempt `attempt` or later started;
 * false when it did not in that time.
 */
export async function waitForRecord(
  m: Machine<object>,
  s: ManagedSession,
  index: number,
  attempt = 1,
): Promise<boolean> {
  const rec = join(s.runDir, tabRecordName(index));
  return pollUntil(
    async () => ((parseTabRecord(await m.host.readFile(rec))?.attempt ?? 1) >= attempt ? true : undefined),
    { timeoutMs: RECORD_WAIT_MS, maxDelayMs: 100, onTimeout: () => new Error("no record") },
  ).then(
    () => true,
    () => false,
  );
}

/**
 * Refuse to open a tab of `s` when its run directory is gone (deleted by hand): its wrapper would recreate
 * part of it (an events file, its own record), and later commands would no longer say it is missing; its
 * log and exit would be lost (review H65-7: a scheduler kept opening tabs that died at once, and a rerun
 * opened a window, then timed out). A directory that cannot be checked (no answer) is not called gone.
 */
async function checkRunDir(m: Machine<object>, s: ManagedSession, what: string, op: string): Promise<void> {
  if (!s.runDir) return;
  const at = await m.host.stat(s.runDir).catch(() => "dir" as const);
  if (at === "dir") return;
  throw new McError(
    "STATE_CORRUPT",
    `the run directory of session ${JSON.stringify(s.name)} (${inLine(s.runDir)}) is missing: the records, events and logs of its tabs went with it; ${what} was not opened`,
    {
      backend: m.backend.name,
      op,
      hint: "sessions status shows what the tool still knows of its tabs; sessions kill ends the session",
      details: { runDir: s.runDir },
    },
  );
}

/**
 * Run a finished tab's command again in a new tab of the same name (the old one closes once the new one
 * is open): its record moves to `attempts/` and the new run counts on from it. Returns the new attempt.
 */
export async function rerunTab(ops: TabOps, s: ManagedSession, index: number): Promise<number> {
  const m = ops.machine(s.machine);
  // Two reruns of one tab at once (two terminals, a script in a loop) both saw it finished and both
  // started it: one at a time, each holding the lock until its wrapper has said it started.
  const release = await m.host.lock(tabLockName(s, index));
  try {
    return await rerunLocked(ops, m, s, index);
  } finally {
    await release();
  }
}

/**
 * Open tab `index` under the tool's lock (after the tab's; nothing that holds the tool's takes a tab's),
 * which a kill takes for the tool's kill: a kill just before it leaves the session gone, said so (exit 5),
 * not a raw tool error (review H46-4: "no current target", "the tmux server is not running", exit 1).
 */
async function openTab(
  ops: TabOps,
  m: Machine<object>,
  s: ManagedSession,
  index: number,
  o: { attempt?: number } = {},
): Promise<void> {
  const info = await ops.hostInfo(m.name);
  const tool = m.backend.lockName ? await m.host.lock(m.backend.lockName) : undefined;
  try {
    await m.backend.startTab!(s, index, info, o);
  } catch (e) {
    const report = await ops.status([s.machine]).catch(() => undefined);
    const st = report?.sessions.find((x) => x.machine === s.machine && x.session === s.name);
    // Gone only where its machine answered (an ssh connection refused is not an end).
    const answered = report?.machines.find((h) => h.machine === s.machine)?.reachable !== false;
    if (st && !st.exists && answered && !unanswered(st.error))
      throw new McError("SESSION_NOT_FOUND", `session "${s.name}" is gone`, {
        backend: m.backend.name,
        op: "rerun",
        hint: "start it again with sessions run",
      });
    throw e;
  } finally {
    await tool?.();
  }
}

async function rerunLocked(
  ops: TabOps,
  m: Machine<object>,
  s: ManagedSession,
  index: number,
): Promise<number> {
  const op = { backend: m.backend.name, op: "rerun" };
  if (!m.backend.startTab)
    throw new McError(
      "USAGE",
      `${m.backend.name} cannot open a tab in a running session (capability "addTabsLater")`,
      op,
    );
  await checkRunDir(
    m,
    s,
    `tab ${JSON.stringify(s.layout.layoutTabs[index]?.tabName ?? String(index))}`,
    "rerun",
  );
  const report = await ops.status([s.machine]);
  const st = report.sessions.find((x) => x.machine === s.machine && x.session === s.name);
  const tab = st?.tabs.find((t) => t.index === index && !t.pane);
  // Not seen because the tool or machine did not answer is not gone (review H34-7), and its tab's state
  // is not known: said as status says it, at once (a new tab would wait for the same tool again: H33-5).
  const health = report.machines.find((h) => h.machine === s.machine);
  // A server that is not running answered: the session is gone (review H46-4: a rerun just after a kill
  // said "not reached", exit 1).
  const unreached =
    health?.reachable === false
      ? health.error
      : st && !st.exists && unanswered(st.error)
        ? st.error
        : undefined;
  // Its tool is not installed (not on PATH) is exit 6 as status says it, not a failed command (review H57-5).
  const missing = health?.reachable === false && health.code === "BINARY_NOT_FOUND";
  if (unreached)
    throw new McError(
      missing ? "BINARY_NOT_FOUND" : "COMMAND_FAILED",
      `session "${s.name}" was not reached: ${unreached}`,
      op,
    );
  if (!st?.exists || !tab)
    throw new McError("SESSION_NOT_FOUND", `session "${s.name}" is gone`, {
      ...op,
      hint: "start it again with sessions run",
    });
  if (tab.state === "abandoned") {
    // Never started (the run that was to start it ended): started now, as its first attempt,
    // with all its panes (startTab opens a waiting tab's panes too).
    await openTab(ops, m, s, index);
    await ops.updateSession(s, (x) => notPending(x, index));
    await waitForRecord(m, s, index);
    return 1;
  }
  if (s.layout.layoutTabs[index]?.panes?.length)
    throw new McError("USAGE", `tab "${tab.tabName}" has several panes: rerun runs one command`, {
      ...op,
      hint: "restart the session (sessions run --on-conflict restart), or merge-overwrite the changed tab",
    });
  if (!FINISHED_STATES.includes(tab.state))
    throw new McError("USAGE", `tab "${tab.tabName}" of "${s.name}" has not finished (${tab.state})`, {
      ...op,
      hint:
        tab.state === "not-started"
          ? "it waits for its turn: the sessions run that started the session opens it (sessions wait)"
          : "wait for it (sessions wait) or close it first",
    });
  const last = tab.attempt ?? 1;
  const rec = join(s.runDir, tabRecordName(index));
  // The earlier attempt's record is kept under attempts/; the new wrapper replaces the tab's own in place
  // once it runs, so a backend that refuses the start leaves the tab as it was.
  const text = await m.host.readFile(rec);
  if (text !== undefined)
    await m.host.writeFile(join(s.runDir, "attempts", `tab-${index}.${last}.json`), text);
  await openTab(ops, m, s, index, { attempt: last + 1 });
  // Until the new wrapper's record is there the tab still reads finished: wait for it (a few seconds at
  // most; a wrapper that never writes shows as the tool says), so a second rerun meets it running.
  const seen = await waitForRecord(m, s, index, last + 1);
  forgetRecord(m.records, s, index);
  if (tab.ref && m.backend.closeTab) await m.backend.closeTab(tab.ref).catch(() => {});
  await ops.updateSession(s, (x) => {
    if (!x.tabErrors?.[String(index)]) return;
    const { [String(index)]: _, ...rest } = x.tabErrors;
    x.tabErrors = rest;
  });
  // Opened, but not seen to start: said, not reported as started.
  if (!seen)
    throw new McError(
      "TIMEOUT",
      `attempt ${last + 1} of tab "${tab.tabName}" was opened, but its wrapper did not say it started within ${RECORD_WAIT_MS / 1000} s`,
      { ...op, hint: "sessions status shows whether it runs" },
    );
  return last + 1;
}

/**
 * A tab a scheduler will never open (a tab it depends on failed): it gets a record that says so (exit
 * 125, `dependency`), for every command of the tab, so it reads as failed and monitoring can finish.
 */
export async function failPendingTab(ops: TabOps, s: ManagedSession, index: number, message: string) {
  const host = ops.machine(s.machine).host;
  // Milliseconds, as the wrapper writes them: the skip must not read as older than the failure behind it.
  const now = Date.now() / 1000;
  const record = `${JSON.stringify({ v: 1, pid: 0, start: now, end: now, exit: 125, error: "dependency" })}\n`;
  for (const slot of sessionSlots(s.layout).filter((x) => x.tab === index))
    await host.writeFile(join(s.runDir, tabRecordName(slot.slot)), record);
  await ops.updateSession(s, (x) => {
    notPending(x, index);
    x.tabErrors = { ...x.tabErrors, [String(index)]: message };
  });
}

/**
 * Open waiting tab `index` of `s` (see SessionManager.startTab): false when another command (a rerun,
 * another run's scheduler) had opened it, which only takes it off the list.
 */
export async function startWaitingTab(ops: TabOps, s: ManagedSession, index: number): Promise<boolean> {
  const m = ops.machine(s.machine);
  const op = { backend: m.backend.name, op: "start" };
  if (!m.backend.startTab)
    throw new McError(
      "USAGE",
      `${m.backend.name} cannot add tabs to a running session (capability "addTabsLater")`,
      op,
    );
  if (!s.pendingTabs?.includes(index))
    throw new McError("USAGE", `tab ${index} of "${s.name}" is not waiting to start`, {
      ...op,
      hint: "sessions rerun SESSION/TAB runs a finished tab again",
    });
  // One start per tab: under the lock a rerun takes too, the tab has no record yet, and the lock is held
  // until its wrapper wrote one.
  const release = await m.host.lock(tabLockName(s, index));
  try {
    const opened = (await m.host.readFile(join(s.runDir, tabRecordName(index)))) === undefined;
    if (opened)
      await checkRunDir(
        m,
        s,
        `tab ${JSON.stringify(s.layout.layoutTabs[index]?.tabName ?? String(index))}`,
        "start",
      );
    if (opened) await m.backend.startTab(s, index, await ops.hostInfo(m.name));
    await ops.updateSession(s, (x) => notPending(x, index));
    if (opened) await waitForRecord(m, s, index);
    return opened;
  } finally {
    await release().catch(() => {});
  }
}
