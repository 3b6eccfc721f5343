import { describe, expect, it } from "vitest";
import { McError } from "../src/errors.js";
import type { SessionBackend } from "../src/lifecycle.js";
import { SessionManager } from "../src/lifecycle.js";
import type { ManagedSession } from "../src/persistence.js";
import type { LayoutConfig } from "../src/schema.js";
import { makeReport, summarizeSession } from "../src/status.js";
import { fakeHost } from "../src/testing/fake-host.js";

/** A toy backend over a fake host: sessions live in a Set, "start" fails for names containing "bad". */
function toyBackend() {
  const host = fakeHost();
  const live = new Set<string>();
  const killed: string[] = [];
  const backend: SessionBackend = {
    name: "toy",
    host,
    sessionKey: (n) => n,
    listSessions: async () => [...live],
    prepare: (spec) => ({
      ...spec,
      artefacts: [{ path: `${spec.artefactDir}/build`, content: spec.name, description: "build" }],
      start: [],
    }),
    async start(p) {
      if (p.name.includes("bad")) throw new McError("COMMAND_FAILED", "toy refused", { backend: "toy" });
      live.add(p.name);
      return undefined;
    },
    async kill(name) {
      killed.push(name);
      live.delete(name);
    },
    async status(sessions: readonly ManagedSession[]) {
      return sessions.map((s) => {
        const tabs = s.layout.layoutTabs.map((t, index) => ({
          index,
          tabName: t.tabName,
          command: t.command,
          state: "exited" as const,
          exitCode: 0,
          processes: [],
        }));
        return {
          session: s.name,
          backend: "toy",
          host: "fake",
          exists: live.has(s.name),
          tabs,
          summary: summarizeSession(tabs, live.has(s.name)),
        };
      });
    },
    attachCommand: (name) => ({ file: "toy", args: ["attach", name] }),
    appearTimeoutMs: 50,
  };
  return { backend, live, killed, host };
}

const L = (name: string): LayoutConfig => ({
  layoutName: name,
  layoutTabs: [{ tabName: "t", startDir: "~", command: "true" }],
});

describe("SessionManager (generic lifecycle)", () => {
  it("rolls back what it started when a later session fails, and says which", async () => {
    const { backend, live, killed } = toyBackend();
    const m = new SessionManager(backend, "Toy", {
      sessionLayouts: [L("one"), L("two"), L("bad"), L("four")],
    });
    const err = await m.startAllSessions().catch((e) => e);
    expect(err.code).toBe("START_FAILED");
    expect(err.message).toBe('[mc] [toy] start: session "bad" failed to start: toy refused');
    expect(err.hint).toBe("rolled back 2 of 2 session(s) this run had started");
    expect(killed).toEqual(["two", "one"]);
    expect(live.size).toBe(0);
    expect(m.managed).toEqual([]);
  });

  it("plans (dry run) without starting or writing anything", async () => {
    const { backend, live, host } = toyBackend();
    live.add("a");
    const m = new SessionManager(backend, "Toy", {
      sessionLayouts: [L("a"), L("a")],
      sessionNamePrefix: undefined,
    });
    const plan = await m.plan({ onConflict: "rename" });
    expect(plan.map((p) => p.name)).toEqual(["a_1", "a_2"]);
    expect(host.files.size).toBe(0);
    expect([...live]).toEqual(["a"]);
  });

  it("writes artefacts, saves the run and only kills its own sessions", async () => {
    const { backend, live, host } = toyBackend();
    live.add("p_other");
    const m = new SessionManager(backend, "Toy", { sessionLayouts: [L("x")], sessionNamePrefix: "p" });
    await m.startAllSessions();
    expect([...host.files.keys()].some((k) => k.endsWith("/build"))).toBe(true);
    expect([...host.files.keys()].some((k) => k.startsWith("/state/mc/managers/Toy/"))).toBe(true);
    await m.killAllSessions();
    expect([...live]).toEqual(["p_other"]);
  });

  it("throws SESSION_CONFLICT under error policy and starts nothing", async () => {
    const { backend, live } = toyBackend();
    live.add("x");
    const m = new SessionManager(backend, "Toy", { sessionLayouts: [L("y"), L("x")] });
    await expect(m.startAllSessions({ onConflict: "error" })).rejects.toMatchObject({
      code: "SESSION_CONFLICT",
    });
    expect([...live]).toEqual(["x"]);
  });

  it("reports a corrupt saved run clearly", async () => {
    const { backend, host } = toyBackend();
    host.files.set("/state/mc/managers/Toy/broken.json", "{ not json");
    const m = new SessionManager(backend, "Toy", { sessionLayouts: [] });
    await expect(m.load("broken")).rejects.toMatchObject({ code: "STATE_CORRUPT" });
    await expect(m.load("../../etc/passwd")).rejects.toMatchObject({ code: "USAGE" });
    expect(await m.listSaved()).toEqual([]);
  });

  it("monitoring does not finish while a tab is pending", async () => {
    const { backend } = toyBackend();
    let polls = 0;
    backend.status = async () => {
      polls++;
      const state = polls < 3 ? ("pending" as const) : ("exited" as const);
      const tabs = [{ index: 0, tabName: "t", command: "x", state, exitCode: 0, processes: [] }];
      return [
        {
          session: "s",
          backend: "toy",
          host: "fake",
          exists: true,
          tabs,
          summary: summarizeSession(tabs, true),
        },
      ];
    };
    const m = new SessionManager(backend, "Toy", { sessionLayouts: [] });
    const done: boolean[] = [];
    await m.runMonitoringRoutine({ intervalMs: 1, onSnapshot: (s) => done.push(s.done) });
    expect(done).toEqual([false, false, true]);
    expect(makeReport([]).summary.allFinished).toBe(true);
  });
});
