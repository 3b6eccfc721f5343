import { isAbsolute, join } from "node:path";
import { type ConflictPolicy, planSessionNames } from "./conflict.js";
import { isMcError, McError } from "./errors.js";
import type { Host, HostInfo } from "./host.js";
import { normaliseStartDir } from "./paths.js";
import { pollUntil } from "./poll.js";
import type { ManagedSession } from "./run-record.js";
import type { LayoutConfig } from "./schema.js";
import type { KillOutcome, PreparedSession, SessionBackend, SessionSpec } from "./session-backend.js";

/** One machine of a run, as the manager holds it. */
export interface MachineRuntime {
  readonly name: string;
  readonly host: Host;
  readonly backend: SessionBackend;
  readonly layouts: readonly LayoutConfig[];
}

/** Result of starting one session. */
export interface StartedSession {
  machine: string;
  name: string;
  requestedName: string;
  action: "create" | "replace";
  renamed: boolean;
  tabs: number;
  artefacts: string[];
}

/** What planning needs besides the machine. */
export interface PlanContext {
  runId: string;
  sessionNamePrefix: string | undefined;
  keepShell: boolean;
  info: HostInfo;
  onConflict: ConflictPolicy;
  initialTabs?: number | undefined;
}

/** The names asked for on a machine, before conflict resolution: `<prefix>_<layoutName>` or `layoutName`. */
export function requestedNames(layouts: readonly LayoutConfig[], prefix: string | undefined): string[] {
  return layouts.map((l) => (prefix ? `${prefix}_${l.layoutName}` : l.layoutName));
}

/**
 * Where a machine's run state goes: `runs/<runId>/s<i>` for this machine, and a directory of its own per
 * named machine, so machines that share a home (NFS, one box listed twice) never share records.
 */
export function runDirOf(info: HostInfo, runId: string, machine: string, index: number): string {
  const base = join(info.stateDir, "runs", runId);
  if (machine === "local") return join(base, `s${index}`);
  const slug = machine.replace(/[^\w.-]/g, "_").slice(0, 40);
  return join(base, `m-${slug}-${Buffer.from(machine).toString("hex").slice(0, 8)}`, `s${index}`);
}

/** Every absolute startDir must be a directory on the host: checked for all tabs before anything starts. */
async function checkStartDirs(m: MachineRuntime, info: HostInfo): Promise<void> {
  const problems: string[] = [];
  const seen = new Map<string, Promise<"dir" | "file" | undefined>>();
  const checks = m.layouts.flatMap((layout, li) =>
    layout.layoutTabs.map(async (tab, ti) => {
      const dir = normaliseStartDir(tab.startDir, info.home);
      if (!isAbsolute(dir) && !/^[A-Za-z]:[\\/]/.test(dir)) return;
      if (!seen.has(dir)) seen.set(dir, m.host.stat(dir));
      const kind = await seen.get(dir);
      if (kind !== "dir") {
        problems.push(
          `layouts[${li}].layoutTabs[${ti}].startDir: ${kind === "file" ? "is a file, not a directory" : "does not exist"}: ${dir} (layout "${layout.layoutName}", tab "${tab.tabName}")`,
        );
      }
    }),
  );
  await Promise.all(checks);
  if (problems.length) {
    throw new McError(
      "LAYOUT_INVALID",
      `${problems.length === 1 ? "a start directory is" : `${problems.length} start directories are`} missing on ${m.host.id}:\n${problems.sort().join("\n")}`,
      {
        backend: m.backend.name,
        op: "start",
        hint: "create the directories or fix startDir; nothing was started",
        details: problems,
      },
    );
  }
}

/** Resolve names against the sessions on the machine and generate every artefact, starting nothing. */
export async function planMachine(m: MachineRuntime, c: PlanContext): Promise<PreparedSession[]> {
  const requested = requestedNames(m.layouts, c.sessionNamePrefix);
  for (const n of requested) m.backend.checkName?.(n);
  await m.backend.checkAvailable?.();
  const existing = (await m.backend.listSessions()).map((s) => s.name);
  const names = planSessionNames(
    { requested, existing, policy: c.onConflict, key: (n) => m.backend.sessionKey(n) },
    m.backend.name,
  );
  await checkStartDirs(m, c.info);
  return names.map((p) => {
    const dir = runDirOf(c.info, c.runId, m.name, p.index);
    const spec: SessionSpec = {
      ...p,
      runId: c.runId,
      machine: m.name,
      layout: m.layouts[p.index]!,
      runDir: dir,
      artefactDir: dir,
      keepShell: c.keepShell,
      ...(c.initialTabs === undefined ? {} : { initialTabs: c.initialTabs }),
    };
    return m.backend.prepare(spec, c.info);
  });
}

/** Run a prepared session's start commands in order (backends without their own `start`). */
async function runStart(m: MachineRuntime, p: PreparedSession): Promise<undefined> {
  for (const cmd of p.start) {
    const r = await m.host.run(cmd);
    if (r.exitCode !== 0) {
      throw new McError("COMMAND_FAILED", `${cmd.file} exited ${r.exitCode}: ${(r.stderr || r.stdout).trim()}`, {
        backend: m.backend.name,
        op: "start",
      });
    }
  }
  return undefined;
}

