import { statSync } from "node:fs";
import { dirname } from "node:path";
import { type Host, McError } from "@mc/core";
import type { HostFacts } from "./parse.js";

/**
 * Why mc's local state would end up owned by the wrong user, or undefined. Two cases: running as root
 * with another user's home (`sudo -E`: root-owned files land in that home and the user's own mc can no
 * longer write them), and a state directory that another user already owns (left by an earlier `sudo -E`).
 * An explicit `MC_STATE_DIR` is the user's choice and is never questioned.
 */
export function localStateProblem(
  stateDir: string,
  env: NodeJS.ProcessEnv = process.env,
  uid = process.getuid?.(),
): string | undefined {
  if (uid === undefined || env.MC_STATE_DIR) return undefined;
  const ownerOf = (p: string): number | undefined => {
    for (let d = p; ; d = dirname(d)) {
      try {
        return statSync(d).uid;
      } catch {
        if (dirname(d) === d) return undefined;
      }
    }
  };
  const owner = ownerOf(stateDir);
  if (uid === 0 && env.SUDO_USER && owner !== undefined && owner !== 0) {
    return `running as root (sudo -E) with ${env.SUDO_USER}'s home: ${stateDir} would hold root-owned files ${env.SUDO_USER}'s own mc cannot change; run mc without sudo, or with sudo -H, or set MC_STATE_DIR`;
  }
  if (owner !== undefined && owner !== uid && uid !== 0) {
    return `${stateDir} belongs to uid ${owner}, not to you (uid ${uid}), probably left by sudo -E: sudo chown -R "$(id -un)" ${stateDir}`;
  }
  return undefined;
}

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
