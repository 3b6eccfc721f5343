import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { ConflictPolicy } from "./conflict.js";
import { McError } from "./errors.js";
import type { Command, Host, HostInfo } from "./host.js";
import { localHost } from "./local-host.js";
import {
  type MachineRuntime,
  type MissingDirsPolicy,
  type PlanContext,
  planMachine,
  requestedNames,
  type StartedSession,
  startMachine,
} from "./machine-start.js";
import { type MonitorSnapshot, monitor } from "./monitor.js";
import {
  deleteRun,
  listRuns,
  loadRun,
  type MachineRecord,
  type ManagedRun,
  type ManagedSession,
  saveRun,
  updateRun,
} from "./run-record.js";
import type { LayoutConfig } from "./schema.js";
import type {
  BackendFactory,
  KillOutcome,
  PreparedSession,
  SessionBackend,
  StatusOptions,
} from "./session-backend.js";
import {
  type MachineHealth,
  makeReport,
  type SessionStatus,
  type StatusReport,
  summarizeSession,
} from "./status.js";
import { pollSessions, type RecordCache } from "./status-poll.js";

export type { StartedSession } from "./machine-start.js";

/** One machine a manager starts sessions on. */
export interface MachineSpec<O extends object = object> {
  /** `local` for this machine; otherwise the name the user gave it (an ssh alias). */
  name: string;
  host: Host;
  /** The layouts to start there. */
  layouts: readonly LayoutConfig[];
  /** How to reach it again later (saved with the run; given to `connect`). */
  connection?: Record<string, unknown> | undefined;
  /** The backend's options on that machine (tmux socket, zellij binary). */
  backendOptions?: O | undefined;
}

/** Options of {@link SessionManager}. */
export interface SessionManagerOptions<O extends object = object> {
  /** Saved-run kind (the manager's class name, `TmuxLocalManager`). */
  kind: string;
  factory: BackendFactory<O>;
  machines: readonly MachineSpec<O>[];
  /** Put in front of every session name as `<prefix>_<layoutName>`. */
  sessionNamePrefix?: string | undefined;
  /** Keep the tab open with an interactive shell after its command ends (default true). */
  keepShell?: boolean | undefined;
  /** Where the run record is kept (default: this machine). */
  stateHost?: Host | undefined;
  /** Reach a machine of a saved run again; without it only `local` machines can be loaded. */
  connect?: ((machine: string, record: MachineRecord) => Host) | undefined;
  /** How many machines start at the same time (default 4). */
  concurrency?: number | undefined;
}

/** Options shared by the seed's manager constructors (`TmuxLocalManager`, …). */
export interface ManagerOptions {
  sessionLayouts: readonly LayoutConfig[];
  sessionNamePrefix?: string | undefined;
  keepShell?: boolean | undefined;
}

/** Options of {@link SessionManager.startAllSessions}. */
export interface StartOptions {
  /** One policy, or one per machine (`*` as the default). */
  onConflict?: ConflictPolicy | Readonly<Record<string, ConflictPolicy>> | undefined;
  /** Wait this long between two session starts (machineconfig's `--sleep-inbetween`). */
  delayBetweenMs?: number | undefined;
  /** Start only the first N tabs of each session; the others are `not-started` until `startTab`. */
  initialTabs?: number | undefined;
  /** Start directories that do not exist: an error (default), created, or their tabs skipped. */
  missingDirs?: MissingDirsPolicy | undefined;
  /** Something the user should know (a skipped tab). */
  onWarning?: ((message: string) => void) | undefined;
  /** Interrupt the start: what this call started is killed again, and ABORTED is thrown. */
  signal?: AbortSignal | undefined;
  /** Called after each session has started (for progress output). */
  onSessionStarted?: ((s: StartedSession) => void) | undefined;
  /** Called when a machine has finished starting, or failed. */
  onMachineDone?: ((r: MachineStartResult) => void) | undefined;
}

/** How one machine's start went. */
export type MachineStartResult =
  | { machine: string; ok: true; sessions: StartedSession[] }
  | { machine: string; ok: false; error: Error; sessions: [] };

/** What killing one session found. */
export interface KillResult {
  machine: string;
  name: string;
  ok: boolean;
  outcome?: KillOutcome;
  error?: string;
}

