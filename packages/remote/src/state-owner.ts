import { type Host, McError } from "@mc/core";
import type { HostFacts } from "./parse.js";

/** Refuse to start on a machine whose state directory another user owns (`sudo -E` there). */
export async function checkRemoteStateOwner(
  host: Host & { facts?: () => Promise<HostFacts | undefined> },
): Promise<void> {
  const facts = await host.facts?.();
  if (!facts?.stateForeignOwner) return;
  const { stateDir } = await host.info();
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
