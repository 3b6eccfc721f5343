import { join } from "node:path";
import { McError } from "./errors.js";
import type { Host } from "./host.js";
import type { LayoutConfig } from "./schema.js";

/** A session a manager started, as saved on disk. */
export interface ManagedSession {
  /** The session's name as the user sees it (may differ from the backend's key). */
  name: string;
  /** The name that was asked for before conflict resolution. */
  requestedName: string;
  layout: LayoutConfig;
  /** Run-state directory of its tab records (on the machine where it runs). */
  runDir: string;
  /** Generated files (scripts, layouts) kept for inspection. */
  artefacts: string[];
  startedAt: number;
  /** Backend-specific facts (for example the tmux session id). */
  data?: Record<string, unknown>;
}

/** Everything one manager run started: what `save` writes and `load` reads. */
export interface ManagedRun {
  v: 1;
  id: string;
  /** Manager kind, e.g. `TmuxLocalManager`; runs are kept in one directory per kind. */
  kind: string;
  backend: string;
  host: string;
  createdAt: number;
  sessionNamePrefix?: string;
  options?: Record<string, unknown>;
  sessions: ManagedSession[];
}

/** Directory holding saved runs of one manager kind. */
export function runsDir(stateDir: string, kind: string): string {
  return join(stateDir, "managers", kind);
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

function checkId(id: string): void {
  if (!ID.test(id) || id.includes("..")) {
    throw new McError("USAGE", `"${id}" is not a valid run id`, { backend: "core", op: "load" });
  }
}

/** Save a run atomically to `<stateDir>/managers/<kind>/<id>.json`. */
export async function saveRun(host: Host, stateDir: string, run: ManagedRun): Promise<string> {
  checkId(run.id);
  const path = join(runsDir(stateDir, run.kind), `${run.id}.json`);
  try {
    await host.writeFile(path, `${JSON.stringify(run, null, 2)}\n`);
  } catch (e) {
    throw new McError("STATE_IO", `cannot write ${path}: ${(e as Error).message}`, {
      backend: "core",
      op: "save",
      hint: "check that the state directory is writable and the disk is not full",
      cause: e,
    });
  }
  return path;
}

function parseRun(text: string, path: string): ManagedRun {
  let run: ManagedRun;
  try {
    run = JSON.parse(text) as ManagedRun;
  } catch (e) {
    throw new McError("STATE_CORRUPT", `${path} is not valid JSON`, {
      backend: "core",
      op: "load",
      hint: `delete it (sessions ls shows saved runs) or restore it from a backup`,
      cause: e,
    });
  }
  if (
    run?.v !== 1 ||
    typeof run.id !== "string" ||
    !Array.isArray(run.sessions) ||
    typeof run.kind !== "string"
  ) {
    throw new McError("STATE_CORRUPT", `${path} is not an mc run record`, { backend: "core", op: "load" });
  }
  return run;
}

/** Load one saved run; SESSION_NOT_FOUND when absent, STATE_CORRUPT when damaged. */
export async function loadRun(host: Host, stateDir: string, kind: string, id: string): Promise<ManagedRun> {
  checkId(id);
  const path = join(runsDir(stateDir, kind), `${id}.json`);
  const text = await host.readFile(path);
  if (text === undefined) {
    throw new McError("SESSION_NOT_FOUND", `no saved run "${id}" for ${kind}`, {
      backend: "core",
      op: "load",
      hint: "sessions ls lists saved runs",
    });
  }
  return parseRun(text, path);
}

/** Result of {@link listRuns}: the readable runs and the files that could not be read. */
export interface RunListing {
  runs: ManagedRun[];
  corrupt: { path: string; error: string }[];
}

/** Every saved run of one kind, newest first; damaged files are listed apart, never fatal. */
export async function listRuns(host: Host, stateDir: string, kind: string): Promise<RunListing> {
  const dir = runsDir(stateDir, kind);
  const files = await host.readDir(dir);
  const out: RunListing = { runs: [], corrupt: [] };
  for (const [name, text] of files) {
    if (!name.endsWith(".json")) continue;
    try {
      out.runs.push(parseRun(text, join(dir, name)));
    } catch (e) {
      out.corrupt.push({ path: join(dir, name), error: (e as Error).message });
    }
  }
  out.runs.sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id));
  return out;
}

/** Delete a saved run (not its sessions). */
export async function deleteRun(host: Host, stateDir: string, kind: string, id: string): Promise<void> {
  checkId(id);
  await host.remove(join(runsDir(stateDir, kind), `${id}.json`));
}

/**
 * Read-modify-write one run record under a host lock, so two mc processes (a `run` still starting and a
 * `kill` from another terminal) never overwrite each other's changes. `change` gets the record on disk
 * (undefined when there is none) and returns the new one, or undefined to delete it.
 */
export async function updateRun(
  host: Host,
  stateDir: string,
  kind: string,
  id: string,
  change: (current: ManagedRun | undefined) => ManagedRun | undefined,
): Promise<ManagedRun | undefined> {
  checkId(id);
  const release = host.lock ? await host.lock(`run-${kind}-${id}`) : undefined;
  try {
    const path = join(runsDir(stateDir, kind), `${id}.json`);
    const text = await host.readFile(path);
    const next = change(text === undefined ? undefined : parseRun(text, path));
    if (next) await saveRun(host, stateDir, next);
    else if (text !== undefined) await host.remove(path);
    return next;
  } finally {
    await release?.();
  }
}
