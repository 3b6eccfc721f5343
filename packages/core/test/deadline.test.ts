import { describe, expect, it } from "vitest";
import { localHost } from "../src/local-host.js";
import { commandDeadline } from "../src/poll.js";

/** This process does nothing for `ms` (as one stopped with Ctrl-Z and resumed): its timers run late. */
const frozen = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

describe("a command's deadline in a process that was stopped past it (review H73-1)", () => {
  it("a command that answered while this process was stopped is its answer, not 'did not answer'", async () => {
    const host = localHost({});
    const call = host.run({ file: "sh", args: ["-c", "echo answered"], timeoutMs: 300 });
    // The command answers at once; this process wakes 1.5 s later, its 300 ms deadline long past.
    frozen(1500);
    const r = await call;
    expect(r.timedOut, r.stderr).toBe(false);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("answered\n");
  });

  it("one that still has not answered after the grace is ended as before", async () => {
    const host = localHost({});
    const at = performance.now();
    const call = host.run({ file: "sleep", args: ["30"], timeoutMs: 300 });
    frozen(1500);
    const r = await call;
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBe(124);
    expect(r.stderr).toContain("sleep did not answer within 0.3 s");
    // 1.5 s stopped, then at most min(limit, 5 s) more: not the command's 30 s.
    expect(performance.now() - at).toBeLessThan(10_000);
  });

  it("on time, it expires on time; cleared, never", async () => {
    const fired: string[] = [];
    const t0 = performance.now();
    commandDeadline(
      100,
      () => fired.push(`late ${Math.round(performance.now() - t0)}`),
      () => false,
    );
    commandDeadline(
      100,
      () => fired.push("answered"),
      () => true,
    );
    commandDeadline(
      100,
      () => fired.push("cleared"),
      () => false,
    ).clear();
    for (let i = 0; i < 100 && fired.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 300));
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatch(/^late \d+$/);
    // On time: no grace (which would add the limit again); bounds for a loaded machine.
    expect(Number(fired[0]!.slice(5))).toBeLessThan(3000);
  });
});
