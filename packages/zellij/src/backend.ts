import { join } from "node:path";
import {
  type Command,
  classifyExit,
  type Host,
  type HostInfo,
  isMcError,
  type ManagedSession,
  McError,
  type PreparedSession,
  parseTabRecord,
  recordOutcome,
  type SessionBackend,
  type SessionSpec,
  type SessionStatus,
  summarizeSession,
  type TabStatus,
  tabRecordName,
} from "@mc/core";
import { isActiveNotDeleted, isNoSessions, isNoSuchSession, zellijError } from "./errors.js";
import { zellijSessionFiles } from "./generate.js";
import { checkSessionName } from "./names.js";
import { type PaneRow, paneTabIndex, parsePaneList, parseSessionList, type SessionRow } from "./parse.js";
import {
  atLeast,
  formatVersion,
  LIST_PANES_SINCE,
  MIN_ZELLIJ_VERSION,
  parseZellijVersion,
  type ZellijVersion,
} from "./version.js";

/** Options of {@link ZellijBackend}. */
export interface ZellijBackendOptions {
  /** zellij executable. */
  zellij: string;
  keepShell: boolean;
  /** Longest session name zellij can hold on this host (see names.ts). */
  maxNameBytes: number;
  /** Add zellij's compact tab bar to every tab (default true). */
  tabBar?: boolean;
  /** How long a started session may take to be listed (ms, default 10000). */
  appearTimeoutMs?: number;
  /** How long kill waits for a session to stop being listed (ms, default 8000). */
  killTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The zellij {@link SessionBackend}: one KDL layout plus one POSIX tab wrapper per session, detached
 * start with `attach --create-background`, one `list-sessions` per status (plus `list-panes --json` per
 * live session on 0.44+), kill then delete so EXITED sessions never keep a name.
 */
export class ZellijBackend implements SessionBackend {
  readonly name = "zellij";
  readonly host: Host;
  readonly opts: ZellijBackendOptions;
  readonly appearTimeoutMs: number;
  /** The zellij version, once detected. */
  version: ZellijVersion | undefined;

  constructor(host: Host, opts: ZellijBackendOptions) {
    this.host = host;
    this.opts = opts;
    this.appearTimeoutMs = opts.appearTimeoutMs ?? 10000;
  }

  private cmd(args: string[], timeoutMs = 15000): Command {
    return { file: this.opts.zellij, args, timeoutMs };
  }

  /** Session names are socket file names: zellij keeps them exactly as given. */
  sessionKey(name: string): string {
    return name;
  }

  checkName(name: string): void {
    checkSessionName(name, this.opts.maxNameBytes);
  }

  /** Run `zellij --version` once and remember the result. */
  async detectVersion(): Promise<ZellijVersion> {
    if (this.version) return this.version;
    let r: Awaited<ReturnType<Host["run"]>>;
    try {
      r = await this.host.run(this.cmd(["--version"], 10000));
    } catch (e) {
      if (isMcError(e, "BINARY_NOT_FOUND")) {
        throw new McError("BINARY_NOT_FOUND", `"${this.opts.zellij}" was not found on ${this.host.id}`, {
          backend: "zellij",
          op: "start",
          hint: `install zellij ${formatVersion(MIN_ZELLIJ_VERSION)} or newer (https://zellij.dev), or pass the zellij option`,
          cause: e,
        });
      }
      throw e;
    }
    const v = r.exitCode === 0 ? parseZellijVersion(r.stdout) : undefined;
    if (!v) {
      throw new McError(
        "COMMAND_FAILED",
        `cannot read the zellij version from "${(r.stdout + r.stderr).trim()}"`,
        {
          backend: "zellij",
          op: "start",
          hint: `check that "${this.opts.zellij}" is zellij`,
        },
      );
    }
    this.version = v;
    return v;
  }

