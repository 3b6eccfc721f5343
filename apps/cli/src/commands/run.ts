import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import {
  type ConflictPolicy,
  isMcError,
  type KillResult,
  type LayoutConfig,
  type MachineStartResult,
  McError,
  type McEvent,
  type PreparedSession,
  type SessionManager,
  type StartedSession,
  type StatusReport,
  schedule,
  sleep,
} from "@mc/core";
import { display, placeWords, sessionsCommand } from "../display.js";
import { EXIT_TABS_FAILED, exitCodeOf, SAID_ABOVE } from "../exit-codes.js";
import { type Notifier, notifier } from "../notify.js";
import type { Output } from "../output.js";
import {
  type BackendName,
  type BackendOptions,
  buildManager,
  isAutoBackend,
  type Placement,
  resolveBackend,
} from "../registry.js";
import { selectLayouts } from "../select.js";
import { logsNotKept } from "./logs.js";
import { monitorWithOutput, streamWithOutput } from "./monitor-output.js";
import { conflictNote, printPlan } from "./plan-output.js";
import { toolName } from "./runs.js";
import { armStopLatch, stopRequested } from "./stop-latch.js";

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
  /** Run on these machines over ssh instead of this one. */
  host?: string[];
  sshConfig?: string;
  interval: number;
  missingDirs: "error" | "create" | "skip";
  /** Warn about and ignore unknown keys; read a numeric-string tabWeight (machineconfig runs such files). */
  lenient?: boolean;
  /** Every tab of every layout as one session (with --max-parallel-tabs). */
  allFile?: boolean;
  /** What a tab does once its command ended. */
  exit: "shell" | "close" | "keep";
  /** Every tab's `interactive` (its command read by `$SHELL -i`, aliases and rc functions working). */
  interactiveShell?: boolean;
  /** With --kill-upon-completion: keep sessions that have a failed tab (their successful tabs close). */
  keepFailed?: boolean;
  /** A command run (event JSON on stdin) on failures and at the end, or `desktop`. */
  notify?: string;
}

/** machineconfig's default layouts file. */
export const DEFAULT_LAYOUTS_FILE = join(homedir(), "dotfiles", "machineconfig", "layouts.json");
/** {@link DEFAULT_LAYOUTS_FILE} as `--help` says it: with `~`, so a long HOME keeps help in 80 columns (review H57-9). */
export const DEFAULT_LAYOUTS_HELP = "~/dotfiles/machineconfig/layouts.json";

const usage = (reason: string, hint?: string) =>
  new McError("USAGE", reason, { backend: "cli", op: "run", hint });

/** The machines of `--host` (repeated or comma-separated), without duplicates. */
export function placementOf(o: Pick<RunOptions, "host" | "sshConfig">): Placement {
  const hosts = (o.host ?? []).flatMap((h) => h.split(",")).map((h) => h.trim());
  if ((o.host?.length ?? 0) > 0 && hosts.every((h) => h === "")) throw usage("--host needs a machine name");
  return { hosts: [...new Set(hosts.filter(Boolean))], sshConfig: o.sshConfig };
}

/** The backend's options from the flags (only tmux has any today). */
function backendOptionsOf<K extends BackendName>(name: K, o: RunOptions): BackendOptions[K] {
  return (name === "tmux" && o.socket !== undefined ? { socket: o.socket } : {}) as BackendOptions[K];
}

/**
 * The machines that did not answer during a manager's start: each costs one connect or login deadline,
 * not one per step of the start (review HR80-1: a login that hangs was waited out three times, 166 s).
 * Emptied once the start is over: monitoring asks a machine again and again, it may come back.
 */
const startUnanswered = new WeakMap<SessionManager, StartOnly>();

/**
 * The machines that did not answer during a run's start (see `unanswered`): none is asked again until the
 * start is over. Then it is emptied and remembers nothing more: the run's monitoring and scheduling ask
 * every machine at every look, as `wait` does (review HR89-1: one failed poll, and a machine back a moment
 * later was never asked again; `-m` never ended, `-k` never killed).
 */
