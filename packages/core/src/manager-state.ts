import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import type { Host, HostInfo } from "./host.js";
import { localHost } from "./local-host.js";
import { type Machine, Machines } from "./machines.js";
import type { SessionManagerOptions } from "./manager-options.js";
import { type EndedSession, isOwnRunDir, type ManagedRun, type ManagedSession } from "./run-record.js";
import { RunStore } from "./run-store.js";
import type { BackendFactory, SessionBackend } from "./session-backend.js";

function newRunId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-");
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}

/**
 * A run's machines and its record: which sessions it manages (and which ended), saved atomically under
 * the state host's lock, loaded and adopted again later. {@link SessionManager} adds the lifecycle.
 */
export abstract class RunState<O extends object = object> {
  readonly kind: string;
  readonly factory: BackendFactory<O>;
  readonly sessionNamePrefix: string | undefined;
  /** Id under which this manager's run is saved. */
  runId: string;
  /** Sessions this manager started (or loaded); the only ones it will ever kill. */
  managed: ManagedSession[] = [];
  /** Sessions of this run that ended (their logs and records are kept). */
  ended: EndedSession[] = [];
  protected readonly machineSet: Machines<O>;
  protected readonly store: RunStore;

  constructor(opts: SessionManagerOptions<O>) {
    this.kind = opts.kind;
    this.factory = opts.factory;
    this.sessionNamePrefix = opts.sessionNamePrefix;
    this.runId = newRunId();
    this.machineSet = new Machines(opts.factory, opts.connect);
    for (const m of opts.machines) this.machineSet.add(m);
    const local = this.machineSet.has("local") ? this.machineSet.get("local").host : undefined;
    this.store = new RunStore(
      opts.stateHost ?? local ?? localHost(),
      this.kind,
      opts.stateHost !== undefined,
    );
  }