  async checkAvailable(): Promise<void> {
    const v = await this.detectVersion();
    if (!atLeast(v, MIN_ZELLIJ_VERSION)) {
      throw new McError(
        "VERSION_UNSUPPORTED",
        `zellij ${formatVersion(v)} is too old; mc needs zellij ${formatVersion(MIN_ZELLIJ_VERSION)} or newer`,
        {
          backend: "zellij",
          op: "start",
          hint: "zellij 0.40.0 added attach --create-background, which detached start needs; upgrade zellij",
        },
      );
    }
  }

  /** Every session zellij lists, live and EXITED, from one `list-sessions --no-formatting`. */
  async sessionRows(op = "list"): Promise<SessionRow[]> {
    const r = await this.host.run(this.cmd(["list-sessions", "--no-formatting"]));
    if (r.exitCode !== 0) {
      if (isNoSessions(r.stderr + r.stdout)) return [];
      throw zellijError(op, r.exitCode, r.stderr, r.stdout);
    }
    return parseSessionList(r.stdout);
  }

  /** Live and EXITED sessions: a dead session still blocks its name (sessions.rs `assert_session_ne`). */
  async listSessions(): Promise<string[]> {
    return (await this.sessionRows()).map((s) => s.name);
  }

  prepare(spec: SessionSpec, info: HostInfo): PreparedSession {
    const tabs = spec.layout.layoutTabs.map((t, index) => ({
      index,
      tabName: t.tabName,
      startDir: t.startDir,
      command: t.command,
    }));
    const f = zellijSessionFiles(
      {
        zellij: this.opts.zellij,
        version: this.version,
        name: spec.name,
        tabs,
        dir: spec.artefactDir,
        runDir: spec.runDir,
        keepShell: this.opts.keepShell,
        ...(this.opts.tabBar === undefined ? {} : { tabBar: this.opts.tabBar }),
      },
      info,
    );
    return {
      ...spec,
      artefacts: [
        { path: f.tabScriptPath, content: f.tabScript, mode: 0o755, description: "tab wrapper (POSIX sh)" },
        { path: f.layoutPath, content: f.layout, description: "zellij layout (KDL v1)" },
      ],
      start: [f.start],
    };
  }

  async start(p: PreparedSession): Promise<Record<string, unknown>> {
    const r = await this.host.run(p.start[0]!);
    if (r.exitCode !== 0 || r.timedOut) throw zellijError("start", r.exitCode, r.stderr, r.stdout);
    return { tabScript: join(p.artefactDir, "tabs.sh"), layout: join(p.artefactDir, "layout.kdl") };
  }

  /**
   * Free the name: `kill-session` while the session is live, wait until it is no longer live, then
   * `delete-session` until it is no longer listed. Not `delete-session --force`: it removes the cache
   * folder right after asking the server to quit, and the quitting server can write it again, leaving an
   * EXITED entry that blocks the name (zellij#4641, #3918; sessions.rs `delete_session`).
   */
  async kill(name: string): Promise<void> {
    const deadline = Date.now() + (this.opts.killTimeoutMs ?? 8000);
    const find = async () => (await this.sessionRows("kill")).find((s) => s.name === name);
    let row = await find();
    let killSent = false;
    let delay = 25;
    while (row) {
      if (row.exited || !killSent) {
        const r = await this.host.run(this.cmd([row.exited ? "delete-session" : "kill-session", name]));
        const text = r.stdout + r.stderr;
        if (r.exitCode !== 0 && !isNoSuchSession(text) && !isActiveNotDeleted(text))
          throw zellijError("kill", r.exitCode, r.stderr, r.stdout);
        killSent ||= !row.exited;
      }
      row = await find();
      if (!row) return;
      if (Date.now() > deadline) {
        throw new McError(
          "TIMEOUT",
          `session "${name}" is still listed${row.exited ? " as EXITED" : ""} after kill and delete`,
          {
            backend: "zellij",
            op: "kill",
            hint: `try: zellij delete-session --force ${JSON.stringify(name)}`,
          },
        );
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 250);
    }
  }

