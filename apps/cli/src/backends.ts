import {
  type Command,
  type Host,
  type LayoutConfig,
  listRuns,
  localHost,
  type ManagedRun,
  McError,
  type SessionManager,
  type StartedSession,
  type StatusOptions,
  type StatusReport,
} from "@mc/core";

/** Backends the CLI knows. */
export type BackendName = "tmux" | "zellij" | "wt";

/** What the CLI needs to build a manager for a backend. */
export interface ManagerInit {
  sessionLayouts: LayoutConfig[];
  sessionNamePrefix?: string | undefined;
  socket?: unknown;
  host?: Host;
}

interface BackendEntry {
  pkg: string;
  kind: string;
  binary: string;
  create(mod: Record<string, unknown>, init: ManagerInit): SessionManager;
}

type Ctor = new (opts: Record<string, unknown>) => SessionManager;
const ctor = (mod: Record<string, unknown>, name: string, pkg: string): Ctor => {
  const c = mod[name];
  if (typeof c !== "function")
    throw new McError("BACKEND_MISSING", `${pkg} does not export ${name}`, { backend: "cli" });
  return c as Ctor;
};
const clean = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

const BACKENDS: Record<BackendName, BackendEntry> = {
  tmux: {
    pkg: "@mc/tmux",
    kind: "TmuxLocalManager",
    binary: "tmux",
    create: (mod, i) => new (ctor(mod, "TmuxLocalManager", "@mc/tmux"))(clean({ ...i })),
  },
  zellij: {
    pkg: "@mc/zellij",
    kind: "ZellijLocalManager",
    binary: "zellij",
    create: (mod, i) =>
      new (ctor(mod, "ZellijLocalManager", "@mc/zellij"))(clean({ ...i, socket: undefined })),
  },
  wt: {
    pkg: "@mc/wt",
    kind: "WTLocalManager",
    binary: "wt",
    create: (mod, i) => new (ctor(mod, "WTLocalManager", "@mc/wt"))(clean({ ...i, socket: undefined })),
  },
};

/** Every backend name. */
export const BACKEND_NAMES = Object.keys(BACKENDS) as BackendName[];

async function load(name: BackendName): Promise<Record<string, unknown>> {
  const entry = BACKENDS[name];
  try {
    switch (name) {
      case "tmux":
        return (await import("@mc/tmux")) as Record<string, unknown>;
      case "zellij":
        return (await import("@mc/zellij")) as Record<string, unknown>;
      case "wt":
        return (await import("@mc/wt")) as Record<string, unknown>;
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new McError("BACKEND_MISSING", `the ${name} backend is not installed`, {
        backend: "cli",
        hint: `npm install ${entry.pkg}`,
        cause: e,
      });
    }
    throw e;
  }
}

/** Build a manager for a backend (loading its package on demand). */
export async function createManager(name: BackendName, init: ManagerInit): Promise<SessionManager> {
  return BACKENDS[name].create(await load(name), init);
}

/** `auto`: tmux if installed, else zellij; Windows Terminal on Windows. */
export async function resolveBackend(choice: string, host: Host = localHost()): Promise<BackendName> {
  const c = choice.toLowerCase();
  const alias: Record<string, BackendName> = {
    t: "tmux",
    tmux: "tmux",
    z: "zellij",
    zellij: "zellij",
    wt: "wt",
    "windows-terminal": "wt",
  };
  if (alias[c]) return alias[c]!;
  if (c !== "auto" && c !== "a") {
    throw new McError("USAGE", `unknown backend "${choice}"`, {
      backend: "cli",
      hint: "use tmux, zellij, wt or auto",
    });
  }
  if ((await host.info()).platform === "win32") return "wt";
  if (await host.which("tmux")) return "tmux";
  if (await host.which("zellij")) return "zellij";
  throw new McError("BINARY_NOT_FOUND", "neither tmux nor zellij is installed", {
    backend: "cli",
    hint: "install tmux (apt install tmux, brew install tmux) or zellij",
  });
}

/** A saved run together with a manager that can reach its sessions. */
export interface LoadedRun {
  backend: BackendName;
  run: ManagedRun;
  manager: SessionManager;
}

/** Every saved run of every installed backend, each with a manager that adopted it. */
export async function loadRuns(
  host: Host = localHost(),
): Promise<{ runs: LoadedRun[]; corrupt: { path: string; error: string }[] }> {
  const { stateDir } = await host.info();
  const out: LoadedRun[] = [];
  const corrupt: { path: string; error: string }[] = [];
  for (const name of BACKEND_NAMES) {
    const listing = await listRuns(host, stateDir, BACKENDS[name].kind);
    corrupt.push(...listing.corrupt);
    if (listing.runs.length === 0) continue;
    for (const run of listing.runs) {
      const manager = await createManager(name, { sessionLayouts: [], socket: run.options?.socket, host });
      manager.adopt(run);
      out.push({ backend: name, run, manager });
    }
  }
  return { runs: out, corrupt };
}

/** The remote manager of each backend, in `@mc/remote/<backend>`. */
const REMOTE_KIND: Record<BackendName, string> = {
  tmux: "TmuxRemoteManager",
  zellij: "ZellijRemoteManager",
  wt: "WTRemoteManager",
};

