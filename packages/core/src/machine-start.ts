import { inLine, isMcError, McError } from "./errors.js";
import type { Host, HostInfo } from "./host.js";
import { selfIdentity } from "./linux-proc.js";
import { listedKeys, type MachinePlan, type MachineRuntime } from "./machine-plan.js";
import { applyMerge, type MergeCounts, mergeCounts, type TabAction } from "./merge.js";
import { pollUntil } from "./poll.js";
import type { ManagedSession } from "./run-record.js";
import type { Artefact, KillOutcome, ListedSession, PreparedSession } from "./session-backend.js";
import { runOnStart } from "./session-hooks.js";
import { killSwept, sweepTabs, tabTerminalSessions } from "./tab-sweep.js";

/** Result of starting one session. */
export interface StartedSession {
  machine: string;
  name: string;
  requestedName: string;
  action: "create" | "replace" | "merge";
  renamed: boolean;
  tabs: number;
  /** For a merge: what happened to each tab of the merged session. */
  tabActions?: TabAction[];
  /** For a merge: what it did, counted. */
  merge?: MergeCounts;
  /** Tabs not opened yet: this run's scheduler opens them (`dependsOn`, `--max-parallel-tabs`). */
  waiting?: number;
  artefacts: string[];
}

/** Run a prepared session's start commands in order (backends without their own `start`). */
async function runStart(m: MachineRuntime, p: PreparedSession): Promise<undefined> {
  for (const cmd of p.start) {
    const r = await m.host.run(cmd);
    if (r.exitCode !== 0) {
      throw new McError(
        "COMMAND_FAILED",
        `${cmd.file} exited ${r.exitCode}: ${(r.stderr || r.stdout).trim()}`,
        {
          backend: m.backend.name,
          op: "start",
        },
      );
    }
  }
  return undefined;
}

/** Wait (bounded) until the tool lists the session. */
async function waitForSession(m: MachineRuntime, name: string): Promise<void> {
  const key = m.backend.sessionKey(name);
  const timeoutMs = m.backend.appearTimeoutMs ?? 5000;
  await pollUntil(
    async () =>
      (await m.backend.listSessions()).some((s) => listedKeys(m.backend, s).includes(key)) ? true : undefined,
    {
      timeoutMs,
      onTimeout: () =>
        new McError("TIMEOUT", `session did not appear within ${timeoutMs} ms`, {
          backend: m.backend.name,
          op: "start",
        }),
    },
  );
}

/** What {@link startMachine} reports back while it works. */
export interface StartHooks {
  signal?: AbortSignal | undefined;
  delayBetweenMs?: number | undefined;
  /** A session started: record it at once (a process killed mid-launch leaves a run `ls`/`kill` can find). */
  recorded(session: ManagedSession): Promise<void>;
  /** Sessions rolled back: drop them from the record. */
  dropped(names: Set<string>): Promise<void>;
  /** The saved record of the session a restart replaces (from the run that started it), when there is one. */
  previous(listed: ListedSession): Promise<ManagedSession | undefined>;
  /** A replaced session was killed: it leaves its old run's record (the same name never shows twice). */
  replaced(old: ManagedSession | undefined): Promise<void>;
  /** A session merged into moves to this run: it leaves its old run's record, its files stay. */
  adopted(old: ManagedSession): Promise<void>;
  onSessionStarted?: ((s: StartedSession) => void) | undefined;
  /** The machine's facts (for tabs a merge opens). */
  info: HostInfo;
}

/** Kill sessions this call started, newest first, and what their tabs left running; what each kill found. */
async function rollback(m: MachineRuntime, started: ManagedSession[]) {
  const out: { name: string; ok: boolean; outcome?: KillOutcome; error?: string }[] = [];
  for (const s of [...started].reverse()) {
    try {
      out.push({ name: s.name, ok: true, outcome: await killSwept(m.backend, m.host, s) });
    } catch (e) {
      out.push({ name: s.name, ok: false, error: isMcError(e) ? e.reason : (e as Error).message });
    }
  }
  return out;
}

/**
 * Remove what a failed start of `intent` made, if anything: undefined once nothing of it is left, else
 * why that could not be seen (the machine did not answer).
 */
async function settleIntent(m: MachineRuntime, intent: ManagedSession): Promise<string | undefined> {
  try {
    await killSwept(m.backend, m.host, intent);
    return undefined;
  } catch (x) {
    return x instanceof McError ? x.reason : (x as Error).message;
  }
}

