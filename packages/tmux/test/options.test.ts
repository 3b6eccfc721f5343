import { isMcError } from "@mc/core";
import { describe, expect, it } from "vitest";
import { tmuxAnswerMs } from "../src/backend.js";

describe("MC_TMUX_TIMEOUT: how long one tmux call may wait for its server", () => {
  it("is 15 s unset or blank, else its seconds", () => {
    expect(tmuxAnswerMs({})).toBe(15_000);
    expect(tmuxAnswerMs({ MC_TMUX_TIMEOUT: " " })).toBe(15_000);
    expect(tmuxAnswerMs({ MC_TMUX_TIMEOUT: "2.5" })).toBe(2500);
    expect(tmuxAnswerMs({ MC_TMUX_TIMEOUT: "3600" })).toBe(3_600_000);
    expect(tmuxAnswerMs({ MC_TMUX_TIMEOUT: "0.1" })).toBe(100);
  });

  it("refuses what is not a number of seconds from 0.1 to 3600, never reading it as no timeout", () => {
    // 0.0001 s made every call to a healthy server "not answering" (review H54-3).
    for (const v of [
      "0",
      "0.0001",
      "0.09",
      "-1",
      "abc",
      "Infinity",
      "NaN",
      "3601",
      "1e9",
      "15s",
      "0x10 ",
      "١",
    ]) {
      let err: unknown;
      try {
        tmuxAnswerMs({ MC_TMUX_TIMEOUT: v });
      } catch (e) {
        err = e;
      }
      expect(isMcError(err, "USAGE"), v).toBe(true);
      expect((err as Error).message).toContain("MC_TMUX_TIMEOUT");
    }
  });
});
