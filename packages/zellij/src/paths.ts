import type { Command } from "@mc/core";
import { atLeast, formatVersion, LIST_PANES_SINCE, type ZellijVersion } from "./version.js";

/**
 * What decides where zellij keeps its sockets and resurrection data on a host, read on that host (the
 * machine that runs zellij, which may be another one than mc's): its platform, uid and environment.
 */
export interface ZellijHostFacts {
  platform: string;
  uid: string;
  home: string;
  tmpdir: string;
  socketDirEnv: string;
  runtimeDir: string;
  cacheHome: string;
  /** util-linux script(1), which logs the tabs' output ("" where the host has none, or another script). */
  script: string;
  /**
   * A configuration directory a start must name (`--config-dir`), or "": zellij 0.45's server reads a
   * layout file only when it finds one (layout.rs `stringified_from_dir`), and silently starts its default
   * layout otherwise. Its client makes `~/.config/zellij` itself unless `ZELLIJ_CONFIG_FILE` names the
   * configuration, so a user with that set and no such directory gets the one holding that file.
   */
  configDir: string;
}

const FACT_NAMES = [
  "platform",
  "uid",
  "home",
  "tmpdir",
  "socketDirEnv",
  "runtimeDir",
  "cacheHome",
  "script",
  "configDir",
] as const;

/**
 * The command that reads {@link ZellijHostFacts} on a host: one `sh`, each value NUL-terminated, so any
 * byte a variable can hold survives. Run through the host like every zellij call, so it sees the same
 * environment zellij will.
 */
export function hostFactsCommand(): Command {
  return {
    file: "/bin/sh",
    args: [
      "-c",
      [
        // zellij's default configuration directories (home.rs default_config_dirs), checked as it does.
        'c=; f=${ZELLIJ_CONFIG_FILE-}; if [ -n "$f" ] && [ -z "${ZELLIJ_CONFIG_DIR-}" ]; then x=${XDG_CONFIG_HOME:-$HOME/.config}',
        '  if ! [ -e "$HOME/.config/zellij" ] && ! [ -e "$x/zellij" ] && ! [ -e /etc/zellij ] && ! [ -e "$HOME/Library/Application Support/org.Zellij-Contributors.Zellij" ]; then',
        '    case $f in /*) ;; *) f=$PWD/$f ;; esac; c=${f%/*}; [ -n "$c" ] || c=/',
        "  fi",
        "fi",
        'printf "%s\\0" "$(uname -s)" "$(id -u)" "${HOME-}" "${TMPDIR-}" "${ZELLIJ_SOCKET_DIR-}" "${XDG_RUNTIME_DIR-}" "${XDG_CACHE_HOME-}" "$(s=$(command -v script 2>/dev/null) && "$s" --version 2>/dev/null | grep -q util-linux && printf %s "$s")" "$c"',
      ].join("\n"),
    ],
    timeoutMs: 10000,
  };
}

/** Parse the output of {@link hostFactsCommand}; undefined when it is not that. */
export function parseHostFacts(stdout: string): ZellijHostFacts | undefined {
  const v = stdout.split("\0");
  if (v.length < FACT_NAMES.length) return undefined;
  const out = Object.fromEntries(FACT_NAMES.map((k, i) => [k, v[i]!])) as unknown as ZellijHostFacts;
  out.platform = out.platform.trim().toLowerCase();
  return out;
}

const trimSlash = (p: string) => (p.length > 1 ? p.replace(/\/+$/, "") : p);

/**
 * The folder zellij keeps per client-server contract: `contract_version_1` since 0.44.0, the version
 * string (`0.43.1`) before (zellij-utils/src/consts.rs `CLIENT_SERVER_CONTRACT_DIR`, `ZELLIJ_SOCK_DIR`).
 * Without a known version the longer one is assumed, so a name limit stays safe for every version.
 */
export function contractDir(version: ZellijVersion | undefined): string {
  return version === undefined || atLeast(version, LIST_PANES_SINCE)
    ? "contract_version_1"
    : formatVersion(version);
}

/**
 * zellij's socket directory on a host (consts.rs `ZELLIJ_SOCK_DIR`, 0.40–0.45): `$ZELLIJ_SOCKET_DIR`, else
 * the runtime dir of the `directories` crate (`$XDG_RUNTIME_DIR/zellij` when absolute, Linux only), else
 * `<temp_dir>/zellij-<uid>` (`$TMPDIR` or `/tmp`); then the contract folder.
 */
export function zellijSocketDir(f: ZellijHostFacts, version?: ZellijVersion): string {
  const base = f.socketDirEnv
    ? trimSlash(f.socketDirEnv)
    : f.platform === "linux" && f.runtimeDir.startsWith("/")
      ? `${trimSlash(f.runtimeDir)}/zellij`
      : `${trimSlash(f.tmpdir || "/tmp")}/zellij-${f.uid}`;
  return `${base}/${contractDir(version)}`;
}

/**
 * zellij's cache directory on a host (`ProjectDirs::from("org", "Zellij Contributors", "Zellij")`):
 * `$XDG_CACHE_HOME/zellij` (when absolute) or `~/.cache/zellij` on Linux and the BSDs,
 * `~/Library/Caches/org.Zellij-Contributors.Zellij` on macOS.
 */
