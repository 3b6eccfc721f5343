import {
  eventsBetween,
  followEvents,
  isFailedTab,
  type KillResult,
  type MonitorSnapshot,
  type SessionManager,
  type StatusReport,
} from "@mc/core";
import { oneLine, sessionsCommand } from "../display.js";
import type { Notifier } from "../notify.js";
import { type Output, statusTable, tabLabel, transitions } from "../output.js";
import { stopRequested } from "./stop-latch.js";

/** ` (2 of 40 failed: L0 / t, L7 / t)`: which tabs failed, for the line that ends a run (they scrolled away). */
function failedNote(report: StatusReport | undefined): string {
  if (!report) return "";
  // With several machines, a session name can be on each: the machine is said (review H28-5).
  const where = new Set(report.sessions.map((s) => s.machine)).size > 1;
  const failed = report.sessions.flatMap((s) =>
    s.tabs
      .filter((t) => isFailedTab(t))
      .map((t) => `${where ? `${oneLine(s.machine)}: ` : ""}${oneLine(s.session)} / ${oneLine(tabLabel(t))}`),
  );
  if (failed.length === 0) return " (none failed)";
  const shown = failed.slice(0, 5).join(", ");
  return ` (${failed.length} of ${report.summary.totalCommands} failed: ${shown}${failed.length > 5 ? ", …" : ""})`;
}

/**
 * The sessions `-k` did not kill, and why, with the commands to paste (their names as the shell takes
 * them, after their machine and tmux server: review H58-6): kept on purpose, or a kill that failed (a
 * machine or tmux server that did not answer: review H29-1).
 */
function sayKept(results: KillResult[], socket: string | undefined, out: Output): void {
  if (out.json) return;
  const place = (k: KillResult) => [{ name: k.name, machine: k.machine, socket }];
  for (const k of results.filter((r) => !r.ok && !r.kept)) {
    out.err(
      out.c.red(
        `✗ ${oneLine(`${k.name}: could not be killed: ${k.error ?? "?"} (${sessionsCommand("kill", place(k))} again)`)}`,
      ),
    );
  }
  for (const k of results.filter((r) => r.kept)) {
    out.err(
      out.c.yellow(
        `  ${oneLine(`${k.name}: not killed: ${k.kept} (${sessionsCommand("wait", place(k))}; ${sessionsCommand("kill", place(k))})`)}`,
      ),
    );
  }
}

/** How a run ends its monitoring. */
export interface MonitorEnd {
  intervalMs: number;
  killUponCompletion: boolean;
  keepFailed?: boolean | undefined;
  /** tmux: the server's socket the run was given (`--socket`), for the commands said. */
  socket?: string | undefined;
  notify?: Notifier | undefined;
}

/**
 * Ctrl-C, SIGTERM or a hang-up (the terminal closed) while monitoring: stop watching, leave the sessions
 * running, exit 130 (a hang-up ended the CLI by the signal, 129, with nothing said: review H40-5).
 */
function interruptible() {
  const ac = new AbortController();
  const onSig = () => ac.abort();
  // One that came after the start and before the watch began (see stop-latch.ts): stopped at once.
  if (stopRequested()) ac.abort();
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  // `on`, not `once`: execa's child clean-up (signal-exit) re-raises a signal when, by the time its own
  // listener runs, it is the only one left, which a `once` listener, removed as it fires, makes it: the
  // CLI then died of its Ctrl-C whenever one came while a tool's process ran.
  for (const s of signals) process.on(s, onSig);
  return {
    signal: ac.signal,
    done: () => {
      for (const s of signals) process.off(s, onSig);
    },
  };
}

/**
 * Monitor a run until every command has finished: a live table on a TTY, transition lines when piped.
 * Ctrl-C stops watching and leaves the sessions running.
 */
