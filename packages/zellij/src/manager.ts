import { type BackendFactory, type Host, localHost, type ManagerOptions, SessionManager } from "@mc/core";
import { ZELLIJ_CAPABILITIES, ZellijBackend, type ZellijBackendOptions } from "./backend.js";

/** The zellij backend's entry point: what the CLI's registry loads. */
export const zellijBackend: BackendFactory<ZellijBackendOptions> = {
  name: "zellij",
  kind: "ZellijLocalManager",
  binary: "zellij",
  capabilities: ZELLIJ_CAPABILITIES,
  create: (host, options) => new ZellijBackend(host, options),
};

/** Options of {@link ZellijLocalManager}. */
export interface ZellijManagerOptions extends ManagerOptions, ZellijBackendOptions {
  /** Where zellij runs (default: this machine). `@mc/remote` passes an ssh host. */
  host?: Host | undefined;
}

/** machineconfig's default session name prefix, which `ZellijLocalManager` keeps. */
export const DEFAULT_ZELLIJ_PREFIX = "LocalJobMgr";

/**
 * Local zellij sessions from layouts (machineconfig's `ZellijLocalManager`): each session is one
 * generated KDL layout started detached with `zellij --new-session-with-layout FILE attach
 * --create-background NAME`; every tab's command runs through the user's shell with its exit code
 * recorded; status comes from one `list-sessions` call, the tab records, and `list-panes --json` on
 * zellij 0.44+. Names default to `LocalJobMgr_<layoutName>` as in machineconfig (pass
 * `sessionNamePrefix: ""` for bare layout names; the CLI passes its own prefix).
 *
 * @example
 * const m = new ZellijLocalManager({ sessionLayouts: file.layouts });
 * await m.startAllSessions({ onConflict: "restart" });
 * console.log(await m.checkAllSessionsStatus());
 */
export class ZellijLocalManager extends SessionManager<ZellijBackendOptions> {
  constructor(opts: ZellijManagerOptions) {
    const host = opts.host ?? localHost();
    const backendOptions: ZellijBackendOptions = {
      ...(opts.zellij === undefined ? {} : { zellij: opts.zellij }),
      ...(opts.maxSessionNameBytes === undefined ? {} : { maxSessionNameBytes: opts.maxSessionNameBytes }),
      ...(opts.tabBar === undefined ? {} : { tabBar: opts.tabBar }),
      ...(opts.appearTimeoutMs === undefined ? {} : { appearTimeoutMs: opts.appearTimeoutMs }),
      ...(opts.killTimeoutMs === undefined ? {} : { killTimeoutMs: opts.killTimeoutMs }),
    };
    super({
      kind: "ZellijLocalManager",
      factory: zellijBackend,
      machines: [
        { name: host.id === "local" ? "local" : host.id, host, layouts: opts.sessionLayouts, backendOptions },
      ],
      sessionNamePrefix: opts.sessionNamePrefix ?? DEFAULT_ZELLIJ_PREFIX,
      keepShell: opts.keepShell,
      exitMode: opts.exitMode,
    });
  }
}
