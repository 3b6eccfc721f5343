/**
 * #19 (WTRemoteManager): "Never send a long script on the command line … work whether the remote default
 * shell is cmd.exe, Windows PowerShell 5.1 or pwsh." Every Host primitive, through the real OpenSSH client
 * and a real sshd on 127.0.0.1, against a fake Windows machine per default shell (test/fake-windows.ts):
 * cmd.exe refuses lines over 8,191 characters (Microsoft Learn, "Command prompt line string limitation")
 * and runs `cmd.exe /c "<line>"` (openssh-portable a915f06c w32-doexec.c:384-387, 462-464); a PowerShell
 * DefaultShell runs `[shell, "-c", line]` (w32-doexec.c:434-441), loads the profile and collapses a native
 * program's exit code to 0/1 (ConsoleHost.cs:1611-1628, PowerShell#13501).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isMcError, psEncodedArgs } from "@mc/core";
import { killScript } from "@mc/wt";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SshHost, sshHost } from "../src/index.js";
import { HAVE_SSHD } from "../src/testing.js";
import {
  type FakeWindowsMachine,
  fakeWindowsMachine,
  HAVE_WT_FAKES,
  SHELLS,
  type Shell,
} from "./fake-windows.js";

let m: FakeWindowsMachine;
const hosts: SshHost[] = [];

describe.skipIf(!HAVE_SSHD || !HAVE_WT_FAKES)("Windows hosts over ssh, per OpenSSH default shell", () => {
  beforeAll(async () => {
    m = await fakeWindowsMachine();
    // A program that exits 3 and takes no quoted arguments (PowerShell lines with quotes are not modelled).
    writeFileSync(join(m.root, "bin", "exit3"), "#!/bin/sh\nexit 3\n", { mode: 0o755 });
    writeFileSync(
      join(m.root, "argv.mjs"),
      "process.stdout.write(JSON.stringify([process.argv.slice(2), process.env.MC_V]))",
    );
  });
  afterAll(async () => {
    for (const h of hosts) await h.close();
    m?.stop();
  });
  const host = (shell: Shell, extra = {}) => {
    const h = sshHost("127.0.0.1", m.options(shell, extra));
    hosts.push(h);
    return h;
  };

  /** Send one raw line to a shell, as ssh does (the negative controls: what the fake shells refuse). */
  const raw = (shell: Shell, line: string) => {
    const o = m.options(shell);
    const r = spawnSync(
      "ssh",
      [
        "-T",
        "-p",
        String(o.port),
        "-i",
        o.identityFile!,
        "-F",
        "/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "root@127.0.0.1",
        line,
      ],
      { encoding: "utf8", input: "" },
    );
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  it("the fake shells model what decides mc's outcome (negative controls)", () => {
    // cmd.exe: 8,192 characters are refused; the kill script a 300-tab session needs would have been.
    expect(raw("cmd", `echo ${"x".repeat(8187)}`).err).toContain("The command line is too long.");
    expect(raw("cmd", `echo ${"x".repeat(8186)}`).code).toBe(0);
    const kill = killScript(
      Array.from({ length: 300 }, (_, i) => ({ pid: 10_000 + i, startedAt: 1 })),
      [],
    );
    const oldLine = ["powershell", ...psEncodedArgs(kill)].join(" ");
    expect(oldLine.length).toBeGreaterThan(8191);
    expect(raw("cmd", oldLine).err).toContain("The command line is too long.");
    // PowerShell: a native program's exit code is 0/1 unless the line exits with $LASTEXITCODE.
    for (const s of ["powershell", "pwsh"] as const) {
      expect(raw(s, "exit3").code).toBe(1);
      expect(raw(s, "exit3; exit $LASTEXITCODE").code).toBe(3);
    }
    expect(raw("cmd", "exit3").code).toBe(3);
    // What each shell says for a POSIX batch (how `platform: "auto"` recognises Windows).
    expect(raw("cmd", "exec /bin/sh -s").err).toMatch(
      /'exec' is not recognized as an internal or external command/,
    );
    expect(raw("powershell", "exec /bin/sh -s").err).toMatch(/not recognized as the name of a cmdlet/);
    expect(raw("pwsh", "exec /bin/sh -s").err).toMatch(/not recognized as a name of a cmdlet/);
    m.clearLogs();
  });

  for (const shell of SHELLS) {
    describe(`default shell ${shell}`, () => {
      it("is detected, also from platform auto, and info reads the machine", async () => {
        const auto = host(shell, { platform: "auto" });
        expect(await auto.info()).toEqual({
          platform: "win32",
          home: "/root",
          stateDir: m.stateDir(shell),
          shell,
        });
        const h = host(shell);
        expect((await h.info()).shell).toBe(shell);
      });

      it("runs a command with exact argv (empty, quotes, backslashes, unicode), input, env, cwd and exit code", async () => {
        const h = host(shell);
        const weird = [
          "a b",
          "",
          '"q"',
          "tail\\",
          'x\\"y',
          "ü 🚀",
          "semi;colon",
          "%PATH%",
          "$HOME",
          "l1\nl2",
        ];
        const dir = join(m.root, "work dir");
        mkdirSync(dir, { recursive: true });
        const r = await h.run({
          file: "/bin/sh",
          args: [
            "-c",
            'printf "%s\\n" "$@"; printf "%s\\n" "$MC_T" "$MC_N" "$(pwd)"; cat; exit 3',
            "sh",
            ...weird,
          ],
          env: { MC_T: "v a l", MC_N: "x\n$mcInfo.EnvironmentVariables['MC_T'] = 'no'" },
          cwd: dir,
          input: "in put\n",
        });
        expect(r.stdout).toBe(
          `${weird.join("\n")}\nv a l\nx\n$mcInfo.EnvironmentVariables['MC_T'] = 'no'\n${dir}\nin put\n`,
        );
        expect(r.exitCode).toBe(3);
        const e = await h.run({ file: "mc-no-such-binary-xyz", args: [] }).catch((x) => x);
        expect(isMcError(e, "BINARY_NOT_FOUND")).toBe(true);
      });

      it("any argv, environment value and file content survives exactly (fast-check, 12 runs)", async () => {
        const h = host(shell);
        const piece = fc.oneof(
          fc.constantFrom(
            "'",
            "\u2019",
            '"',
            "\\",
            "`",
            "$",
            "%",
            ";",
            "&",
            "|",
            "^",
            " ",
            "\n",
            "\r\n",
            "é",
            "😀",
            "$(x)",
            "-",
            "-p",
          ),
          fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }),
        );
        const text = fc.string({ unit: piece, maxLength: 12 }).filter((t) => !t.includes("\0"));
        await fc.assert(
          fc.asyncProperty(fc.array(text, { maxLength: 4 }), text, text, async (args, value, content) => {
            const r = await h.run({
              // A script file, not -e: node reads a "-p" after -e as its own option.
              file: process.execPath,
              args: [join(m.root, "argv.mjs"), ...args],
              env: { MC_V: value },
            });
            expect(JSON.parse(r.stdout)).toEqual([args, value]);
            const f = join(m.root, `prop-${shell}`, "f.txt");
            await h.writeFile(f, content);
            expect(await h.readFile(f)).toBe(content);
          }),
          { numRuns: 12 },
        );
      });

      it("reads, writes, lists, stats, removes and finds, with scripts far over 8,191 characters", async () => {
        const h = host(shell);
        const dir = join(m.root, `files-${shell}`);
        const big = `${"0123456789abcdef".repeat(4096)}\nü 🚀 '"\n`; // 64 KiB: its script is ~88 KiB
        await h.writeFile(join(dir, "sub", "a.json"), big);
        await h.writeFile(join(dir, "sub", "a.json"), big); // replaces an existing file
        await h.writeFile(join(dir, "sub", "b.txt"), "");
        expect(await h.readFile(join(dir, "sub", "a.json"))).toBe(big);
        expect(await h.readFile(join(dir, "sub", "missing"))).toBeUndefined();
        expect([...(await h.readDir(join(dir, "sub"))).keys()].sort()).toEqual(["a.json", "b.txt"]);
        expect((await h.readDir(join(dir, "nope"))).size).toBe(0);
        expect(await h.stat(join(dir, "sub"))).toBe("dir");
        expect(await h.stat(join(dir, "sub", "b.txt"))).toBe("file");
        await h.remove(join(dir, "sub"));
        expect(await h.stat(join(dir, "sub"))).toBeUndefined();
        expect(await h.which("sh")).toMatch(/\/sh$/);
        expect(await h.which("mc-no-such-binary-xyz")).toBeUndefined();
        const many = Array.from({ length: 2000 }, (_, i) => `argument-${i}`);
        const r = await h.run({ file: "/bin/sh", args: ["-c", 'echo "$#"', "sh", ...many] });
        expect(r.stdout.trim()).toBe("2000");
      });

      it("reads process trees, takes core's lock, checks and makes directories", async () => {
        const h = host(shell);
        const r = await h.run({
          file: "/bin/sh",
          args: ["-c", "( sleep 30 & wait ) >/dev/null 2>&1 & echo $!"],
        });
        const pid = Number(r.stdout.trim());
        try {
          const tree = (await h.processTrees([pid])).get(pid) ?? [];
          expect(tree[0]?.pid).toBe(pid);
          expect(Math.abs((tree[0]?.startedAt ?? 0) - Date.now())).toBeLessThan(60_000);
        } finally {
          process.kill(pid, "SIGKILL");
        }
        const release = await h.lock(`conf-${shell}`, 5_000);
        const second = await h.lock(`conf-${shell}`, 300).catch((e) => e);
        expect(isMcError(second, "TIMEOUT")).toBe(true);
        await release();
        await (await h.lock(`conf-${shell}`, 2_000))();
        const d = join(m.root, `made-${shell}`, "x");
        expect(await h.dirAccess(d)).toBe("missing");
        await h.makeDir(d);
        expect(await h.dirAccess(d)).toBe("ok");
      });

      it("never sends a command line longer than the stub (cmd.exe's 8,191 are never approached)", () => {
        const lines = m.log<{ shell: string; length: number }>("lines").filter((l) => l.shell === shell);
        expect(lines.length).toBeGreaterThan(10);
        const longest = Math.max(...lines.map((l) => l.length));
        console.log(`[mc remote] ${shell}: ${lines.length} ssh lines, the longest ${longest} characters`);
        expect(longest).toBeLessThan(shell === "cmd" ? 500 : 8191);
      });
    });
  }

  it("ignores what a PowerShell profile prints before mc's output", async () => {
    m.set("profile-output", "Welcome to PowerShell! mc-shell:nope MCW0000");
    try {
      const h = host("pwsh");
      await h.writeFile(join(m.root, "p", "f"), "exact\n");
      expect(await h.readFile(join(m.root, "p", "f"))).toBe("exact\n");
      expect((await h.run({ file: "/bin/echo", args: ["hi"] })).stdout).toBe("hi\n");
    } finally {
      m.unset("profile-output");
    }
  });
});
