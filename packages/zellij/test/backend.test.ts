import { type Command, isMcError, type ManagedSession } from "@mc/core";
import { type FakeHost, fakeHost } from "@mc/core/testing";
import { describe, expect, it } from "vitest";
import { parseSessionList, ZellijBackend, ZellijLocalManager } from "../src/index.js";
import { fixture, message } from "./fixtures.js";

const V = "0.44.3";
const argv = (c: Command) => [c.file, ...c.args].join(" ");

/** A fake host answering like zellij 0.44.3 with the given list-sessions text and list-panes JSON. */
function host(o: { sessions: () => string; panes?: string; fail?: boolean }): FakeHost {
  return fakeHost({
    handler: (cmd) => {
      const a = cmd.args.join(" ");
      if (cmd.file === "/bin/sh")
        return { stdout: ["Linux", "0", "/home/u", "/tmp", "", "", "", "", "", ""].join("\0") };
      if (a === "--version") return { stdout: fixture(V, "version.txt")! };
      if (a.startsWith("list-sessions")) {
        if (o.fail) return { exitCode: 1, stderr: "Error occurred: PermissionDenied" };
        const out = o.sessions();
        if (out === "") {
          const m = message(V, "noSessions");
          return { exitCode: m.exit, stderr: `${m.text}\n` };
        }
        return { stdout: out };
      }
      if (a.includes("list-panes")) {
        const name = cmd.args[0]!.replace(/^--session=/, "");
        const live = o.fail ? [] : parseSessionList(o.sessions()).filter((r) => !r.exited);
        if (!live.some((r) => r.name === name))
          return { exitCode: 1, stderr: `Session '${name}' not found. The following sessions are active:\n` };
        return { stdout: o.panes ?? "[]" };
      }
      if (a.startsWith("kill-session") || a.startsWith("delete-session")) return {};
      return { exitCode: 2, stderr: "unexpected" };
    },
  });
}

const session = (name: string, tabs: string[], startedAt = 0): ManagedSession => ({
  machine: "fake",
  name,
  requestedName: name,
  layout: {
    layoutName: name,
    layoutTabs: tabs.map((tabName) => ({ tabName, startDir: "/tmp", command: "x" })),
  },
  runDir: "/state/runs/r1/s0",
  artefacts: [],
  startedAt,
  data: { tabScript: "/state/runs/r1/s0/tabs.sh", runId: "r1" },
});

const backend = (h: FakeHost) => new ZellijBackend(h, { zellij: "zellij", maxSessionNameBytes: 60 });

/** A manager on the fake host that manages `s` (as if it had started or loaded it). */
function managing(h: FakeHost, s: ManagedSession): ZellijLocalManager {
  const m = new ZellijLocalManager({ host: h, sessionLayouts: [] });
  m.managed = [s];
  return m;
}

