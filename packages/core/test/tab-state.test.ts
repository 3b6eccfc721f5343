import { describe, expect, it } from "vitest";
import type { TabRecord } from "../src/tab-record.js";
import { decideTabState, isRecordedProcess, type PaneEvidence, type TabEvidence } from "../src/tab-state.js";

const NOW = 1_000_000_000;
const running: TabRecord = { v: 1, pid: 42, start: 999_990 };
const ended = (x: Partial<TabRecord>): TabRecord => ({ v: 1, pid: 42, start: 999_990, end: 999_995, ...x });
const base: TabEvidence = { scheduled: true, process: "dead", unreachable: false };
const alive: PaneEvidence = { ref: "%1", pid: 42, alive: true };
const dead = (x: Partial<PaneEvidence> = {}): PaneEvidence => ({ ref: "%1", pid: 42, alive: false, ...x });

/** Evidence → the state (and exit code or signal) it must read as, on every backend. */
const TABLE: [string, Partial<TabEvidence>, string][] = [
  ["ended record wins over a live pane", { record: ended({ exit: 3 }), pane: alive }, "exited 3"],
  [
    "ended record wins over an unreachable host",
    { record: ended({ exit: 0 }), unreachable: true },
    "exited 0",
  ],
  ["ended record wins over not scheduled", { record: ended({ exit: 0 }), scheduled: false }, "exited 0"],
  ["record signal reads killed", { record: ended({ signal: "HUP" }) }, "killed SIGHUP"],
  ["record 130 reads killed SIGINT", { record: ended({ exit: 130 }) }, "killed SIGINT"],
  ["record 128 is an exit code", { record: ended({ exit: 128 }) }, "exited 128"],
  ["not scheduled, nothing else", { scheduled: false }, "not-started"],
  ["not scheduled, unreachable", { scheduled: false, unreachable: true }, "not-started"],
  ["not scheduled, its scheduler ended", { scheduled: false, schedulerEnded: true }, "abandoned"],
  [
    "its scheduler ended but it was started (a record)",
    { scheduled: false, schedulerEnded: true, record: running, pane: alive },
    "running",
  ],
  ["running record, live pane", { record: running, pane: alive }, "running"],
  [
    "running record, pane ended with a status (wrapper killed outright)",
    { record: running, pane: dead({ exitStatus: 137 }) },
    "killed SIGKILL",
  ],
  [
    "running record, pane ended with status 0",
    { record: running, pane: dead({ exitStatus: 0 }) },
    "exited 0",
  ],
  [
    "running record, tool says the pane was killed",
    { record: running, pane: dead({ killedBy: "" }) },
    "killed",
  ],
  ["running record, pane dead without status, process dead", { record: running, pane: dead() }, "missing"],
  ["running record, pane gone, process alive (orphan)", { record: running, process: "alive" }, "running"],
  ["running record, pane gone, process dead", { record: running }, "missing"],
  ["running record, pane gone, process unknown", { record: running, process: "unknown" }, "missing"],
  [
    "running record, no pane evidence, process alive",
    { record: running, noPaneEvidence: true, process: "alive" },
    "running",
  ],
  ["running record, no pane evidence, process dead", { record: running, noPaneEvidence: true }, "missing"],
  [
    "running record, no pane evidence, process unknown",
    { record: running, noPaneEvidence: true, process: "unknown" },
    "unknown",
  ],
  ["running record, unreachable", { record: running, unreachable: true }, "unknown"],
  [
    "running record, unreachable but process alive",
    { record: running, unreachable: true, process: "alive" },
    "running",
  ],
  ["no record, live pane", { pane: alive }, "pending"],
  ["no record, pane ended with a status", { pane: dead({ exitStatus: 2 }) }, "exited 2"],
  ["no record, pane dead without status", { pane: dead() }, "missing"],
  [
    "running record, live pane with a stamped status (shell kept)",
    { record: running, pane: { ...alive, exitStatus: 4 } },
    "exited 4",
  ],
  ["no record, still starting", { startingUntil: NOW + 1 }, "pending"],
  ["no record, starting time over", { startingUntil: NOW - 1 }, "missing"],
  ["no record, nothing", {}, "missing"],
  ["no record, unreachable", { unreachable: true }, "unknown"],
];

const text = (o: ReturnType<typeof decideTabState>) =>
  o.state === "exited"
    ? `exited ${o.exitCode}`
    : o.state === "killed"
      ? `killed ${o.signal ?? ""}`.trim()
      : o.state;

