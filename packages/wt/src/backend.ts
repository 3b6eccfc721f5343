import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  type Artefact,
  type BackendCapabilities,
  type Command,
  type Host,
  type HostInfo,
  isRecordedProcess,
  type KillOutcome,
  type ListedSession,
  type ManagedSession,
  McError,
  normaliseStartDir,
  type PreparedSession,
  parseTabRecord,
  pollUntil,
  type SessionBackend,
  type SessionObservation,
  type SessionSpec,
  type TabRecord,
  tabRecordName,
} from "@mc/core";
import { pwshError } from "./errors.js";
import {
  attachArgs,
  checkWindowName,
  commandFileName,
  type KillTarget,
  killScript,
  launchScript,
  pwshFileArgs,
  pwshScriptArgs,
  wrapperScript,
} from "./generate.js";
import { parseKillReport } from "./parse.js";

/**
 * What Windows Terminal can do (see {@link BackendCapabilities}). wt.exe can open tabs in a named window
 * but cannot list, query or close them (microsoft/terminal#19818, #18935), so everything after the
 * launch comes from the wrappers' records and the process table.
 */
export const WT_CAPABILITIES: BackendCapabilities = {
  addTabsLater: false,
  closeTab: false,
  nativeExitStatus: false,
  renameSession: false,
  // Attach brings the window forward; from inside another Windows Terminal tab nothing nests.
  attachFromInside: true,
  panes: false,
  listsForeignSessions: false,
  keepPane: false,
  logs: false,
};

/** Options of {@link WtBackend} (saved with a run, so plain JSON). */
export interface WtBackendOptions {
  /** wt executable (default `wt`, the App Execution Alias). */
  wt?: string | undefined;
  /** PowerShell executable; by default `pwsh`, else `powershell` (resolved by `checkAvailable`). */
  pwsh?: string | undefined;
  /** How long a launched window may take to record every tab's start (default 20 s). */
  appearTimeoutMs?: number | undefined;
}

/** mc's own record of a window it launched (wt cannot list windows). */
interface WindowEntry {
  v: 1;
  name: string;
  runId: string;
  runDir: string;
  tabs: number;
  launchedAt: number;
}

/**
 * The Windows Terminal {@link SessionBackend}. A registry entry per launched window, the tab records the
 * wrappers write, and core's process table are all it has: it never decides a tab's state (core's
 * `decideTabState` does, from records and processes, with `noPaneEvidence`).
 */
export class WtBackend implements SessionBackend {
  readonly name = "wt";
  readonly capabilities = WT_CAPABILITIES;
  readonly host: Host;
  readonly wt: string;
  readonly appearTimeoutMs: number;
  /** start() returns only once every tab recorded its start, so no listing poll is needed. */
  readonly startVerifies = true;
  readonly lockName = "wt-windows";
  private readonly pwshOption: string | undefined;
  private resolvedPwsh: string | undefined;
  private info: HostInfo | undefined;

  constructor(host: Host, options: WtBackendOptions = {}) {
    this.host = host;
    this.wt = options.wt ?? "wt";
    this.pwshOption = options.pwsh;
    this.appearTimeoutMs = options.appearTimeoutMs ?? 20_000;
  }

  /** The PowerShell executable in use. */
  get pwsh(): string {
    return this.pwshOption ?? this.resolvedPwsh ?? "pwsh";
  }

  private ctx() {
    return { pwsh: this.pwsh, wt: this.wt };
  }

  /** wt compares window names exactly (WindowEmperor.cpp `GetWindowByName`). */
  sessionKey(name: string): string {
    return name;
  }

  checkName(name: string): void {
    checkWindowName(name, this.pwsh);
  }

  async checkAvailable(): Promise<void> {
    const found = async (f: string) => (await this.host.which(f)) ?? (await this.host.which(`${f}.exe`));
    if (this.pwshOption !== undefined) {
      if (await found(this.pwshOption)) return;
    } else {
      for (const candidate of ["pwsh", "powershell"]) {
        if (await found(candidate)) {
          this.resolvedPwsh = candidate;
          return;
        }
      }
    }
    throw new McError(
      "BINARY_NOT_FOUND",
      `PowerShell (${this.pwshOption ?? "pwsh or powershell"}) was not found`,
      {
        backend: "wt",
        op: "start",
        hint: "install PowerShell 7.3+ (winget install Microsoft.PowerShell) or pass its path",
      },
    );
  }

  private async hostInfo(): Promise<HostInfo> {
    this.info ??= await this.host.info();
    return this.info;
  }

  private async registryDir(): Promise<string> {
    return join((await this.hostInfo()).stateDir, "wt", "windows");
  }