describe("ZellijBackend on a recording host", () => {
  it("names a session as machineconfig's ZellijLocalManager does: LocalJobMgr_, a space as _ (review H31-1)", () => {
    const layout = (layoutName: string) => ({
      layoutName,
      layoutTabs: [{ tabName: "t", startDir: "/tmp", command: "true" }],
    });
    const m = new ZellijLocalManager({
      host: host({ sessions: () => "" }),
      sessionLayouts: [layout("g 2"), layout("a  b")],
    });
    expect(m.getAllSessionNames()).toEqual(["LocalJobMgr_g_2", "LocalJobMgr_a__b"]);
  });

  it("lists live and EXITED sessions, and an empty listing is no error", async () => {
    let text = fixture(V, "list-sessions-no-formatting.txt")!;
    const h = host({ sessions: () => text });
    const b = backend(h);
    const listed = await b.listSessions();
    expect(listed.map((s) => s.name)).toContain("LocalJobMgr_a");
    expect(listed.find((s) => s.name === "LocalJobMgr_a")).toEqual({ name: "LocalJobMgr_a", exited: true });
    expect(listed.find((s) => s.name === "LocalJobMgr_ab")).toEqual({ name: "LocalJobMgr_ab" });
    text = "";
    expect(await b.listSessions()).toEqual([]);
    expect(h.calls.map(argv).filter((c) => c.includes("list-sessions"))).toEqual([
      "zellij list-sessions --no-formatting",
      "zellij list-sessions --no-formatting",
    ]);
  });

  it("kills a live session, then deletes its EXITED entry, exact name only", async () => {
    const state = new Map([
      ["LocalJobMgr_a", false],
      ["LocalJobMgr_ab", false],
    ]);
    const h = host({
      sessions: () =>
        [...state]
          .map(([n, dead]) => `${n} [Created 0s ago] ${dead ? "(EXITED - attach to resurrect)" : ""}\n`)
          .join(""),
    });
    const inner = h.handler;
    h.handler = (cmd, hh) => {
      const [sub, , name] = cmd.args;
      if (sub === "kill-session") state.set(name!, true);
      if (sub === "delete-session") state.delete(name!);
      return inner(cmd, hh);
    };
    expect(await backend(h).kill("LocalJobMgr_a")).toBe("killed");
    expect(
      h.calls.map(argv).filter((c) => c.includes("kill-session") || c.includes("delete-session")),
    ).toEqual(["zellij kill-session -- LocalJobMgr_a", "zellij delete-session -- LocalJobMgr_a"]);
    expect([...state.keys()]).toEqual(["LocalJobMgr_ab"]);
  });

  it("deletes an EXITED session without trying to kill it, and ignores a missing one", async () => {
    let deleted = false;
    const h = host({
      sessions: () =>
        deleted ? "LocalJobMgr_ab [Created 0s ago] \n" : fixture(V, "list-sessions-no-formatting.txt")!,
    });
    const inner = h.handler;
    h.handler = (cmd, hh) => {
      if (cmd.args[0] === "delete-session") deleted = true;
      return inner(cmd, hh);
    };
    expect(await backend(h).kill("LocalJobMgr_a")).toBe("killed");
    expect(
      h.calls.map(argv).filter((c) => c.includes("kill-session") || c.includes("delete-session")),
    ).toEqual(["zellij delete-session -- LocalJobMgr_a"]);
    const before = h.calls.length;
    expect(await backend(h).kill("nope")).toBe("gone");
    // A name list-sessions leaves out is asked for directly (list-sessions can miss a live session).
    expect(h.calls.slice(before).map((c) => (c.file === "/bin/sh" ? "sh" : argv(c)))).toEqual([
      "zellij --version",
      "zellij list-sessions --no-formatting",
      "zellij --session=nope action list-panes --json",
      "sh", // the host's facts
      "sh", // its server's socket and process: none
    ]);
  });

  it("builds status from one list-sessions, one list-panes, the tab records and one process-table read", async () => {
    const h = host({
      sessions: () => "s [Created 1s ago] \n",
      panes: fixture(V, "list-panes.json")!,
    });
    const now = Math.floor(Date.now() / 1000);
    h.files.set("/state/runs/r1/s0/tab-0.json", JSON.stringify({ v: 1, pid: 4242, start: now - 5 }));
    h.trees.set(4242, [{ pid: 4242, ppid: 1, command: "sh tabs.sh 0", cpuPercent: 0, rssBytes: 0 }]);
    let treeCalls = 0;
    const trees = h.processTrees.bind(h);
    h.processTrees = (pids) => {
      treeCalls++;
      return trees(pids);
    };
    const m = managing(h, session("s", ["ok", "fail", "dollar", "pending"], Date.now()));
    const [st] = (await m.checkAllSessionsStatus()).sessions;
    expect(st!.exists).toBe(true);
    expect(st!.tabs.map((t) => [t.tabName, t.state, t.exitCode, t.signal])).toEqual([
      ["ok", "running", undefined, undefined],
      // No record but zellij holds the pane with its exit status (list-panes --json).
      ["fail", "exited", 3, undefined],
      // Ended without an exit status: zellij has none for a death by signal.
      ["dollar", "killed", undefined, undefined],
      ["pending", "pending", undefined, undefined],
    ]);
    expect(st!.tabs[0]!.processes).toHaveLength(1);
    expect(treeCalls).toBe(1);
    expect(h.calls.map(argv)).toEqual([
      "zellij --version",
      "zellij list-sessions --no-formatting",
      "zellij --session=s action list-panes --json",
    ]);
  });

  it("a same-named session whose panes are not this run's is not this session", async () => {
    const foreign = JSON.parse(fixture(V, "list-panes.json")!) as Record<string, unknown>[];
    const h = host({
      sessions: () => "s [Created 1s ago] \n",
      panes: JSON.stringify(foreign.filter((p) => p.terminal_command === null)),
    });
    const [st] = (await managing(h, session("s", ["t"])).checkAllSessionsStatus()).sessions;
    expect(st!.exists).toBe(false);
    expect(st!.tabs[0]!.state).toBe("missing");
    // …and kill leaves it alone.
    expect(await backend(h).kill("s", session("s", ["t"]))).toBe("gone");
    expect(h.calls.some((c) => c.args[0] === "kill-session")).toBe(false);
  });

  it("a live session zellij's probe misses (not listed, 'not found') is neither gone nor someone else's", async () => {
    // zellij 0.45 loses its ConnStatus answer under load: list-sessions leaves the session out and
    // --session NAME action says it was not found, while its socket and server are there.
    let serverUp = true;
    let misses = 2;
    const h = host({ sessions: () => "" });
    const inner = h.handler;
    h.handler = (cmd, hh) => {
      if (cmd.file === "/bin/sh" && cmd.args[1]?.includes("--server"))
        return { stdout: serverUp ? "SP" : "" };
      if (cmd.args.includes("list-panes")) {
        if (!serverUp || misses-- > 0)
          return { exitCode: 1, stderr: "Session 's' not found. The following sessions are active:\n" };
        return { stdout: fixture(V, "list-panes.json")! };
      }
      if (cmd.args[0] === "kill-session") serverUp = false;
      return inner(cmd, hh);
    };
    const m = managing(h, session("s", ["ok", "fail"], Date.now()));
    const [st] = (await m.checkAllSessionsStatus()).sessions;
    expect(st!.exists).toBe(true);
    expect(st!.tabs[1]).toMatchObject({ state: "exited", exitCode: 3 });
    misses = 3;
    expect(await backend(h).kill("s", session("s", ["ok", "fail"]))).toBe("killed");
    expect(h.calls.filter((c) => c.args[0] === "kill-session")).toHaveLength(1);
  });

  it("reports tabs of a vanished or EXITED session as finished, never running", async () => {
    const h = host({ sessions: () => "s [Created 1s ago] (EXITED - attach to resurrect)\n" });
    const now = Math.floor(Date.now() / 1000);
    h.files.set("/state/runs/r1/s0/tab-0.json", JSON.stringify({ v: 1, pid: 1111, start: now }));
    h.files.set(
      "/state/runs/r1/s0/tab-1.json",
      JSON.stringify({ v: 1, pid: 1112, start: now, end: now, signal: "HUP" }),
    );
    const [st] = (await managing(h, session("s", ["gone", "hup", "never"])).checkAllSessionsStatus())
      .sessions;
    expect(st!.exists).toBe(false);
    expect(st!.tabs.map((t) => t.state)).toEqual(["missing", "killed", "missing"]);
    expect(st!.summary.runningCommands).toBe(0);
    expect(h.calls.some((c) => c.args.includes("list-panes"))).toBe(false);
  });

  it("says unknown, not missing, when zellij cannot be asked", async () => {
    const h = host({ sessions: () => "", fail: true });
    const now = Math.floor(Date.now() / 1000);
    h.files.set("/state/runs/r1/s0/tab-0.json", JSON.stringify({ v: 1, pid: 1111, start: now }));
    const [st] = (await managing(h, session("s", ["t"])).checkAllSessionsStatus()).sessions;
    expect(st!.error).toMatch(/PermissionDenied/);
    expect(st!.tabs[0]!.state).toBe("unknown");
  });

  it("limits names by the socket directory of the host that runs zellij (a macOS TMPDIR is deep)", async () => {
    const tmp = "/var/folders/zz/abcdefghijklmnopqrstuvwxyz0000gn/T/";
    const h = host({ sessions: () => "" });
    const inner = h.handler;
    h.handler = (cmd, hh) =>
      cmd.file === "/bin/sh" && cmd.args[1]?.includes("uname")
        ? { stdout: ["Darwin", "501", "/Users/u", tmp, "", "", "", "", "", ""].join("\0") }
        : inner(cmd, hh);
    const b = new ZellijBackend(h);
    // Before the host was asked only the rules that hold everywhere apply…
    expect(() => b.checkName("LocalJobMgr_a_rather_long_layout_name")).not.toThrow();
    await b.checkAvailable();
    // …then the socket path `<TMPDIR>zellij-501/contract_version_1/<name>` must stay under 104 bytes.
    const limit = 104 - 1 - Buffer.byteLength(`${tmp}zellij-501/contract_version_1/`);
    expect(b.nameLimit()).toBe(limit);
    expect(() => b.checkName("x".repeat(limit))).not.toThrow();
    expect(() => b.checkName("x".repeat(limit + 1))).toThrow(/at most \d+ bytes on this host/);
  });

  it("refuses to run a finished tab again (zellij cannot give it a new tab) before asking zellij", async () => {
    const h = host({ sessions: () => "s [Created 1s ago] \n", panes: fixture(V, "list-panes.json")! });
    const b = backend(h);
    await expect(b.startTab(session("s", ["a", "b"]), 1, await h.info(), { attempt: 2 })).rejects.toThrow(
      /cannot run tab "b" of "s" again/,
    );
    expect(h.calls).toEqual([]);
  });

  it("checks the version once and names the minimum", async () => {
    const h = fakeHost({ handler: () => ({ stdout: "zellij 0.39.2\n" }) });
    const err = await backend(h)
      .checkAvailable()
      .catch((e: unknown) => e);
    expect(isMcError(err, "VERSION_UNSUPPORTED")).toBe(true);
    const ok = host({ sessions: () => "" });
    const b = backend(ok);
    await b.checkAvailable();
    await b.checkAvailable();
    expect(ok.calls.filter((c) => c.args[0] === "--version")).toHaveLength(1);
    expect(b.q.version).toEqual([0, 44, 3]);
  });

  it("maps a failed start to the zellij error code", async () => {
    const h = host({ sessions: () => "" });
    const inner = h.handler;
    h.handler = (cmd, hh) =>
      cmd.args.includes("--create-background")
        ? { exitCode: 1, stdout: `${message(V, "existsDead", "n").text}\n` }
        : inner(cmd, hh);
    const b = backend(h);
    const p = b.prepare(
      {
        index: 0,
        requested: "n",
        name: "n",
        action: "create",
        renamed: false,
        runId: "r1",
        machine: "local",
        keepShell: true,
        exitMode: "shell",
        layout: { layoutName: "n", layoutTabs: [{ tabName: "t", startDir: "/", command: "true" }] },
        runDir: "/r",
        artefactDir: "/r",
      },
      await h.info(),
    );
    expect(p.artefacts.map((a) => [a.path, a.mode])).toEqual([
      ["/r/tabs.sh", 0o700],
      ["/r/layout.kdl", undefined],
      ["/r/cmd-0", 0o600],
    ]);
    const err = await b.start(p).catch((e: unknown) => e);
    expect(isMcError(err, "SESSION_CONFLICT")).toBe(true);
  });
});
