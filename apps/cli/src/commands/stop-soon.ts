let exitSoon = false;

/**
 * Whether a stop (Ctrl-C, TERM) ended a command whose work still waited on something that does not answer
 * (an ssh call to a host that stopped answering): the process exits without waiting for it to time out.
 */
export function exitingSoon(): boolean {
  return exitSoon;
}

/**
 * `work`'s result; or, once `signal` aborted and `work` has not settled within `graceMs`, undefined. A follow
 * or watch stops at Ctrl-C or TERM at once, not when a call to a host that stopped answering times out
 * (review H60-3: `logs -f` took 37–47 s, then exited 8). Work that settles in the grace (a poll's sleep, a
 * local read) ends as it would have; work still pending is left to the exit.
 */
export async function untilStopped<T>(
  work: Promise<T>,
  signal: AbortSignal,
  graceMs = 300,
): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  let off = () => {};
  const stopped = new Promise<undefined>((resolve) => {
    const on = () => {
      timer = setTimeout(() => {
        exitSoon = true;
        resolve(undefined);
      }, graceMs);
    };
    if (signal.aborted) on();
    else {
      signal.addEventListener("abort", on, { once: true });
      off = () => signal.removeEventListener("abort", on);
    }
  });
  // Its failure after the stop is nobody's to hear.
  work.catch(() => {});
  try {
    return await Promise.race([work, stopped]);
  } finally {
    off();
    clearTimeout(timer);
  }
}
