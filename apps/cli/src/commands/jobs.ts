import { join } from "node:path";
import {
  DEFAULT_READINESS_TIMEOUT_S,
  EVENTS_FILE,
  eventKey,
  type FollowMemory,
  type FollowOptions,
  followEvents,
  isFailedTab,
  isMcError,
  type LayoutConfig,
  McError,
  type McEvent,
  makeReport,
  parseTabRecord,
  probeReadiness,
  type SessionStatus,
  sessionEvents,
  sessionSlots,
  sleep,
  type TabStatus,
  tabLogName,
  tabRecordName,
} from "@mc/core";
import { oneLine, placeWords, type SessionPlace, sessionsCommand } from "../display.js";
import { EXIT_CODES, EXIT_TABS_FAILED } from "../exit-codes.js";
import type { Output } from "../output.js";
import { type LoadedRun, watchRunRecords } from "../registry.js";
import {
  type FoundSession,
  findAnySession,
  findTarget,
  lostRunDirError,
  lostRunDirs,
  type Runs,
  resolveLive,
  socketField,
  withRuns,
} from "./runs.js";
import { armStopLatch, stopRequested } from "./stop-latch.js";
import { untilStopped } from "./stop-soon.js";

/** The sessions a jobs command is about: those named (live or ended), else every live one. */
async function targets(
  runs: LoadedRun[],
  names: string[],
  host: string | undefined,
): Promise<FoundSession[]> {
  if (names.length) return resolveLive(runs, () => names.map((n) => findAnySession(runs, n, host)));
  return runs.flatMap((run) =>
    run.manager.managed
      .filter((s) => host === undefined || s.machine === host)
      .map((session) => ({ run, machine: session.machine, session })),
  );
}

/**
 * `found` as the records say now, when any record changed since they were read and one of these sessions
 * with it (new tabs, a restart, ended); undefined when none did. Only the sessions followed: one started
 * since in another terminal is not waited for.
 */
async function refollow(
  found: FoundSession[],
  names: string[],
  host: string | undefined,
  reload: () => Promise<Runs | undefined>,
): Promise<FoundSession[] | undefined> {
  const fresh = await reload();
  if (!fresh) return undefined;
  const key = (f: FoundSession) => `${f.machine}\u0000${f.session.name}`;
  const mark = (f: FoundSession) =>
    JSON.stringify([f.session.runDir, f.session.startedAt, f.session.layout, f.endedAt ?? null]);
  const keys = new Set(found.map(key));
  let now: FoundSession[];
  try {
    now = (await targets(fresh.runs, names, host)).filter((f) => keys.has(key(f)));
  } catch {
    // A name that no longer resolves to one session: what was followed stands.
    return undefined;
  }
  const before = new Map(found.map((f) => [key(f), mark(f)]));
  // A session no longer in any record (pruned) is not waited for again.
  return now.some((f) => before.get(key(f)) !== mark(f)) ? now : undefined;
}

/**
 * `follow` the sessions, then again while a merge or restart in another terminal changed their records
 * meanwhile (new tabs, a new run): the last follow's end, and the sessions as the records now say.
 */
async function followSettled<T>(
  found: FoundSession[],
  follow: (found: FoundSession[], first: boolean) => Promise<T | undefined>,
  names: string[],
  host: string | undefined,
  reload: () => Promise<Runs | undefined>,
): Promise<{ end: T | undefined; found: FoundSession[] }> {
  let end = await follow(found, true);
  for (let again = end && (await refollow(found, names, host, reload)); end && again; ) {
    found = again;
    end = await follow(found, false);
    again = end && (await refollow(found, names, host, reload));
  }
  return { end, found };
}

/** What the sessions' files say happened so far, oldest first. */
async function history(
  found: FoundSession[],
  /**
   * A run directory that is there but could not be read (a file in it too large to be mc's, a permission):
   * its events are not in the list, and the caller says so (review H78-2: none were, silently, exit 0).
   */
  onUnreadable?: (f: FoundSession, error: unknown) => void,
): Promise<McEvent[]> {
  const all = await Promise.all(
    found.map(async (f) => {
      const host = f.run.manager.hostOf(f.machine);
      const files = await host.readDir(f.session.runDir).catch((e: unknown) => {
        onUnreadable?.(f, e);
        return new Map<string, string>();
      });
      // A listing leaves out a file it could not read: the events file there, yet not read, is said.
      const events = join(f.session.runDir, EVENTS_FILE);
      if (
        onUnreadable &&
        !files.has(EVENTS_FILE) &&
        (await host.stat(events).catch(() => undefined)) === "file"
      )
        await host.readFile(events).then(
          (text) => {
            if (text !== undefined) files.set(EVENTS_FILE, text);
          },
          (e: unknown) => onUnreadable(f, e),
        );
      return sessionEvents({ session: f.session, files, skewMs: host.clockSkewMs ?? 0 });
    }),
  );
  // Merged by time, each session's own order (started first, gone last) kept: the earliest head first.
  const out: McEvent[] = [];
  const heads = all.map(() => 0);
  for (;;) {
    let pick = -1;
    all.forEach((list, k) => {
      const e = list[heads[k]!];
      if (e && (pick < 0 || e.time < all[pick]![heads[pick]!]!.time)) pick = k;
    });
    if (pick < 0) return out;
    out.push(all[pick]![heads[pick]!++]!);
  }
}

