import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { runCli } from "./cli.js";
import {
  dir,
  env,
  inBackground,
  layouts,
  lines,
  run,
  runInBackground,
  runUntilKilled,
  sessions,
  sock,
  tabsOf,
  until,
  useJobsSandbox,
  windowsOf,
} from "./jobs-harness.js";

/** Tabs as jobs (#16) through the built binary on a private real tmux server: readiness, the scheduler, resuming, run-all, --notify, queued tabs. */
useJobsSandbox();

describe("readiness timeout", () => {
  it("fails the tab whatever its command's exit: one that exited 0 but never became ready counts failed, as its skipped dependant says (review HR88-3)", async () => {
    const f = layouts("nr-exit0.json", [
      {
        layoutName: "nrz",
        layoutTabs: [
          { tabName: "d", command: "true", readiness: { file: "never.ready", timeoutSeconds: 0.5 } },
          { tabName: "e", command: "echo E", dependsOn: ["d"] },
        ],
      },
    ]);
    const r = await run(f, "-m", "--interval", "0.2");
    expect(r.code, r.stderr).toBe(10);
    expect(r.stdout).toMatch(/2 finished, 2 failed/);
    const st = await sessions(["status", "nrz", "--json"]);
    const d = JSON.parse(st.stdout).sessions[0].tabs[0];
    expect(d).toMatchObject({ tabName: "d", state: "exited", exitCode: 0, notReady: true });
    expect(d.error).toMatch(/not ready within 0.5 s/);
    await sessions(["kill", "nrz"]);
  });

  it("is said with the tab's state, in the table and in the monitor's lines (review H5-14)", async () => {
    const f = layouts("rt.json", [
      {
        layoutName: "rt",
        layoutTabs: [
          {
            tabName: "db",
            command: "sleep 30",
            readiness: { file: join(dir, "never-there"), timeoutSeconds: 1 },
          },
          { tabName: "app", command: "true", dependsOn: ["db"] },
        ],
      },
    ]);
    const r = await run(f, "-m", "--interval", "0.2");
    expect(r.code, r.stderr).toBe(10);
    expect(`${r.stdout}${r.stderr}`).toContain("not ready within 1 s");
    const st = await sessions(["status", "rt"]);
    expect(st.stdout).toMatch(/rt \/ db: not ready within 1 s/);
    await sessions(["kill", "rt"]);
  });
});

describe("a stop while a readiness command is probed (review H67-2)", () => {
  it("ends the run at once; the dependant is never opened", async () => {
    const probed = join(dir, "h672-probed");
    const f = layouts("h672.json", [
      {
        layoutName: "h672",
        layoutTabs: [
          {
            tabName: "a",
            command: "sleep 60",
            readiness: { command: `: > '${probed}'; sleep 4`, timeoutSeconds: 60 },
          },
          { tabName: "b", command: "echo b-ran; sleep 60", dependsOn: ["a"] },
        ],
      },
    ]);
    const r = inBackground(["run", f, "--socket", sock]);
    // Stopped while the probe runs (it succeeds 4 s after it starts).
    await until(
      async () => existsSync(probed),
      (x) => x,
    );
    const at = Date.now();
    r.child.kill("SIGINT");
    expect(await r.code).toBe(130);
    expect(Date.now() - at).toBeLessThan(3000);
    // Past the probe's success: b never opened.
    await new Promise((res) => setTimeout(res, 4500));
    const tabs = await tabsOf("h672");
    expect(tabs.map((t: { state: string }) => t.state)).toEqual(["running", "abandoned"]);
    expect((await sessions(["events", "h672"])).stdout).not.toMatch(
      /"tab":"b"[^\n]*tab-started|tab-started[^\n]*"tab":"b"/,
    );
    await sessions(["kill", "h672"]);
  });
});

describe("a readiness command that hangs (review H67-5)", () => {
  it("holds up neither the other tabs' probes and starts nor its own timeout", async () => {
    const f = layouts("h675.json", [
      {
        layoutName: "h675",
        layoutTabs: [
          { tabName: "hang", command: "sleep 60", readiness: { command: "sleep 100", timeoutSeconds: 1 } },
          {
            tabName: "slow",
            command: "sleep 1; echo READY; sleep 60",
            readiness: { logMatches: "READY", timeoutSeconds: 20 },
          },
          { tabName: "dep", command: "sleep 60", dependsOn: ["slow"] },
        ],
      },
    ]);
    const at = Date.now();
    const r = await run(f);
    const took = Date.now() - at;
    try {
      expect(r.code, r.stderr).toBe(10);
      expect(r.stderr).toContain("h675 / hang: not ready within 1 s");
      // One after another, the hanging probe took 10 s a look: hang failed after ~21 s, dep opened ~8 s late.
      expect(took, r.stderr).toBeLessThan(9000);
      const events = lines((await sessions(["events", "h675"])).stdout).map(
        (l) => JSON.parse(l) as { type: string; tab?: string; time: string },
      );
      const time = (type: string, tab: string) =>
        Date.parse(events.find((e) => e.type === type && e.tab === tab)?.time ?? "");
      expect(time("tab-started", "dep") - time("tab-started", "slow")).toBeLessThan(5000);
    } finally {
      await sessions(["kill", "h675"]);
    }
  });
});

