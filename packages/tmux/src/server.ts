import { resolve } from "node:path";
import type { TmuxSocket } from "./generate.js";

/** Options of the tmux backend (saved with a run, so a later command reaches the same server). */
export interface TmuxBackendOptions {
  /** A `-L` socket name or a `-S` socket path (a string with a `/` is a path). */
  socket?: string | TmuxSocket | undefined;
  /** tmux executable (default `tmux`). */
  tmux?: string | undefined;
  /** How long one tmux call may wait for its server before it counts as not answering (default 15 s, or `MC_TMUX_TIMEOUT` seconds). */
  answerTimeoutMs?: number | undefined;
}

/** Normalise the `socket` option. */
export function toSocket(socket: TmuxBackendOptions["socket"]): TmuxSocket | undefined {
  if (socket === undefined || typeof socket === "object") return socket;
  return socket.includes("/") ? { path: socket } : { name: socket };
}

/**
 * The socket tmux itself would use on this machine (tmux.c: `-S` path, `-L` name under
 * `$TMUX_TMPDIR/tmux-<uid>`, else the server of the tmux this runs inside (`$TMUX`), else `default`), as
 * a path: saved with a run, it makes every later `status`, `attach` and `kill` reach the same server, also
 * when the run was started inside a tmux attached to another server.
 */
export function pinSocket(options: TmuxBackendOptions, env: NodeJS.ProcessEnv): TmuxBackendOptions {
  const s = toSocket(options.socket);
  // A relative -S path is this directory's: saved absolute, later commands elsewhere reach the same server.
  if (s && "path" in s) return { ...options, socket: { path: resolve(s.path) } };
  const dir = `${(env.TMUX_TMPDIR || "/tmp").replace(/\/+$/, "")}/tmux-${process.getuid?.() ?? 0}`;
  if (s) return { ...options, socket: { path: `${dir}/${s.name}` } };
  const inside = env.TMUX?.split(",")[0];
  return { ...options, socket: { path: inside || `${dir}/default` } };
}

/** Oldest tmux mc supports: `new-session -e`/`-c` and `{}` parsing of 3.0, exact `=name` targets. */
export const MIN_TMUX_VERSION = [3, 0] as const;

/** Parse `tmux -V` (`tmux 3.3a`, `tmux next-3.4`, `tmux master`) into [major, minor]. */
export function parseTmuxVersion(out: string): [number, number] | undefined {
  const m = /(\d+)\.(\d+)/.exec(out);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}
