import { join } from "node:path";
import {
  type BackendCapabilities,
  type Command,
  type Host,
  type HostInfo,
  type KillOutcome,
  type ListedSession,
  type LiveOutsideMc,
  type ManagedSession,
  McError,
  type PreparedSession,
  type SessionBackend,
  type SessionObservation,
  type SessionSpec,
  type StartTabOptions,
  shQuote,
} from "@mc/core";
import { zellijError } from "./errors.js";
import { freeName } from "./free-name.js";
import { LAID_OUT, zellijSessionFiles, zellijTabs } from "./generate.js";
import { checkSessionName, DEFAULT_MAX_SESSION_NAME_BYTES, maxSessionNameBytes } from "./names.js";
import { expectedOf, observeSessions, runIdOf, socketDirElsewhere, tabScriptOf } from "./observe.js";
import { paneTabIndex } from "./parse.js";
import { ownershipDir, zellijSocketDir } from "./paths.js";
import { ZellijQueries } from "./queries.js";
import { verifyStarted } from "./start-check.js";
import { runStopNow, startStopWatcher, stopArtefacts } from "./stop-hook.js";
import { closeTabByRef, slotsOfTab, startHeldTab } from "./tabs.js";
import { atLeast, LIST_PANES_SINCE } from "./version.js";

/**
 * What zellij 0.44+ can do (see {@link BackendCapabilities}); on 0.40–0.43 a backend reports the
 * 0.44 features false once it has read the version.
 */
export const ZELLIJ_CAPABILITIES: BackendCapabilities = {
  // Held-back tabs are created suspended at start and started with `send-keys --pane-id … Enter` (tabs.ts):
  // zellij 0.45 gives a tab added to a session without a client no room for a pane.
  addTabsLater: true,
  // ... and so they are in the session, keeping it open, before they start.
  heldTabsOpen: true,
  // `close-tab-by-id` (0.44+).
  closeTab: true,
  // `list-panes --json` reports `exit_status` of a held pane (0.44+).
  nativeExitStatus: true,
  // `--session X action rename-session Y` works on a detached 0.45 session, but every pane keeps the old
  // ZELLIJ_SESSION_NAME, which the wrapper's exit stamp needs: a replacement is not built under a private name.
  renameSession: false,
  // `action switch-session` moves the current client (0.44+).
  attachFromInside: true,
  // Nested `pane split_direction=…` boxes in the tab (generate.ts, pane-tree.ts), each pane its own slot.
  panes: true,
  // zellij has no pipe-pane: each pane runs its wrapper under util-linux script(1), which copies the output
  // to the tab's log (generate.ts LOGGED_LAUNCHER). A host without it keeps no logs: its sessions record
  // `logsNotKept`, which `run`, `logs` and `status --tail` say.
  logs: true,
  // A watcher waits on the session's server process and runs onStop once it exits (stop-hook.ts).
  stopHook: true,
  listsForeignSessions: true,
  // A pane with `close_on_exit false` stays on screen, finished, with its exit status.
  keepPane: true,
};

/** Why a session's tabs keep no log (its `logsNotKept`, which `run` and `logs` say). */
export const NO_SCRIPT = "tab logs need util-linux script(1); not found: tabs run without logs";

/** Options of the zellij backend (saved with a run, so plain JSON). */
export interface ZellijBackendOptions {
  /** zellij executable (default `zellij`). */
  zellij?: string | undefined;
  /**
   * Longest session name zellij can hold (bytes). Default: computed from the socket directory of the host
   * that runs zellij (its `ZELLIJ_SOCKET_DIR`, `XDG_RUNTIME_DIR`, `TMPDIR`, uid and platform).
   */
  maxSessionNameBytes?: number | undefined;
  /** Add zellij's compact tab bar to every tab (default true). */
  tabBar?: boolean | undefined;
  /** How long a started session may take to show mc's panes (ms, default 30000: a loaded machine is slow). */
  appearTimeoutMs?: number | undefined;
  /** How long kill waits for a session to stop being listed (ms, default 8000). */
  killTimeoutMs?: number | undefined;
}

