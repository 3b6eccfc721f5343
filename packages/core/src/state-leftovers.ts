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
  const dirs = [
    stateDir,
    ...(await entries(join(stateDir, "managers"))).map((k) => join(stateDir, "managers", k)),
  ];
  for (const dir of dirs)
    for (const name of await entries(dir)) {
      if (!TMP_FILE.test(name)) continue;
      const path = join(dir, name);
      const st = await lstat(path).catch(() => undefined);
      if (!st?.isFile() || (uid !== undefined && st.uid !== uid) || Date.now() - st.mtimeMs < TMP_AGE_MS)
        continue;
      if (
        await unlink(path).then(
          () => true,
          () => false,
        )
      )
        removed++;
    }
  const locks = join(stateDir, "locks");
  for (const name of await entries(locks)) {
    // Moved aside by a process that died before it removed it: nobody's (review H45 notes).
    if (STALE_LOCK.test(name)) {
      const st = await lstat(join(locks, name)).catch(() => undefined);
      if (!st?.isDirectory() || (uid !== undefined && st.uid !== uid) || Date.now() - st.mtimeMs < TMP_AGE_MS)
        continue;
      if (
        await rm(join(locks, name), { recursive: true, force: true }).then(
          () => true,
          () => false,
        )
      )
        removed++;
      continue;
    }
    if (!name.endsWith(".lock")) continue;
    const st = await lstat(join(locks, name)).catch(() => undefined);
    if (!st?.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
    try {
      const release = await host.lock(name.slice(0, -".lock".length), 200);
      await release();
      removed++;
    } catch {
      // Held by a live mc (or not ours to take): left.
    }
  }
  return removed;
}
