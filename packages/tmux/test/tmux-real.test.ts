import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Command, type Host, isMcError, shQuote } from "@mc/core";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { layout, type PrivateTmux, privateTmux, waitFor } from "./harness.js";

describe("tmux: commands run exactly as written (property, real tmux)", () => {
  let t: PrivateTmux;
  beforeAll(() => {
    t = privateTmux();
  });
  afterAll(() => t.stop());

  const nasty = fc.constantFrom(
    "'",
    '"',
    "$",
    "`",
    ";",
    "&&",
    "|",
    "\\",
    "\n",
    "%",
    "#{",
    "}",
    "#(",
    ")",
    "~",
    "*",
    "é",
    "😀",
    "\t",
    " ",
    "$(",
    "!",
    "<",
    ">",
  );
  const payload = fc
    .array(fc.oneof(nasty, fc.string({ unit: "grapheme", maxLength: 4 })), { minLength: 1, maxLength: 12 })
    .map((a) => a.join(""));

  it("200 generated commands each write back exactly what they received", async () => {
    const payloads = fc.sample(
      payload.filter((s) => !s.includes("\0")),
      { numRuns: 200, seed: 42 },
    );
    const out = (i: number) => join(t.work, `out-${i}`);
    const tabs = payloads.map((p, i): [string, string] => [
      `p${i}`,
      `printf '%s' ${shQuote(p)} > ${shQuote(out(i))}`,
    ]);
    // Four sessions of 50 tabs: what a user would run, and quicker than 200 sessions.
    const layouts = [0, 1, 2, 3].map((k) => layout(`prop${k}`, tabs.slice(k * 50, k * 50 + 50), t.work));
    const m = t.manager({ sessionLayouts: layouts, keepShell: false });
    await m.startAllSessions();
    const r = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.summary.allFinished,
      60000,
    );
    expect(r.summary.totalCommands).toBe(200);
    const bad = payloads.filter((p, i) => !existsSync(out(i)) || readFileSync(out(i), "utf8") !== p);
    expect(bad).toEqual([]);
    expect(
      r.sessions.flatMap((s) => s.tabs).every((tab) => tab.state === "exited" && tab.exitCode === 0),
    ).toBe(true);
  }, 120_000);

  it("shell features work: pipes, &&, ;, env assignments, redirections", async () => {
    const f = join(t.work, "features");
    const m = t.manager({
      sessionLayouts: [
        layout(
          "feat",
          [
            [
              "f",
              `FOO=bar sh -c 'echo $FOO' | tr a-z A-Z > ${f}; echo two >> ${f} && cat < ${f} | wc -l >> ${f}`,
            ],
          ],
          t.work,
        ),
      ],
    });
    await m.startAllSessions();
    await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.summary.allFinished,
    );
    expect(readFileSync(f, "utf8")).toBe("BAR\ntwo\n2\n");
    await m.killAllSessions();
  });
});

