import { describe, expect, it } from "vitest";
import {
  isActiveNotDeleted,
  isDeadSessionExists,
  isNoSessions,
  isNoSuchSession,
  zellijError,
  zellijErrorCode,
} from "../src/index.js";
import { message, VERSIONS } from "./fixtures.js";

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

  it("leaves anything else as COMMAND_FAILED with both streams kept", () => {
    const e = zellijError("kill", 101, "thread 'main' panicked", "");
    expect(e.code).toBe("COMMAND_FAILED");
    expect(e.details).toMatchObject({ exitCode: 101, stderr: "thread 'main' panicked" });
  });
});
