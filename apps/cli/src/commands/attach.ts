import { resolve } from "node:path";
import {
  type Command,
  type ListedSession,
  listedKeys,
  localHost,
  McError,
  type SessionBackend,
  shQuote,
} from "@mc/core";
import { nameText, sessionsCommand } from "../display.js";
import { interactive } from "../layouts-source.js";
import { display, type Output } from "../output.js";
import {
  type BackendName,
  buildManager,
  isAutoBackend,
  type LoadedRun,
  resolveBackend,
} from "../registry.js";
import { findSession, findSessions, gather, socketField, withRuns } from "./runs.js";

/** Where a managed session is, for a command that names it. */
const whereOf = (run: LoadedRun, machine: string) => ({ machine, ...socketField(run, machine) });

/** Options of `sessions attach`. */
export interface AttachOptions {
  print?: boolean;
  host?: string;
  /** ssh client config for `--host` (sessions mc did not start there; mc's own keep their run's). */
  sshConfig?: string;
  socket?: string;
  backend?: string;
  newSession?: boolean;
  /** machineconfig's `-k/--kill-all`: refused, with where that went. */
  killAll?: boolean;
}

/** One entry of the attach picker. */
type Choice =
  | { kind: "managed"; name: string; run: LoadedRun; machine: string; running: boolean }
  | { kind: "other"; name: string; running: boolean }
  | { kind: "new" }
  | { kind: "kill-mc" }
  | { kind: "kill-all" };

/**
 * The backend of the machine sessions mc did not start are looked for on (and new plain ones made): this
 * one, or the `--host` machine over ssh (its attach runs there, through ssh -t).
 */
interface Target {
  name: BackendName;
  backend: SessionBackend;
  /** `--host`: the machine, and how a command of its backend becomes one this terminal runs. */
  machine?: string;
  wrap: (cmd: Command) => Command;
  close: () => Promise<void>;
}

async function targetBackend(o: AttachOptions): Promise<Target> {
  const backendOptions = (o: AttachOptions, name: BackendName) =>
    (name === "tmux" && o.socket !== undefined ? { socket: o.socket } : {}) as never;
  if (o.host === undefined || o.host === "local") {
    const name = await resolveBackend(o.backend ?? "auto");
    const m = await buildManager(name, [], {
      backendOptions: backendOptions(o, name),
      placement: { hosts: [] },
    });
    return { name, backend: m.backendOf(), wrap: (c) => c, close: () => m.close() };
  }
  const host = o.host;
  const build = (name: BackendName) =>
    buildManager(name, [], {
      backendOptions: backendOptions(o, name),
      placement: { hosts: [host], ...(o.sshConfig === undefined ? {} : { sshConfig: resolve(o.sshConfig) }) },
    });
  // auto is decided on that machine, not this one.
  let name: BackendName = isAutoBackend(o.backend) ? "tmux" : await resolveBackend(o.backend!);
  let m = await build(name);
  if (isAutoBackend(o.backend)) {
    const there = await resolveBackend("auto", m.hostOf(host));
    if (there !== name) {
      await m.close();
      name = there;
      m = await build(name);
    }
  }
  const h = m.hostOf(host);
  return {
    name,
    backend: m.backendOf(host),
    machine: host,
    wrap: (c) => h.interactiveCommand(c),
    close: () => m.close(),
  };
}

/** Run (or print) an attach command. Without a terminal, only --print makes sense: say so. */
async function hand(
  cmd: Command,
  o: AttachOptions,
  out: Output,
  json: Record<string, unknown>,
): Promise<number> {
  if (out.json) {
    out.printJson({ ...json, command: { file: cmd.file, args: cmd.args, env: cmd.env ?? {} } });
    return 0;
  }
  if (o.print) {
    const words = [cmd.file, ...cmd.args];
    // A word with a control or invisible character would be printed escaped (`\e`), naming another
    // session once pasted (review H66-7). Not written as $'…' either: dash (Debian's sh) and fish read
    // that as other text, so the paste would still name another session, silently.
    const unprintable = words.find((w) => w.includes("\n") || display(w) !== w);
    if (unprintable !== undefined)
      throw new McError(
        "USAGE",
        `--print cannot write this attach command so that a shell reads it back: "${nameText(unprintable)}" holds a control or invisible character`,
        {
          backend: "cli",
          op: "attach",
          hint: `run sessions attach itself in a terminal (it passes the name exactly; without a name it offers a picker), or take the exact argv from --json`,
        },
      );
    out.out(words.map(shQuote).join(" "));
    return 0;
  }
  if (!interactive()) {
    throw new McError("USAGE", "attach needs a terminal, and this is not one", {
      backend: "cli",
      op: "attach",
      hint: "sessions attach --print NAME prints the command to run from a terminal",
    });
  }
  return localHost().runInteractive(cmd);
}

