import { dirname, join } from "node:path";
import {
  type Command,
  type CommandResult,
  type Host,
  isMcError,
  McError,
  parseTabRecord,
  sleep,
} from "@mc/core";
import { isNoSessions, isNoSuchSession, zellijError } from "./errors.js";
import { sessionFlag } from "./names.js";
import {
  isRemains,
  joinSplitNames,
  ownPanes,
  type PaneRow,
  parsePaneList,
  parseSessionList,
  runIdOfCommand,
  runIdOfPaneName,
  runIdsInLayout,
  type SessionRow,
} from "./parse.js";
import {
  hostFactsCommand,
  ownershipDir,
  parseHostFacts,
  parseServerIdentity,
  resurrectionLayoutPath,
  serverIdentityCommand,
  serverPresenceCommand,
  socketListCommand,
  type ZellijHostFacts,
  zellijSocketDir,
} from "./paths.js";
import {
  atLeast,
  formatVersion,
  LIST_PANES_SINCE,
  MIN_ZELLIJ_VERSION,
  parseZellijVersion,
  type ZellijVersion,
} from "./version.js";

const liveRow = (name: string): SessionRow => ({ name, exited: false, current: false, created: "" });

/**
 * What zellij and its host say, each asked the same way every time: the version, the host's facts,
 * the session list, a session's panes or layout, and its saved (resurrection) layout.
 */
export class ZellijQueries {
  /** The zellij version, once detected. */
  version: ZellijVersion | undefined;
  /** The host's facts once read; null when they could not be read (a host without /bin/sh). */
  facts: ZellijHostFacts | null | undefined;

  constructor(
    readonly host: Host,
    readonly zellij: string,
  ) {}

  cmd(args: string[], timeoutMs = 15000): Command {
    return { file: this.zellij, args, timeoutMs };
  }

