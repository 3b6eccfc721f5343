import { posix } from "node:path";

/**
 * Python's `os.path.expandvars` (what tmuxp applies to names, directories and commands) and zellij's
 * `shellexpand` alike for set variables: `$NAME` and `${NAME}` are replaced by their value; unset ones,
 * and those `keep` names, stay as written. Returns the text and the names it replaced.
 */
export function expandVars(
  s: string,
  env: Readonly<Record<string, string | undefined>>,
  /** Left as written: `at` is where the variable starts in `s`, `whole` how it is written. */
  keep: (name: string, at: number, whole: string) => boolean = () => false,
): { text: string; used: string[] } {
  const used: string[] = [];
  const text = s.replace(
    /\$(\w+|\{([^}]*)\})/g,
    (whole: string, bare: string, braced: string | undefined, at: number) => {
      const name = braced ?? bare;
      const value = env[name];
      if (value === undefined || keep(name, at, whole)) return whole;
      used.push(name);
      return value;
    },
  );
  return { text, used };
}

/** A leading `~` alone or before `/`, as `os.path.expanduser` and mc's startDir read it. */
export const TILDE = /^~(?=\/|$)/;

/** True for a directory that does not depend on the one it is joined to: `/x`, `~`, `~/x`, `$HOME/x`. */
export function isAnchored(dir: string): boolean {
  return dir.startsWith("/") || TILDE.test(dir) || /^(\$HOME|\$\{HOME\})(?=\/|$)/.test(dir);
}

/** `child` inside `parent` (`os.path.join` then `normpath`): an anchored child stands alone. */
export function joinDir(parent: string | undefined, child: string): string {
  if (parent === undefined || isAnchored(child)) return normDir(child);
  return normDir(posix.join(parent, child));
}

/** `os.path.normpath` for the paths mc writes: `a/./b/../c` → `a/c`, no trailing slash. */
export function normDir(dir: string): string {
  if (dir === "") return ".";
  const n = posix.normalize(dir);
  return n.length > 1 ? n.replace(/\/+$/, "") : n;
}

/**
 * A directory as mc writes it: `$HOME`/`${HOME}` and `~` stay (mc expands them itself, also on other
 * machines), other variables are replaced by their value now (`onExpand` reports which), and a
 * relative directory stays relative (mc reads it against the directory `sessions run` runs in, as
 * tmux and zellij read it against theirs).
 */
export function mcDir(
  dir: string,
  env: Readonly<Record<string, string | undefined>>,
  onExpand: (names: string[]) => void,
): string {
  const { text, used } = expandVars(dir, env, (n) => n === "HOME");
  if (used.length) onExpand(used);
  return normDir(text);
}
