import { balanceLoad } from "@mc/core";
import { fakeHost } from "@mc/core/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  attachScript,
  checkTabCommand,
  commandStub,
  EXIT_EPILOGUE,
  killScript,
  launchScript,
  MARKERS,
  mergeTabsPowerShell,
  probeScript,
  scriptFileArgs,
  WtBackend,
  wrapperScript,
  wtWindowName,
} from "../src/index.js";
import { windowTarget } from "../src/testing/index.js";
import { anyText, dirText, nameText, sessionName, tabPath } from "./arbitraries.js";
import { powershellSyntaxErrors, statementKinds } from "./ps-syntax.js";

const WT_125 = { wt: [1, 25, 1912, 0], powershell: [7, 4, 6], wtPath: "C:\\wt.exe" };
const WT_122 = { wt: [1, 22, 11751, 0], powershell: [5, 1, 22621, 4391], wtPath: "C:\\wt.exe" };
const basic = {
  window: "mc-abc123-0 mc_api",
  tabs: [
    { title: "web", startDir: "C:\\src\\web" },
    { title: "worker; queue", startDir: "C:\\Users\\Ana O'Neil\\work dir\\" },
  ],
  pwsh: "pwsh",
  wrapperPath: "C:\\Users\\ana\\AppData\\Local\\mc\\runs\\r1\\s0\\wrapper.ps1",
  platform: WT_125,
  wt: "wt",
};
const runDir = "C:\\Users\\Ana O'Neil\\mc\\runs\\r1\\s0";
const files = [`${runDir}\\tab-0.command.txt`, `${runDir}\\tab-1.command.txt`];

describe("golden scripts (each parses with the PowerShell grammar)", () => {
  it("launch script: two tabs, a `;`, a quote and a trailing backslash in the data", async () => {
    const s = launchScript(basic);
    await expect(s).toMatchFileSnapshot("fixtures/launch-two-tabs.ps1");
    expect(await powershellSyntaxErrors(s)).toEqual([]);
  });

  it("launch script for Windows PowerShell 5.1 and wt 1.22: the same Process.Start form, no CLI11 encoding", async () => {
    const s = launchScript({
      ...basic,
      tabs: [{ title: "[[tt]] ‘quoted’", startDir: "D:\\with space\\" }],
      pwsh: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
      platform: WT_122,
      wt: "C:\\Users\\ana\\AppData\\Local\\Microsoft\\WindowsApps\\wt.exe",
    });
    await expect(s).toMatchFileSnapshot("fixtures/launch-legacy.ps1");
    expect(await powershellSyntaxErrors(s)).toEqual([]);
    expect(s).toContain("--title=[[tt]]");
    expect(launchScript({ ...basic, tabs: [{ title: "[[tt]]", startDir: "C:\\" }] })).toContain(
      "--title=[[[[tttt]]]]",
    );
  });

  it("tab wrapper: keepShell or not, PowerShell or cmd", async () => {
    for (const keepShell of [true, false]) {
      for (const shell of ["powershell", "cmd"] as const) {
        const s = wrapperScript({
          window: basic.window,
          session: "mc_api",
          runDir,
          keepShell,
          tabs: [
            { tabName: "web", index: 0, commandFile: files[0]!, shell },
            {
              tabName: "worker; 'q'",
              index: 1,
              commandFile: files[1]!,
              shell: "powershell",
              program: "C:\\Program Files\\PowerShell\\7\\pwsh.exe",
              env: [
                ["NODE_ENV", "production"],
                ["TRICKY", "it's $(whoami) `n ‘x’\nline 2"],
              ],
              retry: 3,
              backoffMs: 1500,
            },
          ],
        });
        await expect(s).toMatchFileSnapshot(`fixtures/wrapper-${keepShell ? "keep" : "exit"}-${shell}.ps1`);
        expect(await powershellSyntaxErrors(s)).toEqual([]);
      }
    }
  });

  it("command stub, kill, probe and attach scripts", async () => {
    const stub = commandStub(files[0]!);
    const kill = killScript(
      [{ pid: 4120, startedAt: 1_760_000_000_123 }],
      [
        { pid: 5532, startedAt: -1 },
        { pid: 5533, startedAt: 1_760_000_001_000 },
      ],
    );
    const probe = probeScript("wt");
    const attach = attachScript({ session: "api's", window: basic.window, runDir, tabs: 2, wt: "wt" });
    await expect(stub).toMatchFileSnapshot("fixtures/command-stub.ps1");
    await expect(kill).toMatchFileSnapshot("fixtures/kill.ps1");
    await expect(probe).toMatchFileSnapshot("fixtures/probe.ps1");
    await expect(attach).toMatchFileSnapshot("fixtures/attach.ps1");
    for (const s of [stub, kill, probe, attach, EXIT_EPILOGUE])
      expect(await powershellSyntaxErrors(s), s).toEqual([]);
    expect(() => killScript([{ pid: 1.5, startedAt: 0 }], [])).toThrow();
    expect(() => killScript([], [{ pid: -2, startedAt: 0 }])).toThrow();
  });

  it("the syntax checker does catch broken PowerShell", async () => {
    expect(await powershellSyntaxErrors("$a = 'x\n")).not.toEqual([]);
    expect(await powershellSyntaxErrors("if ($x) { 1\n")).not.toEqual([]);
    expect(await powershellSyntaxErrors("$a = @(\n 'x'\n")).not.toEqual([]);
  });

  it("marks each script form for the fakes", () => {
    expect(launchScript(basic)).toContain(`\n${MARKERS.launch}\n`);
    expect(
      wrapperScript({ window: "w", session: "s", runDir: "C:\\r", tabs: [], keepShell: true }),
    ).toContain(`\n${MARKERS.wrapper}\n`);
    expect(killScript([], []).startsWith(MARKERS.kill)).toBe(true);
    expect(probeScript("wt").startsWith(MARKERS.probe)).toBe(true);
  });
});

