import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMcError } from "@mc/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkSessionName,
  DEFAULT_MAX_SESSION_NAME_BYTES,
  hostFactsCommand,
  maxSessionNameBytes,
  parseHostFacts,
  sessionNameProblem,
  type ZellijHostFacts,
  zellijSocketDir,
} from "../src/index.js";

describe("session names zellij can hold", () => {
  it.each([
    ["", /empty/],
    ["  ", /empty/],
    [".", /not a valid/],
    ["..", /not a valid/],
    ["a/b", /'\/'/],
    ["a\nb", /control/],
    ["a\u0085b", /control/],
    ["-x", /start with '-'/],
    ["options", /subcommand/],
    ["help", /subcommand/],
    ["https://host/s", /'\/'/],
    ["a\ud800", /surrogate/],
  ])("rejects %j", (name, why) => {
    expect(sessionNameProblem(name, 60)).toMatch(why);
    let err: unknown;
    try {
      checkSessionName(name, 60);
    } catch (e) {
      err = e;
    }
    expect(isMcError(err, "LAYOUT_INVALID")).toBe(true);
  });

  it("accepts spaces, quotes, brackets, dots and non-ASCII", () => {
    for (const n of ["LocalJobMgr_a b", "q\"'$x", "[x]{y}", "a.b:c", "build 🚀", "x-options"])
      expect(sessionNameProblem(n, 60)).toBeUndefined();
  });

  it("limits names by bytes, not characters", () => {
    expect(sessionNameProblem("é".repeat(30), 60)).toBeUndefined();
    expect(sessionNameProblem("é".repeat(31), 60)).toMatch(/at most 60 bytes/);
  });

  it("computes the limit from the socket directory as consts.rs builds it, on the host's platform", () => {
    const facts = (o: Partial<ZellijHostFacts>): ZellijHostFacts => ({
      platform: "linux",
      uid: "1000",
      home: "/home/u",
      tmpdir: "",
      socketDirEnv: "",
      runtimeDir: "",
      cacheHome: "",
      script: "",
      configDir: "",
      ...o,
    });
    const linux = zellijSocketDir(facts({ runtimeDir: "/run/user/1000" }));
    expect(linux).toBe("/run/user/1000/zellij/contract_version_1");
    expect(maxSessionNameBytes(linux, "linux")).toBe(108 - 1 - linux.length - 1);
    // macOS has no runtime dir in the directories crate: $TMPDIR/zellij-<uid>, and sun_path is 104.
    const mac = zellijSocketDir(
      facts({ platform: "darwin", uid: "501", runtimeDir: "/x", tmpdir: "/var/folders/T/" }),
    );
    expect(mac).toBe("/var/folders/T/zellij-501/contract_version_1");
    expect(maxSessionNameBytes(mac, "darwin")).toBe(104 - 1 - mac.length - 1);
    expect(zellijSocketDir(facts({ socketDirEnv: "/s" }))).toBe("/s/contract_version_1");
    // No runtime dir and no TMPDIR: /tmp/zellij-<uid>; before 0.44 the folder is the version.
    expect(zellijSocketDir(facts({ uid: "0" }), [0, 43, 1])).toBe("/tmp/zellij-0/0.43.1");
    // A relative XDG_RUNTIME_DIR is ignored, as the directories crate does.
    expect(zellijSocketDir(facts({ runtimeDir: "run" }))).toBe("/tmp/zellij-1000/contract_version_1");
    expect(DEFAULT_MAX_SESSION_NAME_BYTES).toBe(60);
  });

  it("reads the host's facts from one NUL-separated sh call", () => {
    const f = parseHostFacts(
      ["Darwin", "501", "/Users/u", "/var/folders/x/T/", "", "", "", "", ""].join("\0"),
    );
    expect(f).toMatchObject({ platform: "darwin", uid: "501", tmpdir: "/var/folders/x/T/" });
    expect(parseHostFacts("garbage")).toBeUndefined();
    expect(hostFactsCommand().file).toBe("/bin/sh");
  });

  it("names a configuration directory only where zellij would find none and ZELLIJ_CONFIG_FILE names the file", () => {
    const root = mkdtempSync(join(tmpdir(), "mc-zfacts-"));
    try {
      const home = join(root, "h");
      mkdirSync(join(root, "dots"), { recursive: true });
      mkdirSync(home);
      const facts = (env: Record<string, string>) => {
        const c = hostFactsCommand();
        const r = spawnSync(c.file, c.args, {
          env: { PATH: process.env.PATH, HOME: home, ...env },
          cwd: root,
          encoding: "utf8",
        });
        return parseHostFacts(r.stdout)!.configDir;
      };
      const file = join(root, "dots", "zellij.kdl");
      // /etc/zellij would be found: only where it is absent can the case be seen here.
      const etc = existsSync("/etc/zellij");
      expect(facts({ ZELLIJ_CONFIG_FILE: file })).toBe(etc ? "" : join(root, "dots"));
      expect(facts({ ZELLIJ_CONFIG_FILE: "dots/zellij.kdl" })).toBe(etc ? "" : join(root, "dots"));
      expect(facts({})).toBe("");
      expect(facts({ ZELLIJ_CONFIG_FILE: file, ZELLIJ_CONFIG_DIR: join(root, "dots") })).toBe("");
      mkdirSync(join(root, "xdg", "zellij"), { recursive: true });
      expect(facts({ ZELLIJ_CONFIG_FILE: file, XDG_CONFIG_HOME: join(root, "xdg") })).toBe("");
      mkdirSync(join(home, ".config", "zellij"), { recursive: true });
      expect(facts({ ZELLIJ_CONFIG_FILE: file })).toBe("");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("rejects web_server_bus, the web server's socket name", () => {
    expect(sessionNameProblem("web_server_bus", 60)).toMatch(/web server/);
  });

  it("property: an accepted name fits the socket path and has no character that breaks the CLI", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 80 }), (name) => {
        if (sessionNameProblem(name, 60) !== undefined) return;
        expect(Buffer.byteLength(name)).toBeLessThanOrEqual(60);
        expect(name).not.toMatch(/[/\n\r\u0000]/);
        expect(name.startsWith("-")).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