/** Options of {@link SessionManager.runMonitoringRoutine}. */
export interface MonitoringOptions {
  intervalMs?: number;
  /** Read process trees on every poll (default true); see {@link StatusOptions.processes}. */
  processes?: boolean;
  killUponCompletion?: boolean;
  signal?: AbortSignal;
  maxCycles?: number;
  onSnapshot?: (snap: MonitorSnapshot) => void;
}

function newRunId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-");
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}

/** Run `f` over `items` with at most `limit` at once, keeping order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  f: (x: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

interface Machine<O extends object> extends MachineRuntime {
  readonly spec: MachineSpec<O>;
  readonly records: RecordCache;
  info?: HostInfo;
}

/**
 * The session lifecycle, the same on this machine and across many: resolve names → generate artefacts →
 * start → verify → status → monitor → kill → save/load. A run is a set of machines, each a `Host` with a
 * backend on it; a local run is the one machine `local`. A backend supplies only what is specific to its
 * tool ({@link SessionBackend}); the tab state is decided in one place ({@link decideTabState}).
 */
export class SessionManager<O extends object = object> {
  readonly kind: string;
  readonly factory: BackendFactory<O>;
  readonly sessionNamePrefix: string | undefined;
  readonly keepShell: boolean;
  /** Id under which this manager's run is saved. */
  runId: string;
  /** Sessions this manager started (or loaded); the only ones it will ever kill. */
  managed: ManagedSession[] = [];
  private readonly machineMap = new Map<string, Machine<O>>();
  private readonly stateHost: Host;
  private readonly connect: SessionManagerOptions<O>["connect"];
  private readonly concurrency: number;

  constructor(opts: SessionManagerOptions<O>) {
    this.kind = opts.kind;
    this.factory = opts.factory;
    this.sessionNamePrefix = opts.sessionNamePrefix;
    this.keepShell = opts.keepShell ?? true;
    this.runId = newRunId();
    this.connect = opts.connect;
    this.concurrency = opts.concurrency ?? 4;
    for (const m of opts.machines) this.addMachine(m);
    this.stateHost = opts.stateHost ?? this.machineMap.get("local")?.host ?? localHost();
  }

  private addMachine(spec: MachineSpec<O>): Machine<O> {
    if (this.machineMap.has(spec.name)) {
      throw new McError("USAGE", `machine "${spec.name}" is listed twice`, { backend: "core", op: "start" });
    }
    const given = (spec.backendOptions ?? {}) as O;
    const options =
      spec.host.id === "local" && this.factory.pinLocal ? this.factory.pinLocal(given, process.env) : given;
    const pinned = { ...spec, backendOptions: options };
    const backend = this.factory.create(spec.host, options);
    const m: Machine<O> = {
      name: spec.name,
      host: spec.host,
      backend,
      layouts: spec.layouts,
      spec: pinned,
      records: new Map(),
    };
    this.machineMap.set(spec.name, m);
    return m;
  }

  /** The machines of this run, by name. */
  get machines(): string[] {
    return [...this.machineMap.keys()];
  }

  /** The backend on a machine (the only one, when `machine` is omitted and the run has one). */
  backendOf(machine?: string): SessionBackend {
    return this.machine(machine).backend;
  }

  /** The host of a machine (the only one, when omitted). */
  hostOf(machine?: string): Host {
    return this.machine(machine).host;
  }

  /** Backwards-compatible: the backend of a one-machine manager. */
  get backend(): SessionBackend {
    return this.backendOf();
  }

  /** Backwards-compatible: the host of a one-machine manager. */
  get host(): Host {
    return this.hostOf();
  }

  private machine(name?: string): Machine<O> {
    const m =
      name === undefined
        ? this.machineMap.size === 1
          ? [...this.machineMap.values()][0]
          : undefined
        : this.machineMap.get(name);
    if (m) return m;
    throw new McError(
      name === undefined ? "USAGE" : "SESSION_NOT_FOUND",
      name === undefined
        ? "this run has several machines; name one"
        : `machine "${name}" is not part of this run`,
      { backend: this.factory.name, hint: `machines: ${this.machines.join(", ")}` },
    );
  }

  /** Host facts of a machine, read once. */
  async hostInfo(machine?: string): Promise<HostInfo> {
    const m = this.machine(machine);
    m.info ??= await m.host.info();
    return m.info;
  }

