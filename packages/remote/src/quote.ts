import { McError, shQuote } from "@mc/core";

const CONTROL = /[\u0000-\u001f\u007f]/;

/** An ssh destination split into what ssh takes apart: `-l`, `-p` and a bare host or alias. */
export interface SshDestination {
  /** What goes after `--` on ssh's command line: a host, an alias or `user@host`, never bracketed. */
  target: string;
  /** A port given in the target (`ssh://host:2222`, `[::1]:2222`). */
  port?: number;
}

const refuse = (target: string, why: string, hint?: string): never => {
  throw new McError("USAGE", `ssh target ${JSON.stringify(target)} ${why}`, {
    backend: "remote",
    op: "connect",
    hint: hint ?? "give a host name, an ssh config alias or user@host",
  });
};

const IPV6 = /^[0-9A-Fa-f]*:[0-9A-Fa-f:.]*(?:%[\w.-]+)?$/;

/**
 * The forms a user writes for one machine, as ssh can take them. OpenSSH 9.2 reads `[::1]` as a host
 * name (it never resolves), prints its usage text for `ssh://[::1]:22`, and older clients (< 7.7) have
 * no `ssh://` at all: so brackets are dropped (`[::1]` → `::1`) and a URI's or a bracketed address's
 * port becomes `-p`. Everything else is checked by {@link checkTarget}.
 */
export function parseDestination(target: string): SshDestination {
  let t = target;
  let port: number | undefined;
  if (t.startsWith("ssh://")) {
    const m = /^ssh:\/\/(?:([^@/]+)@)?(\[[^\]]*\]|[^:/]*)(?::(\d{1,5}))?\/?$/.exec(t);
    if (!m) return refuse(target, "is not a valid ssh:// URI");
    t = `${m[1] === undefined ? "" : `${m[1]}@`}${m[2]}`;
    if (m[3] !== undefined) port = Number(m[3]);
  }
  const at = t.lastIndexOf("@");
  const user = at < 0 ? "" : t.slice(0, at + 1);
  let host = t.slice(at + 1);
  const bracket = /^\[([^\]]*)\](?::(\d{1,5}))?$/.exec(host);
  if (bracket) {
    if (!IPV6.test(bracket[1]!)) refuse(target, "has brackets around something that is not an IPv6 address");
    host = bracket[1]!;
    if (bracket[2] !== undefined) {
      if (port !== undefined) refuse(target, "gives its port twice");
      port = Number(bracket[2]);
    }
  }
  if (port !== undefined && (port < 1 || port > 65535))
    refuse(target, `has port ${port}, which is not a valid port`);
  const out = { target: `${user}${host}`, ...(port === undefined ? {} : { port }) };
  checkTarget(out.target, target);
  return out;
}

/**
 * Refuse an ssh destination that ssh could read as something else. A leading `-` would be parsed as an
 * option even after other options (CVE-2017-1000117-style `-oProxyCommand=…` injection); whitespace and
 * control characters have no place in a host name; more than one `@` makes the user part ambiguous (ssh
 * splits at the last one); a `host:port` form is scp syntax that ssh would treat as a host name; brackets
 * are for {@link parseDestination} to remove. Bare IPv6 literals (`::1`, `fe80::1%eth0`) are accepted.
 */
export function checkTarget(target: string, asGiven = target): void {
  if (target === "") refuse(asGiven, "is empty");
  if (target.startsWith("-")) refuse(asGiven, "starts with '-' and would be read as an ssh option");
  if (/\s/.test(target) || CONTROL.test(target)) refuse(asGiven, "holds whitespace or control characters");
  const at = target.split("@");
  if (at.length > 2) refuse(asGiven, "holds more than one '@'");
  const user = at.length === 2 ? at[0]! : undefined;
  const host = at.at(-1)!;
  if (user !== undefined) checkUser(user);
  if (host === "" || host.startsWith("-")) refuse(asGiven, "has no valid host after '@'");
  if (host.startsWith("["))
    refuse(
      asGiven,
      "has brackets ssh does not take here",
      "write the address without brackets, or use ssh://[addr]:port",
    );
  const ipv6 = IPV6.test(host);
  if (host.includes(":") && !ipv6) {
    refuse(
      asGiven,
      "looks like host:port, which ssh reads as a host name",
      "write ssh://host:port, or give the port in the ssh config (a Host entry with a Port line, --ssh-config FILE)",
    );
  }
  if (!ipv6 && !/^[A-Za-z0-9._+-]+$/.test(host))
    refuse(asGiven, "holds characters a host name or ssh alias cannot have");
}

/**
 * Refuse a remote user name that ssh could misread (leading `-`, whitespace, `@`, control characters),
 * or that a `%r` in the user's ssh config (ProxyCommand, Match exec) would hand a shell as code: the shell
 * characters OpenSSH 9.6 itself refuses in a user name (CVE-2023-51385), refused here too, whatever the
 * local ssh's version (review HR80: `$(…)@host` reached an older client; HR86-1: `{` `}`, which bash and
 * zsh expand, `x{1..3}@h` three words).
 */
export function checkUser(user: string): void {
  if (user === "" || user.startsWith("-") || /[\s@:/'"`$\\;&<>|(){}]/.test(user) || CONTROL.test(user)) {
    throw new McError("USAGE", `ssh user ${JSON.stringify(user)} is not a valid user name`, {
      backend: "remote",
      op: "connect",
    });
  }
}

/**
 * Quote a string so that every common login shell (sh, bash, zsh, ksh, fish) reads it as one word with
 * exactly this value. This is not core's `shQuote`, on purpose: ssh hands its command line to the
 * remote user's login shell, which may be fish, and fish (unlike POSIX sh) treats `\\` and `\'` as
 * escapes inside single quotes. So neither a backslash nor a quote ever appears inside the single-quoted
 * runs: they are written as `"\\"` and `"'"`, which mean the same in all of these shells. Only the one
 * line ssh passes to the login shell needs this; everything behind it is POSIX sh and uses `shQuote`.
 */
export function loginShellQuote(s: string): string {
  if (s !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  let out = "";
  let run = "";
  const flush = () => {
    if (run) out += `'${run}'`;
    run = "";
  };
  for (const ch of s) {
    if (ch === "'") {
      flush();
      out += `"'"`;
    } else if (ch === "\\") {
      flush();
      out += `"\\\\"`;
    } else run += ch;
  }
  flush();
  return out || "''";
}

/** PowerShell quoting lives in @mc/core, shared with @mc/wt. */
export { psEncodedArgs, psQuote } from "@mc/core";

/** A POSIX sh command line that runs `argv` exactly (each element quoted with core's `shQuote`). */
export function shJoin(argv: readonly string[]): string {
  return argv.map(shQuote).join(" ");
}
