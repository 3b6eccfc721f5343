import { readFileSync } from "node:fs";

/**
 * What the process was given that was not UTF-8. Node decodes argv and the environment as UTF-8 with
 * U+FFFD for each byte that is not, so such a value would reach a tool altered (a `--socket` made at
 * another path, a command of `create-from-command` that is not the one typed, a state directory that is
 * another: reviews H37-9, H41-4). The raw bytes are read from `/proc/self/cmdline` and `/proc/self/environ`;
 * where there are none, a value holding U+FFFD is taken for one (a U+FFFD written as UTF-8 is rare).
 */

/** The NUL-separated entries of a /proc file, or undefined where it cannot be read. */
function procEntries(file: string): Buffer[] | undefined {
  let all: Buffer;
  try {
    all = readFileSync(file);
  } catch {
    return undefined;
  }
  const out: Buffer[] = [];
  for (let at = 0; at < all.length; ) {
    const end = all.indexOf(0, at);
    out.push(all.subarray(at, end < 0 ? all.length : end));
    at = end < 0 ? all.length : end + 1;
  }
  return out;
}

const strict = new TextDecoder("utf-8", { fatal: true });
const isUtf8 = (b: Buffer) => {
  try {
    strict.decode(b);
    return true;
  } catch {
    return false;
  }
};

/** The arguments that were not UTF-8 as given. */
export function argsNotUtf8(args: readonly string[]): string[] {
  const suspect = args.filter((a) => a.includes("\uFFFD"));
  if (suspect.length === 0) return [];
  const raw = procEntries("/proc/self/cmdline");
  if (!raw) return suspect;
  const bad = new Set(raw.filter((b) => !isUtf8(b)).map((b) => b.toString("utf8")));
  return suspect.filter((a) => bad.has(a));
}

/** The variables mc takes paths and programs from. */
const PATH_VARS = [
  "MC_STATE_DIR",
  "MC_CACHE_DIR",
  "XDG_STATE_HOME",
  "XDG_RUNTIME_DIR",
  "HOME",
  "SHELL",
  "TMUX_TMPDIR",
  "ZELLIJ_SOCKET_DIR",
];

/** Those of the path variables whose value was not UTF-8. */
export function envNotUtf8(): string[] {
  const suspect = PATH_VARS.filter((k) => process.env[k]?.includes("\uFFFD"));
  if (suspect.length === 0) return [];
  const raw = procEntries("/proc/self/environ");
  if (!raw) return suspect;
  const bad = new Set(
    raw.flatMap((e) => {
      const eq = e.indexOf(0x3d);
      return eq > 0 && !isUtf8(e.subarray(eq + 1)) ? [e.subarray(0, eq).toString("utf8")] : [];
    }),
  );
  return suspect.filter((k) => bad.has(k));
}