/**
 * Follow the live ones of `found` to the end: each run's event stream, merged; one `run-done` at the end
 * (with every session's last status). Returns the failed count, or undefined when interrupted.
 */
/** Machines that did not answer, as a run's follower says them (core FollowOptions.onUnanswered). */
type Unanswered = Parameters<NonNullable<FollowOptions["onUnanswered"]>>[0];

/** The machines of followed sessions' keys (`machine\0session`). */
const machinesOf = (keys: ReadonlySet<string>): Set<string> =>
  new Set([...keys].map((k) => k.slice(0, k.indexOf("\u0000"))));

async function followAll(
  found: FoundSession[],
  signal: AbortSignal,
  emit: (e: McEvent) => void,
  /** Following again (records changed): what was said so far; nothing since is skipped. */
  again?: { memory: FollowMemory; first: boolean; saidHistory?: boolean },
  /** What the wait is told of machines: those that did not answer, and those being asked (FollowOptions). */
  machines?: {
    onUnanswered?: (list: Unanswered, from: { run: LoadedRun; covers: ReadonlySet<string> }) => void;
    asking?: FollowOptions["asking"];
  },
): Promise<{ failed: number; sessions: SessionStatus[] } | undefined> {
  const tell = machines?.onUnanswered;
  const byRun = new Map<LoadedRun, Set<string>>();
  for (const f of found.filter((x) => x.endedAt === undefined)) {
    const set = byRun.get(f.run) ?? new Set<string>();
    set.add(`${f.machine}\u0000${f.session.name}`);
    byRun.set(f.run, set);
  }
  // Sessions that ended since they were first followed (a kill, a restart, from another terminal): their
  // end is said once, and their tabs' failures counted from their records (review H40-7: the follow
  // after the kill had nothing left to follow and said run-done "failed": 0, and no session-gone).
  let endedFailed = 0;
  for (const f of found.filter((x) => x.endedAt !== undefined)) {
    endedFailed += await endedFailures(f);
    if (!again || again.first) continue;
    for (const e of await history([f])) {
      // Said already for this session: an end said since it started (a session of that name that ended
      // before it, the one a restart replaced, is another: review H46-3).
      const said = [...again.memory.seen].some((k) => {
        const [type, machine, session, , time] = k.split("\u0000");
        return (
          type === "session-gone" &&
          machine === e.machine &&
          session === e.session &&
          Date.parse(time ?? "") >= f.session.startedAt
        );
      });
      if (e.type !== "session-gone" || said) continue;
      again.memory.seen.add(eventKey(e));
      emit(e);
    }
  }
  const ends = await Promise.all(
    [...byRun].map(async ([run, keys]) => {
      const stream = followEvents(run.manager, {
        only: (s) => keys.has(`${s.machine}\u0000${s.name}`),
        signal,
        // What the history printed is in `memory.seen` when it was said (events SESSION --follow): the first
        // read then says what came since, not skips it (review H63-5: a tab's end written between the two
        // reads was never said).
        skipHistory: again === undefined || (again.first && !again.saidHistory),
        ...(again ? { memory: again.memory } : {}),
        ...(machines?.asking ? { asking: machines.asking } : {}),
        // Each run's follower speaks for the machines of its own sessions only (review H53-3).
        ...(tell
          ? { onUnanswered: (list: Unanswered) => tell(list, { run, covers: machinesOf(keys) }) }
          : {}),
      });
      for await (const e of stream) {
        if (e.type === "run-done") return { failed: e.failed ?? 0, sessions: e.report?.sessions ?? [] };
        emit(e);
      }
      return undefined;
    }),
  );
  if (ends.some((e) => e === undefined)) return undefined;
  return {
    failed: ends.reduce((n, e) => n + e!.failed, endedFailed),
    sessions: ends.flatMap((e) => e!.sessions),
  };
}