  /** Run `zellij --version` once and remember the result. */
  async detectVersion(): Promise<ZellijVersion> {
    if (this.version) return this.version;
    let r: CommandResult;
    try {
      r = await this.host.run(this.cmd(["--version"], 10000));
    } catch (e) {
      if (isMcError(e, "BINARY_NOT_FOUND")) {
        throw new McError("BINARY_NOT_FOUND", `"${this.zellij}" was not found on ${this.host.id}`, {
          backend: "zellij",
          op: "start",
          hint: `install zellij ${formatVersion(MIN_ZELLIJ_VERSION)} or newer (https://zellij.dev) and put it on PATH`,
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
          hint: `check that "${this.zellij}" is zellij`,
        },
      );
    }
    this.version = v;
    return v;
  }

  /** VERSION_UNSUPPORTED below 0.40.0. */
  async checkVersion(): Promise<ZellijVersion> {
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
    return v;
  }

  /** `list-panes --json` exists (0.44+). */
  hasListPanes(): boolean {
    return this.version !== undefined && atLeast(this.version, LIST_PANES_SINCE);
  }

  /** Read the host's facts once (socket and cache directories); null when the host cannot tell. */
  async hostFacts(): Promise<ZellijHostFacts | null> {
    if (this.facts !== undefined) return this.facts;
    const r = await this.host.run(hostFactsCommand()).catch(() => undefined);
    this.facts = (r && r.exitCode === 0 && parseHostFacts(r.stdout)) || null;
    return this.facts;
  }

  /** Every session zellij lists, live and EXITED, from one `list-sessions --no-formatting`. */
  async sessionRows(op: string): Promise<SessionRow[]> {
    const r = await this.host.run(this.cmd(["list-sessions", "--no-formatting"]));
    if (r.exitCode !== 0) {
      if (isNoSessions(r.stderr + r.stdout)) return [];
      throw zellijError(op, r.exitCode, r.stderr, r.stdout);
    }
    return parseSessionList(r.stdout);
  }

  /**
   * Every session, with what `list-sessions` left out added back: a socket in zellij's socket directory
   * whose server is there is a live session (0.44+; see {@link panesOf}).
   */
  async allRows(op: string): Promise<SessionRow[]> {
    const listing = await this.sessionRows(op);
    const f = await this.hostFacts();
    if (!f || !this.hasListPanes()) return listing;
    const r = await this.host.run(socketListCommand(zellijSocketDir(f, this.version))).catch(() => undefined);
    const sockets = (r?.stdout ?? "").split("\0").filter((n) => n && n !== "web_server_bus");
    const rows = joinSplitNames(listing, sockets);
    const listed = new Set(rows.map((x) => x.name));
    const missed = sockets.filter((n) => !listed.has(n));
    // A server that is there but does not answer still holds its name.
    for (const name of missed) if ((await this.panesOf(name)) !== "gone") rows.push(liveRow(name));
    return rows;
  }

  /**
   * The row of one session. zellij's `list-sessions` leaves out a live session now and then, so on 0.44+
   * a name it does not list is asked directly ({@link panesOf}); one that does not answer but whose
   * server is there counts as live.
   */
  async findRow(name: string, op: string): Promise<SessionRow | undefined> {
    const row = (await this.sessionRows(op)).find((s) => s.name === name);
    if (row || !this.hasListPanes()) return row;
    const panes = await this.panesOf(name);
    return panes === "gone" ? undefined : liveRow(name);
  }

  /** Whether a session's server is there (its socket, its process); undefined when the host cannot tell. */
  async serverPresence(name: string): Promise<{ socket: boolean; process: boolean } | undefined> {
    const f = await this.hostFacts();
    if (!f) return undefined;
    const r = await this.host
      .run(serverPresenceCommand(`${zellijSocketDir(f, this.version)}/${name}`))
      .catch(() => undefined);
    if (r?.exitCode !== 0) return undefined;
    return { socket: r.stdout.includes("S"), process: r.stdout.includes("P") };
  }

  /**
   * A session's panes, asked until the answer is sure. zellij 0.45 decides that a session exists by
   * probing its server (sessions.rs `assert_socket`: `ConnStatus`, answered `Connected`), and a server
   * can drop that answer while it is busy: `list-sessions` then leaves the session out and
   * `--session NAME action …` says it was not found. A "not found" counts only once the server's socket
   * and process are gone; while they are there it is asked again, and "unknown" if it never answers.
   */
  async panesOf(name: string): Promise<PaneRow[] | "gone" | "unknown"> {
    let missing = 0;
    let noSocket = 0;
    for (let attempt = 0; attempt < 4; attempt++) {
      if (attempt > 0) await sleep(50 * 2 ** attempt);
      const panes = await this.listPanes(name);
      if (Array.isArray(panes)) return panes;
      const there = await this.serverPresence(name);
      if (there ? !there.socket && !there.process : panes === "missing" && ++missing >= 2) return "gone";
      if (there && !there.socket) noSocket++;
    }
    // A server whose socket stays away is not one exiting (it removes its socket a moment before it
    // ends): it serves a session renamed since, as `rename-session` moves the socket and leaves the
    // server's command line (review H30-3, H30-6: the old name read "did not answer" for good, and a new
    // session of that name could not start).
    if (noSocket === 4) {
      await sleep(1500);
      const panes = await this.listPanes(name);
      if (Array.isArray(panes)) return panes;
      const there = await this.serverPresence(name);
      if (there && !there.socket) return "gone";
    }
    return "unknown";
  }

  /**
   * A live session's panes (0.44+; `all`: with every plugin pane, such as each tab's bar): "missing" when zellij says there is no such session (it can say so
   * with exit 0 and a session list on stdout), undefined when it did not answer with a pane list.
   */
  async listPanes(name: string, all = false): Promise<PaneRow[] | "missing" | undefined> {
    const args = [sessionFlag(name), "action", "list-panes", "--json", ...(all ? ["--all"] : [])];
    const r = await this.host.run(this.cmd(args));
    if (isNoSuchSession(r.stderr)) return "missing";
    if (r.exitCode !== 0) return undefined;
    try {
      return parsePaneList(r.stdout);
    } catch {
      return undefined;
    }
  }

  /** A live session's layout as zellij would save it (`action dump-layout`); undefined when missing. */
  async dumpLayout(name: string): Promise<string | undefined> {
    const r = await this.host.run(this.cmd([sessionFlag(name), "action", "dump-layout"]));
    if (r.exitCode !== 0 || isNoSuchSession(r.stderr)) return undefined;
    return r.stdout;
  }

  /** The layout zellij saved for resurrecting a session, read on the host; undefined when none. */
  async resurrectionLayout(name: string): Promise<string | undefined> {
    const f = await this.hostFacts();
    if (!f) return undefined;
    return this.host.readFile(resurrectionLayoutPath(f, this.version, name)).catch(() => undefined);
  }

  /** The run id of a pane: from its name, or from the tab wrapper it runs under `stateDir`. */
  runIdOfPane(p: PaneRow, stateDir?: string): string | undefined {
    if (p.isPlugin) return undefined;
    return runIdOfPaneName(p.title) ?? (stateDir ? runIdOfCommand(p.terminalCommand, stateDir) : undefined);
  }

  /** The identity of a live session's server ({@link serverIdentityCommand}); undefined when none or unknown. */
  async serverIdentity(name: string): Promise<string | undefined> {
    const f = await this.hostFacts();
    if (!f) return undefined;
    const r = await this.host
      .run(serverIdentityCommand(`${zellijSocketDir(f, this.version)}/${name}`))
      .catch(() => undefined);
    return r?.exitCode === 0 ? parseServerIdentity(r.stdout) : undefined;
  }

  /** Whether `runId` is a run of the state directory `stateDir` (its directory of tab records is there). */
  async isRunOf(stateDir: string, runId: string): Promise<boolean> {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(runId) || runId.includes("..")) return false;
    return (await this.host.stat(join(stateDir, "runs", runId)).catch(() => undefined)) === "dir";
  }

