import { randomBytes } from "node:crypto";
import { isAbsolute, join } from "node:path";
import { type ConflictPolicy, planSessionNames } from "./conflict.js";
import { isMcError, McError } from "./errors.js";
import type { Command, Host, HostInfo } from "./host.js";
import { type MonitorSnapshot, monitor } from "./monitor.js";
import { normaliseStartDir } from "./paths.js";
import {
  deleteRun,
  listRuns,
  loadRun,
  type ManagedRun,
  type ManagedSession,
  saveRun,
  updateRun,
} from "./persistence.js";
import type { LayoutConfig } from "./schema.js";
import type {
  KillResult,
  ManagerOptions,
  MonitoringOptions,
  PreparedSession,
  SessionBackend,
  SessionSpec,
  StartedSession,
  StartOptions,
  StatusOptions,
} from "./session-backend.js";
import { makeReport, type StatusReport } from "./status.js";

export type * from "./session-backend.js";

function newRunId(): string {
  const d = new Date();
  const stamp = d.toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-");
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}

/**
 * The generic session lifecycle: resolve names → generate artefacts → start → verify → status → monitor
 * → kill → save/load. A backend supplies only what is specific to its tool ({@link SessionBackend}).
 */
export class SessionManager {
  readonly backend: SessionBackend;
  readonly kind: string;
  readonly sessionLayouts: readonly LayoutConfig[];
  readonly sessionNamePrefix: string | undefined;
  readonly keepShell: boolean;
  /** Backend options saved with the run so a later process can reach the same sessions (e.g. the tmux socket). */
  runOptions: Record<string, unknown> = {};
  /** Id under which this manager's run is saved. */
  runId: string;
  /** Sessions this manager started (or loaded); the only ones it will ever kill. */
  managed: ManagedSession[] = [];
  private infoCache: HostInfo | undefined;

  constructor(backend: SessionBackend, kind: string, opts: ManagerOptions) {
    this.backend = backend;
    this.kind = kind;
    this.sessionLayouts = opts.sessionLayouts;
    this.sessionNamePrefix = opts.sessionNamePrefix;
    this.keepShell = opts.keepShell ?? true;
    this.runId = newRunId();
  }

  get host(): Host {
    return this.backend.host;
  }

  /** Host facts, read once. */
  async hostInfo(): Promise<HostInfo> {
    this.infoCache ??= await this.host.info();
    return this.infoCache;
  }

  /** The names asked for, before conflict resolution: `<prefix>_<layoutName>` or `layoutName`. */
  getAllSessionNames(): string[] {
    return this.sessionLayouts.map((l) =>
      this.sessionNamePrefix ? `${this.sessionNamePrefix}_${l.layoutName}` : l.layoutName,
    );
  }

  /**
   * Resolve names against the sessions that exist and generate every artefact, starting nothing.
   * This is what a dry run prints.
   */
  async plan(opts: { onConflict?: ConflictPolicy; initialTabs?: number } = {}): Promise<PreparedSession[]> {
    const requested = this.getAllSessionNames();
    for (const n of requested) this.backend.checkName?.(n);
    await this.backend.checkAvailable?.();
    const existing = await this.backend.listSessions();
    const names = planSessionNames(
      { requested, existing, policy: opts.onConflict ?? "error", key: (n) => this.backend.sessionKey(n) },
      this.backend.name,
    );
    const info = await this.hostInfo();
    await this.checkStartDirs(info);
    const base = join(info.stateDir, "runs", this.runId);
    return names.map((p) => {
      const layout = this.sessionLayouts[p.index]!;
      const dir = join(base, `s${p.index}`);
      const spec: SessionSpec = { ...p, layout, runDir: dir, artefactDir: dir };
      if (opts.initialTabs !== undefined) spec.initialTabs = opts.initialTabs;
      return this.backend.prepare(spec, info);
    });
  }

