import { McError } from "./errors.js";

/** Resolve after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * A command's time limit: `expire` runs `ms` after now unless `answered()` by then. A deadline found more
 * than a second past when its timer runs means this process was stopped (Ctrl-Z, SIGSTOP) or starved
 * meanwhile: the command may well have answered, and a resumed process runs its timers before it reads
 * its children's output and ends. Such a command gets up to 5 s more, once; and the last look waits for
 * the I/O already there (review H73-1: a suspended run read "tmux did not answer", exit 8, and rolled its
 * start back).
 */
export function commandDeadline(ms: number, expire: () => void, answered: () => boolean): { clear(): void } {
  const due = performance.now() + ms;
  let graced = false;
  let cleared = false;
  let timer: NodeJS.Timeout;
  const check = () => {
    if (!graced && performance.now() - due > 1000) {
      graced = true;
      timer = setTimeout(check, Math.min(ms, 5000));
      return;
    }
    setImmediate(() => {
      if (!cleared && !answered()) expire();
    });
  };
  timer = setTimeout(check, ms);
  return {
    clear() {
      cleared = true;
      clearTimeout(timer);
    },
  };
}

/** Options of {@link pollUntil}. */
export interface PollOptions {
  /** Give up after this long (ms). */
  timeoutMs: number;
  /** First wait between two probes (ms, default 25); it doubles up to `maxDelayMs`. */
  firstDelayMs?: number;
  /** Longest wait between two probes (ms, default 500). */
  maxDelayMs?: number;
  signal?: AbortSignal;
  /** The error thrown when the time is up. */
  onTimeout: () => Error;
}

/**
 * Probe until it returns something other than undefined, with a doubling delay; the one wait-for loop
 * every backend and the manager use (a session appearing, a name becoming free, records being written).
 */
export async function pollUntil<T>(probe: () => Promise<T | undefined>, o: PollOptions): Promise<T> {
  // The monotonic clock: a wall clock stepped back or forward stretches or ends no wait (review H77-1).
  const deadline = performance.now() + o.timeoutMs;
  let delay = o.firstDelayMs ?? 25;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (o.signal?.aborted) throw new McError("ABORTED", "interrupted while waiting", { backend: "core" });
    if (performance.now() >= deadline) throw o.onTimeout();
    await sleep(Math.min(delay, Math.max(1, deadline - performance.now())), o.signal);
    delay = Math.min(delay * 2, o.maxDelayMs ?? 500);
  }
}

/** Run `f` over `items` with at most `limit` at once, keeping order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  f: (x: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
