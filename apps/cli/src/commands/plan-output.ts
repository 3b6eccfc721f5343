import { type PreparedSession, shQuote } from "@mc/core";
import type { Output } from "../output.js";
import { conflictNote } from "./run.js";

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
        })),
      ),
    });
    return;
  }
  batches.forEach((batch, bi) => {
    if (batches.length > 1) out.out(out.c.bold(`## batch ${bi + 1} of ${batches.length}`));
    for (const p of batch) {
      const why = conflictNote(p.action, p.renamed, p.requested);
      const where = remote ? ` (${p.machine})` : "";
      out.out(
        out.c.bold(`# session "${p.name}" on ${backend}${where}: ${p.layout.layoutTabs.length} tab(s)${why}`),
      );
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