/** Attach to a session mc manages, only while it is still the one mc started. */
async function attachManaged(run: LoadedRun, name: string, machine: string, o: AttachOptions, out: Output) {
  // Only its machine: the run's others are not contacted and cannot delay the attach (review H53-1).
  const report = await run.manager.checkAllSessionsStatus({ processes: false, machines: [machine] });
  const st = report.sessions.find((s) => s.session === name && s.machine === machine);
  const place = machine === "local" ? "" : ` on ${machine}`;
  const down = report.machines.find((h) => h.machine === machine && !h.reachable);
  if (down) {
    // Not an answer that it is gone: the machine (or its tmux server) did not answer, or its tool is not
    // installed there (exit 6, as status says it: review H57-5).
    const missing = down.code === "BINARY_NOT_FOUND";
    throw new McError(
      missing ? "BINARY_NOT_FOUND" : "SSH_UNREACHABLE",
      `cannot reach session "${nameText(name)}"${place}: ${down.error ?? "no answer"}`,
      {
        backend: "cli",
        op: "attach",
        hint: missing
          ? `install ${run.backend}${place} or put it on PATH`
          : "sessions ls shows which machines answer",
      },
    );
  }
  if (!st?.exists) {
    throw new McError(
      "SESSION_NOT_FOUND",
      `session "${nameText(name)}"${place} is gone${st?.error ? ` (${st.error})` : ""}`,
      { backend: "cli", op: "attach", hint: "sessions ls --prune forgets sessions that are gone" },
    );
  }
  const cmd = run.manager.attachToSession(name, process.env, machine);
  return hand(cmd, o, out, {
    session: name,
    backend: run.backend,
    ...(machine === "local" ? {} : { machine }),
  });
}

/** Every session to offer: mc's (marked), then the tool's others; running ones before ended ones. */
async function choices(
  runs: LoadedRun[],
  listed: ListedSession[],
  o: AttachOptions,
  machine = "local",
): Promise<Choice[]> {
  const statuses = await gather(runs, { host: o.host, all: true, processes: false });
  const managed: Choice[] = statuses.flatMap((st) => {
    // The run of that session on its own server (two servers may each hold one of that name).
    const run = runs.find(
      (r) =>
        r.manager.managed.some((s) => s.name === st.session && s.machine === st.machine) &&
        socketField(r, st.machine).socket === st.socket,
    );
    return run
      ? [{ kind: "managed" as const, name: st.session, run, machine: st.machine, running: st.exists }]
      : [];
  });
  const mine = new Set(managed.map((c) => (c.kind === "managed" && c.machine === machine ? c.name : "")));
  const others: Choice[] = listed
    .filter((s) => !mine.has(s.name) && !s.runId)
    .map((s) => ({ kind: "other" as const, name: s.name, running: !s.exited }));
  const order = (c: Choice) => (c.kind === "managed" || c.kind === "other" ? (c.running ? 0 : 1) : 2);
  return [...managed, ...others].sort((a, b) => order(a) - order(b));
}

function label(c: Choice): string {
  switch (c.kind) {
    case "managed":
      return `${nameText(c.name)}${c.machine === "local" ? "" : ` (${c.machine})`}  [mc]${c.running ? "" : "  ended"}`;
    case "other":
      return `${nameText(c.name)}${c.running ? "" : "  ended"}`;
    case "new":
      return "new session";
    case "kill-mc":
      return "kill the sessions mc started";
    case "kill-all":
      return "kill ALL sessions, also those mc did not start…";
  }
}