export async function monitorWithOutput(
  manager: SessionManager,
  o: MonitorEnd,
  out: Output,
  /** `label`: what the closing line starts with (`batch 2/4: ` of a run in batches). */
  style: { quiet?: boolean; stop?: AbortSignal; label?: string } = {},
): Promise<{ report: StatusReport | undefined; interrupted: boolean; kills: KillResult[] }> {
  const own = interruptible();
  const done = own.done;
  // Stopped from outside (the scheduler beside it failed): no word of its own, the caller says why.
  const signal = style.stop ? AbortSignal.any([own.signal, style.stop]) : own.signal;
  const live = out.tty && !style.quiet ? out.live() : undefined;
  let prev: StatusReport | undefined;
  const down = new Set<string>();
  const onSnapshot = (snap: MonitorSnapshot) => {
    if (snap.error) {
      out.err(out.c.yellow(`status failed: ${snap.error.message}; still watching`));
      return;
    }
    const r = snap.report!;
    for (const h of r.machines) {
      if (!h.reachable && !down.has(h.machine))
        out.err(out.c.yellow(`${h.machine}: not answering (${h.error ?? "?"}); still watching`));
      if (h.reachable && down.has(h.machine)) out.err(out.c.dim(`${h.machine}: answering again`));
      if (h.reachable) down.delete(h.machine);
      else down.add(h.machine);
    }
    for (const e of eventsBetween(prev, r)) o.notify?.(e);
    if (live) live.render(statusTable(r, out));
    else for (const line of transitions(prev, r)) (style.quiet ? out.err : out.out)(line);
    prev = r;
  };
  try {
    const report = await manager.runMonitoringRoutine({
      // States are all monitoring needs; process trees cost most of a poll (sessions status --json has them).
      processes: false,
      intervalMs: o.intervalMs,
      signal,
      onSnapshot,
    });
    if (signal.aborted) {
      if (own.signal.aborted)
        out.err(
          out.c.yellow("monitoring stopped; the sessions keep running (sessions status, sessions kill)"),
        );
      return { report, interrupted: true, kills: [] };
    }
    let kills: KillResult[] = [];
    if (o.killUponCompletion) {
      kills = await manager.killAtCompletion({
        keepFailed: o.keepFailed,
        onNotice: (m) => out.err(out.c.dim(oneLine(m))),
      });
      const kept = kills.filter((k) => k.kept).length;
      const failed = kills.filter((k) => !k.ok && !k.kept).length;
      // "sessions killed" only where one was (review H33-5: said beside "1 could not be killed" alone),
      // and a session already gone (ended or replaced outside mc) is not one (review H40-3).
      const killedAny = kills.some((k) => k.ok && !k.kept && k.outcome !== "gone");
      const gone = kills.filter((k) => k.ok && !k.kept && k.outcome === "gone").length;
      const what = !killedAny
        ? "no session killed"
        : o.keepFailed
          ? "sessions without failures killed"
          : "sessions killed";
      const rest = [
        gone ? `${gone} already gone` : "",
        kept ? `${kept} kept` : "",
        failed ? `${failed} could not be killed` : "",
      ].filter(Boolean);
      out.err(
        out.c.dim(
          // The colon introduces the lines that name what was kept or could not be killed (review H41-5).
          `${style.label ?? ""}every command finished${failedNote(report)}; ${what}${rest.length ? `, ${rest.join(", ")}` : ""}${kept || failed ? ":" : ""}`,
        ),
      );
      sayKept(kills, o.socket, out);
    } else if (!live && !style.quiet && report) {
      for (const line of statusTable(report, out)) out.out(line);
    }
    return { report, interrupted: false, kills };
  } finally {
    done();
  }
}

/**
 * `run --monitor --json`: the event stream `sessions events --follow` prints (NDJSON, from the tabs' own
 * events files as they change), while `during` (the scheduler) runs, until every command finished; then
 * the kill policy. The caller prints the final `run-done`.
 */
export async function streamWithOutput(
  manager: SessionManager,
  o: MonitorEnd,
  out: Output,
  during?: (signal: AbortSignal) => Promise<void>,
): Promise<{ report: StatusReport | undefined; interrupted: boolean; kills: KillResult[] }> {
  const { signal, done } = interruptible();
  // The scheduler failing (its run directory deleted) ends the stream too: it followed tabs that will now
  // never start, for ever (review HR83-2). The caller says the scheduler's error.
  const failed = new AbortController();
  const stop = AbortSignal.any([signal, failed.signal]);
  let report: StatusReport | undefined;
  try {
    const pump = (async () => {
      for await (const e of followEvents(manager, { signal: stop, statusEveryMs: o.intervalMs })) {
        if (e.type === "run-done") {
          report = e.report;
          return;
        }
        out.jsonLine(e);
        o.notify?.(e);
      }
    })();
    await Promise.all([
      during?.(signal).catch((e: unknown) => {
        failed.abort();
        throw e;
      }),
      pump,
    ]);
    if (signal.aborted) return { report, interrupted: true, kills: [] };
    // What was kept or could not be killed is said in the run's last line (run-done), the stream being JSON.
    const kills = o.killUponCompletion ? await manager.killAtCompletion({ keepFailed: o.keepFailed }) : [];
    return { report, interrupted: false, kills };
  } finally {
    done();
  }
}
