import {
  type BackendFactory,
  type ExitMode,
  type Host,
  type KillResult,
  type LayoutConfig,
  localHost,
  type MachineSpec,
  type MachineStartResult,
  type PreparedSession,
  SessionManager,
  type StartOptions,
} from "@mc/core";
import { type MachineSsh, sshConnect, sshMachine } from "./connection.js";
import { checkDistinctMachines, type IdentifiedHost } from "./machine-identity.js";
import type { SshHostOptions, UnansweredConnections } from "./ssh-args.js";
import { checkRemoteStateOwner } from "./state-owner.js";

/** Options every remote manager takes. `B` is the backend's own options (tmux socket, zellij binary…). */
export interface RemoteManagerOptions<B extends object> {
  /** Machine (ssh alias, `user@host`, or any name with `ssh[name].target`) → its layouts. */
  machineLayouts: Readonly<Record<string, readonly LayoutConfig[]>>;
  sessionNamePrefix?: string | undefined;
  keepShell?: boolean | undefined;
  /** What a tab does once its command ended (overrides keepShell). */
  exitMode?: ExitMode | undefined;
  /** ssh options per machine; the key `*` applies to every machine (merged under the machine's own). */
  ssh?: Readonly<Record<string, MachineSsh>> | undefined;
  /** Backend options per machine; `*` applies to every machine. */
  backendOptions?: Readonly<Record<string, B>> | undefined;
  /** Ready-made hosts per machine (instead of ssh; for tests or another transport). */
  hosts?: Readonly<Record<string, Host>> | undefined;
  /** How many machines start at the same time (default 4). */
  concurrency?: number | undefined;
  /** Local directory where the run record is saved (default: mc's local state directory). */
  stateDir?: string | undefined;
  /** Directory relative ssh paths (`configFile`, `identityFile`) are resolved against (default: cwd). */
  cwd?: string | undefined;
  /** Told what a user should know (a saved run's ssh config file changed since it started). */
  onNotice?: ((message: string) => void) | undefined;
  /**
   * Shared by the managers of one command: a saved run's machine that did not answer is not waited for
   * again by this or another run (see {@link SshHostOptions.unanswered}).
   */
  unanswered?: UnansweredConnections | undefined;
}

/** What killing one session of a remote run found (core's KillResult, with `ended` and `survivors`). */
export type RemoteKillResult = KillResult;

/**
 * The factory with the checks a remote machine needs before anything starts there: mc's state directory
 * there must belong to the remote user (a `sudo -E` there leaves it root-owned).
 */
function guarded<B extends object>(factory: BackendFactory<B>): BackendFactory<B> {
  return {
    ...factory,
    create(host, options) {
      const backend = factory.create(host, options);
      const own = backend.checkAvailable?.bind(backend);
      backend.checkAvailable = async () => {
        await checkRemoteStateOwner(host as IdentifiedHost);
        await own?.();
      };
      return backend;
    },
  };
}

/** The ssh options of one machine: defaults, then `*`, then its own (extraOptions and env key by key). */
export function machineSshOptions(
  ssh: RemoteManagerOptions<object>["ssh"],
  machine: string,
  defaults: SshHostOptions = {},
): MachineSsh {
  const all = ssh?.["*"] ?? {};
  const own = ssh?.[machine] ?? {};
  return {
    ...defaults,
    ...all,
    ...own,
    extraOptions: { ...defaults.extraOptions, ...all.extraOptions, ...own.extraOptions },
    env: { ...defaults.env, ...all.env, ...own.env },
  };
}

/** The machines of a remote run: an sshHost each (or the given host), with what to save to reach it again. */
export function remoteMachines<B extends object>(
  o: RemoteManagerOptions<B>,
  defaults: SshHostOptions = {},
): MachineSpec<B>[] {
  return Object.entries(o.machineLayouts).map(([name, layouts]) => {
    const backendOptions = { ...o.backendOptions?.["*"], ...o.backendOptions?.[name] } as B;
    const given = o.hosts?.[name];
    const reach = given
      ? { host: given, connection: undefined }
      : sshMachine(name, machineSshOptions(o.ssh, name, defaults), {
          cwd: o.cwd,
          // A run's own machines remember a silence too, not only those of runs loaded from records
          // (review HR80-1: a run waited out a silent machine once per step of its start).
          ...(o.unanswered ? { unanswered: o.unanswered } : {}),
        });
    return {
      name,
      layouts,
      host: reach.host,
      connection: reach.connection as Record<string, unknown> | undefined,
      backendOptions,
    };
  });
}

