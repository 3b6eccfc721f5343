import type { BenchResults } from "./model.js";
import { markdownTable } from "./report.js";
import { fmtMs } from "./stats.js";
import { isMonitor } from "./targets.js";

const range = (min: number, max: number) => (Number.isFinite(min) ? `${fmtMs(min)} – ${fmtMs(max)}` : "—");

/** The event-driven watch, a tab's exit latency and the CLI's memory. */
export function eventSections(r: BenchResults): string[] {
  const parts: string[] = [];
  const f = r.follow;
  if (isMonitor(f))
    parts.push(
      `Event-driven: \`${f.command}\` on the same ${f.tabs} tabs (inotify on the tabs' event files; a status`,
      "check every 30 s, and at once after a tab ends, for what no file says: a wrapper killed outright, a",
      "dead server). The window starts 3 s after its first line: its first full check is counted as start-up.",
      "",
      markdownTable(
        ["tabs", "window", "CPU", "% of one core", "tmux server CPU", "start-up CPU"],
        [
          [
            `${f.tabs}`,
            `${f.seconds} s`,
            fmtMs(f.cpuMs),
            `${f.percent.toFixed(2)}%`,
            fmtMs(f.serverCpuMs),
            fmtMs(f.startupCpuMs),
          ],
        ],
        ["r", "r", "r", "r", "r", "r"],
      ),
      "",
    );
  else if (f) parts.push(`events --follow: skipped: ${f.skipped}.`, "");
  const lat = r.latency;
  parts.push("## A tab's exit, seen", "");
  if (lat && "stats" in lat)
    parts.push(
      `\`sessions run\` starts ${lat.tabs} tabs that wait on a FIFO and then \`exit 3\`; a child \`sessions events --follow\``,
      "watches them. Each tab in turn is released (the bench writes its FIFO) and timed until its `tab-exited`",
      "line arrives on the follower's stdout.",
      "",
      markdownTable(
        ["tabs", "median", "min – max", "samples"],
        [
          [
            `${lat.tabs}`,
            fmtMs(lat.stats.median),
            range(lat.stats.min, lat.stats.max),
            lat.samples.map((v) => fmtMs(v)).join(", "),
          ],
        ],
        ["r", "r", "r", "l"],
      ),
      "",
    );
  else parts.push(`Skipped: ${lat?.skipped ?? "not run"}.`, "");
  if (r.rss)
    parts.push(
      "## CLI memory",
      "",
      `\`sessions status --json\` (the built CLI) on ${r.rss.panes} running panes: peak RSS ${r.rss.peakMiB.toFixed(1)} MiB`,
      `(${((r.rss.peakMiB * 2 ** 20) / 1e6).toFixed(1)} MB; VmHWM, read by a preload as the process exits), ${fmtMs(r.rss.ms)} wall${
        r.rss.firstPeakMiB === undefined
          ? "."
          : `; its first run, which compiles the CLI and writes the command's compile cache, peaked at ${r.rss.firstPeakMiB.toFixed(1)} MiB.`
      }`,
      "",
    );
  return parts;
}
