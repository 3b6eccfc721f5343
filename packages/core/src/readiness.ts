import { connect } from "node:net";
import { join, posix } from "node:path";
import type { Host } from "./host.js";
import { normaliseStartDir } from "./paths.js";
import { shQuote } from "./quote.js";
import type { TabConfig } from "./schema.js";
import { RETRY_MARK } from "./tab-wrapper.js";

/** When a tab counts as ready (the layout's `readiness`). */
export type Readiness = NonNullable<TabConfig["readiness"]>;

/** Default time a tab may take to become ready (seconds). */
export const DEFAULT_READINESS_TIMEOUT_S = 60;

/** Whether a TCP connection to `port` on `host` succeeds (within 500 ms). */
function portOpen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host });
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
 * The loopback addresses a port is looked for on: a server that binds `localhost` gets `::1` on many
 * systems (Node 17 and later, `--bind ::1`), and one on 127.0.0.1 alone never read as ready (review H67-7).
 */
const LOOPBACKS = ["127.0.0.1", "::1"] as const;

/** Whether a TCP connection to `port` on this machine's loopback, IPv4 or IPv6, succeeds. */
async function localPortOpen(port: number): Promise<boolean> {
  const open = await Promise.all(LOOPBACKS.map((h) => portOpen(port, h)));
  return open.includes(true);
}

/**
 * On another machine, the port is probed there, on 127.0.0.1 and ::1: with nc when it exists, else bash's
 * /dev/tcp; a machine with neither cannot answer (and the tab times out, saying so).
 */
const REMOTE_PORT_PROBE = `p=$1
if command -v nc >/dev/null 2>&1; then nc -z -w 1 127.0.0.1 "$p" 2>/dev/null && exit 0; nc -z -w 1 ::1 "$p" 2>/dev/null && exit 0; fi
if command -v bash >/dev/null 2>&1; then
  for h in 127.0.0.1 ::1; do bash -c 'exec 3<>"/dev/tcp/$1/$2"' mc "$h" "$p" 2>/dev/null && exit 0; done
  exit 1
fi
exit 3`;

/** Longest a pattern may take on a log before it counts as not matching (a pattern that backtracks). */
export const LOG_MATCH_LIMIT_MS = 1000;

// A pattern from a layouts file is run in a worker thread: one that backtracks catastrophically
// (`^(a+)+$`) would otherwise hold mc's only thread, its timers and its signal handlers, for minutes.
const MATCHER = `const { parentPort } = require("node:worker_threads");
parentPort.on("message", ({ id, pattern, text }) => {
  let ok = false;
  try { ok = new RegExp(pattern, "m").test(text); } catch {}
  parentPort.postMessage({ id, ok });
});`;
let matcher: import("node:worker_threads").Worker | undefined;
const waiting = new Map<number, { done: (ok: boolean) => void; timer: NodeJS.Timeout }>();
const slow = new Set<string>();
let nextId = 0;

/**
 * Whether `pattern` (a JavaScript regular expression, multiline) matches `text`, decided in a worker
 * thread within {@link LOG_MATCH_LIMIT_MS}; a pattern that took longer never matches again in this
 * process (the tab then times out, and {@link notReadyReason} says the pattern was given up).
 */
export function logMatches(pattern: string, text: string): Promise<boolean> {
  // One at a time: its time limit is its own, not the time spent behind other tabs' patterns in the one
  // worker (review H76-2: 12 tabs probed at once were all judged too slow, for good).
  const turn = matchQueue.then(() => matchOne(pattern, text));
  matchQueue = turn.then(
    () => undefined,
    () => undefined,
  );
  return turn;
}
let matchQueue: Promise<void> = Promise.resolve();

