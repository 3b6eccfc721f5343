import { join } from "node:path";
import type { ConflictPolicy } from "./conflict.js";
import { isMcError, McError } from "./errors.js";
import type { Command, Host } from "./host.js";
import { selfIdentity } from "./linux-proc.js";
import { type PlanContext, planMachine, requestedNames } from "./machine-plan.js";
import { type StartedSession, startMachine } from "./machine-start.js";
import type { Machine } from "./machines.js";
import { checkRequest } from "./manager-checks.js";
import type {
  KillResult,
  MachineStartResult,
  MonitoringOptions,
  SessionManagerOptions,
  StartOptions,
} from "./manager-options.js";
import { RunState } from "./manager-state.js";
import { failPendingTab, rerunTab, startWaitingTab, type TabOps } from "./manager-tabs.js";
import { type MonitorSnapshot, monitor } from "./monitor.js";
import { mapLimit } from "./poll.js";
import { watchRunDirs } from "./run-dir-watch.js";
import { type ManagedSession, notPending } from "./run-record.js";
import type { ExitMode, PreparedSession, SessionBackend, StatusOptions } from "./session-backend.js";
import { type RecoveryOps, rollBackMachine, settleDeadStarts } from "./start-recovery.js";
import {
  type MachineHealth,
  makeReport,
  type SessionStatus,
  type StatusReport,
  type TabState,
} from "./status.js";
import { correctClock } from "./status-clock.js";
import { pollSessions, startingNow, unknownStatus } from "./status-poll.js";
import { readyMarkerName } from "./tab-record.js";
import { killAndSweep, sweepTabs, tabTerminalSessions } from "./tab-sweep.js";

/** States of a tab whose command runs, or is still to run. */
const UNFINISHED: readonly TabState[] = ["running", "pending", "not-started"];
/** After a change in a run directory, how long the monitor waits for the other changes of the moment. */
const MONITOR_SETTLE_MS = 50;

export type { StartedSession } from "./machine-start.js";
export type * from "./manager-options.js";
export { mapLimit } from "./poll.js";

/**
 * The session lifecycle, the same on this machine and across many: resolve names → generate artefacts →
 * start → verify → status → monitor → kill → save/load. A run is a set of machines, each a `Host` with a
 * backend on it; a local run is the one machine `local`. A backend supplies only what is specific to its
 * tool ({@link SessionBackend}); the tab state is decided in one place ({@link decideTabState}).
 */
export class SessionManager<O extends object = object> extends RunState<O> {
  readonly keepShell: boolean;
  readonly exitMode: ExitMode;
  private readonly concurrency: number;

  constructor(opts: SessionManagerOptions<O>) {
    super(opts);
    this.exitMode = opts.exitMode ?? (opts.keepShell === false ? "close" : "shell");
    this.keepShell = this.exitMode === "shell";
    this.concurrency = opts.concurrency ?? 4;
  }

  /** The names asked for, before conflict resolution: `<prefix>_<layoutName>` or `layoutName`, every machine. */
  getAllSessionNames(): string[] {
    return this.machineSet.all().flatMap((m) => requestedNames(m.layouts, this.sessionNamePrefix, m.backend));
  }

  private policyFor(machine: string, p: StartOptions["onConflict"]): ConflictPolicy {
    if (typeof p === "string") return p;
    return p?.[machine] ?? p?.["*"] ?? "error";
  }

  private async planContext(m: Machine<O>, o: StartOptions): Promise<PlanContext> {
    const info = await this.hostInfo(m.name);
    return {
      runId: this.runId,
      sessionNamePrefix: this.sessionNamePrefix,
      keepShell: this.keepShell,
      exitMode: this.exitMode,
      info,
      onConflict: this.policyFor(m.name, o.onConflict),
      initialTabs: o.initialTabs,
      // Relative start directories: from where `sessions run` runs, or the remote user's home.
      baseDir: m.host.id === "local" ? process.cwd() : info.home,
      missingDirs: o.missingDirs ?? "error",
      earlier: o.earlier,
      previous: (listed) => this.previousSession(m, listed.name, listed.runId),
    };
  }

  private checkInitialTabs(o: StartOptions): void {
    checkRequest(
      this.factory,
      this.machineSet.all().flatMap((m) => m.layouts),
      this.exitMode,
      o.initialTabs,
    );
  }

