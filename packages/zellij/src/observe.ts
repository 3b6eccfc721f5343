import { join } from "node:path";
import {
  type Host,
  type ManagedSession,
  type PaneEvidence,
  type SessionObservation,
  shQuote,
} from "@mc/core";
import { ownPanes, paneEvidence, type SessionRow } from "./parse.js";
import { zellijSocketDir } from "./paths.js";
import type { ZellijQueries } from "./queries.js";
import { closeEndedTabs } from "./tabs.js";

// What a zellij session is, seen from mc's record of it and from zellij's answers: whose it is, and the
// evidence of its panes (the backend's observe).

/** The run that started a managed session. */
export function runIdOf(s: Pick<ManagedSession, "data">): string | undefined {
  return typeof s.data?.runId === "string" ? s.data.runId : undefined;
}

/** What a managed session's record says its owner and tabs are (ZellijQueries.ownerOf). */
export function expectedOf(s: Pick<ManagedSession, "data" | "layout" | "runDir" | "starting">) {
  const runId = runIdOf(s);
  if (runId === undefined) return undefined;
  return {
    runId,
    tabNames: s.layout.layoutTabs.map((t) => t.tabName),
    tabScript: tabScriptOf(s),
    unfinished: s.starting !== undefined,
  };
}

const liveRow = (name: string): SessionRow => ({ name, exited: false, current: false, created: "" });

/**
 * Whether a managed session was started under another zellij socket directory than this process's
 * (`ZELLIJ_SOCKET_DIR`, `XDG_RUNTIME_DIR` differ: cron, su, an ssh login without a user session): zellij
 * here would not list it, which is not evidence that it is gone.
 */
export async function socketDirElsewhere(
  q: ZellijQueries,
  s: Pick<ManagedSession, "data">,
): Promise<{ reason: string; hint: string } | undefined> {
  const recorded = s.data?.socketDir;
  if (typeof recorded !== "string") return undefined;
  const facts = await q.hostFacts();
  if (!facts) return undefined;
  const here = zellijSocketDir(facts, q.version);
  if (here === recorded) return undefined;
  const base = recorded.replace(/\/[^/]+$/, "");
  return {
    reason: `was started under zellij's socket directory ${recorded}, and this shell's zellij looks in ${here}`,
    hint: `run mc where that directory is zellij's (ZELLIJ_SOCKET_DIR=${shQuote(base)})`,
  };
}

/** The tab wrapper a managed session's panes run. */
export function tabScriptOf(s: Pick<ManagedSession, "data" | "runDir">): string {
  return String(s.data?.tabScript ?? join(s.runDir, "tabs.sh"));
}

/** What observing needs of the backend. */
export interface ObserveContext {
  q: ZellijQueries;
  host: Host;
  /** How long after its start a session that shows none of mc's panes is still starting. */
  appearTimeoutMs: number;
  /** Tabs already closed for `--exit close`, per session. */
  settledTabs: Map<string, Set<number>>;
  /** How long ending a session whose last tab closes may take (see closeEndedTabs). */
  killTimeoutMs?: number | undefined;
}

/**
 * One `list-sessions` for all sessions, plus `list-panes --json` per live session on 0.44+: each tab's
 * pane is the one running this session's wrapper with the tab's index. A live session without such a
 * pane is a same-named session made since: not this one.
 */
export async function observeSessions(
  c: ObserveContext,
  sessions: readonly ManagedSession[],
): Promise<SessionObservation[]> {
  if (sessions.length === 0) return [];
  await c.q.detectVersion().catch(() => undefined);
  const rows = new Map((await c.q.sessionRows("status")).map((r) => [r.name, r]));
  const stateDir = (await c.host.info()).stateDir;
  return Promise.all(sessions.map((s) => observeOne(c, s, rows.get(s.name), stateDir)));
}

async function observeOne(
  c: ObserveContext,
  s: ManagedSession,
  row: SessionRow | undefined,
  stateDir: string,
): Promise<SessionObservation> {
  const none = new Map<number, PaneEvidence>();
  // Started where this shell's zellij does not look: not gone, not known (and its proof is not touched).
  const elsewhere = await socketDirElsewhere(c.q, s);
  if (elsewhere) return { exists: true, panes: none, error: `${elsewhere.reason}; ${elsewhere.hint}` };
  // A session whose server is gone. Its proof of ownership stays: a session the user resurrects from it
  // is a new server with mc's pane names, and never mc's (ZellijQueries.ownerOf).
  const gone: SessionObservation = { exists: false, panes: none };
  if (row?.exited) return gone;
  const starting = { startingUntil: s.startedAt + c.appearTimeoutMs };
  if (!c.q.hasListPanes())
    return row ? { exists: true, panes: none, ...starting } : { exists: false, panes: none };
  // Asked even when not listed: list-sessions can leave out a live session (ZellijQueries.panesOf).
  const panes = await c.q.panesOf(s.name);
  if (panes === "gone") return gone;
  if (panes === "unknown")
    return {
      exists: true,
      panes: none,
      ...starting,
      error: `zellij did not answer for session "${s.name}"`,
    };
  // Whose it is is decided as kill and the listing decide it (ZellijQueries.ownerOf): a same-named
  // session made since is not this one, whatever its panes are called.
  const owner = await c.q.ownerOf(row ?? liveRow(s.name), stateDir, "status", panes, expectedOf(s));
  if (owner === undefined || owner !== runIdOf(s)) return { exists: false, panes: none };
  const script = tabScriptOf(s);
  // mc's session with none of its wrappers left: every command pane closed (--exit close), the tab bars stay.
  if (s.data?.exitMode === "close") {
    const key = `${s.runDir}\0${s.name}`;
    const done = c.settledTabs.get(key) ?? new Set<number>();
    c.settledTabs.set(key, done);
    await closeEndedTabs(c.q, s, script, panes, done, c.killTimeoutMs).catch(() => {});
  }
  if (ownPanes(panes, script).length === 0) return { exists: true, panes: none, ...starting };
  return { exists: true, panes: paneEvidence(s.name, panes, script), ...starting };
}
