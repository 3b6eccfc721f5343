import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import {
  type ConflictPolicy,
  isMcError,
  type LayoutConfig,
  McError,
  type MonitorSnapshot,
  type PreparedSession,
  readLayoutsFile,
  type StartedSession,
  type StatusReport,
  sleep,
} from "@mc/core";
import { type BackendName, createFleet, createManager, resolveBackend } from "../backends.js";
import { EXIT_TABS_FAILED } from "../exit-codes.js";
import { LiveBlock, type Output, printJson, statusTable, transitions } from "../output.js";
import { chooseInteractively, chooseLayouts, chooseTabs } from "../select.js";
import { runDynamic } from "./dynamic.js";

/** Options of `sessions run`. */
export interface RunOptions {
  layoutsFile?: string;
  chooseLayouts?: string;
  chooseTabs?: string;
  interactive?: boolean;
  backend: string;
  onConflict: ConflictPolicy;
  monitor?: boolean;
  killUponCompletion?: boolean;
  parallelLayouts?: number;
  maxTabsPerLayout: number;
  maxParallelLayouts: number;
  sleepInbetween: number;
  substituteHome?: boolean;
  maxParallelTabs?: number;
  pollSeconds: number;
  killFinishedTabs?: boolean;
  dryRun?: boolean;
  prefix?: string;
  socket?: string;
  /** Run on these machines over ssh (`@mc/remote`) instead of this one. */
  host?: string[];
  sshConfig?: string;
  interval: number;
}

/** machineconfig's default layouts file. */
export const DEFAULT_LAYOUTS_FILE = join(homedir(), "dotfiles", "machineconfig", "layouts.json");

const usage = (reason: string, hint?: string) =>
  new McError("USAGE", reason, { backend: "cli", op: "run", hint });

/** Load the file and apply -c / -t / -i and the sanity limits. */
export async function selectLayouts(file: string, o: RunOptions): Promise<LayoutConfig[]> {
  const layoutsFile = await readLayoutsFile(file);
  let layouts: LayoutConfig[] = layoutsFile.layouts;
  if (o.chooseLayouts !== undefined) layouts = chooseLayouts(layouts, o.chooseLayouts.split(","));
  if (o.interactive) layouts = await chooseInteractively(layouts);
  if (o.chooseTabs !== undefined) layouts = [chooseTabs(layouts, o.chooseTabs.split(","))];
  for (const l of layouts) {
    if (l.layoutTabs.length > o.maxTabsPerLayout) {
      throw usage(
        `layout "${l.layoutName}" has ${l.layoutTabs.length} tabs, over --max-tabs-per-layout ${o.maxTabsPerLayout}`,
        "raise the limit, or split it with `sessions balance-load`",
      );
    }
  }
  if (o.parallelLayouts !== undefined) {
    if (o.parallelLayouts < 1) throw usage("--parallel-layouts must be at least 1");
    if (o.parallelLayouts > o.maxParallelLayouts)
      throw usage(
        `--parallel-layouts ${o.parallelLayouts} is over --max-parallel-layouts ${o.maxParallelLayouts}`,
      );
  } else if (layouts.length > o.maxParallelLayouts && o.maxParallelTabs === undefined) {
    throw usage(
      `${layouts.length} layouts would start at once, over --max-parallel-layouts ${o.maxParallelLayouts}`,
      "run them in batches with --parallel-layouts N, or raise the limit",
    );
  }
  return layouts;
}

/** What conflict resolution did to a session, for humans. */
function conflictNote(action: "create" | "replace", renamed: boolean, requested: string): string {
  if (action === "replace") return " (replaces the session that was running)";
  return renamed ? ` (renamed from "${requested}")` : "";
}

/** Print the plan and every generated artefact; start nothing. */
function printPlan(backend: BackendName, batches: PreparedSession[][], out: Output): void {
  if (out.json) {
    printJson({
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
      out.out(out.c.bold(`# session "${p.name}" on ${backend}: ${p.layout.layoutTabs.length} tab(s)${why}`));
      for (const a of p.artefacts) {
        out.out(out.c.dim(`# --- ${a.description}: ${a.path}`));
        out.out(a.content.replace(/\n$/, ""));
      }
      for (const c of p.start)
        out.out(
          out.c.dim(
            `# start: ${[c.file, ...c.args].map((x) => (/^[\w@%+=:,./-]+$/.test(x) ? x : `'${x.replace(/'/g, `'\\''`)}'`)).join(" ")}`,
          ),
        );
      out.out("");
    }
  });
  out.err(out.c.dim("dry run: nothing was started"));
}

