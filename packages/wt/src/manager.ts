import { type Host, localHost, type ManagerOptions, SessionManager, type StatusReport } from "@mc/core";
import { WtBackend } from "./backend.js";
import { formatStatusReport } from "./report.js";

/** Options of {@link WTLocalManager}. */
export interface WTLocalManagerOptions extends ManagerOptions {
  /** Where commands run and state lives (default: this machine). */
  host?: Host;
  /** wt executable (default `wt`). */
  wt?: string;
  /** PowerShell executable (default `pwsh`, else `powershell`). */
  pwsh?: string;
  /** How long a launched window may take to record every tab's start (default 20 s). */
  appearTimeoutMs?: number;
}

/**
 * machineconfig's `WTLocalManager` on mc's lifecycle: each layout becomes one Windows Terminal window
 * named `<prefix>_<layoutName>` (the prefix is used, unlike machineconfig), opened by one generated
 * PowerShell launch script; each tab runs a wrapper that records pid, start, end and exit code. Status
 * and kill use those records and one PowerShell process query, and only ever touch processes mc started.
 */
export class WTLocalManager extends SessionManager {
  declare readonly backend: WtBackend;

  constructor(opts: WTLocalManagerOptions) {
    super(
      new WtBackend({
        host: opts.host ?? localHost(),
        ...(opts.wt === undefined ? {} : { wt: opts.wt }),
        ...(opts.pwsh === undefined ? {} : { pwsh: opts.pwsh }),
        ...(opts.keepShell === undefined ? {} : { keepShell: opts.keepShell }),
        ...(opts.appearTimeoutMs === undefined ? {} : { appearTimeoutMs: opts.appearTimeoutMs }),
      }),
      "WTLocalManager",
      opts,
    );
  }

  /** Per-session and global status text (machineconfig's `status_reporting`), from one status poll. */
  async statusReportText(report?: StatusReport): Promise<string> {
    return formatStatusReport(report ?? (await this.checkAllSessionsStatus()));
  }
}