describe("readiness probes slower than the scheduler's look (review H75-1)", () => {
  it("a probe that succeeds after 0.3-1.5 s makes its tab ready, whatever the phase of the looks", async () => {
    const durations = ["0.3", "0.4", "0.6", "0.9", "1.5"];
    const f = layouts("h751.json", [
      {
        layoutName: "h751",
        layoutTabs: [
          ...durations.map((d, i) => ({
            tabName: `s${i}`,
            command: "sleep 60",
            readiness: { command: `sleep ${d}`, timeoutSeconds: 20 },
          })),
          { tabName: "dep", command: "sleep 60", dependsOn: durations.map((_, i) => `s${i}`) },
        ],
      },
    ]);
    try {
      const r = await run(f);
      // The answers that came between two looks were dropped: every probe slower than a look failed.
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain("not ready");
      expect((await tabsOf("h751")).map((t: { state: string }) => t.state)).toEqual(
        Array(durations.length + 1).fill("running"),
      );
    } finally {
      await sessions(["kill", "h751"]);
    }
  });
});

describe("a tab's probes follow one another at their own pace (review H76-1)", () => {
  it("a 0.4 s probe that says no is run again at once, not every other look", async () => {
    const starts = join(dir, "h761-starts");
    const flag = join(dir, "h761-flag");
    const f = layouts("h761.json", [
      {
        layoutName: "h761",
        layoutTabs: [
          {
            tabName: "svc",
            command: "sleep 60",
            readiness: {
              command: `date +%s.%N >> '${starts}'; sleep 0.4; test -e '${flag}'`,
              timeoutSeconds: 30,
            },
          },
          { tabName: "dep", command: "sleep 60", dependsOn: ["svc"] },
        ],
      },
    ]);
    const r = inBackground(["run", f, "--socket", sock]);
    try {
      await until(
        async () => (existsSync(starts) ? readFileSync(starts, "utf8").trim().split("\n").length : 0),
        (n) => n >= 6,
      );
      writeFileSync(flag, "");
      expect(await r.code, r.got.err).toBe(0);
      const t = readFileSync(starts, "utf8").trim().split("\n").map(Number);
      const gaps = t
        .slice(1, 6)
        .map((x, k) => x - t[k]!)
        .sort((a, b) => a - b);
      // Back to back: ~0.45 s apart; every other look (0.5 s polls) was 1 s and more.
      expect(gaps[2], gaps.join(" ")).toBeLessThan(0.8);
    } finally {
      r.child.kill();
      await sessions(["kill", "h761"]);
    }
  });
});

describe("a run that ends before its waiting tabs start", () => {
  it("leaves them abandoned; running the file again with merge-skip starts them (review H5-8)", async () => {
    const ready = join(dir, "h8-ready");
    const f = layouts("h8.json", [
      {
        layoutName: "h8",
        layoutTabs: [
          {
            tabName: "a",
            command: "sleep 60",
            readiness: { file: ready, timeoutSeconds: 30 },
          },
          { tabName: "b", command: "echo b-ran; sleep 60", dependsOn: ["a"] },
        ],
      },
    ]);
    const first = runInBackground(f);
    const status = () => tabsOf("h8");
    await until(status, (t) => t[0]?.state === "running");
    first.kill("SIGKILL");
    // a is ready only now, with nothing left to start b.
    writeFileSync(ready, "");
    await new Promise((r) => setTimeout(r, 1000));
    expect((await status()).map((t: { state: string }) => t.state)).toEqual(["running", "abandoned"]);
    const again = await run(f, "--on-conflict", "merge-skip");
    expect(again.code, again.stderr).toBe(0);
    // A merge starts no session (H20-18).
    expect(again.stderr).toContain("merged into 1 running session; attach with");
    const tabs = await until(status, (t) => t[1]?.state === "running");
    expect(tabs.map((t: { state: string }) => t.state)).toEqual(["running", "running"]);
    // Started once: the merge's run does not start it again from the dead run's waiting list.
    await new Promise((r) => setTimeout(r, 1500));
    const windows = () => windowsOf("h8");
    expect(windows()).toEqual(["a", "b"]);
    expect(
      (
        await until(
          () => sessions(["logs", "h8/b"]),
          (r) => r.stdout.includes("b-ran"),
        )
      ).stdout,
    ).toContain("b-ran");
    await sessions(["kill", "h8"]);
  });
});

describe("tabs whose scheduler ended (hr6 F9)", () => {
  it("read abandoned: wait ends at once with the failed exit, rerun --failed says how to start them, rerun S/T starts one", async () => {
    const f = layouts("f9.json", [
      {
        layoutName: "f9",
        layoutTabs: [
          // Long enough that a loaded machine still sees it running between two status calls (it read
          // exited once, and b had run, with 2 s).
          { tabName: "a", command: "sleep 6" },
          { tabName: "b", command: "echo b-ran" },
          { tabName: "c", command: "echo c-ran" },
        ],
      },
    ]);
    const first = runInBackground(f, "--max-parallel-tabs", "1");
    const status = () => tabsOf("f9");
    await until(status, (t) => t[0]?.state === "running");
    const states = (t: { state: string }[]) => t.map((x) => x.state);
    // While the run lives its waiting tabs are not-started; once it is gone nothing will start them.
    expect(states(await status())).toEqual(["running", "not-started", "not-started"]);
    first.kill("SIGKILL");
    await until(status, (t) => t[1]?.state === "abandoned");
    const t0 = Date.now();
    const w = await sessions(["wait", "f9", "--timeout", "60"], 90_000);
    // It waits for a (6 s), not for tabs nothing will start (it waited until its timeout before).
    expect(w.code, w.stderr).toBe(10);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(states(await status())).toEqual(["exited", "abandoned", "abandoned"]);
    const table = await sessions(["status", "f9"]);
    expect(table.stdout).toMatch(/b\s.*abandoned/);
    const failed = await sessions(["rerun", "f9", "--failed"]);
    // Failed tabs remain and none was rerun: no success (review H51-7: exit 0).
    expect(failed.code, failed.stderr).toBe(10);
    expect(failed.stderr).toContain("no tab was rerun (why is said above): 2 failed tab(s) remain");
    expect(failed.stderr).toContain("b was never started");
    expect(failed.stderr).toContain(`sessions rerun --socket ${sock} f9/b starts it`);
    expect(states(await status())).toEqual(["exited", "abandoned", "abandoned"]);
    const one = await sessions(["rerun", "f9/b", "--json"]);
    expect(one.code, one.stderr).toBe(0);
    // Its first attempt: it never ran before.
    expect(JSON.parse(one.stdout).rerun).toEqual([{ tab: "b", index: 1, attempt: 1 }]);
    const after = await until(status, (t) => t[1]?.state === "exited");
    expect(states(after)).toEqual(["exited", "exited", "abandoned"]);
    expect(after[1].exitCode).toBe(0);
    expect(after[1].attempt ?? 1).toBe(1);
    await sessions(["kill", "f9"]);
  });
});

