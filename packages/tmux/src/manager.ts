import { type BackendFactory, type Host, localHost, type ManagerOptions, SessionManager } from "@mc/core";
import { TMUX_CAPABILITIES, TmuxBackend } from "./backend.js";
import { pinSocket, type TmuxBackendOptions, toSocket } from "./server.js";

/** The tmux backend's entry point: what the CLI's registry loads. */
export const tmuxBackend: BackendFactory<TmuxBackendOptions> = {
  name: "tmux",
  kind: "TmuxLocalManager",
  binary: "tmux",
  capabilities: TMUX_CAPABILITIES,
  create: (host, options) => new TmuxBackend(host, options),
  pinLocal: pinSocket,
};

/** Options of {@link TmuxLocalManager}. */
export interface TmuxManagerOptions extends ManagerOptions, TmuxBackendOptions {
  /** Where tmux runs (default: this machine). */
  host?: Host | undefined;
}

/**
 * Local tmux sessions from layouts: each session is built by one `tmux source-file` of a generated
 * script, every tab's command runs through the user's shell with its exit code recorded, and status
 * comes from one `list-panes -a` query plus /proc.
 *
 * @example
 * const m = new TmuxLocalManager({ sessionLayouts: file.layouts, sessionNamePrefix: "ops" });
 * await m.startAllSessions({ onConflict: "rename" });
 * console.log(await m.checkAllSessionsStatus());
 */
export class TmuxLocalManager extends SessionManager<TmuxBackendOptions> {
  constructor(opts: TmuxManagerOptions) {
    const host = opts.host ?? localHost();
    const socket = toSocket(opts.socket);
    super({
      kind: "TmuxLocalManager",
      factory: tmuxBackend,
      machines: [
        {
          name: host.id === "local" ? "local" : host.id,
          host,
          layouts: opts.sessionLayouts,
          backendOptions: {
            ...(socket ? { socket } : {}),
            ...(opts.tmux ? { tmux: opts.tmux } : {}),
            ...(opts.answerTimeoutMs ? { answerTimeoutMs: opts.answerTimeoutMs } : {}),
          },
        },
      ],
      sessionNamePrefix: opts.sessionNamePrefix,
      keepShell: opts.keepShell,
      exitMode: opts.exitMode,
    });
  }

  /** Close a tab by the `ref` its status reported (a tmux pane id). */
  async killTab(ref: string): Promise<void> {
    await this.closeTab(ref);
  }
}
