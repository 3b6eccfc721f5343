import {
  type Command,
  type ConflictPolicy,
  deleteRun,
  type Host,
  isAllFinished,
  type KillResult,
  type LayoutConfig,
  listRuns,
  loadRun,
  localHost,
  localStateDir,
  type ManagedRun,
  type ManagedSession,
  McError,
  type MonitorSnapshot,
  makeReport,
  type SessionManager,
  type SessionStatus,
  type StartedSession,
  type StatusOptions,
  type StatusReport,
  saveRun,
  sleep,
  summarizeSession,
  type TabStatus,
} from "@mc/core";
import { checkTarget } from "./quote.js";
import type { SshHostOptions } from "./ssh-args.js";
import { type SshHost, sshHost } from "./ssh-host.js";

/** ssh options of one machine; `target` is what ssh connects to (default: the machine's name). */
export interface MachineSsh extends SshHostOptions {
  target?: string | undefined;
}

/** Options every remote manager takes. `B` is the backend's own options (tmux socket, zellij binary…). */
export interface RemoteManagerOptions<B> {
  /** Machine (ssh alias, `user@host`, or any name with `ssh[name].target`) → its layouts. */
  machineLayouts: Readonly<Record<string, readonly LayoutConfig[]>>;
  sessionNamePrefix?: string | undefined;
  keepShell?: boolean | undefined;
  /** ssh options per machine; the key `*` applies to every machine (merged under the machine's own). */
  ssh?: Readonly<Record<string, MachineSsh>> | undefined;
  /** Backend options per machine; `*` applies to every machine. */
  backendOptions?: Readonly<Record<string, B>> | undefined;
  /** Ready-made hosts per machine (instead of ssh; for tests or another transport). */
  hosts?: Readonly<Record<string, Host>> | undefined;
  /** How many machines start at the same time (default 4). */
  concurrency?: number | undefined;
  /** Local directory where the fleet record is saved (default: mc's local state directory). */
  stateDir?: string | undefined;
}

/** How one machine's start went. */
export type MachineStartResult =
  | { machine: string; ok: true; sessions: StartedSession[] }
  | { machine: string; ok: false; error: McError | Error; sessions: [] };

/** Whether each machine answered its last status poll. */
export interface MachineHealth {
  machine: string;
  host: string;
  reachable: boolean;
  error?: string;
}

/** A status report over every machine, with each machine's health. */
export interface FleetStatusReport extends StatusReport {
  machines: MachineHealth[];
}

/** One monitoring step over the fleet. */
export interface FleetSnapshot extends MonitorSnapshot {
  report?: FleetStatusReport;
  /** Machines that did not answer this poll. */
  unreachable: string[];
}

/** A kill result that names its machine. */
export interface FleetKillResult extends KillResult {
  machine: string;
}

/** Options of {@link RemoteFleetManager.startAllSessions}. */
export interface FleetStartOptions {
  /** One policy for every machine, or one per machine (`*` as default). */
  onConflict?: ConflictPolicy | Readonly<Record<string, ConflictPolicy>>;
  delayBetweenMs?: number;
  signal?: AbortSignal;
  /** Called when a machine has finished starting (or failed). */
  onMachineDone?: (r: MachineStartResult) => void;
}

/** Options of {@link RemoteFleetManager.runMonitoringRoutine}. */
export interface FleetMonitoringOptions {
  intervalMs?: number;
  /** Read process trees on every poll (default true). */
  processes?: boolean;
  killUponCompletion?: boolean;
  signal?: AbortSignal;
  maxCycles?: number;
  onSnapshot?: (s: FleetSnapshot) => void;
  /** Called when a machine stops or starts answering. */
  onMachineChange?: (machine: string, reachable: boolean, error?: string) => void;
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

const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));

/**
 * Sessions on many machines at once: each machine gets a local-backend manager (tmux, zellij, wt) on an
 * {@link sshHost}, so artefacts are written to that machine before start and every status poll is one ssh
 * round trip per machine. A failing machine never stops the others: start returns per-machine results,
 * status marks its sessions `unknown` with the error, and monitoring goes on until it answers again.
 */