describe("one scheduler per session", () => {
  it("merging into a session whose starting run still waits to open tabs is refused; once that run is gone the merge starts them, once", async () => {
    const f = layouts("two-sched.json", [
      {
        layoutName: "ts",
        layoutTabs: [
          { tabName: "a", command: "sleep 4" },
          { tabName: "b", command: "echo b-ran; sleep 30" },
          { tabName: "c", command: "echo c-ran; sleep 30" },
        ],
      },
    ]);
    const first = runInBackground(f, "--max-parallel-tabs", "1");
    const status = () => tabsOf("ts");
    await until(status, (t) => t[0]?.state === "running");
    const windows = () => windowsOf("ts");
    // The starting run lives (also while stopped): a second scheduler is refused, nothing opened.
    process.kill(first.pid!, "SIGSTOP");
    const merged = await run(f, "--on-conflict", "merge-skip");
    expect(merged.code, merged.stderr).toBe(4);
    expect(merged.stderr).toContain(
      `waiting for the sessions run that started it (pid ${first.pid}, still running)`,
    );
    expect(windows()).toEqual(["a"]);
    // Stopped for good: its tabs read abandoned, and the merge starts each of them once.
    first.kill("SIGKILL");
    await until(status, (t) => t[1]?.state === "abandoned");
    const again = await run(f, "--on-conflict", "merge-skip");
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain("0 added, 0 restarted, 1 kept, 2 waiting to be opened");
    await until(status, (t) => t[1]?.state === "running" && t[2]?.state === "running");
    await new Promise((r) => setTimeout(r, 1500));
    expect(windows().sort()).toEqual(["a", "b", "c"]);
    await sessions(["kill", "ts"]);
  });
});

describe("resuming an edited file with merge-skip or merge-overwrite (review H59-3)", () => {
  for (const [policy, capped] of [
    ["merge-skip", true],
    ["merge-overwrite", true],
    ["merge-skip", false],
    ["merge-overwrite", false],
  ] as const) {
    it(`${policy}: runs what the file says now (deleted, renamed, reordered, added first, changed)${capped ? ", under --max-parallel-tabs" : ""}`, async () => {
      const name = `ed${policy === "merge-skip" ? "s" : "o"}${capped ? "c" : ""}`;
      const log = join(dir, `${name}.log`);
      const tab = (n: string, word = n) => ({
        tabName: n,
        command: `echo S ${word} >> ${log}; sleep 1; echo E ${word} >> ${log}`,
      });
      const six = ["t0", "t1", "t2", "t3", "t4", "t5"].map((n) => tab(n));
      const f = layouts(`${name}.json`, [{ layoutName: name, layoutTabs: six }]);
      const first = inBackground([
        "run",
        f,
        "--socket",
        sock,
        "--max-parallel-tabs",
        "2",
        "--poll-seconds",
        "0.2",
      ]);
      const status = () => tabsOf(name);
      // Stopped once it schedules (a stop while it starts the session rolls the session back).
      await until(
        async () => first.got.err,
        (e) => e.includes(`✓ ${name} `),
      );
      first.child.kill("SIGINT");
      expect(await first.code).toBe(130);
      expect((await status()).map((t: { state: string }) => t.state).slice(2)).toEqual(
        Array(4).fill("abandoned"),
      );
      // t6 added first, t2's command changed, t3 moved before t2, t4 deleted, t5 renamed t5x.
      const edited = layouts(`${name}2.json`, [
        {
          layoutName: name,
          layoutTabs: [tab("t6"), six[0]!, six[1]!, six[3]!, tab("t2", "t2EDIT"), tab("t5x", "t5")],
        },
      ]);
      const cap = capped ? ["--max-parallel-tabs", "2", "--poll-seconds", "0.2"] : [];
      // The dry run says which tabs wait and which are dropped (review H63-7), and changes nothing.
      const dry = await run(edited, "--on-conflict", policy, ...cap, "--dry-run");
      expect(dry.code, dry.stderr).toBe(0);
      const held = capped ? "  (added: waits for a free slot)" : "";
      expect(lines(dry.stdout).filter((l) => l.startsWith("#   "))).toEqual([
        "#   keep    t0",
        "#   keep    t1",
        `#   create  t6${held}`,
        "#   open    t3  (never started: this run opens it)",
        "#   open    t2  (never started: this run opens it)",
        `#   create  t5x${held}`,
        "#   drop    t4  (never started; no longer in the file)",
        "#   drop    t5  (never started; no longer in the file)",
      ]);
      const dryJson = JSON.parse(
        (await run(edited, "--on-conflict", policy, ...cap, "--dry-run", "--json")).stdout,
      );
      expect(dryJson.batches[0][0]).toMatchObject({
        waitingTabs: capped ? [2, 3, 4, 5] : [3, 4],
        droppedTabs: ["t4", "t5"],
      });
      const merged = await run(edited, "--on-conflict", policy, ...cap);
      expect(merged.code, merged.stderr).toBe(0);
      // Without a cap the added tabs open at once; the waiting ones are opened by the merging run.
      expect(merged.stderr).toContain(
        capped
          ? "(merged into the running session: 2 added, 0 restarted, 2 kept, 4 waiting to be opened (1 with the command the file gives now), 2 dropped: no longer in the file)"
          : "(merged into the running session: 2 added, 0 restarted, 2 kept, 2 waiting to be opened (1 with the command the file gives now), 2 dropped: no longer in the file)",
      );
      const tabs = await until(status, (t) => t.every((x: { state: string }) => x.state === "exited"));
      expect(tabs.map((t: { tabName: string }) => t.tabName)).toEqual(["t0", "t1", "t6", "t3", "t2", "t5x"]);
      // Once more after the last start: a tab started twice would say so by now.
      await new Promise((r) => setTimeout(r, 1500));
      const starts = lines(readFileSync(log, "utf8")).filter((l) => l.startsWith("S "));
      // Each once, with the file's command; nothing of t4 or of t2's old command. Under the cap, in the
      // file's order, and never more than 2 at once, counting the first run's tabs still running.
      // (Tabs open two by two, each pair together: either of a pair may write first.)
      if (capped)
        expect([0, 2, 4].flatMap((k) => starts.slice(k, k + 2).sort())).toEqual([
          "S t0",
          "S t1",
          "S t3",
          "S t6",
          "S t2EDIT",
          "S t5",
        ]);
      else expect(starts.sort()).toEqual(["S t0", "S t1", "S t2EDIT", "S t3", "S t5", "S t6"]);
      let now = 0;
      let most = 0;
      for (const l of lines(readFileSync(log, "utf8"))) {
        now += l.startsWith("S ") ? 1 : -1;
        most = Math.max(most, now);
      }
      if (capped) expect(most).toBeLessThanOrEqual(2);
      await sessions(["kill", name]);
    });
  }
});