/** Monitor with a live table on a TTY, transition lines when piped, JSON snapshots with --json. */
export async function monitorWithOutput(
  target: {
    runMonitoringRoutine(o: Record<string, unknown>): Promise<StatusReport | undefined>;
    /** Forget the killed sessions' run record. */
    forgetAll(): Promise<void>;
  },
  o: { intervalMs: number; killUponCompletion: boolean },
  out: Output,
): Promise<{ report: StatusReport | undefined; interrupted: boolean }> {
  const ac = new AbortController();
  const onSig = () => ac.abort();
  process.once("SIGINT", onSig);
  process.once("SIGTERM", onSig);
  const live = out.tty && !out.json ? new LiveBlock((s) => process.stdout.write(s)) : undefined;
  let prev: StatusReport | undefined;
  const onSnapshot = (snap: MonitorSnapshot) => {
    if (snap.error) {
      out.err(out.c.yellow(`status failed: ${snap.error.message}; still watching`));
      return;
    }
    const r = snap.report!;
    if (out.json)
      process.stdout.write(
        `${JSON.stringify({ event: "status", cycle: snap.cycle, done: snap.done, report: r })}\n`,
      );
    else if (live) live.render(statusTable(r, out));
    else for (const line of transitions(prev, r)) out.out(line);
    prev = r;
  };
  try {
    const report = await target.runMonitoringRoutine({
      // States are all monitoring needs; process trees cost most of a poll (sessions status --json has them).
      processes: false,
      intervalMs: o.intervalMs,
      killUponCompletion: o.killUponCompletion,
      signal: ac.signal,
      onSnapshot,
    });
    if (ac.signal.aborted) {
      out.err(out.c.yellow("monitoring stopped; the sessions keep running (sessions status, sessions kill)"));
      return { report, interrupted: true };
    }
    if (o.killUponCompletion) {
      await target.forgetAll();
      if (!out.json) out.err(out.c.dim("every command finished; sessions killed"));
    } else if (!out.json && !live && report) {
      for (const line of statusTable(report, out)) out.out(line);
    }
    return { report, interrupted: false };
  } finally {
    process.off("SIGINT", onSig);
    process.off("SIGTERM", onSig);
  }
}

/** `sessions run`: start layouts, optionally monitor them until done and kill them. */
export async function runCommand(file: string | undefined, o: RunOptions, out: Output): Promise<number> {
  const path = file ?? o.layoutsFile ?? DEFAULT_LAYOUTS_FILE;
  if (file === undefined && o.layoutsFile === undefined && !existsSync(path)) {
    throw new McError("LAYOUT_NOT_FOUND", `no layouts file given and ${path} does not exist`, {
      backend: "cli",
      op: "run",
      hint: "sessions run FILE (sessions create-template writes a starter file)",
    });
  }
  return runLayouts(await selectLayouts(path, o), o, out);
}

/** Start (or plan) the given layouts with the run options. */
export async function runLayouts(layouts: LayoutConfig[], o: RunOptions, out: Output): Promise<number> {
  if (o.host?.length) return runRemote(layouts, o, out);
  const backend = await resolveBackend(o.backend);
  if (o.maxParallelTabs !== undefined) return runDynamic(backend, layouts, o, out);

  const batchSize = o.parallelLayouts ?? layouts.length;
  const batches: LayoutConfig[][] = [];
  for (let i = 0; i < layouts.length; i += batchSize) batches.push(layouts.slice(i, i + batchSize));
  const monitor = Boolean(o.monitor || o.parallelLayouts !== undefined);
  const init = (sessionLayouts: LayoutConfig[]) => ({
    sessionLayouts,
    sessionNamePrefix: o.prefix,
    socket: o.socket,
  });

  if (o.dryRun) {
    const plans: PreparedSession[][] = [];
    for (const batch of batches)
      plans.push(await (await createManager(backend, init(batch))).plan({ onConflict: o.onConflict }));
    printPlan(backend, plans, out);
    return 0;
  }

  let failed = 0;
  const results: unknown[] = [];
  for (const [bi, batch] of batches.entries()) {
    if (bi > 0 && o.sleepInbetween > 0) await sleep(o.sleepInbetween * 1000);
    const manager = await createManager(backend, init(batch));
    // Ctrl-C or SIGTERM while starting rolls back what this run started instead of leaving it unknown.
    const ac = new AbortController();
    const onSig = () => ac.abort();
    process.on("SIGINT", onSig);
    process.on("SIGTERM", onSig);
    const started = await manager
      .startAllSessions({
        signal: ac.signal,
        onConflict: o.onConflict,
        delayBetweenMs: o.sleepInbetween * 1000,
        onSessionStarted: (s, done, total) => {
          if (out.json) return;
          const note = conflictNote(s.action, s.renamed, s.requestedName);
          out.err(
            `${out.c.green("✓")} ${s.name} ${out.c.dim(`${s.tabs} tab${s.tabs === 1 ? "" : "s"} on ${backend}${note} [${done}/${total}]`)}`,
          );
        },
      })
      .finally(() => {
        process.off("SIGINT", onSig);
        process.off("SIGTERM", onSig);
      });
    let report: StatusReport | undefined;
    if (monitor) {
      const r = await monitorWithOutput(
        {
          runMonitoringRoutine: (m) => manager.runMonitoringRoutine(m),
          forgetAll: async () => {
            for (const s of manager.managed.map((x) => x.name)) await manager.forget(s);
          },
        },
        { intervalMs: o.interval * 1000, killUponCompletion: Boolean(o.killUponCompletion) },
        out,
      );
      report = r.report;
      if (r.interrupted) return 130;
      failed += report?.summary.failedCommands ?? 0;
    }
    results.push({ batch: bi + 1, runId: manager.runId, sessions: started, ...(report ? { report } : {}) });
    if (!monitor && !out.json) {
      const names = started.map((s) => s.name);
      out.err(
        out.c.dim(
          `started ${names.length} session${names.length === 1 ? "" : "s"}; attach with: sessions attach ${names.length === 1 ? JSON.stringify(names[0]).replace(/^"(\w[\w.-]*)"$/, "$1") : "<session>"}`,
        ),
      );
    }
  }
  if (out.json) printJson({ backend, batches: results });
  return failed > 0 ? EXIT_TABS_FAILED : 0;
}

