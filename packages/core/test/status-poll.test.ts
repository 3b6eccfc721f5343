import { describe, expect, it } from "vitest";
import type { ProcessNode } from "../src/host.js";
import type { ManagedSession } from "../src/run-record.js";
import type { BackendCapabilities, SessionBackend } from "../src/session-backend.js";
import { pollSessions } from "../src/status-poll.js";
import { fakeHost } from "../src/testing/fake-host.js";

const CAPS = {} as BackendCapabilities;
const node = (pid: number, startedAt: number): ProcessNode => ({
  pid,
  ppid: 1,
  command: "w",
  cpuPercent: 0,
  rssBytes: 0,
  startedAt,
});

describe("pollSessions without pane evidence (Windows Terminal)", () => {
  it("a session whose commands all ended exists while a recorded wrapper still holds its tab open", async () => {
    const host = fakeHost();
    host.files.set("/r/s0/tab-0.json", '{"v":1,"pid":10,"start":1000,"end":1001,"exit":0}');
    host.files.set("/r/s1/tab-0.json", '{"v":1,"pid":20,"start":1000,"end":1001,"exit":0}');
    host.trees.set(10, [node(10, 1_000_000)]);
    // 20 is a reused pid: its process started long after the record.
    host.trees.set(20, [node(20, 9_000_000)]);
    const backend = {
      name: "nopanes",
      host,
      capabilities: CAPS,
      observe: async (ss: readonly ManagedSession[]) =>
        ss.map(() => ({ exists: false, panes: new Map(), noPaneEvidence: true })),
    } as unknown as SessionBackend;
    const session = (dir: string): ManagedSession => ({
      machine: "local",
      name: dir,
      requestedName: dir,
      layout: { layoutName: dir, layoutTabs: [{ tabName: "t", startDir: "/", command: "true" }] },
      runDir: `/r/${dir}`,
      artefacts: [],
      startedAt: 0,
    });
    const r = await pollSessions(backend, "local", new Map(), [session("s0"), session("s1")]);
    expect(r.sessions.map((s) => [s.exists, s.tabs[0]!.state, s.tabs[0]!.exitCode])).toEqual([
      [true, "exited", 0],
      [false, "exited", 0],
    ]);
  });
});

describe("pollSessions while this process's scheduler opens a waiting tab (review H59-1)", () => {
  it("a tab opened during the poll reads as the observation saw it, not started yet: never missing", async () => {
    const host = fakeHost();
    const session: ManagedSession = {
      machine: "local",
      name: "job",
      requestedName: "job",
      layout: {
        layoutName: "job",
        layoutTabs: [
          { tabName: "a", startDir: "/", command: "true" },
          { tabName: "b", startDir: "/", command: "true" },
        ],
      },
      runDir: "/r/job",
      artefacts: [],
      startedAt: 0,
      pendingTabs: [1],
    };
    host.files.set("/r/job/tab-0.json", '{"v":1,"pid":10,"start":1000}');
    host.trees.set(10, [node(10, 1_000_000)]);
    const backend = {
      name: "panes",
      host,
      capabilities: CAPS,
      // The scheduler opens tab 1 (its window, then out of pendingTabs) while the tool answers about
      // the session as it was: tab 0's pane only.
      observe: async (ss: readonly ManagedSession[]) => {
        const seen = ss.map(() => ({
          exists: true,
          panes: new Map([[0, { alive: true, pid: 10 }]]),
        }));
        session.pendingTabs = [];
        return seen;
      },
    } as unknown as SessionBackend;
    const r = await pollSessions(backend, "local", new Map(), [session]);
    expect(r.sessions[0]!.tabs.map((t) => t.state)).toEqual(["running", "not-started"]);
  });
});