/**
 * The zellij {@link SessionBackend}: one KDL layout plus one POSIX tab wrapper per session, detached
 * start with `attach --create-background`, one `list-sessions` per poll (plus `list-panes --json` per live
 * session on 0.44+), kill then delete so EXITED sessions never keep a name. A session is mc's only while
 * zellij shows it is: its panes run this run's tab wrapper or carry the run id in their name.
 */
export class ZellijBackend implements SessionBackend {
  readonly name = "zellij";
  readonly host: Host;
  readonly opts: ZellijBackendOptions;
  readonly zellij: string;
  readonly appearTimeoutMs: number;
  /** start() returns only once mc's panes (or their tab records) are there. */
  readonly startVerifies = true;
  readonly lockName = "zellij";
  /** What zellij and the host say (version, host facts, sessions, panes). */
  readonly q: ZellijQueries;
  /** `--exit close`: the tabs of each session (run dir, name) that closed or need no closing by mc. */
  private readonly settledTabs = new Map<string, Set<number>>();

  constructor(host: Host, opts: ZellijBackendOptions = {}) {
    this.host = host;
    this.opts = opts;
    this.zellij = opts.zellij ?? "zellij";
    this.appearTimeoutMs = opts.appearTimeoutMs ?? 30000;
    this.q = new ZellijQueries(host, this.zellij);
  }

  get capabilities(): BackendCapabilities {
    const v = this.q.version;
    if (v && !atLeast(v, LIST_PANES_SINCE)) {
      return {
        ...ZELLIJ_CAPABILITIES,
        addTabsLater: false,
        closeTab: false,
        nativeExitStatus: false,
        attachFromInside: false,
      };
    }
    return ZELLIJ_CAPABILITIES;
  }

  /** Session names are socket file names: zellij keeps them exactly as given. */
  sessionKey = (name: string): string => name;

  /** A space is `_`, as machineconfig's ZellijLocalManager names sessions (`LocalJobMgr_g_2`). */
  layoutSessionName = (layoutName: string): string => layoutName.replaceAll(" ", "_");

  /** The longest name this host's socket directory allows, once its facts were read. */
  nameLimit(): number | undefined {
    if (this.opts.maxSessionNameBytes !== undefined) return this.opts.maxSessionNameBytes;
    const f = this.q.facts;
    if (f === null) return DEFAULT_MAX_SESSION_NAME_BYTES;
    return f ? maxSessionNameBytes(zellijSocketDir(f, this.q.version), f.platform) : undefined;
  }

  /** Before the host was asked, lengths are left to {@link prepare}, which checks them again. */
  checkName = (name: string): void => checkSessionName(name, this.nameLimit());

  async checkAvailable(): Promise<void> {
    await this.q.checkVersion();
    await this.q.hostFacts();
  }

  /** Live and EXITED sessions; `runId` only where zellij shows mc's pane names or tab wrapper. */
  async listSessions(): Promise<ListedSession[]> {
    await this.q.detectVersion().catch(() => undefined);
    const rows = await this.q.allRows("list");
    const stateDir = (await this.host.info()).stateDir;
    return Promise.all(
      rows.map(async (r): Promise<ListedSession> => {
        const runId = await this.q.ownerOf(r, stateDir, "list").catch(() => undefined);
        return { name: r.name, ...(r.exited ? { exited: true } : {}), ...(runId ? { runId } : {}) };
      }),
    );
  }

