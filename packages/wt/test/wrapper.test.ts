/**
 * Issue #19, the tab wrapper: one test per point, each against the fakes (fakes.ts), whose PowerShell
 * model is checked first in the same test so the test would fail on the old wrapper.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StatusReport, TabConfig } from "@mc/core";
import { afterAll, describe, expect, it } from "vitest";
import { encodeCommand, MAX_COMMAND_LINE, type WtBackend, wrapperScript } from "../src/index.js";
import { FAKE_PWSH, type FakeWindows, fakeWindows } from "./fakes.js";

const all: FakeWindows[] = [];
const fresh = (o?: Parameters<typeof fakeWindows>[0]) => {
  const f = fakeWindows(o);
  all.push(f);
  return f;
};
afterAll(() => {
  for (const f of all) f.cleanup();
});

const tab = (tabName: string, command: string, startDir?: string): TabConfig => ({
  tabName,
  startDir: startDir ?? "/",
  command,
});
/** Run the fake PowerShell directly (to show what its model does). */
const pwsh = (f: FakeWindows, ...args: string[]) =>
  spawnSync(FAKE_PWSH, args, { env: f.env, encoding: "utf8" });

async function finished(
  f: FakeWindows,
  m: ReturnType<FakeWindows["manager"]>,
  ok?: (r: StatusReport) => boolean,
) {
  // 45 s: the fake PowerShell is a node process per step, slow when the machine runs other suites.
  return f.until(async () => {
    const r = await m.checkAllSessionsStatus();
    return (ok ? ok(r) : r.summary.allFinished) ? r : undefined;
  }, 45_000);
}

/** Change the generated wrapper before it is written (to run an older form against the same fakes). */
function mutateWrapper(m: ReturnType<FakeWindows["manager"]>, change: (script: string) => string) {
  const be = m.backend as WtBackend;
  const prepare = be.prepare.bind(be);
  be.prepare = (spec, info) => {
    const p = prepare(spec, info);
    return {
      ...p,
      artefacts: p.artefacts.map((a) =>
        a.path.endsWith("wrapper.ps1") ? { ...a, content: change(a.content) } : a,
      ),
    };
  };
}