class StartOnly extends Map<string, McError> {
  private over = false;
  override set(key: string, value: McError): this {
    if (!this.over) super.set(key, value);
    return this;
  }
  end(): void {
    this.over = true;
    this.clear();
  }
}

/** The manager of one batch of layouts, with the run's backend, machines and options. */
export async function managerFor(
  backend: BackendName,
  layouts: readonly LayoutConfig[],
  o: RunOptions,
  out?: Output,
): Promise<SessionManager> {
  const unanswered = new StartOnly();
  const manager = (await buildManager(backend, layouts, {
    prefix: o.prefix,
    exitMode: o.exit,
    backendOptions: backendOptionsOf(backend, o),
    placement: placementOf(o),
    unanswered,
    ...(out ? { onNotice: (n: string) => warn(out, n) } : {}),
  })) as SessionManager;
  startUnanswered.set(manager, unanswered);
  return manager;
}

/** `sessions run`: start layouts, optionally monitor them until done and kill them. */
export async function runCommand(file: string | undefined, o: RunOptions, out: Output): Promise<number> {
  const path = file ?? o.layoutsFile ?? DEFAULT_LAYOUTS_FILE;
  if (file === undefined && o.layoutsFile === undefined && !existsSync(path)) {
    // The file create-template writes here, when it is there (review H61-6 told to write it again).
    const here = ["layout.json", "layouts.json"].find((n) => existsSync(n));
    throw new McError("LAYOUT_NOT_FOUND", `no layouts file given and ${path} does not exist`, {
      backend: "cli",
      op: "run",
      hint: here
        ? `sessions run ./${here}`
        : "sessions run FILE (sessions create-template writes a starter file)",
    });
  }
  return runLayouts(await selectLayouts(path, o, out), o, out);
}

/**
 * Ctrl-C or SIGTERM while starting rolls back what this run started instead of leaving it half-made; so
 * does a hang-up (the terminal closed, the ssh connection to this machine dropped) where `hangUp` is set.
 */
async function withInterrupt<T>(f: (signal: AbortSignal) => Promise<T>, hangUp = false): Promise<T> {
  const ac = new AbortController();
  const onSig = () => ac.abort();
  // One that came before this step began (between two steps): the step begins stopped.
  const early = stopRequested();
  if (early && (hangUp || early !== "SIGHUP")) ac.abort();
  const signals: NodeJS.Signals[] = hangUp ? ["SIGINT", "SIGTERM", "SIGHUP"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) process.on(s, onSig);
  try {
    return await f(ac.signal);
  } finally {
    for (const s of signals) process.off(s, onSig);
  }
}

function startedLine(
  out: Output,
  backend: string,
  remote: boolean,
  s: StartedSession,
  /** The session's name as the tool keeps it ({@link toolName}). */
  name: string,
  done: number,
  total: number,
  of = "",
) {
  const where = remote ? `${s.machine}: ` : "";
  const tabs = `${s.tabs} tab${s.tabs === 1 ? "" : "s"}`;
  const note = conflictNote(s.action, s.renamed, s.requestedName, s.merge);
  out.err(
    `${out.c.green("✓")} ${where}${name} ${out.c.dim(`${tabs} on ${backend}${note} [${of}${done}/${total}]`)}`,
  );
}

/** The JSON of one machine's start result. */
function machineJson(r: MachineStartResult) {
  if (r.ok) return { machine: r.machine, ok: true, sessions: r.sessions };
  return {
    machine: r.machine,
    ok: false,
    error: isMcError(r.error) ? r.error.toJSON() : { code: "INTERNAL", message: r.error.message },
  };
}

const tabCount = (n: number) => `${n} tab${n === 1 ? "" : "s"}`;

