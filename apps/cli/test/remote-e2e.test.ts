import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HAVE_SSHD, type PrivateSshd, privateSshd } from "@mc/remote/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeSandbox, runCli } from "./cli.js";

describe.skipIf(!HAVE_SSHD)("sessions --host (built binary, real sshd on 127.0.0.1, real tmux)", () => {
  let sshd: PrivateSshd;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const sock = (m: string) => join(dir, `tmux-${m}`);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mc-cli-remote-"));
    sshd = await privateSshd(2, { serverEnv: { SHELL: "/bin/sh", MC_STATE_DIR: join(dir, "remote-state") } });
    const cfg = ["alpha", "beta"].map((m, i) =>
      [
        `Host ${m}`,
        "  HostName 127.0.0.1",
        `  Port ${sshd.ports[i]}`,
        "  User root",
        `  IdentityFile ${sshd.key}`,
        "  IdentitiesOnly yes",
        "  StrictHostKeyChecking no",
        "  UserKnownHostsFile /dev/null",
        "  LogLevel ERROR",
      ].join("\n"),
    );
    writeFileSync(join(dir, "ssh_config"), `${cfg.join("\n")}\n`);
    env = { ...process.env, MC_STATE_DIR: join(dir, "local-state"), NO_COLOR: "1", SHELL: "/bin/sh" };
    delete env.TMUX;
    mkdirSync(join(dir, "work"));
  });
  afterAll(() => {
    for (const m of ["shared"]) {
      try {
        execFileSync("tmux", ["-S", sock(m), "kill-server"]);
      } catch {}
    }
    sshd?.stop();
    // Tab wrappers may still be writing their last record as the server goes: retry the removal.
    removeSandbox(dir);
  });

  const sessions = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
    runCli(args, { env: { ...env, ...extraEnv }, cwd: dir });

  it("runs the same layout on two machines, monitors them in one table, and kills what it started", async () => {
    const f = join(dir, "remote.json");
    writeFileSync(
      f,
      JSON.stringify({
        version: "0.1",
        layouts: [
          {
            layoutName: "job",
            layoutTabs: [
              { tabName: "a", startDir: join(dir, "work"), command: "echo from-a; sleep 0.3; exit 2" },
              { tabName: "b", startDir: join(dir, "work"), command: "sleep 30" },
            ],
          },
        ],
      }),
    );
    // Both "machines" are this one and share a tmux server, so beta's start meets alpha's session: rename.
    const ssh = ["--ssh-config", join(dir, "ssh_config")];
    const a = await sessions(["run", f, "--host", "alpha", "--socket", sock("shared"), ...ssh, "--json"]);
    expect(a.code, a.stderr).toBe(0);
    const started = JSON.parse(a.stdout);
    expect(started.batches[0].machines).toEqual([expect.objectContaining({ machine: "alpha", ok: true })]);
    const b = await sessions([
      "run",
      f,
      "--host",
      "beta",
      "--socket",
      sock("shared"),
      ...ssh,
      "--on-conflict",
      "rename",
      "--json",
    ]);
    expect(b.code, b.stderr).toBe(0);
    expect(JSON.parse(b.stdout).batches[0].machines[0].sessions[0].name).toBe("job_1");

    // Tab a ends after 0.3 s: ask until both machines report it ended (ssh is slow on a loaded machine).
    const done = (out: string) => {
      const doc = JSON.parse(out) as { sessions: { tabs: { state: string }[] }[] };
      return doc.sessions.length === 2 && doc.sessions.every((s) => s.tabs[0]?.state === "exited");
    };
    const end = Date.now() + 30_000;
    let asked = await sessions(["status", "--json"]);
    while (asked.code === 0 && !done(asked.stdout) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
      asked = await sessions(["status", "--json"]);
    }
    const status = JSON.parse(asked.stdout);
    const rows = status.sessions.map((s: { host: string; session: string; tabs: { state: string }[] }) => [
      s.host,
      s.session,
      s.tabs.map((t) => t.state),
    ]);
    expect(rows.sort((x: string[], y: string[]) => String(x[0]).localeCompare(String(y[0])))).toEqual([
      ["ssh:alpha", "job", ["exited", "running"]],
      ["ssh:beta", "job_1", ["exited", "running"]],
    ]);
    const table = (await sessions(["status"])).stdout;
    expect(table).toMatch(/HOST\s+SESSION\s+SOCKET\s+TAB/);
    expect(table).toMatch(/alpha\s+job\s+\S+\s+a\s+exited\s+2/);

    const attach = await sessions(["attach", "job_1", "--print"]);
    expect(attach.stdout).toContain("beta");
    expect(attach.stdout).toContain("attach-session");

    const ls = JSON.parse((await sessions(["ls", "--json"])).stdout).runs;
    expect(ls.map((r: { host: string; session: string }) => `${r.host}:${r.session}`).sort()).toEqual([
      "alpha:job",
      "beta:job_1",
    ]);

    expect((await sessions(["kill", "job", "--host", "alpha"])).code).toBe(0);
    expect((await sessions(["kill", "--all"])).code).toBe(0);
    // Killed sessions are history (their logs stay on their machines) until pruned over the same ssh.
    const after = JSON.parse((await sessions(["ls", "--json"])).stdout).runs;
    expect(after.map((r: { live: boolean; ended?: { by: string } }) => [r.live, r.ended?.by])).toEqual([
      [false, "killed"],
      [false, "killed"],
    ]);
    const logs = await sessions(["logs", "job_1/a", "--host", "beta"]);
    expect(logs.code, logs.stderr).toBe(0);
    // What the tab printed, read on beta through the same ssh connection.
    expect(logs.stdout).toContain("from-a");
    expect((await sessions(["ls", "--prune"])).code).toBe(0);
    expect(JSON.parse((await sessions(["ls", "--json"])).stdout).runs).toEqual([]);
    // Every session is gone, so the tmux server has exited (list-sessions fails) or lists nothing.
    let left = "";
    try {
      left = execFileSync("tmux", ["-S", sock("shared"), "list-sessions", "-F", "#{session_name}"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim();
    } catch {}
    expect(left).toBe("");
  });

  it("attach NAME --host M of a session mc did not start attaches there, over ssh, never to a local namesake (review H16-3)", async () => {
    const hand = sock("hand");
    const ssh = ["--ssh-config", join(dir, "ssh_config")];
    execFileSync("tmux", ["-S", hand, "-f", "/dev/null", "new-session", "-d", "-s", "work", "sleep 600"]);
    try {
      const r = await sessions(["attach", "work", "--host", "alpha", "--socket", hand, ...ssh, "--print"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^ssh /);
      expect(r.stdout).toContain("alpha");
      expect(r.stdout).toContain("attach-session");
      const j = await sessions(["attach", "work", "--host", "alpha", "--socket", hand, ...ssh, "--json"]);
      expect(JSON.parse(j.stdout)).toMatchObject({ session: "work", machine: "alpha" });
      const none = await sessions([
        "attach",
        "nosuch",
        "--host",
        "alpha",
        "--socket",
        hand,
        ...ssh,
        "--print",
      ]);
      expect(none.code).toBe(5);
      expect(none.stderr).toContain("alpha");
    } finally {
      try {
        execFileSync("tmux", ["-S", hand, "kill-server"]);
      } catch {}
    }
  });

  it("attach --host without a name offers every session there, mc's with #{…} and #(…) in the name too (review H38-4)", async () => {
    const f = join(dir, "pick.json");
    const odd = "L'$(touch_x);#{host}#(touch_y)";
    writeFileSync(
      f,
      JSON.stringify({
        version: "0.1",
        layouts: [odd, "plainpick"].map((layoutName) => ({
          layoutName,
          layoutTabs: [{ tabName: "t", startDir: join(dir, "work"), command: "sleep 60" }],
        })),
      }),
    );
    const ssh = ["--ssh-config", join(dir, "ssh_config")];
    const s = sock("pick");
    expect((await sessions(["run", f, "--host", "alpha", "--socket", s, ...ssh])).code).toBe(0);
    try {
      execFileSync("tmux", ["-S", s, "new-session", "-d", "-s", "foreignpick", "sleep 60"]);
      const r = await sessions(["attach", "--host", "alpha", "--socket", s, ...ssh, "--print"]);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`${odd} (alpha)  [mc]`);
      expect(r.stderr).toContain("plainpick (alpha)  [mc]");
      expect(r.stderr).toContain("foreignpick");
      // Without --host, --socket names this machine's server: the same path on alpha is another one
      // (review H45-5: kill --all --socket reached alpha's sessions).
      const here = await sessions(["kill", "--all", "--socket", s]);
      expect(here.stderr).toMatch(/nothing to kill/);
      execFileSync("tmux", ["-S", s, "has-session", "-t", "=plainpick"]);
    } finally {
      await sessions(["kill", "--all", "--host", "alpha"]);
      try {
        execFileSync("tmux", ["-S", s, "kill-server"]);
      } catch {}
    }
  });

  it("status of a machine that answers that its tmux server is not running exits 0, as locally (review H16-2)", async () => {
    const f = join(dir, "gone.json");
    writeFileSync(
      f,
      JSON.stringify({
        version: "0.1",
        layouts: [
          {
            layoutName: "gone",
            layoutTabs: [{ tabName: "a", startDir: join(dir, "work"), command: "sleep 30" }],
          },
        ],
      }),
    );
    const ssh = ["--ssh-config", join(dir, "ssh_config")];
    const s = sock("gone");
    expect((await sessions(["run", f, "--host", "alpha", "--socket", s, ...ssh])).code).toBe(0);
    execFileSync("tmux", ["-S", s, "kill-server"]);
    const st = await sessions(["status", "gone", "--host", "alpha"]);
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toMatch(/gone\s+a\s+(killed|missing)/);
    expect((await sessions(["kill", "gone", "--host", "alpha"])).code).toBe(0);
    await sessions(["ls", "--prune"]);
  });

  it("a machine that cannot be reached is reported and the others carry on", async () => {
    const f = join(dir, "one.json");
    writeFileSync(
      f,
      JSON.stringify({
        version: "0.1",
        layouts: [
          {
            layoutName: "solo",
            layoutTabs: [{ tabName: "t", startDir: join(dir, "work"), command: "exit 0" }],
          },
        ],
      }),
    );
    writeFileSync(
      join(dir, "ssh_config"),
      `${execFileSync("cat", [join(dir, "ssh_config")], { encoding: "utf8" })}Host nowhere\n  HostName 127.0.0.1\n  Port 1\n`,
    );
    const r = await sessions([
      "run",
      f,
      "--host",
      "alpha,nowhere",
      "--socket",
      sock("shared"),
      "--ssh-config",
      join(dir, "ssh_config"),
      "-m",
      "-k",
      "--interval",
      "0.2",
    ]);
    // 8, as that machine alone gives (review H53-5: 1), in its own words, not "[mc] [remote] info:".
    expect(r.code, r.stderr).toBe(8);
    expect(r.stderr).toMatch(/✗ nowhere: ssh:nowhere is unreachable/);
    expect(r.stderr).not.toContain("[mc]");
    expect(r.stderr).toMatch(/\n {2}hint: check that the machine is up/);
    expect(r.stderr).toMatch(/✓ alpha: solo/);
    expect(r.stdout).toMatch(/alpha: solo \/ t: exited 0/);
    // The one machine does not answer: its reason is said once, not again as the run's error (H74-9).
    const alone = await sessions(["run", f, "--host", "nowhere", "--ssh-config", join(dir, "ssh_config")]);
    expect(alone.code, alone.stderr).toBe(8);
    expect(alone.stderr.match(/is unreachable/g), alone.stderr).toHaveLength(1);
    expect(alone.stderr).toContain("error: no machine started its sessions (why is said above)");
  });

  it("status and kill of a machine that does not answer exit 8; kill keeps the session in mc's records (review H5-17)", async () => {
    const f = join(dir, "gone.json");
    writeFileSync(
      f,
      JSON.stringify({
        version: "0.1",
        layouts: [
          {
            layoutName: "far",
            layoutTabs: [{ tabName: "t", startDir: join(dir, "work"), command: "sleep 60" }],
          },
          {
            layoutName: "far2",
            layoutTabs: [{ tabName: "t", startDir: join(dir, "work"), command: "sleep 60" }],
          },
        ],
      }),
    );
    const ssh = ["--ssh-config", join(dir, "ssh_config")];
    const r = await sessions(["run", f, "--host", "alpha", "--socket", sock("far"), ...ssh]);
    expect(r.code, r.stderr).toBe(0);
    // An ended session there: pruning its files needs the machine.
    expect((await sessions(["kill", "far2"])).code).toBe(0);
    // A local run that ended: ls --prune removes it even while the remote machine does not answer.
    const near = join(dir, "near.json");
    writeFileSync(
      near,
      JSON.stringify({
        version: "0.1",
        layouts: [{ layoutName: "near", layoutTabs: [{ tabName: "t", startDir: dir, command: "sleep 60" }] }],
      }),
    );
    expect((await sessions(["run", near, "--socket", sock("near")])).code).toBe(0);
    expect((await sessions(["kill", "near"])).code).toBe(0);
    sshd.kill();
    try {
      const pruned = await sessions(["ls", "--prune", "--json"]);
      expect(pruned.code, pruned.stderr).toBe(8);
      expect(JSON.parse(pruned.stdout).notPruned?.length ?? 0).toBeGreaterThan(0);
      // The list it prints is what is left (review H48-4: it was the list from before the prune).
      expect(JSON.parse(pruned.stdout).runs.map((x: { session: string }) => x.session)).not.toContain("near");
      expect(
        JSON.parse((await sessions(["ls", "--json"])).stdout).runs.map((x: { session: string }) => x.session),
      ).not.toContain("near");
      // The table's STATE cell is short (the whole ssh error made it ~100 wide, review H16-6); --json has it.
      const table = (await sessions(["ls"])).stdout;
      const cell =
        /unreachable: .*/.exec(table.split("\n").find((l) => l.startsWith("far ")) ?? "")?.[0] ?? "";
      expect(cell).toMatch(/^unreachable: /);
      expect(cell.split(/\s{2,}/)[0]!.length).toBeLessThanOrEqual("unreachable: ".length + 40);
      const st = await sessions(["status", "far"]);
      expect(st.code, st.stderr).toBe(8);
      expect(st.stdout).toMatch(/far\s+t\s+unknown/);
      // wait says the machine does not answer, and a timeout then is 8 (review H38-3: silent, then 7).
      const w = await sessions(["wait", "far", "--timeout", "4"]);
      expect(w.code, w.stderr).toBe(8);
      expect(w.stderr).toMatch(/! alpha did not answer \(.*\); still waiting for its sessions/);
      expect(w.stderr).toMatch(/not every tab finished within 4 s: alpha did not answer/);
      for (const args of [
        ["kill", "far"],
        ["kill", "--all"],
      ]) {
        const k = await sessions(args);
        expect(k.code, k.stderr).toBe(8);
        expect(k.stderr).toMatch(/✗ far on alpha \(tmux socket \S+tmux-far\): .*it stays in mc's records/);
      }
    } finally {
      await sshd.start();
    }
    expect((await sessions(["kill", "far"])).code).toBe(0);
  });

  it("a machine whose tmux does not answer: status and kill both exit 8, nothing called gone (review H30-7)", async () => {
    const f = join(dir, "hung.json");
    writeFileSync(
      f,
      JSON.stringify({
        version: "0.1",
        layouts: [
          {
            layoutName: "hung",
            layoutTabs: [{ tabName: "t", startDir: join(dir, "work"), command: "sleep 90" }],
          },
        ],
      }),
    );
    const s = sock("hung");
    const r = await sessions([
      "run",
      f,
      "--host",
      "alpha",
      "--socket",
      s,
      "--ssh-config",
      join(dir, "ssh_config"),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const pid = Number(
      execFileSync("tmux", ["-S", s, "display-message", "-p", "#{pid}"], { encoding: "utf8" }),
    );
    process.kill(pid, "SIGSTOP");
    try {
      // Each tmux call bounded at 3 s (MC_TMUX_TIMEOUT), so the ssh call's at 13 s, not 25.
      const bound = { MC_TMUX_TIMEOUT: "3" };
      const [st, k] = await Promise.all([
        sessions(["status", "hung"], bound),
        sessions(["kill", "hung"], bound),
      ]);
      expect(st.code, st.stderr).toBe(8);
      expect(k.code, k.stderr).toBe(8);
      expect(k.stderr).toMatch(
        /✗ hung on alpha \(tmux socket \S+tmux-hung\): .*no answer within 13000 ms.*it stays in mc's records/,
      );
    } finally {
      process.kill(pid, "SIGCONT");
    }
    expect((await sessions(["kill", "hung"])).code).toBe(0);
  }, 120_000);

  it("refuses a host that would be read as an ssh option, before running ssh", async () => {
    const f = join(dir, "one.json");
    const r = await sessions([
      "run",
      f,
      "--host",
      "-oProxyCommand=touch /tmp/mc-pwned",
      "--socket",
      sock("shared"),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error:");
  });
});
