import { describe, expect, it, vi } from "vitest";
import { localHost } from "../src/local-host.js";
import { commandDeadline, pollUntil } from "../src/poll.js";

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

describe("waits measured on the monotonic clock (review H77-1)", () => {
  it("a wall clock stepped back or forward neither stretches nor ends a wait", async () => {
    const real = Date.now.bind(Date);
    for (const stepMs of [-600_000, 600_000]) {
      let calls = 0;
      // The step comes after the wait began: NTP, a VM resumed, `date -s`.
      const spy = vi.spyOn(Date, "now").mockImplementation(() => real() + (calls++ > 0 ? stepMs : 0));
      const began = performance.now();
      let probes = 0;
      try {
        await expect(
          pollUntil(
            async () => {
              probes++;
              return undefined;
            },
            {
              timeoutMs: 400,
              maxDelayMs: 50,
              onTimeout: () => new Error("timed out"),
            },
          ),
        ).rejects.toThrow("timed out");
      } finally {
        spy.mockRestore();
      }
      const took = performance.now() - began;
      // Back: it used to wait as long as the step; forward: it gave up at once, after one probe.
      expect(took).toBeGreaterThanOrEqual(390);
      expect(took).toBeLessThan(5000);
      expect(probes).toBeGreaterThan(2);
    }
  });
});
