import { watch } from "node:fs";
import { sleep } from "./poll.js";
import type { ManagedSession } from "./run-record.js";

/** A wait that a change in a watched run directory ends early (see {@link watchRunDirs}). */
export interface RunDirWatch {
  /** Wait until a watched directory changes or `ms` pass; true when something changed. */
  (ms: number, signal?: AbortSignal): Promise<boolean>;
  /** Stop watching (the watchers hold nothing open after this). */
  close(): void;
  /** True when every one of these sessions' run directories is watched. */
  watchesAll(sessions: ManagedSession[]): boolean;
  /** End the wait under way (or the next one) as a change would: something else the waiter needs happened. */
  poke(): void;
}

/**
 * A wait that ends early when a file changes in one of these run directories (inotify through fs.watch):
 * a tab's wrapper writes its record and appends to the events file the moment its command starts or
 * ends, so whoever waits on it (the event stream, the scheduler filling a slot, the monitor) learns of it
 * at once instead of at its next poll. Tab logs are in `logs/`, which is not watched: a chatty command
 * wakes nobody. Where a directory cannot be watched (another machine's), the wait is just a timeout.
 * `settleMs`: after a change, wait this much longer so that the changes of one moment (a record and its
 * event, many tabs starting) are one wake-up, not one each.
 */
export function watchRunDirs(sessions: ManagedSession[], o: { settleMs?: number } = {}): RunDirWatch {
  let notify: (() => void) | undefined;
  let dirty = false;
  const changed = () => {
    dirty = true;
    notify?.();
  };
  const watchers = sessions.flatMap((s) => {
    try {
      const w = watch(s.runDir, { persistent: false }, changed);
      // A directory removed while watched (a pruned run) reports an error: the wait becomes a timeout.
      w.on("error", () => w.close());
      return [w];
    } catch {
      return [];
    }
  });
  const wait = async (ms: number, signal?: AbortSignal): Promise<boolean> => {
    if (!dirty) {
      const woken = new Promise<void>((resolve) => {
        notify = resolve;
      });
      // The timer ends with the wait: left pending after a wake-up, it held the process up to 30 s after the end.
      const timer = new AbortController();
      const stop = () => timer.abort();
      signal?.addEventListener("abort", stop, { once: true });
      await Promise.race([woken, sleep(Math.max(0, ms), timer.signal)]);
      timer.abort();
      signal?.removeEventListener("abort", stop);
      notify = undefined;
    }
    const was = dirty;
    if (was && o.settleMs && !signal?.aborted) await sleep(o.settleMs, signal);
    dirty = false;
    return was;
  };
  const watched = new Set(watchers.length === sessions.length ? sessions.map((s) => s.runDir) : []);
  return Object.assign(wait, {
    close: () => {
      for (const w of watchers) w.close();
    },
    watchesAll: (now: ManagedSession[]) => now.every((s) => watched.has(s.runDir)),
    poke: changed,
  });
}
