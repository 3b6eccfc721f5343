import { describe, expect, it } from "vitest";
import {
  isActiveNotDeleted,
  isDeadSessionExists,
  isNoSessions,
  isNoSuchSession,
  zellijError,
  zellijErrorCode,
} from "../src/index.js";
import { message, RECORDED_VERSIONS, SOURCE_VERSIONS, VERSIONS } from "./fixtures.js";

describe.each([...VERSIONS, "0.39.2"])("zellij %s messages", (version) => {
  const m = (key: string, name = "LocalJobMgr_a") => message(version, key, name).text;

  it("maps 'already exists' (live and EXITED) to SESSION_CONFLICT", () => {
    expect(zellijErrorCode(m("exists"))).toBe("SESSION_CONFLICT");
    expect(zellijErrorCode(m("existsDead"))).toBe("SESSION_CONFLICT");
    expect(isDeadSessionExists(m("existsDead"))).toBe(true);
    expect(isDeadSessionExists(m("exists"))).toBe(false);
    const e = zellijError("start", 1, "", m("existsDead"));
    expect(e.code).toBe("SESSION_CONFLICT");
    expect(e.hint).toMatch(/EXITED/);
    expect(e.message).toMatch(/^\[mc\] \[zellij\] start: zellij exited 1: Session with name/);
  });

  it("maps every 'no such session' form to SESSION_NOT_FOUND", () => {
    for (const key of ["killMissing", "deleteMissing", "actionNotFound", "noActiveSession"]) {
      expect(isNoSuchSession(m(key))).toBe(true);
      expect(zellijErrorCode(m(key))).toBe("SESSION_NOT_FOUND");
    }
    expect(isNoSessions(m("noSessions"))).toBe(true);
  });

  it("recognises delete-session refusing a live session", () => {
    expect(isActiveNotDeleted(m("deleteActive"))).toBe(true);
    expect(isActiveNotDeleted(m("deleteActiveForce"))).toBe(false);
  });

  it("maps name validation to LAYOUT_INVALID and unknown CLI to VERSION_UNSUPPORTED", () => {
    expect(zellijErrorCode(m("nameEmpty", ""))).toBe("LAYOUT_INVALID");
    expect(zellijErrorCode(m("nameDots", ".."))).toBe("LAYOUT_INVALID");
    expect(zellijErrorCode(m("nameSlash", "a/b"))).toBe("LAYOUT_INVALID");
    expect(zellijErrorCode(m("unknownSubcommand", "list-panes"))).toBe("VERSION_UNSUPPORTED");
  });

  it.skipIf(!RECORDED_VERSIONS.includes(version))(
    "classifies the start failures the real binary printed",
    () => {
      // attach --create-background on a live name, and on a name whose saved layout zellij cannot read.
      for (const key of ["attachExists", "badResurrection"]) {
        const r = message(version, key, "n");
        const e = zellijError(
          "start",
          r.exit,
          r.stream === "stderr" ? r.text : "",
          r.stream === "stdout" ? r.text : "",
        );
        expect(e.code).toBe("SESSION_CONFLICT");
      }
      expect(zellijError("start", 2, m("badResurrection")).hint).toMatch(/delete-session/);
      // Socket directory problems: a clear message (the path on it) and what to do.
      const long = zellijError("start", 1, m("socketTooLong"));
      expect(long.code).toBe("COMMAND_FAILED");
      expect(long.reason).toMatch(
        /^zellij exited 1: the IPC socket path is too long \(\d+ bytes, max 107\): \S+/,
      );
      expect(long.hint).toMatch(/ZELLIJ_SOCKET_DIR/);
      const dir = zellijError("start", 1, m("socketDir"));
      expect(dir.reason).toMatch(/failed to create the Zellij socket directory: \/proc\//);
      expect(dir.hint).toMatch(/ZELLIJ_SOCKET_DIR/);
    },
  );

  it("leaves anything else as COMMAND_FAILED with both streams kept", () => {
    const e = zellijError("kill", 101, "thread 'main' panicked", "");
    expect(e.code).toBe("COMMAND_FAILED");
    expect(e.details).toMatchObject({ exitCode: 101, stderr: "thread 'main' panicked" });
  });
});

describe("the source-rendered messages agree with the real binary's", () => {
  const newest = SOURCE_VERSIONS.at(-1)!;
  it.each(
    RECORDED_VERSIONS.flatMap((v) =>
      [
        "noSessions",
        "killMissing",
        "deleteMissing",
        "deleteOk",
        "deleteActive",
        "exists",
        "existsDead",
        "noActiveSession",
        "nameEmpty",
        "nameDots",
        "nameSlash",
        "attachExists",
      ].map((key) => [v, key]),
    ),
  )(`zellij %s recorded vs ${newest} rendered: %s`, (version, key) => {
    const real = message(version, key, "LocalJobMgr_a");
    const rendered = message(newest, key, "LocalJobMgr_a");
    expect(rendered).toEqual(real);
  });
  it("a configuration zellij cannot read: its file and line, and a hint (review H13-7)", () => {
    const stderr = [
      "  × Failed to parse Zellij configuration",
      "   ╭─[/home/u/.config/zellij/config.kdl:2:1]",
      ' 1 │ garbage { " ',
      "   ╰────",
      "  help: For more information, please see our configuration guide",
    ].join("\n");
    const e = zellijError("start", 1, stderr);
    expect(e.reason).toBe(
      "zellij exited 1: × Failed to parse Zellij configuration (at /home/u/.config/zellij/config.kdl:2:1)",
    );
    expect(e.hint).toContain("zellij setup --check");
  });
});
