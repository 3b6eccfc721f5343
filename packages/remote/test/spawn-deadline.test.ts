import { describe, expect, it } from "vitest";
import { spawnSsh } from "../src/spawn.js";

/** This process does nothing for `ms` (as one stopped with Ctrl-Z and resumed): its timers run late. */
const frozen = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

describe("an ssh call in a process stopped past its deadline (review H73-1)", () => {
  it("that answered meanwhile is its answer, up token and all", async () => {
    const call = spawnSsh("sh", ["-c", "echo UP; echo answered"], {
      timeoutMs: 300,
      up: { token: "UP", ms: 200 },
    }).result;
    frozen(1500);
    const r = await call;
    expect(r.timedOut).toBe(false);
    expect(r.notUp).toBeUndefined();
    expect(r.exitCode).toBe(0);
    expect(r.stdout.toString()).toBe("UP\nanswered\n");
  });

  it("that never answers is still given up on", async () => {
    const call = spawnSsh("sleep", ["30"], { timeoutMs: 300 }).result;
    frozen(1500);
    expect((await call).timedOut).toBe(true);
  });
});
