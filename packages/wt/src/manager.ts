import {
  type BackendFactory,
  type Host,
  localHost,
  type ManagerOptions,
  SessionManager,
  type StatusReport,
} from "@mc/core";
import { WT_CAPABILITIES, WtBackend, type WtBackendOptions } from "./backend.js";
import { formatStatusReport } from "./report.js";

/** The Windows Terminal backend's entry point: what the CLI's registry loads. */
export const wtBackend: BackendFactory<WtBackendOptions> = {
  name: "wt",
  kind: "WTLocalManager",
  binary: "wt",
  capabilities: WT_CAPABILITIES,
  create: (host, options) => new WtBackend(host, options),
};

/** Options of {@link WTLocalManager}. */
export interface WTLocalManagerOptions extends ManagerOptions, WtBackendOptions {
  /** Where commands run and state lives (default: this machine). */
  host?: Host | undefined;
}

/**
 * machineconfig's `WTLocalManager` on mc's lifecycle: each layout becomes one session
 * `<prefix>_<layoutName>` (the prefix is used, unlike machineconfig) in a Windows Terminal window of its
 * own (`mc-<run>-<i> <session>`), opened by one generated PowerShell launch script; each tab runs a
 * wrapper that records pid, start, end and the command's real exit code. Status and kill use those
 * records and the host's process table, and only ever touch processes mc started.
 *
 * @example
 * const m = new WTLocalManager({ sessionLayouts: file.layouts, sessionNamePrefix: "ops" });
 * await m.startAllSessions({ onConflict: "rename" });
 * console.log(await m.statusReportText());
 */
export class WTLocalManager extends SessionManager<WtBackendOptions> {
  constructor(opts: WTLocalManagerOptions) {
    const host = opts.host ?? localHost();
    const backendOptions: WtBackendOptions = {
      ...(opts.wt === undefined ? {} : { wt: opts.wt }),
      ...(opts.pwsh === undefined ? {} : { pwsh: opts.pwsh }),
      ...(opts.shell === undefined ? {} : { shell: opts.shell }),
      ...(opts.appearTimeoutMs === undefined ? {} : { appearTimeoutMs: opts.appearTimeoutMs }),
      ...(opts.launchTimeoutMs === undefined ? {} : { launchTimeoutMs: opts.launchTimeoutMs }),
    };
    super({
      kind: "WTLocalManager",
      factory: wtBackend,
      machines: [
        { name: host.id === "local" ? "local" : host.id, host, layouts: opts.sessionLayouts, backendOptions },
      ],
      sessionNamePrefix: opts.sessionNamePrefix,
      keepShell: opts.keepShell,
    });
  }

  /** Per-session and global status text (machineconfig's `status_reporting`), from one status poll. */
  async statusReportText(report?: StatusReport): Promise<string> {
    return formatStatusReport(report ?? (await this.checkAllSessionsStatus()));
  }
}
