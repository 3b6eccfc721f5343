import { posix, win32 } from "node:path";

/**
 * Expand a leading `~`, `~/…`, `$HOME` or `${HOME}` in a tab's startDir. Only the start of the path is
 * touched: `git log HEAD~1` elsewhere in a layout is never rewritten (machineconfig's global replace did).
 * `~user` and `$HOMEDIR` are left as they are.
 */
export function normaliseStartDir(dir: string, home: string): string {
  const m = /^(~|\$HOME|\$\{HOME\})(?=$|[/\\])/.exec(dir);
  if (!m) return dir;
  const rest = dir.slice(m[0].length);
  if (rest === "" || rest === "/" || rest === "\\") return home;
  return home.replace(/[/\\]+$/, "") + rest;
}

/** Where a tab's start directory is, or why it cannot be used. */
export type ResolvedDir = { path: string } | { error: string };

/**
 * The absolute directory a tab starts in, on a host: a leading `~`, `$HOME` or `${HOME}` is the home
 * directory; a relative directory is relative to `base` (the directory `sessions run` runs in, or the
 * remote user's home); `~user` is refused rather than guessed (write the directory out).
 */
export function resolveStartDir(
  dir: string,
  ctx: { home: string; base: string; platform: "posix" | "win32" },
): ResolvedDir {
  if (/^~[^/\\]/.test(dir)) {
    return {
      error: `${JSON.stringify(dir.split(/[/\\]/)[0])} (another user's home) is not expanded; write the directory out`,
    };
  }
  const d = normaliseStartDir(dir, ctx.home);
  const path = ctx.platform === "win32" ? win32 : posix;
  return { path: path.isAbsolute(d) ? d : path.join(ctx.base, d) };
}
