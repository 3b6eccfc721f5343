import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HAVE_SSHD, type PrivateSshd, privateSshd } from "@mc/remote/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../../packages/tmux/test/harness.js";
import { BIN, removeSandbox, runCli } from "./cli.js";

/**
 * A port that accepts TCP connections and never says a word: a machine whose sshd hangs (SIGSTOPped, an
 * rc file waiting on NFS). ssh waits out its ConnectTimeout (10 s) there. Counts the connections it got.
 */
async function blackHole(port: number): Promise<{ connections: () => number; close: () => Promise<void> }> {
  const held: Socket[] = [];
  let count = 0;
  // The killed sshd may hold the port a moment longer (SIGKILL is not instant): tried again for a while.
  const end = Date.now() + 5000;
  let srv: Server;
  for (;;) {
    srv = createServer((s) => {
      count++;
      held.push(s);
    });
    const e = await new Promise<Error | undefined>((resolve) => {
      srv.once("error", resolve);
      srv.listen(port, "127.0.0.1", () => resolve(undefined));
    });
    if (!e) break;
    if (Date.now() > end) throw e;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    connections: () => count,
    close: async () => {
      for (const s of held) s.destroy();
      await new Promise((r) => srv.close(r));
    },
  };
}

describe.skipIf(!HAVE_SSHD)(
  "--host and a name limit the machines mc contacts (review H53, real sshd)",
  () => {
    const names = ["alpha", "beta"] as const;
    const sshd: Partial<Record<(typeof names)[number], PrivateSshd>> = {};
    let dir: string;
    let env: NodeJS.ProcessEnv;
    let hole: Awaited<ReturnType<typeof blackHole>> | undefined;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "mc-cli-scope-"));
      // One sshd each, so that beta alone can go down; each its own tmux server and state (two machines).
      for (const m of names) {
        mkdirSync(join(dir, m, "tmux"), { recursive: true });
        sshd[m] = await privateSshd(1, {
          serverEnv: {
            SHELL: "/bin/sh",
            MC_STATE_DIR: join(dir, m, "state"),
            TMUX_TMPDIR: join(dir, m, "tmux"),
          },
        });
      }
      const cfg = names.map((m) =>
        [
          `Host ${m}`,
          "  HostName 127.0.0.1",
          `  Port ${sshd[m]!.ports[0]}`,
          "  User root",
          `  IdentityFile ${sshd[m]!.key}`,
          "  IdentitiesOnly yes",
          "  StrictHostKeyChecking no",
          "  UserKnownHostsFile /dev/null",
          "  LogLevel ERROR",
        ].join("\n"),
      );
      writeFileSync(join(dir, "ssh_config"), `${cfg.join("\n")}\n`);
      mkdirSync(join(dir, "local-tmp"));
      // Its own control sockets (TMPDIR): none of another test's masters to beta survive beta's fall.
      env = {
        ...process.env,
        MC_STATE_DIR: join(dir, "local-state"),
        TMPDIR: join(dir, "local-tmp"),
        NO_COLOR: "1",
        SHELL: "/bin/sh",
      };
      delete env.TMUX;
      mkdirSync(join(dir, "work"));
    });
    afterAll(async () => {
      await hole?.close();
      for (const m of names) {
        for (const sock of [join(dir, m, "tmux", "tmux-0", "default"), join(dir, m, "sk")])
          try {
            execFileSync("tmux", ["-S", sock, "kill-server"], { stdio: "ignore" });
          } catch {}
        sshd[m]?.stop();
      }
      removeSandbox(dir);
    });

    const sessions = (args: string[]) => runCli(args, { env, cwd: dir });
    /** A command, and how long it took (ms). */
    const timed = async (args: string[]) => {
      const t0 = Date.now();
      const r = await sessions(args);
      return { ...r, ms: Date.now() - t0 };
    };
    const layout = (file: string, name: string, tabs: { tabName: string; command: string }[]) => {
      const f = join(dir, file);
      const layoutTabs = tabs.map((t) => ({ ...t, startDir: join(dir, "work") }));
      writeFileSync(f, JSON.stringify({ version: "0.1", layouts: [{ layoutName: name, layoutTabs }] }));
      return f;
    };
    const ssh = () => ["--ssh-config", join(dir, "ssh_config")];

    it("a machine named twice in --host runs the layouts once, and the run says so", async () => {
      const dd = layout("dd.json", "dd", [
        { tabName: "t", command: "true" },
        { tabName: "t2", command: "sleep 1" },
      ]);
      const r = await sessions([
        "run",
        dd,
        "--host",
        "alpha,alpha",
        "--host",
        " alpha",
        "--max-parallel-tabs",
        "1",
        ...ssh(),
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(
        /warning: --host alpha given more than once: each machine runs the layouts once/,
      );
      // The scheduler's lines name the machine too (review HR89-3).
      expect(r.stderr).toMatch(/▶ alpha: dd \/ t2/);
      const sr = await sessions(["status", "--host", "alpha", "--json"]);
      expect(sr.code, sr.stderr).toBe(0);
      const st = JSON.parse(sr.stdout);
      expect(st.sessions.map((x: { session: string }) => x.session)).toEqual(["dd"]);
      expect((await sessions(["kill", "dd", "--host", "alpha"])).code).toBe(0);
    }, 60_000);

    it("run -m asks a machine again after a poll it did not answer: it ends with the tabs' outcome once the machine is back (review HR89-1)", async () => {
      const out = layout("outage.json", "outage", [{ tabName: "t", command: "sleep 9; exit 3" }]);
      const child = spawn(
        process.execPath,
        [BIN, "run", out, "--host", "alpha", "-m", "--interval", "1", ...ssh()],
        {
          env,
          cwd: dir,
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let err = "";
      child.stdout.on("data", (d) => {
        err += d;
      });
      child.stderr.on("data", (d) => {
        err += d;
      });
      const code = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
      try {
        await waitFor(
          async () => err,
          (e) => /outage \/ t: running/.test(e),
          30_000,
        );
        // The machine goes away for a few seconds: at least one look fails.
        sshd.alpha!.kill();
        await waitFor(
          async () => err,
          (e) => /alpha: not answering/.test(e),
          30_000,
        );
        await sshd.alpha!.start();
        // It ended (exit 3) meanwhile or ends now: the run says so and exits 10. On the old code the
        // machine was never asked again, and the run watched for ever.
        const c = await Promise.race([
          code,
          new Promise((r) => setTimeout(() => r("still watching"), 40_000)),
        ]);
        expect(c, err).toBe(10);
        expect(err).toMatch(/outage \/ t: exited 3/);
      } finally {
        child.kill("SIGKILL");
        await sessions(["kill", "outage", "--host", "alpha"]);
      }
    }, 120_000);

    it("status, attach --print, rerun and wait for alpha never contact beta, which does not answer (H53-1)", async () => {
      const rw = layout("rw.json", "rw", [
        { tabName: "ok", command: "exit 0" },
        { tabName: "bad", command: "exit 5" },
      ]);
      const solo = layout("solo.json", "solo", [{ tabName: "t", command: "sleep 120" }]);
      const a = await sessions(["run", rw, "--host", "alpha,beta", ...ssh()]);
      expect(a.code, a.stderr).toBe(0);
      const b = await sessions(["run", solo, "--host", "alpha", ...ssh()]);
      expect(b.code, b.stderr).toBe(0);
      // Both of alpha's rw tabs finished (asked while beta still answers).
      const end = Date.now() + 30_000;
      for (;;) {
        const st = await sessions(["status", "rw", "--host", "alpha", "--json"]);
        const tabs = (JSON.parse(st.stdout).sessions[0]?.tabs ?? []) as { state: string }[];
        if (tabs.length === 2 && tabs.every((t) => t.state === "exited")) break;
        expect(Date.now(), st.stderr).toBeLessThan(end);
        await new Promise((r) => setTimeout(r, 300));
      }

      // beta goes silent: its sshd (and with it mc's shared connection there) dies, and its port takes
      // connections that never get an answer, so a command that contacts it waits 10 s (ConnectTimeout).
      sshd.beta!.kill();
      hole = await blackHole(sshd.beta!.ports[0]!);
      // Under one ConnectTimeout (10 s: what contacting beta costs at least), with room for a loaded machine.
      const FAST = 9000;

      const st = await timed(["status", "rw", "--host", "alpha", "--json"]);
      expect(st.code, st.stderr).toBe(0);
      expect(JSON.parse(st.stdout).sessions.map((s: { machine: string }) => s.machine)).toEqual(["alpha"]);
      expect(st.ms).toBeLessThan(FAST);
      // A name narrows too: solo is only on alpha, though another run (rw) also has beta.
      const named = await timed(["status", "solo"]);
      expect(named.code, named.stderr).toBe(0);
      expect(named.stdout).toMatch(/alpha\s+solo\s+t\s+running/);
      expect(named.ms).toBeLessThan(FAST);
      const at = await timed(["attach", "rw", "--host", "alpha", "--print"]);
      expect(at.code, at.stderr).toBe(0);
      expect(at.stdout).toContain("alpha");
      expect(at.ms).toBeLessThan(FAST);
      const re = await timed(["rerun", "rw/bad", "--host", "alpha"]);
      expect(re.code, re.stderr).toBe(0);
      expect(re.stderr).toMatch(/rw\/bad: attempt 2 started/);
      expect(re.ms).toBeLessThan(FAST);
      // The rerun's `exit 5` ends at once: wait says the tab failed (not that a machine did not answer).
      const w = await timed(["wait", "rw", "--host", "alpha", "--timeout", "20"]);
      expect(w.stderr).not.toMatch(/did not answer/);
      expect(w.code, w.stderr).toBe(10);
      expect(w.ms).toBeLessThan(FAST);
      expect(hole.connections()).toBe(0);

      // The control: without --host, rw is on beta too, which is asked, and its silence is said (exit 8).
      const all = await timed(["status", "rw"]);
      expect(all.code, all.stderr).toBe(8);
      expect(hole.connections()).toBeGreaterThan(0);
      expect(all.ms).toBeGreaterThanOrEqual(9000);
    }, 120_000);

    it("kill --all waits out a silent machine once, not once per run and step, and names each tmux server (H53-2)", async () => {
      // beta answers again (when the test before left it silent), for the runs that put sessions there.
      if (hole) {
        await hole.close();
        hole = undefined;
        await sshd.beta!.start();
      }
      const kx = layout("kx.json", "kx", [{ tabName: "t", command: "sleep 120" }]);
      const started = [
        ["--host", "alpha,beta"],
        ["--host", "alpha", "--socket", join(dir, "alpha", "sk")],
        ["--host", "beta", "--socket", join(dir, "beta", "sk")],
      ];
      for (const args of started) {
        const r = await sessions(["run", kx, ...args, ...ssh()]);
        expect(r.code, r.stderr).toBe(0);
      }
      const kz = layout("kz.json", "kz", [{ tabName: "t", command: "sleep 120" }]);
      expect((await sessions(["run", kz, "--host", "beta", ...ssh()])).code).toBe(0);
      // Three runs (four with the test before) have a session on beta; beta goes silent again.
      sshd.beta!.kill();
      hole = await blackHole(sshd.beta!.ports[0]!);
      // One connect timeout (10 s) and the rest (~12 s here); before, each run's each step waited it out again
      // (30 s for ls and for kill here): under that, with room for a loaded machine.
      const ONCE = 24_000;
      // ls asks the runs one after another: beta's silence said for each, waited for once.
      const ls = await timed(["ls", "--json"]);
      // A partial listing: 8, as status (review H60-6 read 0).
      expect(ls.code, ls.stderr).toBe(8);
      const onBeta = JSON.parse(ls.stdout).runs.filter((r: { host: string }) => r.host === "beta");
      expect(onBeta.length).toBeGreaterThanOrEqual(3);
      for (const r of onBeta) expect(r.unreachable).toMatch(/ssh:beta is unreachable/);
      expect(ls.ms).toBeLessThan(ONCE);

      const k = await timed(["kill", "--all"]);
      expect(k.code, k.stderr).toBe(8);
      const lines = k.stderr.split("\n");
      const sk = (m: string) => ` (tmux socket ${join(dir, m, "sk")})`;
      // Each of beta's sessions is said not killed, and kept; alpha's two kx, on two servers, are told apart.
      const failed = lines.filter((l) => l.startsWith("✗ "));
      expect(failed.length, k.stderr).toBe(onBeta.length);
      for (const l of failed)
        expect(l).toMatch(/ on beta.*: ssh:beta is unreachable: .*; it stays in mc's records$/);
      for (const what of ["kz on beta", "kx on beta", `kx on beta${sk("beta")}`])
        expect(failed.filter((l) => l.startsWith(`✗ ${what}: `)).length, k.stderr).toBe(1);
      for (const what of ["kx on alpha", `kx on alpha${sk("alpha")}`])
        expect(lines, k.stderr).toContain(`✓ killed ${what}`);
      expect(k.ms).toBeLessThan(ONCE);

      // Once beta answers, what stayed in the records is killed.
      await hole.close();
      hole = undefined;
      await sshd.beta!.start();
      const again = await sessions(["kill", "--all"]);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toContain(`✓ killed kx on beta${sk("beta")}`);
    }, 180_000);

    it("run waits out a silent machine once, not once per step of its start, and starts the other (review HR80-1, HR80-3)", async () => {
      if (!hole) {
        sshd.beta!.kill();
        hole = await blackHole(sshd.beta!.ports[0]!);
      }
      const before = hole.connections();
      const sx = layout("sx.json", "sx", [{ tabName: "t", command: "sleep 120" }]);
      const r = await timed(["run", sx, "--host", "alpha,beta", "--on-conflict", "rename", ...ssh()]);
      // 8, as that machine alone gives.
      expect(r.code, r.stderr).toBe(8);
      expect(r.stderr).toMatch(/✓ alpha: sx/);
      expect(r.stderr).toMatch(/✗ beta: ssh:beta is unreachable/);
      // Asked once: who it is, its lock and its start each opened a connection there, each waited 10 s.
      expect(hole.connections() - before).toBe(1);
      expect(r.ms).toBeLessThan(24_000);
      // Not another run's lock: nobody else is starting anything (review HR80-2).
      expect(r.stderr).not.toMatch(/another sessions run/);
      expect((await sessions(["kill", "sx", "--host", "alpha"])).code).toBe(0);
    }, 120_000);
  },
);