  /** Every absolute startDir must be a directory on the host: checked for all tabs before anything starts. */
  private async checkStartDirs(info: HostInfo): Promise<void> {
    const problems: string[] = [];
    const seen = new Map<string, Promise<"dir" | "file" | undefined>>();
    const checks = this.sessionLayouts.flatMap((layout, li) =>
      layout.layoutTabs.map(async (tab, ti) => {
        const dir = normaliseStartDir(tab.startDir, info.home);
        if (!isAbsolute(dir) && !/^[A-Za-z]:[\\/]/.test(dir)) return;
        if (!seen.has(dir)) seen.set(dir, this.host.stat(dir));
        const kind = await seen.get(dir);
        if (kind !== "dir") {
          problems.push(
            `layouts[${li}].layoutTabs[${ti}].startDir: ${kind === "file" ? "is a file, not a directory" : "does not exist"}: ${dir} (layout "${layout.layoutName}", tab "${tab.tabName}")`,
          );
        }
      }),
    );
    await Promise.all(checks);
    if (problems.length) {
      throw new McError(
        "LAYOUT_INVALID",
        `${problems.length === 1 ? "a start directory is" : `${problems.length} start directories are`} missing on ${this.host.id}:\n${problems.sort().join("\n")}`,
        {
          backend: this.backend.name,
          op: "start",
          hint: "create the directories or fix startDir; nothing was started",
          details: problems,
        },
      );
    }
  }

  /**
   * Start every session: resolve conflicts by policy, write artefacts, start, verify each session
   * appeared. When one fails, every session this call started is killed again and START_FAILED names the
   * session that failed and why. The run is saved so `status`, `kill` and `load` find it later.
   */
  async startAllSessions(opts: StartOptions = {}): Promise<StartedSession[]> {
    const release =
      this.backend.lockName && this.host.lock ? await this.host.lock(this.backend.lockName) : undefined;
    try {
      return await this.startLocked(opts);
    } finally {
      await release?.();
    }
  }

  private async startLocked(opts: StartOptions): Promise<StartedSession[]> {
    const prepared = await this.plan(opts);
    const started: ManagedSession[] = [];
    const results: StartedSession[] = [];
    const aborted = () =>
      new McError("ABORTED", "interrupted while starting sessions", {
        backend: this.backend.name,
        op: "start",
      });
    for (const [i, p] of prepared.entries()) {
      if (i > 0 && opts.delayBetweenMs) await new Promise((r) => setTimeout(r, opts.delayBetweenMs));
      try {
        if (opts.signal?.aborted) throw aborted();
        if (p.action === "replace") await this.backend.kill(p.name);
        for (const a of p.artefacts)
          await this.host.writeFile(a.path, a.content, a.mode === undefined ? {} : { mode: a.mode });
        const data = this.backend.start ? await this.backend.start(p) : await this.runStart(p);
        const session: ManagedSession = {
          name: p.name,
          requestedName: p.requested,
          layout: p.layout,
          runDir: p.runDir,
          artefacts: p.artefacts.map((a) => a.path),
          startedAt: Date.now(),
          ...(data ? { data } : {}),
        };
        started.push(session);
        // Recorded at once: a process killed mid-launch leaves a run that `sessions ls/kill` can find.
        this.managed.push(session);
        await this.updateRecord((run) => ({
          ...(run ?? this.toRun()),
          sessions: [...(run?.sessions ?? []), session],
        }));
        if (!this.backend.startVerifies) await this.waitForSessions([p.name]);
        const r: StartedSession = {
          name: p.name,
          requestedName: p.requested,
          action: p.action,
          renamed: p.renamed,
          tabs: p.layout.layoutTabs.length,
          artefacts: session.artefacts,
        };
        results.push(r);
        opts.onSessionStarted?.(r, results.length, prepared.length);
      } catch (e) {
        const rollback = await this.rollback(started);
        const gone = new Set(rollback.filter((r) => r.ok).map((r) => r.name));
        await this.dropSessions(gone).catch(() => {});
        const rolled = `rolled back ${gone.size} of ${started.length} session(s) this run had started`;
        if (isMcError(e, "ABORTED")) {
          throw new McError("ABORTED", `interrupted while starting sessions; ${rolled}`, {
            backend: this.backend.name,
            op: "start",
            details: { rolledBack: rollback },
          });
        }
        const why = e instanceof McError ? e.reason : (e as Error).message;
        throw new McError("START_FAILED", `session "${p.name}" failed to start: ${why}`, {
          backend: this.backend.name,
          op: "start",
          hint: started.length > 0 ? rolled : e instanceof McError ? e.hint : undefined,
          cause: e,
          details: { failed: p.name, rolledBack: rollback },
        });
      }
    }
    if (opts.signal?.aborted) {
      // The last session finished starting as the signal came: roll back everything, like any interruption.
      const rollback = await this.rollback(started);
      await this.dropSessions(new Set(rollback.filter((r) => r.ok).map((r) => r.name))).catch(() => {});
      throw new McError(
        "ABORTED",
        `interrupted while starting sessions; rolled back ${rollback.filter((r) => r.ok).length} of ${started.length}`,
        {
          backend: this.backend.name,
          op: "start",
        },
      );
    }
    return results;
  }