  /**
   * Resolve names against the sessions that exist and generate every artefact, starting nothing. This is
   * what a dry run prints.
   */
  async plan(
    o: Omit<StartOptions, "signal" | "onSessionStarted" | "onMachineDone"> = {},
  ): Promise<PreparedSession[]> {
    this.checkInitialTabs(o);
    const per = await mapLimit(this.machineSet.all(), this.concurrency, async (m) => {
      if (!m.layouts.length) return [];
      const plan = await planMachine(m, await this.planContext(m, o));
      for (const w of plan.warnings) o.onWarning?.(w);
      return plan.prepared;
    });
    return per.flat();
  }

  /**
   * Start every machine's sessions, machines in parallel. On each machine conflicts are resolved by policy
   * under the backend's lock, and a failure rolls back that machine's partial start; other machines carry
   * on. Never throws for one machine's failure: each machine's result says how it went.
   */
  async start(o: StartOptions = {}): Promise<MachineStartResult[]> {
    this.checkInitialTabs(o);
    await this.checkStateWritable();
    // Ended sessions' files on this machine are kept a week; housekeeping must never fail a start.
    await this.store.pruneEnded().catch(() => {});
    const todo = this.machineSet.all().filter((m) => m.layouts.length > 0);
    const results = await mapLimit(todo, this.concurrency, async (m): Promise<MachineStartResult> => {
      let r: MachineStartResult;
      try {
        r = { machine: m.name, ok: true, sessions: await this.startOne(m, o) };
      } catch (e) {
        r = {
          machine: m.name,
          ok: false,
          error: e instanceof Error ? e : new Error(String(e)),
          sessions: [],
        };
      }
      o.onMachineDone?.(r);
      return r;
    });
    // Interrupted while another machine was still starting: what the machines that had finished started
    // is rolled back too, as on the one that was interrupted (sessions merged into are left as they are).
    if (!o.signal?.aborted) return results;
    return Promise.all(
      results.map((r) => (r.ok && r.sessions.length ? rollBackMachine(this.recoveryOps(), r) : r)),
    );
  }

  private async startOne(m: Machine<O>, o: StartOptions): Promise<StartedSession[]> {
    // A start that waits in silence for another run's lock looked hung (review H70-3: ~29 s over ssh).
    const waiting = o.onLockWait && setTimeout(() => o.onLockWait?.(m.name), 1000);
    const release = m.backend.lockName
      ? await lockUnlessAborted(m.host, m.backend.lockName, o.signal, m.backend.name).finally(() =>
          clearTimeout(waiting),
        )
      : undefined;
    try {
      await settleDeadStarts(this.recoveryOps(), m, o.onWarning);
      const ctx = await this.planContext(m, o);
      const plan = await planMachine(m, ctx);
      for (const w of plan.warnings) o.onWarning?.(w);
      return await startMachine(m, plan, {
        info: ctx.info,
        signal: o.signal,
        delayBetweenMs: o.delayBetweenMs,
        onSessionStarted: o.onSessionStarted,
        recorded: async (s) => {
          s.recordedAt = Date.now();
          // A session's record replaces the one saved before its start (see `starting`).
          const put = (list: ManagedSession[]) =>
            list.some((x) => x.machine === s.machine && x.name === s.name)
              ? list.map((x) => (x.machine === s.machine && x.name === s.name ? s : x))
              : [...list, s];
          this.managed = put(this.managed);
          await this.updateRecord((run) => ({
            ...(run ?? this.toRun()),
            sessions: put(run?.sessions ?? []),
          }));
        },
        dropped: (names) => this.dropSessions(m.name, names),
        previous: (listed) => this.previousSession(m, listed.name, listed.runId),
        // The session is started or merged by then: a record that cannot be rewritten is said, not a failed
        // start (review H65-3: a merge done in full exited 1, "rolled back", on an unwritable old record).
        replaced: (old) => (old ? this.forgetElsewhere(old, "replaced", o.onWarning) : Promise.resolve()),
        adopted: (old) => this.forgetElsewhere(old, "adopted", o.onWarning),
      });
    } finally {
      // A failed release is harmless (the lock's lease runs out) and must not hide the start's own error.
      await release?.().catch(() => {});
    }
  }

