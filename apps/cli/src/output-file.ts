import { constants } from "node:fs";
import { access, lstat, realpath, stat, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { McError, writeFileAtomic } from "@mc/core";
import { oneLine } from "./display.js";

const refuse = (reason: string, hint?: string, cause?: unknown) =>
  new McError("USAGE", reason, { backend: "cli", op: "write", hint, cause });

/** The refusal of a file that is there, without `--force` (create-template, import/export/freeze -o). */
export const alreadyExists = (path: string) =>
  refuse(`${oneLine(path)} already exists`, "pass --force to overwrite it, or choose another name");

/**
 * Write a file the user named with `-o` as a shell redirection would treat it, never worse: a regular file
 * (or a link to one) is replaced atomically and keeps its mode; a device, FIFO or terminal (`/dev/null`,
 * `/proc/self/fd/1`) is written through, never replaced by a file; a directory, an empty name or a link to
 * nothing is a usage error. A new file is made 0644.
 */
export async function writeOutputFile(
  path: string,
  text: string,
  flag = "-o",
  /** The file the text was made from: never replaced by it (a conversion, a balanced layout). */
  from?: string,
  /**
   * false: a file that is there is refused unless the user passed `--force`, as create-template does (a
   * device or FIFO is written through: nothing there is lost).
   */
  overwrite = true,
): Promise<void> {
  if (path === "") throw refuse(`${flag} needs a file name`);
  // The real files, links followed (a link to the source, or a path through a linked directory, would be
  // written through and replace it).
  const realOf = (p: string) => realpath(p).catch(() => resolve(p));
  if (
    from !== undefined &&
    (resolve(path) === resolve(from) || (await realOf(path)) === (await realOf(from)))
  )
    throw refuse(`${flag} ${path} is the file being converted`, "write the result to another file");
  // `-` reads as standard output to most users; a file of that name is never what they meant.
  if (path === "-")
    throw refuse(`${flag} - would make a file named "-"`, `name a file, or ./- for a file of that name`);
  const shown = JSON.stringify(path);
  const fail = (e: unknown) => {
    const err = e as NodeJS.ErrnoException;
    return refuse(
      `cannot write ${flag} ${shown}: ${err.code ?? ""} ${err.message ?? String(e)}`.trim(),
      undefined,
      e,
    );
  };
  let link: Awaited<ReturnType<typeof lstat>> | undefined;
  try {
    link = await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw fail(e);
  }
  if (!link) {
    await checkParentDir(path, `${flag} ${shown}`);
    return writeFileAtomic(path, text, 0o644).catch((e: unknown) => Promise.reject(fail(e)));
  }
  let target: Awaited<ReturnType<typeof stat>>;
  try {
    target = await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT")
      throw refuse(`${flag} ${shown} is a link to a file that does not exist`, "name the file itself");
    throw fail(e);
  }
  if (target.isDirectory())
    throw refuse(`${flag} ${shown} is a directory`, "name a file in it, e.g. -o DIR/layouts.json");
  if (!target.isFile()) return writeFile(path, text).catch((e: unknown) => Promise.reject(fail(e)));
  if (!overwrite) throw alreadyExists(path);
  const real = link.isSymbolicLink()
    ? await realpath(path).catch((e: unknown) => Promise.reject(fail(e)))
    : path;
  // Replacing it (rename) would get past its mode; a redirection into a read-only file fails.
  await access(real, constants.W_OK).catch(() =>
    Promise.reject(
      refuse(`${flag} ${shown} is read-only`, "make it writable (chmod u+w) or name another file"),
    ),
  );
  await writeFileAtomic(real, text, target.mode & 0o7777).catch((e: unknown) => Promise.reject(fail(e)));
}

/**
 * A new file goes into a directory that exists, as a shell redirection would: a missing directory is a
 * usage error naming it, never made (a typo in `-o` would otherwise leave a tree of directories behind).
 */
export async function checkParentDir(path: string, what: string): Promise<void> {
  const dir = dirname(path);
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw refuse(
        `cannot write ${what}: directory ${JSON.stringify(dir)} does not exist`,
        "create it first (mkdir -p), or name a file in a directory that exists",
        e,
      );
    throw refuse(`cannot write ${what}: ${code ?? ""} ${(e as Error).message}`.trim(), undefined, e);
  }
  if (!st.isDirectory()) throw refuse(`cannot write ${what}: ${JSON.stringify(dir)} is not a directory`);
}
