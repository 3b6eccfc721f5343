import { isMcError, type ManagedSession, McError, type SessionStatus } from "@mc/core";
import type { Output } from "../output.js";
import { type LoadedRun, loadRuns } from "../registry.js";

type Corrupt = { path: string; error: string }[];

/** The tmux server a run's machine used, as the path its socket pins to. */
function socketOf(run: LoadedRun): string | undefined {
  const opts = Object.values(run.run.machines)[0]?.backendOptions as
    | { socket?: { path?: string } }
    | undefined;
  return opts?.socket?.path;
}

/**
 * Run `f` over every saved run (only the runs on one tmux server with `--socket`), then release their
 * connections.
 */
export async function withRuns<T>(
  out: Output,
  f: (runs: LoadedRun[], corrupt: Corrupt) => Promise<T>,
  socket?: string,
): Promise<T> {
  const { runs: all, corrupt } = await loadRuns(undefined, (n) => {
    if (!out.json) out.err(out.c.yellow(`warning: ${n}`));
  });
  let runs = all;
  if (socket !== undefined) {
    const { pinSocket } = await import("@mc/tmux");
    const want = (pinSocket({ socket }, process.env).socket as { path: string }).path;
    runs = all.filter((r) => r.backend === "tmux" && socketOf(r) === want);
  }
  try {
    return await f(runs, corrupt);
  } finally {
    await Promise.all(all.map((r) => r.manager.close()));
  }
}

/** Status of managed sessions (all, or one by name, optionally on one machine), one backend query per run and machine. */
export async function gather(
  runs: LoadedRun[],
  o: { name?: string | undefined; host?: string | undefined; all?: boolean; processes?: boolean },
): Promise<SessionStatus[]> {
  // A name is looked up as everywhere else: mc's name, the tool's spelling of it, or the layout's name.
  const wanted =
    o.name === undefined
      ? undefined
      : (() => {
          try {
            return findSession(runs, o.name, o.host);
          } catch (e) {
            if (isMcError(e, "SESSION_NOT_FOUND")) return { machine: undefined, name: o.name };
            throw e;
          }
        })();
  const reports = await Promise.all(
    runs.map((r) => r.manager.checkAllSessionsStatus({ processes: o.processes ?? true })),
  );
  return reports
    .flatMap((r) => r.sessions)
    .filter(
      (s) =>
        (o.host === undefined || s.machine === o.host) &&
        (wanted === undefined
          ? o.all || s.exists || Boolean(s.error)
          : s.session === wanted.name && (wanted.machine === undefined || s.machine === wanted.machine)),
    );
}

/** Whether `name` names a managed session: mc's name, the tool's key of it, or its layout's name. */
function sameSession(run: LoadedRun, s: ManagedSession, name: string): boolean {
  if (s.name === name) return true;
  try {
    const key = run.manager.backendOf(s.machine).sessionKey;
    return key(s.name) === key(name);
  } catch {
    return false;
  }
}

/** The run holding a session, by name and (for sessions on several machines) machine. */
export function findSession(
  runs: LoadedRun[],
  name: string,
  host: string | undefined,
): { run: LoadedRun; machine: string; name: string } {
  // The name in the file or the name the tool shows (tmux turns "a.b" into "a_b"), on any machine asked.
  const find = (match: (run: LoadedRun, s: ManagedSession) => boolean) =>
    runs.flatMap((run) =>
      run.manager.managed
        .filter((s) => (host === undefined || s.machine === host) && match(run, s))
        .map((s) => ({ run, machine: s.machine, name: s.name })),
    );
  const named = find((run, s) => sameSession(run, s, name));
  // Else the layout's name, as written in the file (ZellijLocalManager's sessions are LocalJobMgr_<name>).
  const hits = named.length ? named : find((_, s) => s.layout.layoutName === name);
  if (hits.length === 1) return hits[0]!;
  if (hits.length > 1) {
    throw new McError(
      "USAGE",
      `session "${name}" runs on several machines: ${hits.map((h) => (h.machine === "local" ? "this machine" : h.machine)).join(", ")}`,
      { backend: "cli", hint: "pick one with --host" },
    );
  }
  const known = runs.flatMap((r) =>
    r.manager.managed.map((s) => (s.machine === "local" ? s.name : `${s.name} (${s.machine})`)),
  );
  throw new McError("SESSION_NOT_FOUND", `no managed session "${name}"${host ? ` on ${host}` : ""}`, {
    backend: "cli",
    hint: known.length ? `managed sessions: ${known.join(", ")}` : "start one with sessions run",
  });
}

/** A session mc started, live or ended, with the run and machine that hold it. */
export interface FoundSession {
  run: LoadedRun;
  machine: string;
  session: ManagedSession;
  /** When it ended (killed, or replaced by a restart); absent while it is managed. */
  endedAt?: number;
}

/**
 * A session by name among live and ended ones (for what outlives a session: logs, events): the live one,
 * else the one that ended last. `--host` picks the machine when several have one of that name.
 */
export function findAnySession(runs: LoadedRun[], name: string, host: string | undefined): FoundSession {
  const all: FoundSession[] = runs.flatMap((run) => [
    ...run.manager.managed.map((session) => ({ run, machine: session.machine, session })),
    ...run.manager.ended.map((session) => ({
      run,
      machine: session.machine,
      session,
      endedAt: session.endedAt,
    })),
  ]);
  const on = all.filter((f) => host === undefined || f.machine === host);
  const named = on.filter((f) => sameSession(f.run, f.session, name));
  const hits = named.length ? named : on.filter((f) => f.session.layout.layoutName === name);
  const live = hits.filter((f) => f.endedAt === undefined);
  const machines = new Set(hits.map((h) => h.machine));
  if (machines.size > 1) {
    throw new McError(
      "USAGE",
      `session "${name}" ran on several machines: ${[...machines].map((m) => (m === "local" ? "this machine" : m)).join(", ")}`,
      { backend: "cli", hint: "pick one with --host" },
    );
  }
  if (live.length) return live[0]!;
  const last = hits.sort((a, b) => (b.endedAt ?? 0) - (a.endedAt ?? 0))[0];
  if (last) return last;
  throw new McError("SESSION_NOT_FOUND", `no session "${name}" in mc's records${host ? ` on ${host}` : ""}`, {
    backend: "cli",
    hint: "sessions ls lists live and ended sessions",
  });
}

/**
 * `SESSION/TAB` (or `SESSION`): a session, then a tab by name or, when no tab has that name, by its
 * position (0-based). A session whose name holds `/` is found whole first.
 */
export function findTarget(
  runs: LoadedRun[],
  target: string,
  host: string | undefined,
): FoundSession & { tab?: number } {
  try {
    return findAnySession(runs, target, host);
  } catch (e) {
    const cut = target.lastIndexOf("/");
    if (cut <= 0 || !isMcError(e, "SESSION_NOT_FOUND")) throw e;
    const found = findAnySession(runs, target.slice(0, cut), host);
    return { ...found, tab: tabIndex(found.session, target.slice(cut + 1)) };
  }
}

function tabIndex(s: ManagedSession, tab: string): number {
  const tabs = s.layout.layoutTabs;
  const byName = tabs.findIndex((t) => t.tabName === tab);
  if (byName >= 0) return byName;
  if (/^\d+$/.test(tab) && Number(tab) < tabs.length) return Number(tab);
  throw new McError("SESSION_NOT_FOUND", `session "${s.name}" has no tab "${tab}"`, {
    backend: "cli",
    hint: `its tabs: ${tabs.map((t) => t.tabName).join(", ")}`,
  });
}