export function zellijCacheDir(f: ZellijHostFacts): string {
  if (f.platform === "darwin") return `${trimSlash(f.home)}/Library/Caches/org.Zellij-Contributors.Zellij`;
  const base = f.cacheHome.startsWith("/") ? trimSlash(f.cacheHome) : `${trimSlash(f.home)}/.cache`;
  return `${base}/zellij`;
}

/**
 * The resurrection layout zellij keeps for a session (consts.rs `session_layout_cache_file_name`): its
 * presence is what makes `list-sessions` show the session as EXITED once it no longer runs.
 */
export function resurrectionLayoutPath(f: ZellijHostFacts, version: ZellijVersion | undefined, name: string) {
  return `${zellijCacheDir(f)}/${contractDir(version)}/session_info/${name}/session-layout.kdl`;
}

/**
 * zellij's limit on a socket path, from `sockaddr_un.sun_path`: 104 bytes on macOS, 108 elsewhere
 * (consts.rs `ZELLIJ_SOCK_MAX_LENGTH`, chosen by `cfg(target_os = "macos")`).
 */
export function socketPathMax(platform: string): number {
  return platform === "darwin" ? 104 : 108;
}

/** Lists the sockets in zellij's socket directory (NUL-terminated names): the servers that may be live. */
export function socketListCommand(socketDir: string): Command {
  return {
    file: "/bin/sh",
    args: [
      "-c",
      'for f in "$1"/* "$1"/.[!.]*; do [ -S "$f" ] && printf "%s\\0" "${f##*/}"; done; true',
      "sh",
      socketDir,
    ],
    timeoutMs: 10000,
  };
}

/**
 * Whether a session's server is still there, without asking it: `S` when its socket exists, `P` when a
 * process runs `zellij --server <socket path>` (how zellij starts its server, src/commands.rs). A
 * server that removed its socket may still write the session's saved layout until it exits.
 */
export function serverPresenceCommand(socketPath: string): Command {
  return {
    file: "/bin/sh",
    args: [
      "-c",
      '[ -S "$1" ] && printf S; ps -eo args= 2>/dev/null | while IFS= read -r l; do case "$l" in *" --server $1") printf P; break ;; esac; done; true',
      "sh",
      socketPath,
    ],
    timeoutMs: 10000,
  };
}

/**
 * The identity of a session's server process, `zellij --server <socket path>`: its pid, its start time
 * (clock ticks since boot, field 22 of /proc/<pid>/stat; `ps -o lstart=` without /proc) and the boot id.
 * A server that ended and one started later under the same name never share it, so it proves that a
 * session is the one mc started. Prints nothing when no such process runs, when the socket is not there,
 * and when several do: `rename-session` renames the socket but not its server's command line, so a
 * session renamed away from the name and a new one of that name both claim it (review H30-2: a user's
 * new session passed as mc's renamed one, and was killed).
 */
export function serverIdentityCommand(socketPath: string): Command {
  return {
    file: "/bin/sh",
    args: [
      "-c",
      [
        // No socket by that name: its server, if one runs with that path, serves a session renamed since.
        '[ -S "$1" ] || exit 0',
        'pid=$(ps -eo pid=,args= 2>/dev/null | while IFS= read -r l; do case "$l" in *" --server $1") l=${l#"${l%%[! ]*}"}; printf "%s " "${l%% *}" ;; esac; done)',
        // Two servers with that path: one was renamed (zellij keeps its server's command line), and which one
        // holds the socket now cannot be told from here: no identity (ownership then rests on pane names).
        'case $pid in "" | *" "?*) exit 0 ;; esac',
        "pid=${pid% }",
        'if [ -r "/proc/$pid/stat" ]; then st=$(sed "s/.*) //" "/proc/$pid/stat" | cut -d" " -f20); b=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)',
        'else st=$(ps -o lstart= -p "$pid" 2>/dev/null); b=; fi',
        '[ -n "$st" ] && printf "%s\\n%s\\n%s\\n" "$pid" "$st" "$b"; true',
      ].join("\n"),
      "sh",
      socketPath,
    ],
    timeoutMs: 10000,
  };
}

/** `pid-start-boot` from {@link serverIdentityCommand}'s output, as a file-name-safe string. */
export function parseServerIdentity(stdout: string): string | undefined {
  const [pid, start, boot] = stdout.split("\n");
  if (!pid || !/^\d+$/.test(pid) || !start?.trim()) return undefined;
  const safe = (s: string) => s.trim().replace(/[^0-9A-Za-z]+/g, ".");
  return [pid, safe(start), safe(boot ?? "").slice(0, 8) || "x"].join("-");
}

/**
 * Where mc keeps its proofs of ownership on the host that runs zellij: one file per session it
 * started, named `<run id>_<server identity>` ({@link serverIdentityCommand}), holding the session name.
 */
export function ownershipDir(stateDir: string): string {
  return `${stateDir.replace(/\/+$/, "")}/zellij-owned`;
}
