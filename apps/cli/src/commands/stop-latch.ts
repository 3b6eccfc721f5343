/**
 * A Ctrl-C, SIGTERM or hang-up at any moment of `sessions run`, kept until the next step asks: each step
 * (the start of a batch, the watch, the scheduler) listens while it runs, and one that arrived between two
 * steps ended the CLI by the signal, saying nothing (129 for a hang-up), while the sessions ran on. Armed
 * for the whole command, it keeps the default of dying away, and the next step begins stopped.
 */
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
let fired: NodeJS.Signals | undefined;
let armed = 0;
const onSignal = (s: NodeJS.Signals) => {
  fired ??= s;
};

/** Keep signals from now on; the function returned stops (the last of nested arms does). */
export function armStopLatch(): () => void {
  if (armed++ === 0) for (const s of SIGNALS) process.on(s, onSignal);
  return () => {
    if (--armed > 0) return;
    for (const s of SIGNALS) process.off(s, onSignal);
    fired = undefined;
  };
}

/** The signal that came since the latch was armed, if one did. */
export const stopRequested = (): NodeJS.Signals | undefined => fired;
