import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { McError } from "@mc/core";

/** What `ssh -G` says of a target: the connection's name and the option names this client knows. */
export interface ResolvedSsh {
  /** Hash of the effective configuration (route, identity, user, port…): mc's control socket name. */
  key: string;
  /** Option names the client printed (to give newer neutralisers only to clients that know them). */
  known: ReadonlySet<string>;
  /** The effective configuration, option name (lower case) → value (the last one when repeated). */
  config: ReadonlyMap<string, string>;
}

/** Options that do not change where a connection goes or as whom: left out of its name. */
const NOT_ROUTE = /^(control\w*|connecttimeout|serveralive\w*|loglevel|batchmode|logverbose)$/;

/**
 * Name a connection by the effective configuration of its target (`ssh -G`), not by ssh's `%C`, which
 * in OpenSSH 9.2 hashes only local host, host name, port and user: two aliases with the same HostName
 * behind different ProxyJump or ProxyCommand routes have one `%C` and would share one master, so the
 * commands for one machine would run on the other. Every route-relevant option is in this hash.
 */
export function connectionKey(target: string, gOutput: string): ResolvedSsh {
  const config = new Map<string, string>();
  const route: string[] = [];
  for (const line of gOutput.split("\n")) {
    const sp = line.indexOf(" ");
    if (sp <= 0) continue;
    const k = line.slice(0, sp).toLowerCase();
    config.set(k, line.slice(sp + 1));
    if (!NOT_ROUTE.test(k)) route.push(line);
  }
  const key = createHash("sha256")
    .update(`${target}\n${route.sort().join("\n")}`)
    .digest("hex")
    .slice(0, 24);
  return { key, known: new Set(config.keys()), config };
}

function configError(target: string, stderr: string, cause?: unknown): McError {
  const line = stderr.trim().split("\n").at(-1) ?? "";
  return new McError(
    "USAGE",
    `ssh cannot read its configuration for ${JSON.stringify(target)}: ${line || "ssh -G failed"}`,
    {
      backend: "remote",
      op: "connect",
      hint: "fix the ssh config file (the --ssh-config file or ~/.ssh/config) or the ssh options",
      cause,
    },
  );
}

function notFound(file: string, cause: unknown): McError {
  return new McError("BINARY_NOT_FOUND", `the OpenSSH client "${file}" was not found`, {
    backend: "remote",
    op: "connect",
    hint: "install openssh-client (apt install openssh-client) or set the ssh option",
    cause,
  });
}

/** `ssh <userArgs> -G -- <target>`, without touching the network. */
export function resolveSsh(
  ssh: string,
  userArgs: readonly string[],
  target: string,
  env?: NodeJS.ProcessEnv,
): Promise<ResolvedSsh> {
  return new Promise((resolve, reject) => {
    execFile(
      ssh,
      [...userArgs, "-G", "--", target],
      { env: env ?? process.env, maxBuffer: 4 << 20, timeout: 10_000 },
      (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === "ENOENT") reject(notFound(ssh, err));
        else if (err) reject(configError(target, String(stderr), err));
        else resolve(connectionKey(target, String(stdout)));
      },
    );
  });
}

/** {@link resolveSsh}, blocking (for the one synchronous caller, the attach command line). */
export function resolveSshSync(
  ssh: string,
  userArgs: readonly string[],
  target: string,
  env?: NodeJS.ProcessEnv,
): ResolvedSsh {
  try {
    const out = execFileSync(ssh, [...userArgs, "-G", "--", target], {
      env: env ?? process.env,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 10_000,
    });
    return connectionKey(target, out);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw notFound(ssh, e);
    throw configError(target, String((e as { stderr?: unknown }).stderr ?? ""), e);
  }
}
