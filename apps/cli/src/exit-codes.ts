import { type ErrorCode, isMcError, unanswered } from "@mc/core";
import type { Output } from "./output.js";

/** The one place error codes become exit codes (documented in the README and `sessions --help`). */
export const EXIT_CODES: Record<ErrorCode, number> = {
  USAGE: 2,
  LAYOUT_INVALID: 3,
  LAYOUT_NOT_FOUND: 3,
  SESSION_CONFLICT: 4,
  SESSION_NOT_FOUND: 5,
  BINARY_NOT_FOUND: 6,
  BACKEND_MISSING: 6,
  VERSION_UNSUPPORTED: 6,
  TIMEOUT: 7,
  SSH_UNREACHABLE: 8,
  SSH_AUTH_FAILED: 8,
  STATE_CORRUPT: 9,
  STATE_IO: 9,
  COMMAND_FAILED: 1,
  START_FAILED: 1,
  INTERNAL: 1,
  ABORTED: 130,
};

/**
 * Whether an error says a machine or its tool did not answer (core's {@link unanswered}). That is exit 8
 * for every command, as `status` says it: the sessions there were not reached, not found gone.
 */
export { unanswered };

/** The exit code of an error: its code's, or 8 when the tool did not answer ({@link unanswered}). */
export function exitCodeOf(code: ErrorCode | undefined, message: string | undefined): number {
  if (unanswered(message) && code !== "ABORTED") return EXIT_CODES.SSH_UNREACHABLE;
  return code ? (EXIT_CODES[code] ?? 1) : 1;
}

/** Exit code when monitoring ended and at least one tab's command failed. */
export const EXIT_TABS_FAILED = 10;

/** Text for `--help`. */
export const EXIT_CODES_HELP = `Exit codes:
  0    success
  1    a command or session start failed (what that machine had started was
       rolled back; with several machines, the sessions of those that started
       carry on, and the exit is the failed machines' own code when they all
       give the same one, e.g. 8 when each was unreachable)
  2    usage error
  3    invalid or missing layouts file
  4    session conflict: the name is taken (--on-conflict error), or another
       sessions run is still starting the session or opening its waiting
       tabs (merge into it or kill it once that run is done)
  5    no such managed session
  6    backend binary or package missing, or too old
  7    timeout
  8    ssh host unreachable or authentication refused, or a tmux server that
       did not answer (15 s, or MC_TMUX_TIMEOUT seconds)
  9    state file unreadable or unwritable (status, ls, kill --all and wait:
       a run record that could not be read or was not trusted, named; a
       merge into a session whose record could not be read), or the run
       directory of a session asked about (logs, events) is missing
  10   monitoring finished and at least one tab's command failed
  130  interrupted`;

/**
 * Errors already said in full, each machine's on its own line (a remote start where no machine started):
 * said once more as one short line, not twice (review H74-9).
 */
export const SAID_ABOVE = new WeakSet<Error>();

/** Print an error (one line, then a hint line) and return its exit code. */
export function reportError(e: unknown, out: Output): number {
  if (isMcError(e)) {
    if (out.json) {
      out.errJson({ error: e.toJSON() });
    } else if (SAID_ABOVE.has(e)) {
      out.err(`${out.c.red("error:")} no machine started its sessions (why is said above)`);
    } else {
      const [first, ...rest] = e.reason.split("\n");
      out.err(
        `${out.c.red("error:")} ${e.backend && e.backend !== "cli" && e.backend !== "core" ? `[${e.backend}] ` : ""}${first}`,
      );
      for (const line of rest) out.err(`  ${line}`);
      if (e.hint) out.err(`${out.c.dim("hint:")} ${e.hint}`);
    }
    return exitCodeOf(e.code, e.reason);
  }
  const err = e as Error;
  if (out.json) out.errJson({ error: { code: "INTERNAL", message: String(err?.message ?? e) } });
  else {
    out.err(`${out.c.red("error:")} ${err?.message ?? String(e)}`);
    if (process.env.MC_DEBUG) out.err(String(err?.stack));
    else out.err(`${out.c.dim("hint:")} this is a bug in mc; run again with MC_DEBUG=1 for the stack trace`);
  }
  return 1;
}
