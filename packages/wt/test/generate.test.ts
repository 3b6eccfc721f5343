import { fakeHost } from "@mc/core/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkWindowName,
  killScript,
  launchScript,
  MARKERS,
  reservedWindowName,
  WtBackend,
  wrapperScript,
} from "../src/index.js";
import { anyText, dirText, nameText, tabPath, windowName } from "./arbitraries.js";
import { powershellSyntaxErrors } from "./ps-syntax.js";

const basic = {
  window: "mc_api",
  tabs: [
    { title: "web", startDir: "C:\\src\\web" },
    { title: "worker; queue", startDir: "C:\\Users\\Ana O'Neil\\work dir" },
  ],
  pwsh: "pwsh",
  wrapperPath: "C:\\Users\\ana\\AppData\\Local\\mc\\runs\\r1\\s0\\wrapper.ps1",
  keepShell: true,
  wt: "wt",
};

describe("golden scripts", () => {
  it("launch script: two tabs, a `;` and a quote in the data", async () => {
    const s = launchScript(basic);
    await expect(s).toMatchFileSnapshot("fixtures/launch-two-tabs.ps1");
    expect(await powershellSyntaxErrors(s)).toEqual([]);
  });

  it("launch script: Windows PowerShell, no -NoExit, CLI11 brackets, typographic quotes", async () => {
    const s = launchScript({
      ...basic,
      window: "[[nn]] ‘quoted’",
      tabs: [{ title: "[[tt]]", startDir: "D:\\with space\\" }],
      pwsh: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
      keepShell: false,
      wt: "C:\\Users\\ana\\AppData\\Local\\Microsoft\\WindowsApps\\wt.exe",
    });
    await expect(s).toMatchFileSnapshot("fixtures/launch-legacy.ps1");
    expect(await powershellSyntaxErrors(s)).toEqual([]);
  });

  it("tab wrapper (keepShell and not)", async () => {
    for (const keepShell of [true, false]) {
      const s = wrapperScript({
        window: "mc_api",
        runDir: "C:\\Users\\Ana O'Neil\\mc\\runs\\r1\\s0",
        keepShell,
      });
      await expect(s).toMatchFileSnapshot(`fixtures/wrapper-${keepShell ? "keep" : "exit"}.ps1`);
      expect(await powershellSyntaxErrors(s)).toEqual([]);
    }
  });

  it("kill script", async () => {
    const k = killScript([
      { pid: 4120, startedAt: 1_760_000_000_123 },
      { pid: 5532, startedAt: -1 },
    ]);
    await expect(k).toMatchFileSnapshot("fixtures/kill.ps1");
    expect(await powershellSyntaxErrors(k)).toEqual([]);
    expect(() => killScript([{ pid: 1.5, startedAt: 0 }])).toThrow();
    expect(() => killScript([{ pid: -2, startedAt: 0 }])).toThrow();
  });

  it("the syntax checker does catch broken PowerShell", async () => {
    expect(await powershellSyntaxErrors("$a = 'x\n")).not.toEqual([]);
    expect(await powershellSyntaxErrors("if ($x) { 1\n")).not.toEqual([]);
    expect(await powershellSyntaxErrors("$a = @(\n 'x'\n")).not.toEqual([]);
  });
});

describe("every generated script parses with the PowerShell grammar", () => {
  it("for arbitrary names, titles, paths and commands (250 runs)", async () => {
    await fc.assert(
      fc.asyncProperty(
        windowName,
        fc.array(fc.record({ title: nameText, startDir: dirText, command: anyText(40) }), {
          minLength: 1,
          maxLength: 3,
        }),
        tabPath,
        anyText(30),
        fc.boolean(),
        fc.array(fc.nat({ max: 2 ** 31 }), { maxLength: 4 }),
        async (window, tabs, wrapperPath, runDir, keepShell, pids) => {
          const scripts = [
            launchScript({ window, tabs, pwsh: "pwsh", wrapperPath, keepShell, wt: "wt" }),
            wrapperScript({ window, runDir, keepShell }),
            killScript(pids.map((pid) => ({ pid, startedAt: pid }))),
          ];
          for (const s of scripts) expect(await powershellSyntaxErrors(s), s).toEqual([]);
          // Commands never enter a script: they are only in the per-tab command files.
          const host = fakeHost();
          const be = new WtBackend(host);
          const prepared = be.prepare(
            {
              index: 0,
              machine: "local",
              exitMode: keepShell ? "shell" : "close",
              requested: window,
              name: window,
              action: "create",
              renamed: false,
              layout: {
                layoutName: window,
                layoutTabs: tabs.map((t) => ({
                  tabName: t.title,
                  startDir: t.startDir,
                  command: `SENTINEL-${t.command}`,
                })),
              },
              runDir: "/state/runs/r/s0",
              artefactDir: "/state/runs/r/s0",
              runId: "r",
              keepShell,
            },
            { platform: "win32", home: "C:\\Users\\u", stateDir: "/state" },
          );
          const commandFiles = prepared.artefacts.filter((a) => a.path.endsWith(".command.txt"));
          expect(commandFiles.map((a) => a.content)).toEqual(tabs.map((t) => `SENTINEL-${t.command}`));
          for (const a of prepared.artefacts.filter((x) => x.path.endsWith(".ps1"))) {
            expect(await powershellSyntaxErrors(a.content)).toEqual([]);
            expect(a.content).not.toContain("SENTINEL-");
          }
        },
      ),
      { numRuns: 250 },
    );
  });

  it("marks each script form for the restricted evaluators", () => {
    expect(launchScript(basic)).toContain(`\n${MARKERS.launch}\n`);
    expect(wrapperScript({ window: "w", runDir: "C:\\r", keepShell: true })).toContain(
      `\n${MARKERS.wrapper}\n`,
    );
    expect(killScript([{ pid: 1, startedAt: 1 }]).startsWith(MARKERS.kill)).toBe(true);
  });
});

describe("window names", () => {
  it("rejects the names wt reads as ids or keywords", () => {
    for (const n of ["0", "-1", "42", "007", "new", "last"]) {
      expect(reservedWindowName(n)).toBe(true);
      expect(() => checkWindowName(n)).toThrow(/window id or keyword/);
    }
    for (const n of ["mc_0", "+1", "New", "1a", "last1"]) expect(reservedWindowName(n)).toBe(false);
    expect(() => checkWindowName('a"b', "powershell")).toThrow(/5\.1/);
    expect(() => checkWindowName('a"b', "pwsh")).not.toThrow();
    expect(() => checkWindowName("a\nb")).toThrow(/control/);
  });
});
