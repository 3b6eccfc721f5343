import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Command, type Host, isMcError, type LayoutConfig, type StatusReport } from "@mc/core";
import { afterAll, describe, expect, it } from "vitest";
import { parseSessionList, ZellijBackend, ZellijLocalManager } from "../src/index.js";
import { type FakeZellij, fakeZellij } from "./harness.js";

const layout = (name: string, dir: string, tabs: [string, string][]): LayoutConfig => ({
  layoutName: name,
  layoutTabs: tabs.map(([tabName, command]) => ({ tabName, startDir: dir, command })),
});

async function until<T = StatusReport>(
  m: ZellijLocalManager | (() => Promise<T>),
  ok: (r: T) => boolean,
  ms = 8000,
): Promise<T> {
  const probe = typeof m === "function" ? m : () => m.checkAllSessionsStatus() as Promise<T>;
  const end = Date.now() + ms;
  let asked = performance.now();
  let r = await probe();
  while (!ok(r) && Date.now() < end) {
    // Each probe starts several fake zellij processes (node): twice its own time between probes.
    await new Promise((res) =>
      setTimeout(res, Math.min(600, Math.max(100, 2 * (performance.now() - asked)))),
    );
    asked = performance.now();
    r = await probe();
  }
  return r;
}

const uniq = () => `t${Math.random().toString(36).slice(2, 7)}`;
const fakes: FakeZellij[] = [];
const make = (version: string, env: NodeJS.ProcessEnv = {}) => {
  const z = fakeZellij(version, env);
  fakes.push(z);
  return z;
};
afterAll(() => {
  for (const z of fakes) z.cleanup();
});

