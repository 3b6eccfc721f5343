import { describe, expect, it } from "vitest";
import { followEvents } from "../src/event-follow.js";
import { type McEvent, sessionEvents } from "../src/events.js";
import type { SessionManager } from "../src/manager.js";
import type { ManagedSession } from "../src/run-record.js";
import { makeReport, type SessionStatus, summarizeSession, type TabStatus } from "../src/status.js";
import { EVENTS_FILE } from "../src/tab-wrapper.js";

const T0 = 1_700_000_000;
const session = {
  machine: "m",
  name: "s",
  requestedName: "s",
  layout: {
    layoutName: "s",
    layoutTabs: [
      { tabName: "a", startDir: "/", command: "exit 4" },
      { tabName: "b", startDir: "/", command: "true", dependsOn: ["a"] },
    ],
  },
  runDir: "/state/runs/r/s0",
  artefacts: [],
  startedAt: T0 * 1000,
} as unknown as ManagedSession;

const line = (o: object) => `${JSON.stringify({ session: "s", ...o })}\n`;
const started = line({ type: "tab-started", t: T0 + 1, tab: "a", index: 0, attempt: 1 });
const exitedA = line({ type: "tab-exited", t: T0 + 2, tab: "a", index: 0, exitCode: 4 });
const skippedB = `${JSON.stringify({ v: 1, pid: 0, start: T0 + 3, end: T0 + 3, exit: 125, error: "dependency" })}\n`;

function status(tabs: TabStatus[]): SessionStatus {
  return {
    session: "s",
    machine: "m",
    backend: "fake",
    host: "fake",
    exists: true,
    tabs,
    summary: summarizeSession(tabs, true),
  };
}
const finished = status([
  {
    index: 0,
    tabName: "a",
    command: "exit 4",
    state: "exited",
    exitCode: 4,
    endedAt: (T0 + 2) * 1000,
    processes: [],
  },
  {
    index: 1,
    tabName: "b",
    command: "true",
    state: "skipped",
    exitCode: 125,
    endedAt: (T0 + 3) * 1000,
    processes: [],
  },
]);

/** A manager whose run directory holds `files()` and whose tool says every tab finished. */
function manager(files: () => Map<string, string>): SessionManager {
  const host = { id: "fake", readDir: async () => files() };
  return {
    managed: [session],
    hostOf: () => host,
    checkAllSessionsStatus: async () => makeReport([finished]),
  } as unknown as SessionManager;
}

async function collect(m: SessionManager): Promise<McEvent[]> {
  const out: McEvent[] = [];
  for await (const e of followEvents(m, { statusEveryMs: 0, pollMs: 10 })) out.push(e);
  return out;
}

