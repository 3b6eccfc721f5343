import {
  isMcError,
  type MachineHealth,
  type ManagedSession,
  McError,
  mapLimit,
  processEnded,
  type SessionStatus,
  shQuote,
} from "@mc/core";
import { nameText, nameWords, oneLine } from "../display.js";
import type { Output } from "../output.js";
import { backendOf, type LoadedRun, loadRuns, runsStamp } from "../registry.js";

type Corrupt = { path: string; error: string }[];

/** A session's status as `status` shows it: with the socket of its tmux server (told apart by it). */
export type LocatedStatus = SessionStatus & {
  /** tmux: the socket path of the server the session runs on. */
  socket?: string;
};

/** The tmux socket a run's machine uses (saved absolute with the run), as an `ls` and `status` field. */
export function socketField(run: LoadedRun, machine: string): { socket?: string } {
  const path = socketOf(run, machine);
  return run.backend === "tmux" && path !== undefined ? { socket: path } : {};
}

/** The tmux socket a run was given on one of its machines. */
function socketOf(run: LoadedRun, machine: string): string | undefined {
  return savedSocket(run.run.machines[machine]?.backendOptions);
}

/**
 * Whether a run has a machine on the tmux server `--socket` names: on this machine by its absolute path;
 * on another only with `--host` naming it, by the path as given (`/tmp/x` there is another server than
 * `/tmp/x` here: `kill --all --socket /tmp/x` must not reach it).
 */
function onSocket(
  run: LoadedRun,
  want: string,
  given: string | undefined,
  host: string | undefined,
): boolean {
  return Object.entries(run.run.machines).some(([name, m]) => {
    const saved = savedSocket(m.backendOptions);
    return m.host === "local" ? saved === want : name === host && (saved === given || saved === want);
  });
}

/**
 * The tmux socket a run's machine was given: pinned to an absolute path on this machine (`{ path }`), or,
 * for another machine, the path as given (it is that machine's). Review H38-4: a remote run's plain path
 * was not read, so `--socket` with `--host` left out every mc session there (the attach picker).
 */
export function savedSocket(backendOptions: unknown): string | undefined {
  const socket = (backendOptions as { socket?: unknown } | undefined)?.socket;
  if (typeof socket === "string") return socket;
  const path = (socket as { path?: unknown } | undefined)?.path;
  return typeof path === "string" ? path : undefined;
}

/** Whether an unreadable record is mc's to remove (`ls --prune`): not another user's file, a link, a FIFO. */
export function mayHoldOurs(error: string): boolean {
  return !error.includes("not trusted") && error !== "not a regular file";
}

/** Lookups that found no session of a name in any record (not a missing tab, not an ended session). */
/** How many runs' status `status` and `ls` ask at once: each asks its tool with a subprocess. */
export const RUNS_AT_ONCE = 8;

const misses = new WeakSet<Error>();

/** `e`, marked as a name no readable record holds (see {@link unreadableMiss}). */
export function nameMiss(e: McError): McError {
  misses.add(e);
  return e;
}

/**
 * A name no readable record holds, while a record of this user's could not be read: the session may be in
 * that record, so "no such session" (5) cannot be said. Exit 9 naming the files instead, for every command
 * that looks a session up (review H50-8: wait said 5, kill did not mention the record at all).
 */
function unreadableMiss(e: unknown, unreadable: Corrupt): unknown {
  if (!isMcError(e, "SESSION_NOT_FOUND") || unreadable.length === 0) return e;
  let marked = false;
  for (let x: unknown = e; x instanceof Error && !marked; x = x.cause) marked = misses.has(x);
  if (!marked) return e;
  const shown = unreadable.slice(0, 3).map((c) => `${oneLine(c.path)} (${oneLine(c.error)})`);
  const more = unreadable.length > shown.length ? `, and ${unreadable.length - shown.length} more` : "";
  const which =
    unreadable.length === 1
      ? "a run record that could not be read may hold it"
      : `${unreadable.length} run records that could not be read may hold it`;
  return new McError("STATE_CORRUPT", `${e.reason}; ${which}: ${shown.join(", ")}${more}`, {
    backend: "cli",
    op: e.op,
    hint: "repair the record, or remove it with sessions ls --prune (mc then forgets the sessions it held)",
    cause: e,
    details: { unreadable },
  });
}