/** What one batch's run reported. */
interface BatchResult {
  json: Record<string, unknown>;
  failedTabs: number;
  /** The exit code of each machine that failed to start (its error's, as one machine alone gives it). */
  failedMachines: number[];
  interrupted: boolean;
  /** Commands (tabs and their panes) the batch's monitoring counted, when it watched them. */
  commands?: number;
  /** What `-k` did with each session (kept ones and failed kills are said in a JSON stream's run-done). */
  kills?: KillResult[];
}

/**
 * Print a scheduler event for humans. A JSON stream says nothing of its own: it is the same stream as
 * `sessions events`, which has every tab's start and readiness from the tabs' own events, a tab whose
 * dependency failed from the record the scheduler wrote, and one not ready in time from its status
 * (review HR82-1: each failed tab was said twice, the second time out of order).
 */
function schedulerLine(out: Output, e: McEvent, stream: boolean): void {
  if (stream || out.json) return;
  // On another machine, which one, as every other line of a run over ssh says (review HR89-3).
  const at = e.machine && e.machine !== "local" ? `${e.machine}: ` : "";
  if (e.type === "tab-started") out.err(`▶ ${at}${e.session} / ${e.tab}`);
  else if (e.type === "tab-ready") out.err(`${out.c.green("●")} ${at}${e.session} / ${e.tab}: ready`);
  else if (e.reason) out.err(`${out.c.red("✗")} ${at}${e.session} / ${e.tab}: ${e.reason}`);
}

/** tmux missing on a --host machine under `-b auto` (tmux there): the other backends are a flag away. */
function autoHint(e: Error, o: RunOptions, ctx: { remote: boolean; backend: BackendName }): Error {
  if (!ctx.remote || ctx.backend !== "tmux" || !isAutoBackend(o.backend) || !isMcError(e, "BINARY_NOT_FOUND"))
    return e;
  return new McError("BINARY_NOT_FOUND", e.message, {
    backend: "cli",
    op: "run",
    hint: `-b auto means tmux on --host machines: give -b zellij (or -b wt for Windows) to use another; ${e.hint ?? ""}`.replace(
      /; $/,
      "",
    ),
    cause: e,
  });
}

/**
 * Start one batch of layouts, open the tabs it holds back (dependsOn, --max-parallel-tabs) as they may
 * start, and monitor it to the end when asked.
 */