/** What a kill needs to know of a session mc started in a run whose record is gone: its run id. */
function bareSession(m: MachineRuntime, listed: ListedSession): ManagedSession {
  return {
    machine: m.name,
    name: listed.name,
    requestedName: listed.name,
    layout: { layoutName: listed.name, layoutTabs: [] },
    runDir: "",
    artefacts: [],
    startedAt: 0,
    ...(listed.runId ? { data: { runId: listed.runId } } : {}),
  };
}

/**
 * Start every prepared session of one machine. A restart replaces only sessions mc started, and where the
 * tool can rename (tmux) it builds every replacement first under a private name and kills the sessions
 * being replaced only once all of them started: a failure leaves the originals untouched. Where it cannot,
 * each original is killed just before its replacement starts, and a failure says which were killed.
 * When a session fails (or the signal aborts), every session this call started is killed again.
 */
export async function startMachine(
  m: MachineRuntime,
  plan: MachinePlan,
  hooks: StartHooks,
): Promise<StartedSession[]> {
  const started: ManagedSession[] = [];
  const results: StartedSession[] = [];
  const killed: string[] = [];
  const deferred = m.backend.capabilities.renameSession && m.backend.finish !== undefined;
  const replaceOld = async (p: PreparedSession) => {
    const key = m.backend.sessionKey(p.name);
    // The session that has the name (a killed run's replacement still under its build name was rolled
    // back before this plan; another live run's, started under another lock, is not this run's to end).
    const listed = plan.listed.find((s) => listedKeys(m.backend, s).includes(key)) ?? { name: p.name };
    // A record that cannot be read does not keep the restart from replacing a session the tool shows is
    // mc's: it is killed by its name (what its tabs left beyond the tool is not swept: the record says where).
    const old = await hooks.previous(listed).catch((e: unknown) => {
      if (isMcError(e, "STATE_CORRUPT")) return undefined;
      throw e;
    });
    // As `kill` does: what the old tabs started beyond the tool's reach (nohup, setsid) ends with them.
    const sids = old?.runDir ? await tabTerminalSessions(m.host, old).catch(() => "") : "";
    await m.backend.kill(p.name, old ?? bareSession(m, listed));
    if (old?.runDir) await sweepTabs(m.host, old, sids).catch(() => undefined);
    killed.push(p.name);
    await hooks.replaced(old);
  };
  const aborted = () =>
    new McError("ABORTED", "interrupted while starting sessions", { backend: m.backend.name, op: "start" });
  let current = "";
  /** The record of the session being started, until its start returned. */
  let intent: ManagedSession | undefined;
  for (const d of plan.create ?? []) {
    // A dangling link or a file on the way is the user's to fix: said as such, not as a crash.
    const made = await m.host.makeDir(d).then(
      () => "",
      (e: unknown) => `: ${inLine((e as Error).message)}`,
    );
    if (made || (await m.host.dirAccess(d)) !== "ok")
      throw new McError(
        "START_FAILED",
        `could not create the start directory ${inLine(d)} on ${m.host.id}${made}`,
        {
          backend: m.backend.name,
          op: "start",
          hint: "create it yourself, or fix startDir; nothing was started",
        },
      );
  }
  try {
    for (const [i, p] of plan.prepared.entries()) {
      current = p.name;
      if (i > 0 && hooks.delayBetweenMs) await new Promise((r) => setTimeout(r, hooks.delayBetweenMs));
      if (hooks.signal?.aborted) throw aborted();
      if (p.action === "merge") continue;
      intent = intentOf(m, p);
      // A replacement built under its own name until the session it replaces is gone: marked from the
      // first record, so a run killed while the tool builds it never leaves it taken for whole.
      if (p.action === "replace" && deferred && intent.starting)
        intent.starting = { ...intent.starting, replacing: true };
      // Where the tool cannot rename, the session replaced is killed first: recorded before that kill, so
      // a run killed between the two leaves a record of the restart, which the next start settles and says
      // (review H70-2: the session was lost with no record at all).
      if (p.action === "replace" && !deferred && intent.starting)
        intent.starting = { ...intent.starting, replacesFirst: true };
      await hooks.recorded(intent);
      if (p.action === "replace" && !deferred) await replaceOld(p);
      const session = await startOne(m, p, intent, hooks.signal);
      const later = p.action === "replace" && deferred;
      // A replacement keeps `starting` until it has its name (finish), after the session it replaces is gone.
      if (later && intent.starting) session.starting = intent.starting;
      intent = undefined;
      started.push(session);
      await hooks.recorded(session);
      if (!m.backend.startVerifies && !later) await waitForSession(m, p.name);
      results.push(startedOf(m, p, session));
      if (!later) hooks.onSessionStarted?.(results.at(-1)!);
    }
    for (const p of plan.prepared) {
      if (p.action !== "replace" || !deferred) continue;
      current = p.name;
      if (hooks.signal?.aborted) throw aborted();
      await replaceOld(p);
      await m.backend.finish!(p);
      const session = started.find((x) => x.name === p.name);
      if (session?.starting) {
        delete session.starting;
        await hooks.recorded(session);
      }
      if (!m.backend.startVerifies) await waitForSession(m, p.name);
      hooks.onSessionStarted?.(results.find((r) => r.name === p.name)!);
    }
    // Merges last: a failure before them leaves every running session as it was.
    for (const [i, p] of plan.prepared.entries()) {
      const merge = plan.merges.get(i);
      if (!merge) continue;
      // Interrupted before it began: not begun (review H37-3: every merge was still made after Ctrl-C).
      if (hooks.signal?.aborted) throw aborted();
      current = p.name;
      await writeArtefacts(m.host, p.artefacts);
      // Recorded (before its tabs change, and after) before it leaves the other run's record: in between,
      // no record held it (a \`status --watch\` of it from another terminal ended with "not managed"; a
      // crash there lost it).
      const session = await applyMerge(m, p, merge, hooks.info, (s) => hooks.recorded(s));
      await hooks.recorded(session);
      await hooks.adopted(merge.old);
      const r = { ...startedOf(m, p, session), tabActions: merge.actions, merge: mergeCounts(merge) };
      results.push(r);
      hooks.onSessionStarted?.(r);
    }
    if (hooks.signal?.aborted && started.length) throw aborted();
  } catch (e) {
    const replacing = plan.prepared.some((p) => p.action === "replace");
    throw await failStart(m, current, started, intent, replacing ? killed : undefined, hooks, e);
  }
  return results;
}