  private async runStart(p: PreparedSession): Promise<undefined> {
    for (const cmd of p.start) {
      const r = await this.host.run(cmd);
      if (r.exitCode !== 0) {
        throw new McError(
          "COMMAND_FAILED",
          `${cmd.file} exited ${r.exitCode}: ${(r.stderr || r.stdout).trim()}`,
          {
            backend: this.backend.name,
            op: "start",
          },
        );
      }
    }
    return undefined;
  }

  private async rollback(started: ManagedSession[]): Promise<KillResult[]> {
    const out: KillResult[] = [];
    for (const s of [...started].reverse()) {
      try {
        await this.backend.kill(s.name, s);
        out.push({ name: s.name, ok: true });
      } catch (e) {
        out.push({ name: s.name, ok: false, error: (e as Error).message });
      }
    }
    return out;
  }

  /** Wait (bounded) until every named session is listed by the tool. */
  private async waitForSessions(names: string[]): Promise<void> {
    const want = new Set(names.map((n) => this.backend.sessionKey(n)));
    const deadline = Date.now() + (this.backend.appearTimeoutMs ?? 5000);
    let delay = 25;
    for (;;) {
      const seen = new Set((await this.backend.listSessions()).map((n) => this.backend.sessionKey(n)));
      const missing = [...want].filter((k) => !seen.has(k));
      if (missing.length === 0) return;
      if (Date.now() > deadline) {
        throw new McError(
          "TIMEOUT",
          `session did not appear within ${this.backend.appearTimeoutMs ?? 5000} ms`,
          {
            backend: this.backend.name,
            op: "start",
          },
        );
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 500);
    }
  }

  /** Status of every managed session: per tab running / exited (code) / killed / missing. */
  async checkAllSessionsStatus(opts: StatusOptions = {}): Promise<StatusReport> {
    return makeReport(await this.backend.status(this.managed, opts));
  }

  /** Monitoring snapshots until every tab's command has finished (see {@link monitor}). */
  monitor(
    opts: Omit<MonitoringOptions, "killUponCompletion" | "onSnapshot"> = {},
  ): AsyncGenerator<MonitorSnapshot> {
    return monitor(() => this.checkAllSessionsStatus({ processes: opts.processes ?? true }), opts);
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
    if (finished && opts.killUponCompletion) await this.killAllSessions();
    return last;
  }

  /** Kill the sessions this manager started, and only those. */
  async killAllSessions(): Promise<KillResult[]> {
    const out: KillResult[] = [];
    for (const s of this.managed) {
      try {
        await this.backend.kill(s.name, s);
        out.push({ name: s.name, ok: true });
      } catch (e) {
        out.push({ name: s.name, ok: false, error: (e as Error).message });
      }
    }
    return out;
  }

