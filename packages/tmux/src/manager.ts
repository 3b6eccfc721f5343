import {
  type Host,
  localHost,
  type ManagedSession,
  type ManagerOptions,
  McError,
  SessionManager,
} from "@mc/core";
import { TmuxBackend } from "./backend.js";
import type { TmuxSocket } from "./generate.js";

/** Options of {@link TmuxLocalManager}. */
export interface TmuxManagerOptions extends ManagerOptions {
  /** A `-L` socket name, or a path (anything with a `/`) for `-S`, to target a private tmux server. */
  socket?: string | TmuxSocket | undefined;
  /** Where tmux runs (default: this machine). `@mc/remote` passes an ssh host. */
  host?: Host | undefined;
  /** tmux executable (default `tmux`). */
  tmux?: string | undefined;
}

/** Normalise the `socket` option. */
export function toSocket(socket: TmuxManagerOptions["socket"]): TmuxSocket | undefined {
  if (socket === undefined || typeof socket === "object") return socket;
  return socket.includes("/") ? { path: socket } : { name: socket };
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
export class TmuxLocalManager extends SessionManager {
  declare readonly backend: TmuxBackend;

  constructor(opts: TmuxManagerOptions) {
    const host = opts.host ?? localHost();
    const backend = new TmuxBackend(
      host,
      { tmux: opts.tmux ?? "tmux", socket: toSocket(opts.socket) },
      { keepShell: opts.keepShell ?? true, runId: () => this?.runId ?? "" },
    );
    super(backend, "TmuxLocalManager", opts);
    const socket = toSocket(opts.socket);
    this.runOptions = { ...(socket ? { socket } : {}), ...(opts.tmux ? { tmux: opts.tmux } : {}) };
  }

  /** Start tab `index` of a managed session that was started with `initialTabs` (dynamic scheduling). */
  async startTab(sessionName: string, index: number): Promise<void> {
    await this.backend.startTab(this.session(sessionName), index, await this.hostInfo());
  }

  /** Close a tab by the `ref` its status reported (a tmux pane id). */
  async killTab(ref: string): Promise<void> {
    await this.backend.killTab(ref);
  }

  private session(name: string): ManagedSession {
    const s = this.managed.find((m) => m.name === name);
    if (!s)
      throw new McError("SESSION_NOT_FOUND", `session "${name}" is not managed here`, {
        backend: "tmux",
        op: "start",
      });
    return s;
  }
}
