import { McError } from "@mc/core";
import { NO_TEMP_DIR } from "./batch.js";

const AUTH =
  /Permission denied|Too many authentication failures|No more authentication methods|Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i;
const UNREACHABLE =
  /Connection refused|timed out|Could not resolve|Name or service not known|nodename nor servname|No route to host|Network is unreachable|Connection closed by|Connection reset|kex_exchange_identification|Broken pipe|Connection to .* closed|Control socket connect/i;
/** What nologin(8) and the shells of locked accounts print (shadow-utils, util-linux, FreeBSD). */
const NOLOGIN = /This account is currently not available|account is not available|nologin/i;

/** The last meaningful stderr line, for messages (ssh prints warnings first). */
function lastLine(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    // Nor the batch's own liveness line (`MCB<hex>-up`, ssh-transport.ts): it is not what ssh said, and read
    // as the reason a host was unreachable (review H60-5).
    .filter((l) => l && !/^Warning: Permanently added/.test(l) && !/^MCB[0-9a-f]{32}-up$/.test(l));
  return lines.at(-1) ?? "";
}

/** What an ssh failure message may carry besides the stderr. */
export interface SshErrorContext {
  /** The command a user can run to check the connection (`ssh -p 2222 gpu-1 true`). */
  probe?: string | undefined;
  cause?: unknown;
}

/**
 * What an ssh client failure means. ssh exits 255 for its own errors (ssh(1) EXIT STATUS); the stderr text
 * is OpenSSH's (sshconnect.c, sshconnect2.c, 9.2p1): refused/timed out/unresolvable → SSH_UNREACHABLE,
 * refused credentials or host key → SSH_AUTH_FAILED. The host is always in the message and the hint names
 * a command that really checks the connection (never the host id, which ssh cannot resolve).
 */
export function sshError(
  host: string,
  op: string,
  exitCode: number,
  stderr: string,
  c: SshErrorContext = {},
): McError {
  const line = lastLine(stderr);
  const probe = c.probe ? `\`${c.probe}\`` : "`ssh <target> true`";
  if (AUTH.test(stderr)) {
    const hostKey = /Host key verification failed|IDENTIFICATION HAS CHANGED/i.test(stderr);
    return new McError("SSH_AUTH_FAILED", `${host}: ${line || "authentication failed"}`, {
      backend: "remote",
      op,
      hint: hostKey
        ? `check the host key of ${host} in ~/.ssh/known_hosts (mc runs ssh with BatchMode=yes and never answers prompts); ${probe} shows it`
        : `check that your key is loaded (ssh-add -l) or set identityFile; mc never asks for a password (BatchMode=yes); ${probe} must work without a prompt`,
      cause: c.cause,
    });
  }
  if (exitCode === 255 || UNREACHABLE.test(stderr)) {
    return new McError("SSH_UNREACHABLE", `${host} is unreachable: ${line || `ssh exited ${exitCode}`}`, {
      backend: "remote",
      op,
      hint: `check that the machine is up and that ${probe} works from this machine`,
      cause: c.cause,
    });
  }
  if (NOLOGIN.test(stderr)) {
    return new McError(
      "SSH_UNREACHABLE",
      `${host} refuses commands: the remote account's login shell is nologin (${line})`,
      {
        backend: "remote",
        op,
        hint: "mc runs commands through the remote login shell: give the account a shell (chsh -s /bin/sh) or use another user",
        cause: c.cause,
      },
    );
  }
  if (exitCode === NO_TEMP_DIR && /no usable temp directory/.test(stderr)) {
    return new McError("STATE_IO", `${host}: ${line.replace(/^mc: /, "")}`, {
      backend: "remote",
      op,
      hint: "free space in the remote TMPDIR (or /tmp), or point env.TMPDIR of this machine at a writable directory",
      cause: c.cause,
    });
  }
  return new McError(
    "COMMAND_FAILED",
    `${host}: the remote login shell exited ${exitCode} before running mc's commands${line ? `: ${line}` : " and printed nothing"}`,
    {
      backend: "remote",
      op,
      hint: `check that ${probe} prints nothing and exits 0 (a login shell that cannot run \`exec /bin/sh -s\` breaks mc)`,
      cause: c.cause,
    },
  );
}

/** The connection dropped in the middle of a batch (some operations never reported). */
export function droppedError(host: string, op: string, stderr: string): McError {
  return new McError(
    "SSH_UNREACHABLE",
    `the connection to ${host} dropped before the command finished${lastLine(stderr) ? `: ${lastLine(stderr)}` : ""}`,
    // Not "mc retries": a status or a wait asks again, a start or a kill does not (review H60-6).
    { backend: "remote", op, hint: "check the network or the remote sshd" },
  );
}

/** A file operation on mc's state that failed on the remote machine (read-only or full home, foreign owner). */
export function stateError(
  host: string,
  op: string,
  what: string,
  stderr: string,
  stateDir?: string,
): McError {
  const why = lastLine(stderr) || "failed";
  return new McError("STATE_IO", `${host}: ${op} ${what}: ${why}`, {
    backend: "remote",
    op,
    hint: /Read-only file system/i.test(why)
      ? `the remote home is read-only: set MC_STATE_DIR there (the env option of this machine) to a writable directory${stateDir ? ` instead of ${stateDir}` : ""}`
      : /Permission denied|Operation not permitted/i.test(why)
        ? `mc's state there is not writable by the remote user (left by sudo -E?): chown -R it back${stateDir ? ` (${stateDir})` : ""}`
        : /No space left/i.test(why)
          ? "the remote disk is full: free space or set MC_STATE_DIR there to another disk"
          : "check that the remote state directory ($MC_STATE_DIR or ~/.local/state/mc) is writable",
  });
}