  /**
   * Remove the proofs of runs this state no longer has (forgotten by `ls --prune` or their age): a proof
   * stays after its server is gone (see {@link ownerOf}), so they are collected when a session starts.
   */
  async collectProofs(stateDir: string): Promise<void> {
    const proofs = await this.proofs(stateDir);
    await Promise.all(
      [...proofs].map(async ([runId, ids]) => {
        if (await this.isRunOf(stateDir, runId)) return;
        for (const id of ids)
          await this.host.remove(join(ownershipDir(stateDir), `${runId}_${id}`)).catch(() => {});
      }),
    );
  }

  /** Whether a tab of the session in `runDir` is still running: a record with no end whose wrapper lives. */
  private async tabsRunning(runDir: string): Promise<boolean> {
    const files = await this.host.readDir(runDir).catch(() => new Map<string, string>());
    const pids = [...files]
      .filter(([f]) => /^tab-\d+(\.\d+)?\.json$/.test(f))
      .map(([, text]) => parseTabRecord(text))
      .filter((r) => r !== undefined && r.end === undefined && r.pid !== undefined)
      .map((r) => r!.pid!);
    if (pids.length === 0) return false;
    const trees = await this.host.processTrees(pids).catch(() => new Map());
    return pids.some((p) => trees.has(p));
  }

  /** mc's proofs of ownership on this host: run id → the server identities its sessions started with. */
  async proofs(stateDir: string): Promise<Map<string, Set<string>>> {
    const files = await this.host.readDir(ownershipDir(stateDir)).catch(() => new Map<string, string>());
    const out = new Map<string, Set<string>>();
    for (const f of files.keys()) {
      const at = f.lastIndexOf("_");
      if (at <= 0) continue;
      const runId = f.slice(0, at);
      out.set(runId, (out.get(runId) ?? new Set()).add(f.slice(at + 1)));
    }
    return out;
  }