/** Which saved runs a command looks at: `--socket` (one tmux server), `--backend` (one tool). */
export interface RunFilter {
  socket?: string | undefined;
  /** `--host`: a remote run's socket is that machine's, matched only when it is named (review H45-5). */
  host?: string | undefined;
  /** tmux, zellij or wt; "auto" (attach's default) or absent: every tool. */
  backend?: string | undefined;
}

const BACKENDS = ["tmux", "zellij", "wt"];

/** The runs a command looks at, and the records that could not be read. */
export interface Runs {
  runs: LoadedRun[];
  corrupt: Corrupt;
}

/**
 * Run `f` over every saved run (only the runs on one tmux server with `--socket`, of one tool with
 * `--backend`), then release their connections. `reload` reads the records again when any changed since
 * the last read (a merge or a restart in another terminal moves a session to its own run's record, with
 * its new tabs), else gives undefined: for commands that follow sessions over time. The runs of the
 * earlier read are closed then: use only the new ones.
 *
 * `oneShot`: the command asks each machine once (kill, ls, status without --watch), so a machine that did
 * not answer one run is not waited for again by the next (review H53-2: `kill --all` waited out one silent
 * machine's connect timeout 6 times). Not for commands that follow machines until they answer again.
 */
export async function withRuns<T>(
  out: Output,
  f: (runs: LoadedRun[], corrupt: Corrupt, reload: () => Promise<Runs | undefined>) => Promise<T>,
  where: RunFilter = {},
  how: { oneShot?: boolean } = {},
): Promise<T> {
  const unanswered = how.oneShot ? new Map<string, McError>() : undefined;
  const { socket } = where;
  // machineconfig's names and letters as on `run` (review H31-2: attach -b t was refused).
  const chosen = where.backend === undefined ? undefined : backendOf(where.backend);
  if (where.backend !== undefined && chosen === undefined)
    throw new McError(
      "USAGE",
      `--backend is ${BACKENDS.join(", ")} or auto (t, z, w, a), not ${JSON.stringify(where.backend)}`,
      { backend: "cli" },
    );
  const backend = chosen === "auto" ? undefined : chosen;
  if (socket !== undefined && backend !== undefined && backend !== "tmux")
    throw new McError("USAGE", `--socket names a tmux server; it does not go with --backend ${backend}`, {
      backend: "cli",
    });
  const want =
    socket === undefined
      ? undefined
      : ((await import("@mc/tmux")).pinSocket({ socket }, process.env).socket as { path: string }).path;
  // Each notice once: several runs on one machine say the same thing (its ssh config changed).
  const said = new Set<string>();
  const loaded: LoadedRun[] = [];
  let stamp = "";
  let unreadable: Corrupt = [];
  const load = async (): Promise<Runs> => {
    stamp = await runsStamp();
    const { runs: all, corrupt } = await loadRuns(
      undefined,
      (n) => {
        if (out.json || said.has(n)) return;
        said.add(n);
        out.err(out.c.yellow(`warning: ${n}`));
      },
      unanswered,
    );
    loaded.push(...all);
    const runs =
      want !== undefined
        ? all.filter((r) => r.backend === "tmux" && onSocket(r, want, socket, where.host))
        : backend === undefined
          ? all
          : all.filter((r) => r.backend === backend);
    // A record not trusted (a link, another user's file) may be this user's replaced: not read either.
    unreadable = corrupt;
    return { runs, corrupt };
  };
  const reload = async () => {
    if ((await runsStamp()) === stamp) return undefined;
    const earlier = loaded.splice(0);
    const fresh = await load();
    await Promise.all(earlier.map((r) => r.manager.close()));
    return fresh;
  };
  const first = await load();
  try {
    return await f(first.runs, first.corrupt, reload);
  } catch (e) {
    throw unreadableMiss(e, unreadable);
  } finally {
    await Promise.all(loaded.map((r) => r.manager.close()));
  }
}