async function runBatch(
  manager: SessionManager,
  ctx: {
    backend: BackendName;
    remote: boolean;
    monitor: boolean;
    stream: boolean;
    batch: number;
    /** How many batches the run has (`-p`): each batch's lines then say which one they are of. */
    batches: number;
    /** The layouts of the batches before this one: their names and this batch's are one request. */
    earlier?: readonly LayoutConfig[];
    notify?: Notifier | undefined;
  },
  o: RunOptions,
  out: Output,
): Promise<BatchResult> {
  const of = ctx.batches > 1 ? `batch ${ctx.batch}/${ctx.batches}: ` : "";
  let done = 0;
  const total = manager.getAllSessionNames().length;
  const finished = new Set<string>();
  // The error's own words, not its internal tags ("[mc] [remote] info:" read as a severity: H53-5), with
  // its hint, as one machine alone prints them (H54-4).
  const machineFailed = (r: MachineStartResult) => {
    if (r.ok || out.json || !ctx.remote) return;
    out.err(`${out.c.red("✗")} ${r.machine}: ${isMcError(r.error) ? r.error.reason : r.error.message}`);
    if (isMcError(r.error) && r.error.hint) out.err(out.c.dim(`  hint: ${r.error.hint}`));
  };
  const started = await withInterrupt(
    (signal) =>
      manager.start({
        signal,
        onConflict: o.onConflict,
        missingDirs: o.missingDirs,
        initialTabs: o.maxParallelTabs,
        earlier: ctx.earlier,
        onWarning: (w) => warn(out, w),
        onLockWait: (machine) => {
          if (out.json) return;
          // Over ssh taking the lock is the first thing asked: a machine slow to answer waits here too,
          // with no other run anywhere (review HR80-2).
          out.err(
            out.c.dim(
              machine === "local"
                ? "waiting for another sessions run that is starting sessions on this machine (its start lock; Ctrl-C gives up, nothing started yet)"
                : `waiting for ${display(machine, { oneLine: true })}: its start lock (another sessions run starting sessions there), or its answer; Ctrl-C gives up, nothing started yet`,
            ),
          );
        },
        delayBetweenMs: o.sleepInbetween * 1000,
        onSessionStarted: (s) => {
          done++;
          // A JSON stream reads session-started with the rest of the events, once monitoring begins.
          if (!out.json)
            startedLine(
              out,
              ctx.backend,
              ctx.remote,
              s,
              toolName(manager, s.machine, s.name),
              done,
              total,
              of,
            );
        },
        onMachineDone: (r) => {
          if (r.ok) finished.add(r.machine);
          else machineFailed(r);
        },
      }),
    true,
  );
  startUnanswered.get(manager)?.end();
  // Machines that had finished when another's start was interrupted are rolled back after they were
  // said done: each is said again, with what its roll-back undid (review H60-2 named only the first).
  for (const r of started) if (!r.ok && finished.has(r.machine)) machineFailed(r);
  const failed = started.filter((r) => !r.ok) as (MachineStartResult & { error: Error })[];
  if (failed.length === started.length) {
    const first = autoHint(failed[0]!.error, o, ctx);
    // Every machine's line was said above (over ssh); with --json this error is all that is said: it
    // names each. autoHint's hint is new: said with the error.
    if (ctx.remote && !out.json && first === failed[0]!.error) SAID_ABOVE.add(first);
    if (failed.length === 1 || !out.json) throw first;
    const reason = (e: Error) => (isMcError(e) ? e.reason : e.message);
    throw new McError(
      isMcError(first) ? first.code : "START_FAILED",
      `no machine started its sessions: ${failed.map((r) => `${r.machine}: ${reason(r.error)}`).join("; ")}`,
      {
        backend: "cli",
        op: "start",
        ...(isMcError(first) && first.hint ? { hint: first.hint } : {}),
        details: { machines: failed.map((r) => ({ machine: r.machine, error: reason(r.error) })) },
      },
    );
  }

  const sessions = started.flatMap((r) => r.sessions);
  const result: BatchResult = {
    json: {},
    failedTabs: 0,
    failedMachines: failed.map((r) => {
      const e = (r as { error: Error }).error;
      return isMcError(e) ? exitCodeOf(e.code, e.reason) : 1;
    }),
    interrupted: false,
  };
  // Every layout skipped (--missing-dirs skip): nothing started, so nothing to schedule or watch (review
  // H33-6: -m and -p waited for ever).
  if (sessions.length === 0) {
    if (!out.json) out.err(out.c.yellow("nothing started: every layout of this batch was skipped"));
    result.json = { batch: ctx.batch, runId: manager.runId, machines: started.map(machineJson), sessions };
    return result;
  }
  warnLogsNotKept(manager, sessions, out);
  // Held-back tabs open as their dependencies are ready and slots free; --max-parallel-tabs waits for
  // the last command, as machineconfig's dynamic mode does.
  const dynamic = o.maxParallelTabs !== undefined;
  const scheduling =
    manager.managed.some((s) => s.pendingTabs?.length || s.layout.layoutTabs.some((t) => t.readiness)) ||
    Boolean(o.killFinishedTabs);
  const scheduler = (signal: AbortSignal) =>
    schedule(manager, {
      maxParallel: o.maxParallelTabs,
      pollMs: (dynamic ? o.pollSeconds : 0.5) * 1000,
      closeFinished: o.killFinishedTabs,
      untilDone: dynamic,
      signal,
      onEvent: (e) => schedulerLine(out, e, ctx.stream),
    });
  const end = {
    intervalMs: (dynamic ? o.pollSeconds : o.interval) * 1000,
    killUponCompletion: Boolean(o.killUponCompletion),
    keepFailed: o.keepFailed,
    notify: ctx.notify,
    socket: ctx.backend === "tmux" ? o.socket : undefined,
  };
  let report: StatusReport | undefined;
  if (ctx.stream) {
    // The event stream runs while the scheduler opens tabs, so nothing it does goes unseen.
    const r = await streamWithOutput(manager, end, out, scheduling ? scheduler : undefined);
    if (r.interrupted) return { ...result, interrupted: true };
    report = r.report;
    result.kills = r.kills;
    result.failedTabs = report?.summary.failedCommands ?? 0;
  } else {
    const watching = ctx.monitor || dynamic;
    // The scheduler runs while the monitor watches: each exit is printed (and notified) as it happens,
    // not once the last queued tab has opened.
    const stopWatching = new AbortController();
    let schedulingStopped = false;
    const scheduled = scheduling
      ? withInterrupt(async (signal) => {
          await scheduler(signal);
          return signal.aborted;
        }, true).then(
          (interrupted) => {
            schedulingStopped = interrupted;
          },
          (e) => {
            stopWatching.abort();
            throw e;
          },
        )
      : Promise.resolve();
    const watched = watching
      ? monitorWithOutput(manager, end, out, {
          quiet: dynamic && !ctx.monitor,
          stop: stopWatching.signal,
          label: of,
        })
      : undefined;
    const [, r] = await Promise.all([scheduled, watched]);
    if (scheduling && !watching && !schedulingStopped) {
      // Nothing watched the run: a tab that waited for another and never started because its session
      // ended first (killed, or its last open tab closed) is said here, and fails the run.
      // So is one the scheduler failed: not ready in time, or skipped for a failed dependency.
      const after = await manager.checkAllSessionsStatus({ processes: false });
      const tabs = after.sessions.flatMap((x) =>
        x.tabs.map((t) => ({ t, session: x.session, gone: !x.exists })),
      );
      const never = tabs.filter(({ t, gone }) => t.state === "not-started" && gone).length;
      // The wording of notReadyReason (a logMatches pattern given up as too slow ends the same way).
      const notReady = tabs.filter(({ t }) => !t.pane && /not ready within \d/.test(t.error ?? ""));
      const failed = notReady.length + tabs.filter(({ t }) => !t.pane && t.state === "skipped").length;
      if (never + failed > 0) {
        result.failedTabs = never + failed;
        report = after;
        if (!out.json && never)
          out.err(out.c.red(`${never} tab(s) never started: their session ended first`));
        // A tab skipped for its dependency was said as it happened; one not ready in time only here.
        if (!out.json)
          for (const { t, session } of notReady)
            out.err(`${out.c.red("✗")} ${session} / ${t.tabName}: ${display(t.error!, { oneLine: true })}`);
        if (!out.json && failed)
          out.err(
            out.c.red(
              `${failed} tab(s) failed: not ready in time, or not started because a tab they depend on failed`,
            ),
          );
      }
    }
    if (schedulingStopped) {
      out.err(
        "stopped scheduling; the tabs already open keep running, those not started read abandoned (sessions status; sessions rerun SESSION/TAB starts one)",
      );
      return { ...result, interrupted: true };
    }
    if (r) {
      if (r.interrupted) return { ...result, interrupted: true };
      report = r.report;
      result.kills = r.kills;
      result.failedTabs = report?.summary.failedCommands ?? 0;
      result.commands = report?.summary.totalCommands ?? 0;
      if (dynamic && !out.json) {
        const never = report?.sessions.flatMap((x) => x.tabs).filter((t) => t.state === "not-started").length;
        out.err(
          never
            ? `${of}${tabCount((report?.summary.totalCommands ?? 0) - never)} finished, ${result.failedTabs - never} failed; ${never} never started (their session ended)`
            : `${of}all ${report?.summary.totalCommands ?? 0} tabs finished, ${result.failedTabs} failed`,
        );
      }
    }
  }
  result.json = {
    batch: ctx.batch,
    runId: manager.runId,
    machines: started.map(machineJson),
    sessions,
    ...(report ? { report } : {}),
  };
  // No hint to attach to sessions that are already gone.
  const left = report
    ? sessions.filter((x) => report?.sessions.some((r) => r.session === x.name && r.exists))
    : sessions;
  if (!ctx.monitor && !dynamic && !out.json && left.length)
    attachHint(
      out,
      left,
      left.map((x) => toolName(manager, x.machine, x.name)),
      ctx.backend === "tmux" ? o.socket : undefined,
    );
  return result;
}

