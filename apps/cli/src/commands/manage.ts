import {
  clearStaleStateFiles,
  type ErrorCode,
  isMcError,
  listedKeys,
  localHost,
  type MachineHealth,
  type ManagedSession,
  McError,
  makeReport,
  mapLimit,
  processEnded,
  type SessionStatus,
  type StatusReport,
  sleep,
  sweepTabs,
} from "@mc/core";
import { nameText, oneLine, sessionsCommand } from "../display.js";
import { EXIT_CODES, exitCodeOf, unanswered } from "../exit-codes.js";
import { type Output, socketColumn, socketNote, statusTable, table } from "../output.js";
import type { LoadedRun } from "../registry.js";
import { addLogTails, logTailLines } from "./logs.js";
import {
  findAnySession,
  findSession,
  findSessions,
  gather,
  type LocatedStatus,
  mayHoldOurs,
  nameMiss,
  RUNS_AT_ONCE,
  resolveLive,
  socketField,
  withRuns,
} from "./runs.js";
import { untilStopped } from "./stop-soon.js";

/** `sessions status [SESSION]`. */
export async function statusCommand(
  name: string | undefined,
  o: {
    watch?: boolean;
    all?: boolean;
    interval: number;
    host?: string;
    socket?: string;
    backend?: string;
    tail?: number;
  },
  out: Output,
): Promise<number> {
  return withRuns(
    out,
    async (first, corrupt, reload) => {
      // Each unreadable record said once, also one that turns up during a watch (review H28-6).
      const said = new Set<string>();
      const warn = (list: typeof corrupt) => {
        for (const c of list.filter((x) => !said.has(x.path))) {
          said.add(c.path);
          out.err(out.c.yellow(`skipped unreadable run record ${oneLine(c.path)}: ${oneLine(c.error)}`));
        }
      };
      warn(corrupt);
      // Without a name the report stands for every run mc manages: one whose record could not be read is
      // missing from it, which --json says (`unreadable`) and the exit code too (9), as kill --all, wait
      // and ls do (review H55-2). A record not trusted (a link, another user's file) was not read either:
      // it may be this user's own record replaced (review H65-5: exit 0, "no managed sessions"). A name's
      // sessions were found or not: another run's record does not change that.
      const unreadableOf = (list: typeof corrupt) => (name === undefined ? list : []);
      let unreadable = unreadableOf(corrupt);
      const withUnreadable = (report: ReturnType<typeof makeReport>) =>
        unreadable.length ? { ...report, unreadable } : report;
      let runs = first;
      const once = async () => {
        // The table shows states, exit codes and pids, not process trees: only --json has them (reading
        // them is three /proc files a process, most of a 500-pane status).
        const machines: MachineHealth[] = [];
        const sessions = await gather(
          runs,
          { name, host: o.host, all: Boolean(o.all), processes: out.json },
          machines,
        );
        if (name !== undefined && sessions.length === 0) throw notManaged(runs, name, o.host);
        if (o.tail) await addLogTails(runs, sessions, o.tail);
        return makeReport(sessions, machines);
      };
      if (!o.watch) {
        const report = await once();
        if (out.json) out.printJson(withUnreadable(report));
        else if (report.sessions.length === 0)
          out.err(
            unreadable.length
              ? `no readable run record holds a running session; ${skippedCount(unreadable)}`
              : "no managed sessions are running (sessions ls shows saved runs)",
          );
        else for (const l of [...statusTable(report, out), ...logTailLines(report.sessions, out)]) out.out(l);
        // A machine (or a tmux server) that did not answer was not checked: said by the exit code too (8);
        // so is one whose tool is not installed (6, as run says it: review H50-12 read 0). A server that is
        // not running is an answer, on any machine: its sessions are gone.
        const toolMissing = (s: SessionStatus) =>
          report.machines.some(
            (h) =>
              h.machine === s.machine &&
              !h.reachable &&
              h.code !== undefined &&
              EXIT_CODES[h.code] === EXIT_CODES.BINARY_NOT_FOUND,
          );
        const unchecked = report.sessions.filter((s) => s.error !== undefined);
        if (
          unchecked.some(
            (s) =>
              !toolMissing(s) &&
              (unanswered(s.error) || (s.host !== "local" && s.tabs.every((t) => t.state === "unknown"))),
          )
        )
          return EXIT_CODES.SSH_UNREACHABLE;
        if (unchecked.some(toolMissing)) return EXIT_CODES.BINARY_NOT_FOUND;
        // A session whose run directory was deleted is part of mc's state lost, as an unreadable record
        // is: said by the exit code (9), as logs and events of it do (review H58-6 read 0).
        const lost = (report.sessions as LocatedStatus[]).filter((s) => s.runDirMissing);
        if (lost.length && !out.json)
          out.err(
            out.c.red(
              `✗ the run directory of ${lost.map((s) => `"${s.session}"`).join(", ")} is missing: the records, events and logs of its tabs went with it (${sessionsCommand(
                "kill",
                lost.map((s) => ({ name: s.session, machine: s.machine, socket: s.socket })),
              )} ends it)`,
            ),
          );
        return unreadable.length || lost.length ? EXIT_CODES.STATE_CORRUPT : 0;
      }
      const ac = new AbortController();
      // `on`, not `once` (see monitor-output.ts interruptible): the watch died of its Ctrl-C when it came
      // while a status call ran (the H26-8 test's rare null exit code).
      const onInt = () => ac.abort();
      // SIGTERM (a supervisor, `timeout`) ends the watch as Ctrl-C does: its last --json line is said
      // (review H55-4: it died with 143 and no watch-stopped line).
      process.on("SIGINT", onInt);
      process.on("SIGTERM", onInt);
      const live = out.tty && !out.json ? out.live() : undefined;
      try {
        while (!ac.signal.aborted) {
          // A merge or restart in another terminal rewrites the records: the table follows them (new tabs,
          // new commands), not what the records said when the watch began.
          const fresh = await reload();
          if (fresh) {
            runs = fresh.runs;
            warn(fresh.corrupt);
            unreadable = unreadableOf(fresh.corrupt);
          }
          // A stop while a machine that stopped answering is asked ends the watch at once.
          const report = await untilStopped(once(), ac.signal);
          if (report === undefined) break;
          if (out.json) out.jsonLine(withUnreadable(report));
          else if (live) live.render([...statusTable(report, out), out.c.dim("watching; Ctrl-C to stop")]);
          else for (const l of [...statusTable(report, out), ""]) out.out(l);
          await sleep(o.interval * 1000, ac.signal);
        }
      } finally {
        process.off("SIGINT", onInt);
        process.off("SIGTERM", onInt);
      }
      if (out.json) out.jsonLine({ type: "watch-stopped", time: new Date().toISOString() });
      return 0;
    },
    o,
    // A watch asks again and again: a machine that comes back must be seen.
    { oneShot: !o.watch },
  );
}