/** Status of managed sessions (all, or one by name, optionally on one machine), one backend query per run and machine. */
export async function gather(
  runs: LoadedRun[],
  o: { name?: string | undefined; host?: string | undefined; all?: boolean; processes?: boolean },
  /** Filled with the health of each machine the sessions shown are on (reachable, or why not). */
  machines?: MachineHealth[],
): Promise<LocatedStatus[]> {
  // A name is looked up as everywhere else: mc's name, the tool's spelling of it, or the layout's name.
  // Status only reads: a name on several machines or servers shows each of them.
  const wanted = o.name === undefined ? undefined : findSessions(runs, o.name, o.host);
  // Only the machines that can hold a session shown: --host's, and of a name, those holding a session it
  // names. Another machine of the same run is not contacted, so it cannot delay the answer (review H53-1);
  // a run with none of them is not asked.
  const machinesOf = (r: LoadedRun): string[] | undefined => {
    if (wanted !== undefined && wanted.length > 0)
      return [...new Set(wanted.filter((w) => w.run === r).map((w) => w.machine))];
    return o.host === undefined ? undefined : [o.host];
  };
  const asked = runs.flatMap((r): { run: LoadedRun; machines: string[] | undefined }[] => {
    const machines = machinesOf(r);
    if (machines === undefined) return [{ run: r, machines }];
    return machines.some((m) => r.manager.managed.some((x) => x.machine === m)) ? [{ run: r, machines }] : [];
  });
  // A few runs at a time (each asks its tool with a subprocess: review H79-2), one look at a machine's
  // processes for all of them (`since`).
  const since = performance.now();
  const reports = await mapLimit(asked, RUNS_AT_ONCE, async ({ run: r, machines }) => {
    const report = await r.manager.checkAllSessionsStatus({
      processes: o.processes ?? true,
      since,
      ...(machines === undefined ? {} : { machines }),
    });
    return { run: r, sessions: report.sessions, machines: report.machines };
  });
  const shown = reports.flatMap(({ run, sessions }) =>
    sessions
      .filter(
        (s) =>
          (o.host === undefined || s.machine === o.host) &&
          (wanted === undefined
            ? o.all || s.exists || Boolean(s.error)
            : wanted.length === 0
              ? s.session === o.name
              : wanted.some((w) => w.run === run && w.name === s.session && w.machine === s.machine)),
      )
      // Two sessions of one name on two tmux servers are told apart by it (review H50-7).
      .map((s) => ({ ...s, ...socketField(run, s.machine) })),
  );
  // Each machine once (several runs on one machine each report it): unreachable if any run found it so.
  const byMachine = new Map<string, MachineHealth>();
  for (const h of reports.flatMap((r) => r.machines)) {
    if (!shown.some((x) => x.machine === h.machine)) continue;
    const had = byMachine.get(h.machine);
    if (!had || (had.reachable && !h.reachable)) byMachine.set(h.machine, h);
  }
  machines?.push(...byMachine.values());
  return shown;
}

/**
 * Whether `name` names a managed session: mc's name, the tool's name of it as the tool shows it (compared
 * as it is: tmux's `a##[x` for `a#[x` is another name again through the key), or a spelling the tool keeps
 * as that name.
 */
function sameSession(run: LoadedRun, s: ManagedSession, name: string): boolean {
  if (s.name === name) return true;
  try {
    const key = run.manager.backendOf(s.machine).sessionKey;
    return key(s.name) === name || key(s.name) === key(name);
  } catch {
    return false;
  }
}

export type Hit = { run: LoadedRun; machine: string; name: string; session: ManagedSession };

/** A status error that is an answer: the session's server is not running (so neither is the session). */
const NO_SERVER = /server is not running|no server running/i;

/** Records whose sessions the tool said are gone (see {@link resolveLive}): never "live" when another is. */
const knownGone = new WeakSet<ManagedSession>();

