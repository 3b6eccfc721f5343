// Issue #20 §4 (kill tells the truth and leaves nothing running), §5 (locks decided by the machine that
// holds them) and the clock-skew part of §7, over one private sshd: port 0 is a plain machine, port 1 a
// machine whose clock runs two hours ahead (libfaketime in its sessions' environment).
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  isMcError,
  type LayoutConfig,
  type ManagedRun,
  parseSweep,
  TAB_MARKER_VAR,
  tabMarker,
} from "@mc/core";
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from "vitest";
import { type SshHost, sshHost } from "../src/index.js";
import { HAVE_SSHD, type PrivateSshd, privateSshd } from "../src/testing.js";
import { TmuxRemoteManager } from "../src/tmux.js";

const FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
const HAVE_FAKETIME = existsSync(FAKETIME);
if (!HAVE_FAKETIME)
  console.warn(
    `[mc remote] ${FAKETIME} is missing (apt install faketime): the skewed-clock checks are skipped`,
  );
const SKEW_MS = 2 * 3600_000;

const layout = (name: string, command: string, dir: string): LayoutConfig => ({
  layoutName: name,
  layoutTabs: [{ tabName: "t", startDir: dir, command }],
});

/** Pids on this machine whose environment carries a marker of these run directories. */
function marked(runDirs: string[]): number[] {
  const want = runDirs.map((r) => `${TAB_MARKER_VAR}=${tabMarker(r, 0)}`);
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, "utf8")
          .split("\0")
          .some((x) => want.includes(x));
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(!HAVE_SSHD)("kill, locks and clocks", () => {
  let d: PrivateSshd;
  let dir: string;
  let work: string;
  const sock = join(tmpdir(), `mc-kill-${process.pid}.sock`);
  const fakeTmux = () => join(dir, "tmux-wrapper");
  const options = (i: number, extra: object = {}) => ({
    machineLayouts: {} as Record<string, LayoutConfig[]>,
    ssh: {
      "*": {
        target: "127.0.0.1",
        ...d.options(d.ports[i]!, { env: { SHELL: "/bin/sh" }, stateDir: join(dir, `state-${i}`) }),
      },
    },
    backendOptions: { "*": { socket: sock, tmux: fakeTmux() } },
    stateDir: join(dir, "local"),
    sessionNamePrefix: "k",
    ...extra,
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mc-kill-"));
    work = join(dir, "work");
    mkdirSync(work);
    // A tmux that answers like a server of another version while the flag file exists.
    writeFileSync(
      fakeTmux(),
      `#!/bin/sh\n[ -e ${dir}/mismatch ] && { echo "protocol version mismatch (client 8, server 7)" >&2; exit 1; }\nexec tmux "$@"\n`,
    );
    chmodSync(fakeTmux(), 0o755);
    const skewed = HAVE_FAKETIME
      ? { LD_PRELOAD: FAKETIME, FAKETIME: "+2h", FAKETIME_DONT_FAKE_MONOTONIC: "1" }
      : {};
    d = await privateSshd(2, { portEnv: { 1: skewed } });
  });
  afterAll(() => {
    for (const s of [sock, `${sock}.skewed`]) {
      try {
        execFileSync("tmux", ["-S", s, "kill-server"], { stdio: "ignore" });
      } catch {}
      rmSync(s, { force: true });
    }
    d.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("only a live server's 'no such session' reads as gone: unreachable and protocol mismatch are errors, the record stays", async () => {
    const run = new TmuxRemoteManager(
      options(0, { machineLayouts: { alpha: [layout("a", "sleep 30", work)] } }),
    );
    expect((await run.start()).every((r) => r.ok)).toBe(true);
    const record = () =>
      (
        JSON.parse(
          readFileSync(join(dir, "local", "managers", "TmuxRemoteManager", `${run.runId}.json`), "utf8"),
        ) as ManagedRun
      ).sessions.map((s) => s.name);
    writeFileSync(join(dir, "mismatch"), "");
    const mismatch = await run.killSession("k_a", "alpha");
    expect(mismatch).toMatchObject({ ok: false });
    expect(mismatch.error).toMatch(/protocol version mismatch/);
    expect(record()).toEqual(["k_a"]);
    unlinkSync(join(dir, "mismatch"));
    d.kill();
    try {
      const down = await run.killSession("k_a", "alpha");
      expect(down.ok).toBe(false);
      expect(down.error).toMatch(/ssh:alpha is unreachable|dropped/);
      expect(record()).toEqual(["k_a"]);
    } finally {
      await d.start();
    }
    expect(await run.killSession("k_a", "alpha")).toMatchObject({ ok: true, outcome: "killed" });
    // Killed: out of the live list (its logs and records stay, as the run's history).
    expect(record()).toEqual([]);
  });

  it("leaves nothing running: what a tab started with nohup, setsid or an ignored HUP/TERM is found and ended", async () => {
    const cmd =
      "setsid sleep 300 >/dev/null 2>&1 & nohup sleep 301 >/dev/null 2>&1 & (trap '' HUP TERM; exec sleep 302) >/dev/null 2>&1 & sleep 30";
    const run = new TmuxRemoteManager(options(0, { machineLayouts: { alpha: [layout("n", cmd, work)] } }));
    expect((await run.start()).every((r) => r.ok)).toBe(true);
    const runDir = run.managed[0]!.runDir;
    for (const end = Date.now() + 30_000; marked([runDir]).length < 4 && Date.now() < end; )
      await new Promise((r) => setTimeout(r, 100));
    // The tool's kill alone (what `kill` did before) leaves the three behind.
    expect(await run.backendOf("alpha").kill("k_n", run.managed[0])).toBe("killed");
    // The hung-up tab's own processes (its shell, its recorder's `sleep 0.05` and `mv`) go in their time.
    for (const end = Date.now() + 15_000; marked([runDir]).length > 3 && Date.now() < end; )
      await new Promise((r) => setTimeout(r, 100));
    const left = marked([runDir]);
    expect(left.length).toBe(3);
    const k = await run.killSession("k_n", "alpha");
    expect(k).toMatchObject({ ok: true, outcome: "gone" });
    expect(k.ended?.sort()).toEqual(left.sort());
    expect(marked([runDir])).toEqual([]);
    // A survivor (SIGKILL did not end it) is reported, as parsed from the sweep.
    expect(parseSweep("spared 5 tmux: server\nfound 7 8\nsurvivor 8 sleep 9\n")).toEqual({
      supported: true,
      ended: [7],
      survivors: [{ pid: 8, command: "sleep 9" }],
      spared: [{ pid: 5, command: "tmux: server" }],
    });
    expect(parseSweep("unsupported\n").supported).toBe(false);
  });

  it.skipIf(!HAVE_FAKETIME)(
    "a lock is decided by the host's clock: a client two hours ahead, or a host two hours ahead, cannot break it",
    async () => {
      const hostOf = (i: number) =>
        sshHost("127.0.0.1", d.options(d.ports[i]!, { stateDir: join(dir, `lock-${i}`) }));
      for (const i of [0, 1]) {
        const a = hostOf(i);
        const b = hostOf(i);
        const release = await a.lock("tmux-x", 5000);
        const now = Date.now();
        const t0 = performance.now();
        // This client's clock runs two hours ahead (and still moves, so its own lock timeout ends).
        const spy = vi.spyOn(Date, "now").mockImplementation(() => now + SKEW_MS + (performance.now() - t0));
        try {
          const e = await b.lock("tmux-x", 400).catch((x) => x);
          expect(isMcError(e, "TIMEOUT")).toBe(true);
        } finally {
          spy.mockRestore();
        }
        await release();
        await (await b.lock("tmux-x", 2000))();
      }
    },
  );

  it("an sshd killed mid-start: the first error is reported, and a later start gets the lock once its lease ends", async () => {
    // A 5 s lease (MC_LOCK_LEASE_SECONDS) instead of 30: the same expiry, a sixth of the wait.
    process.env.MC_LOCK_LEASE_SECONDS = "5";
    onTestFinished(() => {
      delete process.env.MC_LOCK_LEASE_SECONDS;
    });
    const layouts = ["s1", "s2", "s3"].map((n) => layout(n, "sleep 30", work));
    const run = new TmuxRemoteManager(options(0, { machineLayouts: { beta: layouts } }));
    const results = await run.start({
      delayBetweenMs: 400,
      onSessionStarted: (s) => {
        if (s.name === "k_s1") d.kill();
      },
    });
    await d.start();
    expect(results[0]!.ok).toBe(false);
    const err = !results[0]!.ok ? results[0]!.error : undefined;
    expect(err?.message).toMatch(/session "k_s2" failed to start: .*(unreachable|dropped)/);
    expect(err?.message).not.toMatch(/lock/);
    // The one session that started stays recorded: its rollback could not reach the machine. So does the
    // one whose start got no answer (it may be running there), as said: not as a start under way, which the
    // next start on the machine would roll back once this process ended (review H60-1).
    expect(run.managed.map((s) => [s.name, s.starting !== undefined])).toEqual([
      ["k_s1", false],
      ["k_s2", false],
    ]);
    expect(err?.message).toMatch(/it may have started on ssh:.*it stays in mc's records/);
    const t0 = Date.now();
    const again = new TmuxRemoteManager(
      options(0, { machineLayouts: { beta: [layout("s9", "sleep 30", work)] } }),
    );
    expect((await again.start()).every((r) => r.ok)).toBe(true);
    const waited = Date.now() - t0;
    console.log(
      `[mc remote] a start after an interrupted one waited ${waited} ms for the stale lock's lease`,
    );
    // The release could not reach the machine; the lease (5 s by the host clock from the last renewal)
    // ends well before the new start's lock timeout (30 s), which began after that renewal.
    expect(waited).toBeLessThan(20_000);
    await again.killAllSessions();
    expect((await run.killAllSessions()).every((k) => k.ok)).toBe(true);
  }, 60_000);

  it.skipIf(!HAVE_FAKETIME)(
    "runtimes and start times read in this machine's clock, whatever the remote clock says",
    async () => {
      // Its own tmux server, started there, so the tab wrapper runs in the skewed clock too.
      const run = new TmuxRemoteManager(
        options(1, {
          machineLayouts: { skewed: [layout("c", "sleep 30", work)] },
          backendOptions: { "*": { socket: `${sock}.skewed` } },
        }),
      );
      expect((await run.start()).every((r) => r.ok)).toBe(true);
      const host = run.hostOf("skewed") as SshHost;
      expect(Math.abs(host.clockSkewMs - SKEW_MS)).toBeLessThan(5000);
      let tab = (await run.checkAllSessionsStatus()).sessions[0]!.tabs[0]!;
      for (const end = Date.now() + 30_000; tab.state !== "running" && Date.now() < end; ) {
        await new Promise((r) => setTimeout(r, 100));
        tab = (await run.checkAllSessionsStatus()).sessions[0]!.tabs[0]!;
      }
      if (tab.state !== "running") {
        // Seen once under load in CI (read "missing" for 30 s): keep what the tool and the record said.
        let panes = "";
        try {
          panes = execFileSync(
            "tmux",
            [
              "-S",
              `${sock}.skewed`,
              "list-panes",
              "-a",
              "-F",
              "#{session_id} #{pane_id} #{pane_dead} #{pane_pid} #{pane_start_command}",
            ],
            { encoding: "utf8" },
          );
        } catch (e) {
          panes = String(e);
        }
        console.log(`[mc remote] skewed tab ${JSON.stringify(tab)}\nlist-panes:\n${panes}`);
      }
      expect(tab.state).toBe("running");
      expect(Math.abs(tab.startedAt! - Date.now())).toBeLessThan(5000);
      expect(tab.runtimeMs!).toBeGreaterThanOrEqual(0);
      expect(tab.runtimeMs!).toBeLessThan(10_000);
      await run.killAllSessions();
    },
  );
});
