import { type Host, McError, shQuote } from "@mc/core";
import type { HostFacts } from "./parse.js";

const FIX =
  "chmod go-w there, or give that machine a private directory with MC_STATE_DIR; nothing was changed";

/**
 * Why mc must not change its state on that machine, as the error to throw, or undefined: the state
 * directory belongs to another user (`sudo -E` there), or another user could write it.
 */
export function remoteStateRefusal(
  id: string,
  stateDir: string,
  facts: HostFacts | undefined,
  op: string,
): McError | undefined {
  if (facts?.stateForeignOwner)
    return new McError(
      "STATE_IO",
      `${id}: mc's state directory ${stateDir} belongs to ${facts.stateForeignOwner}, not to ${facts.user || `uid ${facts.uid}`}`,
      {
        backend: "remote",
        op,
        hint: `probably left by sudo -E there: chown -R ${shQuote(facts.user || facts.uid)} ${shQuote(stateDir)} on that machine, and run mc there without sudo -E`,
      },
    );
  const why = remoteStateExposure(id, stateDir, facts);
  return why ? new McError("STATE_IO", why, { backend: "remote", op }) : undefined;
}

/** Refuse to start on a machine whose state directory another user owns or could write. */
export async function checkRemoteStateOwner(
  host: Host & { facts?: () => Promise<HostFacts | undefined> },
): Promise<void> {
  const facts = await host.facts?.();
  const { stateDir } = await host.info();
  const e = remoteStateRefusal(host.id, stateDir, facts, "start");
  if (e) throw e;
}

/**
 * Why another user of the machine could write mc's state directory there, from the info operation's
 * probe (the same rules as core's localStateExposure), or undefined. mc writes there the scripts its
 * tabs run and reads records it acts on: such a directory is refused as it is locally.
 */
export function remoteStateExposure(
  id: string,
  stateDir: string,
  facts: HostFacts | undefined,
): string | undefined {
  const x = facts?.stateExposure;
  if (!x) return undefined;
  switch (x.kind) {
    case "world":
      return `${id}: the state directory ${x.path} is writable by every user: ${FIX}`;
    case "owner":
      return `${id}: the state directory ${x.path} belongs to another user: it must be yours (${stateDir})`;
    case "group":
      return `${id}: the state directory ${x.path} is writable by its group: ${FIX}`;
    case "above-world":
      return `${id}: ${x.path}, above the state directory ${stateDir}, is writable by every user without the sticky bit: another user could put a directory of theirs in its place; ${FIX}`;
    case "link-owner":
      return `${id}: ${x.path}, on the way to the state directory ${stateDir}, is a symlink another user owns: they can point it elsewhere at any time; set MC_STATE_DIR there to a directory of yours`;
    case "unchecked":
      return `${id}: cannot check that no other user can write the state directory ${stateDir} there: its find lacks -L, -H, -perm or -user (or id -u failed); nothing was changed`;
    case "above-owner":
      return `${id}: ${x.path}, above the state directory ${stateDir}, belongs to another user: they could put a directory of theirs in its place; set MC_STATE_DIR there to a directory of yours`;
  }
}