/**
 * Start (or plan) the given layouts: the same path on this machine and across `--host` machines. Batches
 * (`-p N`) start, are monitored until done, then the next starts. A machine that fails is reported and
 * the others carry on; when every machine failed, its error is the command's.
 */
export async function runLayouts(layouts: LayoutConfig[], o: RunOptions, out: Output): Promise<number> {
  // machineconfig types each command into the tab's interactive shell: --interactive-shell does as it
  // does for every tab (review H31-4: its aliases, such as machineconfig's own `f`, exited 127).
  if (o.interactiveShell)
    layouts = layouts.map((l) => ({
      ...l,
      layoutTabs: l.layoutTabs.map((t) => ({ ...t, interactive: true })),
    }));
  // A session whose open tabs have all closed ends: a tab waiting for another (dependsOn) never starts.
  if (o.exit === "close" && layouts.some((l) => l.layoutTabs.some((t) => t.dependsOn?.length)))
    throw usage(
      "--exit close cannot be combined with dependsOn: once the open tabs have closed, the session ends and the tabs waiting for them never start",
      "leave tabs open (--exit shell, the default), or use --max-parallel-tabs N --kill-finished-tabs, which keeps one open while tabs wait",
    );
  const placement = placementOf(o);
  const given = (o.host ?? [])
    .flatMap((h) => h.split(","))
    .map((h) => h.trim())
    .filter(Boolean);
  const twice = placement.hosts.filter((h) => given.indexOf(h) !== given.lastIndexOf(h));
  if (twice.length)
    warn(out, `--host ${twice.join(", ")} given more than once: each machine runs the layouts once`);
  const remote = placement.hosts.length > 0;
  // On another machine there is nothing local to detect: auto means tmux there.
  const backend: BackendName = remote && isAutoBackend(o.backend) ? "tmux" : await resolveBackend(o.backend);
  // An explicit --backend is checked with the flags; auto is known only now (review H61-12).
  if (o.socket !== undefined && backend !== "tmux")
    throw usage(
      `--socket names a tmux server; --backend ${o.backend} chose ${backend} here`,
      "drop --socket, or use --backend tmux",
    );
  const batchSize = o.parallelLayouts ?? layouts.length;
  const batches: LayoutConfig[][] = [];
  for (let i = 0; i < layouts.length; i += batchSize) batches.push(layouts.slice(i, i + batchSize));
  const monitor = Boolean(o.monitor || o.parallelLayouts !== undefined);
  // With --monitor, --json is a stream (NDJSON) of events that ends with run-done; otherwise one document.
  const stream = out.json && (monitor || o.maxParallelTabs !== undefined);
  if (o.dryRun) return dryRun(backend, batches, o, out, remote);

  const notify = o.notify ? notifier(o.notify, out) : undefined;
  let r: Awaited<ReturnType<typeof runBatches>>;
  const disarm = armStopLatch();
  try {
    r = await runBatches(batches, { backend, remote, monitor, stream, notify }, o, out);
    if (r === "interrupted") return 130;
    const doneEvent = { type: "run-done" as const, time: new Date().toISOString(), failed: r.failedTabs };
    if (monitor || o.maxParallelTabs !== undefined) notify?.(doneEvent);
    const kept = r.kills.flatMap((k) =>
      k.kept ? [{ machine: k.machine, session: k.name, reason: k.kept }] : [],
    );
    const notKilled = r.kills.flatMap((k) =>
      !k.ok && !k.kept ? [{ machine: k.machine, session: k.name, error: k.error ?? "" }] : [],
    );
    if (stream)
      out.jsonLine({
        ...doneEvent,
        backend,
        batches: r.results,
        ...(kept.length ? { kept } : {}),
        ...(notKilled.length ? { notKilled } : {}),
      });
    else if (out.json) out.printJson({ backend, batches: r.results });
  } finally {
    disarm();
    await notify?.flush();
  }
  // Machines that failed while others started: their exit code when they all say the same (8: every one
  // unreachable, as one machine alone exits), else 1 (review H53-5: an unreachable machine read 1).
  if (r.failedMachines.length > 0) {
    const [first] = r.failedMachines;
    return r.failedMachines.every((c) => c === first) ? first! : 1;
  }
  if (r.failedTabs > 0) return EXIT_TABS_FAILED;
  // A session -k could not kill is no success (review H29-1): 8 where its machine or tmux server did not
  // answer (as status and attach say it), else its error's code.
  const notKilled = r.kills.find((k) => !k.ok && !k.kept);
  if (!notKilled) return 0;
  return exitCodeOf(notKilled.code, notKilled.error);
}