  /**
   * The one decision of whose a listed session is (`status`, `kill`, `ls` and `run --on-conflict` all ask
   * it): the mc run that started it, or undefined for a session mc did not start.
   *
   * - Live: the session's server must be the very process mc's start recorded (`<state dir>/zellij-owned/
   *   <run id>_<server identity>`, written once the session showed mc's tabs). A pane name or command is
   *   only a claim: a same-named session made later has another server, whatever its panes are called.
   *   A run that recorded no proof (started by an mc before proofs, or on a host where the server could
   *   not be identified) is judged by its claims as before: a pane named `… (mc run <id>)` or running
   *   that run's tab wrapper.
   * - EXITED: its server is gone, so the run its saved layout names (an EXITED session's only use is to
   *   be resurrected or deleted; mc only ever deletes it).
   *
   * A run's proof outlives its server (a session the user resurrects from mc's EXITED entry is a new server
   * with mc's pane names: never mc's), and a claim counts only for a run of this state directory: another
   * state's sessions (another `--state-dir`, `MC_STATE_DIR`) are never this state's to kill.
   */
  async ownerOf(
    row: SessionRow,
    stateDir: string,
    op: string,
    known?: PaneRow[] | "gone" | "unknown",
    expected?: { runId: string; tabNames: readonly string[]; tabScript: string; unfinished?: boolean },
  ): Promise<string | undefined> {
    if (row.exited) {
      const kdl = await this.resurrectionLayout(row.name);
      const id = kdl === undefined ? undefined : [...runIdsInLayout(kdl)][0];
      return id !== undefined && (await this.isRunOf(stateDir, id)) ? id : undefined;
    }
    const claimed = new Set<string>();
    if (this.hasListPanes()) {
      known ??= await this.panesOf(row.name);
      const panes = known;
      if (panes === "gone") return undefined;
      if (panes === "unknown" && op === "kill") {
        throw new McError("COMMAND_FAILED", `zellij did not list the panes of session "${row.name}"`, {
          backend: "zellij",
          op,
          hint: "try again; zellij answers list-panes from its screen thread, which can be busy",
        });
      }
      for (const p of Array.isArray(panes) ? panes : []) {
        const id = this.runIdOfPane(p, stateDir);
        if (id) claimed.add(id);
      }
      if (expected && Array.isArray(panes) && ownPanes(panes, expected.tabScript).length > 0)
        claimed.add(expected.runId);
    } else {
      const kdl = await this.dumpLayout(row.name);
      for (const id of kdl === undefined ? [] : runIdsInLayout(kdl)) claimed.add(id);
    }
    const proofs = await this.proofs(stateDir);
    const identity = proofs.size > 0 ? await this.serverIdentity(row.name) : undefined;
    if (identity) for (const [runId, ids] of proofs) if (ids.has(identity)) return runId;
    // A session whose start never finished (its run died before writing this server's proof, after the
    // proof of a session it started before): its panes running its own tab script are all the proof
    // there is. Judged not mc's, it could be neither killed nor restarted, and blocked its name for good
    // (review H40-1).
    // Only while a tab that run started still runs (its record has no end, its wrapper lives): a session
    // resurrected from zellij's EXITED entry runs the same tab script on a new server, its old tabs over
    // (review H41-3: mc killed the user's resurrected session).
    if (
      expected?.unfinished &&
      Array.isArray(known) &&
      ownPanes(known, expected.tabScript).length > 0 &&
      (await this.tabsRunning(dirname(expected.tabScript)))
    )
      return expected.runId;
    let legacy: string | undefined;
    for (const id of claimed)
      if (!proofs.has(id) && (await this.isRunOf(stateDir, id))) {
        legacy = id;
        break;
      }
    if (legacy !== undefined || !expected || proofs.has(expected.runId) || !Array.isArray(known))
      return legacy;
    // A run without proofs whose every command pane closed (--exit close): only plugin panes are left,
    // in tabs the managed session has (as before proofs; a listing without its record cannot tell).
    return known.length > 0 && isRemains(known, expected.tabNames) ? expected.runId : undefined;
  }
}
