import { join } from "node:path";
import { type Host, McError, type PreparedSession, pollUntil, tabRecordName } from "@mc/core";
import { ownPanes } from "./parse.js";
import type { ZellijQueries } from "./queries.js";

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
  let asked = Date.now();
  const seen = await pollUntil(
    async (): Promise<"ours" | "other" | "died" | undefined> => {
      const files = await host.readDir(p.runDir).catch(() => new Map<string, string>());
      if (p.layout.layoutTabs.some((_, i) => files.has(tabRecordName(i)))) return "ours";
      // Every 2 s: a server that died while it started is neither listed nor there (socket, process).
      if (Date.now() - asked >= 2000) {
        asked = Date.now();
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
  if (seen === "ours") return "started";
  if (seen === "died") return "died";
  // A resurrection reads its saved layout (commands held, or plain shells where it saved none); a live
  // session someone made in the moment before mc's start has none.
  const resurrected = (await q.resurrectionLayout(p.name)) !== undefined;
  if (resurrected) await host.run(q.cmd(["kill-session", p.name])).catch(() => {});
  throw new McError(
    "SESSION_CONFLICT",
    resurrected
      ? `zellij resurrected an earlier session "${p.name}" instead of starting mc's layout`
      : `session "${p.name}" was taken just before mc's start, and zellij did not refuse the name`,
    {
      backend: "zellij",
      op: "start",
      hint: resurrected
        ? `it is EXITED again; use --on-conflict rename, or remove it with: zellij delete-session ${JSON.stringify(p.name)}`
        : "use --on-conflict rename",
    },
  );
}