  /** The names asked for, before conflict resolution: `<prefix>_<layoutName>` or `layoutName`, every machine. */
  getAllSessionNames(): string[] {
    return [...this.machineMap.values()].flatMap((m) => requestedNames(m.layouts, this.sessionNamePrefix));
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
      info,
      onConflict: this.policyFor(m.name, o.onConflict),
      initialTabs: o.initialTabs,
      // Relative start directories: from where `sessions run` runs, or the remote user's home.
      baseDir: m.host.id === "local" ? process.cwd() : info.home,
      missingDirs: o.missingDirs ?? "error",
    };
  }

  private checkInitialTabs(o: StartOptions): void {
    if (o.initialTabs === undefined || this.factory.capabilities.addTabsLater) return;
    throw new McError(
      "USAGE",
      `${this.factory.name} cannot add tabs to a running session (capability "addTabsLater")`,
      {
        backend: this.factory.name,
        op: "start",
        hint: "drop --max-parallel-tabs for this backend, or split the layout with sessions balance-load",
      },
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
    const per = await mapLimit([...this.machineMap.values()], this.concurrency, async (m) => {
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
    const todo = [...this.machineMap.values()].filter((m) => m.layouts.length > 0);
    return mapLimit(todo, this.concurrency, async (m): Promise<MachineStartResult> => {
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
  }

  private async startOne(m: Machine<O>, o: StartOptions): Promise<StartedSession[]> {
    const release = m.backend.lockName ? await m.host.lock(m.backend.lockName) : undefined;
    try {
      const plan = await planMachine(m, await this.planContext(m, o));
      for (const w of plan.warnings) o.onWarning?.(w);
      return await startMachine(m, plan, {
        signal: o.signal,
        delayBetweenMs: o.delayBetweenMs,
        onSessionStarted: o.onSessionStarted,
        recorded: async (s) => {
          this.managed.push(s);
          await this.updateRecord((run) => ({
            ...(run ?? this.toRun()),
            sessions: [...(run?.sessions ?? []), s],
          }));
        },
        dropped: (names) => this.dropSessions(m.name, names),
        previous: (listed) => this.previousSession(m, listed.name, listed.runId),
        replaced: (old) => (old ? this.forgetElsewhere(m, old) : Promise.resolve()),
      });
    } finally {
      // A failed release is harmless (the lock's lease runs out) and must not hide the start's own error.
      await release?.().catch(() => {});
    }
  }

  /**
   * Fail with the state exit code before anything is started or killed when the state directory cannot
   * be written (read-only, full, or owned by another user): a change mc cannot record must not happen.
   */
  async checkStateWritable(): Promise<void> {
    const dir = await this.stateDir();
    const probe = join(dir, `.write-probe-${process.pid}-${randomBytes(3).toString("hex")}`);
    try {
      await this.stateHost.writeFile(probe, "");
      await this.stateHost.remove(probe);
    } catch (e) {
      throw new McError("STATE_IO", `the state directory ${dir} cannot be written: ${(e as Error).message}`, {
        backend: "core",
        op: "state",
        hint: "make it writable (and owned by you: was it created by sudo?), or choose another with --state-dir; nothing was changed",
        cause: e,
      });
    }
  }

  /** The saved record of a session mc started in another run (the one a restart replaces). */
  private async previousSession(
    m: Machine<O>,
    name: string,
    runId: string | undefined,
  ): Promise<ManagedSession | undefined> {
    if (!runId || runId === this.runId) return undefined;
    const run = await loadRun(this.stateHost, await this.stateDir(), this.kind, runId).catch(() => undefined);
    const s = run?.sessions.find(
      (x) => x.machine === m.name && m.backend.sessionKey(x.name) === m.backend.sessionKey(name),
    );
    return s && { ...s, data: { ...s.data, runId } };
  }

  /** A session of another run was replaced: it leaves that run's record, and its files go. */
  private async forgetElsewhere(m: Machine<O>, old: ManagedSession): Promise<void> {
    const runId = typeof old.data?.runId === "string" ? old.data.runId : undefined;
    if (!runId) return;
    await updateRun(this.stateHost, await this.stateDir(), this.kind, runId, (run) => {
      const sessions = (run?.sessions ?? []).filter(
        (s) => !(s.machine === old.machine && s.name === old.name),
      );
      return run && sessions.length ? { ...run, sessions } : undefined;
    });
    if (old.runDir) await m.host.remove(old.runDir).catch(() => {});
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

  /** Status of every managed session on every machine: per tab running / exited (code) / killed / missing. */
  async checkAllSessionsStatus(opts: StatusOptions = {}): Promise<StatusReport> {
    const per = await Promise.all(
      [...this.machineMap.values()].map(async (m): Promise<[SessionStatus[], MachineHealth]> => {
        const health = { machine: m.name, host: m.host.id };
        const own = this.managed.filter((s) => s.machine === m.name);
        if (own.length === 0) return [[], { ...health, reachable: true }];
        try {
          const r = await pollSessions(m.backend, m.name, m.records, own, opts);
          return [
            r.sessions,
            r.error ? { ...health, reachable: false, error: r.error } : { ...health, reachable: true },
          ];
        } catch (e) {
          const error = (e as Error).message;
          return [own.map((s) => unknownStatus(s, m, error)), { ...health, reachable: false, error }];
        }
      }),
    );
    return makeReport(
      per.flatMap(([s]) => s),
      per.map(([, h]) => h),
    );
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

  /** Kill one managed session and forget it; the result says whether it was killed or already gone. */
  async killSession(name: string, machine?: string): Promise<KillResult> {
    const s = this.session(name, machine);
    await this.checkStateWritable();
    try {
      const outcome = await this.machine(s.machine).backend.kill(s.name, s);
      await this.dropSessions(s.machine, new Set([s.name]));
      return { machine: s.machine, name: s.name, ok: true, outcome };
    } catch (e) {
      return { machine: s.machine, name: s.name, ok: false, error: (e as Error).message };
    }
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

  /** Open tab `index` of a managed session started with `initialTabs` (dynamic scheduling). */
  async startTab(name: string, index: number, machine?: string): Promise<void> {
    const s = this.session(name, machine);
    const m = this.machine(s.machine);
    if (!m.backend.startTab) {
      throw new McError(
        "USAGE",
        `${m.backend.name} cannot add tabs to a running session (capability "addTabsLater")`,
        {
          backend: m.backend.name,
          op: "start",
        },
      );
    }
    await m.backend.startTab(s, index, await this.hostInfo(m.name));
    const pending = s.pendingTabs?.filter((i) => i !== index) ?? [];
    if (pending.length) s.pendingTabs = pending;
    else delete s.pendingTabs;
    await this.updateRecord((run) =>
      run
        ? {
            ...run,
            sessions: run.sessions.map((x) => (x.machine === s.machine && x.name === s.name ? s : x)),
          }
        : run,
    );
  }

  /** Close a tab by the `ref` its status reported. */
  async closeTab(ref: string, machine?: string): Promise<void> {
    const m = this.machine(machine);
    if (!m.backend.closeTab) {
      throw new McError("USAGE", `${m.backend.name} cannot close one tab (capability "closeTab")`, {
        backend: m.backend.name,
        op: "kill",
      });
    }
    await m.backend.closeTab(ref);
  }

  /** The run as saved on disk. */
  toRun(): ManagedRun {
    const machines: Record<string, MachineRecord> = {};
    for (const m of this.machineMap.values()) {
      machines[m.name] = {
        host: m.host.id,
        ...(m.spec.connection ? { connection: m.spec.connection } : {}),
        ...(m.spec.backendOptions && Object.keys(m.spec.backendOptions).length
          ? { backendOptions: m.spec.backendOptions as Record<string, unknown> }
          : {}),
      };
    }
    return {
      v: 2,
      id: this.runId,
      kind: this.kind,
      backend: this.factory.name,
      createdAt: Math.min(Date.now(), ...this.managed.map((s) => s.startedAt)),
      ...(this.sessionNamePrefix === undefined ? {} : { sessionNamePrefix: this.sessionNamePrefix }),
      machines,
      sessions: this.managed,
    };
  }

  private async stateDir(): Promise<string> {
    return (await this.stateHost.info()).stateDir;
  }

  /** Save what this manager manages (atomically); returns the run id. */
  async save(id?: string): Promise<string> {
    if (id) this.runId = id;
    await saveRun(this.stateHost, await this.stateDir(), this.toRun());
    return this.runId;
  }

  /** Replace what this manager manages with a saved run (no side effects: nothing is regenerated). */
  async load(id: string): Promise<ManagedRun> {
    const run = await loadRun(this.stateHost, await this.stateDir(), this.kind, id);
    this.adopt(run);
    return run;
  }

  /** Take over a saved run's machines and sessions (what `load` does after reading it). */
  adopt(run: ManagedRun): void {
    for (const [name, rec] of Object.entries(run.machines)) {
      const have = this.machineMap.get(name);
      if (have && have.host.id === rec.host) continue;
      if (have) this.machineMap.delete(name);
      const host = rec.host === "local" ? (have?.host ?? localHost()) : this.connect?.(name, rec);
      if (!host) {
        throw new McError(
          "USAGE",
          `run ${run.id} has machine "${name}" (${rec.host}), which this manager cannot reach`,
          {
            backend: this.factory.name,
            op: "load",
            hint: "load it with the remote manager of this backend (@mc/remote)",
          },
        );
      }
      this.addMachine({
        name,
        host,
        layouts: [],
        ...(rec.connection ? { connection: rec.connection } : {}),
        ...(rec.backendOptions ? { backendOptions: rec.backendOptions as O } : {}),
      });
    }
    this.runId = run.id;
    this.managed = run.sessions;
  }

  /** Forget a session (after it was killed): it leaves the run record and its files are removed. */
  async forget(name: string, machine?: string): Promise<boolean> {
    const s = this.managed.find((x) => x.name === name && (machine === undefined || x.machine === machine));
    if (!s) return false;
    await this.dropSessions(s.machine, new Set([name]));
    return true;
  }

  /** Remove sessions from memory, from the run record (deleted when empty) and their run directories. */
  private async dropSessions(machine: string, names: Set<string>): Promise<void> {
    const hit = (s: ManagedSession) => s.machine === machine && names.has(s.name);
    const dropped = this.managed.filter(hit);
    this.managed = this.managed.filter((s) => !hit(s));
    await this.updateRecord((run) => {
      const sessions = (run?.sessions ?? []).filter((s) => !hit(s));
      return run && sessions.length ? { ...run, sessions } : undefined;
    });
    const m = this.machineMap.get(machine);
    if (!m) return;
    await Promise.all(dropped.map((s) => m.host.remove(s.runDir).catch(() => {})));
    if (!this.managed.some((s) => s.machine === machine)) {
      await m.host.remove(join((await this.hostInfo(machine)).stateDir, "runs", this.runId)).catch(() => {});
    }
  }

  /** Change this manager's run record under its lock (read-modify-write, see {@link updateRun}). */
  private async updateRecord(change: (run: ManagedRun | undefined) => ManagedRun | undefined) {
    return updateRun(this.stateHost, await this.stateDir(), this.kind, this.runId, change);
  }

  /** Saved runs of this manager's kind. */
  async listSaved(): Promise<ManagedRun[]> {
    return (await listRuns(this.stateHost, await this.stateDir(), this.kind)).runs;
  }

  /** Delete a saved run record and, on every machine it used, its run directory. */
  async deleteSaved(id: string): Promise<void> {
    await Promise.all(
      [...this.machineMap.values()].map(async (m) =>
        m.host.remove(join((await this.hostInfo(m.name)).stateDir, "runs", id)).catch(() => {}),
      ),
    );
    await deleteRun(this.stateHost, await this.stateDir(), this.kind, id);
  }

  /** Release what the machines' transports hold (ssh connections this process opened). */
  async close(): Promise<void> {
    await Promise.all([...this.machineMap.values()].map((m) => m.host.close?.().catch(() => {})));
  }
}

function unknownStatus(s: ManagedSession, m: MachineRuntime, error: string): SessionStatus {
  const tabs = s.layout.layoutTabs.map((t, index) => ({
    index,
    tabName: t.tabName,
    command: t.command,
    state: "unknown" as const,
    processes: [],
  }));
  return {
    session: s.name,
    machine: s.machine,
    backend: m.backend.name,
    host: m.host.id,
    exists: false,
    tabs,
    summary: summarizeSession(tabs, false),
    error,
  };
}
