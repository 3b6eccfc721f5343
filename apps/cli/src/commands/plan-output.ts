import { type PreparedSession, shQuote } from "@mc/core";
import { display, type Output } from "../output.js";

/** Print the plan and every generated artefact of a dry run; nothing is started. */
export function printPlan(backend: string, batches: PreparedSession[][], out: Output, remote = false): void {
  if (out.json) {
    out.printJson({
      dryRun: true,
      backend,
      batches: batches.map((b) =>
        b.map((p) => ({
          name: p.name,
          requested: p.requested,
          action: p.action,
          renamed: p.renamed,
          tabs: p.layout.layoutTabs.length,
          artefacts: p.artefacts.map((a) => ({
            path: a.path,
            description: a.description,
            content: a.content,
          })),
          start: p.start.map((c) => ({ file: c.file, args: c.args })),
          ...(p.tabActions ? { tabActions: p.tabActions } : {}),
        })),
      ),
    });
    return;
  }
  batches.forEach((batch, bi) => {
    if (batches.length > 1) out.out(out.c.bold(`## batch ${bi + 1} of ${batches.length}`));
    for (const p of batch) {
      const why = conflictNote(p.action, p.renamed, p.requested, p.tabActions);
      const where = remote ? ` (${p.machine})` : "";
      out.out(
        out.c.bold(`# session "${p.name}" on ${backend}${where}: ${p.layout.layoutTabs.length} tab(s)${why}`),
      );
      if (p.tabActions) {
        for (const [i, a] of p.tabActions.entries())
          out.out(
            `#   ${a.padEnd(7)} ${display(p.layout.layoutTabs[i]?.tabName ?? String(i), { oneLine: true })}`,
          );
      }
      for (const a of p.artefacts) {
        out.out(out.c.dim(`# --- ${a.description}: ${a.path}`));
        // Indented: no line of a generated file (which holds the layout's commands) can pass for a header.
        out.out(a.content.replace(/\n$/, "").replace(/^/gm, "    "));
      }
      for (const c of p.start) out.out(out.c.dim(`# start: ${[c.file, ...c.args].map(shQuote).join(" ")}`));
      out.out("");
    }
  });
  out.err(out.c.dim("dry run: nothing was started"));
}

/** What conflict resolution did to a session, for humans. */
export function conflictNote(
  action: "create" | "replace" | "merge",
  renamed: boolean,
  requested: string,
  tabActions?: readonly string[],
  waiting = 0,
): string {
  if (action === "replace") return " (replaces the session that was running)";
  if (action === "merge") {
    const n = (a: string) => tabActions?.filter((x) => x === a).length ?? 0;
    // A kept tab that was never opened is opened by this run's scheduler: said apart.
    const wait = waiting ? `, ${waiting} waiting to be opened` : "";
    return ` (merged into the running session: ${n("create")} added, ${n("restart")} restarted, ${Math.max(0, n("keep") - waiting)} kept${wait})`;
  }
  return renamed ? ` (renamed from "${requested}")` : "";
}