/** `hits` without those known gone, unless that leaves none (a gone session is still found by name). */
function preferLive<T extends { session: ManagedSession }>(hits: T[]): T[] {
  const live = hits.filter((h) => !knownGone.has(h.session));
  return live.length ? live : hits;
}

/**
 * `find` (a lookup by name), asked again once the tools have said which sessions still exist when it
 * found a name ambiguous: a session killed outside mc (ls: gone) is no longer one of "2 live sessions"
 * once the same layout runs on another server. Costs a status only when a name is ambiguous.
 */
export async function resolveLive<T>(runs: LoadedRun[], find: () => T): Promise<T> {
  try {
    return find();
  } catch (e) {
    if (!isMcError(e, "USAGE") || !/ names \d+ (live|managed) sessions/.test(e.message)) throw e;
    let marked = 0;
    await Promise.all(
      runs.map(async (r) => {
        const report = await r.manager.checkAllSessionsStatus({ processes: false }).catch(() => undefined);
        for (const st of report?.sessions ?? []) {
          // Gone is an answer: no such session, or no server at all (its last session went with it). A
          // machine or server that did not answer says nothing either way.
          if (st.exists || (st.error !== undefined && !NO_SERVER.test(st.error))) continue;
          const s = r.manager.managed.find((x) => x.name === st.session && x.machine === st.machine);
          if (s && !knownGone.has(s)) {
            knownGone.add(s);
            marked++;
          }
        }
      }),
    );
    if (marked === 0) throw e;
    return find();
  }
}

/** Where a session runs: the machine, the backend and the server it was started on (tmux socket, …). */
function placeOf(h: Hit): string {
  const m = h.run.run.machines[h.machine];
  return JSON.stringify([h.machine, h.run.backend, m?.connection ?? null, m?.backendOptions ?? null]);
}

/** How a listing tells two places apart: the machine, and the tmux socket when that differs. */
function describePlace(h: Hit, all: Hit[]): string {
  const where = h.machine === "local" ? "this machine" : h.machine;
  const sockets = new Set(all.map((x) => socketOf(x.run, x.machine)));
  const socket = socketOf(h.run, h.machine);
  const detail = sockets.size > 1 && socket ? `, tmux socket ${socket}` : "";
  // The name the tool shows (`tmux ls`), and the layout's where that is another spelling (review H50-2).
  const name = toolName(h.run.manager, h.machine, h.name);
  const layout = h.session.layout.layoutName;
  const of = layout !== name ? ` of layout ${JSON.stringify(layout)}` : "";
  return `${JSON.stringify(name)}${of} on ${where} (${h.run.backend}${detail}, run ${h.run.run.id})`;
}

/**
 * Every managed session `name` names (mc's name, the tool's spelling of it, else the layout's name), on
 * `host` when given. Of several records of one session name on one server only the newest counts: a later
 * start of that name means the earlier session was gone or replaced by then, so its record is stale.
 */
export function findSessions(
  runs: LoadedRun[],
  name: string,
  host: string | undefined,
  o: { byLayout?: boolean } = {},
): Hit[] {
  const find = (match: (run: LoadedRun, s: ManagedSession) => boolean) =>
    runs.flatMap((run) =>
      run.manager.managed
        .filter((s) => (host === undefined || s.machine === host) && match(run, s))
        .map((s) => ({ run, machine: s.machine, name: s.name, session: s })),
    );
  const named = find((run, s) => sameSession(run, s, name));
  // Else the layout's name, as written in the file (ZellijLocalManager's sessions are LocalJobMgr_<name>).
  const found = named.length || o.byLayout === false ? named : find((_, s) => s.layout.layoutName === name);
  // A replacement whose run died before it took the name is not that session: the one it was to replace
  // still runs under it (review H65-2: `kill a` killed the half-built replacement, said "✓ killed a", and
  // left a running). Found only where its server holds no other record of the name (the next start on
  // that server rolls it back).
  const unnamed = (h: Hit) =>
    h.session.starting?.replacing === true &&
    h.session.starting.by !== undefined &&
    processEnded(h.session.starting.by) === true;
  const hits = found.filter(
    (h) => !unnamed(h) || !found.some((o) => !unnamed(o) && placeOf(o) === placeOf(h) && o.name === h.name),
  );
  const newest = new Map<string, Hit>();
  for (const h of preferLive(hits)) {
    const key = `${placeOf(h)}\0${h.name}`;
    const seen = newest.get(key);
    if (!seen || h.session.startedAt > seen.session.startedAt) newest.set(key, h);
  }
  return [...newest.values()];
}

