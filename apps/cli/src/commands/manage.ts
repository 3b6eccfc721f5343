import { McError, makeReport, type SessionStatus, shQuote, sleep } from "@mc/core";
import { display, type Output, statusTable, table } from "../output.js";
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
async function withRuns<T>(
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
async function gather(
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

/** `sessions status [SESSION]`. */
export async function statusCommand(
  name: string | undefined,
  o: { watch?: boolean; all?: boolean; interval: number; host?: string; socket?: string },
  out: Output,
): Promise<number> {
  return withRuns(
    out,
    async (runs, corrupt) => {
      for (const c of corrupt) out.err(out.c.yellow(`skipped unreadable state file ${c.path}: ${c.error}`));
      const once = async () => {
        // A watched table needs states, not process trees (sessions status --json has them).
        const sessions = await gather(runs, {
          name,
          host: o.host,
          all: Boolean(o.all),
          processes: !o.watch || out.json,
        });
        if (name !== undefined && sessions.length === 0) {
          throw new McError(
            "SESSION_NOT_FOUND",
            `no managed session "${name}"${o.host ? ` on ${o.host}` : ""}`,
            {
              backend: "cli",
              op: "status",
              hint: "sessions ls lists what mc manages",
            },
          );
        }
        return makeReport(sessions);
      };
      if (!o.watch) {
        const report = await once();
        if (out.json) out.printJson(report);
        else if (report.sessions.length === 0)
          out.err("no managed sessions are running (sessions ls shows saved runs)");
        else for (const l of statusTable(report, out)) out.out(l);
        return 0;
      }
      const ac = new AbortController();
      process.once("SIGINT", () => ac.abort());
      const live = out.tty && !out.json ? out.live() : undefined;
      while (!ac.signal.aborted) {
        const report = await once();
        if (out.json) out.jsonLine(report);
        else if (live) live.render([...statusTable(report, out), out.c.dim("watching; Ctrl-C to stop")]);
        else for (const l of [...statusTable(report, out), ""]) out.out(l);
        await sleep(o.interval * 1000, ac.signal);
      }
      if (out.json) out.jsonLine({ type: "watch-stopped", time: new Date().toISOString() });
      return 0;
    },
    o.socket,
  );
}

/** The run holding a session, by name and (for sessions on several machines) machine. */
function findSession(
  runs: LoadedRun[],
  name: string,
  host: string | undefined,
): { run: LoadedRun; machine: string } {
  const hits = runs.flatMap((run) =>
    run.manager.managed
      .filter((s) => s.name === name && (host === undefined || s.machine === host))
      .map((s) => ({ run, machine: s.machine })),
  );
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

async function pickSession(
  runs: LoadedRun[],
  o: { print?: boolean; host?: string },
  out: Output,
): Promise<string> {
  const live = (await gather(runs, { host: o.host })).filter((s) => s.exists).map((s) => s.session);
  if (live.length === 1) return live[0]!;
  if (live.length === 0) {
    throw new McError("SESSION_NOT_FOUND", "no managed session is running", {
      backend: "cli",
      hint: "start one with sessions run",
    });
  }
  if (process.stdin.isTTY && !o.print && !out.json) {
    const { default: select } = await import("@inquirer/select");
    return select({
      message: "Attach to",
      choices: live.map((s) => ({ name: display(s, { oneLine: true }), value: s })),
    });
  }
  throw new McError("USAGE", `several sessions are running: ${live.join(", ")}`, {
    backend: "cli",
    hint: "name one: sessions attach NAME",
  });
}

/** `sessions attach [SESSION]`: attach this terminal (or print the command with --print). */
export async function attachCommand(
  name: string | undefined,
  o: { print?: boolean; host?: string; socket?: string },
  out: Output,
): Promise<number> {
  return withRuns(
    out,
    async (runs) => {
      const target = name ?? (await pickSession(runs, o, out));
      const { run, machine } = findSession(runs, target, o.host);
      // Only a session that is still the one mc started: never attach to what took its place (or its id).
      const report = await run.manager.checkAllSessionsStatus({ processes: false });
      const st = report.sessions.find((s) => s.session === target && s.machine === machine);
      if (!st?.exists) {
        throw new McError(
          "SESSION_NOT_FOUND",
          `session "${target}"${machine === "local" ? "" : ` on ${machine}`} is gone${st?.error ? ` (${st.error})` : ""}`,
          { backend: "cli", op: "attach", hint: "sessions ls --prune forgets sessions that are gone" },
        );
      }
      const cmd = run.manager.attachToSession(target, process.env, machine);
      if (o.print || out.json) {
        if (out.json)
          out.printJson({
            session: target,
            backend: run.backend,
            ...(machine === "local" ? {} : { machine }),
            command: { file: cmd.file, args: cmd.args, env: cmd.env ?? {} },
          });
        else out.out([cmd.file, ...cmd.args].map(shQuote).join(" "));
        return 0;
      }
      return (await import("@mc/core")).localHost().runInteractive(cmd);
    },
    o.socket,
  );
}

/** `sessions kill SESSION… | --all`: only sessions mc started. */
export async function killCommand(
  names: string[],
  o: { all?: boolean; host?: string; socket?: string },
  out: Output,
): Promise<number> {
  if (!o.all && names.length === 0)
    throw new McError("USAGE", "name the sessions to kill, or pass --all", { backend: "cli", op: "kill" });
  return withRuns(
    out,
    async (runs) => {
      const targets = o.all
        ? runs.flatMap((run) =>
            run.manager.managed
              .filter((s) => o.host === undefined || s.machine === o.host)
              .map((s) => ({ run, name: s.name, machine: s.machine })),
          )
        : names.map((n) => ({ name: n, ...findSession(runs, n, o.host) }));
      const results: {
        session: string;
        host?: string;
        ok: boolean;
        outcome?: string;
        ended?: number[];
        survivors?: { pid: number; command: string }[];
        error?: string;
      }[] = [];
      for (const { run, name, machine } of targets) {
        const where = machine === "local" ? "" : ` on ${machine}`;
        const r = await run.manager.killSession(name, machine);
        const host = machine === "local" ? {} : { host: machine };
        const extra = {
          ...(r.outcome ? { outcome: r.outcome } : {}),
          ...(r.ended?.length ? { ended: r.ended } : {}),
          ...(r.survivors?.length ? { survivors: r.survivors } : {}),
        };
        // What its tabs had left running (nohup, setsid), ended after the session itself.
        const left = r.ended?.length ? ` and ${r.ended.length} process(es) its tabs had left running` : "";
        if (r.ok) {
          results.push({ session: name, ...host, ok: true, ...extra });
          if (!out.json)
            out.err(
              `${out.c.green("✓")} ${r.outcome === "gone" ? "already gone:" : "killed"} ${name}${where}${left}`,
            );
        } else {
          results.push({ session: name, ...host, ok: false, ...extra, error: r.error ?? "failed" });
          if (!out.json) out.err(`${out.c.red("✗")} ${name}${where}: ${r.error}; it stays in mc's records`);
        }
      }
      if (out.json) out.printJson({ killed: results });
      else if (targets.length === 0) out.err("nothing to kill: no managed sessions");
      return results.every((r) => r.ok) ? 0 : 1;
    },
    o.socket,
  );
}

function unreachableOf(machines: { machine: string; reachable: boolean; error?: string }[], machine: string) {
  const h = machines.find((x) => x.machine === machine);
  return h && !h.reachable ? { unreachable: h.error ?? "no answer" } : {};
}

/** `sessions ls`: managed runs and their sessions (live or gone); `--prune` forgets runs whose sessions are all gone. */
export async function lsCommand(o: { prune?: boolean; socket?: string }, out: Output): Promise<number> {
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
        /** Why the machine did not answer (its sessions are not "gone": mc cannot tell). */
        unreachable?: string;
      }[] = [];
      for (const { run, backend, manager } of runs) {
        const report = await manager.checkAllSessionsStatus({ processes: false });
        for (const s of report.sessions) {
          rows.push({
            run: run.id,
            kind: run.kind,
            backend,
            host: s.machine,
            created: new Date(run.createdAt).toISOString(),
            session: s.session,
            live: s.exists,
            tabs: s.tabs.length,
            ...unreachableOf(report.machines, s.machine),
          });
        }
        // Gone means: every machine answered and none of the sessions runs ("no server" is an answer).
        const answered = report.machines.every((h) => h.reachable);
        if (o.prune && answered && report.sessions.every((s) => !s.exists)) await manager.deleteSaved(run.id);
      }
      if (o.prune) {
        const { rm } = await import("node:fs/promises");
        for (const c of corrupt) await rm(c.path, { force: true });
      }
      if (out.json) {
        out.printJson({ runs: rows, corrupt });
        return 0;
      }
      for (const c of corrupt)
        out.err(out.c.yellow(`${o.prune ? "removed" : "corrupt"} run record ${c.path}: ${c.error}`));
      if (rows.length === 0) {
        out.err("mc manages no sessions (start some with sessions run)");
        return 0;
      }
      const lines = table(
        ["SESSION", "HOST", "BACKEND", "TABS", "STATE", "RUN", "CREATED"],
        rows.map((r) => [
          r.session,
          r.host,
          r.backend,
          String(r.tabs),
          r.live ? "live" : r.unreachable ? `unreachable: ${r.unreachable}` : "gone",
          r.run,
          r.created.replace("T", " ").slice(0, 19),
        ]),
        { c: out.c },
      );
      for (const l of lines) out.out(l);
      if (o.prune) out.err(out.c.dim("pruned runs whose sessions are all gone, and unreadable run records"));
      return 0;
    },
    o.socket,
  );
}