/**
 * `sessions attach [NAME]`: the daily "get me into a session". A name reaches any session of the backend,
 * managed or not (mc's by the name in the file or the name the tool shows); without one a picker offers
 * every session, mc's marked and running ones first, plus a new session and kill choices (a kill of
 * sessions mc did not start asks again). `-n` starts a plain new session.
 */
export async function attachCommand(
  name: string | undefined,
  o: AttachOptions,
  out: Output,
): Promise<number> {
  if (o.killAll)
    throw new McError(
      "USAGE",
      "attach has no -k/--kill-all (machineconfig's): mc kills only the sessions it started, by name or all of them",
      {
        backend: "cli",
        op: "attach",
        hint: "sessions kill --all kills every session mc started; sessions attach without a name offers a picker that can also kill the others, after naming them and asking",
      },
    );
  return withRuns(
    out,
    async (runs) => {
      // mc's own session of that name needs no look at the tool's other sessions (nor, on another
      // machine, a connection before the one attachManaged makes).
      if (
        name !== undefined &&
        !o.newSession &&
        findSessions(runs, name, o.host, { byLayout: false }).length
      ) {
        const f = findSession(runs, name, o.host);
        return attachManaged(f.run, f.name, f.machine, o, out);
      }
      const local = await targetBackend(o);
      try {
        return await attachWith(runs, local, name, o, out);
      } finally {
        await local.close().catch(() => {});
      }
    },
    o,
  );
}

async function attachWith(
  runs: LoadedRun[],
  local: Target,
  name: string | undefined,
  o: AttachOptions,
  out: Output,
): Promise<number> {
  if (o.newSession) return newSession(local, o, out);
  // Over ssh, a listing that fails is an error (an unreachable machine is not one without sessions).
  const listed = local.machine
    ? await local.backend.listSessions()
    : await local.backend.listSessions().catch(() => [] as ListedSession[]);
  if (name !== undefined) {
    // mc's session of that name was taken before (attachCommand). Then a session the tool shows under
    // exactly that name (never mc's session of a layout of that name, which a rename past that very
    // session called NAME_1); then mc's session by its layout's name.
    // Also the name the tool shows for mc's session renamed by hand (review HR85-3: refused, though the
    // help says the tool's name is taken).
    const theirs = listed.some(
      (s) =>
        s.name === name ||
        s.shownAs === name ||
        listedKeys(local.backend, s).includes(local.backend.sessionKey(name)),
    );
    if (!theirs && !local.machine && o.socket === undefined && isAutoBackend(o.backend)) {
      // auto chose one tool of this machine; a session of that name may be the other's (zellij beside tmux).
      const other = await otherToolWith(name, local.name, o);
      if (other) return other.attach(out);
    }
    if (!theirs) {
      const f = findSession(runs, name, o.host);
      return attachManaged(f.run, f.name, f.machine, o, out);
    }
    return hand(local.wrap(local.backend.attachCommand(name, local.machine ? {} : process.env)), o, out, {
      session: name,
      backend: local.name,
      ...(local.machine ? { machine: local.machine } : {}),
    });
  }
  const all = await choices(runs, listed, o, local.machine);
  if (all.length === 0) return newSession(local, o, out);
  if (all.length === 1 && all[0]!.kind !== "new") return attachChoice(all[0]!, local, runs, o, out);
  if (!interactive() || o.print || out.json) {
    // Each choice as the command that finds it alone: its server where two hold one name, shell-quoted
    // (review H74-7: a bare name listed twice, which attach then refused as ambiguous).
    const place = (c: Choice) =>
      c.kind === "managed"
        ? sessionsCommand("attach", [{ name: c.name, ...whereOf(c.run, c.machine) }])
        : c.kind === "other"
          ? sessionsCommand("attach", [
              {
                name: c.name,
                ...(local.machine ? { machine: local.machine } : {}),
                ...(local.machine && o.sshConfig !== undefined ? { sshConfig: resolve(o.sshConfig) } : {}),
                ...(o.socket ? { socket: o.socket } : {}),
              },
            ])
          : "";
    throw new McError("USAGE", `several sessions: ${all.map(label).join(", ")}`, {
      backend: "cli",
      op: "attach",
      hint: `name one (with --print without a terminal): ${all.map(place).join("; ")}`,
    });
  }
  const { default: select } = await import("@inquirer/select");
  // The kill choices act on this machine's sessions and every run: not offered for another machine.
  const extra: Choice[] = local.machine
    ? [{ kind: "new" }]
    : [{ kind: "new" }, { kind: "kill-mc" }, { kind: "kill-all" }];
  const picked = await select<Choice>({
    message: "Attach to",
    choices: [...all, ...extra].map((c) => ({ name: display(label(c), { oneLine: true }), value: c })),
    pageSize: 15,
  });
  return attachChoice(picked, local, runs, o, out);
}