/**
 * A session's artefacts, all at once (a remote host sends them in one round trip; locally 100 tabs'
 * files one after another cost ~60 ms) and not flushed to disk: the session reads them at once, and a
 * reboot that could lose them ends the session too.
 */
async function writeArtefacts(host: Host, artefacts: readonly Artefact[]): Promise<void> {
  await Promise.all(
    artefacts.map((a) =>
      host.writeFile(a.path, a.content, {
        durable: false,
        ...(a.mode === undefined ? {} : { mode: a.mode }),
      }),
    ),
  );
}

async function startOne(
  m: MachineRuntime,
  p: PreparedSession,
  intent: ManagedSession,
  signal?: AbortSignal,
): Promise<ManagedSession> {
  await writeArtefacts(m.host, p.artefacts);
  await runOnStart(m.host, p, signal);
  // When the tool was asked to make it: before any of its tabs could start.
  const startedAt = Date.now();
  const data = m.backend.start ? await m.backend.start(p) : await runStart(m, p);
  const { starting: _, data: __, ...session } = intent;
  return { ...session, startedAt, ...(data ? { data } : {}) };
}

/**
 * The record of a session about to start, saved before the tool is asked to make it: a run killed (or a
 * machine that stops answering) between the tool making it and mc saving it left a running session no
 * record knew, which no `ls`, `status` or `kill --all` could reach. `starting` says its start was not
 * seen through; the run id lets a backend find it by the marks it stamps on the session.
 */
function intentOf(m: MachineRuntime, p: PreparedSession): ManagedSession {
  const pendingTabs = p.pendingTabs?.length ? [...p.pendingTabs] : undefined;
  // This process is the one to start them (its scheduler): once it has ended they read `abandoned`.
  const self = selfIdentity();
  const scheduler = pendingTabs ? self : undefined;
  return {
    machine: m.name,
    name: p.name,
    requestedName: p.requested,
    layout: p.layout,
    runDir: p.runDir,
    artefacts: p.artefacts.map((a) => a.path),
    startedAt: Date.now(),
    ...(pendingTabs ? { pendingTabs } : {}),
    ...(scheduler ? { scheduler } : {}),
    starting: self ? { by: self } : {},
    data: { runId: p.runId },
  };
}

function startedOf(m: MachineRuntime, p: PreparedSession, s: ManagedSession): StartedSession {
  return {
    machine: m.name,
    name: p.name,
    requestedName: p.requested,
    action: p.action,
    renamed: p.renamed,
    tabs: p.layout.layoutTabs.length,
    ...(s.pendingTabs?.length ? { waiting: s.pendingTabs.length } : {}),
    artefacts: s.artefacts,
  };
}

