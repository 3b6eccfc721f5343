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

/**
 * Why a startDir cannot be read as written, or undefined: a leading `~user` (another user's home) or a
 * leading variable other than `$HOME`/`${HOME}` (`$PWD`, `${WORK}/api`) is not expanded, and read literally it
 * names a directory nobody meant (review H61-9: `--missing-dirs create` made `./$PWD`). A variable later in
 * the path is read literally, as a directory may be so named (`/srv/d$x`, `C:\$Recycle.Bin`: review H62-2);
 * {@link variableIn} says it where such a directory is missing.
 */
export function unexpandedStartDir(dir: string): string | undefined {
  return unexpandedPath(dir, "startDir", "directory");
}

/**
 * As {@link unexpandedStartDir}, for another path of a layout that has the same home forms (`field`, e.g.
 * `readiness.file`, and what it names, e.g. `path`, for the message).
 */
export function unexpandedPath(dir: string, field: string, what: string): string | undefined {
  if (/^~[^/\\]/.test(dir))
    return `${JSON.stringify(dir.split(/[/\\]/)[0])} (another user's home) is not expanded; write the ${what} out`;
  const lead = /^\$(\{[^}]*\}|[A-Za-z_]\w*)/.exec(dir)?.[0];
  return lead === undefined || lead === "$HOME" || lead === "${HOME}"
    ? undefined
    : `${JSON.stringify(lead)} is not expanded: only ~, $HOME and \${HOME} are expanded (at the start of ${field}); write the ${what} out`;
}

/** A variable past the start of a startDir (`~/code/$PROJECT`), which mc reads literally, or undefined. */
export function variableIn(dir: string): string | undefined {
  return /\$(\{[^}]*\}|[A-Za-z_]\w*)/.exec(dir.replace(/^(\$HOME|\$\{HOME\})(?=$|[/\\])/, ""))?.[0];
}

/** Where a tab's start directory is, or why it cannot be used. */
export type ResolvedDir = { path: string } | { error: string };

/**
 * The absolute directory a tab starts in, on a host: a leading `~`, `$HOME` or `${HOME}` is the home
 * directory; a relative directory is relative to `base` (the directory `sessions run` runs in, or the
 * remote user's home); `~user` and other variables are refused rather than guessed ({@link unexpandedStartDir}).
 */
export function resolveStartDir(
  dir: string,
  ctx: { home: string; base: string; platform: "posix" | "win32" },
): ResolvedDir {
  const error = unexpandedStartDir(dir);
  if (error) return { error };
  const d = normaliseStartDir(dir, ctx.home);
  const path = ctx.platform === "win32" ? win32 : posix;
  return { path: path.isAbsolute(d) ? d : path.join(ctx.base, d) };
}
