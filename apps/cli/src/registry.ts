import { existsSync, type FSWatcher, watch } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import {
  type BackendFactory,
  type ExitMode,
  type Host,
  isMcError,
  type LayoutConfig,
  listRuns,
  localHost,
  type ManagedRun,
  type ManagedSession,
  McError,
  runsDir,
  SessionManager,
} from "@mc/core";
import type { TmuxBackendOptions } from "@mc/tmux";
import type { WtBackendOptions } from "@mc/wt";
import type { ZellijBackendOptions } from "@mc/zellij";

/** Backends the CLI knows. */
export type BackendName = "tmux" | "zellij" | "wt";

/** Each backend's own options, as its package types them. */
export interface BackendOptions {
  tmux: TmuxBackendOptions;
  zellij: ZellijBackendOptions;
  wt: WtBackendOptions;
}

interface Entry<K extends BackendName> {
  /** The package to install for it. */
  pkg: string;
  /** Saved-run kinds: runs on this machine, and runs across machines (`--host`). */
  kinds: { local: string; remote: string };
  /** Session name prefix on this machine when --prefix is not given (machineconfig's, for its scripts). */
  defaultPrefix?: string;
  load(): Promise<BackendFactory<BackendOptions[K]>>;
  /** Its factory for machines reached over ssh, when that differs (Windows Terminal starts windows on the desktop). */
  loadRemote?(): Promise<BackendFactory<BackendOptions[K]>>;
}

/** Backend name → its package, loaded only when used. */
const REGISTRY: { [K in BackendName]: Entry<K> } = {
  tmux: {
    pkg: "@mc/tmux",
    kinds: { local: "TmuxLocalManager", remote: "TmuxRemoteManager" },
    load: async () => (await import("@mc/tmux")).tmuxBackend,
  },
  zellij: {
    pkg: "@mc/zellij",
    kinds: { local: "ZellijLocalManager", remote: "ZellijRemoteManager" },
    // machineconfig's ZellijLocalManager names sessions LocalJobMgr_<layout>; `--prefix ""` for none.
    defaultPrefix: "LocalJobMgr",
    load: async () => (await import("@mc/zellij")).zellijBackend,
  },
  wt: {
    pkg: "@mc/wt",
    kinds: { local: "WTLocalManager", remote: "WTRemoteManager" },
    load: async () => (await import("@mc/wt")).wtBackend,
    loadRemote: async () => (await import("@mc/remote/wt")).wtRemoteBackend,
  },
};

/** The prefix mc's sessions of a backend get unless `--prefix` says otherwise (zellij: `LocalJobMgr`). */
export function defaultSessionPrefix(name: BackendName): string | undefined {
  return REGISTRY[name].defaultPrefix;
}

/** Every backend name. */
export const BACKEND_NAMES = Object.keys(REGISTRY) as BackendName[];

const missing = (e: unknown) => {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND";
};

/** The factory of a backend; BACKEND_MISSING naming the package when it is not installed. */
export async function loadBackend<K extends BackendName>(
  name: K,
  remote = false,
): Promise<BackendFactory<BackendOptions[K]>> {
  const entry = REGISTRY[name];
  try {
    return await (remote && entry.loadRemote ? entry.loadRemote() : entry.load());
  } catch (e) {
    if (!missing(e)) throw e;
    throw new McError("BACKEND_MISSING", `the ${name} backend is not installed`, {
      backend: "cli",
      hint: `npm install ${REGISTRY[name].pkg}`,
      cause: e,
    });
  }
}

/** `auto`: tmux if installed, else zellij; Windows Terminal on Windows. */
/** Whether a `--backend` choice leaves the tool to mc (`auto`, `a`, or none given). */
export function isAutoBackend(choice: string | undefined): boolean {
  return choice === undefined || /^a(uto)?$/i.test(choice);
}

const BACKEND_ALIASES: Record<string, BackendName> = {
  t: "tmux",
  tmux: "tmux",
  z: "zellij",
  zellij: "zellij",
  w: "wt",
  wt: "wt",
  "windows-terminal": "wt",
};

/** A `--backend` value as machineconfig takes them (`t`, `z`, `wt`, `a`, …): the backend, `auto`, or undefined. */
export function backendOf(choice: string): BackendName | "auto" | undefined {
  const c = choice.toLowerCase();
  return BACKEND_ALIASES[c] ?? (c === "auto" || c === "a" ? "auto" : undefined);
}