async function failStart(
  m: MachineRuntime,
  failed: string,
  started: ManagedSession[],
  intent: ManagedSession | undefined,
  killed: string[] | undefined,
  hooks: StartHooks,
  e: unknown,
): Promise<McError> {
  const rolledBack = await rollback(m, started);
  const gone = new Set(rolledBack.filter((r) => r.ok).map((r) => r.name));
  // The session whose start failed: whatever of it the tool made goes too. Where that cannot be done (the
  // machine stopped answering mid-start), its record stays, so status and kill reach it once it answers.
  // What could not be rolled back stays recorded, and is said (a replacement not yet under its name, as
  // one: review H70-1).
  const stuck = started.filter((s) => rolledBack.some((r) => r.name === s.name && !r.ok));
  const stuckNote = !stuck.length
    ? ""
    : `; ${stuck.map((s) => JSON.stringify(s.name)).join(", ")} could not be (${rolledBack.find((r) => !r.ok)?.error}): ${
        stuck.some((s) => s.starting?.replacing)
          ? "an unfinished restart stays recorded as one, which the next start there rolls back (sessions status and sessions kill reach the session it was to replace)"
          : "they stay in mc's records, so sessions status and sessions kill reach them"
      }`;
  const rolled = `rolled back ${gone.size} of ${started.length} session(s) this run had started${stuckNote}`;
  const unsure = intent && (await settleIntent(m, intent));
  if (intent && !unsure) gone.add(intent.name);
  await hooks.dropped(gone).catch(() => {});
  const interrupted = isMcError(e, "ABORTED") || hooks.signal?.aborted;
  // Said to stay in mc's records for status and kill: no longer a start under way, which the next start
  // on this machine would roll back as a dead one once this process ended (review H60-1: an unrelated run
  // killed a healthy session this one had reported kept). An interrupted start stays one: the next start
  // rolls it back, as the interrupt asked.
  // A replacement not yet under its name keeps its mark: the session of that name is still the one it was
  // to replace (untouched), and the next start there rolls the replacement back, or finishes it where that
  // session is gone (review H70-1: kept unmarked, it took the name; ls said the original had ended, and
  // kill ended the half-built replacement, or said "already gone", of a session that ran on).
  const replacement = intent?.starting?.replacing === true;
  if (intent && unsure && !interrupted && !replacement) {
    const { starting: _, ...kept } = intent;
    await hooks.recorded(kept).catch(() => {});
  }
  // A restart says exactly what it had destroyed, or that it destroyed nothing.
  const lost =
    killed === undefined
      ? ""
      : killed.length
        ? `; the restart had already killed ${killed.map((k) => `"${k}"`).join(", ")}`
        : "; the sessions it was replacing are untouched";
  // Interrupted: also when the signal (a SIGTERM or hang-up to the process group) ended the tool's own
  // process first, whose death then read as the tool's failure (review H42-3: "tmux started no session").
  if (interrupted) {
    return new McError("ABORTED", `interrupted while starting sessions; ${rolled}${lost}`, {
      backend: m.backend.name,
      op: "start",
      details: { rolledBack, killedOriginals: killed ?? [] },
    });
  }
  const why = e instanceof McError ? e.reason : (e as Error).message;
  const maybe = !unsure
    ? ""
    : replacement
      ? `; its replacement may have been made on ${m.host.id} (${unsure}): it stays recorded as an unfinished restart, which the next start there rolls back (sessions status and sessions kill reach the session it was to replace)`
      : `; it may have started on ${m.host.id} (${unsure}): it stays in mc's records, so sessions status and sessions kill reach it`;
  // State that could not be written (a full or read-only disk, found after the up-front check) keeps its
  // code: exit 9, as when that check finds it (review H77-5 read 1).
  const code = isMcError(e, "STATE_IO") ? "STATE_IO" : "START_FAILED";
  return new McError(code, `session "${failed}" failed to start: ${why}${maybe}`, {
    backend: m.backend.name,
    op: "start",
    // What was rolled back and what a restart destroyed or left untouched; with nothing of this run's to
    // roll back, what the restart did, then the cause's own hint.
    hint:
      started.length > 0
        ? `${rolled}${lost}`
        : [lost.slice(2), e instanceof McError ? e.hint : undefined].filter(Boolean).join("; ") || undefined,
    cause: e,
    details: { failed, rolledBack, killedOriginals: killed ?? [] },
  });
}