export class RemoteFleetManager<M extends SessionManager, B = Record<string, never>> {
  readonly kind: string;
  readonly machines: string[];
  readonly managers = new Map<string, M>();
  readonly sessionNamePrefix: string | undefined;
  runId: string;
  private readonly opts: RemoteManagerOptions<B>;
  private readonly make: (layouts: readonly LayoutConfig[], host: Host, backend: B | undefined) => M;
  private readonly defaultSsh: SshHostOptions;

  constructor(
    kind: string,
    opts: RemoteManagerOptions<B>,
    make: (o: {
      sessionLayouts: readonly LayoutConfig[];
      sessionNamePrefix: string | undefined;
      keepShell: boolean | undefined;
      host: Host;
      backend: B | undefined;
    }) => M,
    defaultSsh: SshHostOptions = {},
  ) {
    this.kind = kind;
    this.opts = opts;
    this.sessionNamePrefix = opts.sessionNamePrefix;
    this.defaultSsh = defaultSsh;
    this.machines = Object.keys(opts.machineLayouts);
    this.make = (sessionLayouts, host, backend) =>
      make({
        sessionLayouts,
        sessionNamePrefix: opts.sessionNamePrefix,
        keepShell: opts.keepShell,
        host,
        backend,
      });
    for (const m of this.machines) this.managers.set(m, this.createManager(m, opts.machineLayouts[m] ?? []));
    this.runId = this.managers.values().next().value?.runId ?? `${Date.now()}`;
    for (const mgr of this.managers.values()) mgr.runId = this.runId;
  }

  /** The ssh options of one machine (`*` merged under its own, extraOptions and env merged key by key). */
  sshOptionsOf(machine: string): MachineSsh {
    const all = this.opts.ssh?.["*"] ?? {};
    const own = this.opts.ssh?.[machine] ?? {};
    return {
      ...this.defaultSsh,
      ...all,
      ...own,
      extraOptions: { ...this.defaultSsh.extraOptions, ...all.extraOptions, ...own.extraOptions },
      env: { ...this.defaultSsh.env, ...all.env, ...own.env },
    };
  }

  /** The backend options of one machine (`*` merged under its own). */
  backendOptionsOf(machine: string): B {
    return { ...this.opts.backendOptions?.["*"], ...this.opts.backendOptions?.[machine] } as B;
  }

  private createManager(
    machine: string,
    layouts: readonly LayoutConfig[],
    ssh?: MachineSsh,
    backendOptions?: B,
  ): M {
    const given = this.opts.hosts?.[machine];
    let host: Host;
    if (given) host = given;
    else {
      const { target, ...o } = ssh ?? this.sshOptionsOf(machine);
      const t = target ?? machine;
      checkTarget(t);
      host = sshHost(t, { ...o, id: o.id ?? `ssh:${machine}` });
    }
    return this.make(layouts, host, backendOptions ?? this.backendOptionsOf(machine));
  }

  /** The manager of one machine (SESSION_NOT_FOUND for a machine not in this fleet). */
  manager(machine: string): M {
    const m = this.managers.get(machine);
    if (!m) {
      throw new McError("SESSION_NOT_FOUND", `machine "${machine}" is not part of this fleet`, {
        backend: "remote",
        op: "attach",
        hint: `machines: ${this.machines.join(", ")}`,
      });
    }
    return m;
  }

  /** Every session name per machine, before conflict resolution. */
  getAllSessionNames(): Record<string, string[]> {
    return Object.fromEntries([...this.managers].map(([k, m]) => [k, m.getAllSessionNames()]));
  }