describe.each(["0.40.1", "0.44.3"])("ZellijLocalManager on fake zellij %s", (version) => {
  const z = make(version);
  const probe = new ZellijBackend(z.host, { zellij: "zellij", maxSessionNameBytes: 60 });

  it("starts detached with the version's layout flag and reports exit codes, signals and pipes", async () => {
    const p = uniq();
    const m = z.manager({
      sessionNamePrefix: p,
      keepShell: false,
      sessionLayouts: [
        layout("s", z.workDir, [
          ["pipe", "printf 'a\\nb\\n' | wc -l | grep -q 2 && exit 0; exit 9"],
          ["and", "false && echo no; exit 4"],
          ["semi", `true; trap 'echo HUP > ${join(z.workDir, `${p}.hup`)}; exit 1' HUP; sleep 30 & wait`],
        ]),
      ],
    });
    const started = await m.startAllSessions();
    expect(started[0]).toMatchObject({ name: `${p}_s`, tabs: 3 });
    const start = z.calls().find((c) => c.includes("--create-background"))!;
    expect(start.slice(0, 1)).toEqual([version === "0.40.1" ? "--layout" : "--new-session-with-layout"]);
    expect(start.slice(2)).toEqual(["attach", "--create-background", `${p}_s`]);

    const r = await until(m, (x) => x.sessions[0]!.tabs.filter((t) => t.state === "exited").length === 2);
    const tabs = r.sessions[0]!.tabs;
    expect(tabs.map((t) => [t.tabName, t.state, t.exitCode])).toEqual([
      ["pipe", "exited", 0],
      ["and", "exited", 4],
      ["semi", "running", undefined],
    ]);
    expect(tabs[2]!.processes.map((x) => x.command).join("\n")).toMatch(/sleep 30/);
    expect(r.sessions[0]!.exists).toBe(true);

    await m.killAllSessions();
    // Killing the session hung up the command that still ran.
    const hup = await until(
      async () => (await z.host.readFile(join(z.workDir, `${p}.hup`))) ?? "",
      (x) => x !== "",
    );
    expect(hup).toBe("HUP\n");
    expect((await probe.listSessions()).map((s) => s.name)).not.toContain(`${p}_s`);
  });

  it("status uses one list-sessions call, plus list-panes per live session only where zellij has it", async () => {
    const p = uniq();
    const m = z.manager({
      sessionNamePrefix: p,
      sessionLayouts: [layout("a", z.workDir, [["t", "sleep 30"]])],
    });
    await m.startAllSessions();
    const before = z.calls().length;
    await m.checkAllSessionsStatus();
    const calls = z.calls().slice(before);
    const kinds = calls.map((c) => c.filter((a) => !a.startsWith("/")).join(" "));
    expect(kinds.filter((k) => k.startsWith("list-sessions"))).toEqual(["list-sessions --no-formatting"]);
    expect(kinds.filter((k) => k.includes("list-panes"))).toHaveLength(version === "0.40.1" ? 0 : 1);
    await m.killAllSessions();
  });

  it("mc's own EXITED session does not hold its name: any policy deletes it and starts afresh", async () => {
    // zellij saves the layout of a session with a command pane at its serialization ticks; a fake whose
    // interval is 0 has saved every session by the time it is killed.
    const z = make(version, { FAKE_ZELLIJ_SERIALIZE_MS: "0" });
    const probe = new ZellijBackend(z.host, { zellij: "zellij", maxSessionNameBytes: 60 });
    const p = uniq();
    const first = z.manager({
      sessionNamePrefix: p,
      sessionLayouts: [layout("x", z.workDir, [["old", "sleep 30"]])],
    });
    await first.startAllSessions();
    // Kill behind mc's back: zellij keeps the session as EXITED (resurrectable).
    await z.host.run({ file: "zellij", args: ["kill-session", `${p}_x`] });
    const rows = await probe.listSessions();
    // …and its saved layout still names mc's run, so mc knows it is its own.
    expect(rows.find((r) => r.name === `${p}_x`)).toMatchObject({ exited: true, runId: first.runId });
    expect((await first.checkAllSessionsStatus()).sessions[0]!.exists).toBe(false);

    const mk = () =>
      z.manager({ sessionNamePrefix: p, sessionLayouts: [layout("x", z.workDir, [["new", "exit 5"]])] });
    const restarted = mk();
    expect((await restarted.startAllSessions({ onConflict: "error" }))[0]).toMatchObject({ name: `${p}_x` });
    // A fresh session ran the new layout (a resurrection would have brought back "old", suspended).
    const r = await until(restarted, (x) => x.sessions[0]!.tabs[0]!.state === "exited");
    expect(r.sessions[0]!.tabs[0]).toMatchObject({ tabName: "new", state: "exited", exitCode: 5 });
    await restarted.killAllSessions();
    expect((await probe.listSessions()).filter((s) => s.name.startsWith(p))).toEqual([]);
  });

  it("matches names exactly: LocalJobMgr_a is not LocalJobMgr_ab", async () => {
    const p = uniq();
    const ab = z.manager({
      sessionNamePrefix: p,
      sessionLayouts: [layout("ab", z.workDir, [["t", "sleep 30"]])],
    });
    await ab.startAllSessions();
    const a = z.manager({
      sessionNamePrefix: p,
      sessionLayouts: [layout("a", z.workDir, [["t", "sleep 30"]])],
    });
    expect((await a.startAllSessions({ onConflict: "error" }))[0]!.name).toBe(`${p}_a`);
    await a.killAllSessions();
    expect((await probe.listSessions()).map((s) => s.name)).toContain(`${p}_ab`);
    expect((await ab.checkAllSessionsStatus()).sessions[0]!.exists).toBe(true);
    await ab.killAllSessions();
  });
});