/** The other tool of this machine (tmux or zellij, when installed) if it has a session called `name`. */
async function otherToolWith(name: string, chosen: BackendName, o: AttachOptions) {
  for (const alt of ["tmux", "zellij"] as const) {
    if (alt === chosen || !(await localHost().which(alt))) continue;
    const m = await buildManager(alt, [], { backendOptions: {} as never, placement: { hosts: [] } });
    try {
      const b = m.backendOf();
      const listed = await b.listSessions().catch(() => [] as ListedSession[]);
      if (!listed.some((s) => s.name === name && !s.runId)) continue;
      return {
        attach: (out: Output) =>
          hand(b.attachCommand(name, process.env), o, out, { session: name, backend: alt }),
      };
    } finally {
      await m.close().catch(() => {});
    }
  }
  return undefined;
}

async function attachChoice(
  c: Choice,
  local: Target,
  runs: LoadedRun[],
  o: AttachOptions,
  out: Output,
): Promise<number> {
  switch (c.kind) {
    case "managed":
      return attachManaged(c.run, c.name, c.machine, o, out);
    case "other":
      return hand(local.wrap(local.backend.attachCommand(c.name, local.machine ? {} : process.env)), o, out, {
        session: c.name,
        backend: local.name,
        ...(local.machine ? { machine: local.machine } : {}),
      });
    case "new":
      return newSession(local, o, out);
    case "kill-mc":
      return killManaged(runs, out);
    case "kill-all":
      return killEverything(local, runs, out);
  }
}

async function newSession(local: Target, o: AttachOptions, out: Output) {
  if (!local.backend.newSessionCommand) {
    throw new McError("USAGE", `${local.name} cannot start a plain session here`, {
      backend: "cli",
      op: "attach",
    });
  }
  return hand(local.wrap(local.backend.newSessionCommand(local.machine ? {} : process.env)), o, out, {
    session: null,
    backend: local.name,
    new: true,
    ...(local.machine ? { machine: local.machine } : {}),
  });
}

async function killManaged(runs: LoadedRun[], out: Output): Promise<number> {
  let failed = 0;
  for (const r of runs) {
    for (const k of await r.manager.killAllSessions()) {
      if (!k.ok) failed++;
      out.err(`${k.ok ? out.c.green("✓") : out.c.red("✗")} ${k.name}${k.ok ? "" : `: ${k.error}`}`);
    }
  }
  return failed ? 1 : 0;
}

/** Kill everything of the backend here, mc's and others', only after the user confirms it. */
async function killEverything(local: Target, runs: LoadedRun[], out: Output) {
  const others = (await local.backend.listSessions()).filter((s) => !s.runId);
  const { default: select } = await import("@inquirer/select");
  const sure = await select({
    message: display(
      `Also kill ${others.length} session(s) mc did not start (${others.map((s) => nameText(s.name)).join(", ")})?`,
      {
        oneLine: true,
      },
    ),
    choices: [
      { name: "no, keep them", value: false },
      { name: "yes, kill them too", value: true },
    ],
  });
  const code = await killManaged(runs, out);
  if (!sure) return code;
  for (const s of others) {
    await local.backend.kill(s.name);
    out.err(`${out.c.green("✓")} killed ${nameText(s.name)} (not started by mc)`);
  }
  return code;
}
