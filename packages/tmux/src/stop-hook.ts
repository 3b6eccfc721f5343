import { join } from "node:path";
import { type Command, type Host, type PreparedSession, shQuote } from "@mc/core";
import { tmuxError } from "./errors.js";
import { noFormat, type TmuxTarget, tmuxQuote, tmuxStopDispatcher } from "./generate.js";

/** What the onStop registration needs of a tmux backend: its host, its server and how it runs tmux. */
export interface StopHookContext {
  host: Host;
  /** The server's lock and hook name (`tmux-<hash of the socket>`). */
  lockName: string;
  target: TmuxTarget;
  cmd: (...args: string[]) => Command;
}

/**
 * A layout's onStop runs when its session ends, however it ends (mc or the user kills it, its last
 * pane closes): the session is registered for the one `session-closed` hook mc keeps on this server,
 * whose script runs the onStop of every registered session that is gone (see tmuxStopDispatcher).
 */
export async function registerStop(c: StopHookContext, p: PreparedSession, sessionId: string): Promise<void> {
  const { stateDir } = await c.host.info();
  const dir = join(stateDir, "onstop", c.lockName);
  const dispatcher = join(stateDir, "onstop", `mc-onstop-${c.lockName}.sh`);
  await c.host.writeFile(dispatcher, tmuxStopDispatcher(c.target, dir), { mode: 0o700 });
  const pid = (await c.host.run(c.cmd("display-message", "-p", "#{pid}"))).stdout.trim();
  await c.host.writeFile(join(dir, `${p.runId}-${p.index}.stop`), `${pid} ${sessionId} ${p.runDir}\n`);
  const hooks = await c.host.run(c.cmd("show-hooks", "-g", "session-closed"));
  if (!hooks.stdout.includes(`mc-onstop-${c.lockName}.sh`)) {
    const used = new Set([...hooks.stdout.matchAll(/session-closed\[(\d+)\]/g)].map((m) => Number(m[1])));
    let at = 4242;
    while (used.has(at)) at++;
    // #{pid} is left for tmux to expand when the hook fires: the dispatcher learns its server's pid
    // even when that server is exiting with its last session.
    const run = `run-shell ${tmuxQuote(`${noFormat(`exec /bin/sh ${shQuote(dispatcher)}`)} #{pid}`)}`;
    const r = await c.host.run(c.cmd("set-hook", "-g", `session-closed[${at}]`, run));
    if (r.exitCode !== 0) throw tmuxError("start", r.exitCode, r.stderr);
  }
  // Gone before the hook was there (a command that ended at once with --exit close): run it now.
  if ((await c.host.run(c.cmd("has-session", "-t", sessionId))).exitCode !== 0)
    await c.host.run({ file: "/bin/sh", args: [dispatcher] });
}

/** Run the onStop dispatcher of this server's sessions, if mc ever registered one. */
export async function runPendingStops(c: StopHookContext): Promise<void> {
  const { stateDir } = await c.host.info();
  const dispatcher = join(stateDir, "onstop", `mc-onstop-${c.lockName}.sh`);
  if ((await c.host.stat(dispatcher)) === "file")
    await c.host.run({ file: "/bin/sh", args: [dispatcher] }).catch(() => {});
}