describe("fake zellij: edge cases from zellij's source", () => {
  it("runs a tab whose startDir zellij would expand ($, ~user) in exactly that directory", async () => {
    const z = make("0.45.0");
    const dir = join(z.workDir, "$HOME and ${UNSET_VAR} 'q'");
    mkdirSync(dir, { recursive: true });
    const m = z.manager({
      sessionNamePrefix: uniq(),
      keepShell: false,
      sessionLayouts: [layout("d", dir, [["here", `pwd > ${JSON.stringify(join(z.workDir, "pwd.out"))}`]])],
    });
    await m.startAllSessions();
    await until(m, (x) => x.sessions[0]!.tabs[0]!.state === "exited");
    expect(readFileSync(join(z.workDir, "pwd.out"), "utf8").trim()).toBe(dir);
    await m.killAllSessions();
  });

  it("inside a zellij session (ZELLIJ_SESSION_NAME set) still creates a new session on 0.41+", async () => {
    const z = make("0.44.3", { ZELLIJ_SESSION_NAME: "outer" });
    await z.host.run({ file: "zellij", args: ["attach", "--create-background", "outer"] });
    const m = z.manager({
      sessionNamePrefix: uniq(),
      sessionLayouts: [layout("in", z.workDir, [["t", "sleep 30"]])],
    });
    const [s] = await m.startAllSessions();
    const probe = new ZellijBackend(z.host, { zellij: "zellij", maxSessionNameBytes: 60 });
    expect((await probe.listSessions()).map((x) => x.name)).toContain(s!.name);
    // And attach switches the current client instead of nesting zellij in a pane (0.44+).
    expect(m.attachToSession(s!.name, { ZELLIJ_SESSION_NAME: "outer" }).args).toEqual([
      "action",
      "switch-session",
      "--",
      s!.name,
    ]);
    expect(m.attachToSession(s!.name, {}).args).toEqual(["attach", "--", s!.name]);
    await m.killAllSessions();
  });

  it("kill frees the name even when zellij re-creates the EXITED entry after delete (zellij#4641)", async () => {
    const z = make("0.45.0", { FAKE_ZELLIJ_GHOSTS: "2", FAKE_ZELLIJ_SERIALIZE_MS: "0" });
    const p = uniq();
    const m = z.manager({
      sessionNamePrefix: p,
      sessionLayouts: [layout("g", z.workDir, [["t", "sleep 30"]])],
    });
    await m.startAllSessions();
    expect(await m.killAllSessions()).toMatchObject([{ name: `${p}_g`, ok: true, outcome: "killed" }]);
    const deletes = z.calls().filter((c) => c[0] === "delete-session");
    expect(deletes).toHaveLength(3);
    const probe = new ZellijBackend(z.host, { zellij: "zellij", maxSessionNameBytes: 60 });
    expect((await probe.listSessions()).map((s) => s.name)).not.toContain(`${p}_g`);
  });

  it.each([
    ["once: the start is made again and the session runs", 1],
    ["twice: a clear failure naming zellij's log, nothing left", 2],
  ])(
    "a server that dies while it starts (zellij 0.45 panics under load), %s",
    async (_, crashes) => {
      const z = make("0.45.0", { FAKE_ZELLIJ_CRASH_STARTS: String(crashes) });
      const p = uniq();
      const m = z.manager({
        sessionNamePrefix: p,
        sessionLayouts: [layout("c", z.workDir, [["t", "sleep 30"]])],
      });
      const r = await m.startAllSessions().catch((e: unknown) => e);
      const starts = z.calls().filter((c) => c.includes("--create-background"));
      expect(starts).toHaveLength(2);
      if (crashes === 1) {
        expect(r).toMatchObject([{ name: `${p}_c` }]);
        const st = await until(
          () => m.checkAllSessionsStatus(),
          (x) => x.sessions[0]?.tabs[0]?.state === "running",
        );
        expect(st.sessions[0]!.tabs[0]!.state).toBe("running");
        await m.killAllSessions();
      } else {
        expect(isMcError(r, "START_FAILED"), String(r)).toBe(true);
        expect(String((r as Error).message)).toMatch(/ended while it started, twice/);
        expect(m.managed).toEqual([]);
      }
    },
    60_000,
  );

  it("refuses zellij older than 0.40.0 and a missing binary, before starting anything", async () => {
    const old = make("0.39.2");
    const m = old.manager({ sessionLayouts: [layout("v", old.workDir, [["t", "true"]])] });
    const e1 = await m.startAllSessions().catch((e: unknown) => e);
    expect(isMcError(e1, "VERSION_UNSUPPORTED")).toBe(true);
    expect(String((e1 as Error).message)).toMatch(/0\.39\.2 is too old.*0\.40\.0/);

    const none = old.manager({
      zellij: "zellij-not-installed",
      sessionLayouts: [layout("v", old.workDir, [["t", "true"]])],
    });
    const e2 = await none.startAllSessions().catch((e: unknown) => e);
    expect(isMcError(e2, "BINARY_NOT_FOUND")).toBe(true);
    expect(old.calls().filter((c) => c.includes("attach"))).toEqual([]);
  });

  it("rejects names zellij cannot hold with LAYOUT_INVALID before starting anything", async () => {
    const z = make("0.45.0");
    const before = z.calls().length;
    for (const name of ["a/b", "-x", "x".repeat(80)]) {
      const m = z.manager({
        sessionNamePrefix: "",
        sessionLayouts: [layout(name, z.workDir, [["t", "true"]])],
      });
      const e = await m.startAllSessions().catch((err: unknown) => err);
      expect(isMcError(e, "LAYOUT_INVALID")).toBe(true);
    }
    // The length limit comes from the host's socket directory, read before any session starts: zellij
    // was only asked what it is and what it runs.
    expect(z.calls().slice(before)).toEqual([["--version"], ["list-sessions", "--no-formatting"]]);
  });
});

