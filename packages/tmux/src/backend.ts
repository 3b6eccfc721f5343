import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  type BackendCapabilities,
  type Command,
  type ExitMode,
  envSeconds,
  type Host,
  type HostInfo,
  type KillOutcome,
  type LayoutConfig,
  type ListedSession,
  LOG_WRITER_PROBE,
  type LogWriterMode,
  type ManagedSession,
  McError,
  normaliseStartDir,
  type PaneEvidence,
  type PreparedSession,
  parseLogWriterProbe,
  type SessionBackend,
  type SessionObservation,
  type SessionSpec,
  type StartTabOptions,
  shQuote,
  wrappedTabs,
} from "@mc/core";
import { isNoServer, isNoSession, tmuxError } from "./errors.js";
import {
  buildName,
  exactSession,
  PANE_FORMAT,
  renameCommand,
  SESSION_FORMAT,
  type TmuxTab,
  type TmuxTarget,
  tmuxArgs,
  tmuxSessionFiles,
  tmuxStoredName,
  windowArgs,
} from "./generate.js";
import { type PaneRow, paneTab, parsePanes, parseSessions } from "./parse.js";
import { MIN_TMUX_VERSION, parseTmuxVersion, type TmuxBackendOptions, toSocket } from "./server.js";
import { registerStop, runPendingStops, type StopHookContext } from "./stop-hook.js";

/** How long the session list fetched with the version check stays good for the plan that asked for it. */
const EARLY_LIST_MS = 1000;
/** How long a tmux server may take to answer one call (a healthy one answers in milliseconds). */
const TMUX_ANSWER_MS = 15_000;

/**
 * `MC_TMUX_TIMEOUT` (seconds, read by the sessions process for every host it drives) overrides those 15 s:
 * a loaded machine may want more, a script (or a test of a stopped server) less. A value that is not a
 * number of seconds from 0.1 to 3600 is refused (the sessions CLI refuses it before any command), never read
 * as "no timeout".
 */
export function tmuxAnswerMs(env: NodeJS.ProcessEnv = process.env): number {
  const s = envSeconds(TMUX_TIMEOUT_ENV, 3600, env);
  return s === undefined ? TMUX_ANSWER_MS : Math.round(s * 1000);
}
/** The variable {@link tmuxAnswerMs} reads. */
export const TMUX_TIMEOUT_ENV = "MC_TMUX_TIMEOUT";

/** What tmux can do (see {@link BackendCapabilities}). */
export const TMUX_CAPABILITIES: BackendCapabilities = {
  addTabsLater: true,
  heldTabsOpen: false,
  closeTab: true,
  nativeExitStatus: true,
  renameSession: true,
  attachFromInside: true,
  panes: true,
  listsForeignSessions: true,
  keepPane: true,
  logs: true,
  stopHook: true,
};

/** What is at a socket path when it is something other than a socket (following links); else undefined. */
async function notASocket(host: Host, path: string): Promise<string | undefined> {
  if (host.id === "local") {
    const { stat } = await import("node:fs/promises");
    const st = await stat(path).catch(() => undefined);
    if (!st || st.isSocket()) return undefined;
    return st.isDirectory() ? "a directory" : st.isFile() ? "a regular file" : "not a socket";
  }
  const r = await host.run({
    file: "/bin/sh",
    args: [
      "-c",
      '[ -e "$1" ] || exit 0; [ -S "$1" ] && exit 0; [ -d "$1" ] && echo dir && exit 0; [ -f "$1" ] && echo file || echo other',
      "sh",
      path,
    ],
  });
  const out = r.stdout.trim();
  return out === "dir"
    ? "a directory"
    : out === "file"
      ? "a regular file"
      : out === "other"
        ? "not a socket"
        : undefined;
}

/** Every command of a layout for the tmux build: wrapper fields plus each pane's split, size and focus. */
/** tmux's remain-on-exit for a run's `--exit` mode: on to keep, off to close, the user's for a kept shell. */
function exitPanes(mode: ExitMode | undefined): boolean | undefined {
  return mode === "keep" ? true : mode === "close" ? false : undefined;
}