  /** Fail with the state exit code before anything starts or is killed when state cannot be written. */
  async checkStateWritable(): Promise<void> {
    await this.store.checkWritable();
  }

  /** The saved record of a session mc started in another run (the one a restart replaces). */
  private async previousSession(m: Machine<O>, name: string, runId: string | undefined) {
    if (!runId || runId === this.runId) return undefined;
    const key = m.backend.sessionKey(name);
    return this.store.session(runId, (x) => x.machine === m.name && m.backend.sessionKey(x.name) === key);
  }

  /** A session of another run was replaced (it becomes that run's history) or adopted by a merge (it moves here). */
  private async forgetElsewhere(
    old: ManagedSession,
    how: "replaced" | "adopted",
    warn?: ((message: string) => void) | undefined,
  ): Promise<void> {
    const saved = old.data?.savedIn ?? old.data?.runId;
    if (typeof saved !== "string") return;
    // Adopted from this run's own record: the merged session has replaced it there already.
    if (how === "adopted" && saved === this.runId) return;
    const hit = (s: ManagedSession) => s.machine === old.machine && s.name === old.name;
    try {
      // Adopted by a merge: it lives on in this run. Replaced: its logs and records stay, as history.
      if (how === "adopted") await this.store.drop(saved, hit);
      else await this.store.retire(saved, hit, "replaced");
    } catch (e) {
      if (!warn) throw e;
      warn(
        `session "${old.name}" ${how === "adopted" ? "was merged into" : "was replaced by"} this run, but the record of run ${saved} that held it could not be updated (${isMcError(e) ? e.reason : (e as Error).message}): it may still list the session until that file can be written`,
      );
    }
  }

  /**
   * Start every session and throw when any failed (the seed's API): on one machine its error as it is,
   * on several a START_FAILED that lists each machine's result (what started elsewhere keeps running).
   */
  async startAllSessions(o: StartOptions = {}): Promise<StartedSession[]> {
    const results = await this.start(o);
    const failed = results.filter((r): r is Extract<MachineStartResult, { ok: false }> => !r.ok);
    if (failed.length === 0) return results.flatMap((r) => r.sessions);
    if (results.length === 1) throw failed[0]!.error;
    throw new McError(
      "START_FAILED",
      `${failed.length} of ${results.length} machines failed to start: ${failed.map((f) => `${f.machine}: ${f.error.message}`).join("; ")}`,
      { backend: this.factory.name, op: "start", details: results, cause: failed[0]!.error },
    );
  }

  /**
   * Status of every managed session on every machine: per tab running / exited (code) / killed / missing.
   * `asking` (optional) holds, while a machine is asked, its name and when the question went (monotonic
   * ms, `performance.now()`): a caller
   * that stops waiting (`sessions wait --timeout`) can tell which machine had not answered yet.
   */
  async checkAllSessionsStatus(
    opts: StatusOptions & {
      asking?: Map<string, number>;
      /**
       * Only these machines are asked, and only they are in the report: a machine the caller did not
       * name is not contacted, so it cannot delay the answer (review H53-1). Default: every machine.
       */
      machines?: Iterable<string> | undefined;
    } = {},
  ): Promise<StatusReport> {
    const { asking, machines, ...backendOpts } = opts;
    const only = machines === undefined ? undefined : new Set(machines);
    const per = await Promise.all(
      this.machineSet
        .all()
        .filter((m) => only === undefined || only.has(m.name))
        .map(async (m): Promise<[SessionStatus[], MachineHealth]> => {
          const health = { machine: m.name, host: m.host.id };
          const own = this.managed.filter((s) => s.machine === m.name);
          if (own.length === 0) return [[], { ...health, reachable: true }];
          asking?.set(m.name, performance.now());
          try {
            const r = await pollSessions(m.backend, m.name, m.records, own, backendOpts);
            return [
              r.sessions,
              r.error
                ? { ...health, reachable: false, error: r.error, ...(r.code ? { code: r.code } : {}) }
                : { ...health, reachable: true },
            ];
          } catch (e) {
            const error = (e as Error).message;
            const code = isMcError(e) ? { code: e.code } : {};
            return [
              own.map((s) => unknownStatus(s, m, error)),
              { ...health, reachable: false, error, ...code },
            ];
          } finally {
            asking?.delete(m.name);
          }
        }),
    );
    // Remote records and process times are in each machine's clock: shown in this machine's.
    const report = makeReport(
      per.flatMap(([s]) => s),
      per.map(([, h]) => h),
    );
    return correctClock(report, (name) =>
      this.machineSet.has(name) ? (this.hostOf(name).clockSkewMs ?? 0) : 0,
    );
  }