/**
 * The name the tool keeps for a session (tmux's `g_2_x_y` for mc's `g_2.x:y`, made from the layout
 * "g 2.x:y"): what `tmux ls` shows and `tmux attach -t` takes, and what a lookup by name finds.
 */
export function toolName(
  manager: { backendOf(machine: string): { sessionKey(name: string): string } },
  machine: string,
  name: string,
): string {
  try {
    return manager.backendOf(machine).sessionKey(name);
  } catch {
    return name;
  }
}

const sameHit = (a: Hit, b: Hit) => a.run === b.run && a.machine === b.machine && a.name === b.name;

/**
 * How to name one of several sessions: for each, a spelling that finds it alone (the tool's name, mc's, the
 * layout's), else that name with `--socket` (its tmux server); where neither does, each way they differ
 * (the machine, the tool). Every way offered leaves one session (review H34-11: "name one: g_2" where g_2
 * ran on two servers; review H50-2: "name one: g_2.x:y, g_2_x_y", two spellings tmux keeps as one name,
 * each naming both sessions again).
 */
function pickHint(hits: Hit[], runs: LoadedRun[], host: string | undefined): string {
  const alone = (among: LoadedRun[], n: string, h: Hit) => {
    const found = findSessions(among, n, host);
    return found.length === 1 && sameHit(found[0]!, h);
  };
  const ways = hits.map((h) => {
    const spellings = [
      ...new Set([toolName(h.run.manager, h.machine, h.name), h.name, h.session.layout.layoutName]),
    ];
    const one = spellings.find((n) => alone(runs, n, h));
    if (one !== undefined) return nameWords(one);
    const socket = h.run.backend === "tmux" ? socketOf(h.run, h.machine) : undefined;
    if (socket === undefined) return undefined;
    const on = runs.filter((r) => r.backend === "tmux" && onSocket(r, socket, socket, host));
    const named = spellings.find((n) => alone(on, n, h));
    return named === undefined ? undefined : `--socket ${shQuote(socket)} ${nameWords(named)}`;
  });
  const named = [...new Set(ways.filter((w): w is string => w !== undefined))].sort();
  if (named.length === hits.length) return `name one: ${named.join(", ")}`;
  const machines = new Set(hits.map((h) => h.machine));
  const tools = new Set(hits.map((h) => h.run.backend));
  const others = [
    ...(machines.size > 1 ? ["pick the machine with --host MACHINE"] : []),
    ...(tools.size > 1 ? [`pick the tool with --backend ${[...tools].join(" or --backend ")}`] : []),
    ...(new Set(hits.map((h) => socketOf(h.run, h.machine))).size > 1
      ? ["pick the tmux server with --socket PATH"]
      : []),
  ];
  if (others.length)
    return [...(named.length ? [`name one: ${named.join(", ")}`] : []), ...others].join("; ");
  return "sessions ls lists the runs; sessions ls --prune forgets those whose sessions are gone";
}

