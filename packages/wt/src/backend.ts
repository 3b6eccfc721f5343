import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  type Artefact,
  type Command,
  type Host,
  type HostInfo,
  type ManagedSession,
  McError,
  normaliseStartDir,
  type PreparedSession,
  type ProcessNode,
  parseTabRecord,
  recordOutcome,
  type SessionBackend,
  type SessionSpec,
  type SessionStatus,
  summarizeSession,
  type TabRecord,
  type TabStatus,
  tabRecordName,
} from "@mc/core";
import { pwshError } from "./errors.js";
import {
  attachArgs,
  checkWindowName,
  commandFileName,
  killScript,
  launchScript,
  processQueryScript,
  pwshFileArgs,
  pwshScriptArgs,
  wrapperScript,
} from "./generate.js";
import { parseKilledPids, parseProcessRows, treesFromRows } from "./parse.js";

/** Options of {@link WtBackend}. */
export interface WtBackendOptions {
  host: Host;
  /** wt executable (default `wt`, the App Execution Alias). */
  wt?: string;
  /** PowerShell executable; by default `pwsh`, else `powershell` (resolved by `checkAvailable`). */
  pwsh?: string;
  keepShell?: boolean;
  /** How long a launched window may take to record every tab's start (default 20 s). */
  appearTimeoutMs?: number;
}

/** mc's own record of a window it launched (wt cannot list windows: microsoft/terminal#19818, #18935). */
interface WindowEntry {
  v: 1;
  name: string;
  runDir: string;
  tabs: number;
  launchedAt: number;
}

/** What mc knows about one launched window. */
interface Watched {
  name: string;
  runDir: string;
  tabs: number;
  launchedAt: number;
}

interface Inspection {
  records: (TabRecord | undefined)[];
  alive: boolean[];
  trees: ProcessNode[][];
  pending: boolean[];
  exists: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The Windows Terminal backend. wt.exe can open tabs in a named window but cannot list, query or close
 * them, so everything after the launch comes from mc's bookkeeping: a registry entry per launched
 * window, the tab records the wrappers write, and one PowerShell process query per status poll.
 */
export class WtBackend implements SessionBackend {
  readonly name = "wt";
  readonly host: Host;
  readonly wt: string;
  readonly appearTimeoutMs: number;
  readonly keepShell: boolean;
  private pwshOption: string | undefined;
  private resolvedPwsh: string | undefined;
  private info: HostInfo | undefined;