/** An ended session's failed tabs, from its records (a tab without an end record failed). */
async function endedFailures(f: FoundSession): Promise<number> {
  const files = await f.run.manager
    .hostOf(f.machine)
    .readDir(f.session.runDir)
    .catch(() => new Map<string, string>());
  // Every command of it, a tab's further panes too (each has its own record), as the live count does.
  return sessionSlots(f.session.layout).filter((slot) => {
    const r = parseTabRecord(files.get(tabRecordName(slot.slot)));
    return r?.exit !== 0;
  }).length;
}

function interruptible(): { signal: AbortSignal; done: () => void } {
  const ac = new AbortController();
  const stop = () => ac.abort();
  // `on`, not `once` (see monitor-output.ts interruptible).
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  return {
    signal: ac.signal,
    done: () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    },
  };
}

/**
 * `events --follow` without names: the live sessions, and each that starts while it runs (a `sessions run`
 * in another terminal), until `signal`. Run records are watched (inotify, {@link watchRunRecords}): when
 * one changes, the stream is begun again over the sessions the records now hold, what was said kept (new
 * sessions' events from their start; one followed before that ended since says its end). Between changes
 * the streams keep their own cadence; with nothing live it only waits. No `run-done`: it never ends by
 * itself.
 */
async function followLive(
  found: FoundSession[],
  host: string | undefined,
  signal: AbortSignal,
  reload: () => Promise<Runs | undefined>,
  emit: (e: McEvent) => void,
  /** The keys of the events the history printed. */
  said: Set<string>,
): Promise<void> {
  const memory: FollowMemory = { seen: said, ended: new Set() };
  let changed = new AbortController();
  const stop = await watchRunRecords(() => changed.abort());
  try {
    for (let first = true; !signal.aborted; first = false) {
      const round = AbortSignal.any([signal, changed.signal]);
      // A session whose start is still under way is followed once its record is final (a record read
      // while it started has a start time of its own: review H52-3 saw two session-started); its events
      // so far come with it then.
      const settled = found.filter((f) => f.endedAt !== undefined || f.session.starting === undefined);
      if (settled.length) await followAll(settled, round, emit, { memory, first, saidHistory: true });
      // Every tab followed has finished: wait for the next change of the records (or the end).
      if (!round.aborted)
        await new Promise<void>((r) => round.addEventListener("abort", () => r(), { once: true }));
      if (signal.aborted) return;
      // A run writes its record several times while it starts: read it once it has settled.
      await sleep(100, signal).catch(() => {});
      changed = new AbortController();
      const fresh = await reload();
      if (fresh) found = await liveAndJustEnded(fresh.runs, found, host);
    }
  } finally {
    stop();
  }
}

/** The live sessions of `runs`, and those of `before` that ended since (each found by its run directory). */
async function liveAndJustEnded(
  runs: LoadedRun[],
  before: FoundSession[],
  host: string | undefined,
): Promise<FoundSession[]> {
  const live = await targets(runs, [], host);
  const key = (f: FoundSession) => `${f.machine}\u0000${f.session.name}\u0000${f.session.runDir}`;
  const now = new Set(live.map(key));
  const ended = before
    .filter((f) => f.endedAt === undefined && !now.has(key(f)))
    .flatMap((f) =>
      runs.flatMap((run) =>
        run.manager.ended
          .filter(
            (s) => s.machine === f.machine && s.name === f.session.name && s.runDir === f.session.runDir,
          )
          .map((session) => ({ run, machine: session.machine, session, endedAt: session.endedAt })),
      ),
    );
  return [...live, ...ended];
}

/** The `--host`/`--socket` words that name where a run's session is, for a command said. */
function whereOf(run: LoadedRun, machine: string): Omit<SessionPlace, "name"> {
  return { machine, ...socketField(run, machine) };
}

/**
 * `sessions events [SESSION…] [--follow]`: NDJSON, one event per line (type, time, session, tab, …), what
 * happened so far; with --follow, then each event as it happens until every tab finished (`run-done`), or,
 * without names, of every session live or started later until Ctrl-C ({@link followLive}).
 */