describe("decideTabState: the one rule", () => {
  it("a tab never started because a dependency failed is skipped: no pid, no runtime, 125 kept for JSON", () => {
    const r: TabRecord = { v: 1, pid: 0, start: 999_995, end: 999_995, exit: 125, error: "dependency" };
    const o = decideTabState({ ...base, scheduled: false, record: r }, NOW);
    expect(o).toEqual({
      state: "skipped",
      exitCode: 125,
      endedAt: 999_995_000,
      error: "not started: a tab it depends on failed",
    });
  });

  it("a running tab's runtime is the machine's uptime since its start where both are known, whatever the wall clock says (review H79-3)", () => {
    const rec: TabRecord = { ...running, up: 100_000 };
    // Started 10 s ago by the wall clock, 60 s ago by the uptime (the clock was stepped back 50 s).
    expect(decideTabState({ ...base, record: rec, pane: alive, uptimeCs: 106_000 }, NOW).runtimeMs).toBe(
      60_000,
    );
    // The wall clock now before the start (stepped back further): the uptime still counts.
    expect(
      decideTabState({ ...base, record: rec, pane: alive, uptimeCs: 100_500 }, 999_000_000).runtimeMs,
    ).toBe(5000);
    // Without the uptime (another machine), or a record without `up`, or an uptime before it (another boot):
    // the wall clock, as before.
    expect(decideTabState({ ...base, record: rec, pane: alive }, NOW).runtimeMs).toBe(10_000);
    expect(decideTabState({ ...base, record: running, pane: alive, uptimeCs: 106_000 }, NOW).runtimeMs).toBe(
      10_000,
    );
    expect(decideTabState({ ...base, record: rec, pane: alive, uptimeCs: 50 }, NOW).runtimeMs).toBe(10_000);
  });

  it("localUptimeCs reads /proc/uptime as the wrapper does", async () => {
    const { localUptimeCs } = await import("../src/linux-proc.js");
    const { readFileSync } = await import("node:fs");
    if (process.platform !== "linux") return expect(localUptimeCs()).toBeUndefined();
    const before = Math.floor(Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 100);
    const got = localUptimeCs()!;
    expect(got).toBeGreaterThanOrEqual(before);
    expect(got - before).toBeLessThan(500);
  });

  it.each(TABLE)("%s", (_, e, want) => {
    expect(text(decideTabState({ ...base, ...e }, NOW))).toBe(want);
  });

  it("every combination of evidence obeys the invariants", () => {
    const records = [undefined, running, ended({ exit: 0 }), ended({ exit: 3 }), ended({ signal: "TERM" })];
    const panes = [
      undefined,
      alive,
      dead(),
      dead({ exitStatus: 0 }),
      dead({ exitStatus: 143 }),
      dead({ killedBy: "SIGKILL" }),
    ];
    let n = 0;
    for (const record of records)
      for (const pane of panes)
        for (const process of ["alive", "dead", "unknown"] as const)
          for (const unreachable of [false, true])
            for (const scheduled of [true, false])
              for (const noPaneEvidence of [false, true])
                for (const startingUntil of [undefined, NOW + 1, NOW - 1]) {
                  if (noPaneEvidence && pane) continue;
                  const e: TabEvidence = {
                    scheduled,
                    process,
                    unreachable,
                    ...(record ? { record } : {}),
                    ...(pane ? { pane } : {}),
                    ...(noPaneEvidence ? { noPaneEvidence } : {}),
                    ...(startingUntil === undefined ? {} : { startingUntil }),
                  };
                  const o = decideTabState(e, NOW);
                  n++;
                  // A finished record is final, whatever else is seen.
                  if (record?.end !== undefined) expect(["exited", "killed"]).toContain(o.state);
                  // Only an unstarted tab without a record reads not-started (abandoned, scheduler gone).
                  expect(o.state === "not-started" || o.state === "abandoned").toBe(!scheduled && !record);
                  // Never missing when nobody answered, and never unknown when everyone did and a pane spoke.
                  if (unreachable) expect(o.state).not.toBe("missing");
                  // A live pane, or a live recorded process whose pane did not end, is never called finished
                  // (the pane's program is the wrapper: a pane that ended with a status outranks a pid).
                  const paneEnded =
                    pane && (pane.exitStatus !== undefined || (!pane.alive && pane.killedBy !== undefined));
                  if (
                    record &&
                    record.end === undefined &&
                    !paneEnded &&
                    (pane?.alive || process === "alive")
                  )
                    expect(o.state).toBe("running");
                  // Times come only from the record.
                  if (!record) expect(o.startedAt).toBeUndefined();
                  else expect(o.startedAt).toBe(record.start * 1000);
                }
    expect(n).toBeGreaterThan(1000);
  });

  it("a reused pid is not the recorded process", () => {
    expect(isRecordedProcess(running, { startedAt: running.start * 1000 - 300 })).toBe(true);
    expect(isRecordedProcess(running, { startedAt: running.start * 1000 + 1500 })).toBe(true);
    expect(isRecordedProcess(running, { startedAt: running.start * 1000 + 60_000 })).toBe(false);
    // Where the record has the uptime it was written at and the table the start in ticks since boot, they
    // decide, whatever the wall clock says (review H77-2: a clock 60 s behind put a stranger's start
    // before the record's).
    const counted = { ...running, up: 123_456 };
    expect(
      isRecordedProcess(counted, { startedAt: running.start * 1000 - 50_000, startTicks: 123_470 }),
    ).toBe(false);
    expect(
      isRecordedProcess(counted, { startedAt: running.start * 1000 + 90_000, startTicks: 123_450 }),
    ).toBe(true);
    expect(isRecordedProcess(counted, { startTicks: 123_457 })).toBe(true);
    // Without them on one side (a record from before, a host read with ps): the wall-clock bound.
    expect(isRecordedProcess(running, { startedAt: running.start * 1000 + 1500, startTicks: 1 })).toBe(true);
  });
});