  /**
   * Start every machine's sessions, machines in parallel (at most `concurrency` at once). Each machine
   * applies its own conflict policy against its own sessions and rolls back only its own partial start.
   * The fleet record is saved locally when at least one machine started.
   */
  async startAllSessions(o: FleetStartOptions = {}): Promise<MachineStartResult[]> {
    const policy = (m: string): ConflictPolicy | undefined =>
      typeof o.onConflict === "string" ? o.onConflict : (o.onConflict?.[m] ?? o.onConflict?.["*"]);
    const results = await mapLimit(this.machines, this.opts.concurrency ?? 4, async (machine) => {
      const mgr = this.managers.get(machine)!;
      let r: MachineStartResult;
      if (mgr.sessionLayouts.length === 0) r = { machine, ok: true, sessions: [] };
      else {
        try {
          const p = policy(machine);
          const sessions = await mgr.startAllSessions({
            ...(p ? { onConflict: p } : {}),
            ...(o.delayBetweenMs === undefined ? {} : { delayBetweenMs: o.delayBetweenMs }),
            ...(o.signal ? { signal: o.signal } : {}),
          });
          r = { machine, ok: true, sessions };
        } catch (e) {
          r = { machine, ok: false, error: asError(e), sessions: [] };
        }
      }
      o.onMachineDone?.(r);
      return r;
    });
    if ([...this.managers.values()].some((m) => m.managed.length)) await this.save().catch(() => {});
    return results;
  }

  /** Status of every managed session on every machine: one ssh round trip per machine. */
  async checkAllSessionsStatus(opts: StatusOptions = {}): Promise<FleetStatusReport> {
    const per = await Promise.all(
      [...this.managers].map(async ([machine, mgr]): Promise<[SessionStatus[], MachineHealth]> => {
        const health = { machine, host: mgr.host.id };
        if (mgr.managed.length === 0) return [[], { ...health, reachable: true }];
        try {
          const r = await mgr.checkAllSessionsStatus(opts);
          return [r.sessions, { ...health, reachable: true }];
        } catch (e) {
          const error = asError(e).message;
          return [
            mgr.managed.map((s) => unknownStatus(s, mgr, error)),
            { ...health, reachable: false, error },
          ];
        }
      }),
    );
    return { ...makeReport(per.flatMap(([s]) => s)), machines: per.map(([, h]) => h) };
  }

  /** Poll every `intervalMs` until every command on every machine has finished. */
  async *monitor(
    o: Omit<FleetMonitoringOptions, "killUponCompletion" | "onSnapshot"> = {},
  ): AsyncGenerator<FleetSnapshot> {
    const down = new Map<string, boolean>();
    for (let cycle = 0; !o.signal?.aborted; cycle++) {
      const started = Date.now();
      const report = await this.checkAllSessionsStatus({ processes: o.processes ?? true });
      for (const h of report.machines) {
        const wasDown = down.get(h.machine) ?? false;
        if (wasDown !== !h.reachable) o.onMachineChange?.(h.machine, h.reachable, h.error);
        down.set(h.machine, !h.reachable);
      }
      const snap: FleetSnapshot = {
        cycle,
        report,
        done: isAllFinished(report),
        unreachable: report.machines.filter((h) => !h.reachable).map((h) => h.machine),
      };
      yield snap;
      if (snap.done || (o.maxCycles !== undefined && cycle + 1 >= o.maxCycles)) return;
      await sleep(Math.max(0, (o.intervalMs ?? 2000) - (Date.now() - started)), o.signal);
    }
  }

  /** Monitor until done, then (with `killUponCompletion`) kill what mc started; returns the last report. */
  async runMonitoringRoutine(o: FleetMonitoringOptions = {}): Promise<FleetStatusReport | undefined> {
    let last: FleetStatusReport | undefined;
    let finished = false;
    for await (const snap of this.monitor(o)) {
      o.onSnapshot?.(snap);
      last = snap.report;
      finished = snap.done;
    }
    if (finished && o.killUponCompletion) await this.killAllSessions();
    return last;
  }

  /** Kill the sessions mc started, on every machine (never anything else). */
  async killAllSessions(): Promise<FleetKillResult[]> {
    const per = await Promise.all(
      [...this.managers].map(async ([machine, mgr]) => {
        const results = await mgr.killAllSessions();
        return results.map((r) => ({ ...r, machine }));
      }),
    );
    return per.flat();
  }

  /** The local command that attaches this terminal to a session on a machine (`ssh -t … tmux attach …`). */
  attachToSession(machine: string, name?: string): Command {
    const mgr = this.manager(machine);
    const cmd = mgr.attachToSession(name, {});
    const host = mgr.host as Partial<SshHost>;
    return typeof host.interactiveCommand === "function" ? host.interactiveCommand(cmd) : cmd;
  }

