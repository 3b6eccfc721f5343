import { type ErrorCode, McError } from "@mc/core";

// Messages of zellij 0.40–0.45 (src/commands.rs, zellij-utils/src/sessions.rs, zellij-client/src/lib.rs);
// the 0.45.0 wording is recorded from the real binary under test/fixtures/zellij-0.45.0/. zellij prints
// several of them with println! (stdout), so both streams are searched.

/** `list-sessions` with nothing to list (commands.rs / sessions.rs `list_sessions`, exit 1). */
export function isNoSessions(text: string): boolean {
  return text.includes("No active zellij sessions found.") || text.includes("There is no active session!");
}

/**
 * The named session does not exist: `kill-session` (`No session named "x" found.`, exit 1),
 * `delete-session` (`Session: "x" not found.`, exit 2), `--session x action …`
 * (`Session 'x' not found. The following sessions are active:`, exit 1 with one other live session,
 * exit 0 with several: `list_sessions` exits the process with 0 after printing them).
 */
export function isNoSuchSession(text: string): boolean {
  return (
    /No session named ".*" found\./.test(text) ||
    /Session: ".*" not found\./.test(text) ||
    /Session '.*' not found\./.test(text) ||
    /No session with the name '.*' found!/.test(text) ||
    text.includes("There is no active session!")
  );
}

/**
 * The name is taken. `attach --create-background` on a live name prints `Session already exists` and
 * exits 1 (zellij-client lib.rs `start_server_detached`, every version 0.40–0.45); the foreground
 * `--session` path prints `Session with name "x" already exists…` (sessions.rs `assert_session_ne`).
 */
export function isSessionExists(text: string): boolean {
  return /Session with name ".*" already exists/.test(text) || /^Session already exists$/m.test(text);
}

/** The EXITED variant of `assert_session_ne`: `… already exists, but is dead. Use the attach command…`. */
export function isDeadSessionExists(text: string): boolean {
  return /already exists, but is dead/.test(text);
}

/**
 * zellij holds a resurrection layout for the name that it cannot read back (an unset `$VAR` in a cwd it
 * wrote: sessions.rs `resurrection_layout`, exit 2). `attach` reads it before it even checks whether the
 * session is live, so this is how a taken name answers when its saved layout has such a cwd.
 */
export function isBadResurrectionLayout(text: string): boolean {
  return text.includes("Failed to parse resurrection layout file");
}

/** `delete-session` without `--force` on a live session (sessions.rs `assert_dead_session`). */
export function isActiveNotDeleted(text: string): boolean {
  return /exists and is active, use --force to delete it/.test(text);
}

/** zellij refused the name (sessions.rs `validate_session_name`, cli.rs `validate_session`). */
export function isInvalidName(text: string): boolean {
  return (
    text.includes("Session name cannot") ||
    text.includes("Invalid session name") ||
    text.includes("session name must be less than")
  );
}

/** The socket path `<socket dir>/<name>` is too long (0.44+, zellij-client lib.rs `check_ipc_pipe_length`). */
export function isSocketPathTooLong(text: string): boolean {
  return text.includes("the IPC socket path is too long");
}

/** zellij cannot make or use its socket directory (0.44+, zellij-client lib.rs `create_ipc_pipe`). */
export function isSocketDirError(text: string): boolean {
  return (
    text.includes("failed to create the Zellij socket directory") ||
    text.includes("failed to set permissions (0700) on the Zellij socket directory") ||
    text.includes("failed to start the Zellij server process")
  );
}

/** clap rejected a subcommand or flag this zellij does not have. */
export function isUnknownCli(text: string): boolean {
  return /unrecognized subcommand|unexpected argument|Found argument .* which wasn't expected/.test(text);
}

/** The error code for a failed zellij call. */
export function zellijErrorCode(text: string): ErrorCode {
  if (isSessionExists(text) || isBadResurrectionLayout(text)) return "SESSION_CONFLICT";
  if (isInvalidName(text)) return "LAYOUT_INVALID";
  if (isNoSuchSession(text)) return "SESSION_NOT_FOUND";
  if (isUnknownCli(text)) return "VERSION_UNSUPPORTED";
  return "COMMAND_FAILED";
}

function hintFor(code: ErrorCode, text: string): string | undefined {
  if (isSocketPathTooLong(text))
    return "zellij's socket directory is too deep for this name: set ZELLIJ_SOCKET_DIR to a short directory (for example /tmp/zj-$USER) or use a shorter name";
  if (isSocketDirError(text))
    return "zellij cannot use its socket directory: fix its owner or permissions, or set ZELLIJ_SOCKET_DIR to a directory of your own";
  if (isBadResurrectionLayout(text))
    return "zellij keeps a saved (resurrection) layout for this name that it cannot read back: use --on-conflict rename, or remove it with zellij delete-session NAME if it is not needed";
  const hints: Partial<Record<ErrorCode, string>> = {
    SESSION_CONFLICT: isDeadSessionExists(text)
      ? "an EXITED (resurrectable) session holds the name: use --on-conflict restart to delete it, or rename"
      : "use --on-conflict rename or --on-conflict restart",
    SESSION_NOT_FOUND: "zellij list-sessions shows the sessions that exist",
    VERSION_UNSUPPORTED: "this zellij lacks a command mc needs; upgrade zellij",
    LAYOUT_INVALID: "rename the layout so its session name is valid for zellij",
  };
  return hints[code];
}

/**
 * An McError for a zellij call that failed with `exitCode`, classified from its output. The message is
 * zellij's first line without its `Error: ` prefix (the socket errors put the path on the next line).
 */
export function zellijError(op: string, exitCode: number, stderr: string, stdout = ""): McError {
  const text = `${stderr}\n${stdout}`.trim();
  const code = zellijErrorCode(text);
  const lines = text.split("\n").map((l) => l.trim());
  const first = lines.find((l) => l !== "") ?? "";
  // A configuration it cannot read: zellij names the file and line in a frame (`╭─[FILE:LINE:COL]`).
  const at = /[\u256d\u250c]\u2500+\[(.+:\d+:\d+)\]/.exec(text)?.[1];
  const detail =
    (isSocketPathTooLong(text) || isSocketDirError(text)) && lines[1]
      ? ` ${lines[1]}`
      : at
        ? ` (at ${at})`
        : "";
  const hint = at
    ? "fix that line of zellij's configuration (zellij setup --check shows which files it reads)"
    : hintFor(code, text);
  return new McError(
    code,
    `zellij exited ${exitCode}${first ? `: ${first.replace(/^Error: /, "")}${detail}` : ""}`,
    { backend: "zellij", op, hint, details: { exitCode, stderr, stdout } },
  );
}
