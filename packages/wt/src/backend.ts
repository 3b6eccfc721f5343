import { join } from "node:path";
import {
  type Artefact,
  type BackendCapabilities,
  type Command,
  type Host,
  type HostInfo,
  type KillOutcome,
  type ListedSession,
  type ManagedSession,
  McError,
  type PreparedSession,
  parseTabRecord,
  pollUntil,
  type SessionBackend,
  type SessionObservation,
  type SessionSpec,
  sessionSlots,
  type TabRecord,
  tabRecordName,
} from "@mc/core";
import { pwshError } from "./errors.js";
import { launchScript, wtWindowName } from "./generate.js";
import { killRun } from "./kill.js";
import { launchTabs } from "./pane-splits.js";
import { parseProbe } from "./parse.js";
import { type RegistryEntry, WindowRegistry } from "./registry.js";
import { attachScript, probeScript, scriptFileArgs } from "./scripts.js";
import { slotCommands, tabSettings } from "./tab-settings.js";
import { checkPlatform, isWindowsPowerShell, type WtPlatform } from "./versions.js";
import { type CommandShell, commandFileName, wrapperScript } from "./wrapper.js";

/**
 * What Windows Terminal can do (see {@link BackendCapabilities}). wt.exe can open tabs in a named window
 * but cannot list, query or close them (microsoft/terminal#19818, #18935), so everything after the
 * launch comes from the wrappers' records and the process table.
 */
export const WT_CAPABILITIES: BackendCapabilities = {
  addTabsLater: false,
  heldTabsOpen: false,
  closeTab: false,
  nativeExitStatus: false,
  renameSession: false,
  // Attach brings the window forward; from inside another Windows Terminal tab nothing nests.
  attachFromInside: true,
  // Each pane is a `split-pane` running its own wrapper slot (pane-splits.ts).
  panes: true,
  listsForeignSessions: false,
  keepPane: false,
  logs: false,
  stopHook: false,
};

/** Options of {@link WtBackend} (saved with a run, so plain JSON). */
export interface WtBackendOptions {
  /** wt executable (default `wt`, the App Execution Alias). */
  wt?: string | undefined;
  /** PowerShell executable; by default `pwsh`, else `powershell` (resolved by `checkAvailable`). */
  pwsh?: string | undefined;
  /**
   * Which shell reads the tabs' commands: PowerShell (default) or cmd (machineconfig's Windows layouts);
   * a tab's own `shell` wins.
   */
  shell?: CommandShell | undefined;
  /** How long a launched window may take to record every tab's start (default 20 s). */
  appearTimeoutMs?: number | undefined;
  /**
   * How long until the first tab of a launch records anything (default 10 s): wt.exe exits 0 even when
   * Windows Terminal rejects its command line, so a launch that opened nothing is known only this way.
   */
  launchTimeoutMs?: number | undefined;
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
  readonly shell: CommandShell;
  readonly appearTimeoutMs: number;
  readonly launchTimeoutMs: number;
  /** start() returns only once every tab recorded its start, so no listing poll is needed. */
  readonly startVerifies = true;
  readonly lockName = "wt-windows";
  /** What the probe found (empty until `checkAvailable`: generation is then conservative). */
  platform: WtPlatform = {};
  private readonly pwshOption: string | undefined;
  private resolvedPwsh: string | undefined;
  private readonly registry: WindowRegistry;

  constructor(host: Host, options: WtBackendOptions = {}) {
    this.host = host;
    this.wt = options.wt ?? "wt";
    this.shell = options.shell ?? "powershell";
    this.pwshOption = options.pwsh;
    this.appearTimeoutMs = options.appearTimeoutMs ?? 20_000;
    this.launchTimeoutMs = Math.min(options.launchTimeoutMs ?? 10_000, this.appearTimeoutMs);
    this.registry = new WindowRegistry(host);
  }

  /** The PowerShell executable in use. */
  get pwsh(): string {
    return this.pwshOption ?? this.resolvedPwsh ?? "pwsh";
  }

  private ctx() {
    return { pwsh: this.pwsh, wt: this.wt };
  }

  /** Sessions are mc's names; the window name wt sees is a different, per-start one ({@link wtWindowName}). */
  sessionKey(name: string): string {
    return name;
  }

  /**
   * Find PowerShell, then probe the versions of PowerShell, Windows and Windows Terminal once: mc
   * generates for what is there and refuses what is too old ({@link checkPlatform}).
   */
  async checkAvailable(): Promise<void> {
    if (this.platform.wtPath !== undefined) return;
    const info = await this.host.info();
    await this.resolvePwsh(info);
    // Every script mc runs travels as a file behind a short command line (Windows OpenSSH's cmd.exe takes 8,191).
    const script = join(info.stateDir, "wt", "probe.ps1");
    await this.host.writeFile(script, probeScript(this.wt));
    const r = await this.host.run({ file: this.pwsh, args: scriptFileArgs(script), timeoutMs: 30_000 });
    if (r.exitCode !== 0) throw pwshError(r, "start", this.ctx());
    const platform = parseProbe(r.stdout);
    // PowerShell 7 runs on Linux and macOS too; Windows Terminal does not.
    if (platform.wtPath === undefined && !(await windowsCapable(this.host, info))) throw notWindows(info);
    checkPlatform(platform, { wt: this.wt, windowsHost: info.platform === "win32" });
    this.platform = platform;
  }