  private async registryPath(name: string): Promise<string> {
    return join(
      await this.registryDir(),
      `${createHash("sha256").update(name).digest("hex").slice(0, 32)}.json`,
    );
  }

  private async entries(): Promise<{ entry: WindowEntry; file: string }[]> {
    const dir = await this.registryDir();
    const out: { entry: WindowEntry; file: string }[] = [];
    for (const [file, text] of await this.host.readDir(dir)) {
      try {
        const e = JSON.parse(text) as WindowEntry;
        if (e.v === 1 && typeof e.name === "string" && typeof e.runDir === "string")
          out.push({ entry: e, file: join(dir, file) });
      } catch {}
    }
    return out;
  }

  private async readRecords(runDir: string, tabs: number): Promise<(TabRecord | undefined)[]> {
    const files = await this.host.readDir(runDir);
    return Array.from({ length: tabs }, (_, i) => parseTabRecord(files.get(tabRecordName(i))));
  }

  /**
   * The recorded wrappers of a run that still run (pid and start time checked), with their trees. A
   * wrapper whose command ended may still hold its tab open with the kept shell: it counts too.
   */
  private async liveTrees(runDir: string, tabs: number) {
    const records = await this.readRecords(runDir, tabs);
    const open = records.flatMap((r, i) => (r ? [{ r, i }] : []));
    const trees = open.length ? await this.host.processTrees(open.map(({ r }) => r.pid)) : new Map();
    const live = open.flatMap(({ r, i }) => {
      const tree = trees.get(r.pid);
      return tree?.[0] && isRecordedProcess(r, tree[0].startedAt) ? [{ index: i, record: r, tree }] : [];
    });
    return { records, live };
  }

  /**
   * Windows mc launched whose wrappers still run (or that were launched moments ago and may still be
   * opening), with the run id that launched them. Windows opened by anything else are invisible.
   */
  async listSessions(): Promise<ListedSession[]> {
    const now = Date.now();
    const out: ListedSession[] = [];
    for (const { entry, file } of await this.entries()) {
      const opening = now - entry.launchedAt < this.appearTimeoutMs;
      if (opening || (await this.liveTrees(entry.runDir, entry.tabs)).live.length > 0) {
        out.push({ name: entry.name, ...(entry.runId ? { runId: entry.runId } : {}) });
      } else await this.host.remove(file);
    }
    return out;
  }

  prepare(spec: SessionSpec, info: HostInfo): PreparedSession {
    if (spec.pendingTabs?.length) {
      throw new McError(
        "USAGE",
        "the wt backend starts every tab of a window at once (it cannot open tabs later)",
        {
          backend: "wt",
          op: "start",
          hint: "drop --max-parallel-tabs for Windows Terminal, or split the layout with balance-load",
        },
      );
    }
    const launchPath = join(spec.artefactDir, "launch.ps1");
    const wrapperPath = join(spec.artefactDir, "wrapper.ps1");
    const tabs = spec.layout.layoutTabs.map((t) => ({
      title: t.tabName,
      startDir: normaliseStartDir(t.startDir, info.home),
    }));
    const launch = {
      window: spec.name,
      tabs,
      pwsh: this.pwsh,
      wrapperPath,
      keepShell: spec.keepShell,
      wt: this.wt,
    };
    const artefacts: Artefact[] = [
      { path: launchPath, content: launchScript(launch), description: "wt launch script (PowerShell)" },
      {
        path: wrapperPath,
        content: wrapperScript({ window: spec.name, runDir: spec.runDir, keepShell: spec.keepShell }),
        description: "tab wrapper (PowerShell)",
      },
      ...spec.layout.layoutTabs.map(
        (t, i): Artefact => ({
          path: join(spec.runDir, commandFileName(i)),
          content: t.command,
          description: `command of tab ${i} (${t.tabName})`,
        }),
      ),
    ];
    return {
      ...spec,
      artefacts,
      start: [{ file: this.pwsh, args: pwshFileArgs(launchPath), timeoutMs: 30_000 }],
    };
  }

  async start(session: PreparedSession): Promise<Record<string, unknown>> {
    const launchedAt = Date.now();
    const tabs = session.layout.layoutTabs.length;
    const entry: WindowEntry = {
      v: 1,
      name: session.name,
      runId: session.runId,
      runDir: session.runDir,
      tabs,
      launchedAt,
    };
    const registry = await this.registryPath(session.name);
    await this.host.writeFile(registry, `${JSON.stringify(entry)}\n`);
    try {
      for (const cmd of session.start) {
        const r = await this.host.run(cmd);
        if (r.exitCode !== 0) throw pwshError(r, "start", this.ctx());
      }
      await this.waitForRecords(session.runDir, tabs);
    } catch (e) {
      await this.killRun(session.runDir, tabs).catch(() => {});
      await this.host.remove(registry);
      throw e;
    }
    return { runId: session.runId, launchedAt, pwsh: this.pwsh, wt: this.wt };
  }