/** The parts of `@mc/remote`'s fleet manager the CLI uses. */
export interface Fleet {
  runId: string;
  managers: Map<string, SessionManager>;
  startAllSessions(
    o: Record<string, unknown>,
  ): Promise<
    (
      | { machine: string; ok: true; sessions: StartedSession[] }
      | { machine: string; ok: false; error: Error; sessions: [] }
    )[]
  >;
  checkAllSessionsStatus(
    opts?: StatusOptions,
  ): Promise<StatusReport & { machines: { machine: string; reachable: boolean; error?: string }[] }>;
  runMonitoringRoutine(o: Record<string, unknown>): Promise<StatusReport | undefined>;
  killAllSessions(): Promise<unknown>;
  attachToSession(machine: string, name?: string): Command;
  manager(machine: string): SessionManager;
  save(id?: string): Promise<string>;
  load(id: string): Promise<ManagedRun>;
  deleteSaved(id: string): Promise<void>;
  close(): Promise<void>;
}

/** What the CLI passes to build a fleet. */
export interface FleetInit {
  machines: string[];
  sessionLayouts: LayoutConfig[];
  sessionNamePrefix?: string | undefined;
  socket?: unknown;
  sshConfig?: string | undefined;
}

async function loadRemote(name: BackendName): Promise<Record<string, unknown>> {
  try {
    switch (name) {
      case "tmux":
        return (await import("@mc/remote/tmux")) as Record<string, unknown>;
      case "zellij":
        return (await import("@mc/remote/zellij")) as Record<string, unknown>;
      case "wt":
        return (await import("@mc/remote/wt")) as Record<string, unknown>;
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new McError("BACKEND_MISSING", `remote support for ${name} is not installed`, {
        backend: "cli",
        hint: `npm install @mc/remote ${BACKENDS[name].pkg}`,
        cause: e,
      });
    }
    throw e;
  }
}

/** A fleet of one backend over ssh: the same layouts on every machine. */
export async function createFleet(name: BackendName, init: FleetInit): Promise<Fleet> {
  const mod = await loadRemote(name);
  const Ctor = mod[REMOTE_KIND[name]] as new (opts: Record<string, unknown>) => Fleet;
  return new Ctor(
    clean({
      machineLayouts: Object.fromEntries(init.machines.map((m) => [m, init.sessionLayouts])),
      sessionNamePrefix: init.sessionNamePrefix,
      ssh: init.sshConfig ? { "*": { configFile: init.sshConfig } } : undefined,
      backendOptions:
        name === "tmux" && init.socket !== undefined ? { "*": { socket: init.socket } } : undefined,
    }),
  );
}

/** One saved run as the CLI's commands see it: local (one manager) or remote (a fleet of machines). */
export interface RunView {
  backend: BackendName;
  run: ManagedRun;
  /** Sessions with the machine they run on (undefined: this machine). */
  sessions(): { name: string; machine?: string }[];
  status(opts?: StatusOptions): Promise<StatusReport>;
  kill(name: string, machine?: string): Promise<void>;
  attach(name: string, machine?: string): Command;
  /** Where the attach command runs (always this machine). */
  local: Host;
  deleteRecord(): Promise<void>;
  close(): Promise<void>;
}

function localView(backend: BackendName, run: ManagedRun, manager: SessionManager): RunView {
  return {
    backend,
    run,
    sessions: () => manager.managed.map((s) => ({ name: s.name })),
    status: (opts) => manager.checkAllSessionsStatus(opts),
    async kill(name) {
      await manager.backend.kill(
        name,
        manager.managed.find((s) => s.name === name),
      );
      await manager.forget(name);
    },
    attach: (name) => manager.attachToSession(name),
    local: manager.host,
    deleteRecord: () => manager.deleteSaved(run.id),
    close: async () => {},
  };
}

function fleetView(backend: BackendName, run: ManagedRun, fleet: Fleet, local: Host): RunView {
  return {
    backend,
    run,
    sessions: () =>
      [...fleet.managers].flatMap(([machine, m]) => m.managed.map((s) => ({ name: s.name, machine }))),
    status: (opts) => fleet.checkAllSessionsStatus(opts),
    async kill(name, machine) {
      const m = fleet.manager(machine!);
      await m.backend.kill(
        name,
        m.managed.find((s) => s.name === name),
      );
      m.managed = m.managed.filter((s) => s.name !== name);
      const left = [...fleet.managers.values()].some((x) => x.managed.length > 0);
      if (left) await fleet.save();
      else await fleet.deleteSaved(fleet.runId);
    },
    attach: (name, machine) => fleet.attachToSession(machine!, name),
    local,
    deleteRecord: () => fleet.deleteSaved(fleet.runId),
    close: () => fleet.close(),
  };
}

/** Every saved run, local and remote, of every installed backend. */
export async function loadViews(
  host: Host = localHost(),
): Promise<{ views: RunView[]; corrupt: { path: string; error: string }[] }> {
  const { runs, corrupt } = await loadRuns(host);
  const views = runs.map((r) => localView(r.backend, r.run, r.manager));
  const { stateDir } = await host.info();
  for (const name of BACKEND_NAMES) {
    const listing = await listRuns(host, stateDir, REMOTE_KIND[name]);
    corrupt.push(...listing.corrupt);
    for (const run of listing.runs) {
      const fleet = await createFleet(name, { machines: [], sessionLayouts: [] });
      await fleet.load(run.id);
      views.push(fleetView(name, run, fleet, host));
    }
  }
  return { views, corrupt };
}
