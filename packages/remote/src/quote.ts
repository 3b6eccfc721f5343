import { McError, shQuote } from "@mc/core";

const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Refuse an ssh destination that ssh could read as something else. A leading `-` would be parsed as an
 * option even after other options (CVE-2017-1000117-style `-oProxyCommand=…` injection); whitespace and
 * control characters have no place in a host name; more than one `@` makes the user part ambiguous (ssh
 * splits at the last one); a `host:port` form is scp syntax that ssh would treat as a host name. IPv6
 * literals (`::1`, `[fe80::1%eth0]`) and `ssh://user@host:port` URIs (OpenSSH ≥ 7.7, ssh.c) are accepted.
 */
export function checkTarget(target: string): void {
  const refuse = (why: string, hint?: string) => {
    throw new McError("USAGE", `ssh target ${JSON.stringify(target)} ${why}`, {
      backend: "remote",
      op: "connect",
      hint: hint ?? "give a host name, an ssh config alias or user@host",
    });
  };
  if (target === "") refuse("is empty");
  if (target.startsWith("-")) refuse("starts with '-' and would be read as an ssh option");
  if (/\s/.test(target) || CONTROL.test(target)) refuse("holds whitespace or control characters");
  if (target.startsWith("ssh://")) {
    const m =
      /^ssh:\/\/(?:([A-Za-z0-9._+-]+)@)?([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+(?:%[\w.-]+)?\])(?::(\d{1,5}))?\/?$/.exec(
        target,
      );
    if (!m || m[2]?.startsWith("-") || m[1]?.startsWith("-")) refuse("is not a valid ssh:// URI");
    return;
  }
  const at = target.split("@");
  if (at.length > 2) refuse("holds more than one '@'");
  const user = at.length === 2 ? at[0]! : undefined;
  const host = at.at(-1)!;
  if (user !== undefined) checkUser(user);
  if (host === "" || host.startsWith("-")) refuse("has no valid host after '@'");
  const ipv6 = /^\[?[0-9A-Fa-f]*:[0-9A-Fa-f:.]*(?:%[\w.-]+)?\]?$/.test(host);
  if (host.includes(":") && !ipv6) {
    refuse(
      "looks like host:port, which ssh reads as a host name",
      "use the port option (or ssh://host:port)",
    );
  }
  if (!ipv6 && !/^[A-Za-z0-9._+-]+$/.test(host))
    refuse("holds characters a host name or ssh alias cannot have");
}

/** Refuse a remote user name that ssh could misread (leading `-`, whitespace, `@`, control characters). */
export function checkUser(user: string): void {
  if (user === "" || user.startsWith("-") || /[\s@:/]/.test(user) || CONTROL.test(user)) {
    throw new McError("USAGE", `ssh user ${JSON.stringify(user)} is not a valid user name`, {
      backend: "remote",
      op: "connect",
    });
  }
}

/**
 * Quote a string so that every common login shell (sh, bash, zsh, ksh, fish) reads it as one word with
 * exactly this value. fish, unlike sh, treats `\\` and `\'` as escapes inside single quotes, so neither a
 * backslash nor a quote ever appears inside the single-quoted runs: they are written as `"\\"` and `"'"`,
 * which mean the same in all of these shells.
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

/** A POSIX sh command line that runs `argv` exactly (each element single-quoted). */
export function shJoin(argv: readonly string[]): string {
  return argv.map(shQuote).join(" ");
}