export async function eventsCommand(
  names: string[],
  o: { follow?: boolean; host?: string; socket?: string; backend?: string },
  out: Output,
): Promise<number> {
  return withRuns(
    out,
    async (runs, corrupt, reload) => {
      const found = await targets(runs, names, o.host);
      // Every run's events, but for a record that could not be read: said, not left out silently (H55-2).
      if (names.length === 0)
        for (const c of corrupt)
          out.err(
            out.c.yellow(
              `warning: skipped unreadable run record ${oneLine(c.path)} (${oneLine(c.error)}): its sessions' events are not shown`,
            ),
          );
      // A run directory gone: its tabs' events went with it. Named, the answer is about it (exit 9);
      // among every session, said and the others answered.
      const lost = await lostRunDirs(found);
      if (lost.length && names.length) throw lostRunDirError(lost, "events");
      if (lost.length) out.err(out.c.yellow(`warning: ${lostRunDirError(lost, "events").reason}`));
      // Said once: their keys go to the followers, which say only what came after.
      const said = new Set<string>();
      const unreadableDirs: McError[] = [];
      const lostDirs = new Set(lost);
      const events = await history(found, (f, e) => {
        if (lostDirs.has(f)) return;
        const why = isMcError(e) ? e.reason : e instanceof Error ? e.message : String(e);
        unreadableDirs.push(
          new McError(
            "STATE_CORRUPT",
            `the events of "${oneLine(f.session.name)}" could not be read: ${oneLine(why)}`,
            { backend: "cli", op: "events", hint: "its other tabs' state: sessions status" },
          ),
        );
      });
      // Named, the answer is about it: what could be read is printed, then the error (exit 9).
      for (const e of events) {
        said.add(eventKey(e));
        out.jsonLine(e);
      }
      if (unreadableDirs.length && names.length) throw unreadableDirs[0]!;
      for (const u of unreadableDirs) out.err(out.c.yellow(`warning: ${u.reason}`));
      if (o.follow && names.length === 0) {
        // A dashboard: it never ends by itself, so it is never a silent exit 0 (review H50-10).
        if (found.length === 0) out.err("no live sessions yet; waiting for new ones (Ctrl-C to stop)");
        const { signal, done } = interruptible();
        try {
          await untilStopped(
            followLive(found, o.host, signal, reload, (e) => out.jsonLine(e), said),
            signal,
          );
          return EXIT_CODES.ABORTED;
        } finally {
          done();
        }
      }
      if (!o.follow || found.every((f) => f.endedAt !== undefined)) return 0;
      const { signal, done } = interruptible();
      try {
        const memory: FollowMemory = { seen: said, ended: new Set() };
        const settled = await untilStopped(
          followSettled(
            found,
            (f, first) => followAll(f, signal, (e) => out.jsonLine(e), { memory, first, saidHistory: true }),
            names,
            o.host,
            reload,
          ),
          signal,
        );
        const end = settled?.end;
        if (!end) return EXIT_CODES.ABORTED;
        out.jsonLine({
          type: "run-done",
          time: new Date().toISOString(),
          failed: end.failed,
          report: makeReport(end.sessions),
        });
        return 0;
      } finally {
        done();
      }
    },
    o,
  );
}

/**
 * `sessions wait [SESSION…] [--timeout S]`: until every tab of those sessions (default: every live one)
 * finished. Exit 0 when all succeeded, 10 when any failed, 7 on timeout.
 */