/** `status NAME` found nothing managed: a session that ended (killed, replaced) says so, and when. */
function notManaged(runs: LoadedRun[], name: string, host: string | undefined): McError {
  const where = host ? ` on ${host}` : "";
  let ended: ReturnType<typeof findAnySession> | undefined;
  try {
    ended = findAnySession(runs, name, host);
  } catch {
    ended = undefined;
  }
  if (ended?.endedAt === undefined)
    return nameMiss(
      new McError("SESSION_NOT_FOUND", `no managed session "${nameText(name)}"${where}`, {
        backend: "cli",
        op: "status",
        hint: "sessions ls lists what mc manages",
      }),
    );
  const by = (ended.session as { endedBy?: string }).endedBy;
  const how =
    by === "replaced"
      ? "replaced by a restart"
      : by === "gone"
        ? "found gone by a kill (it ended outside mc)"
        : by === "rolled-back"
          ? "rolled back by a later start (the run starting it had ended before it finished)"
          : "killed";
  const when = new Date(ended.endedAt).toISOString().replace("T", " ").slice(0, 19);
  return new McError(
    "SESSION_NOT_FOUND",
    `session "${nameText(name)}"${where} is no longer managed: it was ${how} at ${when}`,
    {
      backend: "cli",
      op: "status",
      hint: `${sessionsCommand("logs", [{ name, machine: host }])} shows what its tabs printed; sessions ls lists live and ended sessions`,
    },
  );
}