  private async resolvePwsh(info: HostInfo): Promise<void> {
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
    // Not "install PowerShell (winget …)" where winget, and Windows Terminal, cannot be (review H50-12).
    if (!(await windowsCapable(this.host, info))) throw notWindows(info);
    throw new McError(
      "BINARY_NOT_FOUND",
      `PowerShell (${this.pwshOption ?? "pwsh or powershell"}) was not found`,
      {
        backend: "wt",
        op: "start",
        hint: "install PowerShell 7 (winget install Microsoft.PowerShell): mc runs pwsh, or powershell, from PATH",
      },
    );
  }

  private async readRecords(runDir: string, tabs: number): Promise<(TabRecord | undefined)[]> {
    const files = await this.host.readDir(runDir);
    return Array.from({ length: tabs }, (_, i) => parseTabRecord(files.get(tabRecordName(i))));
  }

  /**
   * Windows mc launched whose wrappers still run (or that were launched moments ago and may still be
   * opening), with the run id that launched them. Windows opened by anything else are invisible.
   */
  async listSessions(): Promise<ListedSession[]> {
    const now = Date.now();
    const out: ListedSession[] = [];
    for (const { entry, file } of await this.registry.entries()) {
      const live = await this.registry.live(entry.runDir, entry.tabs);
      // Launched moments ago and not every tab has recorded its start yet: it may still be opening.
      const opening =
        now - entry.launchedAt < this.appearTimeoutMs &&
        (await this.readRecords(entry.runDir, entry.tabs)).some((r) => !r);
      if (live.length > 0 || opening) out.push({ name: entry.name, runId: entry.runId });
      else await this.host.remove(file);
    }
    return out;
  }

  prepare(spec: SessionSpec, info: HostInfo): PreparedSession {
    const tabs = spec.layout.layoutTabs;
    const asked = tabs.find((t) => t.interactive);
    if (asked) {
      throw new McError(
        "USAGE",
        `tab "${asked.tabName}" asks for an interactive shell (interactive, --interactive-shell): Windows Terminal runs commands in PowerShell`,
        {
          backend: "wt",
          op: "start",
          hint: "drop interactive for Windows Terminal; PowerShell's profile functions can be called from the command by dot-sourcing $PROFILE",
        },
      );
    }
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
    const slots = sessionSlots(spec.layout);
    const settings = tabSettings(spec.layout, {
      layoutIndex: spec.index,
      shell: this.shell,
      windowsPowerShell: isWindowsPowerShell(this.platform, this.pwsh),
    });
    const window = wtWindowName(spec.name, spec.runId, spec.index);
    const launchPath = join(spec.artefactDir, "launch.ps1");
    const wrapperPath = join(spec.artefactDir, "wrapper.ps1");
    const attachPath = join(spec.artefactDir, "attach.ps1");
    const commands = slotCommands(spec.layout);
    const commandFiles = commands.map((_, i) => join(spec.runDir, commandFileName(i)));
    const launch = {
      window,
      tabs: launchTabs(spec, info.home),
      pwsh: this.pwsh,
      wrapperPath,
      platform: this.platform,
      wt: this.wt,
    };
    const artefacts: Artefact[] = [
      { path: launchPath, content: launchScript(launch), description: "wt launch script (PowerShell)" },
      {
        path: wrapperPath,
        content: wrapperScript({
          window,
          session: spec.name,
          runDir: spec.runDir,
          tabs: settings.map((t, i) => ({ ...t, commandFile: commandFiles[i]! })),
          keepShell: spec.keepShell,
        }),
        description: "tab wrapper (PowerShell)",
      },
      {
        path: attachPath,
        content: attachScript({
          session: spec.name,
          window,
          runDir: spec.runDir,
          tabs: commands.length,
          wt: this.wt,
        }),
        description: "attach script (PowerShell)",
      },
      ...slots.map(
        ({ slot, tab, pane }): Artefact => ({
          path: commandFiles[slot]!,
          content: commands[slot]!,
          description: pane
            ? `command of tab ${tab} (${tabs[tab]!.tabName}), pane ${pane}`
            : `command of tab ${tab} (${tabs[tab]!.tabName})`,
        }),
      ),
    ];
    return {
      ...spec,
      artefacts,
      start: [{ file: this.pwsh, args: scriptFileArgs(launchPath), timeoutMs: 30_000 }],
    };
  }