  private fleetHost(): { host: Host; stateDir: string } {
    const stateDir = this.opts.stateDir ?? localStateDir();
    return { host: localHost({ stateDir }), stateDir };
  }

  /** Save the fleet: each machine's run on that machine, and one record of all of them here. */
  async save(id?: string): Promise<string> {
    if (id) this.runId = id;
    const machines: Record<string, { ssh?: MachineSsh; backend?: B; host: string; sessions: number }> = {};
    const sessions: ManagedSession[] = [];
    await Promise.all(
      [...this.managers.values()].map(async (mgr) => {
        mgr.runId = this.runId;
        if (mgr.managed.length) await mgr.save().catch(() => {});
      }),
    );
    for (const [machine, mgr] of this.managers) {
      machines[machine] = {
        host: mgr.host.id,
        sessions: mgr.managed.length,
        ...(this.opts.hosts?.[machine] ? {} : { ssh: this.sshOptionsOf(machine) }),
        // A later process must reach the same server (e.g. the tmux socket) to see and kill these sessions.
        backend: this.backendOptionsOf(machine),
      };
      for (const s of mgr.managed) sessions.push({ ...s, data: { ...s.data, machine } });
    }
    const { host, stateDir } = this.fleetHost();
    const run: ManagedRun = {
      v: 1,
      id: this.runId,
      kind: this.kind,
      backend: "remote",
      host: "local",
      createdAt: Math.min(Date.now(), ...sessions.map((s) => s.startedAt)),
      ...(this.sessionNamePrefix === undefined ? {} : { sessionNamePrefix: this.sessionNamePrefix }),
      options: { machines },
      sessions,
    };
    await saveRun(host, stateDir, run);
    return this.runId;
  }

  /**
   * Load a saved fleet: every machine's sessions are adopted from the local record (no network), so
   * status and kill reach them; a machine not configured in this fleet is reached with its saved ssh options.
   */
  async load(id: string): Promise<ManagedRun> {
    const { host, stateDir } = this.fleetHost();
    const run = await loadRun(host, stateDir, this.kind, id);
    const saved = (run.options?.machines ?? {}) as Record<string, { ssh?: MachineSsh; backend?: B }>;
    this.runId = run.id;
    for (const machine of Object.keys(saved)) {
      if (!this.managers.has(machine)) {
        this.managers.set(
          machine,
          this.createManager(machine, [], saved[machine]?.ssh, saved[machine]?.backend),
        );
        this.machines.push(machine);
      }
    }
    for (const [machine, mgr] of this.managers) {
      const own = run.sessions
        .filter((s) => s.data?.machine === machine)
        .map(({ data, ...s }) => {
          const { machine: _m, ...rest } = data ?? {};
          return Object.keys(rest).length ? { ...s, data: rest } : s;
        });
      mgr.adopt({ ...run, kind: mgr.kind, host: mgr.host.id, sessions: own });
    }
    return run;
  }

  /** Saved fleet records of this kind, newest first. */
  async listSaved(): Promise<ManagedRun[]> {
    const { host, stateDir } = this.fleetHost();
    return (await listRuns(host, stateDir, this.kind)).runs;
  }

  /** Delete a saved fleet record (each machine's own record too, where reachable). */
  async deleteSaved(id: string): Promise<void> {
    await Promise.all([...this.managers.values()].map((m) => m.deleteSaved(id).catch(() => {})));
    const { host, stateDir } = this.fleetHost();
    await deleteRun(host, stateDir, this.kind, id);
  }

  /** Close every ssh connection this fleet opened. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.managers.values()].map((m) => (m.host as Partial<SshHost>).close?.().catch(() => {})),
    );
  }
}

function unknownStatus(s: ManagedSession, mgr: SessionManager, error: string): SessionStatus {
  const tabs = s.layout.layoutTabs.map(
    (t, index): TabStatus => ({
      index,
      tabName: t.tabName,
      command: t.command,
      state: "unknown",
      processes: [],
    }),
  );
  return {
    session: s.name,
    backend: mgr.backend.name,
    host: mgr.host.id,
    exists: false,
    tabs,
    summary: summarizeSession(tabs, false),
    error,
  };
}
