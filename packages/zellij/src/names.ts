import { join } from "node:path";
import { McError } from "@mc/core";

/**
 * Where zellij puts its session sockets (zellij-utils/src/consts.rs, `ZELLIJ_SOCK_DIR`):
 * `$ZELLIJ_SOCKET_DIR`, else the XDG runtime dir (`$XDG_RUNTIME_DIR/zellij`, Linux only), else
 * `<tmp>/zellij-<uid>`; then a per-contract folder (`contract_version_1` since 0.44.0, the version string
 * such as `0.43.1` before). The longer contract folder is used so the limit is safe for every version.
 */
export function zellijSocketDir(o: {
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform | string;
  uid: number;
  tmpdir: string;
}): string {
  const base =
    o.env.ZELLIJ_SOCKET_DIR ||
    (o.platform === "linux" && o.env.XDG_RUNTIME_DIR
      ? join(o.env.XDG_RUNTIME_DIR, "zellij")
      : join(o.tmpdir, `zellij-${o.uid}`));
  return join(base, "contract_version_1");
}

/**
 * Longest session name (in bytes) zellij can hold under `socketDir`: its socket path must be shorter than
 * `sockaddr_un.sun_path` (108 bytes on Linux, 104 on macOS; consts.rs `ZELLIJ_SOCK_MAX_LENGTH`, checked by
 * cli.rs `validate_session`, which `attach` does not call, so a longer name fails later and obscurely).
 */
export function maxSessionNameBytes(socketDir: string, platform: NodeJS.Platform | string): number {
  const max = platform === "darwin" ? 104 : 108;
  return max - 1 - Buffer.byteLength(`${socketDir}/`);
}

/** The limit when the socket directory of the host is unknown (a Linux runtime dir with the longest uid). */
export const DEFAULT_MAX_SESSION_NAME_BYTES = maxSessionNameBytes(
  "/run/user/4294967295/zellij/contract_version_1",
  "linux",
);

// Lone UTF-16 surrogates cannot become a file name or a Rust String.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why zellij cannot hold `name`, or undefined when it can. Rules from the source:
 * - empty, `.`, `..`, or containing `/` (zellij-utils/src/sessions.rs `validate_session_name`: the name is a
 *   socket file and a cache folder name); this also excludes `http(s)://…`, which `attach` would treat as a
 *   remote session URL (src/commands.rs);
 * - control characters (a newline would split `list-sessions` output; they are not printable names);
 * - a leading `-` (clap would read it as a flag of `attach`/`kill-session`);
 * - `options` or `help` (subcommands of `attach`, cli.rs `Sessions::Attach`);
 * - longer than the socket path allows ({@link maxSessionNameBytes}).
 */
export function sessionNameProblem(name: string, maxBytes: number): string | undefined {
  if (name.trim() === "") return "a zellij session name cannot be empty";
  if (name === "." || name === "..") return `"${name}" is not a valid zellij session name`;
  if (name.includes("/")) return "a zellij session name cannot contain '/'";
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(name))
    return "a zellij session name cannot contain control characters";
  if (LONE_SURROGATE.test(name)) return "a zellij session name cannot contain unpaired UTF-16 surrogates";
  if (name.startsWith("-")) return "a zellij session name cannot start with '-' (zellij would read a flag)";
  if (name === "options" || name === "help")
    return `"${name}" is a subcommand of zellij attach and cannot be a session name`;
  const bytes = Buffer.byteLength(name);
  if (bytes > maxBytes)
    return `zellij session names can have at most ${maxBytes} bytes here (socket path limit); this one has ${bytes}`;
  return undefined;
}

/** Throw LAYOUT_INVALID when zellij cannot hold `name` ({@link sessionNameProblem}). */
export function checkSessionName(name: string, maxBytes: number): void {
  const problem = sessionNameProblem(name, maxBytes);
  if (problem) {
    throw new McError("LAYOUT_INVALID", `session name ${JSON.stringify(name)}: ${problem}`, {
      backend: "zellij",
      op: "start",
      hint: "rename the layout (layoutName) or choose a shorter --prefix; nothing was started",
    });
  }
}

/** True when `s` holds a lone UTF-16 surrogate (not representable in UTF-8). */
export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}
