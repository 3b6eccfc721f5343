import { chmodSync, lstatSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { McError } from "@mc/core";

/** Why a directory cannot hold control sockets, or undefined when it can (made private if it was not). */
export function controlDirProblem(dir: string, uid = process.getuid?.()): string | undefined {
  if (/[\s"'\\]/.test(dir)) return "its path holds spaces or quotes, which ssh's ControlPath cannot take";
  // A socket path is at most 104 (macOS) / 108 (Linux) bytes; mc's socket names are 24 characters.
  if (dir.length > 78) return "its path is too long for a unix socket";
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory()) return "it is not a directory";
    if (uid !== undefined && st.uid !== uid) return `it belongs to another user (uid ${st.uid})`;
    if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Create the control directory (0700) and refuse one that another user could reach into. */
export function ensurePrivateDir(dir: string): void {
  const why = controlDirProblem(dir);
  if (why) {
    throw new McError("USAGE", `control directory ${dir} cannot be used: ${why}`, {
      backend: "remote",
      op: "connect",
      hint: "set controlDir to a directory you own, with a short path without spaces",
    });
  }
}

/**
 * The candidates for the default control directory, shared by every mc process of this user:
 * `<tmpdir>/mc-ssh-<uid>`, `$XDG_RUNTIME_DIR/mc-ssh`, `/tmp/mc-ssh-<uid>`, then numbered variants.
 */
export function controlDirCandidates(
  env: NodeJS.ProcessEnv = process.env,
  uid = process.getuid?.() ?? 0,
): string[] {
  const tmp = env.TMPDIR && isAbsolute(env.TMPDIR) ? env.TMPDIR : tmpdir();
  const out = [join(tmp, `mc-ssh-${uid}`)];
  if (env.XDG_RUNTIME_DIR && isAbsolute(env.XDG_RUNTIME_DIR)) out.push(join(env.XDG_RUNTIME_DIR, "mc-ssh"));
  out.push(`/tmp/mc-ssh-${uid}`);
  for (let n = 1; n <= 3; n++) out.push(`/tmp/mc-ssh-${uid}-${n}`);
  return [...new Set(out)];
}

const chosen = new Map<string, string>();

/**
 * The default control directory: the first candidate that is (or can be made) a private directory of
 * this user, so a directory another local user created first, or a `TMPDIR` with a space, never blocks
 * remote use. When every candidate is taken, a fresh private directory (not shared with other processes).
 */
export function defaultControlDir(
  env: NodeJS.ProcessEnv = process.env,
  uid = process.getuid?.() ?? 0,
): string {
  const candidates = controlDirCandidates(env, uid);
  const memo = `${uid}\u0000${candidates.join("\u0000")}`;
  const known = chosen.get(memo);
  if (known && !controlDirProblem(known, uid)) return known;
  const dir = candidates.find((d) => !controlDirProblem(d, uid)) ?? mkdtempSync(`/tmp/mc-ssh-${uid}-`);
  chosen.set(memo, dir);
  return dir;
}
