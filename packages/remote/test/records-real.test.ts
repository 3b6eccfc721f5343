// Issue #20 §2 (each machine's records are its own) and §3 (what a run needs to be reached again is never
// lost), with one private sshd whose ports stand for machines: each port has its own tmux server
// (Match LocalPort + SetEnv TMUX_TMPDIR), and two of them share one state directory, as NFS homes do.
import { execFileSync } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMcError, type LayoutConfig, type ManagedRun } from "@mc/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HAVE_SSHD, type PrivateSshd, privateSshd } from "../src/testing.js";
import { TmuxRemoteManager } from "../src/tmux.js";

const layout = (name: string, command: string, dir: string): LayoutConfig => ({
  layoutName: name,
  layoutTabs: [{ tabName: "t", startDir: dir, command }],
});

describe.skipIf(!HAVE_SSHD)("records: per machine, and every save keeps each machine's options", () => {
  let d: PrivateSshd;
  let dir: string;
  let work: string;
  const tmuxDir = (i: number) => join(dir, `tmux-${i}`);
  const sessions = (i: number) => {
    try {
      return execFileSync("tmux", ["list-sessions", "-F", "#{session_name}"], {
        encoding: "utf8",
        env: { ...process.env, TMUX_TMPDIR: tmuxDir(i) },
      })
        .split("\n")
        .filter(Boolean)
        .sort();
    } catch {
      return [];
    }
  };
  const ssh = (i: number, extra: object = {}) => ({
    target: "127.0.0.1",
    ...d.options(d.ports[i]!, { env: { SHELL: "/bin/sh" }, stateDir: join(dir, "shared-home-state") }),
    ...extra,
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mc-records-"));
    work = join(dir, "work");
    mkdirSync(work);
    for (const i of [0, 1, 2]) mkdirSync(tmuxDir(i));
    d = await privateSshd(3, {
      portEnv: {
        0: { TMUX_TMPDIR: tmuxDir(0) },
        1: { TMUX_TMPDIR: tmuxDir(1) },
        2: { TMUX_TMPDIR: tmuxDir(2) },
      },
    });
  });
  afterAll(() => {
    for (const i of [0, 1, 2]) {
      try {
        execFileSync("tmux", ["kill-server"], {
          env: { ...process.env, TMUX_TMPDIR: tmuxDir(i) },
          stdio: "ignore",
        });
      } catch {}
    }
    d.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("two machines sharing one home keep their own records: each reports its own exit code, poll after poll", async () => {
    const run = new TmuxRemoteManager({
      machineLayouts: { alpha: [layout("job", "exit 3", work)], beta: [layout("job", "exit 4", work)] },
      ssh: { alpha: ssh(0), beta: ssh(1) },
      stateDir: join(dir, "local"),
    });
    const started = await run.start();
    expect(started.every((r) => r.ok)).toBe(true);
    const dirs = run.managed.map((s) => s.runDir);
    expect(new Set(dirs).size).toBe(2);
    const codes = async () => {
      const r = await run.checkAllSessionsStatus();
      return r.sessions.map((s) => `${s.machine}:${s.tabs[0]!.state}:${s.tabs[0]!.exitCode}`);
    };
    let seen = await codes();
    for (const end = Date.now() + 30_000; seen.some((x) => !x.includes("exited")) && Date.now() < end; ) {
      await new Promise((r) => setTimeout(r, 100));
      seen = await codes();
    }
    for (let i = 0; i < 3; i++) {
      expect(seen).toEqual(["alpha:exited:3", "beta:exited:4"]);
      seen = await codes();
    }
    await run.killAllSessions();
  });

  it("the same machine listed twice (same machine id, user and tmux server) is refused before anything starts", async () => {
    const twice = new TmuxRemoteManager({
      machineLayouts: {
        alpha: [layout("a", "sleep 30", work)],
        "alpha-again": [layout("b", "sleep 30", work)],
      },
      ssh: { alpha: ssh(0), "alpha-again": ssh(0, { target: "localhost" }) },
      stateDir: join(dir, "local"),
    });
    const e = await twice.start().catch((x) => x);
    expect(isMcError(e, "USAGE")).toBe(true);
    expect(e.message).toMatch(/machines "alpha" and "alpha-again" are the same machine/);
    expect(sessions(0)).toEqual([]);
    // One box with two tmux servers (another socket) is two machines for mc, and may be listed twice.
    const two = new TmuxRemoteManager({
      machineLayouts: {
        alpha: [layout("a", "sleep 30", work)],
        "alpha-other-server": [layout("b", "sleep 30", work)],
      },
      ssh: { alpha: ssh(0), "alpha-other-server": ssh(0) },
      backendOptions: { "alpha-other-server": { socket: join(dir, "other.sock") } },
      stateDir: join(dir, "local"),
    });
    expect((await two.start()).every((r) => r.ok)).toBe(true);
    expect(sessions(0)).toEqual(["a"]);
    await two.killAllSessions();
  });

  it("killing one session from a loaded run keeps every machine's connection and backend options", async () => {
    const cfg = join(work, "fleet.ssh_config");
    writeFileSync(cfg, "# mc test config\n");
    // Relative, as `--ssh-config fleet.ssh_config` typed in `work`: saved absolute.
    const relative = new TmuxRemoteManager({
      machineLayouts: {
        alpha: [layout("one", "sleep 30", work), layout("two", "sleep 30", work)],
        beta: [layout("three", "sleep 30", work)],
      },
      ssh: { alpha: { ...ssh(0), configFile: "fleet.ssh_config" }, beta: ssh(2) },
      backendOptions: { beta: { socket: join(dir, "beta.sock") } },
      stateDir: join(dir, "local"),
      cwd: work,
    });
    expect((await relative.start()).every((r) => r.ok)).toBe(true);
    const id = relative.runId;
    const recordPath = join(dir, "local", "managers", "TmuxRemoteManager", `${id}.json`);
    const before = (JSON.parse(readFileSync(recordPath, "utf8")) as ManagedRun).machines;
    expect(before.alpha?.connection).toMatchObject({ configFile: cfg, port: d.ports[0] });
    expect(before.beta?.backendOptions).toEqual({ socket: join(dir, "beta.sock") });

    // Another process, another directory, knowing nothing but the run id.
    const notices: string[] = [];
    const later = new TmuxRemoteManager({
      machineLayouts: {},
      stateDir: join(dir, "local"),
      onNotice: (n) => notices.push(n),
    });
    await later.load(id);
    const killed = await later.killSession("one", "alpha");
    expect(killed).toMatchObject({ ok: true, outcome: "killed" });
    const after = (JSON.parse(readFileSync(recordPath, "utf8")) as ManagedRun).machines;
    expect(after).toEqual(before);
    const status = await later.checkAllSessionsStatus();
    expect(status.sessions.map((s) => `${s.machine}:${s.session}:${s.exists}`).sort()).toEqual([
      "alpha:two:true",
      "beta:three:true",
    ]);
    expect(notices).toEqual([]);

    // The config file changes: the next command that reaches the run says so.
    appendFileSync(cfg, "# changed\n");
    const third = new TmuxRemoteManager({
      machineLayouts: {},
      stateDir: join(dir, "local"),
      onNotice: (n) => notices.push(n),
    });
    await third.load(id);
    // Said when the machine is first reached, once, not on load (review H30-4: ls said it too).
    expect(notices).toEqual([]);
    const all = await third.killAllSessions();
    expect(all.map((k) => `${k.machine}:${k.name}:${k.ok}`).sort()).toEqual([
      "alpha:two:true",
      "beta:three:true",
    ]);
    expect(notices).toEqual([
      `alpha: the ssh config file ${cfg} changed since this run started; mc uses it as it is now`,
    ]);
  });

  it("a name that now reaches another machine runs nothing there: status says so, kill keeps the record (review H8-6)", async () => {
    const run = new TmuxRemoteManager({
      machineLayouts: { alpha: [layout("pinned", "sleep 30", work)] },
      ssh: { alpha: ssh(0) },
      stateDir: join(dir, "local"),
    });
    expect((await run.start()).every((r) => r.ok)).toBe(true);
    const recordPath = join(dir, "local", "managers", "TmuxRemoteManager", `${run.runId}.json`);
    const rec = JSON.parse(readFileSync(recordPath, "utf8")) as ManagedRun;
    const pin = (rec.machines.alpha!.connection as { expectMachine?: { id: string; uid: string } })
      .expectMachine;
    expect(pin).toEqual({
      id: readFileSync("/etc/machine-id", "utf8").trim(),
      uid: String(process.getuid!()),
    });
    // As if the alias now led to another box: the run's machine is not the one that answers.
    (rec.machines.alpha!.connection as { expectMachine: { id: string } }).expectMachine.id =
      "another-machine";
    writeFileSync(recordPath, JSON.stringify(rec));
    const later = new TmuxRemoteManager({ machineLayouts: {}, stateDir: join(dir, "local") });
    await later.load(run.runId);
    const status = await later.checkAllSessionsStatus();
    expect(status.machines).toEqual([
      expect.objectContaining({
        machine: "alpha",
        reachable: false,
        error: expect.stringMatching(/now reaches another machine/),
      }),
    ]);
    expect(status.sessions[0]!.tabs[0]!.state).toBe("unknown");
    const k = await later.killSession("pinned", "alpha");
    expect(k).toMatchObject({ ok: false, code: "SSH_UNREACHABLE" });
    expect(sessions(0)).toContain("pinned");
    expect((await later.listSaved()).find((r) => r.id === run.runId)?.sessions.map((x) => x.name)).toEqual([
      "pinned",
    ]);
    await run.killAllSessions();
    expect(sessions(0)).not.toContain("pinned");
  });
});
