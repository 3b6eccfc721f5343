import { McError } from "./errors.js";
import type { Host, HostInfo } from "./host.js";
import { localHost } from "./local-host.js";
import type { MachineRuntime } from "./machine-plan.js";
import type { MachineSpec } from "./manager-options.js";
import type { MachineRecord, ManagedRun } from "./run-record.js";
import type { BackendFactory } from "./session-backend.js";
import type { RecordCache } from "./status-poll.js";

/** One machine of a run, as the manager holds it. */
export interface Machine<O extends object> extends MachineRuntime {
  readonly spec: MachineSpec<O>;
  /** Tab records read so far on this machine. */
  readonly records: RecordCache;
  info?: HostInfo;
}

/**
 * The machines of a run, by name: each a host with the backend made on it. Options are pinned for this
 * machine before they are saved (tmux: the exact server), and a saved run's machines are reached again
 * through `connect`.
 */
export class Machines<O extends object> {
  private readonly map = new Map<string, Machine<O>>();

  constructor(
    private readonly factory: BackendFactory<O>,
    private readonly connect?: ((machine: string, record: MachineRecord) => Host) | undefined,
  ) {}

  add(spec: MachineSpec<O>): Machine<O> {
    if (this.map.has(spec.name)) {
      throw new McError("USAGE", `machine "${spec.name}" is listed twice`, { backend: "core", op: "start" });
    }
    const given = (spec.backendOptions ?? {}) as O;
    const options =
      spec.host.id === "local" && this.factory.pinLocal ? this.factory.pinLocal(given, process.env) : given;
    const backend = this.factory.create(spec.host, options);
    const m: Machine<O> = {
      name: spec.name,
      host: spec.host,
      backend,
      layouts: spec.layouts,
      spec: { ...spec, backendOptions: options },
      records: new Map(),
    };
    this.map.set(spec.name, m);
    return m;
  }

  names(): string[] {
    return [...this.map.keys()];
  }

  all(): Machine<O>[] {
    return [...this.map.values()];
  }

  has(name: string): boolean {
    return this.map.has(name);
  }

  /** A machine by name; the only one when `name` is omitted and the run has one. */
  get(name?: string): Machine<O> {
    const m = name === undefined ? (this.map.size === 1 ? this.all()[0] : undefined) : this.map.get(name);
    if (m) return m;
    throw new McError(
      name === undefined ? "USAGE" : "SESSION_NOT_FOUND",
      name === undefined
        ? "this run has several machines; name one"
        : `machine "${name}" is not part of this run`,
      { backend: this.factory.name, hint: `machines: ${this.names().join(", ")}` },
    );
  }

  /** Host facts of a machine, read once. */
  async info(name?: string): Promise<HostInfo> {
    const m = this.get(name);
    m.info ??= await m.host.info();
    return m.info;
  }

  /** Take over a saved run's machines (reconnected, with the options they were started with). */
  adopt(run: ManagedRun): void {
    for (const [name, rec] of Object.entries(run.machines)) {
      const have = this.map.get(name);
      if (have && have.host.id === rec.host) continue;
      if (have) this.map.delete(name);
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
      this.add({
        name,
        host,
        layouts: [],
        ...(rec.connection ? { connection: rec.connection } : {}),
        ...(rec.backendOptions ? { backendOptions: rec.backendOptions as O } : {}),
      });
    }
  }

  /** How the run reaches each machine again (saved with it). */
  records(): Record<string, MachineRecord> {
    const out: Record<string, MachineRecord> = {};
    for (const m of this.map.values()) {
      const options = m.spec.backendOptions;
      out[m.name] = {
        host: m.host.id,
        ...(m.spec.connection ? { connection: m.spec.connection } : {}),
        ...(options && Object.keys(options).length
          ? { backendOptions: options as Record<string, unknown> }
          : {}),
      };
    }
    return out;
  }
}