describe("every generated script parses with the PowerShell grammar", () => {
  it("for arbitrary names, titles, paths and commands (200 runs)", async () => {
    await fc.assert(
      fc.asyncProperty(
        sessionName,
        fc.array(fc.record({ title: nameText, startDir: dirText, command: anyText(40) }), {
          minLength: 1,
          maxLength: 3,
        }),
        tabPath,
        anyText(30),
        fc.boolean(),
        fc.constantFrom("powershell", "cmd"),
        fc.array(fc.nat({ max: 2 ** 31 }), { maxLength: 4 }),
        async (session, tabs, wrapperPath, dir, keepShell, shell, pids) => {
          const window = wtWindowName(session, "20261204-230033-abc123", 0);
          const scripts = [
            launchScript({ window, tabs, pwsh: "pwsh", wrapperPath, platform: WT_125, wt: "wt" }),
            wrapperScript({
              window,
              session,
              runDir: dir,
              tabs: tabs.map((t, index) => ({
                tabName: t.title,
                index,
                commandFile: `${dir}\\tab-${index}.command.txt`,
                shell,
                program: shell === "powershell" ? dir : undefined,
                env: [[`V${index}`, t.command]],
              })),
              keepShell,
            }),
            killScript(
              pids.map((pid) => ({ pid, startedAt: pid })),
              [],
            ),
            attachScript({ session, window, runDir: dir, tabs: tabs.length, wt: dir }),
            commandStub(dir),
            probeScript(dir),
          ];
          for (const s of scripts) expect(await powershellSyntaxErrors(s), s).toEqual([]);
          // Commands never enter a script: they are only in the per-tab command files.
          const be = new WtBackend(fakeHost());
          be.platform = WT_125;
          const prepared = be.prepare(
            {
              index: 0,
              machine: "local",
              exitMode: keepShell ? "shell" : "close",
              requested: session,
              name: session,
              action: "create",
              renamed: false,
              layout: {
                layoutName: session,
                layoutTabs: tabs.map((t) => ({
                  tabName: t.title,
                  startDir: t.startDir,
                  command: `exit 0 # SENTINEL-${t.command.replace(/[\r\n]/g, " ")}`,
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
          expect(commandFiles.map((a) => a.content)).toEqual(
            tabs.map((t) => `exit 0 # SENTINEL-${t.command.replace(/[\r\n]/g, " ")}`),
          );
          for (const a of prepared.artefacts.filter((x) => x.path.endsWith(".ps1"))) {
            expect(await powershellSyntaxErrors(a.content)).toEqual([]);
            expect(a.content).not.toContain("SENTINEL-");
          }
          expect(decode(prepared.start[0]!.args)).toBe(decode(scriptFileArgs("/state/runs/r/s0/launch.ps1")));
        },
      ),
      { numRuns: 200 },
    );
  });
});

const decode = (args: readonly string[]) => Buffer.from(args.at(-1)!, "base64").toString("utf16le");

describe("start directories wt would read otherwise", () => {
  it("%NAME% in a tab's or a pane's start directory is refused: wt replaces it with a variable's value (H56-5)", () => {
    const dirs = ["C:\\work\\%TEMP%", "D:\\%USERPROFILE%\\x", "C:\\a%b%c", "C:\\%%x%"];
    for (const d of dirs) {
      expect(() => launchScript({ ...basic, tabs: [{ title: "t", startDir: d }] }), d).toThrow(
        /holds %…%, which Windows Terminal replaces/,
      );
      const split = { kind: "split" as const, direction: "down" as const, slot: 1, startDir: d };
      expect(
        () => launchScript({ ...basic, tabs: [{ title: "t", startDir: "C:\\", panes: [split] }] }),
        d,
      ).toThrow(/holds %…%/);
    }
    // One % (or %% with nothing between) names no variable: kept as written.
    for (const d of ["C:\\100% done", "C:\\a%%b", "C:\\50%\\x"]) {
      expect(launchScript({ ...basic, tabs: [{ title: "t", startDir: d }] })).toContain(d);
    }
  });
});

describe("#19 window names wt reads as ids or keywords", () => {
  // WindowEmperor.cpp:816 (v1.23+, whole integers, `new`, `last`); v1.22.11751.0 AppLogic.cpp:557
  // (`std::stoi` reads a prefix: `2fa` is window 2); TerminalWindow.cpp:1474 (`_quake`).
  it("the window of any session is a plain name on wt 1.22 and 1.23+ (500 runs)", () => {
    for (const n of ["0", "-1", "new", "last", "_quake", "2fa", "0day", " 7", "+1x"]) {
      expect(windowTarget(n, [1, 22]) === "name" && windowTarget(n, [1, 25]) === "name").toBe(false);
    }
    fc.assert(
      fc.property(sessionName, fc.string({ maxLength: 30 }), fc.nat({ max: 99 }), (session, runId, index) => {
        const w = wtWindowName(session, runId, index);
        for (const v of [
          [1, 18],
          [1, 22],
          [1, 23],
          [1, 25],
          [1, 26],
        ])
          expect(windowTarget(w, v)).toBe("name");
        expect(w.startsWith("[[")).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it("every start gets a window of its own (restart and rename never reuse one)", () => {
    expect(wtWindowName("api", "20261204-230033-abc123", 0)).toBe("mc-abc123-0 api");
    expect(wtWindowName("api", "20261204-230034-ffe001", 0)).not.toBe(
      wtWindowName("api", "20261204-230033-abc123", 0),
    );
    expect(wtWindowName("api", "20261204-230033-abc123", 1)).not.toBe(
      wtWindowName("api", "20261204-230033-abc123", 0),
    );
  });
});

describe("balance-load's merged commands", () => {
  it("core's merge is a POSIX sh driver: refused; mc's PowerShell merge parses and runs commands", async () => {
    const tabs = ["a # note", "b", "c"].map((command, i) => ({
      tabName: `t${i}`,
      startDir: i === 1 ? "~/x y" : "C:\\x",
      command,
    }));
    const { layouts } = balanceLoad([{ layoutName: "L", layoutTabs: tabs }], {
      maxThreshold: 1,
      thresholdType: "number",
      breakingMethod: "combineTabs",
    });
    const posix = layouts[0]!.layoutTabs[0]!;
    expect(posix.command.startsWith("/bin/sh -c '")).toBe(true);
    expect(() => checkTabCommand(posix, { shell: "powershell", windowsPowerShell: false })).toThrow(
      /POSIX sh driver/,
    );
    const merged = mergeTabsPowerShell(tabs, "super_tab_1").command;
    await expect(merged).toMatchFileSnapshot("fixtures/merged.ps1");
    expect(await powershellSyntaxErrors(merged)).toEqual([]);
    expect(await statementKinds(merged)).toEqual([
      "assignment",
      "foreach_statement",
      "flow_control_statement",
    ]);
    expect(() =>
      checkTabCommand({ ...posix, command: merged }, { shell: "powershell", windowsPowerShell: true }),
    ).not.toThrow();
  });

  it("a command in POSIX quoting ('\\'') is refused for PowerShell, where the quote ends the string (review HR86-6)", () => {
    expect(() =>
      checkTabCommand(
        { tabName: "t", startDir: "C:\\", command: "echo 'it'\\''s'" },
        { shell: "powershell", windowsPowerShell: false },
      ),
    ).toThrow(/POSIX quoting/);
    // PowerShell's own way to write it passes.
    expect(() =>
      checkTabCommand(
        { tabName: "t", startDir: "C:\\", command: "echo 'it''s'" },
        { shell: "powershell", windowsPowerShell: false },
      ),
    ).not.toThrow();
  });

  it("a statement starting with { is a script block PowerShell prints instead of running", async () => {
    expect(await statementKinds("{ a # note\n}; b")).toEqual(["expression", "command"]);
    expect(await statementKinds("& { a }")).toEqual(["command"]);
    expect(() =>
      checkTabCommand(
        { tabName: "t", startDir: "C:\\", command: "{ a # note\n}; b" },
        { shell: "powershell", windowsPowerShell: false },
      ),
    ).toThrow(/script block/);
  });
});
