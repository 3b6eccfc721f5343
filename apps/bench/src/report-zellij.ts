import type { BenchResults } from "./model.js";
import { launchTable, markdownTable } from "./report.js";
import { fmtMs, fmtRatio } from "./stats.js";

const range = (min: number, max: number) => (Number.isFinite(min) ? `${fmtMs(min)} – ${fmtMs(max)}` : "—");

/** The `## Zellij` section: launch rows per size and the status row, or why they were not measured. */
export function zellijSection(r: BenchResults): string[] {
  const z = r.zellij;
  const parts = ["## Zellij", ""];
  if (!z || z.skipped || !z.launch) {
    parts.push(`Skipped: ${z?.skipped ?? "not run"}.`, "");
    return parts;
  }
  parts.push(
    `The real zellij (${z.version ?? "?"}), each run in a fresh private world (its own socket directory,`,
    "TMPDIR, HOME and XDG directories). The floor starts a detached session from a hand-written layout whose",
    "panes run the tab commands (`zellij --new-session-with-layout FILE attach --create-background NAME`);",
    "`sessions run -b zellij` builds its own layout, wrapper and logs and returns when every pane runs. Done",
    "means what it means for tmux: every marker exists and the launcher has exited. No server runs before",
    "either: zellij starts one per session.",
    "",
  );
  for (const l of z.launch)
    parts.push(`### zellij, ${l.tabs} tabs (${l.reps} runs each)`, "", launchTable(l), "");
  if (z.status)
    parts.push(
      "### zellij status",
      "",
      `On the ${z.status.tabs}-tab session of the last \`sessions run\`: \`sessions status --json\` (the whole CLI process,`,
      "node's start included) against the two bare zellij queries it needs (`list-sessions --no-formatting`,",
      "`action list-panes --json`), interleaved.",
      "",
      markdownTable(
        ["tabs", "sessions status --json", "min – max", "bare zellij queries", "× bare", "runs"],
        [
          [
            `${z.status.tabs}`,
            fmtMs(z.status.mc.median),
            range(z.status.mc.min, z.status.mc.max),
            fmtMs(z.status.bare.median),
            fmtRatio(z.status.ratio),
            `${z.status.mc.n}`,
          ],
        ],
        ["r", "r", "r", "r", "r", "r"],
      ),
      "",
    );
  return parts;
}