  prepare(spec: SessionSpec, info: HostInfo): PreparedSession {
    checkSessionName(spec.name, this.nameLimit() ?? DEFAULT_MAX_SESSION_NAME_BYTES);
    const caps = this.capabilities;
    if (spec.action === "merge" || (spec.pendingTabs?.length && !caps.addTabsLater)) {
      throw new McError(
        "USAGE",
        spec.action === "merge"
          ? `zellij cannot add tabs to running session "${spec.name}"`
          : "this zellij cannot hold tabs back to start them later",
        {
          backend: "zellij",
          op: "start",
          hint:
            spec.action === "merge"
              ? "zellij gives a tab added without a client attached no room for its pane: use --on-conflict restart or rename"
              : "zellij 0.44 or newer starts held-back tabs; or drop --max-parallel-tabs and dependsOn",
        },
      );
    }
    const f = zellijSessionFiles(
      {
        zellij: this.zellij,
        version: this.q.version,
        name: spec.name,
        runId: spec.runId,
        // Each pane's environment, shell and retries travel in the wrapper; the splits in the KDL.
        tabs: zellijTabs(spec.layout),
        dir: spec.artefactDir,
        runDir: spec.runDir,
        exitMode: spec.exitMode,
        pending: spec.pendingTabs,
        tabBar: this.opts.tabBar,
        script: this.q.facts?.script || undefined,
        configDir: this.q.facts?.configDir || undefined,
      },
      info,
    );
    return {
      ...spec,
      artefacts: [
        { path: f.tabScriptPath, content: f.tabScript, mode: 0o700, description: "tab wrapper (POSIX sh)" },
        { path: f.layoutPath, content: f.layout, description: "zellij layout (KDL v1)" },
        ...f.commandFiles.map((c, i) => ({ ...c, mode: 0o600, description: `command of tab ${i}` })),
        ...stopArtefacts(spec, this.q.facts && zellijSocketDir(this.q.facts, this.q.version)),
      ],
      start: [f.start],
    };
  }

  /**
   * Start detached, after making sure the name is free: a live session of that name is a conflict (it
   * appeared since the names were resolved), an EXITED one is deleted when it was mc's and a conflict
   * otherwise, since `attach` would silently resurrect it instead of starting this layout. Returns once
   * the session runs mc's panes.
   */
  async start(p: PreparedSession): Promise<Record<string, unknown>> {
    await this.q.checkVersion();
    await this.clearName(p.name);
    // zellij 0.45's new server can panic while it initialises on a loaded machine (a client removed before
    // the session exists): the start returned 0 and nothing is there. That start is made once more.
    for (let attempt = 1; ; attempt++) {
      const r = await this.host.run(p.start[0]!);
      if (r.timedOut) {
        throw new McError("TIMEOUT", `zellij did not return from starting session "${p.name}"`, {
          backend: "zellij",
          op: "start",
          hint: "zellij 0.43 and older hang when the socket path is too long: set ZELLIJ_SOCKET_DIR to a short directory",
        });
      }
      if (r.exitCode !== 0) throw zellijError("start", r.exitCode, r.stderr, r.stdout);
      if ((await verifyStarted(this.host, this.q, p, this.appearTimeoutMs)) === "started") break;
      if (attempt === 2)
        throw new McError(
          "COMMAND_FAILED",
          `zellij's server for session "${p.name}" ended while it started, twice`,
          {
            backend: "zellij",
            op: "start",
            hint: "see zellij's log ($TMPDIR/zellij-<uid>/zellij-log/zellij.log): its server can panic at start on a loaded machine",
          },
        );
      await this.clearName(p.name);
    }
    // The proof that this session is mc's (ZellijQueries.ownerOf): its server, which a same-named session
    // made later never has. A host that cannot tell records none (ownership then rests on pane names).
    const server = await this.q.serverIdentity(p.name);
    if (server) {
      const stateDir = (await this.host.info()).stateDir;
      await this.q.collectProofs(stateDir).catch(() => {});
      await this.host.writeFile(join(ownershipDir(stateDir), `${p.runId}_${server}`), `${p.name}\n`);
    }
    if (p.layout.onStop !== undefined) await startStopWatcher(this.host, p.runDir);
    const facts = await this.q.hostFacts();
    return {
      runId: p.runId,
      // Its panes run without script(1) (prepare): `logs` and `run` say the log was not kept, and why,
      // not "no output recorded" as for a tab that printed nothing (review H51-4).
      ...(this.q.facts?.script ? {} : { logsNotKept: NO_SCRIPT }),
      ...(server ? { server } : {}),
      // Where its socket is: a shell with another ZELLIJ_SOCKET_DIR or XDG_RUNTIME_DIR does not see it.
      ...(facts ? { socketDir: zellijSocketDir(facts, this.q.version) } : {}),
      exitMode: p.exitMode,
      tabScript: join(p.artefactDir, "tabs.sh"),
      layout: join(p.artefactDir, "layout.kdl"),
    };
  }