/** Each batch in turn: started, scheduled and (when asked) monitored to the end before the next. */
async function runBatches(
  batches: LayoutConfig[][],
  ctx: {
    backend: BackendName;
    remote: boolean;
    monitor: boolean;
    stream: boolean;
    notify?: Notifier | undefined;
  },
  o: RunOptions,
  out: Output,
): Promise<
  "interrupted" | { failedTabs: number; failedMachines: number[]; results: unknown[]; kills: KillResult[] }
> {
  const { backend, stream } = ctx;
  let failedTabs = 0;
  const failedMachines: number[] = [];
  let commands = 0;
  const results: unknown[] = [];
  const kills: KillResult[] = [];
  // Before the first batch starts, every later one is planned as the dry run plans it: a name taken on
  // the server or a start directory that cannot be used refuses the run with nothing started (review
  // H31-14: found when its batch came up, after the earlier ones had run). What changes meanwhile is
  // still found when its batch starts. A layout name an earlier batch has too is a repeat, as without -p
  // (review HR85-4).
  for (const [bi, batch] of batches.entries()) {
    if (bi === 0) continue;
    const m = await managerFor(backend, batch, o, out);
    try {
      await m.plan({
        onConflict: o.onConflict,
        missingDirs: o.missingDirs,
        initialTabs: o.maxParallelTabs,
        earlier: batches.slice(0, bi).flat(),
        onWarning: () => {},
      });
    } finally {
      await m.close();
    }
  }
  for (const [bi, batch] of batches.entries()) {
    if (bi > 0 && o.sleepInbetween > 0) await sleep(o.sleepInbetween * 1000);
    const manager = await managerFor(backend, batch, o, out);
    try {
      const r = await runBatch(
        manager,
        { ...ctx, batch: bi + 1, batches: batches.length, earlier: batches.slice(0, bi).flat() },
        o,
        out,
      );
      if (r.interrupted) {
        // The batches after this one were never started: said, or stopping the watch reads as if the
        // whole file ran (review H37-4).
        const never = batches.slice(bi + 1).flat();
        if (never.length && !out.json)
          out.err(
            out.c.yellow(
              `not started: ${never.length} layout${never.length === 1 ? "" : "s"} of later batches (${never
                .map((l) => display(l.layoutName, { oneLine: true }))
                .join(", ")})`,
            ),
          );
        if (stream)
          out.jsonLine({
            type: "run-done",
            time: new Date().toISOString(),
            interrupted: true,
            backend,
            ...(never.length ? { notStarted: never.map((l) => l.layoutName) } : {}),
          });
        return "interrupted";
      }
      failedTabs += r.failedTabs;
      failedMachines.push(...r.failedMachines);
      commands += r.commands ?? 0;
      results.push(r.json);
      kills.push(...(r.kills ?? []));
    } finally {
      await manager.close();
    }
  }
  // Each batch said its own; the run's whole is said once at the end (review H44-5: the last batch's
  // "6 of 30 failed" read as the run's, 24 of 120).
  if (batches.length > 1 && commands > 0 && !out.json)
    out.err(
      `all ${batches.length} batches done: ${failedTabs ? `${failedTabs} of ${commands} commands failed` : `all ${commands} commands succeeded`}`,
    );
  return { failedTabs, failedMachines, results, kills };
}

