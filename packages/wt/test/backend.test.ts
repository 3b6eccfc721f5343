import type { Command, ManagedSession } from "@mc/core";
import { fakeHost } from "@mc/core/testing";
import { describe, expect, it } from "vitest";
import { formatStatusReport, MARKERS, pwshError, WtBackend } from "../src/index.js";

const decode = (cmd: Command) => Buffer.from(cmd.args.at(-1)!, "base64").toString("utf16le");
const session = (name: string, runDir: string, tabs: string[]): ManagedSession => ({
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
const row = (pid: number, ppid: number, startMs: number) => ({
  pid,
  ppid,
  start: startMs,
  rss: 1,
  cmd: `p${pid}`,
});

describe("WtBackend on a recording host", () => {
  it("reads every session's status from the records and ONE PowerShell process query", async () => {
    const host = fakeHost({
      handler: (cmd) => {
        const script = decode(cmd);
        expect(script.startsWith(MARKERS.processes)).toBe(true);
        expect(script).toContain("$mcRoots = @(100, 200, 300)");
        // 100 is alive with a child; 200's pid now belongs to a process created long after its record.
        return {
          stdout: JSON.stringify([row(100, 1, 1_000_000), row(101, 100, 1_000_500), row(200, 1, 9_000_000)]),
        };
      },
    });
    host.files.set("/r/a/tab-0.json", '{"v":1,"pid":100,"start":1000}');
    host.files.set("/r/a/tab-1.json", '{"v":1,"pid":200,"start":1000}');
    host.files.set("/r/b/tab-0.json", '{"v":1,"pid":300,"start":1000,"end":1005,"exit":3}');
    const be = new WtBackend({ host, pwsh: "pwsh" });
    const out = await be.status([session("a", "/r/a", ["x", "y", "z"]), session("b", "/r/b", ["w"])]);
    expect(host.calls).toHaveLength(1);
    expect(host.calls[0]!.file).toBe("pwsh");
    expect(out[0]!.tabs.map((t) => [t.state, t.pid, t.processes.map((p) => p.pid)])).toEqual([
      ["running", 100, [100, 101]],
      ["missing", 200, []],
      ["missing", undefined, []],
    ]);
    expect(out[0]!.exists).toBe(true);
    expect(out[1]!.tabs[0]).toMatchObject({ state: "exited", exitCode: 3, runtimeMs: 5000 });
    expect(out[1]!.exists).toBe(false);
    const text = formatStatusReport({ at: 0, sessions: out, summary: {} as never });
    expect(text).toContain("a [wt@fake] open, unhealthy");
  });

  it("a failing query leaves unfinished tabs unknown and says why", async () => {
    const host = fakeHost({ handler: () => ({ exitCode: 1, stderr: "Get-CimInstance : Access denied" }) });
    host.files.set("/r/a/tab-0.json", '{"v":1,"pid":100,"start":1000}');
    const [s] = await new WtBackend({ host }).status([session("a", "/r/a", ["x"])]);
    expect(s!.tabs[0]!.state).toBe("unknown");
    expect(s!.error).toMatch(/Access denied/);
  });

  it("kill stops only recorded trees, records the kill, and frees the name", async () => {
    const host = fakeHost({
      handler: (cmd) => {
        const script = decode(cmd);
        expect(script.startsWith(MARKERS.kill)).toBe(true);
        expect(script).toContain("$mcRoots = @(100, 200)");
        expect(script).toContain("$mcStarts = @(1000, 1001)");
        return { stdout: "[100,101]" };
      },
    });
    host.files.set("/r/a/tab-0.json", '{"v":1,"pid":100,"start":1000}');
    host.files.set("/r/a/tab-1.json", '{"v":1,"pid":200,"start":1001,"end":1002,"exit":0}');
    const be = new WtBackend({ host });
    await be.kill("a", session("a", "/r/a", ["x", "y"]));
    expect(host.calls).toHaveLength(1);
    expect(JSON.parse(host.files.get("/r/a/tab-0.json")!)).toMatchObject({ pid: 100, signal: "KILL" });
    expect(JSON.parse(host.files.get("/r/a/tab-1.json")!)).toEqual({
      v: 1,
      pid: 200,
      start: 1001,
      end: 1002,
      exit: 0,
    });
    await be.kill("never-started");
    expect(host.calls).toHaveLength(1);
  });

  it("finds PowerShell: pwsh first, then Windows PowerShell", async () => {
    const be = new WtBackend({ host: fakeHost({ binaries: ["powershell.exe"] }) });
    await be.checkAvailable();
    expect(be.pwsh).toBe("powershell");
    const none = new WtBackend({ host: fakeHost() });
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