  private async clearName(name: string): Promise<void> {
    const row = await this.q.findRow(name, "start");
    if (!row) return;
    const stateDir = (await this.host.info()).stateDir;
    if (row.exited && (await this.q.ownerOf(row, stateDir, "start")) !== undefined) {
      await freeName(this.q, name, false, this.opts.killTimeoutMs);
      return;
    }
    throw new McError(
      "SESSION_CONFLICT",
      row.exited
        ? `an EXITED zellij session "${name}" that mc did not start holds the name (attach would resurrect it)`
        : `session "${name}" appeared after the names were resolved`,
      {
        backend: "zellij",
        op: "start",
        hint: row.exited
          ? `use --on-conflict rename, or remove it with: zellij delete-session -- ${shQuote(name)}`
          : "use --on-conflict rename",
      },
    );
  }

  /**
   * Kill a session and free its name, only while zellij shows it is still the managed session
   * ({@link ZellijQueries.owns}): a same-named one made since is never touched ("gone"). `kill-session`,
   * then `delete-session` of the EXITED entry until the name is free (not `--force`: the quitting server
   * can write the cache folder again, zellij#4641, #3918, and it says "not found" on a young session).
   */
  async kill(name: string, session?: ManagedSession): Promise<KillOutcome> {
    await this.q.detectVersion().catch(() => undefined);
    const elsewhere = session && (await socketDirElsewhere(this.q, session));
    if (elsewhere)
      throw new McError("COMMAND_FAILED", `session "${name}" ${elsewhere.reason}`, {
        backend: "zellij",
        op: "kill",
        hint: elsewhere.hint,
      });
    const row = await this.q.findRow(name, "kill");
    if (!row) return "gone";
    const stateDir = (await this.host.info()).stateDir;
    if (
      session &&
      (await this.q.ownerOf(row, stateDir, "kill", undefined, expectedOf(session))) !== runIdOf(session)
    )
      return "gone";
    await freeName(this.q, name, !row.exited, this.opts.killTimeoutMs);
    // The watcher runs it too once the server is gone; whoever claims it first runs it.
    if (session?.layout.onStop !== undefined) await runStopNow(this.host, session.runDir);
    return "killed";
  }