/** `sessions kill SESSION… | --all`: only sessions mc started. */
export async function killCommand(
  names: string[],
  o: { all?: boolean; host?: string; socket?: string; backend?: string },
  out: Output,
): Promise<number> {
  if (!o.all && names.length === 0)
    throw new McError("USAGE", "name the sessions to kill, or pass --all", { backend: "cli", op: "kill" });
  // Names with --all would be ignored (every session dies): refused, nothing killed.
  if (o.all && names.length > 0)
    throw new McError("USAGE", "give session names or --all, not both", {
      backend: "cli",
      op: "kill",
      hint: `${sessionsCommand(
        "kill",
        names.map((name) => ({ name, machine: o.host, socket: o.socket })),
      )} kills only those`,
    });
  return withRuns(
    out,
    async (runs, corrupt) => {
      const targets = o.all
        ? runs.flatMap((run) =>
            run.manager.managed
              .filter((s) => o.host === undefined || s.machine === o.host)
              .map((s) => ({ run, name: s.name, machine: s.machine })),
          )
        : // Two names of one session (its layout's name and the name a rename gave it) kill it once.
          (
            await resolveLive(runs, () =>
              names.map((n) => findOrNothingKilled(runs, n, o.host, names.length)),
            )
          ).filter(
            (t, i, all) =>
              all.findIndex((u) => u.run === t.run && u.machine === t.machine && u.name === t.name) === i,
          );
      if (!o.all) for (const n of names) await refuseLayoutNameOfForeign(runs, n, o.host);
      const results: {
        session: string;
        host?: string;
        ok: boolean;
        outcome?: string;
        ended?: number[];
        survivors?: { pid: number; command: string }[];
        spared?: { pid: number; command: string }[];
        liveAs?: { session: string; how: string };
        error?: string;
        code?: ErrorCode;
      }[] = [];
      // Run from inside a tab of a session it kills, mc would die with that tab's hang-up half-way:
      // that session goes last, and the hang-up is ignored until the sweep is done.
      const inside = (t: (typeof targets)[number]) => {
        const mark = process.env.MC_TAB;
        if (!mark) return false;
        try {
          return mark.startsWith(`${t.run.manager.session(t.name, t.machine).runDir}#`);
        } catch {
          return false;
        }
      };
      targets.sort((a, b) => Number(inside(a)) - Number(inside(b)));
      const ignoreHup = () => {};
      process.on("SIGHUP", ignoreHup);
      // Ctrl-C: the session being killed is finished (its sweep ends what its tabs left running), the
      // rest are not begun, and both are said. A second Ctrl-C stops at once, saying what may still run
      // (review H37-5: it used to exit 130 silently mid-sweep, the session reading "gone").
      let current: string | undefined;
      let interrupted = false;
      const later = (from: number) => targets.slice(from);
      const notKilledLine = (rest: typeof targets) =>
        `${out.c.red("✗")} not killed (interrupted): ${rest.map((t) => t.name).join(", ")}; they stay in mc's records: ${sessionsCommand(
          "kill",
          rest.map((t) => ({ name: t.name, machine: t.machine, ...socketField(t.run, t.machine) })),
        )}`;
      let index = 0;
      const onInt = (signal: NodeJS.Signals) => {
        if (!interrupted) {
          interrupted = true;
          // Said as it came: a TERM is a supervisor's or `timeout`'s, not a Ctrl-C (review H58-6).
          const again = signal === "SIGTERM" ? "another TERM or a Ctrl-C" : "Ctrl-C again";
          if (!out.json && current !== undefined)
            out.err(
              `${out.c.yellow("!")} ${signal === "SIGTERM" ? "TERM received" : "interrupted"}: finishing the kill of ${current} (${again} stops at once)`,
            );
          return;
        }
        const rest = later(index);
        if (out.json)
          out.printJson({ killed: results, interrupted: true, notKilled: rest.map((t) => t.name) });
        else
          out.err(
            `${notKilledLine(rest)} (what the tabs of ${current ?? rest[0]?.name} left running may still run until then)`,
          );
        process.exit(EXIT_CODES.ABORTED);
      };
      process.on("SIGINT", onInt);
      process.on("SIGTERM", onInt);
      // Several sessions at a time (review H44-3: each sweep's grace, half a second to watch and up to 2 s
      // after TERM, added up: 20 sessions of stubborn tabs took 70 s); the one mc runs inside goes alone, last.
      while (index < targets.length && !interrupted) {
        const wave: typeof targets = [];
        for (let j = index; j < targets.length && wave.length < KILL_WAVE; j++) {
          if (inside(targets[j]!) && wave.length) break;
          wave.push(targets[j]!);
          if (inside(targets[j]!)) break;
        }
        current = wave.map((t) => t.name).join(", ");
        const done = await Promise.all(
          wave.map(async ({ run, name, machine }) => {
            let r = await run.manager.killSession(name, machine);
            // A Ctrl-C from the terminal reaches the whole process group: the tool or sweep mc was running
            // for this kill died of it too. It is finished as promised, by running the kill again (what the
            // first had done reads as done: its outcome is this command's).
            if (interrupted && !r.ok && r.code !== "SESSION_CONFLICT") {
              r = await run.manager.killSession(name, machine, { resumed: true });
              if (r.ok && r.outcome === "gone") r = { ...r, outcome: "killed" };
            }
            return r;
          }),
        );
        index += wave.length;
        for (const [k, r] of done.entries()) {
          const { run, name, machine } = wave[k]!;
          // The server too when it is not tmux's default: sessions of one name on several are told apart.
          const where = `${machine === "local" ? "" : ` on ${machine}`}${socketNote(socketField(run, machine).socket)}`;
          const host = machine === "local" ? {} : { host: machine };
          const extra = {
            ...(r.outcome ? { outcome: r.outcome } : {}),
            ...(r.ended?.length ? { ended: r.ended } : {}),
            ...(r.survivors?.length ? { survivors: r.survivors } : {}),
            ...(r.spared?.length ? { spared: r.spared } : {}),
            ...(r.liveAs ? { liveAs: r.liveAs } : {}),
          };
          // What its tabs had left running (nohup, setsid), ended after the session itself.
          const left = r.ended?.length ? ` and ${r.ended.length} process(es) its tabs had left running` : "";
          if (r.ok) {
            results.push({ session: name, ...host, ok: true, ...extra });
            if (!out.json) {
              if (r.liveAs)
                out.err(`${out.c.yellow("!")} ${liveOutsideMcLine(name, where, r.liveAs, r.ended)}`);
              else
                out.err(
                  `${out.c.green("✓")} ${r.outcome === "gone" ? "already gone:" : "killed"} ${name}${where}${left}`,
                );
              // A terminal server a tab started may hold sessions the user made since: never mc's to end.
              if (r.spared?.length)
                out.err(
                  `${out.c.yellow("!")} left alone: ${r.spared.length} process(es) of a terminal server or shared agent its tabs started (${r.spared
                    .slice(0, 3)
                    .map((p) => `${p.pid} ${p.command}`)
                    .join(
                      ", ",
                    )}${r.spared.length > 3 ? ", …" : ""}); end them yourself if they are not needed`,
                );
            }
          } else {
            const code = r.code ? { code: r.code } : {};
            results.push({
              session: name,
              ...host,
              ok: false,
              ...extra,
              error: r.error ?? "failed",
              ...code,
            });
            if (!out.json) out.err(`${out.c.red("✗")} ${name}${where}: ${r.error}; it stays in mc's records`);
          }
        }
      }
      process.off("SIGHUP", ignoreHup);
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onInt);
      const notKilled = interrupted ? later(index) : [];
      // --all cannot say it killed everything mc started when a record of this user's, a regular file,
      // could not be read (a FIFO or another user's file in its place never held one of this user's runs).
      // Nor one not trusted (a link, another user's file): it may be this user's record replaced (H65-5).
      const unreadable = o.all ? corrupt : [];
      if (out.json)
        out.printJson({
          killed: results,
          ...(unreadable.length ? { unreadable } : {}),
          ...(interrupted ? { interrupted: true, notKilled: notKilled.map((t) => t.name) } : {}),
        });
      else {
        if (notKilled.length) out.err(notKilledLine(notKilled));
        for (const c of unreadable)
          out.err(
            `${out.c.red("✗")} skipped run record ${oneLine(c.path)}, which could not be read (${oneLine(c.error)}): the sessions it records, if any still run, were not killed`,
          );
        if (targets.length === 0)
          out.err(
            unreadable.length
              ? `nothing killed: no readable run record holds a managed session; ${skippedCount(unreadable)}`
              : "nothing to kill: no managed sessions",
          );
      }
      // Every kill that failed did so the same way, and that way has an exit code of its own: that code (8 a
      // machine that did not answer, as for status; 6 a tool not installed; 9 the state; 4 a session another
      // sessions run is still starting, as --help says: review H73-3); else 1.
      const failed = results.filter((r) => !r.ok);
      if (interrupted) return EXIT_CODES.ABORTED;
      if (failed.length === 0) return unreadable.length ? EXIT_CODES.STATE_CORRUPT : 0;
      const codes = new Set(failed.map((r) => exitCodeOf(r.code, r.error)));
      const one = codes.size === 1 ? [...codes][0]! : 1;
      const own = [
        EXIT_CODES.SSH_UNREACHABLE,
        EXIT_CODES.BINARY_NOT_FOUND,
        EXIT_CODES.STATE_CORRUPT,
        EXIT_CODES.SESSION_CONFLICT,
      ];
      return own.includes(one) ? one : 1;
    },
    o,
    { oneShot: true },
  );
}

