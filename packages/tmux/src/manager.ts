import { type Host, localHost, type ManagerOptions, SessionManager } from "@mc/core";
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
  }
}