export async function waitCommand(
  names: string[],
  o: { timeout?: number; host?: string; socket?: string; backend?: string },
  out: Output,
): Promise<number> {
  return withRuns(
    out,
    async (runs, corrupt, reload) => {
      // A record that could not be read may hold a tab that failed: "every tab finished successfully"
      // (exit 0) cannot be said then. Named, and the command ends 9 where it would have ended 0.
      // With names, the sessions named were found or not: another run's record does not change that.
      // A record not trusted (a link, another user's file) was not read either (review H65-5).
      const unreadable = names.length ? [] : corrupt;
      // A name found in no readable record ends 9 naming the unreadable ones (withRuns): looked up first,
      // so the files are said once.
      let found = await targets(runs, names, o.host);
      if (names.length && !out.json)
        for (const c of corrupt)
          out.err(
            out.c.yellow(`warning: skipped unreadable run record ${oneLine(c.path)}: ${oneLine(c.error)}`),
          );
      if (!out.json)
        for (const c of unreadable)
          out.err(
            `${out.c.red("✗")} could not read ${oneLine(c.path)} (${oneLine(c.error)}): the sessions it records, if any, are not waited for`,
          );
      if (found.length === 0) {
        if (out.json)
          out.printJson({
            ok: unreadable.length === 0,
            failed: 0,
            ...(unreadable.length ? { unreadable } : {}),
          });
        else
          out.err(
            `nothing to wait for: no ${unreadable.length ? "readable " : ""}managed sessions are running`,
          );
        return unreadable.length ? EXIT_CODES.STATE_CORRUPT : 0;
      }
      const { signal, done } = interruptible();
      const timer =
        o.timeout === undefined ? undefined : AbortSignal.timeout(Math.ceil(Math.max(0, o.timeout * 1000)));
      // A machine whose tool is not installed will not answer by waiting: the wait ends at once (exit 6).
      const noTool = new AbortController();
      let missing: { machine: string; error?: string } | undefined;
      const both = AbortSignal.any([signal, noTool.signal, ...(timer ? [timer] : [])]);
      // Machines asked and not answered yet: a timeout shorter than the tool's own bound (15 s for tmux)
      // comes while the question is still out (review H48-2: a hung server then read as exit 7). Each
      // machine that answered once is kept too.
      const answered = new Set<string>();
      const asking = new (class extends Map<string, number> {
        override delete(machine: string): boolean {
          answered.add(machine);
          return super.delete(machine);
        }
      })();
      // The timeout bounds the wait even while a tool does not answer (its status call has a timeout of
      // its own, 15 s for tmux): what is still asked is left, and the exit does not wait for it. But it is
      // decided once every machine answered once, or up to a second past it: `--timeout 0` on tabs that
      // had all finished read 7 or 8 ("did not answer, asked 0.0 s earlier") by which came first (H59-4).
      const machinesFollowed = new Set(found.map((f) => f.machine));
      const timedOut = timer
        ? new Promise<undefined>((r) =>
            timer.addEventListener(
              "abort",
              () => {
                const until = performance.now() + FIRST_ANSWER_GRACE_MS;
                const check = () => {
                  if (performance.now() >= until || [...machinesFollowed].every((m) => answered.has(m)))
                    r(undefined);
                  else setTimeout(check, 20);
                };
                check();
              },
              { once: true },
            ),
          )
        : undefined;
      // A machine that stops answering is said (once, and when it answers again), and waited on; a
      // timeout while one does not answer is exit 8, as for status (review H38-3: silent, then 7).
      const silent = new Map<string, string>();
      // Which runs' followers find each machine silent: one run's follower speaks only for the machines of
      // its own sessions, so a machine answers again only when none of the runs that have it finds it
      // silent (review H53-3: a run without h4 read as h4 answering again).
      const silentIn = new Map<string, Set<LoadedRun>>();
      const onUnanswered = (machines: Unanswered, from: { run: LoadedRun; covers: ReadonlySet<string> }) => {
        const gone = machines.find((m) => m.code && EXIT_CODES[m.code] === EXIT_CODES.BINARY_NOT_FOUND);
        if (gone) {
          missing = gone;
          noTool.abort();
          return;
        }
        for (const m of machines) {
          silentIn.set(m.machine, (silentIn.get(m.machine) ?? new Set<LoadedRun>()).add(from.run));
          if (!silent.has(m.machine)) {
            silent.set(m.machine, m.error ?? "no answer");
            if (!out.json)
              out.err(
                out.c.yellow(
                  `! ${m.machine} did not answer (${oneLine(m.error ?? "no answer")}); still waiting for its sessions`,
                ),
              );
          }
        }
        for (const name of from.covers) {
          const runs = silentIn.get(name);
          if (!runs || machines.some((m) => m.machine === name)) continue;
          runs.delete(from.run);
          if (runs.size > 0) continue;
          silentIn.delete(name);
          if (silent.delete(name) && !out.json) out.err(`${name} answers again`);
        }
      };
      const follow = (f: FoundSession[]) => {
        const followed = followAll(f, both, () => {}, undefined, { onUnanswered, asking });
        return timedOut ? Promise.race([followed, timedOut]) : followed;
      };
      try {
        // Done by the records read at the start: a merge or restart in another terminal meanwhile gave
        // these sessions new tabs (or a new run): followed again, as the records now say, until none changed.
        // A stop while a machine that does not answer is asked ends the wait at once (review H62-3: 12 s).
        const settled = await untilStopped(followSettled(found, follow, names, o.host, reload), signal);
        if (settled === undefined) return EXIT_CODES.ABORTED;
        const end = settled.end;
        found = settled.found;
        if (!end && missing) {
          throw new McError(
            "BINARY_NOT_FOUND",
            `cannot wait for the sessions on ${missing.machine}: ${missing.error ?? "its tool is not installed"}`,
            { backend: "cli", op: "wait" },
          );
        }
        if (!end) {
          // Asked more than a second (or half the timeout) before it and still silent: as good as "did not
          // answer" (a tool's answer takes milliseconds; ssh's first connection may take a second; review
          // H52-8: --timeout 0.5 said 7).
          const now = performance.now();
          const patience = Math.min(1000, ((o.timeout ?? 0) * 1000) / 2);
          for (const [m, at] of asking)
            if (timer?.aborted && now - at >= patience && !silent.has(m))
              silent.set(m, `asked ${((now - at) / 1000).toFixed(1)} s earlier; no answer yet`);
          // The question still out holds this process until the tool's own bound (15 s for tmux): the
          // answer is said now, and the process ends once it is written (review H52-8: it ended at 15 s).
          if (timer?.aborted && asking.size) setTimeout(() => process.exit(), 200).unref();
          if (timer?.aborted && silent.size) {
            throw new McError(
              "SSH_UNREACHABLE",
              `not every tab finished within ${o.timeout} s: ${[...silent].map(([m, e]) => `${m} did not answer (${e})`).join("; ")}`,
              { backend: "cli", op: "wait", hint: "sessions status shows what each machine answers" },
            );
          }
          if (timer?.aborted) {
            throw new McError("TIMEOUT", `not every tab finished within ${o.timeout} s`, {
              backend: "cli",
              op: "wait",
              hint: "sessions status shows which tabs are still running",
            });
          }
          return EXIT_CODES.ABORTED;
        }
        const failed = end.failed;
        const report = makeReport(end.sessions);
        const ok = failed === 0 && unreadable.length === 0;
        if (out.json) out.printJson({ ok, failed, report, ...(unreadable.length ? { unreadable } : {}) });
        else
          out.err(
            failed > 0
              ? out.c.red(
                  `${failed} tab(s) failed (${found.some((f) => f.endedAt !== undefined) ? "sessions events SESSION shows which: a session mc killed has no status" : "sessions status shows which"})`,
                )
              : unreadable.length
                ? out.c.yellow(
                    "every readable tab finished successfully; what the unreadable records above hold was not waited for",
                  )
                : out.c.green("every tab finished successfully"),
          );
        return failed > 0 ? EXIT_TABS_FAILED : unreadable.length ? EXIT_CODES.STATE_CORRUPT : 0;
      } finally {
        done();
      }
    },
    o,
  );
}

