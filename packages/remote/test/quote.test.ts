import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { isMcError } from "@mc/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkTarget,
  droppedError,
  loginShellQuote,
  parseDestination,
  psEncodedArgs,
  psQuote,
  sshBaseArgs,
  sshError,
} from "../src/index.js";

const shells = ["/bin/sh", "/bin/bash", "/bin/dash", "/usr/bin/zsh", "/usr/bin/fish"].filter(existsSync);
const anyText = fc.string({
  unit: fc.oneof(
    fc.constantFrom(
      "'",
      '"',
      "\\",
      "$",
      "`",
      "\n",
      "!",
      "%",
      "*",
      "~",
      "#",
      ";",
      "&",
      "|",
      "(",
      ")",
      "{",
      "}",
      "\t",
      " ",
      "é",
      "😀",
    ),
    fc.string({ unit: "grapheme", maxLength: 2 }),
  ),
});

describe("loginShellQuote", () => {
  it.each(shells)("any string survives %s -c as one word (property)", (shell) => {
    fc.assert(
      fc.property(
        anyText.filter((s) => !s.includes("\0")),
        (s) => {
          const out = execFileSync(shell, ["-c", `printf %s ${loginShellQuote(s)}`], { encoding: "utf8" });
          expect(out).toBe(s);
        },
      ),
      { numRuns: 80 },
    );
  });
  it("never puts a backslash or quote inside single quotes (fish reads those as escapes)", () => {
    fc.assert(
      fc.property(anyText, (s) => {
        expect(loginShellQuote(s)).toMatch(/^(?:(?:'[^'\\]+'|"'"|"\\\\")+|[A-Za-z0-9_@%+=:,./-]+|'')$/);
      }),
    );
  });
});

describe("psQuote / psEncodedArgs", () => {
  /** PowerShell's single-quoted literal rule: inside, a doubled quote (any of the four) is one quote. */
  const unquote = (q: string) => q.slice(1, -1).replace(/(['\u2018\u2019\u201a\u201b])\1/g, "$1");
  it("round-trips any string and leaves no lone quote (property)", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom("'", "\u2019", "\u2018", "a", "$", "`", '"', "\n", " ") }),
        (s) => {
          const q = psQuote(s);
          expect(unquote(q)).toBe(s);
          expect(q.slice(1, -1).replace(/(['\u2018\u2019\u201a\u201b])\1/g, "")).not.toMatch(
            /['\u2018\u2019\u201a\u201b]/,
          );
        },
      ),
    );
  });
  it("encodes the script as base64 UTF-16LE, so the command line holds no shell syntax", () => {
    const args = psEncodedArgs("Write-Output 'é 😀'");
    const b64 = args.at(-1)!;
    expect(b64).toMatch(/^[A-Za-z0-9+/=]+$/);
    expect(Buffer.from(b64, "base64").toString("utf16le")).toBe("Write-Output 'é 😀'");
  });
});

describe("ssh targets and arguments", () => {
  const refused = (t: string) => {
    try {
      parseDestination(t);
      return false;
    } catch (e) {
      return isMcError(e, "USAGE");
    }
  };
  it.each([
    "-oProxyCommand=touch /tmp/x",
    "-p",
    "a b",
    "host\n",
    "a\tb",
    "",
    "a@b@c",
    "host:22",
    "user@",
    "h;rm",
    "h$(x)",
    "-@h",
    "@h",
    "ssh://-x",
    "[host]",
    "[::1]:99999",
    "ssh://[::1]:2222:1",
    // Shell characters in the user part, which a `%r` in the user's ssh config would hand a shell (HR80).
    "$(touch${IFS}x)@h",
    "`id`@h",
    "a;b@h",
    "a|b@h",
    "a&b@h",
    "a>b@h",
    "a'b@h",
    'a"b@h',
    "a\\b@h",
    "a(b@h",
    // OpenSSH's list has braces too: bash and zsh expand `x{1..3}` to three words (review HR86-1).
    "x{1..3}@h",
    "a{b,c}@h",
    "a}b@h",
    // And what only one test stood for before (review HR86-4).
    "a<b@h",
    "u@-x",
    "[fe80::1%$(id)]",
    "root@fe80::1%a;b",
  ])("refuses %j", (t) => expect(refused(t)).toBe(true));
  it.each([
    ["host", { target: "host" }],
    ["user@host", { target: "user@host" }],
    ["gpu-1.example.org", { target: "gpu-1.example.org" }],
    ["10.0.0.1", { target: "10.0.0.1" }],
    ["::1", { target: "::1" }],
    // OpenSSH 9.2 reads "[::1]" as a host name and prints its usage text for ssh://[::1]:22: brackets go.
    ["[::1]", { target: "::1" }],
    ["root@[fe80::1%eth0]", { target: "root@fe80::1%eth0" }],
    ["[::1]:2222", { target: "::1", port: 2222 }],
    ["ssh://u@h:2222", { target: "u@h", port: 2222 }],
    ["ssh://[::1]:2200", { target: "::1", port: 2200 }],
    ["my_alias", { target: "my_alias" }],
    ["first.last-2_x@h", { target: "first.last-2_x@h" }],
    ["jöran@h", { target: "jöran@h" }],
  ])("accepts %j as ssh takes it", (t, want) => expect(parseDestination(t)).toEqual(want));
  it("checkTarget alone refuses what parseDestination would rewrite", () => {
    expect(() => checkTarget("[::1]")).toThrow(/brackets/);
  });
  it("builds the multiplexed, non-interactive base arguments: mc's options first (they win), then the user's", () => {
    const known = new Set(["sessiontype", "stdinnull"]);
    expect(
      sshBaseArgs(
        {
          port: 2222,
          user: "ops",
          identityFile: "/k/id%1",
          configFile: "/dev/null",
          extraOptions: { StrictHostKeyChecking: "accept-new" },
        },
        "/tmp/cm/abc",
        known,
      ),
    ).toEqual([
      "-o",
      "BatchMode=yes",
      "-o",
      "ConnectTimeout=10",
      "-o",
      "ControlMaster=auto",
      "-o",
      "ControlPath=/tmp/cm/abc",
      "-o",
      "ControlPersist=60",
      "-o",
      "ServerAliveInterval=10",
      "-o",
      "ServerAliveCountMax=3",
      "-o",
      "RemoteCommand=none",
      "-o",
      "PermitLocalCommand=no",
      "-o",
      "ClearAllForwardings=yes",
      "-o",
      "ForwardX11=no",
      "-o",
      "Tunnel=no",
      "-o",
      "SessionType=default",
      "-o",
      "StdinNull=no",
      "-F",
      "/dev/null",
      "-p",
      "2222",
      "-l",
      "ops",
      "-i",
      "/k/id%%1",
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      "StrictHostKeyChecking=accept-new",
    ]);
    expect(() => sshBaseArgs({ user: "-x" }, "/c/x")).toThrow(/user/);
    expect(() => sshBaseArgs({ port: 70000 }, "/c/x")).toThrow(/port/);
    expect(() => sshBaseArgs({ extraOptions: { "A B": "x" } }, "/c/x")).toThrow(/option/);
    expect(() => sshBaseArgs({ extraOptions: { ProxyCommand: "x\ny" } }, "/c/x")).toThrow(/option/);
    expect(() => sshBaseArgs({}, "/c c/x")).toThrow(/spaces/);
    // ssh's option parser reads quotes and backslashes in a ControlPath (review HR86-4).
    for (const p of ['/c"c/x', "/c'c/x", "/c\\c/x"]) expect(() => sshBaseArgs({}, p), p).toThrow();
  });
});

describe("sshError (OpenSSH 9.2p1 messages)", () => {
  it.each([
    ["root@127.0.0.1: Permission denied (publickey).", "SSH_AUTH_FAILED"],
    ["Host key verification failed.", "SSH_AUTH_FAILED"],
    ["ssh: connect to host 127.0.0.1 port 1: Connection refused", "SSH_UNREACHABLE"],
    ["ssh: connect to host 10.255.255.1 port 22: Connection timed out", "SSH_UNREACHABLE"],
    ["ssh: Could not resolve hostname nohost: Name or service not known", "SSH_UNREACHABLE"],
    ["Connection closed by 127.0.0.1 port 2222", "SSH_UNREACHABLE"],
  ])("%s → %s", (stderr, code) => {
    const e = sshError("ssh:gpu-1", "status", 255, stderr, { probe: "ssh -p 2222 -- gpu-1 true" });
    expect(e.code).toBe(code);
    expect(e.message).toContain("ssh:gpu-1");
    // The hint names a command that can work, never `ssh ssh:gpu-1 true`.
    expect(e.hint).toContain("`ssh -p 2222 -- gpu-1 true`");
    expect(e.hint).not.toContain("ssh ssh:");
  });

  it("never gives the batch's own liveness line as the reason (review H60-5)", () => {
    const token = `MCB${"0123456789abcdef".repeat(2)}-up`;
    const e = sshError("ssh:h4", "start", 255, `${token}\n`);
    expect(e.message).not.toContain("MCB");
    const after = sshError(
      "ssh:h4",
      "start",
      255,
      `Connection to 127.0.0.1 closed by remote host.\n${token}\n`,
    );
    expect(after.message).toContain("Connection to 127.0.0.1 closed by remote host.");
    expect(after.message).not.toContain("MCB");
    const dropped = droppedError("ssh:h4", "start", `${token}\n`);
    expect(dropped.message).toBe(
      "[mc] [remote] start: the connection to ssh:h4 dropped before the command finished",
    );
    expect(dropped.hint).not.toContain("retries");
  });
});
