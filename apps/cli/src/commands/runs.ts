import { type ManagedSession, McError, type SessionStatus } from "@mc/core";
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
  const reports = await Promise.all(
    runs.map((r) => r.manager.checkAllSessionsStatus({ processes: o.processes ?? true })),
  );
  return reports
    .flatMap((r) => r.sessions)
    .filter(
      (s) =>
        (o.host === undefined || s.machine === o.host) &&
        (o.name === undefined ? o.all || s.exists || Boolean(s.error) : s.session === o.name),
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
