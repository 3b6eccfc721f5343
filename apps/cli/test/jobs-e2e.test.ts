import { execFileSync, spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it, onTestFinished } from "vitest";
import { BIN, runCli } from "./cli.js";
import {
  dir,
  env,
  inBackground,
  layouts,
  lines,
  run,
  sessions,
  sock,
  type Tab,
  tabsOf,
  until,
  useJobsSandbox,
} from "./jobs-harness.js";

/** Tabs as jobs (#16) through the built binary on a private real tmux server: logs, wait, runs in batches, merges from another terminal. */
useJobsSandbox();

describe("logs", () => {
  it("outlive the session: after kill, colours kept only with --raw, escapes never raw, -n, SESSION prefixes", async () => {
    const f = layouts("logs.json", [
      {
        layoutName: "lg",
        layoutTabs: [
          {
            tabName: "out",
            command: `printf 'one\\n\\033[31mtwo\\033[0m\\n\\033]52;c;SGVsbG8=\\007three\\n'; sleep 30`,
          },
          { tabName: "other", command: "echo from-other; sleep 30" },
        ],
      },
    ]);
    expect((await run(f)).code).toBe(0);
    // Both tabs have printed everything before the kill (their logs are read after it).
    await until(
      () => sessions(["logs", "lg/out"]),
      (r) => r.stdout.includes("three"),
    );
    await until(
      () => sessions(["logs", "lg/other"]),
      (r) => r.stdout.includes("from-other"),
    );
    expect((await sessions(["kill", "lg"])).code).toBe(0);
    const all = await sessions(["logs", "lg/out"]);
    expect(all.code, all.stderr).toBe(0);
    expect(lines(all.stdout).slice(-3)).toEqual(["one", "two", "three"]);
    expect(all.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    const raw = await sessions(["logs", "lg/out", "--raw"]);
    expect(raw.stdout).toContain("\x1b]52;c;SGVsbG8=\x07");
    expect(lines((await sessions(["logs", "lg/out", "-n", "1"])).stdout)).toEqual(["three"]);
    // By position, and the whole session with each line prefixed by its tab.
    expect((await sessions(["logs", "lg/1"])).stdout).toContain("from-other");
    const both = lines((await sessions(["logs", "lg"])).stdout);
    expect(both).toContain("other | from-other");
    expect(both.some((l) => /^out\s+\| three$/.test(l))).toBe(true);
    const json = lines((await sessions(["logs", "lg/other", "--json"])).stdout).map((l) => JSON.parse(l));
    expect(json.at(-1)).toMatchObject({ session: "lg", tab: "other", index: 1, line: "from-other" });
    const missing = await sessions(["logs", "lg/nope"]);
    expect(missing.code).toBe(5);
    expect(missing.stderr).toContain("its tabs: out, other");
  });

  it("-f prints lines as they come and returns once the tab's command finished", async () => {
    const f = layouts("follow.json", [
      {
        layoutName: "fl",
        layoutTabs: [{ tabName: "t", command: "for i in 1 2 3 4 5; do echo line $i; sleep 0.2; done" }],
      },
    ]);
    expect((await run(f, "--exit", "close")).code).toBe(0);
    const r = await sessions(["logs", "fl/t", "-f"], 20_000);
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout).filter((l) => l.startsWith("line"))).toEqual([
      "line 1",
      "line 2",
      "line 3",
      "line 4",
      "line 5",
    ]);
  });

  it("-f stops at SIGTERM as at Ctrl-C: exit 0, not killed (review H55-4)", async () => {
    const f = layouts("follow-term.json", [
      { layoutName: "ft", layoutTabs: [{ tabName: "t", command: "echo first; sleep 60" }] },
    ]);
    expect((await run(f)).code).toBe(0);
    try {
      for (const sig of ["SIGINT", "SIGTERM"] as const) {
        const follow = inBackground(["logs", "ft/t", "-f"]);
        await until(
          async () => follow.got.out,
          (o) => o.includes("first"),
        );
        follow.child.kill(sig);
        expect(await follow.code, `${sig}: ${follow.got.err}`).toBe(0);
      }
    } finally {
      await sessions(["kill", "ft"]);
    }
  });
});

