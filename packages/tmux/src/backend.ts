import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  type Command,
  classifyExit,
  type Host,
  type HostInfo,
  type ManagedSession,
  McError,
  normaliseStartDir,
  type PreparedSession,
  type ProcessNode,
  parseTabRecord,
  recordOutcome,
  type SessionBackend,
  type SessionSpec,
  type SessionStatus,
  type StatusOptions,
  summarizeSession,
  type TabRecord,
  type TabStatus,
  tabRecordName,
} from "@mc/core";
import { isNoServer, isNoSession, tmuxError } from "./errors.js";
import {
  buildName,
  exactSession,
  noFormat,
  PANE_FORMAT,
  paneCommand,
  SESSION_FORMAT,
  type TmuxTarget,
  tmuxArgs,
  tmuxSessionFiles,
  tmuxSessionKey,
} from "./generate.js";
import { type PaneRow, paneTabIndex, parsePanes, parseSessions } from "./parse.js";

/** Oldest tmux mc supports: `new-session -e`/`-c` and `{}` parsing of 3.0, exact `=name` targets. */
export const MIN_TMUX_VERSION = [3, 0] as const;

/** Parse `tmux -V` (`tmux 3.3a`, `tmux next-3.4`, `tmux master`) into [major, minor]. */
export function parseTmuxVersion(out: string): [number, number] | undefined {
  const m = /(\d+)\.(\d+)/.exec(out);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** The tmux {@link SessionBackend}: one `source-file` per session build, one `list-panes -a` per status. */
export class TmuxBackend implements SessionBackend {
  readonly name = "tmux";
  readonly host: Host;
  readonly target: TmuxTarget;
  readonly keepShell: boolean;
  readonly runId: () => string;
  readonly appearTimeoutMs = 5000;
  readonly startVerifies = true;
  readonly lockName: string;
  private checked = false;
  /** Session ids by mc name, from the last listing (restart kills by id: names can be rewritten). */
  private idsByName = new Map<string, string>();
  /** Tab records read so far; a record with an end never changes and is not read again. */
  private readonly records = new Map<string, TabRecord>();

  constructor(host: Host, target: TmuxTarget, opts: { keepShell: boolean; runId: () => string }) {
    this.host = host;
    this.target = target;
    this.keepShell = opts.keepShell;
    this.runId = opts.runId;
    const sock =
      target.socket === undefined
        ? "default"
        : "path" in target.socket
          ? `S${target.socket.path}`
          : `L${target.socket.name}`;
    this.lockName = `tmux-${createHash("sha256").update(sock).digest("hex").slice(0, 16)}`;
  }

  private cmd(...args: string[]): Command {
    return tmuxArgs(this.target, ...args);
  }

  sessionKey(name: string): string {
    return tmuxSessionKey(name);
  }

  async checkAvailable(): Promise<void> {
    if (this.checked) return;
    const r = await this.host.run(this.cmd("-V"));
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
  }

  async listSessions(): Promise<string[]> {
    const r = await this.host.run(this.cmd("list-sessions", "-F", SESSION_FORMAT));
    if (r.exitCode !== 0) {
      if (isNoServer(r.stderr)) return [];
      throw tmuxError("list", r.exitCode, r.stderr);
    }
    const sessions = parseSessions(r.stdout);
    this.idsByName = new Map(sessions.map((s) => [s.name, s.id]));
    return sessions.map((s) => s.name);
  }

  prepare(spec: SessionSpec, info: HostInfo): PreparedSession {
    const tabs = spec.layout.layoutTabs.map((t, index) => ({
      index,
      tabName: t.tabName,
      startDir: t.startDir,
      command: t.command,
    }));
    const f = tmuxSessionFiles(
      this.target,
      {
        name: spec.name,
        index: spec.index,
        tabs,
        dir: spec.artefactDir,
        runDir: spec.runDir,
        runId: this.runId(),
        keepShell: this.keepShell,
        windows: spec.initialTabs,
      },
      info,
    );
    return {
      ...spec,
      artefacts: [
        { path: f.tabScriptPath, content: f.tabScript, mode: 0o755, description: "tab wrapper (POSIX sh)" },
        { path: f.buildPath, content: f.build, description: "tmux build script" },
      ],
      start: [f.start],
    };
  }

  async start(p: PreparedSession): Promise<Record<string, unknown>> {
    const runId = this.runId();
    const r = await this.host.run(p.start[0]!);
    if (r.exitCode !== 0) {
      // Whatever was built still has its private build name (see tmuxBuildScript): remove it.
      await this.host.run(this.cmd("kill-session", "-t", `=${buildName(runId, p.index)}`)).catch(() => {});
      throw tmuxError("start", r.exitCode, r.stderr);
    }
    const sessionId = r.stdout
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => /^\$\d+$/.test(l))
      .at(-1);
    return {
      tabScript: join(p.artefactDir, "tabs.sh"),
      key: tmuxSessionKey(p.name),
      runId,
      ...(sessionId ? { sessionId } : {}),
    };
  }

  /** The exact target of a session: its tmux id when known (`$3`), else `=name`. */
  private targetOf(name: string, session?: Pick<ManagedSession, "data">): string {
    const id = session?.data?.sessionId ?? this.idsByName.get(name);
    return typeof id === "string" && id ? id : exactSession(name);
  }

  /**
   * Kill a session. Given the managed session, only if it still carries the run id mc gave it: a
   * session of the same name that someone else created since is never touched.
   */
  async kill(name: string, session?: ManagedSession): Promise<void> {
    const target = this.targetOf(name, session);
    const runId = session?.data?.runId;
    if (typeof runId === "string") {
      const owner = await this.host.run(this.cmd("display-message", "-p", "-t", `${target}:`, "#{@mc_run}"));
      if (owner.exitCode !== 0 || owner.stdout.trim() !== runId) return;
    }
    const r = await this.host.run(this.cmd("kill-session", "-t", target));
    if (r.exitCode !== 0 && !isNoSession(r.stderr) && !isNoServer(r.stderr)) {
      throw tmuxError("kill", r.exitCode, r.stderr);
    }
  }

  async status(sessions: readonly ManagedSession[], opts: StatusOptions = {}): Promise<SessionStatus[]> {
    if (sessions.length === 0) return [];
    // On a host that coalesces (ssh), the pane list and every session's records travel in one round
    // trip (and its process snapshot answers processTrees below); locally the records are read only
    // when they can have changed, after the pane list says so.
    // Awaited together: when the host is unreachable both reject, and neither may go unhandled.
    const [panesResult, dirMaps] = await Promise.all([
      this.host.run(this.cmd("list-panes", "-a", "-F", PANE_FORMAT)),
      Promise.all(this.host.coalesces ? sessions.map((s) => this.host.readDir(s.runDir)) : []),
    ]);
    for (const [si, dir] of dirMaps.entries()) {
      const s = sessions[si]!;
      s.layout.layoutTabs.forEach((_, index) => {
        const rec = parseTabRecord(dir.get(tabRecordName(index)));
        if (rec) this.records.set(`${s.runDir}\u0000${index}`, rec);
      });
    }
    let panes: PaneRow[] = [];
    let error: string | undefined;
    if (panesResult.exitCode === 0) panes = parsePanes(panesResult.stdout);
    else if (isNoServer(panesResult.stderr)) error = "the tmux server is not running";
    else error = panesResult.stderr.trim() || `tmux exited ${panesResult.exitCode}`;

    // Each session's panes by tab index. Sessions are matched by tmux's session id when known (names
    // can be rewritten by tmux), else by name and run id: a same-named session another run built since
    // (restart, or a user) is not this one.
    const bySessionId = new Map<string, PaneRow[]>();
    const byName = new Map<string, PaneRow[]>();
    for (const p of panes) {
      bySessionId.set(p.sessionId, [...(bySessionId.get(p.sessionId) ?? []), p]);
      byName.set(p.session, [...(byName.get(p.session) ?? []), p]);
    }
    const ownPanes = sessions.map((s) => {
      const id = s.data?.sessionId;
      const runId = s.data?.runId;
      const list =
        typeof id === "string"
          ? (bySessionId.get(id) ?? []).filter((p) => typeof runId !== "string" || p.runId === runId)
          : (byName.get(tmuxSessionKey(s.name)) ?? []).filter(
              (p) => typeof runId !== "string" || p.runId === runId,
            );
      const tabScript = String(s.data?.tabScript ?? join(s.runDir, "tabs.sh"));
      const byIndex = new Map<number, PaneRow>();
      for (const p of list) {
        const i = paneTabIndex(p.startCommand, tabScript);
        if (i !== undefined && !byIndex.has(i)) byIndex.set(i, p);
      }
      return { list, byIndex };
    });

    // Tab records are read only when they can have changed: a new tab, or one whose command the pane
    // says has ended (or whose pane is gone). A steady poll of running tabs reads no file at all.
    const reads: Promise<void>[] = [];
    sessions.forEach((s, si) => {
      s.layout.layoutTabs.forEach((_, index) => {
        const key = `${s.runDir}\u0000${index}`;
        const cached = this.records.get(key);
        if (cached?.end !== undefined || this.host.coalesces) return;
        const pane = ownPanes[si]!.byIndex.get(index);
        if (cached && pane && pane.exit === undefined && !pane.dead) return;
        reads.push(
          this.host.readFile(join(s.runDir, tabRecordName(index))).then((text) => {
            const rec = parseTabRecord(text);
            if (rec) this.records.set(key, rec);
          }),
        );
      });
    });
    await Promise.all(reads);

    const now = Date.now();
    const recordOf = (s: ManagedSession, index: number) => this.records.get(`${s.runDir}\u0000${index}`);
    // Wrappers whose pane is gone but whose record has no end yet may still be writing it (a killed
    // server sends SIGHUP; the trap records it a moment later): look at those pids too.
    const orphanPids = sessions.flatMap((s, si) =>
      s.layout.layoutTabs.flatMap((_, index) => {
        const rec = recordOf(s, index);
        return rec && rec.end === undefined && !ownPanes[si]!.byIndex.has(index) ? [rec.pid] : [];
      }),
    );
    const roots = [
      ...(opts.processes === false ? [] : panes.filter((p) => !p.dead).map((p) => p.pid)),
      ...orphanPids,
    ];
    const trees = roots.length ? await this.host.processTrees(roots) : new Map<number, ProcessNode[]>();
    // A tab whose pane is gone, whose wrapper is dead and whose record has no end is usually a tab that
    // was just hung up: the wrapper dies at once, and its recorder subshell writes the end record a few
    // milliseconds later. Look again once before calling it missing.
    const late = sessions.flatMap((s, si) =>
      s.layout.layoutTabs.flatMap((_, index) => {
        const rec = recordOf(s, index);
        const gone =
          rec && rec.end === undefined && !ownPanes[si]!.byIndex.has(index) && !trees.get(rec.pid)?.length;
        return gone ? [{ s, index }] : [];
      }),
    );
    if (late.length) {
      await new Promise((r) => setTimeout(r, 200));
      await Promise.all(
        late.map(async ({ s, index }) => {
          const rec = parseTabRecord(await this.host.readFile(join(s.runDir, tabRecordName(index))));
          if (rec) this.records.set(`${s.runDir}\u0000${index}`, rec);
        }),
      );
    }

    return sessions.map((s, si) => {
      const { list, byIndex } = ownPanes[si]!;
      const tabs = s.layout.layoutTabs.map((t, index): TabStatus => {
        const pane = byIndex.get(index);
        const rec = recordOf(s, index);
        const base = {
          index,
          tabName: t.tabName,
          command: t.command,
          processes: [] as TabStatus["processes"],
        };
        const outcome = rec ? recordOutcome(rec, now) : undefined;
        if (pane) {
          const processes = trees.get(pane.pid) ?? [];
          const ref = { ref: pane.paneId };
          if (outcome) return { ...base, ...outcome, ...ref, pid: rec!.pid, processes };
          if (pane.exit !== undefined)
            return { ...base, ...ref, ...classifyExit(pane.exit), pid: pane.pid, processes };
          if (pane.dead) {
            return {
              ...base,
              ...ref,
              state: "exited",
              ...(pane.deadStatus === undefined ? {} : { exitCode: pane.deadStatus }),
              pid: pane.pid,
            };
          }
          return { ...base, ...ref, state: "pending", pid: pane.pid, processes };
        }
        if (outcome && outcome.state !== "running") return { ...base, ...outcome, pid: rec!.pid };
        const alive = rec ? trees.get(rec.pid) : undefined;
        if (outcome && alive?.length) return { ...base, ...outcome, pid: rec!.pid, processes: alive };
        if (error && !error.includes("not running")) return { ...base, state: "unknown" };
        return { ...base, state: "missing", ...(outcome?.startedAt ? { startedAt: outcome.startedAt } : {}) };
      });
      const exists = list.length > 0;
      return {
        session: s.name,
        backend: "tmux",
        host: this.host.id,
        exists,
        tabs,
        summary: summarizeSession(tabs, exists),
        ...(error ? { error } : {}),
      };
    });
  }

  /** Open tab `index` of a managed session as a new window (its wrapper script already holds every tab). */
  async startTab(session: ManagedSession, index: number, info: { home: string }): Promise<void> {
    const tab = session.layout.layoutTabs[index];
    if (!tab)
      throw new McError("USAGE", `session "${session.name}" has no tab ${index}`, {
        backend: "tmux",
        op: "start",
      });
    const tabScript = String(session.data?.tabScript ?? join(session.runDir, "tabs.sh"));
    const r = await this.host.run(
      this.cmd(
        "new-window",
        "-d",
        "-t",
        `${this.targetOf(session.name, session)}:`,
        "-n",
        noFormat(tab.tabName),
        "-c",
        noFormat(normaliseStartDir(tab.startDir, info.home)),
        paneCommand(tabScript, index),
      ),
    );
    if (r.exitCode !== 0) throw tmuxError("start", r.exitCode, r.stderr);
  }

  /** Close one tab by its pane id (from status `ref`). */
  async killTab(ref: string): Promise<void> {
    const r = await this.host.run(this.cmd("kill-pane", "-t", ref));
    if (r.exitCode !== 0 && !/can't find pane/i.test(r.stderr)) throw tmuxError("kill", r.exitCode, r.stderr);
  }

  attachCommand(name: string, env: NodeJS.ProcessEnv = process.env, session?: ManagedSession): Command {
    // A plain name reads better in the printed command; any other goes by id, which is always exact.
    const target = /^[A-Za-z0-9_][\w@%+,=-]*$/.test(name) ? exactSession(name) : this.targetOf(name, session);
    const insideSameServer = Boolean(env.TMUX) && this.insideThisServer(env.TMUX!);
    if (insideSameServer) return this.cmd("switch-client", "-t", target);
    const c = this.cmd("attach-session", "-t", target);
    // Inside another tmux server, attach nests a client; tmux refuses unless $TMUX is cleared.
    return env.TMUX ? { ...c, env: { TMUX: "" } } : c;
  }

  private insideThisServer(tmuxEnv: string): boolean {
    const socketPath = tmuxEnv.split(",")[0] ?? "";
    const s = this.target.socket;
    if (s === undefined) return /\/default$/.test(socketPath);
    return "path" in s ? socketPath === s.path : socketPath.endsWith(`/${s.name}`);
  }
}