describe("#19 the tab wrapper", () => {
  it("records the command's real exit code, also when a native program ends it (PowerShell#13501)", async () => {
    const f = fresh();
    // The model: `-Command` without `exit` ends with $global:? as 0 or 1 (ConsoleHost.cs DoRunspaceLoop).
    expect(pwsh(f, "-NoProfile", "-Command", "sh -c 'exit 7'").status).toBe(1);
    expect(pwsh(f, "-NoProfile", "-Command", "exit 7").status).toBe(7);
    const m = f.manager({
      sessionLayouts: [
        {
          layoutName: "codes",
          layoutTabs: [
            tab("native", "sh -c 'exit 3'"),
            tab("cargo", "Write-Output building\nsh -c 'exit 101'"),
            tab("then ok", "sh -c 'exit 3'; Write-Output done"),
            tab("cmdlet", "Get-Item ./no-such-file"),
            tab("throw", "throw 'boom'"),
            tab("exit", "exit 4"),
            tab("ok", "Write-Output fine"),
          ],
        },
      ],
      keepShell: false,
    });
    await m.startAllSessions();
    const r = await finished(f, m);
    expect(r.sessions[0]!.tabs.map((t) => [t.tabName, t.state, t.exitCode])).toEqual([
      ["native", "exited", 3],
      ["cargo", "exited", 101],
      ["then ok", "exited", 0],
      ["cmdlet", "exited", 1],
      ["throw", "exited", 1],
      ["exit", "exited", 4],
      ["ok", "exited", 0],
    ]);
    await m.killAllSessions();
  });

  it("with --exit close closes every tab, also after a failure; the record keeps the code (review H43-6)", async () => {
    const f = fresh();
    const m = f.manager({
      sessionLayouts: [
        {
          layoutName: "close",
          layoutTabs: [tab("fails", "sh -c 'exit 3'"), tab("throws", "throw 'boom'"), tab("ok", "exit 0")],
        },
      ],
      keepShell: false,
    });
    await m.startAllSessions();
    const r = await finished(f, m);
    // Every window the fake terminal opened, closed ones too (f.windows() lists open ones only).
    const [window] = readdirSync(join(f.fakeState, "windows")).map((h) =>
      Buffer.from(h, "hex").toString("utf8"),
    );
    expect(r.sessions[0]!.tabs.map((t) => [t.tabName, t.state, t.exitCode])).toEqual([
      ["fails", "exited", 3],
      ["throws", "exited", 1],
      ["ok", "exited", 0],
    ]);
    // The fake terminal closes a tab only on exit code 0 (closeOnExit, ConptyConnection.cpp:548).
    const tabs = await f.until(async () => {
      const t = f.tabs(window!);
      return t.every((x) => x.exit !== undefined) ? t : undefined;
    });
    expect(tabs.map((t) => [t.exit, t.closed])).toEqual([
      [0, true],
      [0, true],
      [0, true],
    ]);
    expect(f.windows()).toEqual([]);
  });

  it("leaves a fresh shell in the tab: nothing of the wrapper is dot-sourced into it", async () => {
    const f = fresh();
    const m = f.manager({
      sessionLayouts: [{ layoutName: "keep", layoutTabs: [tab("t", "exit 0")] }],
      keepShell: true,
    });
    await m.startAllSessions();
    await finished(f, m);
    const shell = await f.until(async () => f.shells()[0]);
    expect(shell).toEqual({
      shell: "powershell",
      profile: true,
      eap: "Continue",
      variables: [],
      functions: [],
    });
    // The tab runs the wrapper with -File and without -NoExit.
    const [t] = f.tabs(f.windows()[0]!);
    expect(t.cmdline).toContain(" -File ");
    expect(t.cmdline).not.toContain("-NoExit");
    // The model: `-NoExit -File` runs the script dot-sourced (ConsoleHost.cs:1975, useLocalScope false),
    // so a wrapper run that way (as mc's v1 launch did) leaves its variables and 'Stop' in the shell.
    const dir = mkdtempSync(join(f.root, "v1-"));
    writeFileSync(join(dir, "tab-0.command.txt"), "exit 0");
    const script = wrapperScript({
      window: "w",
      session: "s",
      runDir: dir,
      tabs: [{ tabName: "t", index: 0, commandFile: join(dir, "tab-0.command.txt"), shell: "powershell" }],
      keepShell: false,
    });
    writeFileSync(join(dir, "wrapper.ps1"), script);
    const old = spawn(
      FAKE_PWSH,
      ["-NoLogo", "-NoProfile", "-NoExit", "-File", join(dir, "wrapper.ps1"), "0"],
      { env: f.env, stdio: "ignore" },
    );
    const leaked = await f.until(async () => f.shells().find((s) => s.variables?.length));
    old.kill("SIGKILL");
    expect(leaked).toMatchObject({
      eap: "Stop",
      variables: expect.arrayContaining(["mcRunDir", "mcCode", "mcKeepShell"]),
    });
    await m.killAllSessions();
  });

  it("runs the user's command and kept shell with the user's profile, mc's own scripts without", async () => {
    const f = fresh({ profile: "function conda { }\n" });
    // The model: a command the profile defines is "not recognized" without the profile (ConsoleHost.cs:1920
    // at v7.6.5, `if (!args.SkipProfiles) { … RunProfile(…) }`; -NoProfile sets SkipProfiles).
    expect(pwsh(f, "-NoProfile", "-Command", "conda activate ml").status).toBe(1);
    const m = f.manager({
      sessionLayouts: [{ layoutName: "prof", layoutTabs: [tab("t", "conda activate ml")] }],
      keepShell: true,
    });
    await m.startAllSessions();
    const r = await finished(f, m);
    expect(r.sessions[0]!.tabs[0]).toMatchObject({ state: "exited", exitCode: 0 });
    await f.until(async () => f.shells()[0]);
    const kind = (argv: string[]) => {
      if (argv.includes("-File"))
        return argv.some((a) => a.endsWith("wrapper.ps1")) ? "wrapper" : "other -File";
      const i = argv.indexOf("-EncodedCommand");
      if (i < 0) return argv.join(" ") === "-NoLogo" ? "kept shell" : argv.join(" ");
      const text = Buffer.from(argv[i + 1]!, "base64").toString("utf16le");
      if (text.startsWith(". ([scriptblock]")) return "command";
      return text.includes("launch.ps1")
        ? "launch"
        : text.includes("probe.ps1")
          ? "probe"
          : text.split("\n")[0]!;
    };
    const seen = new Map(
      f.pwshLog().flatMap((e) => (e.argv.includes("-Command") ? [] : [[kind(e.argv), e.profile]])),
    );
    expect(Object.fromEntries(seen)).toEqual({
      probe: false,
      launch: false,
      wrapper: false,
      command: true,
      "kept shell": true,
    });
    await m.killAllSessions();
  });

  it("runs commands of any length: the command line is the same size whatever the command", async () => {
    const f = fresh();
    const long = `# ${"x".repeat(20_000)}\nexit 5`;
    // What the v1 wrapper passed on the command line could not be started (CreateProcess: 32,767).
    expect(encodeCommand(long).length).toBeGreaterThan(MAX_COMMAND_LINE);
    const m = f.manager({
      sessionLayouts: [{ layoutName: "long", layoutTabs: [tab("t", long)] }],
      keepShell: false,
    });
    await m.startAllSessions();
    const r = await finished(f, m);
    expect(r.sessions[0]!.tabs[0]).toMatchObject({ state: "exited", exitCode: 5 });
    expect(Math.max(...f.pwshLog().map((e) => e.argv.join(" ").length))).toBeLessThan(4000);
    // cmd.exe itself takes at most 8,191 characters (KB830473): refused before anything starts.
    const c = f.manager({
      sessionLayouts: [{ layoutName: "c", layoutTabs: [tab("t", `echo ${"y".repeat(9000)}`)] }],
      shell: "cmd",
    });
    await expect(c.plan()).rejects.toMatchObject({
      code: "LAYOUT_INVALID",
      reason: expect.stringMatching(/8,191/),
    });
  });

  it("replaces the start record atomically: a reader never finds no record (not Move-Item -Force)", async () => {
    const watch = async (change?: (w: string) => string) => {
      const f = fresh();
      const m = f.manager({
        sessionLayouts: [{ layoutName: "a", layoutTabs: [tab("t", "sh -c 'sleep 0.3'")] }],
        keepShell: false,
      });
      if (change) mutateWrapper(m, change);
      await m.startAllSessions();
      const rec = join(m.session("a").runDir, "tab-0.json");
      let gaps = 0;
      for (let until = Date.now() + 5000; Date.now() < until; await new Promise((r) => setImmediate(r))) {
        let text: string | undefined;
        try {
          text = readFileSync(rec, "utf8");
        } catch {}
        if (text === undefined) gaps++;
        else if (text.includes('"end"')) break;
      }
      await m.killAllSessions();
      return gaps;
    };
    // The model: Move-Item -Force onto an existing file is Delete() then MoveTo() (FileSystemProvider.cs:6020).
    const moveItem = (w: string) =>
      w.replace(
        / {2}for \(\$mcR[\s\S]*?\n {2}\}\n/,
        "  Move-Item -LiteralPath $mcTmp -Destination $mcRecord -Force\n",
      );
    // The model's gap is a moment: a loaded machine can miss it once, so it has three tries to be seen.
    let modelGaps = 0;
    for (let i = 0; i < 3 && modelGaps === 0; i++) modelGaps = await watch(moveItem);
    expect(modelGaps).toBeGreaterThan(0);
    expect(await watch()).toBe(0);
  });

  it("records Ctrl+C, and a wrapper that could not is read as gone, never as running", async () => {
    const f = fresh();
    const layout = (name: string) => ({ layoutName: name, layoutTabs: [tab("t", "sh -c 'sleep 30'")] });
    const ctrlC = async (m: ReturnType<FakeWindows["manager"]>, name: string) => {
      await m.startAllSessions();
      await finished(f, m, (r) => r.sessions[0]!.tabs[0]!.state === "running");
      f.ctrlC(f.windows().find((w) => w.endsWith(` ${name}`))!);
      return (await finished(f, m, (r) => r.sessions[0]!.tabs[0]!.state !== "running")).sessions[0]!.tabs[0]!;
    };
    const m = f.manager({ sessionLayouts: [layout("int")], keepShell: true });
    expect(await ctrlC(m, "int")).toMatchObject({ state: "killed", signal: "SIGINT" });
    // The model: a finally that calls a command (the v1 wrapper's Write-McRecord) does not get to run it
    // after Ctrl+C (PowerShell#21552, #23786). The wrapper then ends without an end record: missing.
    const old = f.manager({ sessionLayouts: [layout("old")], keepShell: true });
    mutateWrapper(old, (w) => w.replace("} finally {\n", "} finally {\n  Write-McEnd\n"));
    expect(await ctrlC(old, "old")).toMatchObject({ state: "missing" });
    await m.killAllSessions();
    await old.killAllSessions();
  });

  it("runs machineconfig's cmd-style commands with shell cmd, and refuses them as PowerShell", async () => {
    const f = fresh();
    const tool = join(f.workDir, "my tool.sh");
    writeFileSync(tool, '#!/bin/sh\necho "$@" > args.txt\nexit 6\n');
    chmodSync(tool, 0o755);
    f.env.MC_ARG = "hello";
    const command = `"${tool}" %MC_ARG%`;
    // The model: PowerShell reads a string followed by a bare word as a parse error: nothing runs
    // (Parser.cs:6144 at v7.6.5, PipelineRule: after an expression, any token but `|` or an end is
    // UnexpectedToken, and a script with a parse error runs nothing).
    expect(pwsh(f, "-NoProfile", "-Command", command).status).toBe(1);
    const layouts = [{ layoutName: "mc", layoutTabs: [tab("node", command, f.workDir)] }];
    await expect(f.manager({ sessionLayouts: layouts }).plan()).rejects.toMatchObject({
      code: "LAYOUT_INVALID",
      hint: expect.stringMatching(/"shell": "cmd"/),
    });
    const m = f.manager({ sessionLayouts: layouts, shell: "cmd", keepShell: false });
    await m.startAllSessions();
    const r = await finished(f, m);
    expect(r.sessions[0]!.tabs[0]).toMatchObject({ state: "exited", exitCode: 6 });
    expect(readFileSync(join(f.workDir, "args.txt"), "utf8")).toBe("hello\n");
    await m.killAllSessions();
  });
});