  /** The machines of this run, by name. */
  get machines(): string[] {
    return this.machineSet.names();
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
  protected machine(name?: string): Machine<O> {
    return this.machineSet.get(name);
  }
  /** Host facts of a machine, read once. */
  async hostInfo(machine?: string): Promise<HostInfo> {
    return this.machineSet.info(machine);
  }
  /**
   * Change one session's entry: in this manager's copy and, under the run record's lock, in the entry
   * as saved, which another command may have changed meanwhile (two reruns of different waiting tabs
   * each take their own tab off the waiting list; replacing the whole entry lost one of them). This copy
   * then takes what the record holds.
   */
  protected async updateSession(s: ManagedSession, change: (x: ManagedSession) => void): Promise<void> {
    change(s);
    let saved: ManagedSession | undefined;
    await this.updateRecord((run) => {
      if (!run) return run;
      const sessions = run.sessions.map((x) => {
        if (x.machine !== s.machine || x.name !== s.name || x.runDir !== s.runDir) return x;
        saved = structuredClone(x);
        change(saved);
        return saved;
      });
      return saved ? { ...run, sessions } : run;
    });
    if (saved) {
      const own = s as unknown as Record<string, unknown>;
      for (const k of Object.keys(own)) if (!(k in saved)) delete own[k];
      Object.assign(s, saved);
    }
  }
  /** The run as saved on disk. */
  toRun(): ManagedRun {
    const machines = this.machineSet.records();
    return {
      v: 2,
      id: this.runId,
      kind: this.kind,
      backend: this.factory.name,
      createdAt: Math.min(Date.now(), ...this.managed.map((s) => s.startedAt)),
      ...(this.sessionNamePrefix === undefined ? {} : { sessionNamePrefix: this.sessionNamePrefix }),
      machines,
      sessions: this.managed,
      ...(this.ended.length ? { ended: this.ended } : {}),
    };
  }
  /** Save what this manager manages (atomically); returns the run id. */
  async save(id?: string): Promise<string> {
    if (id) this.runId = id;
    await this.store.save(this.toRun());
    return this.runId;
  }
  /** Replace what this manager manages with a saved run (no side effects: nothing is regenerated). */
  async load(id: string): Promise<ManagedRun> {
    const run = await this.store.load(id);
    this.adopt(run);
    return run;
  }
  /** Take over a saved run's machines and sessions (what `load` does after reading it). */
  adopt(run: ManagedRun): void {
    this.machineSet.adopt(run);
    this.runId = run.id;
    this.managed = run.sessions;
    this.ended = run.ended ?? [];
  }
  /**
   * A session a newer run's record holds as well, on the same machine and server: this run's copy is
   * stale. The same session (its run directory: a merge that ended before it could drop it here) leaves
   * this record; another one (a session of that name started since) becomes this run's history, as a
   * replaced one does, ended by the time the newer one started (`newerStartedAt`): what was started
   * since with a copy of its tabs' markers is not its leftover (review H42-4). Its files stay either way.
   */
  async settleStale(s: ManagedSession, sameSession: boolean, newerStartedAt?: number): Promise<void> {
    const hit = (x: ManagedSession) => x.machine === s.machine && x.name === s.name;
    this.managed = this.managed.filter((x) => !hit(x));
    if (sameSession) await this.store.drop(this.runId, hit);
    else {
      const endedAt = Math.min(Date.now(), newerStartedAt ?? Number.POSITIVE_INFINITY);
      this.ended.push({ ...s, endedAt, endedBy: "replaced" });
      await this.store.retire(this.runId, hit, "replaced", newerStartedAt);
    }
  }
  /** Forget a session (after it was killed): it leaves the run record and its files are removed. */
  async forget(name: string, machine?: string): Promise<boolean> {
    const s = this.managed.find((x) => x.name === name && (machine === undefined || x.machine === machine));
    if (!s) return false;
    await this.dropSessions(s.machine, new Set([name]));
    return true;
  }
  /** Forget this run's ended sessions: their files (logs, records) on each machine, and their entries. */
  async forgetEnded(): Promise<void> {
    const gone = this.ended;
    await Promise.all(
      gone.map((s) => (this.machineSet.has(s.machine) ? this.removeRunDir(s.machine, s.runDir) : undefined)),
    );
    this.ended = [];
    // A machine this run no longer has sessions on keeps no directory for it either.
    const left = [...new Set(gone.map((s) => s.machine))].filter(
      (machine) => this.machineSet.has(machine) && !this.managed.some((s) => s.machine === machine),
    );
    await Promise.all(
      left.map(async (machine) =>
        this.hostOf(machine)
          .remove(join((await this.hostInfo(machine)).stateDir, "runs", this.runId))
          .catch(() => {}),
      ),
    );
    const dirs = new Set(gone.map((s) => s.runDir));
    await this.updateRecord((run) => {
      const ended = run?.ended?.filter((e) => !dirs.has(e.runDir)) ?? [];
      return run && (run.sessions.length || ended.length) ? { ...run, ended } : undefined;
    });
  }
  /** Remove a session's directory on its machine, only if it is one mc made there (see isOwnRunDir). */
  protected async removeRunDir(machine: string, runDir: string): Promise<void> {
    const info = await this.hostInfo(machine);
    if (!isOwnRunDir(info.stateDir, runDir)) return;
    const host = this.hostOf(machine);
    await host.remove(runDir).catch(() => {});
    // A session merged in from an earlier run lives in that run's directory: it goes once empty.
    const parent = dirname(runDir);
    if (parent !== join(info.stateDir, "runs", this.runId)) await removeIfEmpty(host, info, parent);
  }
  /** Remove sessions from memory, from the run record (deleted when empty) and their run directories. */
  protected async dropSessions(machine: string, names: Set<string>): Promise<void> {
    const hit = (s: ManagedSession) => s.machine === machine && names.has(s.name);
    const dropped = this.managed.filter(hit);
    this.managed = this.managed.filter((s) => !hit(s));
    // On a full disk the record cannot be rewritten (its lock alone needs room): the run directories go
    // first then, which frees the room, and the record is rewritten after (a start that failed for want of
    // space left its record and files behind, filling the disk further).
    const failed = await this.store.drop(this.runId, hit).then(
      () => false,
      () => true,
    );
    if (this.machineSet.has(machine)) {
      const m = this.machineSet.get(machine);
      await Promise.all(dropped.map((s) => this.removeRunDir(machine, s.runDir)));
      if (!this.managed.some((s) => s.machine === machine)) {
        await m.host
          .remove(join((await this.hostInfo(machine)).stateDir, "runs", this.runId))
          .catch(() => {});
      }
    }
    if (failed) await this.store.drop(this.runId, hit);
  }
  /** Killed sessions leave the live list for the ended one; their files stay (logs outlive a session). */
  protected async retireSessions(
    machine: string,
    names: Set<string>,
    endedBy: "killed" | "gone" = "killed",
  ): Promise<void> {
    const hit = (s: ManagedSession) => s.machine === machine && names.has(s.name);
    const endedAt = Date.now();
    this.ended.push(...this.managed.filter(hit).map((s) => ({ ...s, endedAt, endedBy })));
    this.managed = this.managed.filter((s) => !hit(s));
    await this.store.retire(this.runId, hit, endedBy);
  }
  /** Change this manager's run record under its lock (read-modify-write). */
  protected async updateRecord(change: (run: ManagedRun | undefined) => ManagedRun | undefined) {
    return this.store.update(this.runId, change);
  }
  /** Saved runs of this manager's kind. */
  async listSaved(): Promise<ManagedRun[]> {
    return this.store.list();
  }
  /** Delete a saved run record only: its run directories stay (a session it cannot tell is its may use them). */
  async forgetSaved(id: string): Promise<void> {
    await this.store.delete(id);
  }
  /** Delete a saved run record and, on every machine it used, its run directory. */
  async deleteSaved(id: string): Promise<void> {
    const run = await this.store.load(id).catch(() => undefined);
    await Promise.all(
      this.machineSet.all().map(async (m) => {
        const info = await this.hostInfo(m.name);
        const { stateDir } = info;
        const own = join(stateDir, "runs", id);
        // A session merged into this run from an earlier one (--on-conflict merge-*) kept that run's
        // directory: it goes too, and that run's directory once nothing else is left in it (rmdir).
        const merged = [...(run?.sessions ?? []), ...(run?.ended ?? [])]
          .filter((s) => s.machine === m.name && isOwnRunDir(stateDir, s.runDir))
          .map((s) => s.runDir)
          .filter((d) => !`${d}/`.startsWith(`${own}/`));
        await Promise.all(merged.map((d) => m.host.remove(d).catch(() => {})));
        for (const parent of new Set(merged.map((d) => dirname(d))))
          await removeIfEmpty(m.host, info, parent);
        await m.host.remove(own).catch(() => {});
      }),
    );
    await this.store.delete(id);
  }
  /** Release what the machines' transports hold (ssh connections this process opened). */
  async close(): Promise<void> {
    await Promise.all(this.machineSet.all().map((m) => m.host.close?.().catch(() => {})));
  }
}

/** Remove a run directory under the machine's state once nothing is left in it (`rmdir`; POSIX hosts). */
async function removeIfEmpty(host: Host, info: HostInfo, dir: string): Promise<void> {
  if (info.platform === "win32" || !isOwnRunDir(info.stateDir, dir)) return;
  await host.run({ file: "rmdir", args: ["--", dir] }).catch(() => undefined);
}