describe("run-all", () => {
  it("keeps each tab's dependencies and environment in its own layout when layouts share tab names (review H5-11)", async () => {
    const f = layouts("ra.json", [
      {
        layoutName: "L1",
        env: { WHO: "one" },
        layoutTabs: [
          {
            tabName: "db",
            command: "sleep 30",
            readiness: { file: join(dir, "never-ra"), timeoutSeconds: 1 },
          },
          { tabName: "api", command: 'echo "api of $WHO"', dependsOn: ["db"] },
        ],
      },
      {
        layoutName: "L2",
        env: { WHO: "two" },
        layoutTabs: [
          { tabName: "db", command: "true" },
          { tabName: "api", command: 'echo "api of $WHO"', dependsOn: ["db"] },
          { tabName: "solo", command: 'echo "solo of $WHO"' },
        ],
      },
    ]);
    const r = await sessions(["run-all", f, "--socket", sock, "-t", "5", "--poll-seconds", "0.3"], 90_000);
    expect(r.code, r.stderr).toBe(10);
    const st = JSON.parse((await sessions(["status", "all-layouts-dynamic", "--json"])).stdout).sessions[0];
    const by = Object.fromEntries(
      st.tabs.map((t: { tabName: string; state: string; exitCode?: number }) => [
        t.tabName,
        [t.state, t.exitCode],
      ]),
    );
    // L1's api waits for L1's db (never ready); L2's api for L2's db, and runs.
    // Never started: skipped, not "exited 125" (the 125 stays in JSON, as its tab-exited event says).
    expect(by["L1.api"]).toEqual(["skipped", 125]);
    const row = (await sessions(["status", "all-layouts-dynamic"])).stdout
      .split("\n")
      .find((l) => /\bL1\.api\b/.test(l));
    expect(row).toMatch(/L1\.api\s+skipped\s+-\s+echo/);
    expect(by["L2.api"]).toEqual(["exited", 0]);
    expect(by.solo).toEqual(["exited", 0]);
    const logs = await sessions(["logs", "all-layouts-dynamic/L2.api"]);
    expect(logs.stdout).toContain("api of two");
    expect((await sessions(["logs", "all-layouts-dynamic/solo"])).stdout).toContain("solo of two");
    await sessions(["kill", "all-layouts-dynamic"]);
  });
});