  /** Monitoring snapshots until every tab's command has finished (see {@link monitor}). */
  async *monitor(
    opts: Omit<MonitoringOptions, "killUponCompletion" | "onSnapshot"> = {},
  ): AsyncGenerator<MonitorSnapshot> {
    // A tab's start or end on this machine is polled the moment its wrapper writes it, not at the next
    // interval (a run's last exit was said, and the run ended, up to --interval late).
    const wake = watchRunDirs(
      this.managed.filter((s) => this.hostOf(s.machine).id === "local"),
      { settleMs: MONITOR_SETTLE_MS },
    );
    try {
      yield* monitor(() => this.checkAllSessionsStatus({ processes: opts.processes ?? true }), {
        ...opts,
        wait: wake,
      });
    } finally {
      wake.close();
    }
  }

  /**
   * Poll until every tab's command has finished, then (with `killUponCompletion`) kill the sessions.
   * Returns the last report. An abort ends monitoring without killing.
   */
  async runMonitoringRoutine(opts: MonitoringOptions = {}): Promise<StatusReport | undefined> {
    let last: StatusReport | undefined;
    let finished = false;
    for await (const snap of this.monitor(opts)) {
      opts.onSnapshot?.(snap);
      if (snap.report) last = snap.report;
      finished = snap.done;
    }
    if (finished && opts.killUponCompletion) await this.killAtCompletion({ keepFailed: opts.keepFailed });
    return last;
  }

  /**
   * What `--kill-upon-completion` does once every command finished: kill every session, or with
   * `keepFailed` only those whose tabs all succeeded; a session with a failed tab stays, its successful
   * tabs closed where the tool can close one tab, so what failed can be looked at.
   *
   * Asked again first, as things are now (reviews H27-1, H28-1): a session a merge from another terminal
   * moved to its own run is looked at with the tabs the merge gave it; one with a tab still running (a
   * merged tab, a rerun) has not finished and is not killed, said by `kept`.
   */
  async killAtCompletion(
    o: {
      keepFailed?: boolean | undefined;
      /** Something to say while it waits (a restart from another terminal under way: see awaitRestartsOf). */
      onNotice?: ((message: string) => void) | undefined;
    } = {},
  ): Promise<KillResult[]> {
    const same = (s: ManagedSession) => (x: ManagedSession) => x.machine === s.machine && x.name === s.name;
    await this.awaitRestartsOf(same, o.onNotice);
    const saved = await this.store.load(this.runId).catch(() => undefined);
    // A session a merge moved to another run's record (this run's goes once empty) is looked at, and
    // killed, as that record has it now: with the tabs the merge gave it.
    const movedTo = new Map<ManagedSession, string>();
    for (const [i, s] of [...this.managed].entries()) {
      if (saved && (saved.sessions.some(same(s)) || saved.ended?.some(same(s)))) continue;
      const now = await this.store.session(this.runId, same(s)).catch(() => undefined);
      const savedIn = now?.data?.savedIn;
      if (!now || typeof savedIn !== "string" || savedIn === this.runId) continue;
      this.managed[i] = now;
      movedTo.set(now, savedIn);
    }
    const report = await this.checkAllSessionsStatus({ processes: false });
    const out: KillResult[] = [];
    const ok = (t: { state: string; exitCode?: number }) => t.state === "exited" && t.exitCode === 0;
    for (const s of [...this.managed]) {
      // Replaced by another run (`--on-conflict restart` from another terminal): the session of that name
      // is that run's now, not this one's to kill (review H28-5: "sessions killed", though nothing was).
      const ended = saved && !saved.sessions.some(same(s)) ? saved.ended?.findLast(same(s)) : undefined;
      if (ended?.endedBy === "replaced") {
        const why =
          "another sessions run replaced it (--on-conflict restart), and the session of that name is that run's";
        out.push({ machine: s.machine, name: s.name, ok: true, kept: why });
        continue;
      }
      const st = report.sessions.find((x) => x.machine === s.machine && x.session === s.name);
      if (st?.exists && st.tabs.some((t) => UNFINISHED.includes(t.state))) {
        const why = movedTo.has(s)
          ? "another sessions run merged tabs into it, and one still runs"
          : "a tab of it runs again";
        out.push({ machine: s.machine, name: s.name, ok: true, kept: why });
        continue;
      }
      if (!o.keepFailed || !st || st.tabs.every(ok)) {
        const savedIn = movedTo.get(s);
        out.push(savedIn ? await this.killMoved(s, savedIn) : await this.killSession(s.name, s.machine));
        continue;
      }
      const backend = this.machine(s.machine).backend;
      for (const t of st.tabs.filter((x) => ok(x) && x.ref)) await backend.closeTab?.(t.ref!).catch(() => {});
      const failed = st.tabs.filter((t) => !ok(t)).map((t) => t.tabName);
      const kept = `kept to look at (--keep-failed): ${failed.join(", ")} failed`;
      out.push({ machine: s.machine, name: s.name, ok: true, kept });
    }
    return out;
  }