export async function resolveBackend(choice: string, host: Host = localHost()): Promise<BackendName> {
  const c = backendOf(choice);
  if (c && c !== "auto") return c;
  if (c !== "auto") {
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

/** Where a run's sessions go: this machine, or these machines over ssh. */
export interface Placement {
  /** Machines (ssh aliases or `user@host`); empty: this machine. */
  hosts: readonly string[];
  /** ssh client config for the machines (made absolute). */
  sshConfig?: string | undefined;
}

async function loadRemote() {
  try {
    return await import("@mc/remote");
  } catch (e) {
    if (!missing(e)) throw e;
    throw new McError("BACKEND_MISSING", "remote support is not installed", {
      backend: "cli",
      hint: "npm install @mc/remote",
      cause: e,
    });
  }
}

/**
 * A manager for these layouts on this machine, or on every `--host` machine (`@mc/remote`'s manager:
 * it checks the machines are distinct and reach them again later with the ssh options they were given).
 */
export async function buildManager<K extends BackendName>(
  name: K,
  layouts: readonly LayoutConfig[],
  o: {
    prefix?: string | undefined;
    backendOptions: BackendOptions[K];
    placement: Placement;
    exitMode?: ExitMode | undefined;
    onNotice?: (message: string) => void;
    /** Machines that did not answer, shared while it is filled (see {@link loadRuns}); remote only. */
    unanswered?: Map<string, McError> | undefined;
  },
): Promise<SessionManager<BackendOptions[K]>> {
  const factory = await loadBackend(name, o.placement.hosts.length > 0);
  if (o.placement.hosts.length > 0) {
    const { RemoteManager } = await loadRemote();
    return new RemoteManager(REGISTRY[name].kinds.remote, factory, {
      machineLayouts: Object.fromEntries(o.placement.hosts.map((h) => [h, layouts])),
      sessionNamePrefix: o.prefix || undefined,
      exitMode: o.exitMode,
      ...(o.placement.sshConfig === undefined ? {} : { ssh: { "*": { configFile: o.placement.sshConfig } } }),
      backendOptions: { "*": o.backendOptions },
      cwd: process.cwd(),
      onNotice: o.onNotice,
      ...(o.unanswered ? { unanswered: o.unanswered } : {}),
    });
  }
  return new SessionManager({
    kind: REGISTRY[name].kinds.local,
    factory,
    machines: [{ name: "local", host: localHost(), layouts, backendOptions: o.backendOptions }],
    sessionNamePrefix: (o.prefix ?? REGISTRY[name].defaultPrefix) || undefined,
    exitMode: o.exitMode,
  });
}

/** A saved run with a manager that adopted it (its machines reconnected on demand). */
export interface LoadedRun {
  backend: BackendName;
  run: ManagedRun;
  manager: SessionManager;
}

/**
 * What changes whenever a run record is written or removed (records are replaced by a rename, which
 * changes their directory): the run directories' change times, in one string.
 */
export async function runsStamp(host: Host = localHost()): Promise<string> {
  const { stateDir } = await host.info();
  const dirs = BACKEND_NAMES.flatMap((n) => [REGISTRY[n].kinds.local, REGISTRY[n].kinds.remote]);
  const stamps = await Promise.all(
    dirs.map((kind) =>
      stat(runsDir(stateDir, kind), { bigint: true }).then(
        (st) => `${st.ino}:${st.mtimeNs}:${st.ctimeNs}`,
        () => "-",
      ),
    ),
  );
  return stamps.join(" ");
}

/**
 * Call `onChange` when a run record may have been written or removed on this machine (a `sessions run` in
 * another terminal): inotify (fs.watch) on the records' directories. One that does not exist yet (a new
 * state directory) is waited for by watching the nearest directory above it that does, for that one
 * name. Nothing is polled. The watchers keep the process alive until the returned function closes them.
 */
export async function watchRunRecords(onChange: () => void, host: Host = localHost()): Promise<() => void> {
  const managers = join((await host.info()).stateDir, "managers");
  const kinds = BACKEND_NAMES.flatMap((n) => [REGISTRY[n].kinds.local, REGISTRY[n].kinds.remote]);
  const watchers: FSWatcher[] = [];
  let closed = false;
  const tryWatch = (dir: string, on: (name: string | null) => void): boolean => {
    try {
      const w = watch(dir, (_event, name) => on(name));
      // A watched directory removed (ls --prune, a new state directory): waited for again from above.
      w.on("error", () => arm());
      watchers.push(w);
      return true;
    } catch {
      return false;
    }
  };
  const arm = () => {
    for (const w of watchers.splice(0)) w.close();
    if (closed) return;
    const present = kinds.filter((k) => tryWatch(join(managers, k), () => onChange()));
    if (present.length === kinds.length) return;
    // A records directory made now may hold a record written before its watch: read once more. So for a
    // directory made between a failed watch of it and the watch of its parent (`mkdir -p` of the whole
    // chain by the first run): looked for again once the parent is watched, or the follower waited for
    // ever, never told (seen as a 1-in-8 flake of the H50-10 test).
    const again = () => {
      arm();
      onChange();
    };
    const appeared = (name: string | null) => {
      if (name === null || kinds.includes(name)) again();
    };
    if (tryWatch(managers, appeared)) {
      if (kinds.some((k) => !present.includes(k) && existsSync(join(managers, k)))) again();
      return;
    }
    for (let child = managers, dir = dirname(managers); dir !== child; child = dir, dir = dirname(dir)) {
      const next = basename(child);
      const made = (name: string | null) => {
        if (name === null || name === next) again();
      };
      if (tryWatch(dir, made)) {
        if (existsSync(child)) again();
        return;
      }
    }
  };
  arm();
  return () => {
    closed = true;
    for (const w of watchers.splice(0)) w.close();
  };
}

/** Every saved run of every installed backend, local and remote; damaged records listed apart. */
export async function loadRuns(
  host: Host = localHost(),
  onNotice: (message: string) => void = () => {},
  /**
   * Shared by every remote run loaded: a machine that did not answer one run is not waited for again by
   * another (review H53-2). Only for a command that asks once, never one that follows machines over time.
   */
  unanswered?: Map<string, McError>,
): Promise<{ runs: LoadedRun[]; corrupt: { path: string; error: string }[] }> {
  const { stateDir } = await host.info();
  const runs: LoadedRun[] = [];
  const corrupt: { path: string; error: string }[] = [];
  for (const name of BACKEND_NAMES) {
    for (const kind of [REGISTRY[name].kinds.local, REGISTRY[name].kinds.remote]) {
      const listing = await listRuns(host, stateDir, kind);
      corrupt.push(...listing.corrupt);
      if (listing.runs.length === 0) continue;
      const remote = kind === REGISTRY[name].kinds.remote;
      const factory = (await loadBackend(name, remote)) as BackendFactory<object>;
      const { RemoteManager } = remote ? await loadRemote() : { RemoteManager: undefined };
      for (const run of listing.runs) {
        const manager = RemoteManager
          ? new RemoteManager(kind, factory, { machineLayouts: {}, onNotice, unanswered })
          : new SessionManager({ kind, factory, machines: [], stateHost: host });
        try {
          manager.adopt(run);
        } catch (e) {
          const error = isMcError(e) ? e.reason : (e as Error).message;
          corrupt.push({ path: `${stateDir}/managers/${kind}/${run.id}.json`, error });
          continue;
        }
        runs.push({ backend: name, run, manager });
      }
    }
  }
  await settleDuplicates(runs);
  return { runs, corrupt };
}

/**
 * One session in two runs' records (same machine, tool, server and name): the newer run's copy is the
 * session, the older one stale (a merge killed between recording the session in its run and dropping it
 * from the old one; a session of that name started again after the first was killed outside mc). Listed
 * twice, the stale copy showed the new tabs' pids under the old commands (review H35-4): it is settled
 * in its record. Not while the newer copy is still starting (a restart in progress retires the old one
 * itself). A record that cannot be written keeps it; it is hidden all the same.
 */
export async function settleDuplicates(runs: LoadedRun[]): Promise<void> {
  const byPlace = new Map<string, { r: LoadedRun; s: ManagedSession }[]>();
  for (const r of runs)
    for (const s of r.manager.managed) {
      const m = r.run.machines[s.machine];
      // The server: a tmux socket is in the backend options, a zellij socket directory in the session's
      // data (review H36-1: two zellij servers' sessions of one name were taken for one).
      const key = JSON.stringify([
        r.backend,
        s.machine,
        m?.connection ?? null,
        m?.backendOptions ?? null,
        s.data?.socketDir ?? null,
        s.name,
      ]);
      byPlace.set(key, [...(byPlace.get(key) ?? []), { r, s }]);
    }
  for (const copies of byPlace.values()) {
    if (copies.length < 2) continue;
    // The newest start; of one session in two records (a merge keeps its start), the copy recorded last,
    // else the newer run by its id (which begins with the time it was made). Not the run's createdAt:
    // that is its sessions' first start, the merged session's own, a tie that kept the old copy and
    // dropped the tabs a killed merge had opened from every record (review H42-1).
    copies.sort(
      (a, b) =>
        b.s.startedAt - a.s.startedAt ||
        (b.s.recordedAt ?? 0) - (a.s.recordedAt ?? 0) ||
        b.r.run.id.localeCompare(a.r.run.id),
    );
    const [newer, ...stale] = copies;
    if (newer!.s.starting) continue;
    // Two entries of one record are not settled here: settling is by name, and would drop both.
    for (const { r, s } of stale.filter((x) => x.r !== newer!.r))
      await r.manager.settleStale(s, newer!.s.runDir === s.runDir, newer!.s.startedAt).catch(() => undefined);
  }
}