/**
 * `kill NAME` where NAME is not mc's session but the layout of one (a rename past a session the user has
 * called NAME made it NAME_1): when that server has a session called exactly NAME, the user means that
 * one, which is not mc's to kill. Refused, nothing killed.
 */
async function refuseLayoutNameOfForeign(runs: LoadedRun[], name: string, host: string | undefined) {
  if (findSessions(runs, name, host, { byLayout: false }).length > 0) return;
  const hit = await resolveLive(runs, () => findSession(runs, name, host));
  const backend = hit.run.manager.backendOf(hit.machine);
  const listed = await backend.listSessions().catch(() => []);
  if (!listed.some((s) => s.name === name || listedKeys(backend, s).includes(backend.sessionKey(name))))
    return;
  throw new McError(
    "USAGE",
    `session "${nameText(name)}" was not started by mc, which never kills it; mc's session of layout "${nameText(name)}" is "${hit.name}"; nothing was killed`,
    {
      backend: "cli",
      op: "kill",
      hint: `${sessionsCommand("kill", [{ name: hit.name, machine: hit.machine, ...socketField(hit.run, hit.machine) }])} kills mc's`,
    },
  );
}

/**
 * {@link findSession} for `kill`: every name is looked up before any session is killed, so a name that
 * finds nothing (or several) ends the command with nothing killed, and the message says so.
 */