/**
 * `sessions run --host A --host B`: the same layouts on every machine, started in parallel over one ssh
 * connection each; a machine that fails is reported and the others carry on.
 */
async function runRemote(layouts: LayoutConfig[], o: RunOptions, out: Output): Promise<number> {
  // On another machine there is nothing local to detect: auto means tmux there.
  const backend: BackendName =
    o.backend === "auto" || o.backend === "a" ? "tmux" : await resolveBackend(o.backend);
  if (o.maxParallelTabs !== undefined || o.parallelLayouts !== undefined) {
    throw usage("--host does not combine with --max-parallel-tabs or --parallel-layouts yet");
  }
  const machines = [
    ...new Set(
      o
        .host!.flatMap((h) => h.split(","))
        .map((h) => h.trim())
        .filter(Boolean),
    ),
  ];
  const fleet = await createFleet(backend, {
    machines,
    sessionLayouts: layouts,
    sessionNamePrefix: o.prefix,
    socket: o.socket,
    sshConfig: o.sshConfig,
  });
  try {
    if (o.dryRun) {
      const plans: PreparedSession[][] = [];
      for (const m of machines) plans.push(await fleet.manager(m).plan({ onConflict: o.onConflict }));
      if (!out.json)
        for (const [i, m] of machines.entries()) out.err(out.c.dim(`batch ${i + 1} is machine ${m}`));
      printPlan(backend, plans, out);
      return 0;
    }
    const ac = new AbortController();
    const onSig = () => ac.abort();
    process.on("SIGINT", onSig);
    process.on("SIGTERM", onSig);
    const results = await fleet
      .startAllSessions({
        onConflict: o.onConflict,
        delayBetweenMs: o.sleepInbetween * 1000,
        signal: ac.signal,
        onMachineDone: (r: { machine: string; ok: boolean; error?: Error; sessions: StartedSession[] }) => {
          if (out.json) return;
          if (r.ok) {
            for (const s of r.sessions) {
              out.err(
                `${out.c.green("✓")} ${r.machine}: ${s.name} ${out.c.dim(`${s.tabs} tab(s) on ${backend}${conflictNote(s.action, s.renamed, s.requestedName)}`)}`,
              );
            }
          } else out.err(`${out.c.red("✗")} ${r.machine}: ${r.error?.message ?? "failed"}`);
        },
      })
      .finally(() => {
        process.off("SIGINT", onSig);
        process.off("SIGTERM", onSig);
      });
    const failedMachines = results.filter((r) => !r.ok);
    let report: StatusReport | undefined;
    let failedTabs = 0;
    if (o.monitor && results.some((r) => r.ok)) {
      const r = await monitorWithOutput(
        {
          runMonitoringRoutine: (m) => fleet.runMonitoringRoutine(m),
          forgetAll: () => fleet.deleteSaved(fleet.runId).catch(() => {}),
        },
        { intervalMs: o.interval * 1000, killUponCompletion: Boolean(o.killUponCompletion) },
        out,
      );
      if (r.interrupted) return 130;
      report = r.report;
      failedTabs = report?.summary.failedCommands ?? 0;
    }
    if (out.json) {
      printJson({
        backend,
        runId: fleet.runId,
        machines: results.map((r) =>
          r.ok
            ? { machine: r.machine, ok: true, sessions: r.sessions }
            : {
                machine: r.machine,
                ok: false,
                error: isMcError(r.error) ? r.error.toJSON() : { message: r.error.message },
              },
        ),
        ...(report ? { report } : {}),
      });
    }
    if (failedMachines.length === machines.length) throw failedMachines[0]!.error;
    if (failedMachines.length > 0) return 1;
    return failedTabs > 0 ? EXIT_TABS_FAILED : 0;
  } finally {
    await fleet.close();
  }
}