describe("--notify", () => {
  it("desktop without notify-send says so once, with what to install, and no exit status (review H20-16)", async () => {
    // A PATH with tmux and sh but no notify-send.
    const bin = join(dir, "no-notify-bin");
    execFileSync("mkdir", ["-p", bin]);
    // runCli starts `node` from PATH.
    if (!existsSync(join(bin, "node"))) execFileSync("ln", ["-s", process.execPath, join(bin, "node")]);
    for (const tool of [
      "tmux",
      "sh",
      "perl",
      "awk",
      "mkdir",
      "sleep",
      "date",
      "mv",
      "ps",
      "cat",
      "tr",
      "sed",
      "grep",
      "readlink",
    ]) {
      const at = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
      if (at && !existsSync(join(bin, tool))) execFileSync("ln", ["-s", at, join(bin, tool)]);
    }
    const f = layouts("nn.json", [
      {
        layoutName: "nn",
        layoutTabs: [
          { tabName: "a", command: "exit 3" },
          { tabName: "b", command: "exit 4" },
        ],
      },
    ]);
    const r = await runCli(["run", f, "--socket", sock, "-k", "--interval", "0.2", "--notify", "desktop"], {
      env: { ...env, PATH: bin },
      cwd: dir,
    });
    expect(r.code, r.stderr).toBe(10);
    expect(r.stderr.match(/notify-send is not installed/g)).toHaveLength(1);
    expect(r.stderr).not.toMatch(/exited -2/);
  });

  it("a notifier still running 5 s after the end does not hold the run (outside review H5-16)", async () => {
    const f = layouts("slow-notify.json", [
      { layoutName: "sn", layoutTabs: [{ tabName: "a", command: "exit 4" }] },
    ]);
    const t0 = Date.now();
    try {
      const r = await run(f, "-k", "--interval", "0.2", "--notify", "sleep 29.75");
      expect(r.code, r.stderr).toBe(10);
      expect(Date.now() - t0).toBeLessThan(20_000);
    } finally {
      // The notifier alone (a bare `-f "sleep 29.75"` also matched the run itself, whose argv says it).
      spawnSync("pkill", ["-f", "^sleep 29.75$"]);
    }
  });

  it("a notifier killed by a signal is a warning that names the signal; the run's exit is its tabs'", async () => {
    const f = layouts("killed-notify.json", [
      { layoutName: "kn", layoutTabs: [{ tabName: "a", command: "exit 4" }] },
    ]);
    const r = await run(f, "-k", "--interval", "0.2", "--notify", "kill -TERM $$");
    expect(r.code, r.stderr).toBe(10);
    expect(r.stderr).toMatch(/warning: --notify was killed by SIGTERM/);
    expect(r.stderr).not.toMatch(/exited null/);
  });
});

describe("housekeeping", () => {
  it("ls --prune forgets ended sessions and removes their files", async () => {
    const before = (await sessions(["ls", "--json"])).stdout;
    expect((await sessions(["ls", "--prune"])).code).toBe(0);
    const runs = join(dir, "state", "runs");
    const left = existsSync(runs) ? readdirSync(runs) : [];
    if (left.length) console.error("LEFT", JSON.stringify(left.map((d) => [d, readdirSync(join(runs, d))])));
    expect(left, before).toEqual([]);
  });
});

