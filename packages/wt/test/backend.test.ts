import {
  type Command,
  type ManagedSession,
  makeReport,
  type ProcessNode,
  summarizeSession,
  type TabStatus,
} from "@mc/core";
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

  it("kill lets the wrappers leave by themselves, stops only the recorded trees, and records what stopped", async () => {
    const host = fakeHost({
      handler: (cmd, h) => {
        // The kill script travels as a file (short command line); the stub runs it.
        expect(decode(cmd)).toBe("& ([scriptblock]::Create([System.IO.File]::ReadAllText('/r/a/kill.ps1')))");
        const script = h.files.get("/r/a/kill.ps1")!;
        expect(script.startsWith(MARKERS.kill)).toBe(true);
        expect(script).toContain("$mcWrapperPids = @(100)");
        expect(script).toContain("$mcOtherPids = @(101)");
        expect(script).toContain("$mcOtherStarts = @(1000500)");
        // Every tab got its kill file first: a wrapper records KILL and exits 0 (its tab closes).
        expect([...h.files.keys()].filter((k) => k.endsWith(".kill")).sort()).toEqual([
          "/r/a/tab-0.kill",
          "/r/a/tab-1.kill",
        ]);
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
    // scripts.ts killScript: an elevated child's StartTime cannot be read and Kill() is denied.
    const host = fakeHost({ handler: () => ({ stdout: '{"stopped":101,"survivors":[100]}' }) });
    host.files.set("/r/a/tab-0.json", '{"v":1,"pid":100,"start":1000}');
    host.trees.set(100, [node(100, 1, 1_000_000), node(101, 100, 1_000_500)]);
    const err = await new WtBackend(host).kill("a", session("a", "/r/a", ["x"])).catch((e) => e);
    expect(err).toMatchObject({ code: "COMMAND_FAILED", details: { stopped: [101], survivors: [100] } });
    expect(JSON.parse(host.files.get("/r/a/tab-0.json")!)).toEqual({ v: 1, pid: 100, start: 1000 });
  });

  it("kill writes the kill files before it reads the records: a tab recording its start meanwhile is stopped or leaves (review H43-5)", async () => {
    // The hostile review's interleaving: tab 0 runs (wrapper 100); tab 1's wrapper (2000) is still opening
    // and does what wrapper.ps1 does at start, at some point during the kill: move its start record into
    // place, then look for its kill file (KILL: it leaves; none: it starts its command). Whatever the
    // point, it must either find its kill file or be among the wrappers the kill script stops.
    const hooks = ["readDir", "processTrees", "writeFile tab-0.kill", "writeFile tab-1.kill"] as const;
    for (const at of hooks) {
      let wrapperSaw: "KILL" | "command" | undefined;
      const wrapper1 = () => {
        if (wrapperSaw) return;
        host.files.set("/r/a/tab-1.json", '{"v":1,"pid":2000,"start":1500,"attempt":1}');
        host.trees.set(2000, [node(2000, 1, 1_500_000)]);
        wrapperSaw = host.files.has("/r/a/tab-1.kill") ? "KILL" : "command";
      };
      let targets = "";
      const host = fakeHost({
        handler: (_cmd, h) => {
          targets = /\$mcWrapperPids = (.*)/.exec(h.files.get("/r/a/kill.ps1")!)![1]!;
          return {
            stdout: JSON.stringify({ stopped: targets.slice(2, -1).split(", ").map(Number), survivors: [] }),
          };
        },
      });
      host.files.set("/r/a/tab-0.json", '{"v":1,"pid":100,"start":1000}');
      host.trees.set(100, [node(100, 1, 1_000_000)]);
      const { readDir, processTrees, writeFile } = host;
      host.readDir = async (d) => {
        if (at === "readDir") wrapper1();
        return readDir.call(host, d);
      };
      host.processTrees = async (pids) => {
        if (at === "processTrees") wrapper1();
        return processTrees.call(host, pids);
      };
      host.writeFile = async (p, data) => {
        await writeFile.call(host, p, data);
        if (at === `writeFile ${p.split("/").pop()}`) wrapper1();
      };
      expect(await new WtBackend(host).kill("a", session("a", "/r/a", ["x", "y"]))).toBe("killed");
      expect(wrapperSaw, at).toBeDefined();
      if (wrapperSaw === "command") expect(targets, at).toContain("2000");
    }
  });

  it("the status text shows control characters visibly: a command cannot drive the terminal (review H43-3)", () => {
    const tab: TabStatus = {
      tabName: "t\u0007\u009b1",
      index: 0,
      state: "running",
      pid: 42,
      processes: [],
      runtimeMs: 1000,
      command: "\u001b]0;OWNED\u0007\u001b[2J\u009b31mX\u007f\u0000\tt\r\n",
    };
    const text = formatStatusReport(
      makeReport([
        {
          session: "esc",
          machine: "local",
          backend: "wt",
          host: "local",
          exists: true,
          error: "tool said \u001b[31mno\u001b[0m",
          tabs: [tab],
          summary: summarizeSession([tab], true),
        },
      ]),
    );
    // No C0 control but the report's own line breaks, no DEL, no C1.
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(text).toContain("\\e]0;OWNED\\x07\\e[2J\\x9b31mX\\x7f\\x00\\tt\\r\\n");
    expect(text).toContain("t\\x07\\x9b1");
    expect(text).toContain("! tool said \\e[31mno\\e[0m");
  });

  it("finds PowerShell (pwsh first, then Windows PowerShell) and probes the versions once", async () => {
    const probe = (stdout: string) => fakeHost({ binaries: ["powershell.exe"], handler: () => ({ stdout }) });
    const host = probe(
      '{"powershell":"5.1.19041.1","windows":"10.0.19045.0","wtPath":"C:\\\\wt.exe","wt":"1.22.11751.0"}',
    );
    const be = new WtBackend(host);
    await be.checkAvailable();
    await be.checkAvailable();
    expect(be.pwsh).toBe("powershell");
    expect(host.calls).toHaveLength(1);
    expect(decode(host.calls[0]!)).toBe(
      "& ([scriptblock]::Create([System.IO.File]::ReadAllText('/state/mc/wt/probe.ps1')))",
    );
    expect(host.files.get("/state/mc/wt/probe.ps1")!.startsWith(MARKERS.probe)).toBe(true);
    expect(be.platform).toEqual({
      powershell: [5, 1, 19041, 1],
      windows: [10, 0, 19045, 0],
      wtPath: "C:\\wt.exe",
      wt: [1, 22, 11751, 0],
    });
    const none = new WtBackend(fakeHost({ info: { platform: "win32" } }));
    // The hint names what a user can do (the CLI has no option for PowerShell's path).
    await expect(none.checkAvailable()).rejects.toMatchObject({
      code: "BINARY_NOT_FOUND",
      hint: expect.stringContaining("from PATH"),
    });
  });

  it("on Linux outside WSL, or macOS, says Windows Terminal runs on Windows (or WSL) only, not 'winget install' (review H50-12)", async () => {
    const wsl = fakeHost();
    wsl.files.set("/proc/sys/kernel/osrelease", "5.15.167.4-microsoft-standard-WSL2\n");
    await expect(new WtBackend(wsl).checkAvailable()).rejects.toMatchObject({
      code: "BINARY_NOT_FOUND",
      reason: expect.stringContaining("PowerShell"),
    });
    const linux = fakeHost();
    linux.files.set("/proc/sys/kernel/osrelease", "6.8.0-45-generic\n");
    for (const host of [linux, fakeHost({ info: { platform: "darwin" } })]) {
      const e = await new WtBackend(host).checkAvailable().catch((x) => x);
      expect(e).toMatchObject({
        code: "BINARY_NOT_FOUND",
        reason: expect.stringMatching(
          /^Windows Terminal runs on Windows \(or WSL\) only; this machine runs (linux|darwin)$/,
        ),
      });
      expect(e.hint).not.toContain("winget");
    }
    // PowerShell 7 on Linux: its probe finds no wt.exe, and the same is said.
    const pwshOnLinux = fakeHost({
      binaries: ["pwsh"],
      handler: () => ({ stdout: JSON.stringify({ powershell: "7.4.6", wtPath: null, wt: null }) }),
    });
    await expect(new WtBackend(pwshOnLinux).checkAvailable()).rejects.toMatchObject({
      reason: expect.stringContaining("Windows (or WSL) only"),
    });
  });

  it("#19 refuses versions below the minimum, and a missing wt, before anything starts", async () => {
    const check = (report: object) =>
      new WtBackend(
        fakeHost({
          info: { platform: "win32" },
          binaries: ["pwsh"],
          handler: () => ({ stdout: JSON.stringify(report) }),
        }),
      )
        .checkAvailable()
        .catch((e) => e);
    const ok = { powershell: "7.4.6", windows: "10.0.22631.0", wtPath: "C:\\wt.exe", wt: "1.22.11751.0" };
    expect(await check(ok)).toBeUndefined();
    expect(await check({ ...ok, wt: "1.17.11461.0" })).toMatchObject({
      code: "VERSION_UNSUPPORTED",
      reason: expect.stringMatching(/Windows Terminal 1\.17\.11461\.0 .*1\.18/),
    });
    expect(await check({ ...ok, powershell: "5.0.10586.117" })).toMatchObject({
      code: "VERSION_UNSUPPORTED",
    });
    expect(await check({ ...ok, wtPath: null, wt: null })).toMatchObject({
      code: "BINARY_NOT_FOUND",
      hint: expect.stringContaining("mc runs wt.exe from PATH"),
    });
    // An unknown wt version is not refused: generation is conservative then (see parse.test.ts).
    expect(await check({ ...ok, wt: null })).toBeUndefined();
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
