import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, resolve } from "node:path";
import { type MachineRecord, McError } from "@mc/core";
import type { SshHostOptions, UnansweredConnections } from "./ssh-args.js";
import { type SshHost, sshHost } from "./ssh-host.js";

/** ssh options of one machine; `target` is what ssh connects to (default: the machine's name). */
export interface MachineSsh extends SshHostOptions {
  target?: string | undefined;
}

/**
 * What a run saves of an ssh machine (its `MachineRecord.connection`): everything needed to reach the
 * same machine the same way from any directory later. Paths are absolute; the config file's hash tells
 * a later command that the file changed since.
 */
export interface SshConnection
  extends Omit<SshHostOptions, "localEnv" | "id" | "batch" | "snapshotMaxAgeMs" | "unanswered"> {
  transport: "ssh";
  target: string;
  /** sha256 of the ssh config file when the run started. */
  configSha256?: string;
}

/** Options of {@link sshMachine} and {@link sshConnect}. */
export interface SshMachineOptions {
  /** Directory relative paths are resolved against (default: the current directory). */
  cwd?: string | undefined;
  /** Environment of the local ssh client. */
  localEnv?: NodeJS.ProcessEnv | undefined;
  /** Called with what a user should know (a config file that changed since the run started). */
  onNotice?: ((message: string) => void) | undefined;
  /** Connections that did not answer in this command (see {@link SshHostOptions.unanswered}). */
  unanswered?: UnansweredConnections | undefined;
}

/** Refuse a machine name that cannot name anything (`--host ''`). */
export function checkMachineName(name: string): void {
  if (name.trim() === "" || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new McError(
      "USAGE",
      `machine name ${JSON.stringify(name)} is ${name.trim() === "" ? "empty" : "not valid"}`,
      {
        backend: "remote",
        op: "connect",
        hint: "give each machine as an ssh alias, a host name or user@host (--host gpu-1)",
      },
    );
  }
}

function absolutePath(p: string, cwd: string): string {
  if (p === "~" || p.startsWith("~/")) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? p : resolve(cwd, p);
}

/** sha256 of a file, or undefined when it cannot be read. */
function fileHash(path: string): string | undefined {
  try {
    return createHash("sha256").update(readFileSync(path)).digest("hex");
  } catch {
    return undefined;
  }
}

/**
 * The connection record of a machine, with every path made absolute now: a relative `--ssh-config`
 * saved as it was would, from another directory, read another file (and run its ProxyCommand).
 */
export function sshConnection(name: string, ssh: MachineSsh = {}, cwd = process.cwd()): SshConnection {
  checkMachineName(name);
  const { target, localEnv: _l, id: _i, batch: _b, snapshotMaxAgeMs: _s, unanswered: _u, ...rest } = ssh;
  const c: SshConnection = { ...rest, transport: "ssh", target: target ?? name };
  if (c.configFile !== undefined && c.configFile !== "/dev/null") {
    c.configFile = absolutePath(c.configFile, cwd);
    const sha = fileHash(c.configFile);
    if (sha === undefined) {
      throw new McError("USAGE", `ssh config file ${c.configFile} cannot be read`, {
        backend: "remote",
        op: "connect",
      });
    }
    c.configSha256 = sha;
  }
  if (c.identityFile !== undefined) c.identityFile = absolutePath(c.identityFile, cwd);
  if (c.controlDir !== undefined) c.controlDir = absolutePath(c.controlDir, cwd);
  return c;
}

/** The sshHost of a connection record; host id `ssh:<machine>`. */
function hostOf(machine: string, c: SshConnection, o: SshMachineOptions, onFirstUse?: () => void): SshHost {
  const { transport: _t, target, configSha256: _c, ...opts } = c;
  return sshHost(target, {
    ...opts,
    id: `ssh:${machine}`,
    ...(o.localEnv ? { localEnv: o.localEnv } : {}),
    ...(o.unanswered ? { unanswered: o.unanswered } : {}),
    ...(onFirstUse ? { onFirstUse } : {}),
  });
}

/** An ssh machine for a `SessionManager`: its host and the connection to save with the run. */
export function sshMachine(
  name: string,
  ssh: MachineSsh = {},
  o: SshMachineOptions = {},
): { host: SshHost; connection: SshConnection } {
  const connection = sshConnection(name, ssh, o.cwd);
  return { host: hostOf(name, connection, o), connection };
}

/** A saved connection as it can be used: version 1 records have no `transport` and may hold relative paths. */
function savedConnection(machine: string, record: MachineRecord): SshConnection {
  const raw = (record.connection ?? {}) as Partial<SshConnection> & Record<string, unknown>;
  if (raw.transport !== undefined && raw.transport !== "ssh") {
    throw new McError("USAGE", `machine "${machine}" was reached over ${String(raw.transport)}, not ssh`, {
      backend: "remote",
      op: "load",
    });
  }
  for (const key of ["configFile", "identityFile", "controlDir"] as const) {
    const p = raw[key];
    if (typeof p === "string" && p !== "/dev/null" && !isAbsolute(p)) {
      throw new McError("USAGE", `the saved run reaches "${machine}" with a relative ${key} (${p})`, {
        backend: "remote",
        op: "load",
        hint: "a relative path would be read from the current directory: start the run again (mc now saves absolute paths)",
      });
    }
  }
  // A pin of another shape (a record edited by hand) is not one: the machine is reached as before pins.
  const pin = raw.expectMachine as { id?: unknown; uid?: unknown } | undefined;
  const { expectMachine: _p, ...rest } = raw;
  return {
    ...rest,
    ...(typeof pin?.id === "string" && typeof pin.uid === "string"
      ? { expectMachine: { id: pin.id, uid: pin.uid } }
      : {}),
    transport: "ssh",
    target: typeof raw.target === "string" ? raw.target : machine,
  } as SshConnection;
}

/** What changed since a saved connection was made (its ssh config file), as messages for the user. */
export function connectionNotices(machine: string, record: MachineRecord): string[] {
  const c = (record.connection ?? {}) as Partial<SshConnection>;
  if (typeof c.configFile !== "string" || typeof c.configSha256 !== "string") return [];
  const now = fileHash(c.configFile);
  if (now === undefined)
    return [`${machine}: the ssh config file ${c.configFile} of this run no longer exists`];
  if (now !== c.configSha256) {
    return [
      `${machine}: the ssh config file ${c.configFile} changed since this run started; mc uses it as it is now`,
    ];
  }
  return [];
}

/**
 * Reach a machine of a saved run again (the `connect` of a `SessionManager`): its sshHost, rebuilt from
 * the saved connection. A config file that changed since is told through `onNotice` when the machine is
 * first contacted: a command that does not reach it (ls, another machine's status) does not say it
 * (review H30-4: every command repeated it for every machine of every saved run).
 */
export function sshConnect(machine: string, record: MachineRecord, o: SshMachineOptions = {}): SshHost {
  const c = savedConnection(machine, record);
  return hostOf(machine, c, o, () => {
    for (const n of connectionNotices(machine, record)) o.onNotice?.(n);
  });
}
