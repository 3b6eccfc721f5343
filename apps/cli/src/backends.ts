import {
  type Host,
  type LayoutConfig,
  listRuns,
  localHost,
  type ManagedRun,
  McError,
  type SessionManager,
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