/** Wait (bounded) until the tool lists the session. */
async function waitForSession(m: MachineRuntime, name: string): Promise<void> {
  const key = m.backend.sessionKey(name);
  const timeoutMs = m.backend.appearTimeoutMs ?? 5000;
  await pollUntil(
    async () => ((await m.backend.listSessions()).some((s) => m.backend.sessionKey(s.name) === key) ? true : undefined),
    {
      timeoutMs,
      onTimeout: () =>
        new McError("TIMEOUT", `session did not appear within ${timeoutMs} ms`, { backend: m.backend.name, op: "start" }),
    },
  );
}

/** What {@link startMachine} reports back while it works. */
export interface StartHooks {
  signal?: AbortSignal | undefined;
  delayBetweenMs?: number | undefined;
  /** A session started: record it at once (a process killed mid-launch leaves a run `ls`/`kill` can find). */
  recorded(session: ManagedSession): Promise<void>;
  /** Sessions rolled back: drop them from the record. */
  dropped(names: Set<string>): Promise<void>;
  onSessionStarted?: ((s: StartedSession) => void) | undefined;
}

/** Kill sessions this call started, newest first; what each kill found. */
async function rollback(m: MachineRuntime, started: ManagedSession[]) {
  const out: { name: string; ok: boolean; outcome?: KillOutcome; error?: string }[] = [];
  for (const s of [...started].reverse()) {
    try {
      out.push({ name: s.name, ok: true, outcome: await m.backend.kill(s.name, s) });
    } catch (e) {
      out.push({ name: s.name, ok: false, error: (e as Error).message });
    }
  }
  return out;
}

/**
 * Start every prepared session of one machine in order. When one fails (or the signal aborts), every
 * session this call started is killed again and the error names the session that failed and why.
 */
export async function startMachine(
  m: MachineRuntime,
  prepared: readonly PreparedSession[],
  hooks: StartHooks,
): Promise<StartedSession[]> {
  const started: ManagedSession[] = [];
  const results: StartedSession[] = [];
  const aborted = () => new McError("ABORTED", "interrupted while starting sessions", { backend: m.backend.name, op: "start" });
  for (const [i, p] of prepared.entries()) {
    try {
      if (i > 0 && hooks.delayBetweenMs) await new Promise((r) => setTimeout(r, hooks.delayBetweenMs));
      if (hooks.signal?.aborted) throw aborted();
      if (p.action === "replace") await m.backend.kill(p.name);
      for (const a of p.artefacts) await m.host.writeFile(a.path, a.content, a.mode === undefined ? {} : { mode: a.mode });
      const data = m.backend.start ? await m.backend.start(p) : await runStart(m, p);
      const pendingTabs =
        p.initialTabs !== undefined && p.initialTabs < p.layout.layoutTabs.length
          ? p.layout.layoutTabs.map((_, k) => k).slice(p.initialTabs)
          : undefined;
      const session: ManagedSession = {
        machine: m.name,
        name: p.name,
        requestedName: p.requested,
        layout: p.layout,
        runDir: p.runDir,
        artefacts: p.artefacts.map((a) => a.path),
        startedAt: Date.now(),
        ...(pendingTabs ? { pendingTabs } : {}),
        ...(data ? { data } : {}),
      };
      started.push(session);
      await hooks.recorded(session);
      if (!m.backend.startVerifies) await waitForSession(m, p.name);
      const r: StartedSession = {
        machine: m.name,
        name: p.name,
        requestedName: p.requested,
        action: p.action,
        renamed: p.renamed,
        tabs: p.layout.layoutTabs.length,
        artefacts: session.artefacts,
      };
      results.push(r);
      hooks.onSessionStarted?.(r);
    } catch (e) {
      throw await failStart(m, p.name, started, hooks, e);
    }
  }
  if (hooks.signal?.aborted && started.length) throw await failStart(m, undefined, started, hooks, aborted());
  return results;
}

async function failStart(
  m: MachineRuntime,
  failed: string | undefined,
  started: ManagedSession[],
  hooks: StartHooks,
  e: unknown,
): Promise<McError> {
  const rolledBack = await rollback(m, started);
  const gone = new Set(rolledBack.filter((r) => r.ok).map((r) => r.name));
  await hooks.dropped(gone).catch(() => {});
  const rolled = `rolled back ${gone.size} of ${started.length} session(s) this run had started`;
  if (isMcError(e, "ABORTED") || failed === undefined) {
    return new McError("ABORTED", `interrupted while starting sessions; ${rolled}`, {
      backend: m.backend.name,
      op: "start",
      details: { rolledBack },
    });
  }
  const why = e instanceof McError ? e.reason : (e as Error).message;
  return new McError("START_FAILED", `session "${failed}" failed to start: ${why}`, {
    backend: m.backend.name,
    op: "start",
    hint: started.length > 0 ? rolled : e instanceof McError ? e.hint : undefined,
    cause: e,
    details: { failed, rolledBack },
  });
}