  constructor(opts: WtBackendOptions) {
    this.host = opts.host;
    this.wt = opts.wt ?? "wt";
    this.pwshOption = opts.pwsh;
    this.keepShell = opts.keepShell ?? true;
    this.appearTimeoutMs = opts.appearTimeoutMs ?? 20_000;
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

  private async registryPath(name: string): Promise<string> {
    const id = createHash("sha256").update(name).digest("hex").slice(0, 32);
    return join((await this.hostInfo()).stateDir, "wt", "windows", `${id}.json`);
  }

  private async entries(): Promise<{ entry: WindowEntry; file: string }[]> {
    const dir = join((await this.hostInfo()).stateDir, "wt", "windows");
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

  private async entry(name: string): Promise<WindowEntry | undefined> {
    const text = await this.host.readFile(await this.registryPath(name));
    try {
      return text ? (JSON.parse(text) as WindowEntry) : undefined;
    } catch {
      return undefined;
    }
  }

  private async readRecords(runDir: string, tabs: number): Promise<(TabRecord | undefined)[]> {
    const files = await this.host.readDir(runDir);
    return Array.from({ length: tabs }, (_, i) => parseTabRecord(files.get(tabRecordName(i))));
  }

  /** One PowerShell call: the process trees under every given pid. */
  private async queryProcesses(pids: readonly number[]): Promise<ProcessNode[]> {
    if (pids.length === 0) return [];
    const r = await this.host.run({
      file: this.pwsh,
      args: pwshScriptArgs(processQueryScript(pids)),
      timeoutMs: 20_000,
    });
    if (r.exitCode !== 0) throw pwshError(r, "status", this.ctx());
    return parseProcessRows(r.stdout);
  }

  private async inspect(ws: readonly Watched[], now = Date.now()): Promise<Inspection[]> {
    const records = await Promise.all(ws.map((w) => this.readRecords(w.runDir, w.tabs)));
    const pids = [...new Set(records.flat().flatMap((r) => (r ? [r.pid] : [])))];
    const trees = treesFromRows(await this.queryProcesses(pids), pids);
    return ws.map((w, k) => {
      const recs = records[k]!;
      // A pid is our wrapper only if its process existed by the second after the record's start:
      // a reused pid belongs to a process created after the wrapper ended.
      const alive = recs.map((r) => {
        const root = r ? trees.get(r.pid)?.[0] : undefined;
        return !!r && !!root && (root.startedAt === undefined || root.startedAt <= (r.start + 1) * 1000);
      });
      const pending = recs.map((r) => !r && now - w.launchedAt < this.appearTimeoutMs);
      return {
        records: recs,
        alive,
        trees: recs.map((r, i) => (r && alive[i] ? (trees.get(r.pid) ?? []) : [])),
        pending,
        exists: alive.some(Boolean) || pending.some(Boolean),
      };
    });
  }

  /**
   * Windows mc launched whose wrappers are still alive (or that were launched moments ago and may still
   * be opening). Windows opened by anything else are invisible: wt has no way to list them.
   */
  async listSessions(): Promise<string[]> {
    const all = await this.entries();
    const now = Date.now();
    const seen = await this.inspect(
      all.map(({ entry }) => entry),
      now,
    );
    const names: string[] = [];
    for (const [k, { entry, file }] of all.entries()) {
      if (seen[k]!.exists || now - entry.launchedAt < this.appearTimeoutMs) names.push(entry.name);
      else await this.host.remove(file);
    }
    return names;
  }

  prepare(spec: SessionSpec, info: HostInfo): PreparedSession {
    if (spec.initialTabs !== undefined && spec.initialTabs < spec.layout.layoutTabs.length) {
      throw new McError("USAGE", "the wt backend starts every tab of a window at once (no initialTabs)", {
        backend: "wt",
        op: "start",
        hint: "drop --max-parallel-tabs for Windows Terminal, or split the layout with balance-load",
      });
    }
    const launchPath = join(spec.artefactDir, "launch.ps1");
    const wrapperPath = join(spec.artefactDir, "wrapper.ps1");
    const tabs = spec.layout.layoutTabs.map((t) => ({
      title: t.tabName,
      startDir: normaliseStartDir(t.startDir, info.home),
    }));
    const artefacts: Artefact[] = [
      {
        path: launchPath,
        content: launchScript({
          window: spec.name,
          tabs,
          pwsh: this.pwsh,
          wrapperPath,
          keepShell: this.keepShell,
          wt: this.wt,
        }),
        description: "wt launch script (PowerShell)",
      },
      {
        path: wrapperPath,
        content: wrapperScript({ window: spec.name, runDir: spec.runDir, keepShell: this.keepShell }),
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
    const entry: WindowEntry = { v: 1, name: session.name, runDir: session.runDir, tabs, launchedAt };
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
    return { launchedAt, pwsh: this.pwsh, wt: this.wt };
  }

  /** wt.exe exits as soon as it has handed the command line over (src/cascadia/wt/shim.cpp), so success is every wrapper's first record. */
  private async waitForRecords(runDir: string, tabs: number): Promise<void> {
    const deadline = Date.now() + this.appearTimeoutMs;
    let delay = 25;
    for (;;) {
      const recs = await this.readRecords(runDir, tabs);
      const missing = recs.flatMap((r, i) => (r ? [] : [i]));
      if (missing.length === 0) return;
      if (Date.now() > deadline) {
        throw new McError(
          "TIMEOUT",
          `tab(s) ${missing.join(", ")} did not start within ${this.appearTimeoutMs} ms`,
          {
            backend: "wt",
            op: "start",
            hint: "look at the Windows Terminal window: a missing startDir or PowerShell error is shown in the tab",
          },
        );
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 250);
    }
  }

  /** Stop the recorded wrappers of one run and their process trees (one PowerShell call). */
  private async killRun(runDir: string, tabs: number): Promise<void> {
    const recs = await this.readRecords(runDir, tabs);
    const targets = recs.flatMap((r) => (r ? [{ pid: r.pid, start: r.start }] : []));
    if (targets.length === 0) return;
    const r = await this.host.run({
      file: this.pwsh,
      args: pwshScriptArgs(killScript(targets)),
      timeoutMs: 20_000,
    });
    if (r.exitCode !== 0) throw pwshError(r, "kill", this.ctx());
    const killed = new Set(parseKilledPids(r.stdout));
    const end = Math.floor(Date.now() / 1000);
    // A wrapper stopped by TerminateProcess cannot write its end record; mc writes it for the wrapper.
    for (const [i, rec] of recs.entries()) {
      if (rec && rec.end === undefined && killed.has(rec.pid)) {
        await this.host.writeFile(
          join(runDir, tabRecordName(i)),
          `${JSON.stringify({ ...rec, end, signal: "KILL" })}\n`,
        );
      }
    }
  }

  async kill(name: string, session?: ManagedSession): Promise<void> {
    const entry = await this.entry(name);
    const target = session
      ? { runDir: session.runDir, tabs: session.layout.layoutTabs.length }
      : entry && { runDir: entry.runDir, tabs: entry.tabs };
    if (!target) return;
    await this.killRun(target.runDir, target.tabs);
    if (entry && entry.runDir === target.runDir) await this.host.remove(await this.registryPath(name));
  }

  async status(sessions: readonly ManagedSession[]): Promise<SessionStatus[]> {
    const watched = sessions.map((s) => ({
      name: s.name,
      runDir: s.runDir,
      tabs: s.layout.layoutTabs.length,
      launchedAt: typeof s.data?.launchedAt === "number" ? s.data.launchedAt : s.startedAt,
    }));
    let seen: Inspection[] | undefined;
    let error: string | undefined;
    try {
      seen = await this.inspect(watched);
    } catch (e) {
      error = (e as Error).message;
    }
    const out: SessionStatus[] = [];
    for (const [k, s] of sessions.entries()) {
      const ins = seen?.[k] ?? (await this.recordsOnly(watched[k]!));
      const tabs = s.layout.layoutTabs.map((t, i): TabStatus => {
        const base = { index: i, tabName: t.tabName, command: t.command };
        const rec = ins.records[i];
        if (!rec) return { ...base, state: ins.pending[i] ? "pending" : "missing", processes: [] };
        const pid = { pid: rec.pid, processes: ins.trees[i] ?? [] };
        if (rec.end !== undefined) return { ...base, ...pid, ...recordOutcome(rec) };
        if (error) return { ...base, ...pid, state: "unknown" };
        if (ins.alive[i]) return { ...base, ...pid, ...recordOutcome(rec) };
        return { ...base, ...pid, state: "missing", startedAt: rec.start * 1000 };
      });
      out.push({
        session: s.name,
        backend: "wt",
        host: this.host.id,
        exists: ins.exists,
        tabs,
        summary: summarizeSession(tabs, ins.exists),
        ...(error ? { error } : {}),
      });
    }
    return out;
  }

  /** What the records alone say, when PowerShell did not answer. */
  private async recordsOnly(w: Watched): Promise<Inspection> {
    const records = await this.readRecords(w.runDir, w.tabs);
    return {
      records,
      alive: records.map(() => false),
      trees: records.map(() => []),
      pending: records.map(() => false),
      exists: records.some((r) => r && r.end === undefined),
    };
  }

  attachCommand(name: string): Command {
    return { file: this.wt, args: attachArgs(name) };
  }
}