/**
 * A session the kill found gone by its name that lives on outside mc's start (review H51-2): never "✓
 * already gone" of what zellij lists live, and what the sweep ended there is named.
 */
function liveOutsideMcLine(
  name: string,
  where: string,
  live: { session: string; how: string },
  ended: number[] | undefined,
): string {
  const pids = ended?.length
    ? `${ended.length} process(es) its tabs ran (pid ${ended.slice(0, 8).join(", ")}${ended.length > 8 ? ", …" : ""})`
    : "";
  const keep = "mc never ends what it did not start";
  if (live.how === "renamed")
    return `${name}${where} was renamed to "${nameText(live.session)}" outside mc: ${pids ? `ended the ${pids} there; ` : ""}the session "${nameText(live.session)}" itself was not killed (${keep}); mc's record of ${name} is closed`;
  const what =
    live.how === "resurrected"
      ? `${name}${where} is live again outside mc's start (resurrected from its EXITED entry, as by zellij attach): it is yours now`
      : live.how === "unknown" && live.session !== name
        ? `${name}${where} is gone by its name; zellij did not list the panes of the live session "${nameText(live.session)}", so whether that is it renamed is not known`
        : live.how === "unknown"
          ? `a live session named ${name}${where} holds the name outside mc's start (zellij did not list its panes, so whether it is mc's resurrected is not known)`
          : `a live session named ${name}${where} that mc did not start holds the name (mc's ended outside mc)`;
  return `${what}; left alone (${keep})${pids ? `; ended ${pids}` : ""}; mc's record of it is closed`;
}

function findOrNothingKilled(runs: LoadedRun[], name: string, host: string | undefined, count: number) {
  try {
    return findSession(runs, name, host);
  } catch (e) {
    if (!isMcError(e)) throw e;
    const why =
      count > 1
        ? "nothing was killed (kill ends sessions only when every name is found)"
        : "nothing was killed";
    throw new McError(e.code, `${e.reason}; ${why}`, {
      backend: e.backend,
      op: "kill",
      hint: e.hint,
      cause: e,
      details: e.details,
    });
  }
}

/** How many sessions `kill` ends at a time (an ssh connection's sessions are 10 by default). */
const KILL_WAVE = 6;

/**
 * `ls --prune` of one run: forgotten with its files when every machine answered and none of its sessions
 * runs ("no server" is an answer), after what their tabs left running is ended; else only its ended
 * sessions are forgotten. One machine that does not answer leaves the run as it is.
 */