  /** wt.exe exits as soon as it has handed the command line over (src/cascadia/wt/shim.cpp), so success is every wrapper's first record. */
  private async waitForRecords(runDir: string, tabs: number): Promise<void> {
    let missing: number[] = [];
    await pollUntil(
      async () => {
        const recs = await this.readRecords(runDir, tabs);
        missing = recs.flatMap((r, i) => (r ? [] : [i]));
        return missing.length === 0 ? true : undefined;
      },
      {
        timeoutMs: this.appearTimeoutMs,
        maxDelayMs: 250,
        onTimeout: () =>
          new McError(
            "TIMEOUT",
            `tab(s) ${missing.join(", ")} did not start within ${this.appearTimeoutMs} ms`,
            {
              backend: "wt",
              op: "start",
              hint: "look at the Windows Terminal window: a missing startDir or PowerShell error is shown in the tab",
            },
          ),
      },
    );
  }

  /**
   * Stop the live recorded wrappers of one run and their process trees (from core's process table) in one
   * PowerShell call. Reports only what really stopped: a process that survives (access denied to an
   * elevated one) is an error, never a kill. A wrapper stopped by TerminateProcess cannot write its end
   * record; mc writes it for the wrapper.
   */
  private async killRun(runDir: string, tabs: number): Promise<KillOutcome> {
    const { live } = await this.liveTrees(runDir, tabs);
    if (live.length === 0) return "gone";
    const targets: KillTarget[] = live.flatMap(({ tree }) =>
      tree.map((p: { pid: number; startedAt?: number }) => ({ pid: p.pid, startedAt: p.startedAt ?? -1 })),
    );
    const r = await this.host.run({
      file: this.pwsh,
      args: pwshScriptArgs(killScript(targets)),
      timeoutMs: 30_000,
    });
    if (r.exitCode !== 0) throw pwshError(r, "kill", this.ctx());
    const report = parseKillReport(r.stdout);
    const stopped = new Set(report.stopped);
    const end = Math.floor(Date.now() / 1000);
    for (const { index, record } of live) {
      if (!stopped.has(record.pid)) continue;
      // Re-read: the wrapper may have written its own end between the table read and the kill.
      const now = parseTabRecord(await this.host.readFile(join(runDir, tabRecordName(index))));
      if (now?.end !== undefined) continue;
      await this.host.writeFile(
        join(runDir, tabRecordName(index)),
        `${JSON.stringify({ ...record, end, signal: "KILL" })}\n`,
      );
    }
    if (report.survivors.length > 0) {
      throw new McError(
        "COMMAND_FAILED",
        `${report.survivors.length} process(es) did not stop: ${report.survivors.join(", ")}`,
        {
          backend: "wt",
          op: "kill",
          hint: 'an elevated process (a profile with "elevate": true, or a command run as administrator) can only be stopped from an elevated shell',
          details: report,
        },
      );
    }
    return stopped.size > 0 ? "killed" : "gone";
  }

  /**
   * Kill a session's recorded process trees. Given the managed session, only that run's wrappers (the
   * run directory is the ownership marker); otherwise the window mc's registry names.
   */
  async kill(name: string, session?: ManagedSession): Promise<KillOutcome> {
    const registry = await this.registryPath(name);
    const text = await this.host.readFile(registry);
    let entry: WindowEntry | undefined;
    try {
      entry = text ? (JSON.parse(text) as WindowEntry) : undefined;
    } catch {}
    const target = session
      ? { runDir: session.runDir, tabs: session.layout.layoutTabs.length }
      : entry && { runDir: entry.runDir, tabs: entry.tabs };
    if (!target) return "gone";
    const outcome = await this.killRun(target.runDir, target.tabs);
    if (entry && entry.runDir === target.runDir) await this.host.remove(registry);
    return outcome;
  }

  /**
   * wt cannot list panes: every tab's state comes from its record and the process table (core reads
   * both). Until the launch is `appearTimeoutMs` old, a tab without a record is still starting.
   */
  async observe(sessions: readonly ManagedSession[]): Promise<SessionObservation[]> {
    return sessions.map((s) => {
      const launchedAt = typeof s.data?.launchedAt === "number" ? s.data.launchedAt : s.startedAt;
      return {
        exists: true,
        panes: new Map(),
        noPaneEvidence: true,
        startingUntil: launchedAt + this.appearTimeoutMs,
      };
    });
  }

  attachCommand(name: string): Command {
    return { file: this.wt, args: attachArgs(name) };
  }
}
