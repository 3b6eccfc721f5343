import { McError } from "@mc/core";
import { checkTarget, checkUser } from "./quote.js";

/** Options of {@link sshHost}. */
export interface SshHostOptions {
  /** Port (`-p`); default from ~/.ssh/config or 22. */
  port?: number | undefined;
  /** Remote user (`-l`); default from the target (`user@host`), ~/.ssh/config or the local user. */
  user?: string | undefined;
  /** Private key (`-i`, with `IdentitiesOnly=yes`). */
  identityFile?: string | undefined;
  /** ssh config file (`-F`); default ~/.ssh/config. `/dev/null` ignores every config file. */
  configFile?: string | undefined;
  /** `ConnectTimeout` in milliseconds (rounded up to seconds; default 10000). */
  connectTimeoutMs?: number | undefined;
  /** How long the shared connection outlives its last use, in seconds (`ControlPersist`, default 60). */
  controlPersist?: number | undefined;
  /** Private directory (mode 0700) for the control sockets; default `<tmpdir>/mc-ssh-<uid>`. */
  controlDir?: string | undefined;
  /** More `-o Key=Value` options (for example `StrictHostKeyChecking: "accept-new"`). */
  extraOptions?: Readonly<Record<string, string | number>> | undefined;
  /** ssh client executable (default `ssh`). */
  ssh?: string | undefined;
  /** Environment of every remote command (for example `SHELL`, `PATH`, `MC_STATE_DIR`). */
  env?: Readonly<Record<string, string>> | undefined;
  /** mc's state directory on the remote machine (default: its `$MC_STATE_DIR` or `~/.local/state/mc`). */
  stateDir?: string | undefined;
  /** `auto` (default) detects a Windows host on the first call; `posix` or `win32` skip detection. */
  platform?: "auto" | "posix" | "win32" | undefined;
  /** Host id in messages and status (default `ssh:<target>[:<port>]`). */
  id?: string | undefined;
  /** Coalesce operations started in the same tick into one ssh invocation (default true). */
  batch?: boolean | undefined;
  /** How old a process snapshot may be to answer `processTrees` without a round trip (ms, default 1000). */
  snapshotMaxAgeMs?: number | undefined;
  /** Environment of the local ssh client (default: this process's). */
  localEnv?: NodeJS.ProcessEnv | undefined;
}

const OPTION_KEY = /^[A-Za-z][A-Za-z0-9]*$/;

/** ssh reads `%` in `-i` and ControlPath as a token (ssh_config(5) TOKENS): make it literal. */
export function sshPercent(s: string): string {
  return s.replace(/%/g, "%%");
}

/**
 * The ssh options shared by every call to one host: connection reuse (one master per host, socket named
 * by ssh's `%C` hash of host, port and user), no prompts, a bounded connect time. Pure.
 */
export function sshBaseArgs(target: string, o: SshHostOptions, controlPath: string): string[] {
  checkTarget(target);
  const args: string[] = [];
  if (o.configFile !== undefined) args.push("-F", o.configFile);
  if (o.port !== undefined) {
    if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) {
      throw new McError("USAGE", `port ${o.port} is not a valid port`, { backend: "remote", op: "connect" });
    }
    args.push("-p", String(o.port));
  }
  if (o.user !== undefined) {
    checkUser(o.user);
    args.push("-l", o.user);
  }
  if (o.identityFile !== undefined) args.push("-i", sshPercent(o.identityFile), "-o", "IdentitiesOnly=yes");
  if (/[\s"'\\]/.test(controlPath)) {
    throw new McError("USAGE", `control socket path ${JSON.stringify(controlPath)} holds spaces or quotes`, {
      backend: "remote",
      op: "connect",
      hint: "choose a controlDir without spaces",
    });
  }
  args.push(
    "-o",
    "BatchMode=yes",
    "-o",
    `ConnectTimeout=${Math.max(1, Math.ceil((o.connectTimeoutMs ?? 10_000) / 1000))}`,
    "-o",
    "ControlMaster=auto",
    "-o",
    `ControlPath=${controlPath}`,
    "-o",
    `ControlPersist=${Math.max(1, Math.floor(o.controlPersist ?? 60))}`,
    // A dead link is noticed within ~30 s instead of the kernel's TCP timeout.
    "-o",
    "ServerAliveInterval=10",
    "-o",
    "ServerAliveCountMax=3",
  );
  for (const [k, v] of Object.entries(o.extraOptions ?? {})) {
    const value = String(v);
    if (!OPTION_KEY.test(k) || /[\u0000-\u001f\u007f]/.test(value)) {
      throw new McError("USAGE", `ssh option ${JSON.stringify(k)} is not valid`, {
        backend: "remote",
        op: "connect",
      });
    }
    args.push("-o", `${k}=${value}`);
  }
  return args;
}
