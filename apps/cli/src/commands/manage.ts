import { McError, makeReport, type SessionStatus, sleep } from "@mc/core";
import { type LoadedRun, loadRuns } from "../backends.js";
import { LiveBlock, type Output, printJson, statusTable, table } from "../output.js";

/** Status of every managed session (or one), gathered run by run (one backend query per run). */
async function gather(runs: LoadedRun[], name: string | undefined, all: boolean): Promise<SessionStatus[]> {
  const sessions: SessionStatus[] = [];
  for (const r of runs) {
    const report = await r.manager.checkAllSessionsStatus();
    sessions.push(
      ...report.sessions.filter((s) => (name === undefined ? all || s.exists : s.session === name)),
    );
  }
  return sessions;
}

/** `sessions status [SESSION]`. */
export async function statusCommand(
  name: string | undefined,
  o: { watch?: boolean; all?: boolean; interval: number },
  out: Output,
): Promise<number> {
  const { runs, corrupt } = await loadRuns();
  for (const c of corrupt) out.err(out.c.yellow(`skipped unreadable state file ${c.path}: ${c.error}`));
  const once = async () => {
    const sessions = await gather(runs, name, Boolean(o.all));
    if (name !== undefined && sessions.length === 0) {
      throw new McError("SESSION_NOT_FOUND", `no managed session "${name}"`, {
        backend: "cli",
        op: "status",
        hint: "sessions ls lists what mc manages",
      });
    }
    return makeReport(sessions);
  };
  if (!o.watch) {
    const report = await once();
    if (out.json) printJson(report);
    else if (report.sessions.length === 0)
      out.err("no managed sessions are running (sessions ls shows saved runs)");
    else for (const l of statusTable(report, out)) out.out(l);
    return 0;
  }
  const ac = new AbortController();
  process.once("SIGINT", () => ac.abort());
  const live = out.tty && !out.json ? new LiveBlock((s) => process.stdout.write(s)) : undefined;
  while (!ac.signal.aborted) {
    const report = await once();
    if (out.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else if (live) live.render([...statusTable(report, out), out.c.dim("watching; Ctrl-C to stop")]);
    else for (const l of [...statusTable(report, out), ""]) out.out(l);
    await sleep(o.interval * 1000, ac.signal);
  }
  return 0;
}

function findSession(runs: LoadedRun[], name: string): LoadedRun {
  const hit = runs.find((r) => r.manager.managed.some((s) => s.name === name));
  if (!hit) {
    const known = runs.flatMap((r) => r.manager.managed.map((s) => s.name));
    throw new McError("SESSION_NOT_FOUND", `no managed session "${name}"`, {
      backend: "cli",
      hint: known.length ? `managed sessions: ${known.join(", ")}` : "start one with sessions run",
    });
  }
  return hit;
}

/** `sessions attach [SESSION]`: attach this terminal (or print the command with --print). */
export async function attachCommand(
  name: string | undefined,
  o: { print?: boolean },
  out: Output,
): Promise<number> {
  const { runs } = await loadRuns();
  let target = name;
  if (target === undefined) {
    const live = (await gather(runs, undefined, false)).map((s) => s.session);
    if (live.length === 1) target = live[0]!;
    else if (live.length === 0)
      throw new McError("SESSION_NOT_FOUND", "no managed session is running", {
        backend: "cli",
        hint: "start one with sessions run",
      });
    else if (process.stdin.isTTY && !o.print && !out.json) {
      const { default: select } = await import("@inquirer/select");
      target = await select({ message: "Attach to", choices: live.map((s) => ({ name: s, value: s })) });
    } else {
      throw new McError("USAGE", `several sessions are running: ${live.join(", ")}`, {
        backend: "cli",
        hint: "name one: sessions attach NAME",
      });
    }
  }
  const run = findSession(runs, target);
  const cmd = run.manager.attachToSession(target);
  if (o.print || out.json) {
    if (out.json)
      printJson({
        session: target,
        backend: run.backend,
        command: { file: cmd.file, args: cmd.args, env: cmd.env ?? {} },
      });
    else
      out.out(
        [cmd.file, ...cmd.args]
          .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
          .join(" "),
      );
    return 0;
  }
  return run.manager.host.runInteractive(cmd);
}

/** `sessions kill SESSION… | --all`: only sessions mc started. */
export async function killCommand(names: string[], o: { all?: boolean }, out: Output): Promise<number> {
  if (!o.all && names.length === 0)
    throw new McError("USAGE", "name the sessions to kill, or pass --all", { backend: "cli", op: "kill" });
  const { runs } = await loadRuns();
  const targets = o.all
    ? runs.flatMap((r) => r.manager.managed.map((s) => ({ r, name: s.name })))
    : names.map((n) => ({ r: findSession(runs, n), name: n }));
  const results: { session: string; ok: boolean; error?: string }[] = [];
  for (const { r, name } of targets) {
    try {
      const s = r.manager.managed.find((m) => m.name === name)!;
      await r.manager.backend.kill(name, s);
      await r.manager.forget(name);
      results.push({ session: name, ok: true });
      if (!out.json) out.err(`${out.c.green("✓")} killed ${name}`);
    } catch (e) {
      results.push({ session: name, ok: false, error: (e as Error).message });
      if (!out.json) out.err(`${out.c.red("✗")} ${name}: ${(e as Error).message}`);
    }
  }
  if (out.json) printJson({ killed: results });
  else if (targets.length === 0) out.err("nothing to kill: no managed sessions");
  return results.every((r) => r.ok) ? 0 : 1;
}

/** `sessions ls`: managed runs and their sessions (live or gone); `--prune` forgets runs whose sessions are all gone. */
export async function lsCommand(o: { prune?: boolean }, out: Output): Promise<number> {
  const { runs, corrupt } = await loadRuns();
  const rows: {
    run: string;
    kind: string;
    backend: string;
    created: string;
    session: string;
    live: boolean;
    tabs: number;
  }[] = [];
  for (const r of runs) {
    const report = await r.manager.checkAllSessionsStatus();
    for (const s of report.sessions) {
      rows.push({
        run: r.run.id,
        kind: r.run.kind,
        backend: r.backend,
        created: new Date(r.run.createdAt).toISOString(),
        session: s.session,
        live: s.exists,
        tabs: s.tabs.length,
      });
    }
    if (o.prune && report.sessions.every((s) => !s.exists)) await r.manager.deleteSaved(r.run.id);
  }
  if (out.json) {
    printJson({ runs: rows, corrupt });
    return 0;
  }
  for (const c of corrupt) out.err(out.c.yellow(`unreadable state file ${c.path}: ${c.error}`));
  if (rows.length === 0) {
    out.err("mc manages no sessions (start some with sessions run)");
    return 0;
  }
  for (const l of table(
    ["SESSION", "BACKEND", "TABS", "STATE", "RUN", "CREATED"],
    rows.map((r) => [
      r.session,
      r.backend,
      String(r.tabs),
      r.live ? "live" : "gone",
      r.run,
      r.created.replace("T", " ").slice(0, 19),
    ]),
    { c: out.c },
  ))
    out.out(l);
  if (o.prune) out.err(out.c.dim("pruned runs whose sessions are all gone"));
  return 0;
}