async function pruneRun(
  loaded: LoadedRun,
  report: StatusReport,
): Promise<{
  notPruned: string[];
  swept: string[];
  pruned: boolean;
  codes: string[];
  /** The whole run was forgotten (else only its ended sessions, when pruned). */
  whole?: boolean;
}> {
  const { run, manager } = loaded;
  const swept: string[] = [];
  // A session retired as "replaced" because a later run holds its name (it had ended outside mc, and a
  // new one of that name started) was never killed by mc: what its tabs left running (setsid, nohup)
  // is ended before its record goes, as kill ends it (review H40-6: forgotten, still running).
  const sweepReplaced = async () => {
    for (const s of manager.ended.filter(
      (x) => x.endedBy === "replaced" && typeof x.data?.runId === "string",
    )) {
      // Not what started after it was retired (review H42-4: a process given a copy of its marker later).
      const ago = Date.now() - s.endedAt;
      const r = await sweepTabs(manager.hostOf(s.machine), s, "", undefined, ago).catch(() => undefined);
      if (r?.ended.length)
        swept.push(`${s.name} (replaced): ${r.ended.length} process(es) its tabs had left running`);
    }
  };
  try {
    // A tab whose wrapper still runs holds its pane open: the tool's server lives, though it did not list
    // the session (its socket removed by a tmp cleaner). Not gone: pruning would end its commands and
    // delete its logs (review H37-8).
    // (A record without its run id is only forgotten, nothing killed, files kept: as before.)
    const held = report.sessions.filter(
      (s) =>
        !s.exists &&
        // (A command that runs on after its tab is gone, `orphans`, holds nothing open: it is ended below.)
        s.tabs.some((t) => (t.state === "running" && !t.orphans) || t.state === "pending") &&
        typeof manager.managed.find((x) => x.name === s.session && x.machine === s.machine)?.data?.runId ===
          "string",
    );
    if (held.length) {
      const names = held.map((s) => s.session).join(", ");
      return {
        notPruned: [
          `run ${run.id}: ${names}: not listed by the tool, but its tabs still run (was the server's socket removed?)`,
        ],
        swept,
        pruned: false,
        codes: ["COMMAND_FAILED"],
      };
    }
    if (report.machines.every((h) => h.reachable) && report.sessions.every((s) => !s.exists)) {
      // What their tabs left running when the sessions went (a dead tmux server leaves a command that
      // ignores the hang-up): ended as `kill` ends it, while the record that finds it exists.
      let unverifiable = false;
      for (const s of [...manager.managed]) {
        // The record is deleted next: nothing is written meanwhile (a full disk is pruned too).
        const k = await manager.killSession(s.name, s.machine, { record: false });
        // A record mc cannot tell is its own (no run id): nothing is killed or swept through it, and the
        // record is forgotten but its files kept (a session of that name may be running and use them).
        if (!k.ok && k.code === "STATE_CORRUPT") {
          unverifiable = true;
          continue;
        }
        if (!k.ok) throw new Error(`${s.name}: ${k.error ?? "its tabs' processes could not be ended"}`);
        if (k.ended?.length) swept.push(`${s.name}: ${k.ended.length} process(es) its tabs had left running`);
      }
      await sweepReplaced();
      if (unverifiable) await manager.forgetSaved(run.id);
      else await manager.deleteSaved(run.id);
      return { notPruned: [], swept, pruned: true, codes: [], whole: true };
    }
    const pruned = manager.ended.length > 0;
    await sweepReplaced();
    await manager.forgetEnded();
    return { notPruned: [], swept, pruned, codes: [] };
  } catch (e) {
    // A state directory that cannot be written (read-only, full) is state that could not be written:
    // exit 9, as everywhere else (review H77-5 read 1).
    const errno = (e as NodeJS.ErrnoException).code;
    const io = ["EROFS", "ENOSPC", "EACCES", "EPERM", "EDQUOT", "EIO"].includes(errno ?? "");
    const code = isMcError(e) ? e.code : io ? "STATE_IO" : "COMMAND_FAILED";
    const text = isMcError(e) ? e.reason : (e as Error).message;
    return { notPruned: [`run ${run.id}: ${text}`], swept, pruned: false, codes: [code] };
  }
}

/** Whether a session's record says a `sessions kill` was under way, by a process that has ended. */
function killInterrupted(managed: readonly ManagedSession[], machine: string, name: string): boolean {
  const by = managed.find((s) => s.machine === machine && s.name === name)?.killing;
  return by !== undefined && processEnded(by) === true;
}

/**
 * The pid of the live `sessions run` still starting a session (review H73-3: a restart's replacement read
 * as a second live session of that name), or undefined.
 */
function startingBy(managed: readonly ManagedSession[], machine: string, name: string): number | undefined {
  const by = managed.find((x) => x.machine === machine && x.name === name)?.starting?.by;
  return by !== undefined && by.pid !== process.pid && processEnded(by) === false ? by.pid : undefined;
}

/** Whether a session's record still says `starting` while the run that wrote it is gone. */
function unfinished(managed: readonly ManagedSession[], machine: string, name: string): boolean {
  const by = managed.find((s) => s.machine === machine && s.name === name)?.starting?.by;
  return by !== undefined && processEnded(by) === true;
}