/** The one managed session `name` names (see {@link findSessions}); several are a usage error naming each. */
export function findSession(runs: LoadedRun[], name: string, host: string | undefined): Hit {
  const hits = findSessions(runs, name, host);
  if (hits.length === 1) return hits[0]!;
  if (hits.length > 1) {
    throw new McError(
      "USAGE",
      `"${nameText(name)}" names ${hits.length} managed sessions: ${hits.map((h) => describePlace(h, hits)).join("; ")}`,
      { backend: "cli", hint: pickHint(hits, runs, host) },
    );
  }
  const known = runs.flatMap((r) =>
    r.manager.managed.map((s) => (s.machine === "local" ? s.name : `${s.name} (${s.machine})`)),
  );
  throw nameMiss(
    new McError("SESSION_NOT_FOUND", `no managed session "${nameText(name)}"${host ? ` on ${host}` : ""}`, {
      backend: "cli",
      hint: known.length
        ? `managed sessions: ${[...new Set(known)].join(", ")}`
        : "start one with sessions run",
    }),
  );
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
 * Those of `found` whose run directory is gone (deleted by hand): the records, events and logs of their
 * tabs went with it, and nothing will say how their commands ran (review H55-3: logs said "no output
 * recorded", exit 0). A directory that cannot be read is not counted here.
 */
export async function lostRunDirs(found: readonly FoundSession[]): Promise<FoundSession[]> {
  const lost = await Promise.all(
    found.map(async (f) => {
      if (!f.session.runDir) return false;
      const at = await f.run.manager
        .hostOf(f.machine)
        .stat(f.session.runDir)
        .catch(() => "dir" as const);
      return at !== "dir";
    }),
  );
  return found.filter((_, k) => lost[k]);
}

/** The error (exit 9, as for a record that cannot be read) of sessions whose run directory is gone. */
export function lostRunDirError(lost: readonly FoundSession[], op: string): McError {
  const what = lost.map((f) => `"${oneLine(f.session.name)}" (${oneLine(f.session.runDir)})`).join(", ");
  return new McError(
    "STATE_CORRUPT",
    `the run directory of ${what} is missing: the records, events and logs of its tabs went with it`,
    {
      backend: "cli",
      op,
      hint: "sessions status shows what the tool still knows of its tabs; sessions kill ends the session",
    },
  );
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
  // Newest last: of several live records of one server, the newest is the session (older ones are stale).
  const live = preferLive(hits.filter((f) => f.endedAt === undefined)).sort(
    (a, b) => a.session.startedAt - b.session.startedAt,
  );
  // Live on two servers of one machine (two tmux sockets), or two sessions of one server a layout name
  // reaches (g_2 and g_2_1): never a silent pick (review H34-11: the newest of a server was taken).
  const places = new Map(
    live.map((f) => [
      `${placeOf({ run: f.run, machine: f.machine, name: f.session.name, session: f.session })}\0${f.session.name}`,
      f,
    ]),
  );
  if (places.size > 1) {
    const shown = [...places.values()].map((f) => ({
      run: f.run,
      machine: f.machine,
      name: f.session.name,
      session: f.session,
    }));
    throw new McError(
      "USAGE",
      `"${nameText(name)}" names ${shown.length} live sessions: ${shown.map((h) => describePlace(h, shown)).join("; ")}`,
      { backend: "cli", hint: pickHint(shown, runs, host) },
    );
  }
  const machines = new Set(hits.map((h) => h.machine));
  if (machines.size > 1) {
    throw new McError(
      "USAGE",
      `session "${nameText(name)}" ran on several machines: ${[...machines].map((m) => (m === "local" ? "this machine" : m)).join(", ")}`,
      { backend: "cli", hint: "pick one with --host" },
    );
  }
  if (places.size === 1) return [...places.values()][0]!;
  const last = hits.sort((a, b) => (b.endedAt ?? 0) - (a.endedAt ?? 0))[0];
  if (last) return last;
  throw nameMiss(
    new McError(
      "SESSION_NOT_FOUND",
      `no session "${nameText(name)}" in mc's records${host ? ` on ${host}` : ""}`,
      {
        backend: "cli",
        hint: "sessions ls lists live and ended sessions",
      },
    ),
  );
}

/**
 * `SESSION/TAB` (or `SESSION`): a session, then a tab by name or, when no tab has that name, by its
 * position (0-based). Names may hold `/`, so every split is tried: a target that names more than one
 * session or tab is a usage error listing them, never a silent pick.
 */
export function findTarget(
  runs: LoadedRun[],
  target: string,
  host: string | undefined,
): FoundSession & { tab?: number; pane?: number } {
  const found: (FoundSession & { tab?: number; pane?: number })[] = [];
  // Not found: say what is missing where a session matched (its tabs), else that no session matched.
  let noTab: unknown;
  let noSession: unknown;
  const session = (name: string) => {
    try {
      return findAnySession(runs, name, host);
    } catch (e) {
      if (!isMcError(e, "SESSION_NOT_FOUND")) throw e;
      noSession ??= e;
      return undefined;
    }
  };
  const whole = session(target);
  if (whole) found.push(whole);
  for (let cut = target.indexOf("/"); cut > 0; cut = target.indexOf("/", cut + 1)) {
    const s = session(target.slice(0, cut));
    if (!s) continue;
    try {
      found.push({ ...s, tab: tabIndex(s.session, target.slice(cut + 1)) });
    } catch (e) {
      if (!isMcError(e, "SESSION_NOT_FOUND")) throw e;
      // TAB/N: pane N of a tab of several, as status shows it (review H30-5).
      const pane = paneOf(s.session, target.slice(cut + 1));
      if (pane) found.push({ ...s, ...pane });
      else noTab ??= e;
    }
  }
  if (found.length === 1) return found[0]!;
  // SESSION/TAB where no session matched: name the session part(s) looked for, not the whole (review H27-7).
  const tried = [...target.matchAll(/\//g)]
    .filter((m) => m.index > 0)
    .map((m) => JSON.stringify(target.slice(0, m.index)));
  if (found.length === 0 && !noTab && tried.length && isMcError(noSession, "SESSION_NOT_FOUND")) {
    throw nameMiss(
      new McError(
        "SESSION_NOT_FOUND",
        `no session ${tried.join(" or ")} (nor ${JSON.stringify(target)}) in mc's records${host ? ` on ${host}` : ""}`,
        { backend: "cli", hint: noSession.hint ?? "sessions ls lists live and ended sessions" },
      ),
    );
  }
  if (found.length === 0) throw noTab ?? noSession;
  const what = (f: FoundSession & { tab?: number }) =>
    f.tab === undefined
      ? `session "${f.session.name}"`
      : `tab "${f.session.layout.layoutTabs[f.tab]!.tabName}" (${f.tab}) of session "${f.session.name}"`;
  throw new McError(
    "USAGE",
    `"${nameText(target)}" names ${found.length} things: ${found.map(what).join("; ")}`,
    {
      backend: "cli",
      hint: "name a tab by its position instead (SESSION/0 is the first tab)",
    },
  );
}

/** `TAB/N` as status names pane N of a tab with panes, or undefined. */
function paneOf(s: ManagedSession, text: string): { tab: number; pane: number } | undefined {
  const m = /^(.+)\/(\d+)$/.exec(text);
  if (!m) return undefined;
  try {
    const tab = tabIndex(s, m[1]!);
    const panes = s.layout.layoutTabs[tab]!.panes?.length ?? 0;
    const pane = Number(m[2]);
    return panes > 0 && pane <= panes ? { tab, pane } : undefined;
  } catch {
    return undefined;
  }
}

function tabIndex(s: ManagedSession, tab: string): number {
  const tabs = s.layout.layoutTabs;
  const byName = tabs.flatMap((t, i) => (t.tabName === tab ? [i] : []));
  if (byName.length > 1) {
    throw new McError("USAGE", `session "${s.name}" has ${byName.length} tabs named "${nameText(tab)}"`, {
      backend: "cli",
      hint: `name one by its position: ${byName.map((i) => nameWords(`${s.name}/${i}`)).join(", ")}`,
    });
  }
  if (byName.length === 1) return byName[0]!;
  if (/^\d+$/.test(tab) && Number(tab) < tabs.length) return Number(tab);
  throw new McError("SESSION_NOT_FOUND", `session "${s.name}" has no tab "${nameText(tab)}"`, {
    backend: "cli",
    hint: `its tabs: ${tabs.map((t) => t.tabName).join(", ")}`,
  });
}
