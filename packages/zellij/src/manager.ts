import { tmpdir } from "node:os";
import { type Host, localHost, type ManagerOptions, SessionManager } from "@mc/core";
import { ZellijBackend } from "./backend.js";
import { DEFAULT_MAX_SESSION_NAME_BYTES, maxSessionNameBytes, zellijSocketDir } from "./names.js";

/** Options of {@link ZellijLocalManager}. */
export interface ZellijManagerOptions extends ManagerOptions {
  /** Where zellij runs (default: this machine). `@mc/remote` passes an ssh host. */
  host?: Host | undefined;
  /** zellij executable (default `zellij`). */
  zellij?: string | undefined;
  /**
   * Longest session name zellij can hold (bytes). Default: computed from this machine's socket directory
   * for the local host, a conservative Linux value for any other host.
   */
  maxSessionNameBytes?: number | undefined;
  /** Add zellij's compact tab bar to every tab (default true). */
  tabBar?: boolean | undefined;
  /** How long a started session may take to be listed (ms, default 10000). */
  appearTimeoutMs?: number | undefined;
}

function localNameLimit(): number {
  return maxSessionNameBytes(
    zellijSocketDir({
      env: process.env,
      platform: process.platform,
      uid: process.getuid?.() ?? 0,
      tmpdir: tmpdir(),
    }),
    process.platform,
  );
}

/**
 * Local zellij sessions from layouts (machineconfig's `ZellijLocalManager`): each session is one
 * generated KDL layout started detached with `zellij --new-session-with-layout FILE attach
 * --create-background NAME`; every tab's command runs through the user's shell with its exit code
 * recorded; status comes from one `list-sessions` call, the tab records, and `list-panes --json` on
 * zellij 0.44+. Names default to `LocalJobMgr_<layoutName>` as in machineconfig.
 *
 * @example
 * const m = new ZellijLocalManager({ sessionLayouts: file.layouts });
 * await m.startAllSessions({ onConflict: "restart" });
 * console.log(await m.checkAllSessionsStatus());
 */
export class ZellijLocalManager extends SessionManager {
  declare readonly backend: ZellijBackend;

  constructor(opts: ZellijManagerOptions) {
    const host = opts.host ?? localHost();
    const backend = new ZellijBackend(host, {
      zellij: opts.zellij ?? "zellij",
      keepShell: opts.keepShell ?? true,
      maxNameBytes:
        opts.maxSessionNameBytes ?? (opts.host ? DEFAULT_MAX_SESSION_NAME_BYTES : localNameLimit()),
      ...(opts.tabBar === undefined ? {} : { tabBar: opts.tabBar }),
      ...(opts.appearTimeoutMs === undefined ? {} : { appearTimeoutMs: opts.appearTimeoutMs }),
    });
    super(backend, "ZellijLocalManager", {
      ...opts,
      sessionNamePrefix: opts.sessionNamePrefix ?? "LocalJobMgr",
    });
  }
}