async function matchOne(pattern: string, text: string): Promise<boolean> {
  if (slow.has(pattern)) return false;
  if (!matcher) {
    const { Worker } = await import("node:worker_threads");
    const w = new Worker(MATCHER, { eval: true });
    w.on("message", (m: { id: number; ok: boolean }) => {
      const req = waiting.get(m.id);
      waiting.delete(m.id);
      if (req) {
        clearTimeout(req.timer);
        req.done(m.ok);
      }
      // Idle, the worker must not keep mc running (a listener on its port refs it again: unref after).
      if (waiting.size === 0) w.unref();
    });
    w.on("error", () => {});
    w.unref();
    matcher = w;
  }
  const w = matcher;
  const id = nextId++;
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      slow.add(pattern);
      if (matcher === w) matcher = undefined;
      void w.terminate();
      // Whatever else was queued behind it is asked again at its next probe.
      for (const [other, req] of waiting) {
        clearTimeout(req.timer);
        waiting.delete(other);
        req.done(false);
      }
    }, LOG_MATCH_LIMIT_MS);
    timer.unref?.();
    waiting.set(id, { done: resolve, timer });
    w.ref();
    w.postMessage({ id, pattern, text });
  });
}

/**
 * Why a tab with readiness `r` failed, not ready after `limitSeconds`. A `logMatches` pattern that was given
 * up on (it took over {@link LOG_MATCH_LIMIT_MS} on the log: `.*ready` on a long progress-bar line) says so;
 * the tab's log may well hold the line it looks for (review H67-4: it read "not ready within 8 s").
 */
export function notReadyReason(r: Readiness, limitSeconds: number): string {
  if (r.logMatches !== undefined && slow.has(r.logMatches))
    return `logMatches pattern gave up: too slow on the log (over ${LOG_MATCH_LIMIT_MS / 1000} s a try; a leading .* is slow on a long line), not ready within ${limitSeconds} s`;
  return `not ready within ${limitSeconds} s`;
}

/** A path starting with the home directory, as a startDir may ({@link normaliseStartDir}). */
const HOME_FORM = /^(~|\$HOME|\$\{HOME\})(?=$|[/\\])/;

/** How long one readiness command may run (s) before it counts as not ready. */
const PROBE_LIMIT_S = 10;

/**
 * One probe of a tab's readiness on the host it runs on: a file that exists (relative to its start
 * directory), a TCP port on that host's loopback that accepts, its log matching a pattern, or a command
 * that exits 0 in its start directory.
 */
export async function probeReadiness(
  host: Host,
  r: Readiness,
  tab: {
    startDir: string;
    logPath: string;
    shell?: string | undefined;
    /** A command probe runs at most this long (s; at least 1, at most {@link PROBE_LIMIT_S}). */
    limitSeconds?: number | undefined;
  },
): Promise<boolean> {
  if (r.file !== undefined) {
    // The home forms a startDir has (~, $HOME, ${HOME}), the host's home: review H67-8.
    const file = HOME_FORM.test(r.file) ? normaliseStartDir(r.file, (await host.info()).home) : r.file;
    const path = posix.isAbsolute(file) || /^[A-Za-z]:[\\/]/.test(file) ? file : join(tab.startDir, file);
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
    if (text === undefined) return false;
    // What this attempt printed: after the wrapper's last retry line (an attempt that failed, and the
    // backoff after it, is not ready: review H37-6).
    const at = text.lastIndexOf(RETRY_MARK);
    return logMatches(r.logMatches, at < 0 ? text : text.slice(at).replace(/^[^\n]*\n?/, ""));
  }
  if (r.command !== undefined) {
    const shell = shQuote(tab.shell ?? "/bin/sh");
    const limitS = Math.min(PROBE_LIMIT_S, Math.max(1, Math.ceil(tab.limitSeconds ?? PROBE_LIMIT_S)));
    // Only its exit status is read: its output goes nowhere, so nothing it leaves behind holds mc's pipe;
    // and where the host has timeout(1), the probe's whole process group ends after its limit, also on
    // a remote host whose connection would otherwise wait for it.
    const script = [
      "exec </dev/null >/dev/null 2>&1",
      `cd -- ${shQuote(tab.startDir)} || exit 1`,
      `command -v timeout >/dev/null && exec timeout -k 2 ${limitS} ${shell} -c "$0"`,
      `exec ${shell} -c "$0"`,
    ].join("\n");
    const res = await host
      .run({ file: "/bin/sh", args: ["-c", script, r.command], timeoutMs: (limitS + 5) * 1000 })
      .catch(() => undefined);
    return res?.exitCode === 0;
  }
  return true;
}