describe("a reader that goes away", () => {
  it("run --max-parallel-tabs whose stderr pipe closes still starts every tab and exits with their outcome (review H59-2)", async () => {
    const f = layouts("h592.json", [
      {
        layoutName: "h592",
        layoutTabs: [0, 1, 2, 3, 4].map((i) => ({
          tabName: `t${i}`,
          command: i === 3 ? "sleep 0.3; exit 3" : "sleep 0.3",
        })),
      },
    ]);
    // As `2>&1 | head -2`: the reader closes its end after the first lines.
    const child = spawn(
      "node",
      [BIN, "run", f, "--socket", sock, "--max-parallel-tabs", "2", "--poll-seconds", "0.2"],
      {
        env,
        cwd: dir,
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    child.stderr.once("data", () => child.stderr.destroy());
    const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    try {
      expect(code).toBe(10);
      const tabs = await tabsOf("h592");
      expect(tabs.map((t: { state: string; exitCode?: number }) => [t.state, t.exitCode])).toEqual([
        ["exited", 0],
        ["exited", 0],
        ["exited", 0],
        ["exited", 3],
        ["exited", 0],
      ]);
    } finally {
      await sessions(["kill", "h592"]);
    }
  });
});

describe("output that cannot be written (a full disk)", () => {
  it.skipIf(!existsSync("/dev/full"))(
    "run -m -k --max-parallel-tabs into /dev/full starts every tab, kills at the end and exits with their outcome; status exits 1 (review H63-1)",
    async () => {
      const f = layouts("h631.json", [
        {
          layoutName: "h631",
          layoutTabs: [0, 1, 2, 3].map((i) => ({
            tabName: `t${i}`,
            command: i === 1 ? "sleep 0.2; exit 3" : "sleep 0.2",
          })),
        },
      ]);
      const full = openSync("/dev/full", "w");
      const child = spawn(
        "node",
        [BIN, "run", f, "--socket", sock, "--max-parallel-tabs", "2", "--poll-seconds", "0.2", "-m", "-k"],
        { env, cwd: dir, stdio: ["ignore", full, full] },
      );
      const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
      closeSync(full);
      expect(code).toBe(10);
      const events = lines((await sessions(["events", "h631"])).stdout).map((l) => JSON.parse(l));
      expect(events.filter((e) => e.type === "tab-exited").map((e) => [e.tab, e.exitCode])).toEqual(
        expect.arrayContaining([
          ["t0", 0],
          ["t1", 3],
          ["t2", 0],
          ["t3", 0],
        ]),
      );
      expect(events.some((e) => e.type === "session-gone" || e.type === "session-killed")).toBe(true);
      const again = openSync("/dev/full", "w");
      const st = spawnSync("node", [BIN, "ls"], { env, cwd: dir, stdio: ["ignore", again, "pipe"] });
      closeSync(again);
      expect(st.status).toBe(1);
    },
  );
});

describe("a stop while the tool does not answer", () => {
  it("logs -f, status --watch, events --follow and wait end at SIGTERM at once, not when the call times out (reviews H60-3, H62-3)", async () => {
    const f = layouts("h603.json", [
      {
        layoutName: "h603",
        layoutTabs: [{ tabName: "t", command: "while :; do echo tick; sleep 0.2; done" }],
      },
    ]);
    const other = join(dir, "h603.sock");
    let server = 0;
    onTestFinished(() => {
      if (server) process.kill(server, "SIGCONT");
      spawnSync("tmux", ["-S", other, "kill-server"]);
    });
    expect((await sessions(["run", f, "--socket", other])).code).toBe(0);
    server = Number(
      execFileSync("tmux", ["-S", other, "display-message", "-p", "#{pid}"], { encoding: "utf8" }),
    );
    const followers = [
      { name: "logs -f", p: inBackground(["logs", "h603/t", "-f"]), code: 0 },
      {
        name: "status --watch",
        p: inBackground(["status", "--watch", "--json", "--interval", "0.5"]),
        code: 0,
      },
      { name: "events --follow", p: inBackground(["events", "--follow", "h603"]), code: 130 },
    ];
    for (const x of followers)
      await until(
        async () => x.p.got.out,
        (o) => o.length > 0,
      );
    // wait prints nothing until the end (review H62-3: it took 12 s to stop).
    followers.push({ name: "wait", p: inBackground(["wait", "h603"]), code: 130 });
    await new Promise((r) => setTimeout(r, 1500));
    // The server stops answering: every follower's next call to it waits (tmux's bound is 15 s).
    process.kill(server, "SIGSTOP");
    await new Promise((r) => setTimeout(r, 2500));
    const t0 = Date.now();
    for (const x of followers) x.p.child.kill("SIGTERM");
    for (const x of followers) expect(await x.p.code, `${x.name}: ${x.p.got.err}`).toBe(x.code);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe("wait", () => {
  it("a command that dies of a hang-up while its pane stays is killed SIGHUP, not running on: -m and wait end (review HR88-2)", async () => {
    const f = layouts("hup-self.json", [
      { layoutName: "hups", layoutTabs: [{ tabName: "x", command: "kill -HUP $$" }] },
    ]);
    // The pane keeps a shell (--exit shell, the default), which carries the tab's marker: it read as the
    // command running on outside its tab, for ever.
    const r = await run(f, "-m", "--interval", "0.3");
    expect(r.code, r.stderr).toBe(10);
    expect(`${r.stdout}${r.stderr}`).toMatch(/hups \/ x: killed SIGHUP/);
    const w = await sessions(["wait", "hups", "--timeout", "20"]);
    expect(w.code, w.stderr).toBe(10);
    await sessions(["kill", "hups"]);
  });

  it("--timeout while a slow tool's answer is on its way is exit 7, not 8 'did not answer' (review HR87-1)", async () => {
    // A tmux that takes 0.7 s to answer (as zellij's status does on a loaded machine): a question is out
    // when the timer fires. Its age was read on the wall clock against a monotonic start: "asked
    // 1796689178 s earlier", exit 8, every time.
    const slow = join(dir, "slow-bin");
    mkdirSync(slow, { recursive: true });
    writeFileSync(
      join(slow, "tmux"),
      `#!/bin/sh\nsleep 0.7\nexec ${execFileSync("sh", ["-c", "command -v tmux"], { encoding: "utf8" }).trim()} "$@"\n`,
      { mode: 0o755 },
    );
    const f = layouts("slow-wait.json", [
      { layoutName: "sw", layoutTabs: [{ tabName: "t", command: "sleep 120" }] },
    ]);
    expect((await run(f)).code).toBe(0);
    try {
      for (const t of ["1", "2"]) {
        const w = await runCli(["wait", "sw", "--timeout", t], {
          env: { ...env, PATH: `${slow}:${env.PATH}` },
          cwd: dir,
        });
        expect(w.code, `--timeout ${t}: ${w.stderr}`).toBe(7);
        expect(w.stderr).not.toMatch(/did not answer/);
      }
    } finally {
      await sessions(["kill", "sw"]);
    }
  });

  it("exits 0 when every tab succeeded, 10 when one failed, 7 on timeout", async () => {
    const f = layouts("wait.json", [
      { layoutName: "w-ok", layoutTabs: [{ tabName: "t", command: "sleep 0.3; exit 0" }] },
      { layoutName: "w-bad", layoutTabs: [{ tabName: "t", command: "sleep 0.3; exit 3" }] },
      { layoutName: "w-long", layoutTabs: [{ tabName: "t", command: "sleep 30" }] },
      { layoutName: "w-mid", layoutTabs: [{ tabName: "t", command: "sleep 3" }] },
    ]);
    expect((await run(f)).code).toBe(0);
    // wait returns when the tab ends, not at its next 30 s check (a timer left pending held it ~25 s).
    const m0 = Date.now();
    expect((await sessions(["wait", "w-mid"])).code).toBe(0);
    expect(Date.now() - m0).toBeLessThan(20_000);
    expect((await sessions(["wait", "w-ok"])).code).toBe(0);
    const bad = await sessions(["wait", "w-bad", "--json"]);
    expect(bad.code).toBe(10);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, failed: 1 });
    // Every tab finished: 0 (or 10) whatever the timeout, the first answer waited for (review H59-4: 7 or
    // 8 at random with --timeout 0).
    for (const t of ["0", "0.001", "0.03", "0"]) {
      const now = await sessions(["wait", "w-ok", "--timeout", t]);
      expect(now.code, `--timeout ${t}: ${now.stderr}`).toBe(0);
    }
    expect((await sessions(["wait", "w-long", "--timeout", "0"])).code).toBe(7);
    const t0 = Date.now();
    const late = await sessions(["wait", "w-long", "--timeout", "0.5"]);
    expect(late.code).toBe(7);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect((await sessions(["kill", "w-ok", "w-bad", "w-long", "w-mid"])).code).toBe(0);
  });

  it("a command that outlives its SIGKILLed server is not finished: status running (its pids, how to end it), no tab-killed, wait waits for it (review H55-1)", async () => {
    // The command runs until the test has looked (a fixed sleep ended first on a loaded machine).
    const gate = join(dir, "h551.gate");
    const f = layouts("h551.json", [
      {
        layoutName: "w551",
        layoutTabs: [
          {
            tabName: "t",
            command: `trap '' HUP; while [ ! -e ${JSON.stringify(gate)} ]; do sleep 0.2; done; echo survived`,
          },
        ],
      },
    ]);
    const other = join(dir, "h551.sock");
    onTestFinished(() => {
      spawnSync("tmux", ["-S", other, "kill-server"]);
    });
    expect((await sessions(["run", f, "--socket", other])).code).toBe(0);
    await until(tabsOf.bind(null, "w551"), (t) => t[0]?.state === "running");
    const waiting = inBackground(["wait", "w551", "--timeout", "60"]);
    const following = inBackground(["events", "w551", "--follow"]);
    await new Promise((r) => setTimeout(r, 1000));
    const server = Number(
      execFileSync("tmux", ["-S", other, "display-message", "-p", "#{pid}"], { encoding: "utf8" }),
    );
    process.kill(server, "SIGKILL");
    await new Promise((r) => setTimeout(r, 2000));
    const [tab] = await tabsOf("w551");
    expect(tab).toMatchObject({ state: "running" });
    expect(tab.orphans.length).toBeGreaterThan(0);
    expect(tab.error).toContain("its tab is gone, but its command runs on outside it (pid ");
    const table = await sessions(["status", "w551"]);
    // The kill to paste names the server: a session of that name elsewhere is not this one (review H58-1).
    expect(table.stdout).toContain(`a kill of its session ends it: sessions kill --socket ${other} w551`);
    expect(table.stdout).toMatch(/1 running, 0 finished/);
    // Still waiting, and no event said the tab ended.
    expect(await Promise.race([waiting.code, new Promise((r) => setTimeout(() => r("waiting"), 10))])).toBe(
      "waiting",
    );
    expect(following.got.out).not.toContain("tab-killed");
    // The command ends: its recorder writes the end the hang-up meant.
    writeFileSync(gate, "");
    expect(await waiting.code).toBe(10);
    expect(await following.code).toBe(0);
    const ev = lines(following.got.out).map((l) => JSON.parse(l));
    expect(ev.filter((e) => e.type === "tab-killed")).toMatchObject([{ signal: "SIGHUP" }]);
    expect(ev.at(-1)).toMatchObject({ type: "run-done", failed: 1 });
  });

  it("a server that answers again during a wait is seen within seconds: 'answers again', then exit 7, not 8 (review H54-1)", async () => {
    const f = layouts("h541.json", [
      { layoutName: "w541", layoutTabs: [{ tabName: "t", command: "sleep 60" }] },
    ]);
    const other = join(dir, "h541.sock");
    onTestFinished(() => {
      spawnSync("tmux", ["-S", other, "kill-server"]);
    });
    expect((await sessions(["run", f, "--socket", other])).code).toBe(0);
    const server = Number(
      execFileSync("tmux", ["-S", other, "display-message", "-p", "#{pid}"], { encoding: "utf8" }),
    );
    process.kill(server, "SIGSTOP");
    let resumed = false;
    try {
      const { code, got } = inBackground(["wait", "w541", "--timeout", "11"], {
        ...env,
        MC_TMUX_TIMEOUT: "1",
      });
      await until(
        async () => got.err,
        (e) => e.includes("! local did not answer"),
      );
      // Past the first seconds, when a follower asks often anyway.
      await new Promise((r) => setTimeout(r, 4000));
      process.kill(server, "SIGCONT");
      resumed = true;
      // It was asked again only 30 s later: the wait ended 8, "local did not answer", about a server that
      // had answered for 10 s. (A tab's end would wake it sooner: this tab runs on.)
      expect(await code, got.err).toBe(7);
      expect(got.err).toContain("local answers again");
      expect(got.err).toContain("not every tab finished within 11 s");
    } finally {
      if (!resumed) process.kill(server, "SIGCONT");
    }
    expect((await sessions(["kill", "w541"])).code).toBe(0);
  });

  it("a wait over two runs, one of whose servers is stopped, never says the machine answers again (review H53-3)", async () => {
    const a = layouts("h533a.json", [
      { layoutName: "w533a", layoutTabs: [{ tabName: "t", command: "sleep 60" }] },
    ]);
    const b = layouts("h533b.json", [
      { layoutName: "w533b", layoutTabs: [{ tabName: "t", command: "sleep 60" }] },
    ]);
    const other = join(dir, "h533.sock");
    onTestFinished(() => {
      spawnSync("tmux", ["-S", other, "kill-server"]);
    });
    expect((await run(a)).code).toBe(0);
    expect((await sessions(["run", b, "--socket", other])).code).toBe(0);
    const server = Number(
      execFileSync("tmux", ["-S", other, "display-message", "-p", "#{pid}"], { encoding: "utf8" }),
    );
    process.kill(server, "SIGSTOP");
    try {
      const r = await runCli(["wait", "w533a", "w533b", "--timeout", "6"], {
        env: { ...env, MC_TMUX_TIMEOUT: "1" },
        cwd: dir,
      });
      expect(r.code, r.stderr).toBe(8);
      expect(r.stderr).toContain("! local did not answer");
      // The run on the answering server speaks for its own sessions only (it said "local answers again",
      // then "did not answer" again, while the other server stayed stopped).
      expect(r.stderr).not.toContain("answers again");
    } finally {
      process.kill(server, "SIGCONT");
    }
    expect((await sessions(["kill", "w533a", "w533b"])).code).toBe(0);
  });

  it("--timeout bounds the wait while the tmux server does not answer (review H27-3: 15 s whatever it said)", async () => {
    const f = layouts("wait-hung.json", [
      { layoutName: "w-hung", layoutTabs: [{ tabName: "t", command: "sleep 60" }] },
    ]);
    expect((await run(f)).code).toBe(0);
    const server = Number(
      execFileSync("tmux", ["-S", sock, "display-message", "-p", "#{pid}"], { encoding: "utf8" }),
    );
    process.kill(server, "SIGSTOP");
    try {
      const t0 = Date.now();
      const r = await sessions(["wait", "w-hung", "--timeout", "1"]);
      // 8: the server did not answer (reviews H48-2, H52-8: it said 7, "not every tab finished").
      expect(r.code, r.stderr).toBe(8);
      // Not the tmux call's own 15 s.
      expect(Date.now() - t0).toBeLessThan(12_000);
    } finally {
      process.kill(server, "SIGCONT");
    }
    expect((await sessions(["kill", "w-hung"])).code).toBe(0);
  });

  it("a failed further pane counts once its session has ended, as while it lives", async () => {
    const f = layouts("wait-panes.json", [
      {
        layoutName: "w-pane",
        layoutTabs: [{ tabName: "a", command: "true", panes: [{ command: "sleep 0.5; exit 3" }] }],
      },
    ]);
    expect((await run(f)).code).toBe(0);
    expect((await sessions(["wait", "w-pane"])).code).toBe(10);
    // ls counts tabs, live or ended (it counted panes while live).
    const tabsIn = async () =>
      JSON.stringify(JSON.parse((await sessions(["ls", "--json"])).stdout)).match(
        /"session":"w-pane"[^}]*"tabs":(\d+)/,
      )?.[1];
    expect(await tabsIn()).toBe("1");
    expect((await sessions(["kill", "w-pane"])).code).toBe(0);
    expect(await tabsIn()).toBe("1");
    const ended = await sessions(["wait", "w-pane", "--json"]);
    expect(ended.code, ended.stdout).toBe(10);
    expect(JSON.parse(ended.stdout)).toMatchObject({ ok: false, failed: 1 });
  });

  it("-p plans every batch before the first starts: a later batch's taken name starts nothing (review H31-14)", async () => {
    execFileSync("tmux", ["-S", sock, "new-session", "-d", "-s", "pf2", "sleep 60"]);
    try {
      const f = layouts("preflight.json", [
        { layoutName: "pf1", layoutTabs: [{ tabName: "a", command: "sleep 30" }] },
        { layoutName: "pf2", layoutTabs: [{ tabName: "a", command: "sleep 30" }] },
      ]);
      const r = await run(f, "-p", "1");
      expect(r.code, r.stderr).toBe(4);
      expect(spawnSync("tmux", ["-S", sock, "has-session", "-t", "=pf1"]).status).not.toBe(0);
    } finally {
      spawnSync("tmux", ["-S", sock, "kill-session", "-t", "=pf2"]);
    }
  });

  it("-p: a layout name repeated in a later batch is a repeat as without -p: error starts nothing, restart gives a copy (review HR85-4)", async () => {
    const f = layouts("pbatch-dup.json", [
      { layoutName: "pdup", layoutTabs: [{ tabName: "t1", command: "echo first" }] },
      { layoutName: "pdup", layoutTabs: [{ tabName: "t2", command: "echo second" }] },
    ]);
    const e = await run(f, "-p", "1", "--interval", "0.2", "--on-conflict", "error");
    expect(e.code, e.stderr).toBe(4);
    expect(e.stderr).toMatch(/session "pdup" is requested more than once/);
    expect(spawnSync("tmux", ["-S", sock, "has-session", "-t", "=pdup"]).status).not.toBe(0);
    for (const policy of ["restart", "merge-skip"]) {
      const r = await run(f, "-p", "1", "--interval", "0.2", "--on-conflict", policy, "-k");
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/all 2 batches done: all 2 commands succeeded/);
      // Each layout its own session, neither replaced nor merged into by the other.
      const ls = JSON.parse((await sessions(["ls", "--json"])).stdout);
      const mine = ls.runs.filter((x: { session: string }) => x.session.startsWith("pdup"));
      expect(mine.map((x: { session: string }) => x.session).sort()).toEqual(["pdup", "pdup_1"]);
      expect(mine.map((x: { ended?: { by: string } }) => x.ended?.by)).toEqual(["killed", "killed"]);
      await sessions(["ls", "--prune"]);
    }
    // Run again while the sessions live (their shells stay): the repeat takes over the copy the last run
    // made, as without -p (review HR88-1: each run added pdl_2, pdl_3, …).
    const live = layouts("pbatch-live.json", [
      { layoutName: "pdl", layoutTabs: [{ tabName: "t1", command: "true" }] },
      { layoutName: "pdl", layoutTabs: [{ tabName: "t2", command: "true" }] },
    ]);
    for (const policy of ["restart", "restart", "merge-skip"]) {
      const r = await run(live, "-p", "1", "--interval", "0.2", "--on-conflict", policy);
      expect(r.code, r.stderr).toBe(0);
    }
    const names = execFileSync("tmux", ["-S", sock, "list-sessions", "-F", "#{session_name}"], {
      encoding: "utf8",
    })
      .split("\n")
      .filter((n) => n.startsWith("pdl"));
    expect(names.sort()).toEqual(["pdl", "pdl_1"]);
    expect((await sessions(["kill", "pdl", "pdl_1"])).code).toBe(0);
  });

  it("-m and -p end at once when every layout of a batch was skipped (--missing-dirs skip; review H33-6)", async () => {
    const f = layouts("skipped.json", [
      { layoutName: "k1", layoutTabs: [{ tabName: "a", command: "true" }] },
      {
        layoutName: "k2",
        layoutTabs: [{ tabName: "a", startDir: join(dir, "no-such-dir"), command: "true" }],
      },
    ]);
    const one = await run(f, "-c", "k2", "-m", "--missing-dirs", "skip");
    expect(one.code, one.stderr).toBe(0);
    expect(one.stderr).toContain("nothing started: every layout of this batch was skipped");
    const batches = await run(f, "-p", "1", "--missing-dirs", "skip");
    expect(batches.code, batches.stderr).toBe(0);
    await sessions(["kill", "k1"]);
  }, 60_000);

  it("-p N -k: each batch's line says which batch it is, and the run's whole is said at the end (review H44-5)", async () => {
    const f = layouts("h445.json", [
      {
        layoutName: "pq0",
        layoutTabs: [
          { tabName: "a", command: "exit 3" },
          { tabName: "b", command: "true" },
        ],
      },
      { layoutName: "pq1", layoutTabs: [{ tabName: "a", command: "true" }] },
      { layoutName: "pq2", layoutTabs: [{ tabName: "a", command: "exit 4" }] },
    ]);
    const r = await run(f, "-p", "2", "-k", "--interval", "0.2");
    expect(r.code, r.stderr).toBe(10);
    expect(r.stderr).toContain("[batch 1/2: 1/2]");
    expect(r.stderr).toContain("[batch 2/2: 1/1]");
    expect(r.stderr).toMatch(/batch 1\/2: every command finished \(1 of 3 failed/);
    expect(r.stderr).toMatch(/batch 2\/2: every command finished \(1 of 1 failed/);
    expect(lines(r.stderr).at(-1)).toBe("all 2 batches done: 2 of 4 commands failed");
  });

  it("-p N interrupted says which layouts of later batches never started (review H37-4)", async () => {
    const f = layouts("h374.json", [
      { layoutName: "pb0", layoutTabs: [{ tabName: "t", command: "sleep 60" }] },
      { layoutName: "pb1", layoutTabs: [{ tabName: "t", command: "sleep 60" }] },
      { layoutName: "pb2", layoutTabs: [{ tabName: "t", command: "sleep 60" }] },
    ]);
    const { child, code, got } = inBackground(["run", f, "--socket", sock, "-p", "1", "--interval", "0.2"]);
    await until(tabsOf.bind(null, "pb0"), (t) => t[0]?.state === "running");
    child.kill("SIGINT");
    expect(await code).toBe(130);
    expect(got.err).toContain("not started: 2 layouts of later batches (pb1, pb2)");
    await sessions(["kill", "pb0"]);
  });

  it("a hang-up while run -m watches, or schedules --max-parallel-tabs, stops it as Ctrl-C does (review H40-5)", async () => {
    const f = layouts("h405.json", [
      {
        layoutName: "hup",
        layoutTabs: [
          { tabName: "a", command: "sleep 60" },
          { tabName: "b", command: "sleep 61" },
        ],
      },
    ]);
    for (const more of [["-m"], ["--max-parallel-tabs", "1"]]) {
      const { child, code, got } = inBackground(["run", f, "--socket", sock, "--interval", "0.2", ...more]);
      // As soon as it said the session started: between the start and the watch, the moment that killed
      // it by the signal even once the watch handled it (the watch begins stopped now).
      await until(
        async () => got.err,
        (e) => e.includes("✓ hup"),
        30_000,
      );
      child.kill("SIGHUP");
      // It died of the signal (129), saying nothing.
      expect(await code, got.err).toBe(130);
      expect(got.err).toContain("monitoring stopped; the sessions keep running");
      expect((await tabsOf("hup"))[0]?.state).toBe("running");
      expect((await sessions(["kill", "hup"])).code).toBe(0);
    }
  });

  it("logs SESSION/TAB/N prints pane N alone, as status names it; rerun of a pane is refused (review H30-5)", async () => {
    const f = layouts("log-panes.json", [
      {
        layoutName: "lp",
        layoutTabs: [
          { tabName: "dev", command: "echo first-pane", panes: [{ command: "echo second-pane" }] },
        ],
      },
    ]);
    expect((await run(f)).code).toBe(0);
    expect((await sessions(["wait", "lp"])).code).toBe(0);
    const one = await sessions(["logs", "lp/dev/1"]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toContain("second-pane");
    expect(one.stdout).not.toContain("first-pane");
    const both = await sessions(["logs", "lp/dev"]);
    expect(both.stdout).toMatch(/dev\/0 \| .*first-pane/);
    expect(both.stdout).toMatch(/dev\/1 \| .*second-pane/);
    expect((await sessions(["logs", "lp/dev/2"])).code).toBe(5);
    // --json says which pane, and every line is valid under the published schema (review HR81-3: `pane`
    // was printed but not in the schema, whose additionalProperties are false).
    const json = lines((await sessions(["logs", "lp/dev", "--json"])).stdout).map((l) => JSON.parse(l));
    expect(json).toContainEqual({ session: "lp", tab: "dev", index: 0, pane: 0, line: "first-pane" });
    expect(json).toContainEqual({ session: "lp", tab: "dev", index: 0, pane: 1, line: "second-pane" });
    const valid = new Ajv2020({ strict: false }).compile(
      JSON.parse((await sessions(["schema", "log-line"])).stdout),
    );
    expect(json.filter((l) => !valid(l))).toEqual([]);
    const rerun = await sessions(["rerun", "lp/dev/1"]);
    expect(rerun.code).toBe(2);
    expect(rerun.stderr).toContain('tab "dev" has several panes: rerun runs one command');
    expect((await sessions(["kill", "lp"])).code).toBe(0);
  });
});

describe("a merge from another terminal while wait, events --follow and status --watch run (review H26-8)", () => {
  it("they follow the session's new tab: wait returns when it ends, with its failure", async () => {
    const go = (n: string) => join(dir, `h268-go-${n}`);
    const hold = (n: string) => `while [ ! -e '${go(n)}' ]; do sleep 0.1; done`;
    const first = layouts("h268.json", [
      { layoutName: "mw", layoutTabs: [{ tabName: "a", command: hold("a") }] },
    ]);
    const more = layouts("h268-more.json", [
      {
        layoutName: "mw",
        layoutTabs: [
          { tabName: "a", command: hold("a") },
          { tabName: "b", command: `${hold("b")}; exit 4` },
        ],
      },
    ]);
    expect((await run(first)).code).toBe(0);
    await until(tabsOf.bind(null, "mw"), (t) => t[0]?.state === "running");
    const background = (...args: string[]) => {
      const child = spawn("node", [BIN, ...args], { env, cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
      const got = {
        out: "",
        err: "",
        code: undefined as number | null | undefined,
        signal: null as string | null,
      };
      child.stdout.on("data", (d: Buffer) => {
        got.out += d.toString();
      });
      child.stderr.on("data", (d: Buffer) => {
        got.err += d.toString();
      });
      child.on("exit", (c, sig) => {
        got.code = c;
        got.signal = sig;
      });
      return { child, got };
    };
    const fifo = join(dir, "state", "managers", "TmuxLocalManager", "h288-fifo.json");
    const wait = background("wait", "mw");
    const events = background("events", "mw", "--follow");
    const watch = background("status", "mw", "--watch", "--json", "--interval", "0.2");
    try {
      // Each has read the records (the watch printed a report of the one tab) before the merge.
      await until(
        async () => watch.got.out,
        (o) => o.includes('"tabName":"a"'),
      );
      await new Promise((r) => setTimeout(r, 500));
      const merged = await run(more, "--on-conflict", "merge-skip");
      expect(merged.code, merged.stderr).toBe(0);
      const reports = () => lines(watch.got.out).map((l) => JSON.parse(l));
      // The watch shows the merged tab (it kept showing the one tab it had read).
      expect(
        await until(
          async () => reports().at(-1)?.sessions?.[0]?.tabs?.length,
          (n) => n === 2,
        ),
        `${reports().length} reports; last: ${JSON.stringify(reports().at(-1))}; stderr: ${watch.got.err}`,
      ).toBe(2);
      // A record that turns up unreadable during the watch is said, once (review H28-6).
      execFileSync("mkfifo", [fifo]);
      await until(
        async () => watch.got.err,
        (e) => e.includes("h288-fifo.json"),
      );
      await new Promise((r) => setTimeout(r, 600));
      expect(watch.got.err.split("h288-fifo.json").length - 1).toBe(1);
      // Each report says which machines were asked (it said none: review H27-4).
      expect(reports().at(-1).machines).toEqual([{ machine: "local", host: "local", reachable: true }]);
      writeFileSync(go("a"), "");
      await until(tabsOf.bind(null, "mw"), (t) => t[0]?.state === "exited");
      writeFileSync(go("b"), "");
      await until(
        async () => [wait.got.code, events.got.code],
        ([w, e]) => w !== undefined && e !== undefined,
      );
      // The new tab failed: wait says so (it said 0 when it followed the one tab it had read).
      expect(wait.got.code).toBe(10);
      const evs = lines(events.got.out).map((l) => JSON.parse(l));
      expect(evs.find((e) => e.type === "tab-exited" && e.tab === "b")).toMatchObject({ exitCode: 4 });
      expect(evs.at(-1)).toMatchObject({ type: "run-done", failed: 1 });
      // Each event once.
      const keys = evs.map((e) => JSON.stringify(e));
      expect(new Set(keys).size, keys.join("\n")).toBe(keys.length);
      // SIGTERM (a supervisor) ends the watch as Ctrl-C does (e2e "wint" sends that one): 0 and one last
      // line (review H55-4: killed, no last line); every line is a status document (review H27-5).
      watch.child.kill("SIGTERM");
      await until(
        async () => watch.got.code,
        (c) => c !== undefined,
      );
      expect(watch.got.code, `signal ${watch.got.signal}; stderr: ${watch.got.err}`).toBe(0);
      const schema = JSON.parse(
        readFileSync(new URL("../schema/status.schema.json", import.meta.url), "utf8"),
      );
      const valid = new Ajv2020({ strict: false }).compile(schema);
      const all = lines(watch.got.out).map((l) => JSON.parse(l));
      expect(all.at(-1)).toMatchObject({ type: "watch-stopped" });
      expect(all.filter((l) => !valid(l))).toEqual([]);
    } finally {
      for (const p of [wait, events, watch]) p.child.kill();
      rmSync(fifo, { force: true });
      await sessions(["kill", "mw"]);
    }
  });
});

describe("run -m -k while another terminal merges tabs into its session (reviews H27-1, H28-1)", () => {
  /** `run FILE -m -k …` in the background: its exit code to come, its output so far, the process. */
  function killRunOf(file: string, ...args: string[]) {
    return killRunWith(env, file, ...args);
  }
  function killRunWith(withEnv: NodeJS.ProcessEnv, file: string, ...args: string[]) {
    const {
      child,
      code,
      got: g,
    } = inBackground([...args, "run", file, "--socket", sock, "-m", "-k"], withEnv);
    const got = {
      get stdout() {
        return g.out;
      },
      get stderr() {
        return g.err;
      },
    };
    return { child, got, code };
  }
  const go = (n: string) => join(dir, `h271-go-${n}`);
  const hold = (n: string) => `while [ ! -e '${go(n)}' ]; do sleep 0.1; done`;
  /** `run FIRST -m -k …` in the background while MORE is merged into session `name`; its code and output. */
  async function killRun(name: string, more: Tab[], ...args: string[]) {
    const first = layouts(`${name}.json`, [
      { layoutName: name, layoutTabs: [{ tabName: "a", command: hold(name) }] },
    ]);
    const merge = layouts(`${name}-more.json`, [
      { layoutName: name, layoutTabs: [{ tabName: "a", command: hold(name) }, ...more] },
    ]);
    const { child, got, code } = killRunOf(first, ...args);
    try {
      await until(tabsOf.bind(null, name), (t) => t[0]?.state === "running");
      const merged = await run(merge, "--on-conflict", "merge-skip");
      expect(merged.code, merged.stderr).toBe(0);
      await until(tabsOf.bind(null, name), (t) => t.length === more.length + 1);
      writeFileSync(go(name), "");
      return { code: await code, ...got };
    } finally {
      child.kill();
    }
  }

  it("kills nothing that still runs: the merged session is said and left to the run that merged", async () => {
    const r = await killRun("mk", [{ tabName: "b", command: hold("mk-b") }]);
    try {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(
        "mk: not killed: another sessions run merged tabs into it, and one still runs",
      );
      // The commands said name the run's server (review H58-6).
      expect(r.stderr).toContain(`(sessions wait --socket ${sock} mk; sessions kill --socket ${sock} mk)`);
      // The merged tab runs on (the run killed it, and the session, after its own tab ended).
      expect((await tabsOf("mk")).map((t: { state: string }) => t.state)).toEqual(["exited", "running"]);
    } finally {
      writeFileSync(go("mk-b"), "");
      await sessions(["kill", "mk"]);
    }
  });

  it("with --json the run's last line says what it kept", async () => {
    const r = await killRun("mj", [{ tabName: "b", command: hold("mj-b") }], "--json");
    try {
      expect(r.code, r.stderr).toBe(0);
      const last = JSON.parse(lines(r.stdout).at(-1)!);
      expect(last).toMatchObject({
        type: "run-done",
        kept: [{ machine: "local", session: "mj", reason: expect.stringMatching(/merged tabs into it/) }],
      });
      const schema = JSON.parse(
        readFileSync(new URL("../schema/event.schema.json", import.meta.url), "utf8"),
      );
      expect(new Ajv2020({ strict: false }).validate(schema, last)).toBe(true);
    } finally {
      writeFileSync(go("mj-b"), "");
      await sessions(["kill", "mj"]);
    }
  });

  it("a kill that fails (the tmux server does not answer) is said, and the run does not end 0 (review H29-1)", async () => {
    const f = layouts("h291.json", [
      { layoutName: "kh", layoutTabs: [{ tabName: "a", command: "sleep 3" }] },
    ]);
    // MC_TMUX_TIMEOUT bounds each tmux call at 2 s (the default 15 s took this test 48 s).
    const { child, got, code } = killRunWith({ ...env, MC_TMUX_TIMEOUT: "2" }, f);
    await until(tabsOf.bind(null, "kh"), (t) => t[0]?.state === "running");
    const server = Number(
      execFileSync("tmux", ["-S", sock, "display-message", "-p", "#{pid}"], { encoding: "utf8" }),
    );
    process.kill(server, "SIGSTOP");
    try {
      expect(await code, got.stderr).toBe(8);
      expect(got.stderr).toMatch(/✗ kh: could not be killed: .*did not answer within 2 s/);
      expect(got.stderr).toContain(`(sessions kill --socket ${sock} kh again)`);
      expect(got.stderr).not.toMatch(/sessions killed\n/);
      expect(got.stderr).toContain("no session killed, 1 could not be killed");
    } finally {
      process.kill(server, "SIGCONT");
      child.kill();
    }
    expect((await sessions(["kill", "kh"])).code).toBe(0);
  }, 120_000);

  it("a restart from another terminal: the session of that name is the other run's, not killed, and said (review H28-5)", async () => {
    const first = layouts("h285.json", [
      { layoutName: "mr", layoutTabs: [{ tabName: "a", command: hold("mr") }] },
    ]);
    const again = layouts("h285-again.json", [
      { layoutName: "mr", layoutTabs: [{ tabName: "a", command: hold("mr-new") }] },
    ]);
    // The restart's tmux waits after it killed the session it replaces (before the restart marks it
    // replaced) until the test opens a gate: the run sees its tab end in between (CI once read "already
    // gone" there, by chance), and its wait for the restart is said before the gate opens.
    const real = execFileSync("sh", ["-c", "command -v tmux"], { encoding: "utf8" }).trim();
    const bin = join(dir, "h285-bin");
    const gate = join(dir, "h285-gate");
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, "tmux"),
      `#!/bin/sh\n${JSON.stringify(real)} "$@"; s=$?\ncase "$*" in *kill-session*) i=0; while [ ! -e '${gate}' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done ;; esac\nexit $s\n`,
      { mode: 0o755 },
    );
    const { child, got, code } = killRunOf(first);
    try {
      await until(tabsOf.bind(null, "mr"), (t) => t[0]?.state === "running");
      const restart = inBackground(["run", again, "--socket", sock, "--on-conflict", "restart"], {
        ...env,
        PATH: `${bin}:${env.PATH}`,
      });
      // The wait for it is said (review H73-2: silent for up to 60 s).
      expect(
        await until(
          async () => got.stderr,
          (e) => e.includes("waiting for another sessions run restarting"),
        ),
      ).toMatch(/waiting for another sessions run restarting mr \(sessions run pid \d+\) \(at most 60 s\)/);
      writeFileSync(gate, "");
      expect(await restart.code, restart.got.err).toBe(0);
      // Its own tab was killed by the restart: a failed tab, as the run says.
      expect(await code, got.stderr).toBe(10);
      expect(got.stderr).toContain(
        "mr: not killed: another sessions run replaced it (--on-conflict restart), and the session of that name is that run's",
      );
      expect((await tabsOf("mr")).map((t: { state: string }) => t.state)).toEqual(["running"]);
    } finally {
      writeFileSync(gate, "");
      child.kill();
      writeFileSync(go("mr-new"), "");
      await sessions(["kill", "mr"]);
    }
  });

  it("a merge that leaves nothing running does not keep the session alive: it is killed and recorded so", async () => {
    // The merge added a tab that has ended when the run's own tab ends (H28-1: kept for good).
    const r = await killRun("mz", [{ tabName: "b", command: "exit 0" }]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("not killed");
    expect(spawnSync("tmux", ["-S", sock, "has-session", "-t", "=mz"]).status).not.toBe(0);
    const st = await sessions(["status", "mz"]);
    expect(st.code).toBe(5);
    expect(st.stderr).toContain("it was killed");
  });
});
