import { isMcError } from "@mc/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkSessionName,
  DEFAULT_MAX_SESSION_NAME_BYTES,
  maxSessionNameBytes,
  sessionNameProblem,
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

  it("computes the limit from the socket directory as consts.rs builds it", () => {
    const linux = zellijSocketDir({
      env: { XDG_RUNTIME_DIR: "/run/user/1000" },
      platform: "linux",
      uid: 1000,
      tmpdir: "/tmp",
    });
    expect(linux).toBe("/run/user/1000/zellij/contract_version_1");
    expect(maxSessionNameBytes(linux, "linux")).toBe(108 - 1 - linux.length - 1);
    const mac = zellijSocketDir({
      env: { XDG_RUNTIME_DIR: "/x" },
      platform: "darwin",
      uid: 501,
      tmpdir: "/var/folders/T",
    });
    expect(mac).toBe("/var/folders/T/zellij-501/contract_version_1");
    expect(maxSessionNameBytes(mac, "darwin")).toBe(104 - 1 - mac.length - 1);
    expect(
      zellijSocketDir({ env: { ZELLIJ_SOCKET_DIR: "/s" }, platform: "linux", uid: 0, tmpdir: "/tmp" }),
    ).toBe("/s/contract_version_1");
    expect(DEFAULT_MAX_SESSION_NAME_BYTES).toBe(60);
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
