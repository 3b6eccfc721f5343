import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { LayoutConfig } from "@mc/core";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { findRealZellij, processesMentioning, type RealZellij, realZellij, waitFor } from "./real-zellij.js";

// A loaded machine (CI runs three test files at once) can take most of a minute to start a zellij session.
vi.setConfig({ testTimeout: 180_000 });

const found = findRealZellij();
const real = "version" in found ? found : undefined;
if (!real) console.warn(`[mc] zellij onStop suite SKIPPED: ${(found as { reason: string }).reason}`);

const read = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "");
const stops = (f: string, who: string) =>
  read(f)
    .split("\n")
    .filter((l) => l === `stop ${who}`).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every `logs/onStop.log` under the state directory (one per run directory whose onStop ran). */
function stopLogs(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith(join("logs", "onStop.log"))) out.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

describe.skipIf(!real)(`real zellij (${real?.version ?? "absent"}): onStop however the session ends`, () => {
  let w: RealZellij | undefined;
  let marks = "";
  beforeAll(() => {
    w = realZellij(real!.path, real!.version);
    marks = join(w.root, "marks");
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail" && w) console.error(`[mc] zellij log (${w.root}):\n${w.log()}`);
  });
  afterAll(() => w?.stop());

  const hooked = (name: string, command = "sleep 60"): LayoutConfig => ({
    layoutName: name,
    env: { WHO: `${name} it's $(me)` },
    onStop: `echo "stop $WHO" >> '${marks}'; echo "onStop of ${name} ran"`,
    layoutTabs: [{ tabName: "t", startDir: w!.work, command }],
  });
  const who = (name: string) => `${name} it's $(me)`;
  /** Watchers still waiting (their script is in the run directory, under the state directory). */
  const watchers = () =>
    processesMentioning("onStop-watch.sh").filter((pid) => {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        return argv.some((a) => a.startsWith(w!.stateDir) && a.endsWith("onStop-watch.sh"));
      } catch {
        return false;
      }
    });

  /**
   * Watchers that found their server and wait on it: those whose child is the `tail --pid` (during the
   * scan of /proc, its subshells carry the watcher's command line too, and it uses CPU).
   */
  const waiting = () => {
    const mine = new Set(watchers());
    const parents = readdirSync("/proc").flatMap((p) => {
      try {
        if (!readFileSync(`/proc/${p}/cmdline`, "utf8").startsWith("tail\0--pid=")) return [];
        return [Number(readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1]!.split(" ")[1])];
      } catch {
        return [];
      }
    });
    return parents.filter((pid) => mine.has(pid));
  };

  it("mc's kill runs the onStop once, before kill returns, into logs/onStop.log; the watcher is gone", async () => {
    const m = w!.manager({ sessionLayouts: [hooked("s1")] });
    await m.startAllSessions();
    // Once it found the server (its scan of /proc forks a few subshells) one watcher waits.
    expect(
      await waitFor(
        async () => watchers().length,
        (n) => n === 1,
        40_000,
      ),
    ).toBe(1);
    expect(stops(marks, who("s1"))).toBe(0);
    await m.killAllSessions();
    expect(stops(marks, who("s1"))).toBe(1);
    await waitFor(
      async () => watchers().length,
      (n) => n === 0,
      40_000,
    );
    await sleep(2500);
    expect(stops(marks, who("s1"))).toBe(1);
    expect(watchers()).toHaveLength(0);
    expect(stopLogs(w!.stateDir).map((f) => read(f))).toContain("onStop of s1 ran\n");
  });

  it("the user's `zellij kill-session` and `delete-session --force` run it once; the watcher costs no CPU", async () => {
    const m = w!.manager({ sessionLayouts: [hooked("s2"), hooked("s3")] });
    await m.startAllSessions();
    expect(
      await waitFor(
        async () => waiting().length,
        (n) => n === 2,
        40_000,
      ),
    ).toBe(2);
    const [pid] = waiting();
    const ticks = () => {
      const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      return Number(f[11]) + Number(f[12]);
    };
    const t0 = ticks();
    await sleep(3000);
    // utime+stime of the waiting watcher's shell over 3 s (clock ticks, usually 100 per second).
    expect(ticks() - t0).toBeLessThanOrEqual(1);
    expect(stops(marks, who("s2")) + stops(marks, who("s3"))).toBe(0);
    expect(w!.zellij("kill-session", "s2").code).toBe(0);
    expect(w!.zellij("delete-session", "--force", "s3").code).toBe(0);
    await waitFor(
      async () => stops(marks, who("s2")) + stops(marks, who("s3")),
      (n) => n >= 2,
    );
    await sleep(2500);
    expect([stops(marks, who("s2")), stops(marks, who("s3"))]).toEqual([1, 1]);
    expect(watchers()).toHaveLength(0);
    // mc's kill of what is already gone runs nothing again.
    await m.killAllSessions();
    expect([stops(marks, who("s2")), stops(marks, who("s3"))]).toEqual([1, 1]);
  });

  it("the last tab exiting (keepShell off): mc's status closes the tab zellij 0.45 keeps, which ends the session and runs it", async () => {
    const m = w!.manager({ sessionLayouts: [hooked("s4", "sleep 1; exit 0")], keepShell: false });
    await m.startAllSessions();
    // Measured: the command pane closed, but zellij keeps a detached session's tab that holds only its
    // bar; mc's status closes it (close-tab-by-id), the server ends and the watcher runs onStop.
    await waitFor(
      async () => {
        await m.checkAllSessionsStatus();
        return w!.sessions().some((s) => s.startsWith("s4"));
      },
      (x) => !x,
    );
    await waitFor(
      async () => stops(marks, who("s4")),
      (n) => n >= 1,
    );
    await waitFor(
      async () => watchers().length,
      (n) => n === 0,
      40_000,
    );
    await sleep(1500);
    expect(stops(marks, who("s4"))).toBe(1);
    await m.killAllSessions();
    expect(stops(marks, who("s4"))).toBe(1);
  });

  it("never while the session lives on, nor for a session mc did not start", async () => {
    const m = w!.manager({ sessionLayouts: [hooked("s5")] });
    await m.startAllSessions();
    // The user's own sessions come and go, one of them under a name like mc's: nothing of mc's runs.
    w!.zellij("attach", "--create-background", "s5x");
    w!.zellij("attach", "--create-background", "mine");
    await sleep(1500);
    w!.zellij("kill-session", "s5x");
    w!.zellij("kill-session", "mine");
    await sleep(2500);
    await waitFor(
      async () => watchers().length,
      (n) => n === 1,
      40_000,
    );
    expect(stops(marks, who("s5"))).toBe(0);
    expect(read(marks)).not.toMatch(/s5x|mine/);
    expect(watchers()).toHaveLength(1);
    await m.killAllSessions();
    expect(stops(marks, who("s5"))).toBe(1);
  });
});