async function dryRun(
  backend: BackendName,
  batches: LayoutConfig[][],
  o: RunOptions,
  out: Output,
  remote: boolean,
) {
  const plans: PreparedSession[][] = [];
  for (const [bi, batch] of batches.entries()) {
    const m = await managerFor(backend, batch, o, out);
    try {
      plans.push(
        await m.plan({
          onConflict: o.onConflict,
          missingDirs: o.missingDirs,
          initialTabs: o.maxParallelTabs,
          earlier: batches.slice(0, bi).flat(),
          onWarning: (w) => warn(out, w),
        }),
      );
    } finally {
      await m.close();
    }
  }
  printPlan(backend, plans, out, remote);
  return 0;
}

/** Machines whose sessions were said to keep no tab logs (said once per machine and run). */
const saidNoLogs = new Set<string>();

/** A session started without tab logs (zellij without script(1)) is said at start (review H51-4). */
function warnLogsNotKept(
  manager: SessionManager,
  started: readonly { machine: string; name: string }[],
  out: Output,
): void {
  for (const st of started) {
    const s = manager.managed.find((x) => x.machine === st.machine && x.name === st.name);
    const why = s && logsNotKept(s);
    if (why === undefined || saidNoLogs.has(st.machine)) continue;
    saidNoLogs.add(st.machine);
    warn(out, st.machine === "local" ? why : `${st.machine}: ${why}`);
  }
}

