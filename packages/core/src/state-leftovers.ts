import { lstat, readdir, rm, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Host } from "./host.js";

/** A temporary file of an atomic write (`<file>.tmp-<pid>-<hex>`, or a host script's `<file>.tmp-mc-<id>`). */
const TMP_FILE = /\.tmp-(?:\d+-[0-9a-f]+|mc-[0-9a-f]+)$/;
/** A stale lock moved aside before its removal (`<name>.lock.stale.<id>`). */
const STALE_LOCK = /\.lock\.stale\.[0-9a-f]+$/;
/** An atomic write takes milliseconds: a temporary file this old was left by a process that died. */
const TMP_AGE_MS = 10 * 60_000;

/**
 * What processes killed mid-write left in the local state directory (`ls --prune`, review H42-8): the
 * temporary files of atomic writes older than ten minutes (of run records, in `managers/<kind>/`, and at
 * the top), and lock directories no live holder has (each taken by the lock's own protocol, which judges
 * a holder dead or its lease ended, then released, which removes it; a lock held is left). Returns how
 * many it removed. Only this user's own files; never follows a link.
 */
export async function clearStaleStateFiles(host: Host): Promise<number> {
  const { stateDir } = await host.info();
  let removed = 0;
  const uid = process.getuid?.();
  const entries = async (dir: string) => readdir(dir).catch(() => [] as string[]);
  /** This user's own file (or directory), never a link; `old`: not changed for ten minutes. */
  const own = async (path: string, dir: boolean, old: boolean) => {
    const st = await lstat(path).catch(() => undefined);
    if (!st || (dir ? !st.isDirectory() : !st.isFile())) return false;
    return (uid === undefined || st.uid === uid) && (!old || Date.now() - st.mtimeMs >= TMP_AGE_MS);
  };
  const gone = (removal: Promise<unknown>) =>
    removal.then(
      () => removed++,
      () => {},
    );
  const dirs = [
    stateDir,
    ...(await entries(join(stateDir, "managers"))).map((k) => join(stateDir, "managers", k)),
  ];
  for (const dir of dirs)
    for (const name of await entries(dir))
      if (TMP_FILE.test(name) && (await own(join(dir, name), false, true)))
        await gone(unlink(join(dir, name)));
  const locks = join(stateDir, "locks");
  for (const name of await entries(locks)) {
    const path = join(locks, name);
    // Moved aside by a process that died before it removed it: nobody's.
    if (STALE_LOCK.test(name)) {
      if (await own(path, true, true)) await gone(rm(path, { recursive: true, force: true }));
    } else if (name.endsWith(".lock") && (await own(path, true, false))) {
      // Taken and released (which removes it); one a live mc holds is left.
      await gone(host.lock(name.slice(0, -".lock".length), 200).then((release) => release()));
    }
  }
  return removed;
}