/** How long past its timeout `wait` still waits for a machine's first answer (a tool answers in milliseconds). */
const FIRST_ANSWER_GRACE_MS = 1000;

/**
 * The tabs `rerun --failed` runs again, decided before any starts: failed tabs of one command, and a tab
 * skipped for a failed dependency only once every tab it depends on is ready as the run has it (finished
 * successfully, or running and, where it has a readiness condition, passing its probe now: a service
 * never finishes, review H67-10); rerun at once, it would run before the dependency it waits for. The
 * rest are said, not rerun.
 */
async function failedToRerun(
  session: SessionPlace,
  layout: LayoutConfig,
  tabs: readonly TabStatus[],
  /** Whether `--on-conflict merge-skip` can open tabs in the running session (tmux only). */
  merges: boolean,
  /** Whether running tab `index`'s readiness condition holds now. */
  readyNow: (index: number) => Promise<boolean>,
): Promise<{ tabs: number[]; notes: string[] }> {
  const own = tabs.filter((t) => !t.pane);
  const byName = new Map(own.map((t) => [t.tabName, t]));
  const out: number[] = [];
  const notes: string[] = [];
  // A tab of several panes failed when any of its commands did.
  const failed = new Set(tabs.filter(isFailedTab).map((t) => t.index));
  // The running dependencies of skipped tabs, probed all at once before they are looked at one by one.
  for (const t of own.filter((x) => x.state === "skipped"))
    for (const d of layout.layoutTabs[t.index]?.dependsOn ?? []) {
      const dep = byName.get(d);
      if (dep?.state === "running") void readyNow(dep.index);
    }
  for (const t of own) {
    if (!failed.has(t.index)) continue;
    if (t.state === "abandoned") {
      // Never started: starting every such tab at once would ignore --max-parallel-tabs.
      notes.push(
        `${t.tabName} was never started (the sessions run that was to start it ended): ${sessionsCommand("rerun", [{ ...session, name: `${session.name}/${t.tabName}` }])} starts it${merges ? ", or run the file again with --on-conflict merge-skip" : ""}`,
      );
      continue;
    }
    const config = layout.layoutTabs[t.index];
    if (config?.panes?.length) {
      notes.push(`${t.tabName} has several panes (restart the session, or merge-overwrite the tab)`);
      continue;
    }
    const waiting: string[] = [];
    if (t.state === "skipped")
      for (const d of config?.dependsOn ?? []) {
        const dep = byName.get(d);
        const done = dep?.state === "exited" && dep.exitCode === 0;
        if (!done && !(dep?.state === "running" && (await readyNow(dep.index)))) waiting.push(d);
      }
    if (waiting.length) {
      notes.push(
        `${t.tabName} depends on ${waiting.join(", ")}, which is neither finished successfully nor running and ready: rerun --failed again once it is`,
      );
      continue;
    }
    out.push(t.index);
  }
  return { tabs: out, notes };
}