describe("tmux: names", () => {
  let t: PrivateTmux;
  beforeAll(() => {
    t = privateTmux();
  });
  afterAll(() => t.stop());

  it("#(…) and #{…} in names are text, never run", async () => {
    const marker = join(t.work, "pwned");
    const evil = `#(touch ${marker})#{session_id}`;
    const m = t.manager({ sessionLayouts: [layout(evil, [[evil, "sleep 30"]], t.work)] });
    await m.startAllSessions();
    const r = await m.checkAllSessionsStatus();
    await new Promise((res) => setTimeout(res, 300));
    expect(existsSync(marker)).toBe(false);
    expect(r.sessions[0]!.session).toBe(evil);
    expect(r.sessions[0]!.tabs[0]!.tabName).toBe(evil);
    expect(t.tmux("list-windows", "-a", "-F", "#{window_name}")).toContain(evil);
    await m.killAllSessions();
  });

  it("a startDir holding #(…) is a path, not a command", async () => {
    // One path component: the job would expand $MC_STATE_DIR from the server's environment.
    const marker = `${t.stateDir}.pwned`;
    const dir = join(t.work, "d#(touch $MC_STATE_DIR.pwned)#{pane_id}");
    mkdirSync(dir);
    const out = join(t.work, "pwd-out");
    const m = t.manager({ sessionLayouts: [layout("dirs", [["t", `pwd > ${shQuote(out)}`]], dir)] });
    await m.startAllSessions();
    await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.summary.allFinished,
    );
    expect(existsSync(marker)).toBe(false);
    expect(readFileSync(out, "utf8").trim()).toBe(dir);
    await m.killAllSessions();
  });

  it("refuses a missing startDir before starting anything", async () => {
    const m = t.manager({
      sessionLayouts: [
        layout("fine", [["t", "sleep 30"]], t.work),
        layout("broken", [["t", "true"]], join(t.work, "nope")),
      ],
    });
    const err = await m.startAllSessions().catch((e) => e);
    expect(err.code).toBe("LAYOUT_INVALID");
    expect(err.message).toContain(
      `layouts[1].layoutTabs[0].startDir: does not exist: ${join(t.work, "nope")}`,
    );
    expect(t.sessions()).not.toContain("fine");
  });

  it("a.b:c, 'build #1' and emoji names round-trip; duplicate tab names work", async () => {
    const names = ["a.b:c", "build #1", "déploiement 🚀"];
    const m = t.manager({
      sessionLayouts: names.map((n) =>
        layout(
          n,
          [
            [n, "sleep 30"],
            [n, "exit 4"],
          ],
          t.work,
        ),
      ),
    });
    const started = await m.startAllSessions();
    expect(started.map((s) => s.name)).toEqual(names);
    const r = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.sessions.every((s) => s.tabs[1]!.state === "exited"),
    );
    expect(r.sessions.map((s) => [s.session, s.exists, s.tabs.map((x) => [x.tabName, x.state])])).toEqual(
      names.map((n) => [
        n,
        true,
        [
          [n, "running"],
          [n, "exited"],
        ],
      ]),
    );
    expect((await m.backend.listSessions()).map((s) => s.name)).toEqual(expect.arrayContaining(names));
    await m.killAllSessions();
  });

  it("a session replaced by another run is no longer reported (or killed) as this run's", async () => {
    const first = t.manager({ sessionLayouts: [layout("same", [["old", "sleep 30"]], t.work)] });
    await first.startAllSessions();
    const second = t.manager({ sessionLayouts: [layout("same", [["new", "sleep 30"]], t.work)] });
    await second.startAllSessions({ onConflict: "restart" });
    const r = await first.checkAllSessionsStatus();
    expect(r.sessions[0]).toMatchObject({ session: "same", exists: false });
    await first.killAllSessions();
    expect(t.sessions()).toContain("same");
    await second.killAllSessions();
    expect(t.sessions()).not.toContain("same");
  });

  it("kill of api never touches api2, and a.b conflicts with a_b (tmux keeps one name)", async () => {
    t.tmux("new-session", "-d", "-s", "api2", "sleep 1000");
    t.tmux("new-session", "-d", "-s", "a_b", "sleep 1000");
    const m = t.manager({ sessionLayouts: [layout("api", [["t", "sleep 30"]], t.work)] });
    await m.startAllSessions();
    await m.killAllSessions();
    expect(t.sessions()).toContain("api2");
    const clash = t.manager({ sessionLayouts: [layout("a.b", [["t", "sleep 30"]], t.work)] });
    await expect(clash.startAllSessions({ onConflict: "error" })).rejects.toMatchObject({
      code: "SESSION_CONFLICT",
    });
    const renamed = await clash.startAllSessions({ onConflict: "rename" });
    expect(renamed[0]!.name).toBe("a.b_1");
    await clash.killAllSessions();
  });
});

