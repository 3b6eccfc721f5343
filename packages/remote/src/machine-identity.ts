import { createHash } from "node:crypto";
import { type Host, McError } from "@mc/core";
import type { HostFacts } from "./parse.js";

/** A host that can say who it is (an sshHost). */
export type IdentifiedHost = Host & { facts?: () => Promise<HostFacts | undefined> };

/**
 * Who a machine is for a backend: the same machine (machine id and boot), the same user, and the same
 * multiplexer server (the backend options and the environment that picks the server's socket). Two names
 * with the same identity would put their sessions on one server, where each would see the other's
 * sessions as conflicts and a kill of one name could end the other's. Undefined when unknown.
 */
export function machineIdentity(
  facts: HostFacts | undefined,
  backendOptions: object | undefined,
): string | undefined {
  if (!facts || (!facts.machineId && !facts.hostname)) return undefined;
  // A socket given as an absolute path (tmux -S) is the server whatever the environment says
  // (TMUX_TMPDIR only places sockets given by name).
  const socket = (backendOptions as { socket?: unknown } | undefined)?.socket;
  const path =
    typeof socket === "string"
      ? socket
      : typeof socket === "object" && socket !== null
        ? (socket as { path?: unknown }).path
        : undefined;
  const pinned = typeof path === "string" && path.startsWith("/");
  const env = pinned ? [] : Object.entries(facts.serverEnv).sort();
  const server = JSON.stringify([backendOptions ?? {}, env]);
  return createHash("sha256")
    .update([facts.machineId || facts.hostname, facts.bootId, facts.uid, server].join("\n"))
    .digest("hex")
    .slice(0, 16);
}

/**
 * Refuse a run that lists one machine twice under different names (two aliases of one box, one box with
 * two addresses), before anything starts. Machines that do not answer are left to fail on their own.
 */
export async function checkDistinctMachines(
  machines: readonly { name: string; host: IdentifiedHost; backendOptions: object | undefined }[],
): Promise<void> {
  const seen = new Map<string, { name: string; facts: HostFacts }>();
  const ids = await Promise.all(
    machines.map(async (m) => {
      const facts = await m.host.facts?.().catch(() => undefined);
      return { m, facts, id: machineIdentity(facts, m.backendOptions) };
    }),
  );
  for (const { m, facts, id } of ids) {
    if (id === undefined || !facts) continue;
    const first = seen.get(id);
    if (!first) {
      seen.set(id, { name: m.name, facts });
      continue;
    }
    throw new McError(
      "USAGE",
      `machines "${first.name}" and "${m.name}" are the same machine, user and server`,
      {
        backend: "remote",
        op: "start",
        hint: `both reach ${facts.hostname || "one host"} (machine id ${facts.machineId.slice(0, 12) || "?"}, uid ${facts.uid}) with the same backend options: list it once, or give each its own server (tmux socket)`,
        details: {
          machines: [first.name, m.name],
          machineId: facts.machineId,
          bootId: facts.bootId,
          uid: facts.uid,
        },
      },
    );
  }
}