describe("queued tabs and what a run says of them (review H18)", () => {
  it("tabs that never start because their session ended fail the run (exit 10); --exit close is refused with a cap", async () => {
    const f = layouts("gone.json", [
      {
        layoutName: "gone",
        layoutTabs: [
          { tabName: "a", command: "sleep 60" },
          { tabName: "b", command: "true" },
          { tabName: "c", command: "true" },
        ],
      },
    ]);
    const refused = await run(f, "--max-parallel-tabs", "1", "--exit", "close");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--kill-finished-tabs");
    // The session ends under the run while b and c wait for a slot.
    const { code, stderr } = await runUntilKilled(
      f,
      "gone",
      "--max-parallel-tabs",
      "1",
      "--poll-seconds",
      "0.2",
    );
    expect(code).toBe(10);
    expect(stderr).toMatch(/2 never started \(their session ended\)/);
  });

  it("run -m -k of a session killed outside mc says it was already gone, and its record says so (reviews H40-3, H38-5)", async () => {
    const f = layouts("outside.json", [
      { layoutName: "outk", layoutTabs: [{ tabName: "t", command: "sleep 60" }] },
    ]);
    const { code, stderr } = await runUntilKilled(f, "outk", "-m", "-k", "--interval", "0.2");
    expect(code).toBe(10);
    // It said "sessions killed", and the record "ended (killed)": mc had killed nothing.
    expect(stderr).toMatch(/no session killed, 1 already gone\n/);
    const ended = JSON.parse((await sessions(["ls", "--json"])).stdout).runs.filter(
      (r: { session: string }) => r.session === "outk",
    );
    expect(ended.map((r: { ended?: { by: string } }) => r.ended?.by)).toEqual(["gone"]);
    expect((await sessions(["ls"])).stdout).toMatch(/outk .* ended \(gone\)/);
  });

  it("so do dependants that never start, without -m; --exit close with dependsOn is refused (review H19-4)", async () => {
    const ready = join(dir, "h19-4.ready");
    const f = layouts("dep3.json", [
      {
        layoutName: "dr",
        layoutTabs: [
          { tabName: "a", command: `sleep 2; touch ${ready}; sleep 30`, readiness: { file: ready } },
          { tabName: "b", command: "echo b-ran", dependsOn: ["a"] },
        ],
      },
    ]);
    const refused = await run(f, "--exit", "close");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("dependsOn");
    const { code, stderr } = await runUntilKilled(f, "dr");
    expect(code).toBe(10);
    expect(stderr).toMatch(/1 tab\(s\) never started: their session ended first/);
  });

  it("a readiness timeout fails the run without -m too; an interactive pane is no finished tab (reviews H21-3, H21-5)", async () => {
    const f = layouts("rt.json", [
      {
        layoutName: "rt",
        layoutTabs: [
          {
            tabName: "a",
            command: "sleep 30",
            readiness: { file: join(dir, "never-there"), timeoutSeconds: 1 },
          },
          { tabName: "b", command: "echo b-ran", dependsOn: ["a"] },
        ],
      },
    ]);
    const r = await run(f);
    expect(r.code, r.stderr).toBe(10);
    expect(r.stderr).toContain("rt / a: not ready within 1 s");
    expect(r.stderr).toContain(
      "2 tab(s) failed: not ready in time, or not started because a tab they depend on failed",
    );
    await sessions(["kill", "rt"]);
    // A pane without a command is a shell the user asked for: --kill-finished-tabs leaves it open.
    const g = layouts("ip.json", [
      {
        layoutName: "ip",
        layoutTabs: [
          { tabName: "p", command: "sleep 0.5", panes: [{}] },
          { tabName: "q", command: "sleep 1.5" },
        ],
      },
    ]);
    const k = await run(g, "--max-parallel-tabs", "2", "--kill-finished-tabs", "--poll-seconds", "0.2");
    expect(k.code, k.stderr).toBe(0);
    // Tab p's own pane finished and closed; its shell pane keeps window p.
    expect(windowsOf("ip")).toContain("p");
    await sessions(["kill", "ip"]);
  });

  it("wait NAME is not failed by another run's damaged record: it warns (review H19-5)", async () => {
    const state = join(dir, "state-h19-5");
    const e = { ...env, MC_STATE_DIR: state };
    const f = layouts("okw.json", [{ layoutName: "okw", layoutTabs: [{ tabName: "x", command: "true" }] }]);
    expect((await runCli(["run", f, "--socket", sock, "-m"], { env: e, cwd: dir })).code).toBe(0);
    writeFileSync(join(state, "managers", "TmuxLocalManager", "20990101-000000-aaaaaa.json"), "{garbage", {
      mode: 0o600,
    });
    const w = await runCli(["wait", "okw", "--timeout", "5"], { env: e, cwd: dir });
    expect(w.code, w.stderr).toBe(0);
    expect(w.stderr).toContain("skipped unreadable run record");
    expect((await runCli(["wait", "--timeout", "5"], { env: e, cwd: dir })).code).toBe(9);
    await runCli(["kill", "okw"], { env: e, cwd: dir });
  });

  it("a name no readable record holds, beside an unreadable record, is exit 9 naming the file, for every lookup (review H50-8)", async () => {
    const state = join(dir, "state-h50-8");
    const e = { ...env, MC_STATE_DIR: state };
    const cli = (args: string[]) => runCli(args, { env: e, cwd: dir });
    const f = layouts("h508.json", [
      { layoutName: "h508", layoutTabs: [{ tabName: "x", command: "sleep 60" }] },
    ]);
    expect((await cli(["run", f, "--socket", sock])).code).toBe(0);
    onTestFinished(() => {
      try {
        execFileSync("tmux", ["-S", sock, "kill-session", "-t", "=h508"], { stdio: "ignore" });
      } catch {}
    });
    const runs = join(state, "managers", "TmuxLocalManager");
    const [file] = readdirSync(runs).filter((n) => n.endsWith(".json"));
    const path = join(runs, file!);
    writeFileSync(path, '{"broken');
    for (const args of [
      ["wait", "h508", "--timeout", "5"],
      ["kill", "h508"],
      ["status", "h508"],
      ["logs", "h508"],
      ["rerun", "h508/x"],
      ["events", "h508"],
      ["attach", "h508-nowhere"],
    ]) {
      const r = await cli(args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(9);
      const error = lines(r.stderr).find((l) => l.startsWith("error:"));
      // One line naming the file once, its reason, no internal tags.
      expect(error, r.stderr).toContain(`${path} (is not valid JSON)`);
      expect(error!.split(path)).toHaveLength(2);
      expect(r.stderr).not.toContain("[mc]");
      expect(r.stderr).not.toContain("[core]");
    }
    const j = await cli(["kill", "h508", "--json"]);
    expect(j.code).toBe(9);
    expect(JSON.parse(j.stderr).error).toMatchObject({
      code: "STATE_CORRUPT",
      details: { unreadable: [{ path, error: "is not valid JSON" }] },
    });
    // The session lives on: nothing was killed.
    execFileSync("tmux", ["-S", sock, "has-session", "-t", "=h508"]);
    const ls = await cli(["ls"]);
    expect(ls.stderr + ls.stdout).toContain(`${path}: is not valid JSON`);
  });

  it("a record that could not be read, or a link in its place, is exit 9 for status, ls and kill --all, and a merge says it is unreadable (review H65-5)", async () => {
    const state = join(dir, "state-h65-5");
    const e = { ...env, MC_STATE_DIR: state };
    const cli = (args: string[]) => runCli(args, { env: e, cwd: dir });
    const f = layouts("h655.json", [
      { layoutName: "h655", layoutTabs: [{ tabName: "x", command: "sleep 60" }] },
    ]);
    expect((await cli(["run", f, "--socket", sock])).code).toBe(0);
    onTestFinished(() => {
      try {
        execFileSync("tmux", ["-S", sock, "kill-session", "-t", "=h655"], { stdio: "ignore" });
      } catch {}
    });
    const runs = join(state, "managers", "TmuxLocalManager");
    const [file] = readdirSync(runs).filter((n) => n.endsWith(".json"));
    const path = join(runs, file!);
    writeFileSync(path, readFileSync(path, "utf8").slice(0, 300));
    for (const args of [["status"], ["ls"]]) {
      const r = await cli(args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(9);
      expect(r.stderr).toContain(`skipped unreadable run record ${path}: is not valid JSON`);
      expect(r.stderr).not.toMatch(/no managed sessions|mc manages no sessions/);
    }
    // Its record is there, unreadable: not "gone" (exit 4), nothing merged.
    const merge = await cli(["run", f, "--socket", sock, "--on-conflict", "merge-skip"]);
    expect(merge.code, merge.stderr).toBe(9);
    expect(merge.stderr).toContain(`its run record could not be read (${path} is not valid JSON)`);
    expect(merge.stderr).not.toContain("gone");
    // A link in its place is not trusted, so not read: it may be this user's record replaced.
    rmSync(path);
    execFileSync("ln", ["-s", "/dev/zero", path]);
    for (const args of [["status"], ["ls"], ["kill", "--all"]]) {
      const r = await cli(args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(9);
      expect(r.stderr).toContain(path);
      expect(r.stderr).toContain("not trusted");
      expect(r.stderr).not.toMatch(/no managed sessions|nothing to kill/);
    }
    const j = await cli(["status", "--json"]);
    expect(j.code).toBe(9);
    expect(JSON.parse(j.stdout).unreadable).toEqual([
      { path, error: expect.stringContaining("not trusted") },
    ]);
    const m = await cli(["run", f, "--socket", sock, "--on-conflict", "merge-skip"]);
    expect(m.code, m.stderr).toBe(9);
    expect(m.stderr).toContain("its run record could not be read");
    // Nothing was killed or merged: the one window runs on.
    expect(windowsOf("h655")).toEqual(["x"]);
    // --on-conflict restart replaces it still (the tool shows it is mc's); the unreadable record is left.
    const pid = () =>
      execFileSync("tmux", ["-S", sock, "list-panes", "-t", "=h655", "-F", "#{pane_pid}"], {
        encoding: "utf8",
      }).trim();
    const before = pid();
    const restart = await cli(["run", f, "--socket", sock, "--on-conflict", "restart"]);
    expect(restart.code, restart.stderr).toBe(0);
    expect(pid()).not.toBe(before);
    expect(existsSync(path) || lstatSync(path).isSymbolicLink()).toBe(true);
  });

  it("a failed tab is reported (and notified) when it ends, not when the queue has run", async () => {
    const stamp = join(dir, "h18-3");
    const notify = join(dir, "notify-h18.sh");
    writeFileSync(notify, `#!/bin/sh\ngrep -q '"tab":"fail"' && date +%s.%N >> ${stamp}.notified\nexit 0\n`, {
      mode: 0o755,
    });
    const f = layouts("late.json", [
      {
        layoutName: "late",
        layoutTabs: [
          { tabName: "fail", command: "exit 3" },
          { tabName: "s1", command: "sleep 3" },
          { tabName: "s2", command: `date +%s.%N > ${stamp}.s2; sleep 3` },
        ],
      },
    ]);
    const r = await run(
      f,
      "--max-parallel-tabs",
      "1",
      "--poll-seconds",
      "0.2",
      "-m",
      "-k",
      "--notify",
      notify,
    );
    expect(r.code).toBe(10);
    // Its "exited 3" line and its notification came while s1 ran, before s2 started.
    expect(r.stdout).toMatch(/late \/ fail: exited 3/);
    const notified = Number(readFileSync(`${stamp}.notified`, "utf8").trim().split("\n")[0]);
    const s2 = Number(readFileSync(`${stamp}.s2`, "utf8").trim());
    expect(notified).toBeLessThan(s2);
  });

  it("--max-parallel-tabs counts tabs, not panes", async () => {
    const stamp = join(dir, "h18-5");
    const pane = (command: string) => ({ panes: [{ command }] });
    const f = layouts("panes2.json", [
      {
        layoutName: "pp",
        layoutTabs: [
          { tabName: "p0", command: "sleep 0.3", ...pane("sleep 0.3") },
          { tabName: "p1", command: `sleep 4; date +%s.%N > ${stamp}.p1end`, ...pane("sleep 4") },
          { tabName: "p2", command: `date +%s.%N > ${stamp}.p2start`, ...pane("true") },
        ],
      },
    ]);
    const r = await run(f, "--max-parallel-tabs", "2", "--poll-seconds", "0.2", "-k");
    expect(r.code, r.stderr).toBe(0);
    // p0 ended: one tab (two panes) runs, a slot of two is free, p2 starts beside p1.
    const p2 = Number(readFileSync(`${stamp}.p2start`, "utf8").trim());
    const p1 = Number(readFileSync(`${stamp}.p1end`, "utf8").trim());
    expect(p2).toBeLessThan(p1);
  });

  it("wait does not say success over a run record it could not read (exit 9)", async () => {
    const state = join(dir, "state-h18-2");
    const e = { ...env, MC_STATE_DIR: state };
    const f = layouts("w.json", [{ layoutName: "w", layoutTabs: [{ tabName: "x", command: "exit 3" }] }]);
    expect((await runCli(["run", f, "--socket", sock, "-m"], { env: e, cwd: dir })).code).toBe(10);
    const runs = join(state, "managers", "TmuxLocalManager");
    const [file] = readdirSync(runs).filter((n) => n.endsWith(".json"));
    const rec = JSON.parse(readFileSync(join(runs, file!), "utf8"));
    rec.sessions[0].layout.layoutTabs = "x";
    writeFileSync(join(runs, file!), JSON.stringify(rec));
    const w = await runCli(["wait", "--timeout", "5"], { env: e, cwd: dir });
    expect(w.code).toBe(9);
    expect(w.stderr).toContain("could not read");
    const j = await runCli(["wait", "--timeout", "5", "--json"], { env: e, cwd: dir });
    expect(j.code).toBe(9);
    expect(JSON.parse(j.stdout)).toMatchObject({
      ok: false,
      unreadable: [expect.objectContaining({ path: expect.any(String) })],
    });
    await runCli(["kill", "w"], { env: e, cwd: dir });
    try {
      execFileSync("tmux", ["-S", sock, "kill-session", "-t", "=w"], { stdio: "ignore" });
    } catch {}
  });
});

describe("--kill-finished-tabs ends what a closed tab left running, as run -k does (review H12-7)", () => {
  it("a tab's escaped processes end with its tab; the next tab and the user's session are untouched", async () => {
    const cmdlines = () =>
      readdirSync("/proc")
        .filter((p) => /^\d+$/.test(p))
        .map((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, "utf8").replace(/\0/g, " ").trim();
          } catch {
            return "";
          }
        });
    const f = layouts("kft.json", [
      {
        layoutName: "kft",
        layoutTabs: [
          {
            tabName: "a",
            command:
              "setsid sleep 3017 >/dev/null 2>&1 & nohup sleep 3018 >/dev/null 2>&1 & sleep 0.3; exit 0",
          },
          { tabName: "b", command: "sleep 2" },
        ],
      },
    ]);
    try {
      const r = await run(f, "--max-parallel-tabs", "1", "--kill-finished-tabs", "--poll-seconds", "0.2");
      expect(r.code, r.stderr).toBe(0);
      const left = await until(
        async () => cmdlines().filter((c) => c === "sleep 3017" || c === "sleep 3018"),
        (l) => l.length === 0,
        10_000,
      );
      expect(left).toEqual([]);
      expect(execFileSync("tmux", ["-S", sock, "has-session", "-t", "=keeper"]).length).toBe(0);
    } finally {
      for (const p of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
        try {
          const c = readFileSync(`/proc/${p}/cmdline`, "utf8").replace(/\0/g, " ").trim();
          if (c === "sleep 3017" || c === "sleep 3018") process.kill(Number(p), "SIGKILL");
        } catch {}
      }
      await sessions(["kill", "kft"]);
    }
  });
});

const FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
describe.skipIf(!existsSync(FAKETIME))(
  "a wall clock stepped forward while tabs wait to be ready (review H25-3)",
  () => {
    it("a readiness timeout is measured on the monotonic clock: the tab becomes ready, its dependant runs", async () => {
      const flag = join(dir, "h25-3.ready");
      const f = layouts("h25-3.json", [
        {
          layoutName: "clk",
          layoutTabs: [
            {
              tabName: "db",
              command: `sleep 6; touch '${flag}'; sleep 4`,
              readiness: { file: flag, timeoutSeconds: 300 },
            },
            { tabName: "app", command: "echo app-ran", dependsOn: ["db"] },
          ],
        },
      ]);
      // `sessions run` alone sees the clock jump two hours, 3 s after it started (tmux and the tabs do not).
      const r = await runCli(["run", f, "--socket", sock, "-m", "--exit", "keep", "--interval", "0.5"], {
        env: {
          ...env,
          LD_PRELOAD: FAKETIME,
          FAKETIME: "+2h",
          FAKETIME_START_AFTER_SECONDS: "3",
          FAKETIME_DONT_FAKE_MONOTONIC: "1",
        },
        cwd: dir,
        timeout: 60_000,
      });
      expect(r.stderr).not.toMatch(/not ready within/);
      expect(r.code, r.stderr).toBe(0);
      const tabs = await tabsOf("clk");
      expect(tabs.map((t: { tabName: string; state: string }) => [t.tabName, t.state])).toEqual([
        ["db", "exited"],
        ["app", "exited"],
      ]);
      await sessions(["kill", "clk"]);
    }, 60_000);
  },
);

describe.skipIf(!existsSync(FAKETIME))(
  "a wall clock stepped back while wait and events --follow run (review H77-1)",
  () => {
    it("they end when the tabs end, not when the clock has caught up", async () => {
      const f = layouts("h77-1.json", [
        {
          layoutName: "back",
          layoutTabs: [
            { tabName: "x", command: "sleep 5; exit 0" },
            { tabName: "y", command: "sleep 6; exit 0" },
          ],
        },
      ]);
      const started = await runCli(["run", f, "--socket", sock], { env, cwd: dir });
      expect(started.code, started.stderr).toBe(0);
      // The two followers alone see the clock go back ten minutes, 2 s after they started: after their
      // first look at the tabs, before the tabs end.
      const stepped = {
        ...env,
        LD_PRELOAD: FAKETIME,
        FAKETIME: "-600s",
        FAKETIME_START_AFTER_SECONDS: "2",
        FAKETIME_DONT_FAKE_MONOTONIC: "1",
      };
      const began = performance.now();
      const [waited, followed] = await Promise.all([
        runCli(["wait", "back"], { env: stepped, cwd: dir, timeout: 30_000 }),
        runCli(["events", "back", "--follow"], { env: stepped, cwd: dir, timeout: 30_000 }),
      ]);
      // Before: both hung until the wall clock caught up (ten minutes).
      expect(waited.code, waited.stderr).toBe(0);
      expect(followed.code, followed.stderr).toBe(0);
      expect(followed.stdout).toMatch(/run-done/);
      expect(performance.now() - began).toBeLessThan(20_000);
      await sessions(["kill", "back"]);
    }, 60_000);
  },
);
