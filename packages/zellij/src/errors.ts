import { type ErrorCode, McError } from "@mc/core";

// Messages from zellij-utils/src/sessions.rs and src/commands.rs, unchanged from v0.40.0 to v0.45.0.
// zellij prints several of them with println! (stdout), so both streams are searched.

/** `list-sessions` with nothing to list (sessions.rs `list_sessions`, exit 1). */
export function isNoSessions(text: string): boolean {
  return text.includes("No active zellij sessions found.") || text.includes("There is no active session!");
}

/**
 * The named session does not exist: `kill-session` (`No session named "x" found.`, exit 1),
 * `delete-session` (`Session: "x" not found.`, exit 2), `--session x action …`
 * (`Session 'x' not found. The following sessions are active:`, exit 1).
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
 * The name is taken (sessions.rs `assert_session_ne`): `Session with name "x" already exists. Use attach
 * command …` for a live session, `… already exists, but is dead. Use the attach command to resurrect it …`
 * for an EXITED one.
 */
export function isSessionExists(text: string): boolean {
  return /Session with name ".*" already exists/.test(text);
}

/** The EXITED variant of {@link isSessionExists}. */
export function isDeadSessionExists(text: string): boolean {
  return /already exists, but is dead/.test(text);
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

/** clap rejected a subcommand or flag this zellij does not have. */
export function isUnknownCli(text: string): boolean {
  return /unrecognized subcommand|unexpected argument|Found argument .* which wasn't expected/.test(text);
}

/** The error code for a failed zellij call. */
export function zellijErrorCode(text: string): ErrorCode {
  if (isSessionExists(text)) return "SESSION_CONFLICT";
  if (isInvalidName(text)) return "LAYOUT_INVALID";
  if (isNoSuchSession(text)) return "SESSION_NOT_FOUND";
  if (isUnknownCli(text)) return "VERSION_UNSUPPORTED";
  return "COMMAND_FAILED";
}

/** An McError for a zellij call that failed with `exitCode`, classified from its output. */
export function zellijError(op: string, exitCode: number, stderr: string, stdout = ""): McError {
  const text = `${stderr}\n${stdout}`.trim();
  const code = zellijErrorCode(text);
  const first = text.split("\n").find((l) => l.trim() !== "") ?? "";
  const hints: Partial<Record<ErrorCode, string>> = {
    SESSION_CONFLICT: isDeadSessionExists(text)
      ? "an EXITED (resurrectable) session holds the name: use --on-conflict restart to delete it, or rename"
      : "use --on-conflict rename or --on-conflict restart",
    SESSION_NOT_FOUND: "zellij list-sessions shows the sessions that exist",
    VERSION_UNSUPPORTED: "this zellij lacks a command mc needs; upgrade zellij",
    LAYOUT_INVALID: "rename the layout so its session name is valid for zellij",
  };
  return new McError(code, `zellij exited ${exitCode}${first ? `: ${first.trim()}` : ""}`, {
    backend: "zellij",
    op,
    hint: hints[code],
    details: { exitCode, stderr, stdout },
  });
}
