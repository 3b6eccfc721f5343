/**
 * The closed list of error codes every mc package uses. The CLI maps each one to an exit code in a single place.
 */
export const ERROR_CODES = [
  "LAYOUT_INVALID",
  "LAYOUT_NOT_FOUND",
  "SESSION_CONFLICT",
  "SESSION_NOT_FOUND",
  "BINARY_NOT_FOUND",
  "VERSION_UNSUPPORTED",
  "COMMAND_FAILED",
  "START_FAILED",
  "TIMEOUT",
  "SSH_UNREACHABLE",
  "SSH_AUTH_FAILED",
  "STATE_CORRUPT",
  "STATE_IO",
  "BACKEND_MISSING",
  "USAGE",
  "ABORTED",
  "INTERNAL",
] as const;

/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Fields of an {@link McError} besides its message. */
export interface McErrorInit {
  /** Which backend raised it (`tmux`, `zellij`, `wt`, `remote`, `core`, `cli`). */
  backend?: string | undefined;
  /** The operation that failed (`start`, `status`, `kill`, `load`, …). */
  op?: string | undefined;
  /** One line telling the user what to do about it. */
  hint?: string | undefined;
  /** The underlying error, if any. */
  cause?: unknown;
  /** Structured details for `--json` output (for example the list of conflicts). */
  details?: unknown;
}

const BREAKS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * A value from a layouts file (a path) inside one line of a message or warning: as a JSON string (quoted,
 * its line breaks and controls escaped) when it holds one, else as it is. A newline in a startDir printed
 * raw began a line of the file's own, which read as mc's (`hint: …`).
 */
export function inLine(value: string): string {
  // JSON escapes C0 only: DEL, C1 (0x9b is a terminal's CSI) and the Unicode line breaks are escaped too.
  return BREAKS.test(value)
    ? JSON.stringify(value).replace(
        /[\u007f-\u009f\u2028\u2029]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
      )
    : value;
}

/**
 * Whether an error says a machine or its tool did not answer (a local tmux or zellij call that mc ended at
 * its timeout: "… did not answer within 15 s"; a remote call: "… no answer within 25000 ms"), as against
 * an answer that the session or its server is gone ("the tmux server is not running").
 */
export function unanswered(message: string | undefined): boolean {
  // Over ssh: "ssh:box: no answer within 25000 ms" (a TIMEOUT of the remote transport: review H30-7).
  return /did not answer within|: no answer within \d+ ms/.test(message ?? "");
}

/**
 * The one error type of mc. Its message reads `[mc] [tmux] start: session "api" already exists`;
 * `hint` is shown on the next line by the CLI.
 */
export class McError extends Error {
  readonly code: ErrorCode;
  readonly backend: string | undefined;
  readonly op: string | undefined;
  readonly hint: string | undefined;
  readonly details: unknown;
  /** The message without the `[mc] [backend] op:` prefix. */
  readonly reason: string;

  constructor(code: ErrorCode, reason: string, init: McErrorInit = {}) {
    const prefix = `[mc]${init.backend ? ` [${init.backend}]` : ""}${init.op ? ` ${init.op}:` : ""}`;
    super(`${prefix} ${reason}`, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "McError";
    this.code = code;
    this.reason = reason;
    this.backend = init.backend;
    this.op = init.op;
    this.hint = init.hint;
    this.details = init.details;
  }

  /** A plain object for JSON output. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      backend: this.backend,
      op: this.op,
      hint: this.hint,
      details: this.details,
    };
  }
}

/** True when `e` is an {@link McError} (from any copy of this package), optionally of the given code. */
export function isMcError(e: unknown, code?: ErrorCode): e is McError {
  // By shape, not instanceof: a bundled CLI and a backend may each hold their own copy of this module.
  const ok = e instanceof Error && e.name === "McError" && typeof (e as McError).code === "string";
  return ok && (code === undefined || (e as McError).code === code);
}