/**
 * Sessions of one backend on many machines over OpenSSH: core's {@link SessionManager} with an sshHost per
 * machine. Each machine's connection (target, port, config file, …) and backend options are saved with the
 * run, so `load` reaches the same machines the same way from any directory ({@link sshConnect}).
 */
export class RemoteManager<B extends object> extends SessionManager<B> {
  private readonly remote: RemoteManagerOptions<B>;
  private readonly defaults: SshHostOptions;

  constructor(
    kind: string,
    factory: BackendFactory<B>,
    opts: RemoteManagerOptions<B>,
    defaults: SshHostOptions = {},
  ) {
    super({
      kind,
      factory: guarded(factory),
      machines: remoteMachines(opts, defaults),
      sessionNamePrefix: opts.sessionNamePrefix,
      keepShell: opts.keepShell,
      exitMode: opts.exitMode,
      stateHost: opts.stateDir === undefined ? undefined : localHost({ stateDir: opts.stateDir }),
      connect: (machine, record) =>
        sshConnect(machine, record, {
          onNotice: opts.onNotice,
          ...(defaults.localEnv ? { localEnv: defaults.localEnv } : {}),
          ...(opts.unanswered ? { unanswered: opts.unanswered } : {}),
        }),
      concurrency: opts.concurrency,
    });
    this.remote = opts;
    this.defaults = defaults;
  }

  /** The ssh options of one machine as this manager was given them (`*` merged under its own). */
  sshOptionsOf(machine: string): MachineSsh {
    return machineSshOptions(this.remote.ssh, machine, this.defaults);
  }

  /** The backend options of one machine (`*` merged under its own). */
  backendOptionsOf(machine: string): B {
    return { ...this.remote.backendOptions?.["*"], ...this.remote.backendOptions?.[machine] } as B;
  }

  /** Before anything starts: no machine listed twice, and this machine's own state is ours to write. */
  private async preflight(): Promise<void> {
    const withLayouts = this.machines.filter((m) => this.remote.machineLayouts[m]?.length);
    await checkDistinctMachines(
      withLayouts.map((name) => ({
        name,
        host: this.hostOf(name) as IdentifiedHost,
        backendOptions: this.backendOptionsOf(name),
      })),
    );
  }

  override async plan(o: Parameters<SessionManager<B>["plan"]>[0] = {}): Promise<PreparedSession[]> {
    await this.preflight();
    return super.plan(o);
  }

  override async start(o: StartOptions = {}): Promise<MachineStartResult[]> {
    // A Ctrl-C while a machine is asked who it is (a login that hangs takes up to its deadline) is not
    // waited out: the start below sees the stop and says nothing was started (review HR80-3: 15 s late).
    const asked = (async () => {
      await this.preflight();
      await this.pinMachines();
    })();
    const signal = o.signal;
    if (!signal) await asked;
    else {
      let onAbort = () => {};
      const stopped = new Promise<void>((resolve) => {
        onAbort = resolve;
        if (signal.aborted) resolve();
        else signal.addEventListener("abort", onAbort, { once: true });
      });
      try {
        await Promise.race([asked, stopped]);
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
      // Stopped first: what the asking says later is nobody's to hear.
      asked.catch(() => {});
    }
    return super.start(o);
  }

  /**
   * Save with each machine who it is (machine id, else host name, and uid): a later command that reaches
   * another machine under that name (an edited ssh config, a moved address) runs nothing there and says
   * so, rather than taking the run's sessions for gone there and forgetting them.
   */
  private async pinMachines(): Promise<void> {
    // All at once: one machine slow to answer held up every other one (review HR80-3).
    await Promise.all(
      this.machines
        .filter((x) => this.remote.machineLayouts[x]?.length)
        .map(async (name) => {
          const m = this.machineSet.get(name);
          const connection = m.spec.connection as
            | { transport?: unknown; expectMachine?: unknown }
            | undefined;
          if (connection?.transport !== "ssh" || connection.expectMachine) return;
          const facts = await (m.host as IdentifiedHost).facts?.().catch(() => undefined);
          const id = facts?.machineId || facts?.hostname;
          if (id && facts?.uid) connection.expectMachine = { id, uid: facts.uid };
        }),
    );
  }
}