function warn(out: Output, message: string): void {
  if (!out.json) out.err(out.c.yellow(`warning: ${message}`));
}

/** "started 2 sessions", "merged into 1 running session", or both. */
function did(sessions: StartedSession[]): string {
  const n = (k: number, what: string) => `${k} ${what}${k === 1 ? "" : "s"}`;
  const merged = sessions.filter((s) => s.action === "merge").length;
  const started = sessions.length - merged;
  return [
    ...(started ? [`started ${n(started, "session")}`] : []),
    ...(merged ? [`merged into ${n(merged, "running session")}`] : []),
  ].join(", ");
}

/**
 * What to type to attach: the session's name as the tool keeps it, which also names it to `sessions`
 * (review H50-2: mc's `g_2.x:y` was neither tmux's `g_2_x_y` nor the layout's "g 2.x:y"), with its machine
 * and the tmux server `--socket` gave: a session of that name on another machine or server makes the name
 * alone ambiguous (review H57-3: the hint run printed exited 2; a run on several hosts names the same
 * session on each).
 */
function attachHint(
  out: Output,
  sessions: StartedSession[],
  names: string[],
  socket: string | undefined,
): void {
  const places = sessions.map((x, i) => ({ name: names[i]!, machine: x.machine, socket }));
  // Several: a placeholder for the name, after the options when every session shares them.
  const wheres = new Set(places.map(placeWords));
  const line =
    places.length === 1
      ? sessionsCommand("attach", places)
      : wheres.size === 1
        ? ["sessions attach", ...wheres, "<session>"].filter(Boolean).join(" ")
        : "sessions attach --host HOST <session>";
  out.err(out.c.dim(`${did(sessions)}; attach with: ${line}`));
}
