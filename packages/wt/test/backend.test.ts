import type { Command, ManagedSession, ProcessNode } from "@mc/core";
import { fakeHost } from "@mc/core/testing";
import { describe, expect, it } from "vitest";
import { formatStatusReport, MARKERS, pwshError, WTLocalManager, WtBackend } from "../src/index.js";

const decode = (cmd: Command) => Buffer.from(cmd.args.at(-1)!, "base64").toString("utf16le");
const session = (name: string, runDir: string, tabs: string[]): ManagedSession => ({
  machine: "fake",
  name,
  requestedName: name,
  layout: {
    layoutName: name,
    layoutTabs: tabs.map((t) => ({ tabName: t, startDir: "C:\\", command: `run ${t}` })),
  },
  runDir,
  artefacts: [],
  startedAt: 0,
});
const node = (pid: number, ppid: number, startedAt: number): ProcessNode => ({
  pid,
  ppid,
  startedAt,
  rssBytes: 1,
  cpuPercent: 0,
  command: `p${pid}`,
});

describe("WtBackend on a recording host", () => {
  it("observes without a tool call; core decides every tab from the records and the process table", async () => {
    const host = fakeHost();
    host.files.set("/r/a/tab-0.json", '{"v":1,"pid":100,"start":1000}');
    host.files.set("/r/a/tab-1.json", '{"v":1,"pid":200,"start":1000}');
    host.files.set("/r/b/tab-0.json", '{"v":1,"pid":300,"start":1000,"end":1005,"exit":3}');
    // 100 is alive with a child; 200's pid now belongs to a process created long after its record.
    host.trees.set(100, [node(100, 1, 1_000_000), node(101, 100, 1_000_500)]);
    host.trees.set(200, [node(200, 1, 9_000_000)]);
    const m = new WTLocalManager({ host, sessionLayouts: [] });
    m.managed = [session("a", "/r/a", ["x", "y", "z"]), session("b", "/r/b", ["w"])];
    const [obs] = await m.backend.observe(m.managed);
    expect(obs).toMatchObject({ noPaneEvidence: true, panes: new Map() });
    const r = await m.checkAllSessionsStatus();
    expect(host.calls).toHaveLength(0);
    const [a, b] = r.sessions;
    expect(a!.tabs.map((t) => [t.state, t.pid, t.processes.map((p) => p.pid)])).toEqual([
      ["running", 100, [100, 101]],
      ["missing", 200, []],
      ["missing", undefined, []],
    ]);
    expect(a!.exists).toBe(true);
    expect(b!.tabs[0]).toMatchObject({ state: "exited", exitCode: 3, runtimeMs: 5000 });
    expect(b!.exists).toBe(false);
    expect(formatStatusReport(r)).toContain("a [wt@fake] open, unhealthy");
  });

  it("a process table that cannot be read leaves unfinished tabs unknown", async () => {
    const host = fakeHost();
    host.processTrees = async () => {
      throw new Error("Get-CimInstance : Access denied");
    };
    host.files.set("/r/a/tab-0.json", '{"v":1,"pid":100,"start":1000}');
    const m = new WTLocalManager({ host, sessionLayouts: [] });
    m.managed = [session("a", "/r/a", ["x"])];
    const r = await m.checkAllSessionsStatus();
    expect(r.sessions[0]!.tabs[0]!.state).toBe("unknown");
  });

  it("kill stops only the recorded trees, records the kill of what stopped, and frees the name", async () => {
    const host = fakeHost({
      handler: (cmd) => {
        const script = decode(cmd);
        expect(script.startsWith(MARKERS.kill)).toBe(true);
        expect(script).toContain("$mcPids = @(100, 101)");
        expect(script).toContain("$mcStarts = @(1000000, 1000500)");
        return { stdout: '{"stopped":[100,101],"survivors":[]}' };
      },
    });
    host.files.set("/r/a/tab-0.json", '{"v":1,"pid":100,"start":1000}');
    host.files.set("/r/a/tab-1.json", '{"v":1,"pid":200,"start":1001,"end":1002,"exit":0}');
    host.trees.set(100, [node(100, 1, 1_000_000), node(101, 100, 1_000_500)]);
    const be = new WtBackend(host);
    expect(await be.kill("a", session("a", "/r/a", ["x", "y"]))).toBe("killed");
    expect(host.calls).toHaveLength(1);
    expect(JSON.parse(host.files.get("/r/a/tab-0.json")!)).toMatchObject({ pid: 100, signal: "KILL" });
    expect(JSON.parse(host.files.get("/r/a/tab-1.json")!)).toEqual({
      v: 1,
      pid: 200,
      start: 1001,
      end: 1002,
      exit: 0,
    });
    expect(await be.kill("never-started")).toBe("gone");
    expect(host.calls).toHaveLength(1);
  });

  it("kill never reports a survivor as killed", async () => {
    // backend.ts killScript: an elevated child's StartTime cannot be read and Kill() is denied.
    const host = fakeHost({ handler: () => ({ stdout: '{"stopped":101,"survivors":[100]}' }) });
    host.files.set("/r/a/tab-0.json", '{"v":1,"pid":100,"start":1000}');
    host.trees.set(100, [node(100, 1, 1_000_000), node(101, 100, 1_000_500)]);
    const err = await new WtBackend(host).kill("a", session("a", "/r/a", ["x"])).catch((e) => e);
    expect(err).toMatchObject({ code: "COMMAND_FAILED", details: { stopped: [101], survivors: [100] } });
    expect(JSON.parse(host.files.get("/r/a/tab-0.json")!)).toEqual({ v: 1, pid: 100, start: 1000 });
  });

  it("finds PowerShell: pwsh first, then Windows PowerShell", async () => {
    const be = new WtBackend(fakeHost({ binaries: ["powershell.exe"] }));
    await be.checkAvailable();
    expect(be.pwsh).toBe("powershell");
    const none = new WtBackend(fakeHost());
    await expect(none.checkAvailable()).rejects.toMatchObject({ code: "BINARY_NOT_FOUND" });
  });

  it("maps PowerShell failures to error codes", () => {
    const r = { exitCode: 1, stdout: "", stderr: "", timedOut: false, durationMs: 5 };
    const ctx = { pwsh: "pwsh", wt: "wt" };
    expect(
      pwshError({ ...r, stderr: "wt: The term 'wt' is not recognized as the name of a cmdlet" }, "start", ctx)
        .code,
    ).toBe("BINARY_NOT_FOUND");
    expect(pwshError({ ...r, timedOut: true }, "status", ctx).code).toBe("TIMEOUT");
    expect(
      pwshError({ ...r, stderr: "running scripts is disabled on this system" }, "start", ctx).hint,
    ).toMatch(/policy/);
    expect(pwshError({ ...r, stderr: "boom" }, "kill", ctx)).toMatchObject({
      code: "COMMAND_FAILED",
      reason: "pwsh exited 1: boom",
    });
  });
});
