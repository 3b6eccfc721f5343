import { lstatSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { isMcError, McError } from "./errors.js";
import type { Host } from "./host.js";
import type { ProcessIdentity } from "./linux-proc.js";
import { localStateExposure, STATE_FILE_MAX_BYTES } from "./local-host.js";
import type { LayoutConfig } from "./schema.js";

/** A session a manager started, as saved on disk. */
export interface ManagedSession {
  /** The machine it runs on (`local`, or the machine's name in the run). */
  machine: string;
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
  /**
   * When a start or a merge last recorded this copy (ms). A merge killed before it left the record it
   * merged from leaves the session in two records with one start: the later copy is the session.
   */
  recordedAt?: number;
  /** Tabs a scheduler has not started yet (they read `not-started`). */
  pendingTabs?: number[];
  /**
   * The process that is to start {@link pendingTabs} (the `sessions run` that started or merged the
   * session): once it has ended, those tabs read `abandoned`. Absent where it cannot be recognised.
   */
  scheduler?: ProcessIdentity;
  /**
   * Saved before the tool was asked to make the session, removed once its start returned (for a
   * replacement, once it has its name): still there, the start was never seen through (the run that
   * started it was killed, or the machine stopped answering), and the session may or may not exist.
   * `by` is the run that started it; `replacing`: a replacement made but not yet given its name (the
   * session it replaces still runs); `replacesFirst`: a restart on a tool that cannot rename, which kills
   * the session it replaces before it starts this one; `kept`: its run died, and a later start found it
   * whole and left it up (it stays marked: a backend may judge such a session by it, as zellij does
   * without its proof).
   */
  starting?: { by?: ProcessIdentity; replacing?: true; replacesFirst?: true; kept?: true };
  /**
   * The `sessions kill` under way (written before the tool is asked): a session found gone once that
   * process ended was killed by it, not ended outside mc (review H65-4: an interrupted kill read `gone`).
   */
  killing?: ProcessIdentity;
  /** Why a tab failed beyond what its record says (not ready in time, a dependency failed), by index. */
  tabErrors?: Record<string, string>;
  /**
   * Backend-specific facts (for example the tmux session id and run id). One the CLI reads of any backend:
   * `logsNotKept`, a string saying why its tabs keep no log (zellij without util-linux script(1)).
   */
  data?: Record<string, unknown>;
}

/** Tab `index` of `s` was started (or will never be): it leaves the pending list, and the scheduler with the last. */
export function notPending(s: ManagedSession, index: number): void {
  const pending = s.pendingTabs?.filter((i) => i !== index) ?? [];
  if (pending.length) s.pendingTabs = pending;
  else {
    delete s.pendingTabs;
    delete s.scheduler;
  }
}

/**
 * A session that ended (mc killed it, or a restart replaced it): kept in its run's record with its files,
 * so its logs, records and events outlive it, until pruned (`sessions ls --prune`, or after
 * {@link ENDED_KEEP_MS} on this machine).
 */
export interface EndedSession extends ManagedSession {
  endedAt: number;
  /**
   * Killed by mc, replaced by a restart (or a later run of its name), found gone by a kill (ended outside
   * mc), or rolled back by a later start (the run that was starting it had died before it finished).
   */
  endedBy: "killed" | "replaced" | "gone" | "rolled-back";
}

/** How long an ended session's files are kept on this machine before a later run removes them (7 days). */
export const ENDED_KEEP_MS = 7 * 24 * 3600 * 1000;

/** How a run reaches one of its machines again. */
export interface MachineRecord {
  /** The host's id (`local`, `ssh:gpu-1`). */
  host: string;
  /** Transport options (ssh target, port, config file); absent for this machine. */
  connection?: Record<string, unknown>;
  /** Backend options (tmux socket, zellij binary) the sessions were started with. */
  backendOptions?: Record<string, unknown>;
}

/** Everything one manager run started: what `save` writes and `load` reads. */
export interface ManagedRun {
  v: 2;
  id: string;
  /** Manager kind, e.g. `TmuxLocalManager`; runs are kept in one directory per kind. */
  kind: string;
  backend: string;
  createdAt: number;
  sessionNamePrefix?: string;
  /** Every machine of the run, by name. */
  machines: Record<string, MachineRecord>;
  sessions: ManagedSession[];
  /** Sessions of this run that ended, newest last. */
  ended?: EndedSession[];
}

/**
 * Whether `runDir` is a session directory mc made on a machine whose state is `stateDir`: below
 * `<stateDir>/runs/`, with no `.`/`..` step. A record's `runDir` is removed only then: a record edited or
 * planted to name another directory never gets it deleted.
 */
export function isOwnRunDir(stateDir: string, runDir: string): boolean {
  const norm = (p: string) => p.replace(/\\/g, "/").replace(/\/+$/, "");
  const root = `${norm(stateDir)}/runs/`;
  const d = norm(runDir);
  return d.startsWith(root) && d.length > root.length && !d.split("/").some((x) => x === ".." || x === ".");
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

/**
 * Refuse a local state directory other users could write before reading or writing a record in it (the
 * records name ssh configs and sockets mc acts on; the run directories hold the scripts tabs run).
 */
async function checkPrivate(host: Host, stateDir: string, op: "load" | "save"): Promise<void> {
  const why = host.id === "local" ? localStateExposure(stateDir) : await host.stateExposure?.(stateDir);
  if (why) throw new McError("STATE_IO", why, { backend: "core", op });
}

/** Save a run atomically to `<stateDir>/managers/<kind>/<id>.json` (mode 0600: commands may hold secrets). */
export async function saveRun(host: Host, stateDir: string, run: ManagedRun): Promise<string> {
  checkId(run.id);
  await checkPrivate(host, stateDir, "save");
  const path = join(runsDir(stateDir, run.kind), `${run.id}.json`);
  try {
    await host.writeFile(path, `${JSON.stringify(run, null, 2)}\n`, { mode: 0o600 });
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

const corrupt = (path: string, why: string, cause?: unknown) =>
  new McError("STATE_CORRUPT", `${path} ${why}`, {
    backend: "core",
    op: "load",
    hint: "sessions ls lists it as corrupt; sessions ls --prune removes it",
    cause,
    details: { why },
  });

/**
 * What is wrong with a record, for a listing entry that names its path already: the reason alone (review
 * H50-8: `… .json: [mc] [core] load: … .json is not valid JSON` said the path twice, with internal tags).
 */
function whyCorrupt(e: unknown): string {
  const why = (e as { details?: { why?: unknown } }).details?.why;
  if (typeof why === "string") return why;
  return isMcError(e) ? e.reason : (e as Error).message;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function validSession(s: unknown): s is ManagedSession {
  if (!isObject(s) || typeof s.name !== "string" || typeof s.runDir !== "string") return false;
  const layout = s.layout;
  return isObject(layout) && Array.isArray(layout.layoutTabs) && typeof s.startedAt === "number";
}

/** Read a run record of version 1 (one machine, or a fleet's `options.machines`) as version 2. */
function fromV1(r: Record<string, unknown>): ManagedRun {
  const options = isObject(r.options) ? r.options : {};
  const machines: Record<string, MachineRecord> = {};
  const fleet = isObject(options.machines) ? options.machines : undefined;
  const sessions = (r.sessions as Record<string, unknown>[]).map((s) => {
    const data = isObject(s.data) ? { ...s.data } : undefined;
    const machine = fleet && typeof data?.machine === "string" ? data.machine : "local";
    if (data) delete data.machine;
    return { ...s, machine, ...(data ? { data } : {}) } as ManagedSession;
  });
  if (fleet) {
    for (const [name, m] of Object.entries(fleet)) {
      if (!isObject(m)) continue;
      const ssh = isObject(m.ssh) ? m.ssh : {};
      machines[name] = {
        host: typeof m.host === "string" ? m.host : `ssh:${name}`,
        connection: { target: name, ...ssh },
        ...(isObject(m.backend) ? { backendOptions: m.backend } : {}),
      };
    }
  } else {
    const { machines: _m, ...backendOptions } = options;
    machines.local = { host: "local", backendOptions };
  }
  return {
    v: 2,
    id: r.id as string,
    kind: r.kind as string,
    backend: typeof r.backend === "string" && r.backend !== "remote" ? r.backend : "",
    createdAt: typeof r.createdAt === "number" ? r.createdAt : 0,
    ...(typeof r.sessionNamePrefix === "string" ? { sessionNamePrefix: r.sessionNamePrefix } : {}),
    machines,
    sessions,
  };
}

/** Parse a run record; STATE_CORRUPT for anything that is not one. */
export function parseRun(text: string, path: string): ManagedRun {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw corrupt(path, "is not valid JSON", e);
  }
  // A newer mc's record may hold live sessions this version cannot read: said as such, never removed.
  if (isObject(raw) && typeof raw.v === "number" && raw.v > 2)
    throw corrupt(path, `was written by a newer mc (record version ${raw.v})`);
  if (
    !isObject(raw) ||
    typeof raw.id !== "string" ||
    typeof raw.kind !== "string" ||
    !Array.isArray(raw.sessions)
  )
    throw corrupt(path, "is not an mc run record");
  if (!raw.sessions.every(validSession) && !(raw.v === 1 && raw.sessions.every((s) => isObject(s))))
    throw corrupt(path, "has a damaged session entry");
  if (raw.v === 1) {
    const run = fromV1(raw);
    if (!run.sessions.every(validSession)) throw corrupt(path, "has a damaged session entry");
    return run;
  }
  if (raw.v !== 2 || !isObject(raw.machines))
    throw corrupt(path, "is not an mc run record of a known version");
  const run = raw as unknown as ManagedRun;
  // Own keys only: "constructor" or "toString" is in every object through its prototype.
  const machines = run.machines as Record<string, unknown>;
  const described = (m: unknown) =>
    typeof m === "string" && Object.hasOwn(machines, m) && isObject(machines[m]);
  if (!run.sessions.every((s) => described(s.machine)))
    throw corrupt(path, "names a machine it does not describe");
  // Only shown (ls, the pruning order): a damaged time must not make the run's sessions unmanageable.
  if (typeof run.createdAt !== "number" || !(Math.abs(run.createdAt) <= 8.64e15)) run.createdAt = 0;
  // History is kept on a best-effort basis: a damaged ended entry is left out, never fatal.
  if (run.ended !== undefined) {
    const ok = Array.isArray(run.ended) ? run.ended : [];
    run.ended = ok.filter((s) => validSession(s) && typeof s.endedAt === "number" && described(s.machine));
  }
  return run;
}

/** Load one saved run; SESSION_NOT_FOUND when absent, STATE_CORRUPT when damaged. */
export async function loadRun(host: Host, stateDir: string, kind: string, id: string): Promise<ManagedRun> {
  checkId(id);
  await checkPrivate(host, stateDir, "load");
  const path = join(runsDir(stateDir, kind), `${id}.json`);
  const foreign = foreignOwner(host, path);
  if (foreign) throw new McError("STATE_CORRUPT", `${path}: ${foreign}`, { backend: "core", op: "load" });
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

/**
 * Why a record on this machine is not trusted: another user owns it (a shared or world-writable state
 * directory). A record names ssh configs and commands that mc would run as this user.
 */
function foreignOwner(host: Host, path: string): string | undefined {
  if (host.id !== "local" || process.getuid === undefined) return undefined;
  try {
    const st = lstatSync(path);
    // A link would let whoever can write the directory point a record at any file this user owns.
    if (st.isSymbolicLink()) return "a symbolic link, not a record mc wrote: not trusted";
    if (st.uid !== process.getuid()) return `owned by uid ${st.uid}, not by this user: not trusted`;
    // mc writes its records 0600: one others may write could say anything by now.
    return st.mode & 0o022 ? "writable by other users, not as mc wrote it: not trusted" : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why the records of one kind cannot be listed on this machine although something is there: the state
 * directory, `managers` or the kind's directory is a file or a dangling link. Missing is not a problem
 * (nothing was saved yet). Read commands must not call a damaged state "no sessions".
 */
function damagedRunsDir(host: Host, stateDir: string, dir: string): string | undefined {
  if (host.id !== "local") return undefined;
  for (const p of [stateDir, dirname(dir), dir]) {
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      return `${p} cannot be read: ${(e as Error).message}`;
    }
    if (st.isSymbolicLink()) {
      try {
        st = statSync(p);
      } catch (e) {
        return `${p} is a link to something that cannot be read (${(e as NodeJS.ErrnoException).code})`;
      }
    }
    if (!st.isDirectory()) return `${p} is not a directory`;
  }
  return undefined;
}

/** Names of entries in `dir` that look like records but are not regular files (a directory, a FIFO). */
function oddRecords(host: Host, dir: string, read: Map<string, string>): string[] {
  if (host.id !== "local") return [];
  try {
    return readdirSync(dir).filter((n) => n.endsWith(".json") && !read.has(n));
  } catch {
    return [];
  }
}

/** Whether `path` is a regular file itself (not a link to one), or gone (removed since it was listed). */
function isRegularOrGone(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT";
  }
}

/** Why a regular file was left unread: larger than a state file may be (undefined otherwise). */
function tooLarge(path: string): string | undefined {
  try {
    const st = statSync(path);
    if (st.isFile() && st.size > STATE_FILE_MAX_BYTES)
      return `is too large to be a run record (${Math.round(st.size / 2 ** 20)} MiB; mc's are a few KiB)`;
  } catch {}
  return undefined;
}

/** Result of {@link listRuns}: the readable runs and the files that could not be read. */
export interface RunListing {
  runs: ManagedRun[];
  corrupt: { path: string; error: string }[];
}

/** Every saved run of one kind, newest first; damaged files are listed apart, never fatal. */
export async function listRuns(host: Host, stateDir: string, kind: string): Promise<RunListing> {
  await checkPrivate(host, stateDir, "load");
  const dir = runsDir(stateDir, kind);
  const files = await host.readDir(dir);
  const damaged = files.size === 0 ? damagedRunsDir(host, stateDir, dir) : undefined;
  if (damaged) {
    throw new McError("STATE_IO", `mc's run records cannot be read: ${damaged}`, {
      backend: "core",
      op: "load",
      hint: "repair or move the state directory ($MC_STATE_DIR, --state-dir, or $XDG_STATE_HOME/mc)",
    });
  }
  const out: RunListing = { runs: [], corrupt: [] };
  for (const name of oddRecords(host, dir, files)) {
    const foreign = foreignOwner(host, join(dir, name));
    const error =
      foreign ??
      tooLarge(join(dir, name)) ??
      (isRegularOrGone(join(dir, name)) ? undefined : "not a regular file");
    // A regular file of ours the listing did not read was written after it (a run starting meanwhile), or
    // one listed and gone: no damaged record (review H25-6: a false warning during a run's start).
    if (error) out.corrupt.push({ path: join(dir, name), error });
  }
  for (const [name, text] of files) {
    if (!name.endsWith(".json")) continue;
    const foreign = foreignOwner(host, join(dir, name));
    if (foreign) {
      out.corrupt.push({ path: join(dir, name), error: foreign });
      continue;
    }
    try {
      out.runs.push(parseRun(text, join(dir, name)));
    } catch (e) {
      out.corrupt.push({ path: join(dir, name), error: whyCorrupt(e) });
    }
  }
  out.runs.sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id));
  return out;
}

/** Delete a saved run (not its sessions). */
export async function deleteRun(host: Host, stateDir: string, kind: string, id: string): Promise<void> {
  checkId(id);
  await checkPrivate(host, stateDir, "save");
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
  await checkPrivate(host, stateDir, "save");
  const release = await host.lock(`run-${kind}-${id}`);
  try {
    const path = join(runsDir(stateDir, kind), `${id}.json`);
    const text = await host.readFile(path);
    const next = change(text === undefined ? undefined : parseRun(text, path));
    if (next) await saveRun(host, stateDir, next);
    else if (text !== undefined) await host.remove(path);
    return next;
  } finally {
    await release();
  }
}