function tmuxTabs(layout: LayoutConfig, home?: string): TmuxTab[] {
  return wrappedTabs(layout).map((w) => {
    const t = layout.layoutTabs[w.index]!;
    const p = w.pane ? t.panes![w.pane - 1]! : undefined;
    return {
      ...w,
      ...(home === undefined ? {} : { startDir: normaliseStartDir(w.startDir, home) }),
      ...(p?.split ? { split: p.split } : {}),
      ...(p?.size === undefined ? {} : { size: p.size }),
      ...(p?.focus ? { focus: true } : {}),
      ...(!w.pane && t.layout ? { layout: t.layout } : {}),
    };
  });
}

/**
 * Whether a session found by its recorded tmux id (or name) is the recorded one by the name mc stamped
 * on it (`@mc_name`): a new server numbers its sessions from `$0` again, so after a server died another
 * session of the same run can hold a dead one's id (review H23-1: `kill x` killed `y`). A session without
 * the stamp (mc's before it had one) is taken by its run id alone.
 */
function sameSession(mcName: string | undefined, s: Pick<ManagedSession, "name">): boolean {
  return !mcName || mcName === s.name;
}

/** What a command file is, in a dry run: `command of tab 2`, `command of tab 2 pane 1`. */
function commandLabel(t: TmuxTab): string {
  return `command of tab ${t.index}${t.pane ? ` pane ${t.pane}` : ""}`;
}

/** The tmux {@link SessionBackend}: one `source-file` per session build, one `list-panes -a` per poll. */
export class TmuxBackend implements SessionBackend {
  readonly name = "tmux";
  readonly capabilities = TMUX_CAPABILITIES;
  readonly host: Host;
  readonly target: TmuxTarget;
  readonly appearTimeoutMs = 5000;
  readonly startVerifies = true;
  readonly lockName: string;
  /** How long one tmux call may wait for its server (see TmuxBackendOptions.answerTimeoutMs). */
  private readonly answerMs: number;
  private checked = false;
  private logWriter: LogWriterMode | undefined;
  private early: { at: number; listing: ReturnType<Host["run"]> } | undefined;
  /** Session ids by mc name, from the last listing (restart kills by id: names can be rewritten). */
  private idsByName = new Map<string, string>();

  constructor(host: Host, options: TmuxBackendOptions = {}) {
    this.host = host;
    this.target = { tmux: options.tmux ?? "tmux", socket: toSocket(options.socket) };
    this.answerMs = options.answerTimeoutMs ?? tmuxAnswerMs();
    const socket = this.target.socket;
    const sock = socket === undefined ? "default" : "path" in socket ? `S${socket.path}` : `L${socket.name}`;
    this.lockName = `tmux-${createHash("sha256").update(sock).digest("hex").slice(0, 16)}`;
  }

  /**
   * A tmux call that must answer: a server that does not (stopped, deadlocked, blocked on a dead client)
   * fails it after `answerTimeoutMs` rather than hanging every command that asks it.
   */
  private cmd(...args: string[]): Command {
    return { ...tmuxArgs(this.target, ...args), timeoutMs: this.answerMs };
  }
  /** What the onStop registration needs of this backend (stop-hook.ts). */
  private stopContext(): StopHookContext {
    return { host: this.host, lockName: this.lockName, target: this.target, cmd: (...a) => this.cmd(...a) };
  }

  /** tmux's stored spelling ({@link tmuxStoredName}): what `tmux ls` shows and a listed session's key is. */
  sessionKey(name: string): string {
    return tmuxStoredName(name);
  }

  /** A space is `_`, as machineconfig's TmuxLocalManager names sessions (`g 2` → `g_2`). */
  layoutSessionName(layoutName: string): string {
    return layoutName.replaceAll(" ", "_");
  }

