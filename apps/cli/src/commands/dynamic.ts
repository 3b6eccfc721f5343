import { type LayoutConfig, McError, type SessionManager, sleep, type TabStatus } from "@mc/core";
import { type BackendName, createManager } from "../backends.js";
import { EXIT_TABS_FAILED } from "../exit-codes.js";
import { type Output, printJson } from "../output.js";
import type { RunOptions } from "./run.js";

/** What a manager needs for tab-by-tab scheduling (tmux has it). */
interface TabScheduler extends SessionManager {
  startTab(session: string, index: number): Promise<void>;
  killTab(ref: string): Promise<void>;
}

const FINISHED = new Set<TabStatus["state"]>(["exited", "killed"]);

/**
 * `--max-parallel-tabs N`: keep N tabs of one layout running, starting the next as each finishes
 * (machineconfig's dynamic mode). Tabs that never ran are not "finished": only a recorded end counts.
 */
export async function runDynamic(
  backend: BackendName,
  layouts: LayoutConfig[],
  o: RunOptions,
  out: Output,
): Promise<number> {
  const n = o.maxParallelTabs!;
  if (!Number.isInteger(n) || n < 1)
    throw new McError("USAGE", "--max-parallel-tabs must be a positive integer", { backend: "cli" });
  if (!(o.pollSeconds > 0)) throw new McError("USAGE", "--poll-seconds must be above 0", { backend: "cli" });
  if (layouts.length !== 1) {
    throw new McError("USAGE", `--max-parallel-tabs runs one layout; ${layouts.length} are selected`, {
      backend: "cli",
      hint: "pick one with --choose-layouts NAME (or --choose-tabs)",
    });
  }
  if (o.parallelLayouts !== undefined)
    throw new McError("USAGE", "--max-parallel-tabs and --parallel-layouts cannot be combined", {
      backend: "cli",
    });
  const manager = (await createManager(backend, {
    sessionLayouts: layouts,
    sessionNamePrefix: o.prefix,
    socket: o.socket,
  })) as TabScheduler;
  if (typeof manager.startTab !== "function") {
    throw new McError("USAGE", `--max-parallel-tabs is not supported on ${backend} yet`, {
      backend: "cli",
      hint: "use --backend tmux",
    });
  }
  const tabs = layouts[0]!.layoutTabs;
  const first = Math.min(n, tabs.length);
  if (o.dryRun) {
    const plan = await manager.plan({ onConflict: o.onConflict, initialTabs: first });
    if (out.json)
      printJson({
        dryRun: true,
        backend,
        maxParallelTabs: n,
        plan: plan.map((p) => ({ name: p.name, artefacts: p.artefacts })),
      });
    else
      for (const p of plan)
        for (const a of p.artefacts) out.out(`# --- ${a.description}: ${a.path}\n${a.content}`);
    return 0;
  }
  const [started] = await manager.startAllSessions({ onConflict: o.onConflict, initialTabs: first });
  const name = started!.name;
  const event = (e: Record<string, unknown>, text: string) =>
    out.json ? process.stdout.write(`${JSON.stringify(e)}\n`) : out.err(text);
  for (let i = 0; i < first; i++)
    event(
      { event: "started", session: name, tab: tabs[i]!.tabName, index: i },
      `▶ ${name} / ${tabs[i]!.tabName}`,
    );
  let next = first;
  const running = new Set(Array.from({ length: first }, (_, i) => i));
  const done = new Map<number, TabStatus>();
  const ac = new AbortController();
  const onSig = () => ac.abort();
  process.once("SIGINT", onSig);
  try {
    while (running.size > 0 && !ac.signal.aborted) {
      await sleep(o.pollSeconds * 1000, ac.signal);
      const report = await manager.checkAllSessionsStatus();
      const tabStatus = report.sessions[0]?.tabs ?? [];
      for (const i of [...running]) {
        const t = tabStatus[i];
        if (!t || !FINISHED.has(t.state)) continue;
        running.delete(i);
        done.set(i, t);
        event(
          {
            event: "finished",
            session: name,
            tab: t.tabName,
            index: i,
            state: t.state,
            exitCode: t.exitCode,
            signal: t.signal,
          },
          `${t.state === "exited" && t.exitCode === 0 ? "✓" : "✗"} ${name} / ${t.tabName}: ${t.state}${t.exitCode === undefined ? "" : ` ${t.exitCode}`} (${done.size}/${tabs.length})`,
        );
        if (o.killFinishedTabs && t.ref) await manager.killTab(t.ref);
        if (next < tabs.length) {
          await manager.startTab(name, next);
          event(
            { event: "started", session: name, tab: tabs[next]!.tabName, index: next },
            `▶ ${name} / ${tabs[next]!.tabName}`,
          );
          running.add(next++);
        }
      }
      if (tabStatus.length > 0 && report.sessions[0] && !report.sessions[0].exists && running.size > 0) {
        throw new McError(
          "SESSION_NOT_FOUND",
          `session "${name}" went away with ${running.size} tab(s) still running`,
          { backend: "cli" },
        );
      }
    }
  } finally {
    process.off("SIGINT", onSig);
  }
  if (ac.signal.aborted) {
    out.err("stopped scheduling; started tabs keep running");
    return 130;
  }
  if (o.killUponCompletion) {
    await manager.killAllSessions();
    await manager.forget(name);
  }
  const failed = [...done.values()].filter((t) => !(t.state === "exited" && t.exitCode === 0)).length;
  if (out.json)
    process.stdout.write(`${JSON.stringify({ event: "done", session: name, tabs: tabs.length, failed })}\n`);
  else out.err(`all ${tabs.length} tabs finished, ${failed} failed`);
  return failed > 0 ? EXIT_TABS_FAILED : 0;
}