  async start(session: PreparedSession): Promise<Record<string, unknown>> {
    const launchedAt = Date.now();
    const tabs = sessionSlots(session.layout).length;
    const window = wtWindowName(session.name, session.runId, session.index);
    const entry: RegistryEntry = {
      v: 2,
      name: session.name,
      window,
      runId: session.runId,
      runDir: session.runDir,
      tabs,
      launchedAt,
    };
    const file = await this.registry.add(entry);
    try {
      for (const cmd of session.start) {
        const r = await this.host.run(cmd);
        if (r.exitCode !== 0) throw pwshError(r, "start", this.ctx());
      }
      await this.waitForLaunch(session.runDir, tabs);
    } catch (e) {
      await killRun(this.host, this.pwsh, session.runDir, tabs).catch(() => {});
      await this.host.remove(file);
      throw e;
    }
    return { runId: session.runId, window, launchedAt, pwsh: this.pwsh, wt: this.wt, shell: this.shell };
  }

  /**
   * Wait for the tabs' records in two steps. wt.exe returns as soon as it has handed the command line
   * over (src/cascadia/wt/shim.cpp), with exit code 0 even when Windows Terminal cannot parse it and shows
   * the reason in a message box instead (WindowEmperor.cpp `_dispatchCommandline` → `_showMessageBox`).
   * So: some tab must record its start within `launchTimeoutMs`, else the launch failed; then every tab
   * within `appearTimeoutMs`.
   */
  private async waitForLaunch(runDir: string, tabs: number): Promise<void> {
    // Measured on the monotonic clock from here, a moment after the launch (review H77-1).
    const waitedFrom = performance.now();
    let missing: number[] = [];
    const probe = (done: (n: number) => boolean) => async () => {
      const recs = await this.readRecords(runDir, tabs);
      missing = recs.flatMap((r, i) => (r ? [] : [i]));
      return done(tabs - missing.length) ? true : undefined;
    };
    await pollUntil(
      probe((n) => n > 0),
      {
        timeoutMs: this.launchTimeoutMs,
        maxDelayMs: 250,
        onTimeout: () =>
          new McError("START_FAILED", `Windows Terminal opened no tab within ${this.launchTimeoutMs} ms`, {
            backend: "wt",
            op: "start",
            hint: "wt.exe exits 0 even when it rejects its command line: look for a Windows Terminal error dialog (and report it: mc generated that command line)",
          }),
      },
    );
    await pollUntil(
      probe((n) => n === tabs),
      {
        timeoutMs: Math.max(0, waitedFrom + this.appearTimeoutMs - performance.now()),
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
   * Kill a session: its wrappers record KILL and leave, closing their tabs (see kill.ts). Given the
   * managed session, only that run's wrappers (the run directory is the ownership marker); otherwise the
   * window mc's registry names.
   */
  async kill(name: string, session?: ManagedSession): Promise<KillOutcome> {
    const found = await this.registry.byName(name);
    const target = session
      ? { runDir: session.runDir, tabs: sessionSlots(session.layout).length }
      : found && { runDir: found.entry.runDir, tabs: found.entry.tabs };
    if (!target) return "gone";
    const outcome = await killRun(this.host, this.pwsh, target.runDir, target.tabs);
    if (found && found.entry.runDir === target.runDir) await this.host.remove(found.file);
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

  /**
   * The session's attach script: it brings the window forward only while a tab of it still runs, so
   * attaching to a gone session never opens a stray default window.
   */
  attachCommand(name: string, _env?: NodeJS.ProcessEnv, session?: ManagedSession): Command {
    const window = typeof session?.data?.window === "string" ? session.data.window : undefined;
    const script = session?.artefacts.find((a) => /[\\/]attach\.ps1$/.test(a));
    if (!session || !window || !script) {
      throw new McError("SESSION_NOT_FOUND", `session "${name}" is not one mc started in Windows Terminal`, {
        backend: "wt",
        op: "attach",
      });
    }
    const pwsh = typeof session.data?.pwsh === "string" ? session.data.pwsh : this.pwsh;
    return {
      file: pwsh,
      args: [
        "-NoLogo",
        "-NoProfile",
        "-NonInteractive",
        "-ExecutionPolicy",
        "Bypass",
        "-File",
        script,
        window,
      ],
    };
  }
}

/** Windows Terminal asked for on a machine that cannot run it (Linux outside WSL, macOS). */
function notWindows(info: HostInfo): McError {
  const system = info.platform === "other" ? "another system" : info.platform;
  return new McError(
    "BINARY_NOT_FOUND",
    `Windows Terminal runs on Windows (or WSL) only; this machine runs ${system}`,
    {
      backend: "wt",
      op: "start",
      hint: "use tmux or zellij here (-b tmux, -b zellij), or run mc on Windows or in WSL",
    },
  );
}

/**
 * Whether a machine can run Windows Terminal at all: Windows, or Linux under WSL, whose kernel release
 * names Microsoft (`5.15.167.4-microsoft-standard-WSL2`; WSL 1: `4.4.0-19041-Microsoft`) and which reaches
 * pwsh.exe and wt.exe through interop.
 */
async function windowsCapable(host: Host, info: HostInfo): Promise<boolean> {
  if (info.platform === "win32") return true;
  if (info.platform !== "linux") return false;
  const release = await host.readFile("/proc/sys/kernel/osrelease").catch(() => undefined);
  return /microsoft|wsl/i.test(release ?? "");
}
