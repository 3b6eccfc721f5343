import { McError } from "@mc/core";
import { socketPathMax } from "./paths.js";

/**
 * Longest session name (in bytes) zellij can hold under `socketDir`: the socket path
 * `<socketDir>/<name>` must be shorter than zellij's limit ({@link socketPathMax}; zellij-utils cli.rs
 * `validate_session` and, on 0.44+, zellij-client lib.rs `check_ipc_pipe_length` refuse `>=`). `attach`
 * does not validate, so a longer name fails later: "the IPC socket path is too long" on 0.44+, a hang
 * on 0.43 and older.
 */
export function maxSessionNameBytes(socketDir: string, platform: string): number {
  return socketPathMax(platform) - 1 - Buffer.byteLength(`${socketDir}/`);
}

/**
 * The limit used before the host's socket directory is known (and for a dry run): a Linux runtime dir
 * with the longest uid. A macOS host (`$TMPDIR/zellij-<uid>/…`) is much tighter; mc checks again once it
 * has read the host's facts.
 */
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
 * - `web_server_bus`, the web server's socket in the same directory (0.43+, consts.rs);
 * - longer than the socket path allows ({@link maxSessionNameBytes}), when `maxBytes` is given.
 */
export function sessionNameProblem(name: string, maxBytes?: number): string | undefined {
  if (name.trim() === "") return "a zellij session name cannot be empty";
  if (name === "." || name === "..") return `"${name}" is not a valid zellij session name`;
  if (name.includes("/")) return "a zellij session name cannot contain '/'";
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(name))
    return "a zellij session name cannot contain control characters";
  if (LONE_SURROGATE.test(name)) return "a zellij session name cannot contain unpaired UTF-16 surrogates";
  if (name.startsWith("-")) return "a zellij session name cannot start with '-' (zellij would read a flag)";
  if (name === "options" || name === "help")
    return `"${name}" is a subcommand of zellij attach and cannot be a session name`;
  if (name === "web_server_bus") return `"${name}" is the socket of zellij's web server`;
  const bytes = Buffer.byteLength(name);
  if (maxBytes !== undefined && bytes > maxBytes)
    return `zellij session names can have at most ${maxBytes} bytes on this host (socket path limit); this one has ${bytes}`;
  return undefined;
}

/**
 * zellij's global `--session NAME` as one word, `--session=NAME`: zellij 0.45's clap reads a separate
 * value that starts with `-` as a flag (`--session -zdash` is "unexpected argument '-z'"), and a session mc
 * did not start can have such a name (`zellij attach --create-background -- -zdash`; review H66-5).
 * Subcommands that take the name as a positional (`attach`, `kill-session`, `delete-session`,
 * `action switch-session`) get `--` before it instead.
 */
export const sessionFlag = (name: string): string => `--session=${name}`;

/** Throw LAYOUT_INVALID when zellij cannot hold `name` ({@link sessionNameProblem}). */
export function checkSessionName(name: string, maxBytes?: number, hint?: string): void {
  const problem = sessionNameProblem(name, maxBytes);
  if (problem) {
    throw new McError("LAYOUT_INVALID", `session name ${JSON.stringify(name)}: ${problem}`, {
      backend: "zellij",
      op: "start",
      // "shorter --prefix" helps a name that is too long only (review H30-1).
      hint:
        hint ??
        (/at most \d+ bytes/.test(problem)
          ? "rename the layout (layoutName) or choose a shorter --prefix; nothing was started"
          : "rename the layout (layoutName), or choose another --prefix; nothing was started"),
    });
  }
}

/** True when `s` holds a lone UTF-16 surrogate (not representable in UTF-8). */
export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}
