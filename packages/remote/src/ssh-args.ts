import { McError } from "@mc/core";
import { checkUser } from "./quote.js";

/** Options of {@link sshHost}. */
export interface SshHostOptions {
  /** Called once, before the first operation reaches the machine (what a saved run's user should know then). */
  onFirstUse?: (() => void) | undefined;
  /**
   * The machine a saved run started on (its machine id, else its host name, and the user's uid): every
   * batch checks it there first and runs nothing on another machine (an ssh config or address that now
   * leads elsewhere), which fails as not answering.
   */
  expectMachine?: { id: string; uid: string } | undefined;
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
  /**
   * How long the login may take, once connected, to start mc's commands (a login shell or rc file that
   * hangs is given up on after it), in milliseconds; default 45000.
   */
  loginTimeoutMs?: number | undefined;
  /** How long the shared connection outlives its last use, in seconds (`ControlPersist`, default 60). */
  controlPersist?: number | undefined;
  /** Private directory (mode 0700) for the control sockets; default: see {@link defaultControlDir}. */
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
  /**
   * A Windows host's OpenSSH default shell (`cmd`, `powershell` for 5.1, `pwsh`); found with one probe on
   * the first call when not given.
   */
  windowsShell?: "cmd" | "powershell" | "pwsh" | undefined;
  /** Host id in messages and status (default `ssh:<target>[:<port>]`). */
  id?: string | undefined;
  /** Coalesce operations started in the same tick into one ssh invocation (default true). */
  batch?: boolean | undefined;
  /** How old a process snapshot may be to answer `processTrees` without a round trip (ms, default 1000). */
  snapshotMaxAgeMs?: number | undefined;
  /** Environment of the local ssh client (default: this process's). */
  localEnv?: NodeJS.ProcessEnv | undefined;
  /**
   * Shared by the hosts of one command: a connection (by its {@link connectionKey}) that did not answer
   * there (refused, timed out, a login that hangs) is not tried again by any host given the same map; its
   * error comes at once. So one silent machine costs a command one connect timeout, not one per run and
   * operation (review H53-2). Not for what follows machines over time (wait, monitoring): a machine that
   * comes back would not be seen.
   */
  unanswered?: UnansweredConnections | undefined;
}

/** Connections that did not answer within one command: connection key → the error they gave. */
export type UnansweredConnections = Map<string, McError>;

const OPTION_KEY = /^[A-Za-z][A-Za-z0-9]*$/;

/** ssh reads `%` in `-i` and ControlPath as a token (ssh_config(5) TOKENS): make it literal. */
export function sshPercent(s: string): string {
  return s.replace(/%/g, "%%");
}

/**
 * The options that choose where and as whom ssh connects, as the user gave them (`-F`, `-p`, `-l`, `-i`,
 * `-o`), checked. These, and only these, name a connection (see {@link connectionKey}). Pure.
 */
export function sshUserArgs(o: SshHostOptions): string[] {
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

/**
 * What mc's own ssh calls turn off in the user's configuration, because it is meant for interactive
 * logins and breaks or hijacks a command channel: a `RemoteCommand` (ssh refuses a command line beside
 * one, `RemoteCommand tmux new -A` is common), local commands, forwardings that would grab local ports
 * or open tunnels on every call, and X11. ProxyJump, ProxyCommand, agents and keys are left as they are.
 * Given before the user's options, so they win (ssh takes the first value of an option).
 */
export const NEUTRAL_OPTIONS = [
  "RemoteCommand=none",
  "PermitLocalCommand=no",
  "ClearAllForwardings=yes",
  "ForwardX11=no",
  "Tunnel=no",
] as const;

/** Neutralisers of OpenSSH ≥ 8.7, given only when `ssh -G` shows the client knows them (older ones refuse unknown options). */
export const NEUTRAL_OPTIONS_87 = {
  sessiontype: "SessionType=default",
  stdinnull: "StdinNull=no",
  forkafterauthentication: "ForkAfterAuthentication=no",
} as const;

/**
 * The options mc adds to every call to one host: connection reuse (one master per connection key, see
 * {@link connectionKey}), no prompts, a bounded connect time, a dead link noticed within ~30 s, and the
 * {@link NEUTRAL_OPTIONS}. `known` is the set of option names `ssh -G` printed. Pure.
 */
export function sshMcArgs(
  o: SshHostOptions,
  controlPath: string,
  known: ReadonlySet<string> = new Set(),
): string[] {
  if (/[\s"'\\]/.test(controlPath)) {
    throw new McError("USAGE", `control socket path ${JSON.stringify(controlPath)} holds spaces or quotes`, {
      backend: "remote",
      op: "connect",
      hint: "choose a controlDir without spaces",
    });
  }
  const extra = Object.entries(NEUTRAL_OPTIONS_87).flatMap(([k, v]) => (known.has(k) ? [v] : []));
  return [
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
    "-o",
    "ServerAliveInterval=10",
    "-o",
    "ServerAliveCountMax=3",
    ...[...NEUTRAL_OPTIONS, ...extra].flatMap((x) => ["-o", x]),
  ];
}

/** Every option of a call: mc's first (they must win), then the user's. */
export function sshBaseArgs(o: SshHostOptions, controlPath: string, known?: ReadonlySet<string>): string[] {
  return [...sshMcArgs(o, controlPath, known), ...sshUserArgs(o)];
}