describe("tmux: exit codes, base-index 1, rollback, server death", () => {
  let t: PrivateTmux;
  beforeAll(() => {
    t = privateTmux("set -g base-index 1\nset -g pane-base-index 1\nset -g renumber-windows on\n");
  });
  afterAll(() => t.stop());

  it("reports exit 0, 3, 130 and a killed command (base-index 1 config)", async () => {
    const m = t.manager({
      sessionLayouts: [
        layout(
          "codes",
          [
            ["zero", "exit 0"],
            ["three", "exit 3"],
            ["int", "exit 130"],
            ["victim", "sleep 60"],
          ],
          t.work,
        ),
      ],
    });
    await m.startAllSessions();
    const running = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) =>
        x.sessions[0]!.tabs[3]!.state === "running" &&
        x.sessions[0]!.tabs[3]!.processes.some((p) => p.command.startsWith("sleep")),
    );
    const sleep = running.sessions[0]!.tabs[3]!.processes.find((p) => p.command.startsWith("sleep"))!;
    process.kill(sleep.pid, "SIGKILL");
    const r = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.summary.allFinished,
    );
    expect(r.sessions[0]!.tabs.map((x) => [x.tabName, x.state, x.exitCode, x.signal])).toEqual([
      ["zero", "exited", 0, undefined],
      ["three", "exited", 3, undefined],
      ["int", "killed", 130, "SIGINT"],
      ["victim", "killed", 137, "SIGKILL"],
    ]);
    // The tabs stay usable: each still has a live shell after its command ended.
    expect(r.sessions[0]!.tabs.every((x) => x.processes.length > 0)).toBe(true);
    expect(t.tmux("list-windows", "-t", "=codes:", "-F", "#{window_index}").trim().split("\n")).toEqual([
      "1",
      "2",
      "3",
      "4",
    ]);
    await m.killAllSessions();
  });

  it("rolls back what it started when a later session fails, and names it", async () => {
    // A host that lets another client grab the second session's name just before mc builds it.
    const sneaky: Host = {
      ...t.host,
      run: async (cmd: Command, o) => {
        if (cmd.args.includes("source-file") && String(cmd.args.at(-1)).includes("/s1/")) {
          t.tmux("new-session", "-d", "-s", "second", "sleep 1000");
        }
        return t.host.run(cmd, o);
      },
    };
    const m = t.manager({
      sessionLayouts: [
        layout("first", [["t", "sleep 30"]], t.work),
        layout("second", [["t", "sleep 30"]], t.work),
      ],
      host: sneaky,
    });
    const err = await m.startAllSessions().catch((e) => e);
    expect(isMcError(err, "START_FAILED")).toBe(true);
    expect(err.message).toContain('session "second" failed to start: duplicate session: second');
    expect(err.hint).toBe("rolled back 1 of 1 session(s) this run had started");
    expect(t.sessions()).not.toContain("first");
    expect(t.sessions().sort().join(",")).toBe("keeper,second");
    t.tmux("kill-session", "-t", "=second");
  });

  it("monitoring survives the tmux server dying and reports the tabs as killed", async () => {
    const m = t.manager({
      sessionLayouts: [
        layout(
          "doomed",
          [
            ["a", "sleep 60"],
            ["b", "sleep 60"],
          ],
          t.work,
        ),
      ],
    });
    await m.startAllSessions();
    await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs.every((tab) => tab.state === "running"),
    );
    const errors: string[] = [];
    let cycles = 0;
    const done = m.runMonitoringRoutine({
      intervalMs: 100,
      onSnapshot: (s) => {
        cycles++;
        if (s.report?.sessions[0]?.error) errors.push(s.report.sessions[0].error);
      },
    });
    await new Promise((r) => setTimeout(r, 300));
    t.tmux("kill-server");
    const last = await done;
    expect(cycles).toBeGreaterThan(1);
    expect(last!.sessions[0]!.exists).toBe(false);
    // The last poll may have caught the server mid-shutdown (no panes, no error); once it is gone the
    // status says so plainly.
    expect((await m.checkAllSessionsStatus()).sessions[0]!.error).toBe("the tmux server is not running");
    expect(last!.sessions[0]!.tabs.map((x) => [x.state, x.signal])).toEqual([
      ["killed", "SIGHUP"],
      ["killed", "SIGHUP"],
    ]);
  });
});

describe("tmux: tabs started one by one (dynamic scheduling primitives)", () => {
  let t: PrivateTmux;
  beforeAll(() => {
    t = privateTmux();
  });
  afterAll(() => t.stop());

  it("starts only the first tabs, then adds and closes tabs by ref", async () => {
    const m = t.manager({
      sessionLayouts: [
        layout(
          "dyn",
          [
            ["a", "exit 0"],
            ["b", "sleep 30"],
            ["c", "exit 5"],
          ],
          t.work,
        ),
      ],
    });
    await m.startAllSessions({ initialTabs: 1 });
    let r = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs[0]!.state === "exited",
    );
    expect(r.sessions[0]!.tabs.map((x) => x.state)).toEqual(["exited", "not-started", "not-started"]);
    await m.startTab("dyn", 2);
    r = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs[2]!.state === "exited",
    );
    expect(r.sessions[0]!.tabs[2]).toMatchObject({ tabName: "c", state: "exited", exitCode: 5 });
    await m.killTab(r.sessions[0]!.tabs[0]!.ref!);
    const windows = t.tmux("list-windows", "-t", "=dyn:", "-F", "#{window_name}").trim().split("\n");
    expect(windows).toEqual(["c"]);
    await m.killAllSessions();
  });
});

describe("tmux: attach command", () => {
  let t: PrivateTmux;
  beforeAll(() => {
    t = privateTmux();
  });
  afterAll(() => t.stop());

  it("attach from outside tmux, switch-client inside the same server, a nested attach from another server", async () => {
    const m = t.manager({ sessionLayouts: [layout("att", [["t", "sleep 30"]], t.work)] });
    await m.startAllSessions();
    expect(m.attachToSession(undefined, {})).toEqual({
      file: "tmux",
      args: ["-u", "-S", t.socket, "attach-session", "-t", "=att"],
    });
    expect(m.attachToSession("att", { TMUX: `${t.socket},1234,0` }).args).toEqual([
      "-u",
      "-S",
      t.socket,
      "switch-client",
      "-t",
      "=att",
    ]);
    expect(m.attachToSession("att", { TMUX: "/tmp/tmux-0/default,1,0" })).toMatchObject({
      args: ["-u", "-S", t.socket, "attach-session", "-t", "=att"],
      env: { TMUX: "" },
    });
    // The command really targets the session: the same argv with has-session instead of attach succeeds.
    const cmd = m.attachToSession("att", {});
    expect(() =>
      execFileSync(
        cmd.file,
        cmd.args.map((a) => (a === "attach-session" ? "has-session" : a)),
      ),
    ).not.toThrow();
    expect(() => m.attachToSession("nope", {})).toThrow(/not managed by this run/);
    await m.killAllSessions();
  });
});
