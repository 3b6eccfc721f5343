import { join } from "node:path";
import { type Host, McError, type PreparedSession, pollUntil, shQuote, tabRecordName } from "@mc/core";
import { ownPanes, tabRef } from "./parse.js";
import type { ZellijQueries } from "./queries.js";
import { closeTabByRef } from "./tabs.js";

/**
 * Wait until the session runs this layout: a tab record of this run exists, or (0.44+) its panes run
 * this run's wrapper. Other panes mean another session holds the name: one zellij resurrected is put
 * back (killed, EXITED again); a live one, or one where mc's tabs never show, is never touched.
 */
export async function verifyStarted(
  host: Host,
  q: ZellijQueries,
  p: PreparedSession,
  appearTimeoutMs: number,
): Promise<"started" | "died"> {
  const script = join(p.artefactDir, "tabs.sh");
  let asked = performance.now();
  const seen = await pollUntil(
    async (): Promise<"ours" | "other" | "died" | undefined> => {
      const files = await host.readDir(p.runDir).catch(() => new Map<string, string>());
      if (p.layout.layoutTabs.some((_, i) => files.has(tabRecordName(i)))) return "ours";
      // Every 2 s: a server that died while it started is neither listed nor there (socket, process).
      if (performance.now() - asked >= 2000) {
        asked = performance.now();
        const there = await q.serverPresence(p.name);
        if (there && !there.socket && !there.process && !(await q.findRow(p.name, "start"))) return "died";
      }
      if (!q.hasListPanes()) return undefined;
      const panes = await q.listPanes(p.name);
      if (!Array.isArray(panes)) return undefined;
      const terms = panes.filter((x) => !x.isPlugin);
      if (ownPanes(terms, script).length > 0) return "ours";
      return terms.length > 0 ? "other" : undefined;
    },
    {
      timeoutMs: appearTimeoutMs,
      onTimeout: () =>
        new McError(
          "TIMEOUT",
          `session "${p.name}" did not show mc's tabs within ${appearTimeoutMs} ms; it was left as it is`,
          {
            backend: "zellij",
            op: "start",
            hint: `zellij may have given the start to another session of that name; see zellij list-sessions, and zellij's log ($TMPDIR/zellij-<uid>/zellij-log/zellij.log)`,
          },
        ),
    },
  );
  if (seen === "ours") {
    await refuseForeignPanes(q, p, script);
    return "started";
  }
  if (seen === "died") return "died";
  // A resurrection reads its saved layout (commands held, or plain shells where it saved none); a live
  // session someone made in the moment before mc's start has none.
  const resurrected = (await q.resurrectionLayout(p.name)) !== undefined;
  if (resurrected) await host.run(q.cmd(["kill-session", "--", p.name])).catch(() => {});
  // zellij took the start (exit 0) into a live session of theirs: mc's tabs that show there are closed
  // (the start's rollback also ends their processes); their panes are left.
  else await closeOwnPanes(q, p.name, script);
  throw new McError(
    "SESSION_CONFLICT",
    resurrected
      ? `zellij resurrected an earlier session "${p.name}" instead of starting mc's layout`
      : `session "${p.name}" was taken just before mc's start, and zellij did not refuse the name`,
    {
      backend: "zellij",
      op: "start",
      hint: resurrected
        ? `it is EXITED again; use --on-conflict rename, or remove it with: zellij delete-session -- ${shQuote(p.name)}`
        : "use --on-conflict rename",
    },
  );
}

/**
 * mc's tabs run, but in a session that also holds terminal panes that are not mc's: someone's session
 * took the name just before mc's start and zellij opened mc's layout in it (its existence probe can miss
 * a server that is still starting). It is not mc's to own or kill: mc's own panes are closed, theirs are
 * left as they are, and the start fails as a conflict.
 */
async function refuseForeignPanes(q: ZellijQueries, p: PreparedSession, script: string): Promise<void> {
  if (!q.hasListPanes()) return;
  const panes = await q.panesOf(p.name);
  if (!Array.isArray(panes)) return;
  const mine = new Set(ownPanes(panes, script).map((x) => x.id));
  const theirs = panes.filter((x) => !x.isPlugin && !mine.has(x.id));
  if (theirs.length === 0) return;
  await closeOwnPanes(q, p.name, script);
  throw new McError(
    "SESSION_CONFLICT",
    `session "${p.name}" was taken just before mc's start, and zellij opened mc's tabs in it (${theirs.length} pane(s) of it are not mc's): mc's tabs were closed there, the rest left as it is`,
    { backend: "zellij", op: "start", hint: "use --on-conflict rename" },
  );
}

/** Close mc's panes in a session that is not mc's. */
async function closeOwnPanes(q: ZellijQueries, name: string, script: string): Promise<void> {
  if (!q.hasListPanes()) return;
  const panes = await q.panesOf(name);
  if (!Array.isArray(panes)) return;
  for (const x of ownPanes(panes, script)) await closeTabByRef(q, tabRef(name, x)).catch(() => {});
}
