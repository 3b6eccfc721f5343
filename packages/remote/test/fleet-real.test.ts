import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MonitorSnapshot } from "@mc/core";
import { isMcError, type LayoutConfig, schedule } from "@mc/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SshHost } from "../src/index.js";
import { freePorts, HAVE_SSHD, type PrivateSshd, privateSshd } from "../src/testing.js";
import { TmuxRemoteManager } from "../src/tmux.js";

const layout = (name: string, tabs: [string, string][], dir: string): LayoutConfig => ({
  layoutName: name,
  layoutTabs: tabs.map(([tabName, command]) => ({ tabName, startDir: dir, command })),
});

describe.skipIf(!HAVE_SSHD)("TmuxRemoteManager: three machines over a real sshd, real tmux", () => {
  let d: PrivateSshd;
  let dir: string;
  let work: string;
  const machines = ["alpha", "beta", "gamma"] as const;
  const sock = (m: string) => join(dir, `tmux-${m}.sock`);
  const tmux = (m: string, ...args: string[]) =>
    execFileSync("tmux", ["-S", sock(m), ...args], {
      encoding: "utf8",
      env: { ...process.env, SHELL: "/bin/sh" },
    });
  const sessions = (m: string) => {
    try {
      return tmux(m, "list-sessions", "-F", "#{session_name}").split("\n").filter(Boolean);
    } catch {
      return [];
    }
  };
  /** Each machine: its own port, tmux server (socket) and remote state dir. */
  const fleetOptions = (
    machineLayouts: Record<string, LayoutConfig[]>,
    extra: Record<string, object> = {},
  ) => ({
    machineLayouts,
    sessionNamePrefix: "fl",
    stateDir: join(dir, "local-state"),
    ssh: Object.fromEntries(
      machines.map((m, i) => [
        m,
        {
          target: "127.0.0.1",
          ...d.options(d.ports[i]!, { env: { SHELL: "/bin/sh" }, stateDir: join(dir, `state-${m}`) }),
          ...extra[m],
        },
      ]),
    ),
    backendOptions: Object.fromEntries(machines.map((m) => [m, { socket: sock(m) }])),
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mc-remote-fleet-"));
    work = join(dir, "work");
    mkdirSync(work);
    d = await privateSshd(3);
  });
  afterAll(() => {
    for (const m of machines) {
      try {
        tmux(m, "kill-server");
      } catch {}
    }
    d.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("starts on every machine, writes the artefacts there, one ssh round trip per machine per status poll", async () => {
    const fleet = new TmuxRemoteManager(
      fleetOptions({
        alpha: [
          layout(
            "a1",
            [
              ["run", "sleep 30"],
              ["ok", "exit 0"],
            ],
            work,
          ),
          layout("a2", [["t", "sleep 30"]], work),
          layout("a3", [["t", "exit 4"]], work),
        ],
        beta: [layout("b1", [["t", "sleep 30"]], work)],
        gamma: [],
      }),
    );
    const results = await fleet.start({ onConflict: "error" });
    // gamma has no layouts: nothing starts there, and it has no result.
    expect(results.map((r) => [r.machine, r.ok, r.sessions.map((s) => s.name)])).toEqual([
      ["alpha", true, ["fl_a1", "fl_a2", "fl_a3"]],
      ["beta", true, ["fl_b1"]],
    ]);
    expect(sessions("alpha").sort()).toEqual(["fl_a1", "fl_a2", "fl_a3"]);
    expect(sessions("beta")).toEqual(["fl_b1"]);
    // The artefacts were written by the ssh host into alpha's remote state dir, before start.
    const onAlpha = fleet.managed.filter((s) => s.machine === "alpha");
    for (const s of onAlpha) {
      for (const a of s.artefacts) {
        expect(a.startsWith(join(dir, "state-alpha"))).toBe(true);
        expect(existsSync(a)).toBe(true);
      }
    }
    expect(readFileSync(onAlpha[0]!.artefacts[0]!, "utf8")).toContain("sleep 30");

    // Let every tab record its start, then count ssh client processes for one poll.
    await new Promise((r) => setTimeout(r, 600));
    const hosts = machines.map((m) => fleet.hostOf(m) as SshHost);
    // The first poll (nothing cached yet) and a later one each cost one ssh call per machine with sessions.
    let before = hosts.map((h) => h.spawned);
    await fleet.checkAllSessionsStatus();
    expect(hosts.map((h, i) => h.spawned - before[i]!)).toEqual([1, 1, 0]);
    before = hosts.map((h) => h.spawned);
    const report = await fleet.checkAllSessionsStatus();
    expect(hosts.map((h, i) => h.spawned - before[i]!)).toEqual([1, 1, 0]);

    const byName = new Map(report.sessions.map((s) => [s.session, s]));
    expect(byName.get("fl_a1")?.host).toBe("ssh:alpha");
    expect(byName.get("fl_b1")?.host).toBe("ssh:beta");
    const a1 = byName.get("fl_a1")!.tabs;
    expect(a1.map((t) => [t.tabName, t.state, t.exitCode])).toEqual([
      ["run", "running", undefined],
      ["ok", "exited", 0],
    ]);
    // The process tree came from the snapshot taken in the same round trip.
    expect(a1[0]!.processes.some((p) => p.command.startsWith("sleep 30"))).toBe(true);
    expect(byName.get("fl_a3")!.tabs[0]).toMatchObject({ state: "exited", exitCode: 4 });
    expect(report.machines.every((m) => m.reachable)).toBe(true);

    // The attach command is `ssh -t … -- 127.0.0.1 <remote line>`; the same wrapper, run here without a
    // terminal around `has-session`, proves the socket and name reach the remote tmux intact.
    const attach = fleet.attachToSession("fl_a2", {}, "alpha");
    expect(attach.file).toBe("ssh");
    expect(attach.args).toContain("-t");
    expect(attach.args.slice(attach.args.indexOf("--") + 1, -1)).toEqual(["127.0.0.1"]);
    expect(attach.args.at(-1)).toContain("attach-session");
    // By tmux's session id, which follows a rename made in tmux since.
    const sessionId = String(fleet.session("fl_a2", "alpha").data?.sessionId);
    expect(attach.args.at(-1)).toContain(sessionId);
    const hostA = fleet.hostOf("alpha") as SshHost;
    const probe = hostA.interactiveCommand({
      file: "tmux",
      args: ["-S", sock("alpha"), "has-session", "-t", "=fl_a2"],
    });
    execFileSync(
      probe.file,
      probe.args.filter((a) => a !== "-t"),
      { stdio: "ignore" },
    );

    // Conflict policies per machine: rename on alpha, restart on beta, error on gamma.
    tmux("gamma", "new-session", "-d", "-s", "fl_g1", "sleep 1000");
    const second = new TmuxRemoteManager(
      fleetOptions({
        alpha: [layout("a1", [["t", "sleep 30"]], work)],
        beta: [layout("b1", [["new", "sleep 30"]], work)],
        gamma: [layout("g1", [["t", "sleep 30"]], work)],
      }),
    );
    const r2 = await second.start({
      onConflict: { alpha: "rename", beta: "restart", "*": "error" },
    });
    expect(r2[0]).toMatchObject({
      machine: "alpha",
      ok: true,
      sessions: [{ name: "fl_a1_1", renamed: true }],
    });
    expect(r2[1]).toMatchObject({
      machine: "beta",
      ok: true,
      sessions: [{ name: "fl_b1", action: "replace" }],
    });
    expect(r2[2]!.ok).toBe(false);
    expect(isMcError(!r2[2]!.ok && r2[2]!.error, "SESSION_CONFLICT")).toBe(true);
    expect(sessions("beta")).toEqual(["fl_b1"]);
    const beta = (await second.checkAllSessionsStatus()).sessions.find((s) => s.session === "fl_b1")!;
    expect(beta.tabs.map((t) => t.tabName)).toEqual(["new"]);

    // Save the first fleet, load it in a fresh manager that knows no machine at all (what the CLI does for
    // a saved run): the saved connections and backend options reach the same machines and tmux servers.
    const id = await fleet.save();
    const loaded = new TmuxRemoteManager({ machineLayouts: {}, stateDir: join(dir, "local-state") });
    await loaded.load(id);
    expect(loaded.managed.filter((s) => s.machine === "alpha").map((s) => s.name)).toEqual([
      "fl_a1",
      "fl_a2",
      "fl_a3",
    ]);
    expect((await loaded.listSaved()).some((r) => r.id === id)).toBe(true);
    const status = await loaded.checkAllSessionsStatus();
    expect(status.sessions.map((s) => `${s.host} ${s.session} ${s.exists}`)).toEqual([
      "ssh:alpha fl_a1 true",
      "ssh:alpha fl_a2 true",
      "ssh:alpha fl_a3 true",
      // Replaced by the second fleet: the session of that name is not the one this fleet started.
      "ssh:beta fl_b1 false",
    ]);
    const killed = await loaded.killAllSessions();
    expect(killed.map((k) => `${k.machine}:${k.name}:${k.ok}`).sort()).toEqual([
      "alpha:fl_a1:true",
      "alpha:fl_a2:true",
      "alpha:fl_a3:true",
      "beta:fl_b1:true",
    ]);
    // fl_b1 was replaced by the second fleet: the first fleet's kill must not touch the new one.
    expect(sessions("alpha")).toEqual(["fl_a1_1"]);
    expect(sessions("beta")).toEqual(["fl_b1"]);
    expect(sessions("gamma")).toEqual(["fl_g1"]);
    await second.killAllSessions();
    expect(sessions("gamma")).toEqual(["fl_g1"]);
    await loaded.deleteSaved(id);
    await Promise.all([fleet.close(), second.close(), loaded.close()]);
  }, 40_000);

  it("an unreachable machine and refused authentication fail per machine; the others start", async () => {
    const [closed] = await freePorts(1);
    const fleet = new TmuxRemoteManager(
      fleetOptions(
        {
          alpha: [layout("ok", [["t", "sleep 30"]], work)],
          beta: [layout("nokey", [["t", "sleep 30"]], work)],
          gamma: [layout("noport", [["t", "sleep 30"]], work)],
        },
        {
          beta: { identityFile: d.wrongKey, controlDir: join(dir, "cm-wrong") },
          gamma: { port: closed, controlDir: join(dir, "cm-closed") },
        },
      ),
    );
    const r = await fleet.start();
    expect(r.map((x) => [x.machine, x.ok, x.ok ? "" : (x.error as { code?: string }).code])).toEqual([
      ["alpha", true, ""],
      ["beta", false, "SSH_AUTH_FAILED"],
      ["gamma", false, "SSH_UNREACHABLE"],
    ]);
    const beta = r[1]!;
    if (!beta.ok) expect(beta.error.message).toContain("ssh:beta");
    const gamma = r[2]!;
    if (!gamma.ok) expect(gamma.error.message).toMatch(/ssh:gamma is unreachable: .*Connection refused/);
    expect(sessions("alpha")).toContain("fl_ok");
    await fleet.killAllSessions();
    await fleet.close();
  }, 30_000);

  it("monitoring marks a machine unreachable while its sshd is down and recovers when it returns", async () => {
    const fleet = new TmuxRemoteManager(
      fleetOptions({
        alpha: [layout("m", [["t", "sleep 4"]], work)],
        beta: [layout("m2", [["t", "exit 0"]], work)],
      }),
    );
    await fleet.startAllSessions();
    const snaps: MonitorSnapshot[] = [];
    const changes: string[] = [];
    const wasDown = new Map<string, boolean>();
    const unreachable = (s: MonitorSnapshot) =>
      (s.report?.machines ?? []).filter((h) => !h.reachable).map((h) => h.machine);
    let phase = 0;
    const last = await fleet.runMonitoringRoutine({
      intervalMs: 250,
      killUponCompletion: true,
      onSnapshot: (s) => {
        snaps.push(s);
        for (const h of s.report?.machines ?? []) {
          if ((wasDown.get(h.machine) ?? false) !== !h.reachable)
            changes.push(`${h.machine}:${h.reachable ? "up" : "down"}`);
          wasDown.set(h.machine, !h.reachable);
        }
        if (phase === 0 && s.cycle === 1) {
          phase = 1;
          d.kill();
        } else if (phase === 1 && unreachable(s).length > 0) {
          phase = 2;
          void d.start();
        }
      },
    });
    const down = snaps.find((s) => unreachable(s).length > 0);
    expect(unreachable(down!)).toEqual(["alpha", "beta"]);
    const m = down!.report!.sessions.find((s) => s.session === "fl_m")!;
    expect(m.error).toMatch(/ssh:alpha/);
    expect(m.tabs[0]!.state).toBe("unknown");
    expect(snaps.at(-1)!.done).toBe(true);
    expect(unreachable(snaps.at(-1)!)).toEqual([]);
    // Both went down, then both came back (the two reconnect in parallel: either may answer first).
    expect(changes.slice(0, 2).sort()).toEqual(["alpha:down", "beta:down"]);
    expect(changes.slice(2).sort()).toEqual(["alpha:up", "beta:up"]);
    expect(last?.sessions.map((s) => [s.session, s.tabs[0]!.state, s.tabs[0]!.exitCode])).toEqual([
      ["fl_m", "exited", 0],
      ["fl_m2", "exited", 0],
    ]);
    expect(sessions("alpha")).not.toContain("fl_m");
    await fleet.close();
  }, 30_000);

  it("a machine slow to answer does not hold up the scheduling of another's waiting tabs (review HR84-1)", async () => {
    // beta answers every command 2 s late (a slow link, a slow login): alpha's queue runs at its own pace.
    const slow = await privateSshd(1, {
      extraConfig: ['ForceCommand sleep 2; exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"'],
    });
    try {
      const quick = Array.from({ length: 4 }, (_, i): [string, string] => [`q${i}`, "exit 0"]);
      const fleet = new TmuxRemoteManager(
        fleetOptions(
          {
            alpha: [layout("fast", quick, work)],
            beta: [layout("slow", [["s0", "sleep 0.2"]], work)],
          },
          {
            beta: {
              target: "127.0.0.1",
              ...slow.options(slow.ports[0]!, {
                env: { SHELL: "/bin/sh" },
                stateDir: join(dir, "state-beta"),
              }),
            },
          },
        ),
      );
      await fleet.startAllSessions({ initialTabs: 1 });
      const t0 = Date.now();
      await schedule(fleet, { maxParallel: 1, pollMs: 250, untilDone: true });
      const r = await fleet.checkAllSessionsStatus({ processes: false });
      const fast = r.sessions.find((x) => x.machine === "alpha")!;
      expect(fast.tabs.map((t) => t.state)).toEqual(["exited", "exited", "exited", "exited"]);
      expect(r.sessions.find((x) => x.machine === "beta")!.tabs.map((t) => t.state)).toEqual(["exited"]);
      // Behind beta, each of alpha's next tabs waited for beta's answer and starts (2 s and more a tab: 6 s and more for three).
      const lastEnd = Math.max(...fast.tabs.map((t) => t.endedAt ?? Number.POSITIVE_INFINITY));
      expect(lastEnd - t0).toBeLessThan(5000);
      await fleet.killAllSessions();
      await fleet.close();
    } finally {
      slow.stop();
    }
  }, 120_000);

  it("the scheduler of waiting tabs rides out an ssh outage: it starts them once the machine answers again", async () => {
    const fleet = new TmuxRemoteManager(
      fleetOptions({
        alpha: [
          layout(
            "sch",
            [
              ["a", "sleep 1"],
              ["b", "sleep 1"],
              ["c", "exit 0"],
            ],
            work,
          ),
        ],
      }),
    );
    await fleet.startAllSessions({ initialTabs: 1 });
    // The machine goes down while tabs wait, and comes back a few seconds later.
    d.kill();
    setTimeout(() => void d.start(), 2500);
    await schedule(fleet, { maxParallel: 1, pollMs: 250, untilDone: true });
    const r = await fleet.checkAllSessionsStatus();
    expect(r.sessions[0]!.tabs.map((t) => [t.tabName, t.state, t.exitCode])).toEqual([
      ["a", "exited", 0],
      ["b", "exited", 0],
      ["c", "exited", 0],
    ]);
    await fleet.killAllSessions();
    await fleet.close();
  }, 60_000);
});