  /**
   * Where a managed session {@link kill} found gone lives on: a live session of its name whose panes carry
   * its run id was resurrected from its EXITED entry (`zellij attach`: a new server, the user's), one
   * without was made since; another live session with its panes was renamed (`rename-session`). None of
   * them is mc's to kill (review H51-2: kill said "✓ already gone" of a session zellij lists live).
   */
  async liveOutsideMc(session: ManagedSession): Promise<LiveOutsideMc | undefined> {
    const runId = runIdOf(session);
    if (!this.q.hasListPanes()) return undefined;
    const stateDir = (await this.host.info()).stateDir;
    // Its own panes: mc's run id and this session's own tab script (every session of a run has the run
    // id; review H52-9 read a sibling session of the same run as this one renamed).
    const script = tabScriptOf(session);
    // A busy screen thread leaves list-panes unanswered: panesOf asks again (fresh-clone CI under load read
    // a resurrected session as one mc did not start), and "unknown" stays unknown, never a guess.
    const carries = async (name: string): Promise<boolean | "unknown"> => {
      const panes = await this.q.panesOf(name);
      if (panes === "unknown") return "unknown";
      return (
        runId !== undefined &&
        Array.isArray(panes) &&
        panes.some(
          (p) =>
            this.q.runIdOfPane(p, stateDir) === runId &&
            paneTabIndex(p.terminalCommand, script) !== undefined,
        )
      );
    };
    const row = await this.q.findRow(session.name, "kill");
    if (row && !row.exited) {
      const c = await carries(row.name);
      return { session: row.name, how: c === "unknown" ? "unknown" : c ? "resurrected" : "replaced" };
    }
    // A session whose panes zellij did not list may be it renamed: said as not known (review H54-5), never
    // taken for "not there".
    let unlisted: string | undefined;
    for (const r of await this.q.sessionRows("kill")) {
      if (r.exited || r.name === session.name) continue;
      const c = await carries(r.name);
      if (c === true) return { session: r.name, how: "renamed" };
      if (c === "unknown") unlisted ??= r.name;
    }
    return unlisted === undefined ? undefined : { session: unlisted, how: "unknown" };
  }

  /**
   * One `list-sessions` for all sessions, plus `list-panes --json` per live session on 0.44+ (observe.ts).
   */
  async observe(sessions: readonly ManagedSession[]): Promise<SessionObservation[]> {
    return observeSessions(
      {
        q: this.q,
        host: this.host,
        appearTimeoutMs: this.appearTimeoutMs,
        settledTabs: this.settledTabs,
        killTimeoutMs: this.opts.killTimeoutMs,
      },
      sessions,
    );
  }

  /** Start held-back tab `index` of a managed session (see tabs.ts); a rerun is refused. */
  async startTab(
    session: ManagedSession,
    index: number,
    _info: HostInfo,
    o?: StartTabOptions,
  ): Promise<void> {
    if (o?.attempt !== undefined) {
      // A rerun needs a new tab (or the wrapper started again with its attempt number): zellij 0.45 gives
      // a tab added to a session without a client no room for a pane.
      const tab = session.layout.layoutTabs[index]?.tabName ?? String(index);
      throw new McError("USAGE", `zellij cannot run tab "${tab}" of "${session.name}" again in its session`, {
        backend: "zellij",
        op: "rerun",
        hint: "sessions run --on-conflict restart starts the whole session again (its running tabs too)",
      });
    }
    const slots = slotsOfTab(session.layout, index);
    // Laid out at start; a suspended pane may never get a size without a client (see LAID_OUT).
    await this.host.writeFile(join(session.runDir, LAID_OUT), "").catch(() => {});
    await startHeldTab(this.q, session.name, tabScriptOf(session), index, slots);
  }

  /** Close one tab by its status `ref`, only while that tab still holds the pane the ref names. */
  async closeTab(ref: string): Promise<void> {
    await closeTabByRef(this.q, ref);
  }

  /**
   * `zellij attach -- NAME`. Inside a zellij session on 0.44+ `zellij action switch-session NAME` moves the
   * current client instead of nesting a second zellij in a pane (zellij#3411).
   */
  attachCommand(name: string, env: NodeJS.ProcessEnv = process.env): Command {
    const v = this.q.version;
    if (env.ZELLIJ_SESSION_NAME && v && atLeast(v, LIST_PANES_SINCE))
      return { file: this.zellij, args: ["action", "switch-session", "--", name] };
    // `--`: a name that starts with `-` (or is `help`/`options`) is the name, not a flag or subcommand
    // (review H66-5; zellij 0.45 clap).
    return { file: this.zellij, args: ["attach", "--", name] };
  }

  /** A plain new interactive zellij session in this terminal. */
  newSessionCommand = (): Command => ({ file: this.zellij, args: [] });
}
