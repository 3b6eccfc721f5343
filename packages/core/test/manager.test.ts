import { describe, expect, it } from "vitest";
import { McError } from "../src/errors.js";
import { selfIdentity } from "../src/linux-proc.js";
import { SessionManager } from "../src/manager.js";
import type { LayoutConfig } from "../src/schema.js";
import type { BackendCapabilities, BackendFactory, SessionBackend } from "../src/session-backend.js";
import { makeReport } from "../src/status.js";
import { fakeHost } from "../src/testing/fake-host.js";

const CAPS: BackendCapabilities = {
  addTabsLater: false,
  closeTab: false,
  nativeExitStatus: false,
  renameSession: false,
  attachFromInside: false,
  panes: false,
  listsForeignSessions: true,
  heldTabsOpen: false,
  keepPane: false,
  logs: false,
  stopHook: false,
};

/** A toy backend over a fake host: sessions live in a Set, "start" fails for names containing "bad". */
function toy() {
  const host = fakeHost();
  const live = new Set<string>();
  const killed: string[] = [];
  let panesAlive = true;
  /** Sessions the tool shows without panes (half made). */
  const paneless = new Set<string>();
  const backend: SessionBackend = {
    name: "toy",
    host,
    capabilities: CAPS,
    sessionKey: (n) => n,
    listSessions: async () => [...live].map((name) => ({ name })),
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
      return live.delete(name) ? "killed" : "gone";
    },
    async observe(sessions) {
      return sessions.map((s) => ({
        exists: live.has(s.name),
        panes: paneless.has(s.name)
          ? new Map()
          : new Map(s.layout.layoutTabs.map((_, i) => [i, { alive: panesAlive }])),
      }));
    },
    attachCommand: (name) => ({ file: "toy", args: ["attach", name] }),
    appearTimeoutMs: 50,
  };
  const factory: BackendFactory = {
    name: "toy",
    kind: "Toy",
    binary: "toy",
    capabilities: CAPS,
    create: () => backend,
  };
  const manager = (layouts: LayoutConfig[], prefix?: string) =>
    new SessionManager({
      kind: "Toy",
      factory,
      machines: [{ name: "local", host, layouts }],
      sessionNamePrefix: prefix,
    });
  return { backend, factory, live, killed, host, manager, paneless, endPanes: () => (panesAlive = false) };
}

const L = (name: string): LayoutConfig => ({
  layoutName: name,
  layoutTabs: [{ tabName: "t", startDir: "~", command: "true" }],
});

