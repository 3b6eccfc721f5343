import { McError, pollUntil, shQuote } from "@mc/core";
import { isActiveNotDeleted, isNoSuchSession, zellijError } from "./errors.js";
import type { ZellijQueries } from "./queries.js";

/**
 * Free `name`: `kill-session` (when `kill`) until it lands, then wait until the name is not listed and
 * its server is gone, deleting the EXITED entry it leaves once the server has exited: a server that is
 * still quitting can write the saved layout again after a delete (zellij#4641; seen with 0.45.0 and
 * `serialization_interval 1`).
 */
export async function freeName(
  q: ZellijQueries,
  name: string,
  kill: boolean,
  timeoutMs = 8000,
): Promise<void> {
  let killed = !kill;
  let exited = false;
  await pollUntil(
    async () => {
      if (!killed) {
        const r = await q.host.run(q.cmd(["kill-session", "--", name]));
        if (r.exitCode === 0) killed = true;
        else if (!isNoSuchSession(r.stdout + r.stderr))
          throw zellijError("kill", r.exitCode, r.stderr, r.stdout);
      }
      const there = await q.serverPresence(name);
      const row = (await q.sessionRows("kill")).find((s) => s.name === name);
      // kill-session can answer "not found" for a live server that missed zellij's probe: it is sent again.
      if (!killed && !there?.socket && !there?.process) killed = true;
      exited = row?.exited ?? false;
      if (row?.exited && !there?.process) {
        const r = await q.host.run(q.cmd(["delete-session", "--", name]));
        const text = r.stdout + r.stderr;
        if (r.exitCode !== 0 && !isNoSuchSession(text) && !isActiveNotDeleted(text))
          throw zellijError("kill", r.exitCode, r.stderr, r.stdout);
        return undefined;
      }
      return !row && killed && !there?.socket && !there?.process ? true : undefined;
    },
    {
      timeoutMs,
      maxDelayMs: 250,
      onTimeout: () =>
        new McError(
          "TIMEOUT",
          `session "${name}" is still ${exited ? "listed as EXITED" : "there"} after kill and delete`,
          {
            backend: "zellij",
            op: "kill",
            hint: `try: zellij kill-session -- ${shQuote(name)}; zellij delete-session -- ${shQuote(name)}`,
          },
        ),
    },
  );
}
