import { McError } from "@mc/core";

/**
 * tmux said there is no server (not an error for listing: nothing runs). A socket that exists but cannot
 * be reached (another user's: "Permission denied") is not "no server": it is an error, and nothing that
 * server holds may be called gone.
 */
export function isNoServer(stderr: string): boolean {
  if (/permission denied/i.test(stderr)) return false;
  return /no server running|No such file or directory|server exited unexpectedly|Connection refused/i.test(
    stderr,
  );
}

/**
 * tmux said the target session does not exist ("no current target": a server whose last session just
 * ended has none left, and exits a moment later).
 */
export function isNoSession(stderr: string): boolean {
  return /can't find session|session not found|no such session|no current target/i.test(stderr);
}

/** Map a failed tmux call to an McError. */
export function tmuxError(op: string, exitCode: number, stderr: string): McError {
  // A build script's failing line repeats once per pane (source-file carries on): each error said once.
  const msg = [...new Set(stderr.trim().split("\n"))].join("\n") || `tmux exited ${exitCode}`;
  if (/no space for new pane/i.test(msg)) {
    return new McError("COMMAND_FAILED", msg, {
      backend: "tmux",
      op,
      hint: "a tab's panes do not fit its window (a detached session is sized by tmux's default-size, 80x24 unless set): give that tab fewer or larger panes",
    });
  }
  if (/duplicate session/i.test(msg)) {
    return new McError("SESSION_CONFLICT", msg, {
      backend: "tmux",
      op,
      hint: "use --on-conflict rename or restart",
    });
  }
  if (isNoSession(msg)) return new McError("SESSION_NOT_FOUND", msg, { backend: "tmux", op });
  const socket = /error creating (.*) \(([^)]*)\)/.exec(msg);
  if (socket) {
    return new McError("COMMAND_FAILED", `tmux could not create its socket ${socket[1]}: ${socket[2]}`, {
      backend: "tmux",
      op,
      hint: "the socket's directory must exist and be yours (tmux wants it 0700); check --socket or TMUX_TMPDIR",
    });
  }
  if (isNoServer(msg)) {
    return new McError("COMMAND_FAILED", `the tmux server is not running (${msg})`, {
      backend: "tmux",
      op,
      hint: "start sessions with `sessions run`; a killed server loses its sessions",
    });
  }
  return new McError("COMMAND_FAILED", msg, { backend: "tmux", op });
}