  /**
   * Until no live `sessions run --on-conflict restart` from another terminal is replacing a session of
   * this run (at most 60 s): its tabs ended because that restart killed it, and the restart marks it
   * replaced only after its kill. Asked before then, the session read "already gone" (and "no session
   * killed"), not "another sessions run replaced it".
   */
  private async awaitRestartsOf(
    same: (s: ManagedSession) => (x: ManagedSession) => boolean,
    onNotice?: (message: string) => void,
  ) {
    const start = performance.now();
    const mine = (x: ManagedSession) => this.managed.some((s) => same(s)(x));
    let said = false;
    for (;;) {
      const underway = (await this.store.replacementsOf(this.runId, mine).catch(() => [])).filter(
        startingNow,
      );
      if (!underway.length) return;
      const who = underway.map((x) => `${x.name} (sessions run pid ${x.starting!.by!.pid})`).join(", ");
      // Said, as the start lock's wait is (review H73-2: a stuck restart kept -k silent for 60 s).
      if (performance.now() - start > 60_000) {
        onNotice?.(`gave up waiting after 60 s for the restart of ${who}; going on without it`);
        return;
      }
      if (!said && performance.now() - start >= 1000) {
        said = true;
        onNotice?.(`waiting for another sessions run restarting ${who} (at most 60 s)`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** {@link killSession} of a session whose record a merge moved to run `savedIn`: retired there. */
  private async killMoved(s: ManagedSession, savedIn: string): Promise<KillResult> {
    await this.checkStateWritable();
    const r = await killAndSweep(this.machine(s.machine).backend, this.hostOf(s.machine), s);
    if (!r.ok) return r;
    const hit = (x: ManagedSession) => x.machine === s.machine && x.name === s.name;
    this.managed = this.managed.filter((x) => !hit(x));
    await this.store.retire(savedIn, hit, "killed");
    return r;
  }

  /** The managed session of that name (on that machine, when several machines have one). */
  session(name: string, machine?: string): ManagedSession {
    const hits = this.managed.filter(
      (s) => s.name === name && (machine === undefined || s.machine === machine),
    );
    if (hits.length === 1) return hits[0]!;
    throw new McError(
      hits.length ? "USAGE" : "SESSION_NOT_FOUND",
      hits.length
        ? `session "${name}" runs on several machines: ${hits.map((h) => h.machine).join(", ")}`
        : `session "${name}" is not managed by this run`,
      {
        backend: this.factory.name,
        hint: hits.length
          ? "name the machine"
          : `managed: ${this.managed.map((s) => s.name).join(", ") || "none"}`,
      },
    );
  }

  /**
   * Kill one managed session and everything its tabs left running (see {@link killAndSweep}), then forget
   * it. Only what the backend confirms (killed, or nothing of mc's left) counts: an unreachable machine, a
   * tool error or a process that survives is an error and the session stays in the record.
   */
  async killSession(
    name: string,
    machine?: string,
    o: { record?: boolean; resumed?: boolean } = {},
  ): Promise<KillResult> {
    const s = this.session(name, machine);
    // Another `sessions run` is making it: its kill would find nothing yet and say "already gone", and
    // the session would come up after (review H37-7). Not killed, and said.
    if (startingNow(s))
      return {
        machine: s.machine,
        name: s.name,
        ok: false,
        code: "SESSION_CONFLICT",
        error: `still being started by sessions run (pid ${s.starting!.by!.pid}): stop that run (Ctrl-C rolls it back), or kill it once it has started`,
      };
    // `record: false`: the caller deletes the whole run record next (ls --prune), so nothing is written,
    // which is what lets it clear a full disk.
    const record = o.record !== false;
    // A kill before this one that did not finish (killed outright, or still under way elsewhere).
    const earlier = s.killing;
    if (record) {
      await this.checkStateWritable();
      const self = selfIdentity();
      // Best effort: a mark that cannot be written does not stop the kill.
      if (self)
        await this.updateSession(s, (x) => {
          x.killing = self;
        }).catch(() => {});
    }
    const r = await killAndSweep(this.machine(s.machine).backend, this.hostOf(s.machine), s);
    // A session the kill found gone had ended outside mc: its record says so, not "killed" (review H38-5).
    if (r.ok && record)
      await this.retireSessions(
        s.machine,
        new Set([s.name]),
        // `resumed`: a kill made again after one that was interrupted, which had killed it (review H41-2);
        // so does an earlier kill's mark (review H65-4: one killed outright read `gone`).
        r.outcome === "gone" && !o.resumed && earlier === undefined ? "gone" : "killed",
      );
    else if (record)
      await this.updateSession(s, (x) => {
        if (earlier === undefined) delete x.killing;
        else x.killing = earlier;
      }).catch(() => {});
    return r;
  }

  /** Kill the sessions this manager started, and only those. */
  async killAllSessions(): Promise<KillResult[]> {
    const out: KillResult[] = [];
    for (const s of [...this.managed]) out.push(await this.killSession(s.name, s.machine));
    return out;
  }

  /** The command, run on this machine, that attaches this terminal to a managed session. */
  attachToSession(name?: string, env: NodeJS.ProcessEnv = process.env, machine?: string): Command {
    const candidates = this.managed.filter((s) => machine === undefined || s.machine === machine);
    if (name === undefined && candidates.length !== 1) {
      throw new McError(
        "USAGE",
        candidates.length === 0
          ? "no sessions are managed here"
          : `several sessions: ${candidates.map((s) => s.name).join(", ")}`,
        { backend: this.factory.name, op: "attach", hint: "name the session to attach to" },
      );
    }
    const s = name === undefined ? candidates[0]! : this.session(name, machine);
    const m = this.machine(s.machine);
    // A remote session's attach runs there; this machine's terminal environment does not apply.
    const cmd = m.backend.attachCommand(s.name, m.host.id === "local" ? env : {}, s);
    return m.host.interactiveCommand(cmd);
  }

  /**
   * Open waiting tab `index` of a managed session started with `initialTabs` (dynamic scheduling). False
   * when another command (a rerun, another run's scheduler) had opened it: it is only taken off the list.
   */
  async startTab(name: string, index: number, machine?: string): Promise<boolean> {
    return startWaitingTab(this.tabOps(), this.session(name, machine), index);
  }

  /**
   * A waiting tab that has a record after all (a start whose answer was lost, as when ssh dropped after the
   * remote command ran; a scheduler that ended before it saved): no longer waiting.
   */
  async stopWaiting(name: string, index: number, machine?: string): Promise<void> {
    await this.updateSession(this.session(name, machine), (x) => notPending(x, index));
  }

  /**
   * Run a finished tab's command again in a new tab of the same name; its earlier attempt's record is
   * kept. Returns the new attempt number (see {@link rerunTab}).
   */
  async rerunTab(name: string, index: number, machine?: string): Promise<number> {
    return rerunTab(this.tabOps(), this.session(name, machine), index);
  }

  private recoveryOps(): RecoveryOps {
    return {
      managed: () => this.managed,
      machineRecord: (machine) => this.machineSet.records()[machine],
      runs: () => this.store.list().catch(() => []),
      retire: (runId, hit) => this.store.retire(runId, hit, "rolled-back"),
      keep: (runId, hit) =>
        this.store.update(runId, (run) =>
          run
            ? {
                ...run,
                // Kept: whole, and (a finished replacement) under its own name.
                sessions: run.sessions.map((x) => {
                  if (!hit(x) || !x.starting) return x;
                  const { replacing: _, ...was } = x.starting;
                  return { ...x, starting: { ...was, kept: true as const } };
                }),
              }
            : run,
        ),
      backendOf: (machine) => this.backendOf(machine),
      hostOf: (machine) => this.hostOf(machine),
      dropSessions: (machine, names) => this.dropSessions(machine, names),
    };
  }

  private tabOps(): TabOps {
    return {
      machine: (name) => this.machine(name),
      hostInfo: (name) => this.hostInfo(name),
      status: (machines) => this.checkAllSessionsStatus({ processes: false, machines }),
      updateSession: (s, change) => this.updateSession(s, change),
    };
  }

  /** Record why a tab failed beyond what its record says (shown as its status's `error`). */
  async noteTabError(name: string, index: number, message: string, machine?: string): Promise<void> {
    await this.updateSession(this.session(name, machine), (x) => {
      x.tabErrors = { ...x.tabErrors, [String(index)]: message };
    });
  }

  /** Record when a tab's readiness probe succeeded (`ready-<i>` in its run directory, read by `events`). */
  async noteTabReady(name: string, index: number, machine?: string): Promise<void> {
    const s = this.session(name, machine);
    const host = this.hostOf(s.machine);
    // In the machine's clock, as every other time in its run directory (`events` takes its skew off them
    // all: review H76-4, a remote clock behind put tab-ready after its dependant's tab-started).
    const at = { t: (Date.now() + (host.clockSkewMs ?? 0)) / 1000 };
    await host.writeFile(join(s.runDir, readyMarkerName(index)), `${JSON.stringify(at)}\n`);
  }

  /** A tab a scheduler will never open (a tab it depends on failed): its record says so (exit 125). */
  async failPendingTab(name: string, index: number, message: string, machine?: string): Promise<void> {
    await failPendingTab(this.tabOps(), this.session(name, machine), index, message);
  }

  /**
   * Close a tab (or one pane of it) by the `ref` its status reported. Given its session and slot, what
   * that pane's command left running is ended too, as a session's kill ends it (`--kill-finished-tabs`,
   * a readiness timeout).
   */
  async closeTab(
    ref: string,
    machine?: string,
    pane?: { session: ManagedSession; slot: number },
  ): Promise<void> {
    const m = this.machine(machine);
    if (!m.backend.closeTab) {
      throw new McError("USAGE", `${m.backend.name} cannot close one tab (capability "closeTab")`, {
        backend: m.backend.name,
        op: "kill",
      });
    }
    if (!pane?.session.runDir) return m.backend.closeTab(ref);
    const host = this.hostOf(machine);
    const sids = await tabTerminalSessions(host, pane.session, pane.slot).catch(() => "");
    await m.backend.closeTab(ref);
    await sweepTabs(host, pane.session, sids, pane.slot).catch(() => undefined);
  }
}

/**
 * Take a host's lock, or give up at once when `signal` aborts (Ctrl-C while another mc holds the lock, or
 * while ssh still connects to the host): nothing has started then, so there is nothing to roll back. A lock
 * taken after that is released as it comes.
 */
function lockUnlessAborted(
  host: Host,
  name: string,
  signal: AbortSignal | undefined,
  backend: string,
): Promise<() => Promise<void>> {
  const taking = host.lock(name);
  if (!signal) return taking;
  const aborted = () =>
    new McError("ABORTED", "interrupted while waiting to start sessions; nothing was started", {
      backend,
      op: "start",
    });
  if (signal.aborted) {
    taking.then(
      (release) => release().catch(() => {}),
      () => {},
    );
    return Promise.reject(aborted());
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      taking.then(
        (release) => release().catch(() => {}),
        () => {},
      );
      reject(aborted());
    };
    signal.addEventListener("abort", onAbort, { once: true });
    taking.then(
      (release) => {
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted) void release().catch(() => {});
        else resolve(release);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
