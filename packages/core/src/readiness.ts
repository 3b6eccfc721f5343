import { connect } from "node:net";
import { join, posix } from "node:path";
import type { Host } from "./host.js";
import { shQuote } from "./quote.js";
import type { TabConfig } from "./schema.js";

/** When a tab counts as ready (the layout's `readiness`). */
export type Readiness = NonNullable<TabConfig["readiness"]>;

/** Default time a tab may take to become ready (seconds). */
export const DEFAULT_READINESS_TIMEOUT_S = 60;

/** Whether a TCP connection to `port` on this machine's loopback succeeds (within 500 ms). */
function localPortOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: "127.0.0.1" });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
  });
}

/**
 * On another machine, the port is probed there: with nc when it exists, else bash's /dev/tcp; a machine
 * with neither cannot answer (and the tab times out, saying so).
 */
const REMOTE_PORT_PROBE = `p=$1
if command -v nc >/dev/null 2>&1; then exec nc -z -w 1 127.0.0.1 "$p"; fi
if command -v bash >/dev/null 2>&1; then exec bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' mc "$p"; fi
exit 3`;

/**
 * One probe of a tab's readiness on the host it runs on: a file that exists (relative to its start
 * directory), a TCP port on that host's loopback that accepts, its log matching a pattern, or a command
 * that exits 0 in its start directory.
 */
export async function probeReadiness(
  host: Host,
  r: Readiness,
  tab: { startDir: string; logPath: string; shell?: string | undefined },
): Promise<boolean> {
  if (r.file !== undefined) {
    const path =
      posix.isAbsolute(r.file) || /^[A-Za-z]:[\\/]/.test(r.file) ? r.file : join(tab.startDir, r.file);
    return (await host.stat(path)) !== undefined;
  }
  if (r.port !== undefined) {
    if (host.id === "local") return localPortOpen(r.port);
    const res = await host.run({
      file: "/bin/sh",
      args: ["-c", REMOTE_PORT_PROBE, "mc", String(r.port)],
      timeoutMs: 5000,
    });
    return res.exitCode === 0;
  }
  if (r.logMatches !== undefined) {
    const text = await host.readFile(tab.logPath).catch(() => undefined);
    return text !== undefined && new RegExp(r.logMatches, "m").test(text);
  }
  if (r.command !== undefined) {
    const shell = tab.shell ?? "/bin/sh";
    const res = await host
      .run({
        file: "/bin/sh",
        args: ["-c", `cd -- ${shQuote(tab.startDir)} && exec ${shQuote(shell)} -c "$0"`, r.command],
        timeoutMs: 10_000,
      })
      .catch(() => undefined);
    return res?.exitCode === 0;
  }
  return true;
}
