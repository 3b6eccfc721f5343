import { type Host, McError } from "@mc/core";
import type { HostFacts } from "./parse.js";

const FIX =
  "chmod go-w there, or give that machine a private directory with MC_STATE_DIR; nothing was changed";

/** Refuse to start on a machine whose state directory another user owns (`sudo -E` there). */
export async function checkRemoteStateOwner(
  host: Host & { facts?: () => Promise<HostFacts | undefined> },
): Promise<void> {
  const facts = await host.facts?.();
  const { stateDir } = await host.info();
  if (!facts?.stateForeignOwner) {
    const why = remoteStateExposure(host.id, stateDir, facts);
    if (why) throw new McError("STATE_IO", why, { backend: "remote", op: "start" });
    return;
  }
  throw new McError(
    "STATE_IO",
    `${host.id}: mc's state directory ${stateDir} belongs to ${facts.stateForeignOwner}, not to ${facts.user || `uid ${facts.uid}`}`,
    {
      backend: "remote",
      op: "start",
      hint: `probably left by sudo -E there: chown -R ${facts.user || facts.uid} ${stateDir} on that machine, and run mc there without sudo -E`,
    },
  );
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
    case "above-owner":
      return `${id}: ${x.path}, above the state directory ${stateDir}, belongs to another user: they could put a directory of theirs in its place; set MC_STATE_DIR there to a directory of yours`;
  }
}