describe("SessionManager (generic lifecycle)", () => {
  it("rolls back what it started when a later session fails, and says which", async () => {
    const { live, killed, manager } = toy();
    const m = manager([L("one"), L("two"), L("bad"), L("four")]);
    const err = await m.startAllSessions().catch((e) => e);
    expect(err.code).toBe("START_FAILED");
    expect(err.message).toBe('[mc] [toy] start: session "bad" failed to start: toy refused');
    expect(err.hint).toBe("rolled back 2 of 2 session(s) this run had started");
    // What the failed start may have made of "bad" goes too.
    expect(killed).toEqual(["two", "one", "bad"]);
    expect(live.size).toBe(0);
    expect(m.managed).toEqual([]);
  });

  it("a start that could not write mc's state (a disk full after the up-front check) keeps that code: exit 9, not 1 (review H77-5)", async () => {
    const { backend, manager } = toy();
    const m = manager([L("one"), L("two")]);
    const start = backend.start!.bind(backend);
    backend.start = async (p) => {
      if (p.name !== "two") return start(p);
      throw new McError(
        "STATE_IO",
        "local: cannot take the lock /x/locks/y.lock: ENOSPC: no space left on device",
        {
          backend: "core",
        },
      );
    };
    const err = await m.startAllSessions().catch((e) => e);
    expect(err.code).toBe("STATE_IO");
    expect(err.message).toContain('session "two" failed to start: local: cannot take the lock');
    expect(err.hint).toBe("rolled back 1 of 1 session(s) this run had started");
  });

  it("saves each session's record before the tool is asked to make it; a start whose outcome is unknown keeps it", async () => {
    const { backend, live, manager } = toy();
    const m = manager([L("one"), L("lost")]);
    const seen: { name: string; starting: boolean }[][] = [];
    const start = backend.start!.bind(backend);
    backend.start = async (p) => {
      // What a command reading the record at this moment (another terminal's `ls`) finds.
      const saved = (await m.listSaved()).find((r) => r.id === m.runId);
      seen.push((saved?.sessions ?? []).map((s) => ({ name: s.name, starting: s.starting !== undefined })));
      if (p.name !== "lost") return start(p);
      // The machine made it, then stopped answering: neither the start nor the clean-up hears back.
      live.add(p.name);
      backend.kill = async () => {
        throw new McError("SSH_UNREACHABLE", "no answer within 25000 ms", { backend: "toy" });
      };
      throw new McError("SSH_UNREACHABLE", "no answer within 25000 ms", { backend: "toy" });
    };
    const err = await m.startAllSessions().catch((e) => e);
    expect(seen).toEqual([
      [{ name: "one", starting: true }],
      [
        { name: "one", starting: false },
        { name: "lost", starting: true },
      ],
    ]);
    expect(err.code).toBe("START_FAILED");
    expect(err.message).toMatch(
      /"lost" failed to start: .*it may have started on .*: it stays in mc's records/,
    );
    // "one" could not be rolled back either (the same machine): both stay recorded, and "lost" not as a
    // start under way: the next start on the machine would roll that back once this process ended, killing
    // a session said to stay (review H60-1).
    const saved = (await m.listSaved()).find((r) => r.id === m.runId)!;
    expect(saved.sessions.map((s) => [s.name, s.starting !== undefined])).toEqual([
      ["one", false],
      ["lost", false],
    ]);
    expect(live).toEqual(new Set(["one", "lost"]));
  });

  it("a start recorded as under way by a run that died is rolled back by the next start on that machine", async () => {
    const { factory, live, killed, manager, paneless } = toy();
    const dead = manager([L("left")]);
    await dead.startAllSessions();
    // Half made: the tool shows the session without its tab (a whole one is kept: the next test).
    paneless.add("left");
    // As a run SIGKILLed between the tool making "left" and saying so leaves it: still `starting`, by a
    // process that has ended.
    const runs = await dead.listSaved();
    const rec = runs[0]!;
    rec.sessions[0]!.starting = { by: { ...selfIdentity()!, pid: 4_000_000 } };
    const { store } = dead as unknown as { store: { save(r: unknown): Promise<void> } };
    await store.save(rec);
    expect(live.has("left")).toBe(true);
    // A run that reaches this machine another way (another tmux server) neither kills nor forgets it:
    // its kill there would answer "gone" for a session that runs on (review H10-1).
    const elsewhere = new SessionManager({
      kind: "Toy",
      factory,
      machines: [
        { name: "local", host: dead.hostOf(), layouts: [L("elsewhere")], backendOptions: { socket: "B" } },
      ],
    });
    await elsewhere.startAllSessions();
    expect(killed).not.toContain("left");
    expect((await elsewhere.listSaved()).flatMap((r) => r.sessions.map((x) => x.name)).sort()).toEqual([
      "elsewhere",
      "left",
    ]);
    await elsewhere.killAllSessions();
    const next = manager([L("other")]);
    await next.startAllSessions();
    expect(killed).toContain("left");
    expect(live.has("left")).toBe(false);
    expect((await next.listSaved()).flatMap((r) => r.sessions.map((x) => x.name))).toEqual(["other"]);
    // A start whose run still lives (this process) is left alone.
    const mine = manager([L("mine")]);
    await mine.startAllSessions();
    const again = (await mine.listSaved()).find((r) => r.id === mine.runId)!;
    again.sessions[0]!.starting = { by: selfIdentity()! };
    await (mine as unknown as { store: { save(r: unknown): Promise<void> } }).store.save(again);
    await manager([L("third")]).startAllSessions();
    expect(live.has("mine")).toBe(true);
  });

  it("a start whose run died after the tool made the session whole is kept as started, and said; a replacement that never took its name is rolled back (review H64-2)", async () => {
    const { live, killed, manager } = toy();
    const dead = manager([L("whole"), L("swap")]);
    await dead.startAllSessions();
    const rec = (await dead.listSaved())[0]!;
    const by = { ...selfIdentity()!, pid: 4_000_000 };
    rec.sessions[0]!.starting = { by };
    rec.sessions[1]!.starting = { by, replacing: true };
    await (dead as unknown as { store: { save(r: unknown): Promise<void> } }).store.save(rec);
    const warnings: string[] = [];
    await manager([L("other")]).startAllSessions({ onWarning: (w) => warnings.push(w) });
    expect(live.has("whole")).toBe(true);
    expect(killed).not.toContain("whole");
    expect(killed).toContain("swap");
    expect(warnings.join("\n")).toMatch(
      /kept session "whole" \(run [^)]+\): the sessions run that was starting it \(pid 4000000\) ended after toy had made it with all its tabs/,
    );
    expect(warnings.join("\n")).toMatch(/rolled back the unfinished start of session "swap"/);
    const kept = (await dead.listSaved())
      .find((r) => r.id === rec.id)!
      .sessions.find((x) => x.name === "whole")!;
    expect(kept.starting).toMatchObject({ kept: true });
    // Settled once: a later start neither kills it nor says it again.
    warnings.length = 0;
    await manager([L("third")]).startAllSessions({ onWarning: (w) => warnings.push(w) });
    expect(killed).not.toContain("whole");
    expect(warnings).toEqual([]);
  });

  it("a run that died before the tool made its session: its tabs read abandoned, never started, not missing (review H51-6)", async () => {
    const { live, manager, endPanes } = toy();
    const m = manager([L("never")]);
    await m.startAllSessions();
    // As a run SIGKILLed while the tool was still making the session leaves it: the record says
    // `starting`, by a process that has ended, and the tool never made the session (no tab ran).
    const rec = (await m.listSaved())[0]!;
    rec.sessions[0]!.starting = { by: { ...selfIdentity()!, pid: 4_000_000 } };
    await (m as unknown as { store: { save(r: unknown): Promise<void> } }).store.save(rec);
    live.delete("never");
    endPanes();
    const again = manager([]);
    await again.load(rec.id);
    const st = (await again.checkAllSessionsStatus()).sessions[0]!;
    expect(st.exists).toBe(false);
    expect(st.tabs.map((t) => t.state)).toEqual(["abandoned"]);
    expect(st.tabs[0]!.error).toMatch(
      /never started: the sessions run that was starting its session \(pid 4000000\) ended before the session was made/,
    );
  });

  it("interrupted while one machine still starts: what the machines that had finished started is rolled back too (review H8-4)", async () => {
    const { backend, factory, live, host } = toy();
    const start = backend.start!.bind(backend);
    // Machine b's start is slow (a frozen host); a's has finished when the interrupt comes.
    backend.start = async (p) => {
      if (p.name === "slow") await new Promise((r) => setTimeout(r, 300));
      return start(p);
    };
    const m = new SessionManager({
      kind: "Toy",
      factory,
      // Its records on the fake host: no machine is "local", whose host would hold them otherwise.
      stateHost: host,
      machines: [
        { name: "a", host, layouts: [L("fast")] },
        { name: "b", host, layouts: [L("slow")] },
      ],
    });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const results = await m.start({ signal: ac.signal });
    expect(results.map((r) => [r.machine, r.ok])).toEqual([
      ["a", false],
      ["b", false],
    ]);
    expect(results.map((r) => (r.ok ? "" : r.error.message)).join("\n")).toMatch(
      /interrupted while starting sessions; rolled back 1 of 1 session\(s\) this run had started on a/,
    );
    expect(live.size).toBe(0);
    expect(m.managed).toEqual([]);
  });

  it("interrupted while one machine still starts: a restart that finished elsewhere says the originals it killed (review H60-2)", async () => {
    const { backend, factory, live, host } = toy();
    const machines = (fast: string) => [
      { name: "a", host, layouts: [L(fast)] },
      { name: "b", host, layouts: [L("slow")] },
    ];
    const first = new SessionManager({ kind: "Toy", factory, stateHost: host, machines: machines("fast") });
    await first.start();
    expect(live).toEqual(new Set(["fast", "slow"]));
    // The sessions carry the run's stamp, as tmux's do: a restart replaces only what mc started.
    backend.listSessions = async () => [...live].map((name) => ({ name, runId: first.runId }));
    const start = backend.start!.bind(backend);
    backend.start = async (p) => {
      if (p.name === "slow") await new Promise((r) => setTimeout(r, 300));
      return start(p);
    };
    const m = new SessionManager({ kind: "Toy", factory, stateHost: host, machines: machines("fast") });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const results = await m.start({ signal: ac.signal, onConflict: "restart" });
    const a = results.find((r) => r.machine === "a")!;
    expect(a.ok).toBe(false);
    expect(a.ok ? "" : a.error.message).toMatch(
      /rolled back 1 of 1 session\(s\) this run had started on a; the restart had already killed "fast"/,
    );
    expect(a.ok ? undefined : (a.error as McError).details).toMatchObject({ killedOriginals: ["fast"] });
  });

  it("a restart on a tool that cannot rename records the replacement before it kills the session it replaces (review H70-2)", async () => {
    const { backend, live, manager } = toy();
    const first = manager([L("z")]);
    await first.startAllSessions();
    backend.listSessions = async () => [...live].map((name) => ({ name, runId: first.runId }));
    const m = manager([L("z")]);
    // What a run killed outright at the moment the original goes leaves behind: this run's record then.
    let atKill: { name: string; starting?: unknown }[] | undefined;
    const kill = backend.kill.bind(backend);
    backend.kill = async (name, s) => {
      atKill ??= (await m.listSaved()).find((r) => r.id === m.runId)?.sessions ?? [];
      return kill(name, s);
    };
    await m.startAllSessions({ onConflict: "restart" });
    expect(atKill?.map((s) => [s.name, s.starting])).toEqual([
      ["z", { by: selfIdentity(), replacesFirst: true }],
    ]);
    // Had it died there, the next start says what the restart may have done.
    const rec = (await m.listSaved()).find((r) => r.id === m.runId)!;
    rec.sessions[0]!.starting = { by: { ...selfIdentity()!, pid: 4_000_000 }, replacesFirst: true };
    await (m as unknown as { store: { save(r: unknown): Promise<void> } }).store.save(rec);
    backend.kill = kill;
    live.delete("z");
    const warnings: string[] = [];
    await manager([L("after")]).startAllSessions({ onWarning: (w) => warnings.push(w) });
    expect(warnings.join("\n")).toMatch(
      /recorded the start of session "z" \(run [^)]+\) as rolled back: .* \(a restart: the session it was replacing had been killed, or was about to be\), and toy has no such session/,
    );
  });

  it("status limited to some machines asks only those, and reports only them (review H53-1)", async () => {
    const { backend, factory, host } = toy();
    const observe = backend.observe.bind(backend);
    const asked: string[] = [];
    backend.observe = async (sessions) => {
      asked.push(...sessions.map((s) => s.machine));
      return observe(sessions);
    };
    const m = new SessionManager({
      kind: "Toy",
      factory,
      stateHost: host,
      machines: [
        { name: "a", host, layouts: [L("x")] },
        { name: "b", host, layouts: [L("y")] },
      ],
    });
    await m.startAllSessions();
    asked.length = 0;
    const only = await m.checkAllSessionsStatus({ processes: false, machines: ["a"] });
    expect(asked).toEqual(["a"]);
    expect(only.sessions.map((s) => s.machine)).toEqual(["a"]);
    expect(only.machines.map((h) => h.machine)).toEqual(["a"]);
    asked.length = 0;
    const all = await m.checkAllSessionsStatus({ processes: false });
    expect(asked.sort()).toEqual(["a", "b"]);
    expect(all.machines.map((h) => h.machine).sort()).toEqual(["a", "b"]);
  });

  it("plans (dry run) without starting or writing anything", async () => {
    const { live, host, manager } = toy();
    live.add("a");
    const m = manager([L("a"), L("a")]);
    const plan = await m.plan({ onConflict: "rename" });
    expect(plan.map((p) => p.name)).toEqual(["a_1", "a_2"]);
    expect(host.files.size).toBe(0);
    expect([...live]).toEqual(["a"]);
  });

  it("writes artefacts, saves the run and only kills its own sessions", async () => {
    const { live, host, manager } = toy();
    live.add("p_other");
    const m = manager([L("x")], "p");
    await m.startAllSessions();
    expect([...host.files.keys()].some((k) => k.endsWith("/build"))).toBe(true);
    expect([...host.files.keys()].some((k) => k.startsWith("/state/mc/managers/Toy/"))).toBe(true);
    expect(await m.killAllSessions()).toEqual([
      { machine: "local", name: "p_x", ok: true, outcome: "killed" },
    ]);
    expect([...live]).toEqual(["p_other"]);
    // The killed session is history: out of the live list, its files (logs, records) kept.
    const [saved] = await m.listSaved();
    expect(saved!.sessions).toEqual([]);
    expect(saved!.ended).toMatchObject([{ name: "p_x", endedBy: "killed" }]);
    expect([...host.files.keys()].some((k) => k.endsWith("/build"))).toBe(true);
    expect(m.ended.map((s) => s.name)).toEqual(["p_x"]);
  });

  it("a session gone after a kill that did not finish is recorded killed by the next kill, not gone (review H65-4)", async () => {
    const { live, manager } = toy();
    const m = manager([L("k1"), L("k2")]);
    await m.startAllSessions();
    // k1: a kill killed outright after the tool ended it, before the record said so. k2: ended outside mc.
    const rec = (await m.listSaved())[0]!;
    rec.sessions[0]!.killing = { ...selfIdentity()!, pid: 4_000_000 };
    await (m as unknown as { store: { save(r: unknown): Promise<void> } }).store.save(rec);
    live.delete("k1");
    live.delete("k2");
    const again = manager([]);
    await again.load(rec.id);
    expect((await again.killAllSessions()).map((r) => [r.name, r.outcome])).toEqual([
      ["k1", "gone"],
      ["k2", "gone"],
    ]);
    const [saved] = await again.listSaved();
    expect(saved!.ended!.map((e) => [e.name, e.endedBy])).toEqual([
      ["k1", "killed"],
      ["k2", "gone"],
    ]);
  });

  it("ended sessions on this machine are pruned after a week, with their files; the record goes when empty", async () => {
    const { host, manager } = toy();
    const m = manager([L("old")], "p");
    await m.startAllSessions();
    await m.killAllSessions();
    const [run] = await m.listSaved();
    const runDir = run!.ended![0]!.runDir;
    expect([...host.files.keys()].some((k) => k.startsWith(runDir))).toBe(true);
    // A week and a bit later, the next start removes it.
    m.ended[0]!.endedAt -= 8 * 24 * 3600 * 1000;
    await m.save();
    const next = manager([L("new")], "p");
    await next.startAllSessions();
    expect([...host.files.keys()].some((k) => k.startsWith(runDir))).toBe(false);
    expect((await next.listSaved()).map((r) => r.id)).toEqual([next.runId]);
  });

  it("throws SESSION_CONFLICT under error policy and starts nothing", async () => {
    const { live, manager } = toy();
    live.add("x");
    const m = manager([L("y"), L("x")]);
    await expect(m.startAllSessions({ onConflict: "error" })).rejects.toMatchObject({
      code: "SESSION_CONFLICT",
    });
    expect([...live]).toEqual(["x"]);
  });

  it("reports a corrupt saved run clearly", async () => {
    const { host, manager } = toy();
    host.files.set("/state/mc/managers/Toy/broken.json", "{ not json");
    const m = manager([]);
    await expect(m.load("broken")).rejects.toMatchObject({ code: "STATE_CORRUPT" });
    await expect(m.load("../../etc/passwd")).rejects.toMatchObject({ code: "USAGE" });
    expect(await m.listSaved()).toEqual([]);
  });

  it("a damaged createdAt leaves the run manageable; a machine named after Object's prototype is no machine (review H18-4)", async () => {
    const { host, manager } = toy();
    const m = manager([L("x")], "p");
    await m.startAllSessions();
    const path = [...host.files.keys()].find((k) => k.startsWith("/state/mc/managers/Toy/"))!;
    const text = String(host.files.get(path));
    const id = path.slice(path.lastIndexOf("/") + 1, -".json".length);
    for (const bad of ["yesterday", 1e300, null]) {
      host.files.set(path, JSON.stringify({ ...JSON.parse(text), createdAt: bad }));
      const run = await m.load(id);
      expect(run.createdAt).toBe(0);
      expect(() => new Date(run.createdAt).toISOString()).not.toThrow();
    }
    for (const name of ["constructor", "toString", "__proto__"]) {
      const rec = JSON.parse(text);
      rec.sessions[0].machine = name;
      host.files.set(path, JSON.stringify(rec));
      await expect(m.load(id)).rejects.toMatchObject({ code: "STATE_CORRUPT" });
    }
  });

  it("counts a tab that never starts because its session ended as failed (review H18-1)", () => {
    const tab = (state: string, index: number) => ({ index, tabName: `t${index}`, state }) as never;
    const session = (exists: boolean) =>
      ({
        machine: "local",
        session: "s",
        exists,
        tabs: [tab("exited", 0), tab("not-started", 1)],
        summary: {
          totalCommands: 2,
          runningCommands: 0,
          stoppedCommands: 1,
          failedCommands: 0,
          sessionHealthy: exists,
        },
      }) as never;
    const up = [{ machine: "local", host: "local", reachable: true }];
    expect(makeReport([session(false)], up).summary).toMatchObject({ allFinished: true, failedCommands: 1 });
    // Still to come while the session lives; unknown while its machine does not answer.
    expect(makeReport([session(true)], up).summary).toMatchObject({ allFinished: false, failedCommands: 0 });
    expect(makeReport([session(false)], []).summary).toMatchObject({ allFinished: false, failedCommands: 0 });
  });

  it("refuses initialTabs on a backend without the addTabsLater capability, naming it", async () => {
    const { manager } = toy();
    await expect(manager([L("a")]).startAllSessions({ initialTabs: 1 })).rejects.toThrow(/addTabsLater/);
  });

  it("monitoring does not finish while a tab is pending, and ends on the recorded exits", async () => {
    const t = toy();
    const m = t.manager([L("s")]);
    await m.startAllSessions();
    const run = m.managed[0]!.runDir;
    const done: boolean[] = [];
    await m.runMonitoringRoutine({
      intervalMs: 1,
      maxCycles: 5,
      onSnapshot: (s) => {
        done.push(s.done);
        if (done.length === 2) {
          t.host.files.set(`${run}/tab-0.json`, '{"v":1,"pid":7,"start":1,"end":2,"exit":0}');
          t.endPanes();
        }
      },
    });
    expect(done).toEqual([false, false, true]);
    expect(makeReport([]).summary.allFinished).toBe(true);
  });
});