  /** The attach command for a managed session (the only one when `name` is omitted). */
  attachToSession(name?: string, env: NodeJS.ProcessEnv = process.env): Command {
    const names = this.managed.map((s) => s.name);
    const target = name ?? (names.length === 1 ? names[0] : undefined);
    if (target === undefined) {
      throw new McError(
        "USAGE",
        names.length === 0 ? "no sessions are managed here" : `several sessions: ${names.join(", ")}`,
        { backend: this.backend.name, op: "attach", hint: "name the session to attach to" },
      );
    }
    if (name !== undefined && !names.includes(name)) {
      throw new McError("SESSION_NOT_FOUND", `session "${name}" is not managed by this run`, {
        backend: this.backend.name,
        op: "attach",
        hint: names.length ? `managed: ${names.join(", ")}` : undefined,
      });
    }
    return this.backend.attachCommand(
      target,
      env,
      this.managed.find((s) => s.name === target),
    );
  }

  /** The run as saved on disk. */
  toRun(): ManagedRun {
    return {
      v: 1,
      id: this.runId,
      kind: this.kind,
      backend: this.backend.name,
      host: this.host.id,
      createdAt: Math.min(Date.now(), ...this.managed.map((s) => s.startedAt)),
      ...(this.sessionNamePrefix === undefined ? {} : { sessionNamePrefix: this.sessionNamePrefix }),
      options: this.runOptions,
      sessions: this.managed,
    };
  }

  /** Save what this manager manages (atomically); returns the run id. */
  async save(id?: string): Promise<string> {
    if (id) this.runId = id;
    await saveRun(this.host, (await this.hostInfo()).stateDir, this.toRun());
    return this.runId;
  }

  /** Replace what this manager manages with a saved run (no side effects: nothing is regenerated). */
  async load(id: string): Promise<ManagedRun> {
    const run = await loadRun(this.host, (await this.hostInfo()).stateDir, this.kind, id);
    this.adopt(run);
    return run;
  }

  /** Take over a saved run's sessions (what `load` does after reading it). */
  adopt(run: ManagedRun): void {
    this.runId = run.id;
    this.managed = run.sessions;
  }

  /**
   * Forget a session (after it was killed): it leaves the run record (read-modify-write under a lock,
   * so a `run` still starting in another process keeps its own additions) and its files are removed.
   * Returns false when it was not managed.
   */
  async forget(name: string): Promise<boolean> {
    if (!this.managed.some((s) => s.name === name)) return false;
    await this.dropSessions(new Set([name]));
    return true;
  }

  /** Remove sessions from memory, from the run record (deleted when empty) and their run directories. */
  private async dropSessions(names: Set<string>): Promise<void> {
    const dropped = this.managed.filter((s) => names.has(s.name));
    this.managed = this.managed.filter((s) => !names.has(s.name));
    const left = await this.updateRecord((run) => {
      const sessions = (run?.sessions ?? []).filter((s) => !names.has(s.name));
      return run && sessions.length ? { ...run, sessions } : undefined;
    });
    await Promise.all(dropped.map((s) => this.host.remove(s.runDir).catch(() => {})));
    if (!left)
      await this.host.remove(join((await this.hostInfo()).stateDir, "runs", this.runId)).catch(() => {});
  }

  /** Change this manager's run record on the host under its lock (see {@link updateRun}). */
  private async updateRecord(
    change: (run: ManagedRun | undefined) => ManagedRun | undefined,
  ): Promise<ManagedRun | undefined> {
    return updateRun(this.host, (await this.hostInfo()).stateDir, this.kind, this.runId, change);
  }

  /** Saved runs of this manager's kind. */
  async listSaved(): Promise<ManagedRun[]> {
    return (await listRuns(this.host, (await this.hostInfo()).stateDir, this.kind)).runs;
  }

  /** Delete a saved run record and its run directory (artefacts and tab records). */
  async deleteSaved(id: string): Promise<void> {
    const { stateDir } = await this.hostInfo();
    await deleteRun(this.host, stateDir, this.kind, id);
    await this.host.remove(join(stateDir, "runs", id));
  }
}
