import { join } from "node:path";
import {
  type BackendFactory,
  type Command,
  type Host,
  type HostInfo,
  isMcError,
  type ManagedSession,
  McError,
  type PreparedSession,
  type SessionSpec,
} from "@mc/core";
import { interactiveLaunchScript, scriptFileArgs, WtBackend, type WtBackendOptions, wtBackend } from "@mc/wt";
import { RemoteManager, type RemoteManagerOptions } from "./remote-manager.js";

/** Windows Terminal options a remote machine can take (saved with the run, so plain JSON). */
export interface WTRemoteBackendOptions extends WtBackendOptions {
  /**
   * How long the one-shot scheduled task that opens the window may take, from its registration to its
   * removal (default 60 s).
   */
  launchTaskTimeoutMs?: number | undefined;
}

/** Over ssh the window opens through the Task Scheduler first: more time than a local launch. */
const REMOTE_APPEAR_MS = 40_000;
const REMOTE_LAUNCH_MS = 20_000;
const TASK_MS = 60_000;

/** What the interactive launch script says when the user has no desktop session (exit code 3). */
const NO_DESKTOP = /has no desktop session/;

/**
 * The Windows Terminal backend for a machine reached over OpenSSH. Everything is @mc/wt's WtBackend
 * except how a window starts and what attach means:
 * - sshd runs every session in the service session (session 0), where a window never reaches the user's
 *   desktop (PowerShell/Win32-OpenSSH#998, closed "By Design"; openssh-portable#448). The launch script
 *   therefore runs from a one-shot scheduled task with an interactive logon (@mc/wt's
 *   `interactiveLaunchScript`: registered, started, waited for, removed), which runs in the user's
 *   desktop session.
 * - `attach` is refused: a Windows Terminal window is on that machine's screen, which an ssh terminal
 *   cannot show.
 */
export class WtRemoteBackend extends WtBackend {
  readonly launchTaskTimeoutMs: number;

  constructor(host: Host, options: WTRemoteBackendOptions = {}) {
    super(host, {
      ...options,
      appearTimeoutMs: options.appearTimeoutMs ?? REMOTE_APPEAR_MS,
      launchTimeoutMs: options.launchTimeoutMs ?? REMOTE_LAUNCH_MS,
    });
    this.launchTaskTimeoutMs = options.launchTaskTimeoutMs ?? TASK_MS;
  }

  override prepare(spec: SessionSpec, info: HostInfo): PreparedSession {
    const p = super.prepare(spec, info);
    const launchPath = join(spec.artefactDir, "launch.ps1");
    const taskPath = join(spec.artefactDir, "launch-task.ps1");
    const seconds = Math.max(1, Math.ceil(this.launchTaskTimeoutMs / 1000));
    const script = interactiveLaunchScript({
      launchPath,
      pwsh: this.pwsh,
      taskName: taskName(spec),
      timeoutSeconds: seconds,
    });
    const start: Command[] = [
      // The task's own limit, plus the time to register, poll and remove it.
      { file: this.pwsh, args: scriptFileArgs(taskPath), timeoutMs: seconds * 1000 + 30_000 },
    ];
    return {
      ...p,
      artefacts: [
        ...p.artefacts,
        {
          path: taskPath,
          content: script,
          description: "runs launch.ps1 on the user's desktop through a one-shot scheduled task (PowerShell)",
        },
      ],
      start,
    };
  }

  override async start(session: PreparedSession): Promise<Record<string, unknown>> {
    try {
      return await super.start(session);
    } catch (e) {
      throw launchError(this.host.id, e);
    }
  }

  override attachCommand(name: string, _env?: NodeJS.ProcessEnv, _session?: ManagedSession): Command {
    throw new McError(
      "USAGE",
      `cannot attach to "${name}" over ssh: its Windows Terminal window is on the desktop of ${this.host.id}, which an ssh terminal cannot show`,
      {
        backend: "wt",
        op: "attach",
        hint: "look at that machine's screen (the window opened on the logged-on user's desktop), or follow the tabs from here with `mc status`; `mc attach` works when run on that machine itself",
      },
    );
  }
}

/** A task name unique to this launch; Task Scheduler reads `\` as a folder, so only plain characters. */
function taskName(spec: SessionSpec): string {
  return `mc-launch-${spec.runId}-${spec.index}`.replace(/[^\w.-]/g, "_");
}

/** What a failed interactive launch means for the user (exit 3: nobody is logged on; 4: the task hung). */
function launchError(id: string, e: unknown): unknown {
  if (!isMcError(e, "COMMAND_FAILED")) return e;
  if (NO_DESKTOP.test(e.message)) {
    return new McError(
      "START_FAILED",
      `${id}: the remote user has no desktop session, so no window can open`,
      {
        backend: "wt",
        op: "start",
        hint: "log on at that machine (a locked screen is fine; a disconnected Remote Desktop session too), then start again",
        cause: e,
      },
    );
  }
  if (/exited 4:/.test(e.message)) {
    return new McError("TIMEOUT", `${id}: the scheduled task that opens the window did not finish`, {
      backend: "wt",
      op: "start",
      hint: "raise launchTaskTimeoutMs, or look in Task Scheduler on that machine for a task named mc-launch-*",
      cause: e,
    });
  }
  if (/Access is denied|0x80070005|E_ACCESSDENIED/i.test(e.message)) {
    return new McError("START_FAILED", `${id}: the remote user may not create scheduled tasks`, {
      backend: "wt",
      op: "start",
      hint: "mc opens windows through a one-shot scheduled task in the user's session: allow that user to create tasks (see @mc/remote's README)",
      cause: e,
    });
  }
  return e;
}

/** The Windows Terminal backend over ssh (what WTRemoteManager and the CLI's `--host` machines use). */
export const wtRemoteBackend: BackendFactory<WTRemoteBackendOptions> = {
  ...wtBackend,
  create: (host, options) => new WtRemoteBackend(host, options),
};

/**
 * Windows Terminal windows on many Windows machines over OpenSSH (Windows' OpenSSH server): core's
 * SessionManager over an sshHost per machine whose operations are PowerShell (`platform: "win32"`), each
 * sent on stdin behind a short constant command line, whatever the server's default shell (cmd.exe,
 * Windows PowerShell 5.1 or pwsh). Windows open on the remote user's desktop, so that user must be
 * logged on there and allowed to create scheduled tasks (README).
 */
export class WTRemoteManager extends RemoteManager<WTRemoteBackendOptions> {
  constructor(opts: RemoteManagerOptions<WTRemoteBackendOptions>) {
    super("WTRemoteManager", wtRemoteBackend, opts, { platform: "win32" });
  }
}