  async checkAvailable(): Promise<void> {
    if (this.checked) return;
    // Which log writer this machine runs (perl, or awk with or without -W interactive) is asked once here,
    // not once per pane. The
    // session list a plan asks for next is fetched meanwhile (one round trip less before a launch).
    const listing = this.host.run(this.cmd("list-sessions", "-F", SESSION_FORMAT));
    listing.catch(() => {});
    const socket = this.target.socket && "path" in this.target.socket ? this.target.socket.path : undefined;
    const [r, writer, what] = await Promise.all([
      this.host.run(this.cmd("-V")),
      this.host.run({ file: LOG_WRITER_PROBE[0], args: LOG_WRITER_PROBE.slice(1) }),
      socket === undefined ? undefined : notASocket(this.host, socket),
    ]);
    // tmux's server unlinks whatever is at its socket path: a layouts file given as --socket by mistake
    // was replaced by the socket.
    if (what)
      throw new McError(
        "USAGE",
        `the tmux socket ${socket} is ${what === "not a socket" ? "something else" : what}, not a socket: tmux would replace it`,
        {
          backend: "tmux",
          op: "start",
          hint: "give --socket a path that does not exist yet or is a tmux server's socket",
        },
      );
    this.logWriter = parseLogWriterProbe(writer.stdout);
    const v = parseTmuxVersion(r.stdout);
    if (
      r.exitCode === 0 &&
      v &&
      (v[0] < MIN_TMUX_VERSION[0] || (v[0] === MIN_TMUX_VERSION[0] && v[1] < MIN_TMUX_VERSION[1]))
    ) {
      throw new McError(
        "VERSION_UNSUPPORTED",
        `tmux ${v.join(".")} is too old; mc needs tmux ${MIN_TMUX_VERSION.join(".")} or newer`,
        {
          backend: "tmux",
          op: "start",
          hint: "install a newer tmux from your package manager",
        },
      );
    }
    this.checked = true;
    this.early = { at: performance.now(), listing };
  }

  async listSessions(): Promise<ListedSession[]> {
    // The list fetched with the version check serves the one call right after it (a plan), never later.
    const early = this.early;
    this.early = undefined;
    const r = await (early && performance.now() - early.at < EARLY_LIST_MS
      ? early.listing
      : this.host.run(this.cmd("list-sessions", "-F", SESSION_FORMAT)));
    if (r.exitCode !== 0) {
      if (isNoServer(r.stderr)) return [];
      throw tmuxError("list", r.exitCode, r.stderr);
    }
    const sessions = parseSessions(r.stdout);
    this.idsByName = new Map(sessions.map((s) => [s.name, s.id]));
    // A session mc did not name is known by tmux's own name, its key as it is (mc's are keyed by their
    // mc name, whatever tmux calls them now).
    return sessions.map((s) => ({
      name: s.name,
      ...(s.named ? (s.key !== s.name ? { shownAs: s.key } : {}) : { key: s.key }),
      ...(s.runId ? { runId: s.runId } : {}),
    }));
  }

  prepare(spec: SessionSpec, info: HostInfo): PreparedSession {
    const tabs = tmuxTabs(spec.layout);
    const f = tmuxSessionFiles(
      this.target,
      {
        name: spec.name,
        index: spec.index,
        tabs,
        dir: spec.artefactDir,
        runDir: spec.runDir,
        runId: spec.runId,
        keepShell: spec.keepShell,
        pending: spec.pendingTabs,
        rename: spec.action !== "replace",
        keepPanes: exitPanes(spec.exitMode),
        logWriter: this.logWriter,
      },
      info,
    );
    return {
      ...spec,
      artefacts: [
        { path: f.tabScriptPath, content: f.tabScript, mode: 0o700, description: "tab wrapper (POSIX sh)" },
        { path: f.buildPath, content: f.build, description: "tmux build script" },
        ...f.commandFiles.map((c, i) => ({ ...c, mode: 0o600, description: commandLabel(tabs[i]!) })),
      ],
      start: [f.start],
    };
  }

