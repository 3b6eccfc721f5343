import { type LayoutConfig, McError, type SessionManager, sleep, type TabStatus } from "@mc/core";
import { EXIT_TABS_FAILED } from "../exit-codes.js";
import type { Output } from "../output.js";
import type { BackendName } from "../registry.js";
import { managerFor, type RunOptions } from "./run.js";

const FINISHED = new Set<TabStatus["state"]>(["exited", "killed"]);

const usage = (reason: string, hint?: string) =>
  new McError("USAGE", reason, { backend: "cli", op: "run", hint });

function checkOptions(layouts: LayoutConfig[], o: RunOptions): number {
  const n = o.maxParallelTabs!;
  if (!Number.isInteger(n) || n < 1) throw usage("--max-parallel-tabs must be a positive integer");
  if (!(o.pollSeconds > 0)) throw usage("--poll-seconds must be above 0");
  if (layouts.length !== 1) {
    throw usage(
      `--max-parallel-tabs runs one layout; ${layouts.length} are selected`,
      "pick one with --choose-layouts NAME (or --choose-tabs)",
    );
  }
  if (o.parallelLayouts !== undefined)
    throw usage("--max-parallel-tabs and --parallel-layouts cannot be combined");
  return n;
}

/** One scheduler step: tabs that finished since the last poll, and the next tabs to start in their place. */
async function step(
  manager: SessionManager,
  s: { machine: string; name: string },
  state: { running: Set<number>; done: Map<number, TabStatus>; next: number; total: number },
  o: RunOptions,
  event: (e: Record<string, unknown>, text: string) => void,
): Promise<boolean> {
  const report = await manager.checkAllSessionsStatus({ processes: false });
  const status = report.sessions.find((x) => x.machine === s.machine && x.session === s.name);
  const tabs = status?.tabs ?? [];
  for (const i of [...state.running]) {
    const t = tabs[i];
    if (!t || !FINISHED.has(t.state)) continue;
    state.running.delete(i);
    state.done.set(i, t);
    const ok = t.state === "exited" && t.exitCode === 0;
    event(
      {
        type: t.state === "exited" ? "tab-exited" : "tab-killed",
        time: new Date().toISOString(),
        machine: s.machine,
        session: s.name,
        tab: t.tabName,
        index: i,
        ...(t.exitCode === undefined ? {} : { exitCode: t.exitCode }),
        ...(t.signal ? { signal: t.signal } : {}),
      },
      `${ok ? "✓" : "✗"} ${s.name} / ${t.tabName}: ${t.state}${t.exitCode === undefined ? "" : ` ${t.exitCode}`} (${state.done.size}/${state.total})`,
    );
    if (o.killFinishedTabs && t.ref) await manager.closeTab(t.ref, s.machine);
    if (state.next < state.total) {
      const k = state.next++;
      await manager.startTab(s.name, k, s.machine);
      event(
        {
          type: "tab-started",
          time: new Date().toISOString(),
          machine: s.machine,
          session: s.name,
          tab: tabs[k]?.tabName,
          index: k,
        },
        `▶ ${s.name} / ${tabs[k]?.tabName ?? k}`,
      );
      state.running.add(k);
    }
  }
  return Boolean(status && !status.exists && state.running.size > 0);
}

/**
 * `--max-parallel-tabs N`: keep N tabs of one layout running, starting the next as each finishes
 * (machineconfig's dynamic mode). Tabs that never ran are not "finished": only a recorded end counts.
 * Backends that cannot add tabs later are refused before anything starts.
 */
export async function runDynamic(
  backend: BackendName,
  layouts: LayoutConfig[],
  o: RunOptions,
  out: Output,
): Promise<number> {
  const n = checkOptions(layouts, o);
  const manager = await managerFor(backend, layouts, o);
  try {
    if (o.killFinishedTabs && !manager.factory.capabilities.closeTab)
      throw usage(
        `${backend} cannot close one tab (capability "closeTab"): --kill-finished-tabs is not possible`,
      );
    const tabs = layouts[0]!.layoutTabs;
    const first = Math.min(n, tabs.length);
    if (o.dryRun) {
      const plan = await manager.plan({
        onConflict: o.onConflict,
        initialTabs: first,
        missingDirs: o.missingDirs,
      });
      if (out.json)
        out.printJson({
          dryRun: true,
          backend,
          maxParallelTabs: n,
          plan: plan.map((p) => ({ name: p.name, machine: p.machine, artefacts: p.artefacts })),
        });
      else
        for (const p of plan)
          for (const a of p.artefacts) out.out(`# --- ${a.description}: ${a.path}\n${a.content}`);
      return 0;
    }
    const started = await manager.startAllSessions({
      onConflict: o.onConflict,
      initialTabs: first,
      missingDirs: o.missingDirs,
    });
    const event = (e: Record<string, unknown>, text: string) => (out.json ? out.jsonLine(e) : out.err(text));
    const ac = new AbortController();
    const onSig = () => ac.abort();
    process.once("SIGINT", onSig);
    let failed = 0;
    try {
      // Each machine's copy of the layout is scheduled on its own.
      await Promise.all(
        started.map(async (s) => {
          // The session's own tabs: --missing-dirs skip may have left out some of the layout's.
          const own = manager.session(s.name, s.machine).layout.layoutTabs;
          const now = Math.min(first, own.length);
          for (let i = 0; i < now; i++)
            event(
              {
                type: "tab-started",
                time: new Date().toISOString(),
                machine: s.machine,
                session: s.name,
                tab: own[i]!.tabName,
                index: i,
              },
              `▶ ${s.name} / ${own[i]!.tabName}`,
            );
          const state = {
            running: new Set(Array.from({ length: now }, (_, i) => i)),
            done: new Map<number, TabStatus>(),
            next: now,
            total: own.length,
          };
          while (state.running.size > 0 && !ac.signal.aborted) {
            await sleep(o.pollSeconds * 1000, ac.signal);
            if (ac.signal.aborted) break;
            if (await step(manager, s, state, o, event)) {
              throw new McError(
                "SESSION_NOT_FOUND",
                `session "${s.name}" went away with ${state.running.size} tab(s) still running`,
                { backend: "cli" },
              );
            }
          }
          failed += [...state.done.values()].filter(
            (t) => !(t.state === "exited" && t.exitCode === 0),
          ).length;
        }),
      );
    } finally {
      process.off("SIGINT", onSig);
    }
    if (ac.signal.aborted) {
      out.err("stopped scheduling; started tabs keep running");
      return 130;
    }
    if (o.killUponCompletion) await manager.killAllSessions();
    const total = started.reduce((n, s) => n + s.tabs, 0);
    if (out.json)
      out.jsonLine({
        type: "run-done",
        time: new Date().toISOString(),
        sessions: started.map((s) => s.name),
        tabs: total,
        failed,
      });
    else out.err(`all ${total} tabs finished, ${failed} failed`);
    return failed > 0 ? EXIT_TABS_FAILED : 0;
  } finally {
    await manager.close();
  }
}