  private async listPanes(name: string): Promise<PaneRow[] | undefined> {
    const r = await this.host.run(this.cmd(["--session", name, "action", "list-panes", "--json"]));
    if (r.exitCode !== 0) return undefined;
    try {
      return parsePaneList(r.stdout);
    } catch {
      return undefined;
    }
  }

  async status(sessions: readonly ManagedSession[]): Promise<SessionStatus[]> {
    if (sessions.length === 0) return [];
    const version = await this.detectVersion().catch(() => undefined);
    let rows: SessionRow[] = [];
    let error: string | undefined;
    try {
      rows = await this.sessionRows("status");
    } catch (e) {
      error = e instanceof McError ? e.reason : (e as Error).message;
    }
    const live = new Set(rows.filter((r) => !r.exited).map((r) => r.name));
    const panesToo = version !== undefined && atLeast(version, LIST_PANES_SINCE);
    const [records, panes] = await Promise.all([
      Promise.all(sessions.map((s) => this.host.readDir(s.runDir))),
      Promise.all(sessions.map((s) => (panesToo && live.has(s.name) ? this.listPanes(s.name) : undefined))),
    ]);
    const now = Date.now();
    const recs = records.map((files, si) =>
      sessions[si]!.layout.layoutTabs.map((_, i) => parseTabRecord(files.get(tabRecordName(i)))),
    );
    const runningPids = recs.flat().flatMap((r) => (r && r.end === undefined ? [r.pid] : []));
    const trees = await this.host.processTrees(runningPids);

    return sessions.map((s, si): SessionStatus => {
      const exists = live.has(s.name);
      const tabScript = String(s.data?.tabScript ?? join(s.runDir, "tabs.sh"));
      const own = (panes[si] ?? []).filter((p) => !p.isPlugin);
      const tabs = s.layout.layoutTabs.map((t, index): TabStatus => {
        const base = {
          index,
          tabName: t.tabName,
          command: t.command,
          processes: [] as TabStatus["processes"],
        };
        const rec = recs[si]![index];
        const pane = own.find((p) => paneTabIndex(p.terminalCommand, tabScript) === index);
        const paneEnd = pane?.exited
          ? pane.exitStatus === undefined
            ? { state: "killed" as const }
            : classifyExit(pane.exitStatus)
          : undefined;
        if (rec) {
          const outcome = recordOutcome(rec, now);
          if (outcome.state !== "running") return { ...base, ...outcome, pid: rec.pid };
          // The wrapper never wrote its end: it was killed outright (SIGKILL) and zellij saw the pane end.
          if (paneEnd) return { ...base, ...outcome, ...paneEnd, pid: rec.pid };
          const processes = trees.get(rec.pid) ?? [];
          if (exists || processes.length > 0) return { ...base, ...outcome, pid: rec.pid, processes };
          if (error) return { ...base, state: "unknown", pid: rec.pid };
          return { ...base, state: "missing", pid: rec.pid, startedAt: outcome.startedAt! };
        }
        // No record: the wrapper has not started yet, or never could (its pane program failed first).
        if (paneEnd) return { ...base, ...paneEnd };
        if (exists) return { ...base, state: "pending" };
        return { ...base, state: error ? "unknown" : "missing" };
      });
      return {
        session: s.name,
        backend: "zellij",
        host: this.host.id,
        exists,
        tabs,
        summary: summarizeSession(tabs, exists),
        ...(error ? { error } : {}),
      };
    });
  }

  /**
   * `zellij attach NAME`. Inside a zellij session on 0.44+ `zellij action switch-session NAME` moves the
   * current client instead of nesting a second zellij in a pane (zellij#3411).
   */
  attachCommand(name: string, env: NodeJS.ProcessEnv = process.env): Command {
    if (env.ZELLIJ_SESSION_NAME && this.version && atLeast(this.version, LIST_PANES_SINCE)) {
      return { file: this.opts.zellij, args: ["action", "switch-session", name] };
    }
    return { file: this.opts.zellij, args: ["attach", name] };
  }
}