function unreachableOf(machines: { machine: string; reachable: boolean; error?: string }[], machine: string) {
  const h = machines.find((x) => x.machine === machine);
  return h && !h.reachable ? { unreachable: h.error ?? "no answer" } : {};
}

/** `sessions ls`: managed runs and their sessions (live or gone); `--prune` forgets runs whose sessions are all gone. */
export async function lsCommand(
  o: { prune?: boolean; socket?: string; backend?: string },
  out: Output,
): Promise<number> {
  return withRuns(
    out,
    async (runs, corrupt) => {
      const rows: {
        run: string;
        kind: string;
        backend: string;
        host: string;
        created: string;
        session: string;
        live: boolean;
        tabs: number;
        /** tmux: the socket path of the server the session runs on. */
        socket?: string;
        /** Why the machine did not answer (its sessions are not "gone": mc cannot tell). */
        unreachable?: string;
        /** Its start was never seen through (the run that started it died mid-start). */
        unfinished?: boolean;
        /** The pid of the sessions run still starting it. */
        startingBy?: number;
        /** Gone after a `sessions kill` that did not finish (killed outright): mc's kill, not recorded. */
        killInterrupted?: boolean;
        ended?: { at: string; by: "killed" | "replaced" | "gone" | "rolled-back" };
      }[] = [];
      const notPruned: string[] = [];
      const notPrunedCodes: string[] = [];
      let pruned = 0;
      const swept: string[] = [];
      // Every run asked at once: one look at a machine's processes then answers all of them (review H78-1:
      // one look per ended session, one run after another, took 30 s with 100 records).
      // A few at a time: each asks its tool with a subprocess, and every descriptor counts (review H79-2:
      // under a low ulimit -n runs went unanswered).
      const since = performance.now();
      const reports = await mapLimit(runs, RUNS_AT_ONCE, (r) =>
        r.manager.checkAllSessionsStatus({ processes: false, since }),
      );
      for (const [k, loaded] of runs.entries()) {
        const { run, backend, manager } = loaded;
        const report = reports[k]!;
        for (const s of report.sessions) {
          rows.push({
            run: run.id,
            kind: run.kind,
            backend,
            host: s.machine,
            created: new Date(run.createdAt).toISOString(),
            session: s.session,
            live: s.exists,
            // Tabs, as for an ended session (status rows are one per pane of a tab with several).
            tabs: new Set(s.tabs.map((t) => t.index)).size,
            ...socketField(loaded, s.machine),
            ...unreachableOf(report.machines, s.machine),
            ...(unfinished(manager.managed, s.machine, s.session) ? { unfinished: true } : {}),
            ...(startingBy(manager.managed, s.machine, s.session) === undefined
              ? {}
              : { startingBy: startingBy(manager.managed, s.machine, s.session)! }),
            ...(!s.exists && killInterrupted(manager.managed, s.machine, s.session)
              ? { killInterrupted: true }
              : {}),
          });
        }
        for (const s of manager.ended) {
          rows.push({
            run: run.id,
            kind: run.kind,
            backend,
            host: s.machine,
            created: new Date(run.createdAt).toISOString(),
            session: s.name,
            live: false,
            tabs: s.layout.layoutTabs.length,
            ...socketField(loaded, s.machine),
            ended: { at: new Date(s.endedAt).toISOString(), by: s.endedBy },
          });
        }
        if (o.prune) {
          const r = await pruneRun(loaded, report);
          notPruned.push(...r.notPruned);
          swept.push(...r.swept);
          notPrunedCodes.push(...r.codes);
          if (r.pruned) pruned++;
          // What it forgot is no longer listed (review H48-4: ls --prune showed the list from before).
          if (r.pruned)
            for (let i = rows.length - 1; i >= 0; i--)
              if (rows[i]!.run === run.id && (r.whole || rows[i]!.ended)) rows.splice(i, 1);
        }
      }
      if (o.prune) {
        // What a process killed mid-write left (temporary files, lock directories): review H42-8.
        pruned += await clearStaleStateFiles(localHost()).catch(() => 0);
        const { rm } = await import("node:fs/promises");
        // Another user's file is not mc's to remove, even in a shared state directory.
        for (const c of corrupt)
          if (removable(c.error)) {
            await rm(c.path, { force: true });
            (c as { removed?: boolean }).removed = true;
            pruned++;
          }
      }
      // What kept a run from being pruned decides the exit: unreachable hosts (8), state that cannot be
      // written (9), anything else (1). A listing with a machine that did not answer is partial: 8, as
      // status says it (review H60-6: 0, a script could not tell).
      // A record that could not be read (or was not trusted) and is still there: the listing is missing
      // what it holds, as status without a name says with 9 (review H65-5: ls said 0).
      const skipped = corrupt.filter((c) => !(c as { removed?: boolean }).removed);
      const code = !notPruned.length
        ? rows.some((r) => r.unreachable)
          ? EXIT_CODES.SSH_UNREACHABLE
          : skipped.length
            ? EXIT_CODES.STATE_CORRUPT
            : 0
        : notPrunedCodes.every((c) => c === "SSH_UNREACHABLE" || c === "SSH_AUTH_FAILED")
          ? EXIT_CODES.SSH_UNREACHABLE
          : notPrunedCodes.includes("STATE_IO")
            ? EXIT_CODES.STATE_IO
            : EXIT_CODES.COMMAND_FAILED;
      if (out.json) {
        out.printJson({ runs: rows, corrupt, ...(notPruned.length ? { notPruned } : {}) });
        return code;
      }
      for (const n of notPruned) out.err(out.c.yellow(`not pruned: ${oneLine(n)}`));
      for (const n of swept) out.err(`ended ${oneLine(n)}`);
      for (const c of corrupt)
        out.err(
          out.c.yellow(
            `${o.prune && removable(c.error) ? "removed unreadable" : "skipped unreadable"} run record ${oneLine(c.path)}: ${oneLine(c.error)}`,
          ),
        );
      const prunedLine = () =>
        o.prune && pruned > 0
          ? out.err(
              out.c.dim(
                "pruned runs whose sessions are all gone, ended sessions' logs, unreadable run records, and files of interrupted writes",
              ),
            )
          : undefined;
      if (rows.length === 0) {
        // (Also when the prune forgot every run: said, then that nothing is left.)
        prunedLine();
        out.err(
          skipped.length
            ? `no readable run record holds a session; ${skippedCount(skipped)}`
            : "mc manages no sessions (start some with sessions run)",
        );
        return code;
      }
      const socket = socketColumn(rows);
      const sockets = socket !== undefined;
      const lines = table(
        ["SESSION", "HOST", "BACKEND", ...(sockets ? ["SOCKET"] : []), "TABS", "STATE", "RUN", "CREATED"],
        rows.map((r) => [
          r.session,
          r.host,
          r.backend,
          ...(socket ? [socket(r)] : []),
          String(r.tabs),
          r.startingBy !== undefined
            ? `starting (sessions run pid ${r.startingBy})`
            : r.unreachable && !r.ended
              ? // Not checked: neither live nor gone (review H79-2 read "live" for a tool that could not be
                // asked). The whole ssh error would make the column ~100 wide (--json has it whole).
                `unreachable: ${short(r.unreachable.replace(/^ssh:\S+ is unreachable: /, ""), 40)}`
              : r.live
                ? r.unfinished
                  ? "live, start unfinished"
                  : "live"
                : r.ended
                  ? `ended (${r.ended.by})`
                  : r.killInterrupted
                    ? "killed (kill interrupted)"
                    : "gone",
          r.run,
          r.created.replace("T", " ").slice(0, 19),
        ]),
        {
          c: out.c,
          ...(out.tty ? { maxWidth: out.columns } : {}),
          // At 80 columns: HOST and BACKEND go when every row says the same, the run id (what is copied)
          // is never cut, and a socket path loses its start, not the end that tells it apart.
          droppable: [1, 2],
          keep: [sockets ? 6 : 5],
          cutStart: sockets ? [3] : [],
        },
      );
      for (const l of lines) out.out(l);
      prunedLine();
      return code;
    },
    o,
    { oneShot: true },
  );
}

/**
 * Whether `ls --prune` removes a damaged record: a file mc cannot parse is; another user's file, a link,
 * something that is not a regular file (a directory someone made), or a newer mc's record (it may hold
 * live sessions) is not mc's to remove.
 */
function removable(error: string): boolean {
  return mayHoldOurs(error) && !error.includes("by a newer mc");
}

/** How many run records were skipped (said above, each with its file and why), and what to do about them. */
function skippedCount(list: readonly unknown[]): string {
  const one = list.length === 1;
  return `${one ? "1 run record" : `${list.length} run records`} named above could not be read or ${one ? "was" : "were"} not trusted: repair or remove ${one ? "it" : "them"} (sessions ls --prune removes what mc wrote)`;
}

/** At most `n` characters of `text`, an ellipsis where it was cut. */
function short(text: string, n: number): string {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}