describe("fake zellij 0.45.0: what the real binary showed, replayed", () => {
  it("a session killed before zellij saved its layout vanishes; once saved, it is EXITED until mc deletes it", async () => {
    const z = make("0.45.0");
    const p = uniq();
    const m = z.manager({
      sessionNamePrefix: p,
      sessionLayouts: [layout("t", z.workDir, [["t", "sleep 30"]])],
    });
    await m.startAllSessions();
    await z.host.run({ file: "zellij", args: ["kill-session", `${p}_t`] });
    const probe = new ZellijBackend(z.host, { zellij: "zellij", maxSessionNameBytes: 60 });
    expect((await probe.listSessions()).map((s) => s.name)).not.toContain(`${p}_t`);
    const again = z.manager({
      sessionNamePrefix: p,
      sessionLayouts: [layout("t", z.workDir, [["t", "sleep 30"]])],
    });
    await again.startAllSessions();
    await z.host.run({ file: "zellij", args: ["--session", `${p}_t`, "action", "save-session"] });
    await z.host.run({ file: "zellij", args: ["kill-session", `${p}_t`] });
    expect((await probe.listSessions()).find((s) => s.name === `${p}_t`)).toEqual({
      name: `${p}_t`,
      exited: true,
      runId: again.runId,
    });
    expect(await again.killAllSessions()).toMatchObject([{ outcome: "killed" }]);
    expect((await probe.listSessions()).map((s) => s.name)).not.toContain(`${p}_t`);
  });

  it("a live name taken just before start is a conflict (Session already exists), and nothing is left running", async () => {
    const z = make("0.45.0");
    const p = uniq();
    const sneaky: Host = {
      ...z.host,
      run: async (cmd: Command, o) => {
        if (cmd.args.includes("--create-background") && cmd.args.at(-1) === `${p}_r`)
          await z.host.run({ file: "zellij", args: ["attach", "--create-background", `${p}_r`] });
        return z.host.run(cmd, o);
      },
    };
    const m = new ZellijLocalManager({
      host: sneaky,
      sessionNamePrefix: p,
      sessionLayouts: [layout("r", z.workDir, [["t", "sleep 30"]])],
    });
    const err = await m.startAllSessions().catch((e: unknown) => e);
    expect(isMcError((err as Error).cause, "SESSION_CONFLICT")).toBe(true);
    expect(String((err as Error).message)).toContain("Session already exists");
    await z.host.run({ file: "zellij", args: ["kill-session", `${p}_r`] });
  });

  it("an EXITED session resurrected instead of mc's layout is caught and put back", async () => {
    const z = make("0.45.0");
    const p = uniq();
    const other = join(z.workDir, `${p}.kdl`);
    writeFileSync(
      other,
      'layout {\n  tab name="theirs" {\n    pane command="sleep" {\n      args "600"\n    }\n  }\n}\n',
    );
    const sneaky: Host = {
      ...z.host,
      run: async (cmd: Command, o) => {
        if (cmd.args.includes("--create-background") && cmd.args.at(-1) === `${p}_g`) {
          const run = (...args: string[]) => z.host.run({ file: "zellij", args });
          await run("--new-session-with-layout", other, "attach", "--create-background", `${p}_g`);
          await run("--session", `${p}_g`, "action", "save-session");
          await run("kill-session", `${p}_g`);
        }
        return z.host.run(cmd, o);
      },
    };
    const m = new ZellijLocalManager({
      host: sneaky,
      sessionNamePrefix: p,
      sessionLayouts: [layout("g", z.workDir, [["mine", "sleep 30"]])],
    });
    const err = await m.startAllSessions().catch((e: unknown) => e);
    expect(isMcError((err as Error).cause, "SESSION_CONFLICT")).toBe(true);
    expect(String((err as Error).message)).toContain("resurrected");
    const rows = await new ZellijBackend(z.host).listSessions();
    expect(rows.find((r) => r.name === `${p}_g`)).toEqual({ name: `${p}_g`, exited: true });
  });

  it("holds tabs back and starts them later; closes a tab by its ref", async () => {
    const z = make("0.45.0");
    const p = uniq();
    const m = z.manager({
      sessionNamePrefix: p,
      exitMode: "keep",
      sessionLayouts: [
        layout("h", z.workDir, [
          ["a", "exit 0"],
          ["b", "exit 6"],
        ]),
      ],
    });
    await m.startAllSessions({ initialTabs: 1 });
    let r = await until(m, (x) => x.sessions[0]!.tabs[0]!.state === "exited");
    expect(r.sessions[0]!.tabs.map((t) => t.state)).toEqual(["exited", "not-started"]);
    await m.startTab(`${p}_h`, 1);
    r = await until(m, (x) => x.sessions[0]!.tabs[1]!.state === "exited");
    expect(r.sessions[0]!.tabs[1]).toMatchObject({ exitCode: 6 });
    await m.closeTab(r.sessions[0]!.tabs[0]!.ref!);
    r = await m.checkAllSessionsStatus();
    expect(r.sessions[0]!.tabs[0]!.ref).toBeUndefined();
    await expect(m.startTab(`${p}_h`, 1)).rejects.toThrow(/not waiting to start/);
    await m.killAllSessions();
  });

  it("replays the recorded answers: --session MISSING with two sessions exits 0; delete --force on a young session says not found", async () => {
    const z = make("0.45.0");
    const run = (...args: string[]) => z.host.run({ file: "zellij", args });
    await run("attach", "--create-background", "one");
    await run("attach", "--create-background", "two");
    const r = await run("--session", "nosuch", "action", "list-panes", "--json");
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("Session 'nosuch' not found. The following sessions are active:\n");
    expect(
      parseSessionList(r.stdout, { coloured: true })
        .map((x) => x.name)
        .sort(),
    ).toEqual(["one", "two"]);
    expect(await new ZellijBackend(z.host).q.listPanes("nosuch")).toBe("missing");
    // "Young" is under a second in zellij; the calls above can take longer than that on a loaded machine.
    const d = await z.host.run({
      file: "zellij",
      args: ["delete-session", "--force", "one"],
      env: { FAKE_ZELLIJ_YOUNG_MS: "600000" },
    });
    expect([d.exitCode, d.stderr]).toEqual([2, 'Session: "one" not found.\n']);
    await run("kill-session", "two");
  });
});

describe("fake zellij 0.45.0: --exit close", () => {
  it("closes each tab when its command ends; what is left of the session is still mc's to kill", async () => {
    const z = make("0.45.0");
    const p = uniq();
    const m = z.manager({
      sessionNamePrefix: p,
      exitMode: "close",
      sessionLayouts: [
        layout("c", z.workDir, [
          ["a", "exit 3"],
          ["b", "exit 0"],
        ]),
      ],
    });
    await m.startAllSessions();
    const r = await until(m, (x) => x.summary.allFinished);
    expect(r.sessions[0]!.tabs.map((t) => [t.state, t.exitCode])).toEqual([
      ["exited", 3],
      ["exited", 0],
    ]);
    // The status that closed its last tab ended the session as a kill does (zellij would keep the tab bar's
    // plugin pane, then an EXITED entry): nothing is left to kill, no entry holds the name.
    expect(await m.killAllSessions()).toMatchObject([{ outcome: "gone" }]);
    expect((await new ZellijBackend(z.host).listSessions()).map((s) => s.name)).not.toContain(`${p}_c`);
  });
});
