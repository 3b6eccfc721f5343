import { mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

/**
 * `mkdir -p`, one component at a time. Node 20's `mkdir(path, { recursive: true })` never settles when a
 * directory answers ENOENT to a `mkdir` of a child although it exists (procfs: `/proc/x/y`), spinning a
 * core for ever (review H23-2); and where a parent is on a read-only file system it reports ENOENT, not
 * EROFS (review H23-6). Here each missing directory is made once, and its own error is the one thrown.
 */
export async function makeDirs(path: string, mode?: number): Promise<void> {
  // A few syscalls on directories that mostly exist: done in one step, as makeDirsSync.
  makeDirsSync(path, mode);
}

/** {@link makeDirs}, synchronously (the one implementation). */
export function makeDirsSync(path: string, mode?: number): void {
  const missing: string[] = [];
  for (let p = resolve(path); ; ) {
    let st: ReturnType<typeof statSync> | undefined;
    try {
      st = statSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    if (st) {
      if (!st.isDirectory()) throw notADirectory(p);
      break;
    }
    missing.unshift(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  for (const d of missing) {
    try {
      mkdirSync(d, mode === undefined ? undefined : { mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      let st: ReturnType<typeof statSync> | undefined;
      try {
        st = statSync(d);
      } catch {}
      if (!st?.isDirectory()) throw notADirectory(d, st === undefined);
    }
  }
}

function notADirectory(p: string, dangling = false): NodeJS.ErrnoException {
  const what = dangling ? "a link to nothing" : "not a directory";
  return Object.assign(new Error(`ENOTDIR: ${what}, mkdir '${p}'`), {
    code: "ENOTDIR",
    path: p,
    syscall: "mkdir",
  });
}