  async start(p: PreparedSession): Promise<Record<string, unknown>> {
    const runId = p.runId;
    // The socket directory tmux makes itself for -L names (`$TMUX_TMPDIR/tmux-<uid>`, 0700), which mc
    // pinned to a path: with -S tmux would not make it, and would fail.
    const socket = this.target.socket;
    if (socket && "path" in socket && /\/tmux-\d+\/[^/]+$/.test(socket.path)) {
      const dir = socket.path.slice(0, socket.path.lastIndexOf("/"));
      // tmux refuses a socket directory others can enter: 0700, as tmux makes it.
      if ((await this.host.stat(dir)) === undefined)
        await this.host.run({ file: "mkdir", args: ["-p", "-m", "700", "--", dir] }).catch(() => {});
    }
    const r = await this.host.run(p.start[0]!);
    const sessionId = r.stdout
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => /^\$\d+$/.test(l))
      .at(-1);
    // tmux 3.3a exits 0 when it could not even create its server ("error creating <socket> (…)"): only
    // the session id the build prints says a session exists.
    if (r.exitCode !== 0 || !sessionId) {
      // Remove whatever was built: by the id the build printed (source-file carries on after a failing
      // line, so the build may already have taken its real name), else by its private build name.
      await this.host
        .run(this.cmd("kill-session", "-t", sessionId ?? `=${buildName(runId, p.index)}`))
        .catch(() => {});
      throw tmuxError(
        "start",
        r.exitCode === 0 ? 1 : r.exitCode,
        r.stderr.trim() || "tmux started no session",
      );
    }
    if (p.layout.onStop !== undefined) await registerStop(this.stopContext(), p, sessionId);
    return {
      tabScript: join(p.artefactDir, "tabs.sh"),
      key: tmuxStoredName(p.name),
      runId,
      sessionId,
      ...(exitPanes(p.exitMode) === undefined ? {} : { keepPanes: exitPanes(p.exitMode) }),
    };
  }

  /** A replacement built under its private name takes its real name (the session it replaces is gone). */
  async finish(p: PreparedSession): Promise<void> {
    const r = await this.host.run({
      ...renameCommand(this.target, undefined, buildName(p.runId, p.index), p.name),
      timeoutMs: this.answerMs,
    });
    if (r.exitCode !== 0) throw tmuxError("start", r.exitCode, r.stderr);
  }

  async finishRecorded(s: ManagedSession): Promise<void> {
    const id = s.data?.sessionId;
    if (typeof id !== "string" || !id)
      throw new McError("STATE_CORRUPT", `no tmux session id is recorded for "${s.name}"`, {
        backend: "tmux",
      });
    const r = await this.host.run({
      ...renameCommand(this.target, id, s.name, s.name),
      timeoutMs: this.answerMs,
    });
    if (r.exitCode !== 0) throw tmuxError("start", r.exitCode, r.stderr);
  }

  /** The exact target of a session: its tmux id when known (`$3`), else `=name`. */
  private targetOf(name: string, session?: Pick<ManagedSession, "data">): string {
    const id = session?.data?.sessionId ?? this.idsByName.get(name);
    return typeof id === "string" && id ? id : exactSession(name);
  }

  /**
   * Kill a session. Given the managed session, only if it still carries the run id mc gave it: a
   * session of the same name that someone else created since is never touched. "gone" when there was
   * nothing of mc's left to kill (no server, no such session, or a session that is not mc's any more).
   */
  async kill(name: string, session?: ManagedSession): Promise<KillOutcome> {
    const runId = session?.data?.runId;
    // A record of mc's always has its run id (the session's stamp): one without it (edited by hand) cannot
    // tell the session of that name is the one mc started, and a kill by name destroyed a foreign one.
    if (session && typeof runId !== "string")
      throw new McError(
        "STATE_CORRUPT",
        `the record of session "${name}" has no run id: mc cannot tell that the session of that name is the one it started; nothing was killed`,
        {
          backend: "tmux",
          op: "kill",
          hint: "if it is yours, end it with tmux kill-session; sessions ls --prune forgets the record",
        },
      );
    if (typeof runId === "string" && session?.data?.sessionId === undefined)
      return this.killByMarks(name, runId, session);
    const target = this.targetOf(name, session);
    if (typeof runId === "string") {
      const owner = await this.host.run(
        this.cmd("display-message", "-p", "-t", `${target}:`, "#{@mc_run}\t#{@mc_name}"),
      );
      if (owner.exitCode !== 0) {
        if (isNoSession(owner.stderr) || isNoServer(owner.stderr)) return "gone";
        throw tmuxError("kill", owner.exitCode, owner.stderr);
      }
      const [run, mcName] = owner.stdout.replace(/\n$/, "").split("\t");
      if (run !== runId || !sameSession(mcName, session!)) return "gone";
    }
    const r = await this.host.run(this.cmd("kill-session", "-t", target));
    const gone = r.exitCode !== 0 && (isNoSession(r.stderr) || isNoServer(r.stderr));
    if (r.exitCode !== 0 && !gone) throw tmuxError("kill", r.exitCode, r.stderr);
    // The server's hook may not run for its last session (it exits first): make sure onStop does.
    if (session?.layout.onStop !== undefined) await runPendingStops(this.stopContext());
    return gone ? "gone" : "killed";
  }

  /**
   * Kill what a run made of a session whose tmux id mc never learnt (its start was not seen through, or
   * its run's record is gone): every session stamped with that run id and the session's name, whatever
   * tmux calls it now (a replacement can still have its private build name).
   */
  private async killByMarks(name: string, runId: string, session?: ManagedSession): Promise<KillOutcome> {
    const r = await this.host.run(this.cmd("list-sessions", "-F", SESSION_FORMAT));
    if (r.exitCode !== 0) {
      if (isNoServer(r.stderr)) return "gone";
      throw tmuxError("kill", r.exitCode, r.stderr);
    }
    const key = tmuxStoredName(name);
    const ours = parseSessions(r.stdout).filter(
      (x) => x.runId === runId && (x.key === key || x.name === name),
    );
    let killed = false;
    for (const x of ours) {
      const k = await this.host.run(this.cmd("kill-session", "-t", x.id));
      if (k.exitCode === 0) killed = true;
      else if (!isNoSession(k.stderr) && !isNoServer(k.stderr)) throw tmuxError("kill", k.exitCode, k.stderr);
    }
    if (session?.layout.onStop !== undefined) await runPendingStops(this.stopContext());
    return killed ? "killed" : "gone";
  }

  /**
   * One `list-panes -a` for every session. Sessions are matched by tmux's session id when known (names
   * can be rewritten by tmux), else by name, and always by run id: a same-named session another run built
   * since (restart, or a user) is not this one. A pane's tab comes from its start command.
   */
  async observe(sessions: readonly ManagedSession[]): Promise<SessionObservation[]> {
    const r = await this.host.run(this.cmd("list-panes", "-a", "-F", PANE_FORMAT));
    let panes: PaneRow[] = [];
    let error: string | undefined;
    if (r.exitCode === 0) panes = parsePanes(r.stdout);
    else if (isNoServer(r.stderr)) {
      error = "the tmux server is not running";
      // A server that exited with its last session may not have run its session-closed hook: run the
      // onStop of what it had now (the dispatcher claims each one once).
      if (sessions.some((s) => s.layout.onStop !== undefined)) await runPendingStops(this.stopContext());
    }
    // A server whose last session just ended (it exits a moment later) has no current target: no panes.
    else if (!/no current target/i.test(r.stderr)) throw tmuxError("status", r.exitCode, r.stderr);
    const bySession = new Map<string, PaneRow[]>();
    for (const p of panes) {
      for (const k of [`id:${p.sessionId}`, `name:${p.session}`, `run:${p.runId}\u0000${p.mcName}`]) {
        const list = bySession.get(k);
        if (list) list.push(p);
        else bySession.set(k, [p]);
      }
    }
    return sessions.map((s) => {
      const id = s.data?.sessionId;
      const runId = s.data?.runId;
      let list = (
        bySession.get(typeof id === "string" ? `id:${id}` : `name:${tmuxStoredName(s.name)}`) ?? []
      ).filter((p) => typeof runId === "string" && p.runId === runId && sameSession(p.mcName, s));
      // Without its id (a start not seen through), by the marks mc stamped on it, whatever its tmux name.
      if (!list.length && typeof id !== "string" && typeof runId === "string")
        list = bySession.get(`run:${runId}\u0000${s.name}`) ?? [];
      const tabScript = String(s.data?.tabScript ?? join(s.runDir, "tabs.sh"));
      const byIndex = new Map<number, PaneEvidence>();
      // A tab's newest attempt speaks for it (a rerun's window, while the one it replaces is still open).
      const attempts = new Map<number, number>();
      for (const p of list) {
        const tab = paneTab(p.startCommand, tabScript);
        if (tab === undefined || (attempts.get(tab.index) ?? 0) >= tab.attempt) continue;
        const i = tab.index;
        attempts.set(i, tab.attempt);
        // The wrapper stamps its command's status on the pane (@mc_exit); pane_dead_status is tmux's own
        // word for the wrapper's end, unreliable on 3.3a (toolchain notes) and so only a fallback.
        const status = p.exit ?? (p.dead ? p.deadStatus : undefined);
        byIndex.set(i, {
          ref: p.paneId,
          pid: p.pid,
          alive: !p.dead,
          attempt: tab.attempt,
          ...(status === undefined ? {} : { exitStatus: status }),
        });
      }
      return { exists: list.length > 0, panes: byIndex, ...(error ? { error } : {}) };
    });
  }

  /** Open tab `index` of a managed session as a new window (its wrapper script already holds every tab). */
  async startTab(
    session: ManagedSession,
    index: number,
    info: HostInfo,
    o: StartTabOptions = {},
  ): Promise<void> {
    const tab = session.layout.layoutTabs[index];
    if (!tab)
      throw new McError("USAGE", `session "${session.name}" has no tab ${index}`, {
        backend: "tmux",
        op: "start",
      });
    const tabScript = String(session.data?.tabScript ?? join(session.runDir, "tabs.sh"));
    // One tmux invocation, so the window is last (-a after {end}) and its panes, logs and remain-on-exit
    // are in place before the server reads a byte from a pane: a command that prints and exits at once
    // is kept.
    const last = `${this.targetOf(session.name, session)}:{end}`;
    const panes = tmuxTabs(session.layout, info.home).filter((t) => t.index === index);
    const args = windowArgs({
      create: ["new-window", "-d", "-P", "-F", "#{window_id}", "-a", "-t", last],
      target: last,
      panes,
      tabScript,
      runDir: session.runDir,
      logWriter: this.logWriter,
      keepPanes: typeof session.data?.keepPanes === "boolean" ? session.data.keepPanes : undefined,
      attempt: o.attempt,
    });
    const r = await this.host.run(this.cmd(...args.flatMap((a, i) => (i === 0 ? a : [";", ...a]))));
    if (r.exitCode !== 0) {
      // The window may be there with some of its panes running (a split that did not fit): it goes.
      const id = /^@\d+$/m.exec(r.stdout)?.[0];
      if (id) await this.host.run(this.cmd("kill-window", "-t", id)).catch(() => {});
      throw tmuxError("start", r.exitCode, r.stderr);
    }
    // A restarted tab goes back to its place, before the next tab's window. Its place is cosmetic: the tab
    // runs either way, so a window that went meanwhile leaves it last.
    const id = /^@\d+$/m.exec(r.stdout)?.[0];
    if (!o.before || !id) return;
    // move-window takes a window: the pane's (tmux refuses a pane id there).
    const w = await this.host.run(this.cmd("display-message", "-p", "-t", o.before, "#{window_id}"));
    const win = /^@\d+$/m.exec(w.stdout)?.[0];
    if (w.exitCode === 0 && win)
      await this.host.run(this.cmd("move-window", "-d", "-b", "-s", id, "-t", win));
  }

  /** Close one tab by its pane id (from status `ref`). */
  async closeTab(ref: string): Promise<void> {
    const r = await this.host.run(this.cmd("kill-pane", "-t", ref));
    if (r.exitCode !== 0 && !/can't find pane/i.test(r.stderr)) throw tmuxError("kill", r.exitCode, r.stderr);
  }

  attachCommand(name: string, env: NodeJS.ProcessEnv = process.env, session?: ManagedSession): Command {
    // By id when known: it follows a rename made in tmux since (the CLI checks first that it is still mc's).
    const target = this.targetOf(name, session);
    const insideSameServer = Boolean(env.TMUX) && this.insideThisServer(env.TMUX!);
    if (insideSameServer) return tmuxArgs(this.target, "switch-client", "-t", target);
    const c = tmuxArgs(this.target, "attach-session", "-t", target);
    // Inside another tmux server, attach nests a client; tmux refuses unless $TMUX is cleared.
    return env.TMUX ? { ...c, env: { TMUX: "" } } : c;
  }

  /** A plain new session: attached here, or switched to from inside a tmux of the same server. */
  newSessionCommand(env: NodeJS.ProcessEnv = process.env): Command {
    if (env.TMUX && this.insideThisServer(env.TMUX)) {
      const [file, ...args] = [this.target.tmux, ...tmuxArgs(this.target).args];
      const tmux = [file!, ...args].map(shQuote).join(" ");
      return {
        file: "/bin/sh",
        args: [
          "-c",
          `id=$(${tmux} new-session -d -P -F '#{session_id}') && exec ${tmux} switch-client -t "$id"`,
        ],
      };
    }
    const c = tmuxArgs(this.target, "new-session");
    return env.TMUX ? { ...c, env: { TMUX: "" } } : c;
  }

  private insideThisServer(tmuxEnv: string): boolean {
    const socketPath = tmuxEnv.split(",")[0] ?? "";
    const s = this.target.socket;
    if (s === undefined) return /\/default$/.test(socketPath);
    return "path" in s ? socketPath === s.path : socketPath.endsWith(`/${s.name}`);
  }
}
