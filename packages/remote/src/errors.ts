import { McError } from "@mc/core";

const AUTH =
  /Permission denied|Too many authentication failures|No more authentication methods|Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i;
const UNREACHABLE =
  /Connection refused|timed out|Could not resolve|Name or service not known|nodename nor servname|No route to host|Network is unreachable|Connection closed by|Connection reset|kex_exchange_identification|Broken pipe|Connection to .* closed|Control socket connect/i;

/** The last meaningful stderr line, for messages (ssh prints warnings first). */
function lastLine(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !/^Warning: Permanently added/.test(l));
  return lines.at(-1) ?? "";
}

/**
 * What an ssh client failure means. ssh exits 255 for its own errors (ssh(1) EXIT STATUS); the stderr text
 * is OpenSSH's (sshconnect.c, sshconnect2.c, 9.2p1): refused/timed out/unresolvable → SSH_UNREACHABLE,
 * refused credentials or host key → SSH_AUTH_FAILED. The host is always in the message.
 */
export function sshError(
  host: string,
  op: string,
  exitCode: number,
  stderr: string,
  cause?: unknown,
): McError {
  const line = lastLine(stderr);
  if (AUTH.test(stderr)) {
    const hostKey = /Host key verification failed|IDENTIFICATION HAS CHANGED/i.test(stderr);
    return new McError("SSH_AUTH_FAILED", `${host}: ${line || "authentication failed"}`, {
      backend: "remote",
      op,
      hint: hostKey
        ? `check the host key of ${host} in ~/.ssh/known_hosts (mc runs ssh with BatchMode=yes and never answers prompts)`
        : `check that your key for ${host} is loaded (ssh-add -l) or set identityFile; mc never asks for a password (BatchMode=yes)`,
      cause,
    });
  }
  if (exitCode === 255 || UNREACHABLE.test(stderr)) {
    return new McError("SSH_UNREACHABLE", `${host} is unreachable: ${line || `ssh exited ${exitCode}`}`, {
      backend: "remote",
      op,
      hint: `check that ${host} is up and that \`ssh ${host} true\` works from this machine`,
      cause,
    });
  }
  return new McError("COMMAND_FAILED", `${host}: ssh exited ${exitCode}: ${line}`, {
    backend: "remote",
    op,
    cause,
  });
}

/** The connection dropped in the middle of a batch (some operations never reported). */
export function droppedError(host: string, op: string, stderr: string): McError {
  return new McError(
    "SSH_UNREACHABLE",
    `the connection to ${host} dropped before the command finished${lastLine(stderr) ? `: ${lastLine(stderr)}` : ""}`,
    { backend: "remote", op, hint: "mc retries on the next poll; check the network or the remote sshd" },
  );
}
