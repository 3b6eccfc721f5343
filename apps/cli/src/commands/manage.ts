import { McError, makeReport, type SessionStatus, sleep } from "@mc/core";
import { loadViews, type RunView } from "../backends.js";
import { LiveBlock, type Output, printJson, statusTable, table } from "../output.js";

/** `ssh:box` → `box`; `local` → undefined. */
const machineOf = (hostId: string) => (hostId.startsWith("ssh:") ? hostId.slice(4) : undefined);

async function withViews<T>(
  f: (views: RunView[], out: { corrupt: { path: string; error: string }[] }) => Promise<T>,
): Promise<T> {
  const { views, corrupt } = await loadViews();
  try {
    return await f(views, { corrupt });
  } finally {
    await Promise.all(views.map((v) => v.close()));
  }
}

/** Status of managed sessions (all, or one by name, optionally on one host), one backend query per run. */
async function gather(
  views: RunView[],
  o: { name?: string | undefined; host?: string | undefined; all?: boolean; processes?: boolean },
): Promise<SessionStatus[]> {
  const reports = await Promise.all(views.map((v) => v.status({ processes: o.processes ?? true })));
  return reports
    .flatMap((r) => r.sessions)
    .filter(
      (s) =>
        (o.host === undefined || machineOf(s.host) === o.host) &&
        (o.name === undefined ? o.all || s.exists || Boolean(s.error) : s.session === o.name),
    );
}

/** `sessions status [SESSION]`. */
export async function statusCommand(
  name: string | undefined,
  o: { watch?: boolean; all?: boolean; interval: number; host?: string },
  out: Output,
): Promise<number> {
  return withViews(async (views, { corrupt }) => {
    for (const c of corrupt) out.err(out.c.yellow(`skipped unreadable state file ${c.path}: ${c.error}`));
    const once = async () => {
      // A watched table needs states, not process trees (sessions status --json has them).
      const sessions = await gather(views, {
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
  });
}

/** The run holding a session, by name and (for sessions on several hosts) host. */
function findSession(
  views: RunView[],
  name: string,
  host: string | undefined,
): { view: RunView; machine?: string } {
  const hits = views.flatMap((view) =>
    view
      .sessions()
      .filter((s) => s.name === name && (host === undefined || s.machine === host))
      .map((s) => ({ view, ...(s.machine === undefined ? {} : { machine: s.machine }) })),
  );
  if (hits.length === 1) return hits[0]!;
  if (hits.length > 1) {
    throw new McError(
      "USAGE",
      `session "${name}" runs on several hosts: ${hits.map((h) => h.machine ?? "this machine").join(", ")}`,
      {
        backend: "cli",
        hint: "pick one with --host",
      },
    );
  }
  const known = views.flatMap((v) =>
    v.sessions().map((s) => (s.machine ? `${s.name} (${s.machine})` : s.name)),
  );
  throw new McError("SESSION_NOT_FOUND", `no managed session "${name}"${host ? ` on ${host}` : ""}`, {
    backend: "cli",
    hint: known.length ? `managed sessions: ${known.join(", ")}` : "start one with sessions run",
  });
}

/** `sessions attach [SESSION]`: attach this terminal (or print the command with --print). */
export async function attachCommand(
  name: string | undefined,
  o: { print?: boolean; host?: string },
  out: Output,
): Promise<number> {
  return withViews(async (views) => {
    let target = name;
    if (target === undefined) {
      const live = (await gather(views, { host: o.host })).filter((s) => s.exists).map((s) => s.session);
      if (live.length === 1) target = live[0]!;
      else if (live.length === 0) {
        throw new McError("SESSION_NOT_FOUND", "no managed session is running", {
          backend: "cli",
          hint: "start one with sessions run",
        });
      } else if (process.stdin.isTTY && !o.print && !out.json) {
        const { default: select } = await import("@inquirer/select");
        target = await select({ message: "Attach to", choices: live.map((s) => ({ name: s, value: s })) });
      } else {
        throw new McError("USAGE", `several sessions are running: ${live.join(", ")}`, {
          backend: "cli",
          hint: "name one: sessions attach NAME",
        });
      }
    }
    const { view, machine } = findSession(views, target, o.host);
    const cmd = view.attach(target, machine);
    if (o.print || out.json) {
      if (out.json)
        printJson({
          session: target,
          backend: view.backend,
          machine,
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
    return view.local.runInteractive(cmd);
  });
}

/** `sessions kill SESSION… | --all`: only sessions mc started. */
export async function killCommand(
  names: string[],
  o: { all?: boolean; host?: string },
  out: Output,
): Promise<number> {
  if (!o.all && names.length === 0)
    throw new McError("USAGE", "name the sessions to kill, or pass --all", { backend: "cli", op: "kill" });
  return withViews(async (views) => {
    const targets = o.all
      ? views.flatMap((view) =>
          view
            .sessions()
            .filter((s) => o.host === undefined || s.machine === o.host)
            .map((s) => ({ view, name: s.name, machine: s.machine })),
        )
      : names.map((n) => ({ name: n, ...findSession(views, n, o.host) }));
    const results: { session: string; host?: string; ok: boolean; error?: string }[] = [];
    for (const { view, name, machine } of targets) {
      const where = machine ? ` on ${machine}` : "";
      try {
        await view.kill(name, machine);
        results.push({ session: name, ...(machine ? { host: machine } : {}), ok: true });
        if (!out.json) out.err(`${out.c.green("✓")} killed ${name}${where}`);
      } catch (e) {
        results.push({
          session: name,
          ...(machine ? { host: machine } : {}),
          ok: false,
          error: (e as Error).message,
        });
        if (!out.json) out.err(`${out.c.red("✗")} ${name}${where}: ${(e as Error).message}`);
      }
    }
    if (out.json) printJson({ killed: results });
    else if (targets.length === 0) out.err("nothing to kill: no managed sessions");
    return results.every((r) => r.ok) ? 0 : 1;
  });
}

/** `sessions ls`: managed runs and their sessions (live or gone); `--prune` forgets runs whose sessions are all gone. */
export async function lsCommand(o: { prune?: boolean }, out: Output): Promise<number> {
  return withViews(async (views, { corrupt }) => {
    const rows: {
      run: string;
      kind: string;
      backend: string;
      host: string;
      created: string;
      session: string;
      live: boolean;
      tabs: number;
    }[] = [];
    for (const v of views) {
      const report = await v.status();
      for (const s of report.sessions) {
        rows.push({
          run: v.run.id,
          kind: v.run.kind,
          backend: v.backend,
          host: machineOf(s.host) ?? "local",
          created: new Date(v.run.createdAt).toISOString(),
          session: s.session,
          live: s.exists,
          tabs: s.tabs.length,
        });
      }
      if (o.prune && report.sessions.every((s) => !s.exists && !s.error)) await v.deleteRecord();
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
      ["SESSION", "HOST", "BACKEND", "TABS", "STATE", "RUN", "CREATED"],
      rows.map((r) => [
        r.session,
        r.host,
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
  });
}