/**
 * The status of a session `rerun` acts on; an error (exit 8 by its message) when its machine or tool did
 * not answer, since its tabs are then unknown, not finished or gone.
 */
async function reachedStatus(
  found: { run: LoadedRun; session: { name: string }; machine: string },
  more = "",
): Promise<SessionStatus | undefined> {
  // Only its machine: another machine of the run, unreachable, would delay the rerun (review H53-1).
  const report = await found.run.manager.checkAllSessionsStatus({
    processes: false,
    machines: [found.machine],
  });
  const health = report.machines.find((h) => h.machine === found.machine);
  if (health && !health.reachable)
    throw new McError(
      health.code === "BINARY_NOT_FOUND" ? "BINARY_NOT_FOUND" : "COMMAND_FAILED",
      `session "${found.session.name}" was not reached: ${health.error ?? "no answer"}${more}`,
      { backend: "cli", op: "rerun" },
    );
  return report.sessions.find((x) => x.session === found.session.name && x.machine === found.machine);
}

/**
 * `sessions rerun SESSION/TAB` and `sessions rerun SESSION --failed`: run finished tabs' commands again,
 * each in a new tab of the same name; earlier attempts' records are kept and the attempt number goes on.
 */
export async function rerunCommand(
  target: string,
  o: {
    failed?: boolean;
    host?: string;
    socket?: string;
    backend?: string;
    maxParallelTabs?: number;
    pollSeconds?: number;
  },
  out: Output,
): Promise<number> {
  if (o.maxParallelTabs !== undefined && !o.failed)
    throw new McError(
      "USAGE",
      "--max-parallel-tabs goes with --failed (a SESSION/TAB rerun starts one tab)",
      {
        backend: "cli",
        op: "rerun",
      },
    );
  return withRuns(
    out,
    async (runs) => {
      const found = await resolveLive(runs, () => findTarget(runs, target, o.host));
      const { manager } = found.run;
      // One pane of a tab (TAB/N, as status names it): rerun runs one command, and that tab has several.
      if (found.pane !== undefined) {
        const name = found.session.layout.layoutTabs[found.tab ?? 0]!.tabName;
        throw new McError("USAGE", `tab "${name}" has several panes: rerun runs one command`, {
          backend: "cli",
          op: "rerun",
          // The file is the user's (a run record does not keep its path); the server is said (review H57-3).
          hint: `start it again from its layouts file: ${["sessions run FILE", placeWords(whereOf(found.run, found.machine)), "--on-conflict restart"].filter(Boolean).join(" ")} (merge-overwrite restarts only the tabs that changed)`,
        });
      }
      if (found.endedAt !== undefined) {
        throw new McError("SESSION_NOT_FOUND", `session "${found.session.name}" has ended`, {
          backend: "cli",
          op: "rerun",
          hint: "start it again with sessions run",
        });
      }
      let tabs: number[];
      let notes: string[] = [];
      if (found.tab !== undefined) tabs = [found.tab];
      else if (o.failed) {
        // Its tabs are not known when its machine or tool did not answer: not "no failed tabs" (exit 0).
        const st = await reachedStatus(found);
        // zellij opens a waiting tab of its own start later, but refuses a merge into a running session,
        // and Windows Terminal has neither (review H51-7: the note pointed zellij users at merge-skip).
        const merges = found.run.backend === "tmux";
        const { session } = found;
        const host = manager.hostOf(found.machine);
        // As the run's scheduler probes it (a tab without a condition is ready once it runs): each once,
        // all at once, within its own timeoutSeconds (review H75-2: once per dependant, one after another,
        // ~12 s each, its side effects repeated).
        const probes = new Map<number, Promise<boolean>>();
        const readyNow = (i: number) => {
          const tab = session.layout.layoutTabs[i];
          if (!tab?.readiness) return Promise.resolve(true);
          let p = probes.get(i);
          if (!p) {
            const logPath = join(session.runDir, tabLogName(i));
            const limitSeconds = tab.readiness.timeoutSeconds ?? DEFAULT_READINESS_TIMEOUT_S;
            const at = { startDir: tab.startDir, logPath, shell: tab.shell, limitSeconds };
            // Ready: recorded as the run's scheduler records it, so `events` has its tab-ready before the
            // dependants' starts (review H76-3).
            p = probeReadiness(host, tab.readiness, at)
              .catch(() => false)
              .then(async (ok) => {
                if (ok) await manager.noteTabReady(session.name, i, found.machine).catch(() => {});
                return ok;
              });
            probes.set(i, p);
          }
          return p;
        };
        ({ tabs, notes } = await failedToRerun(
          { name: session.name, ...whereOf(found.run, found.machine) },
          session.layout,
          st?.tabs ?? [],
          merges,
          readyNow,
        ));
      } else {
        throw new McError("USAGE", "name a tab (SESSION/TAB) or pass --failed", {
          backend: "cli",
          op: "rerun",
        });
      }
      for (const n of notes) if (!out.json) out.err(out.c.yellow(`not rerun: ${n}`));
      const done: { tab: string; index: number; attempt: number }[] = [];
      const name = (i: number) => found.session.layout.layoutTabs[i]!.tabName;
      const limit = o.maxParallelTabs;
      if (limit === undefined && tabs.length > 1 && !out.json)
        out.err(
          out.c.dim(`starting ${tabs.length} tabs at once (--max-parallel-tabs N starts them N at a time)`),
        );
      // With a limit, rerun stays until the last tab started, each when fewer than N of the session's
      // tabs run (review H44-4: every failed tab started at once, whatever the run had allowed).
      const stop = armStopLatch();
      let interrupted: NodeJS.Signals | undefined;
      try {
        const queue = [...tabs];
        while (queue.length) {
          interrupted = stopRequested();
          if (interrupted) break;
          let free = Number.POSITIVE_INFINITY;
          if (limit !== undefined) {
            // Not seen because its machine or tool did not answer is not ended (exit 8, as status says).
            const st = await reachedStatus(found, `; not rerun: ${queue.map(name).join(", ")}`);
            if (st && !st.exists)
              throw new McError(
                "SESSION_NOT_FOUND",
                `session "${found.session.name}" ended before ${queue.map(name).join(", ")} could be rerun`,
                { backend: "cli", op: "rerun" },
              );
            const live = new Set(
              (st?.tabs ?? [])
                .filter((t) => t.state === "running" || t.state === "pending")
                .map((t) => t.index),
            );
            free = limit - live.size;
          }
          for (; free > 0 && queue.length && !stopRequested(); free--) {
            const i = queue.shift()!;
            let attempt: number;
            try {
              attempt = await manager.rerunTab(found.session.name, i, found.machine);
            } catch (e) {
              // Rerun meanwhile by another command (two `rerun --failed` at once): its tab, not a failure
              // of this one (review H46-6: exit 2, "has not finished (running)").
              if (!o.failed || !isMcError(e, "USAGE") || !/has not finished/.test(e.reason)) throw e;
              // It runs now, in the slot this rerun would have used (review HR47 S4: given back, more
              // than N ran).
              notes.push(`${name(i)} runs again already (another command reran it)`);
              if (!out.json) out.err(out.c.yellow(`not rerun: ${notes.at(-1)}`));
              continue;
            }
            done.push({ tab: name(i), index: i, attempt });
            if (!out.json)
              out.err(`${out.c.green("✓")} ${found.session.name}/${name(i)}: attempt ${attempt} started`);
          }
          if (queue.length) await sleep((o.pollSeconds ?? 1) * 1000);
        }
        interrupted ??= queue.length ? stopRequested() : undefined;
        if (interrupted && queue.length && !out.json)
          out.err(out.c.yellow(`not rerun (interrupted): ${queue.map(name).join(", ")}`));
        if (out.json)
          out.printJson({
            session: found.session.name,
            rerun: done,
            ...(notes.length ? { notRerun: notes } : {}),
            ...(interrupted && queue.length ? { interrupted: true, notStarted: queue.map(name) } : {}),
          });
        else if (done.length === 0 && !interrupted)
          out.err(
            notes.length
              ? `no tab was rerun (why is said above): ${notes.length} failed tab(s) remain`
              : "no failed tabs to rerun",
          );
        if (interrupted && queue.length) return EXIT_CODES.ABORTED;
        // Failed tabs remain and none was started: not a success a script could go on from (review H51-7).
        return done.length === 0 && notes.length ? EXIT_TABS_FAILED : 0;
      } finally {
        stop();
      }
    },
    o,
  );
}
