import { DEFAULT_READINESS_TIMEOUT_S, type MergeCounts, type PreparedSession, shQuote } from "@mc/core";
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
          ...(p.merge ? { merge: p.merge } : {}),
          // A merge's tabs this run's scheduler opens (indexes of the merged layout), and those it drops.
          ...(p.merge ? { waitingTabs: [...(p.pendingTabs ?? [])], droppedTabs: p.droppedTabs ?? [] } : {}),
          ...(waits(p).length ? { waits: waits(p) } : {}),
        })),
      ),
    });
    return;
  }
  batches.forEach((batch, bi) => {
    if (batches.length > 1) out.out(out.c.bold(`## batch ${bi + 1} of ${batches.length}`));
    for (const p of batch) {
      const why = conflictNote(p.action, p.renamed, p.requested, p.merge);
      const where = remote ? ` (${p.machine})` : "";
      out.out(
        out.c.bold(`# session "${p.name}" on ${backend}${where}: ${p.layout.layoutTabs.length} tab(s)${why}`),
      );
      if (p.tabActions) {
        // Which tabs wait for this run's scheduler, and which waiting tabs the file dropped: a dry run is
        // how an edit of a job file is checked before resuming it (review H63-7).
        const held = new Set(p.pendingTabs ?? []);
        for (const [i, a] of p.tabActions.entries()) {
          const name = display(p.layout.layoutTabs[i]?.tabName ?? String(i), { oneLine: true });
          const [label, note] = !held.has(i)
            ? [a, ""]
            : a === "create"
              ? [a, "  (added: waits for a free slot)"]
              : a === "restart"
                ? [a, "  (closed now: reopened when a slot is free)"]
                : ["open", "  (never started: this run opens it)"];
          out.out(`#   ${label.padEnd(7)} ${name}${note}`);
        }
        for (const d of p.droppedTabs ?? [])
          out.out(
            `#   ${"drop".padEnd(7)} ${display(d, { oneLine: true })}  (never started; no longer in the file)`,
          );
      }
      for (const a of p.artefacts) {
        out.out(out.c.dim(`# --- ${a.description}: ${a.path}`));
        out.out(guttered(a.content));
      }
      for (const c of p.start) out.out(out.c.dim(`# start: ${[c.file, ...c.args].map(shQuote).join(" ")}`));
      for (const w of waits(p)) {
        const tab = display(w.tab, { oneLine: true });
        if (w.dependsOn)
          out.out(
            `# tab ${tab} opens once ${w.dependsOn.map((d) => display(d, { oneLine: true })).join(", ")} ready`,
          );
        const r = w.readiness;
        if (r?.command !== undefined)
          out.out(
            `# tab ${tab} is ready when this command succeeds; sessions run runs it itself, on the tab's machine, with ${display(w.shell ?? "/bin/sh", { oneLine: true })} -c in the tab's start directory, without the tab's env, until it succeeds or ${r.timeoutSeconds ?? DEFAULT_READINESS_TIMEOUT_S} s pass:\n${guttered(display(r.command))}`,
          );
        else if (r?.file !== undefined)
          out.out(`# tab ${tab} is ready once the file ${display(r.file, { oneLine: true })} exists`);
        else if (r?.port !== undefined)
          out.out(`# tab ${tab} is ready once port ${r.port} takes connections`);
        else if (r?.logMatches !== undefined)
          out.out(
            `# tab ${tab} is ready once its output matches ${display(r.logMatches, { oneLine: true })}`,
          );
      }
      out.out("");
    }
  });
  out.err(out.c.dim("dry run: nothing was started"));
}

/**
 * What marks a line of a generated file or command in the plan. Every such line has it, so none can pass
 * for a header of the plan (`# start: …`), and a line of a multi-line quoted value (a startDir or command
 * with a newline) shows as it is written after it: plain indentation read as part of the value (review
 * H64-4: `mc_cwd='/w/d` then `    nl'`, where the script has `nl'`). Delimiters around unindented text
 * would let a line of the file read as the plan's own.
 */
const GUTTER = "  │ ";

/** `text` (its final newline dropped) with {@link GUTTER} before each line. */
function guttered(text: string): string {
  return text.replace(/\n$/, "").replace(/^/gm, GUTTER);
}

/** The tabs of a session that wait (dependsOn) or are watched until ready (readiness), as the scheduler will. */
function waits(p: PreparedSession) {
  return p.layout.layoutTabs.flatMap((t) =>
    t.dependsOn?.length || t.readiness
      ? [
          {
            tab: t.tabName,
            ...(t.dependsOn?.length ? { dependsOn: t.dependsOn } : {}),
            ...(t.readiness ? { readiness: t.readiness } : {}),
            ...(t.readiness?.command !== undefined && t.shell ? { shell: t.shell } : {}),
          },
        ]
      : [],
  );
}

/** What conflict resolution did to a session, for humans. */
export function conflictNote(
  action: "create" | "replace" | "merge",
  renamed: boolean,
  requested: string,
  merge?: MergeCounts,
): string {
  if (action === "replace") return " (replaces the session that was running)";
  if (action === "merge") {
    const m = merge ?? { added: 0, restarted: 0, kept: 0, waiting: 0, renewed: 0, dropped: 0, stale: 0 };
    // A tab that never opened is opened by this run's scheduler, from the file as it is now: said apart,
    // with the waiting tabs whose command changed and those the file no longer has (review H59-3).
    const renewed = m.renewed ? ` (${m.renewed} with the command the file gives now)` : "";
    const wait = m.waiting ? `, ${m.waiting} waiting to be opened${renewed}` : "";
    const dropped = m.dropped ? `, ${m.dropped} dropped: no longer in the file` : "";
    const stale = m.stale
      ? ` (${m.stale} ran with a command the file has changed: kept as it ran, and a rerun runs that; merge-overwrite restarts it)`
      : "";
    return ` (merged into the running session: ${m.added} added, ${m.restarted} restarted, ${m.kept} kept${stale}${wait}${dropped})`;
  }
  return renamed ? ` (renamed from "${requested}")` : "";
}