describe("the event stream's end", () => {
  it("says a skipped tab ended, from the record the scheduler wrote (no wrapper ever ran)", () => {
    const files = new Map([["tab-1.json", skippedB]]);
    const e = sessionEvents({ session, files }).filter((x) => x.type === "tab-exited");
    expect(e).toEqual([
      expect.objectContaining({
        tab: "b",
        index: 1,
        exitCode: 125,
        reason: expect.stringMatching(/depends on/),
      }),
    ]);
  });

  it("an exit status that says a signal ended the command is a kill, as status says (review H50-6)", () => {
    const line = (exitCode: number, index: number) =>
      `${JSON.stringify({ type: "tab-exited", t: 2000, session: session.name, tab: "x", index, exitCode })}\n`;
    const files = new Map([["events.ndjson", line(137, 0) + line(3, 1)]]);
    const ends = sessionEvents({ session, files }).filter((x) => x.type !== "session-started");
    expect(ends.map((e) => [e.type, e.exitCode, e.signal])).toEqual([
      ["tab-killed", 137, "SIGKILL"],
      ["tab-exited", 3, undefined],
    ]);
  });

  it("a machine's clock ahead of this one's is taken off its tabs' event times, as status does (review H16-1)", () => {
    const line = `${JSON.stringify({ type: "tab-started", t: 2000, session: session.name, tab: "a", index: 0, attempt: 1 })}\n`;
    const files = new Map([["events.ndjson", line]]);
    const at = (skewMs: number) =>
      sessionEvents({ session, files, skewMs }).find((x) => x.type === "tab-started")?.time;
    expect(at(0)).toBe(new Date(2_000_000).toISOString());
    // Two hours ahead there: 2000 s by its clock is 2000 s − 2 h here.
    expect(at(7_200_000)).toBe(new Date(2_000_000 - 7_200_000).toISOString());
  });

  it("waits for the wrapper's tab-exited line that lands just after its record, and never says it twice", async () => {
    let reads = 0;
    const events = await collect(
      manager(() => {
        reads++;
        // The record already says the tab ended; the wrapper's line comes a moment later.
        return new Map([
          [EVENTS_FILE, started + (reads > 2 ? exitedA : "")],
          ["tab-1.json", skippedB],
        ]);
      }),
    );
    const exited = events.filter((e) => e.type === "tab-exited");
    expect(exited.map((e) => [e.tab, e.exitCode]).sort()).toEqual([
      ["a", 4],
      ["b", 125],
    ]);
    expect(events.at(-1)).toMatchObject({ type: "run-done", failed: 2 });
    expect(events.findIndex((e) => e.type === "tab-exited" && e.tab === "a")).toBeLessThan(events.length - 1);
  });

  it("says from the tool's answer a tab whose line never comes, before run-done", async () => {
    const events = await collect(manager(() => new Map([[EVENTS_FILE, started]])));
    const exited = events.filter((e) => e.type === "tab-exited");
    expect(exited.map((e) => [e.tab, e.exitCode]).sort()).toEqual([
      ["a", 4],
      ["b", 125],
    ]);
    expect(events.at(-1)).toMatchObject({ type: "run-done" });
  });

  it("a machine that does not answer for a while is neither gone nor done: the stream waits for it (review H8-7)", async () => {
    let asked = 0;
    const why = "ssh:m is unreachable: Connection refused";
    const silent: SessionStatus = {
      ...status(finished.tabs.map((t) => ({ ...t, state: "unknown" as const }))),
      exists: false,
      error: why,
    };
    const m = {
      managed: [session],
      hostOf: () => ({ id: "fake", readDir: async () => new Map() }),
      checkAllSessionsStatus: async () =>
        ++asked <= 3
          ? makeReport([silent], [{ machine: "m", host: "fake", reachable: false, error: why }])
          : makeReport([finished], [{ machine: "m", host: "fake", reachable: true }]),
    } as unknown as SessionManager;
    const events = await collect(m);
    expect(asked).toBeGreaterThan(3);
    expect(events.some((e) => e.type === "session-gone")).toBe(false);
    expect(events.at(-1)).toMatchObject({ type: "run-done", failed: 2 });
  });

  it("a tab's end the tool's answer said before its wrapper's line was read is said once (review HR82-1)", async () => {
    let asked = 0;
    const killedA: TabStatus = {
      index: 0,
      tabName: "a",
      command: "exit 4",
      state: "killed",
      signal: "SIGHUP",
      error: "not ready within 3 s",
      endedAt: (T0 + 2) * 1000,
      processes: [],
    };
    const running: TabStatus = { index: 1, tabName: "b", command: "true", state: "running", processes: [] };
    const done: TabStatus = { ...running, state: "exited", exitCode: 0, endedAt: (T0 + 4) * 1000 };
    const hup = line({ type: "tab-exited", t: T0 + 2, tab: "a", index: 0, exitCode: 129, signal: "SIGHUP" });
    const m = {
      managed: [session],
      // The wrapper's line is read only after the tool said the tab was killed.
      hostOf: () => ({
        id: "fake",
        readDir: async () => new Map([[EVENTS_FILE, started + (asked > 1 ? hup : "")]]),
      }),
      checkAllSessionsStatus: async () => makeReport([status([killedA, ++asked > 4 ? done : running])]),
    } as unknown as SessionManager;
    const events = await collect(m);
    const ends = events.filter((e) => e.tab === "a" && (e.type === "tab-killed" || e.type === "tab-exited"));
    expect(ends).toEqual([expect.objectContaining({ type: "tab-killed", reason: "not ready within 3 s" })]);
    expect(events.at(-1)).toMatchObject({ type: "run-done" });
  });

  it("a tab that will never start (abandoned, or waiting in a session that ended) gets its tab-exited before run-done (review HR82-4)", async () => {
    const tabs: TabStatus[] = [
      { ...finished.tabs[0]! },
      {
        index: 1,
        tabName: "b",
        command: "true",
        state: "abandoned",
        error: "never started: the sessions run that was to start it ended first",
        processes: [],
      },
    ];
    const ended = (s: SessionStatus): SessionManager =>
      ({
        managed: [session],
        hostOf: () => ({ id: "fake", readDir: async () => new Map([[EVENTS_FILE, started + exitedA]]) }),
        checkAllSessionsStatus: async () => makeReport([s]),
      }) as unknown as SessionManager;
    const began = performance.now();
    const events = await collect(ended(status(tabs)));
    expect(events.filter((e) => e.type === "tab-exited").map((e) => [e.tab, e.reason])).toEqual([
      ["a", undefined],
      ["b", "never started: the sessions run that was to start it ended first"],
    ]);
    expect(events.at(-1)).toMatchObject({ type: "run-done", failed: 2 });
    // No wrapper will write b's line: it is not waited for.
    expect(performance.now() - began).toBeLessThan(400);
    const gone = {
      ...status([tabs[0]!, { index: 1, tabName: "b", command: "true", state: "not-started", processes: [] }]),
      exists: false,
    };
    const after = await collect(ended(gone));
    expect(after.filter((e) => e.type === "tab-exited").map((e) => [e.tab, e.reason])).toEqual([
      ["a", undefined],
      ["b", "never started: its session ended first"],
    ]);
  });
});
