/**
 * The generated Windows side of @mc/remote, pure (issue #19, WTRemoteManager): every script parses with
 * the real PowerShell grammar for any input, travels behind a constant command line that cmd.exe reads
 * as plain words, and the fake machine's readers (test/fake/win-lib.mjs) agree with @mc/wt/testing's.
 */
import { psEncodedArgs, type SessionSpec } from "@mc/core";
import { fakeHost } from "@mc/core/testing";
import { interactiveLaunchScript, scriptFileArgs, stdinScriptArgs } from "@mc/wt";
import { psAssignedLiteral, windowsArgv } from "@mc/wt/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  parseShellProbe,
  psInfo,
  psRun,
  STDIN_STUB,
  stubInput,
  stubLine,
  windowsCommandLine,
  windowsScript,
} from "../src/index.js";
import { WtRemoteBackend } from "../src/wt.js";
// @ts-expect-error: a plain .mjs of the fake machine, read here to check it against the oracles.
import * as fakeLib from "./fake/win-lib.mjs";
import { powershellSyntaxErrors } from "./ps-syntax.js";

const tricky = fc.constantFrom(
  "'",
  "\u2018",
  "\u2019",
  '"',
  "\\",
  "`",
  "$",
  "%",
  ";",
  "&",
  "|",
  "(",
  ")",
  "{",
  "}",
  "#",
  "<#",
  "#>",
  " ",
  "\t",
  "é",
  "😀",
  "@",
  "$(",
  "\n",
);
const text = fc.string({
  unit: fc.oneof(tricky, fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 })),
  maxLength: 14,
});
const noNul = text.filter((s) => !s.includes("\0"));

describe("Windows operation scripts", () => {
  it("every operation's script parses for any path, argv, env, input and data (150 runs)", async () => {
    await fc.assert(
      fc.asyncProperty(noNul, fc.array(noNul, { maxLength: 4 }), noNul, noNul, async (p, args, v, data) => {
        const scripts = [
          windowsScript(
            { kind: "run", cmd: { file: p, args, cwd: p, env: { K: v }, input: data } },
            { H: v },
          ),
          windowsScript({ kind: "readFile", path: p }),
          windowsScript({ kind: "readDir", dir: p }),
          windowsScript({ kind: "writeFile", path: p, tmp: `${p}.tmp`, data, mode: 0o600 }),
          windowsScript({ kind: "stat", path: p }),
          windowsScript({ kind: "remove", path: p }),
          windowsScript({ kind: "which", file: p }),
          windowsScript({ kind: "info" }),
          windowsScript({ kind: "ps" }),
        ];
        for (const s of scripts) {
          expect(await powershellSyntaxErrors(s)).toEqual([]);
          const full = Buffer.from(stubInput(s, "MCW0123abcd"), "base64").toString("utf8");
          expect(await powershellSyntaxErrors(full)).toEqual([]);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("the fake machine reads every parameter back as @mc/wt/testing's PowerShell literal reader does (200 runs)", () => {
    fc.assert(
      fc.property(noNul, fc.array(noNul, { maxLength: 4 }), noNul, (p, args, data) => {
        const s = psRun({ file: p, args, cwd: p, input: data });
        const expected = { mcFile: p, mcCommandLine: windowsCommandLine(args), mcCwd: p };
        for (const [name, value] of Object.entries(expected)) {
          expect(fakeLib.assigned(s, name)).toBe(value);
          // The oracle reads one line: it applies wherever the value has no line break.
          if (!/[\r\n]/.test(value)) expect(psAssignedLiteral(s, name)).toBe(value);
        }
        expect(Buffer.from(fakeLib.assigned(s, "mcInput"), "base64").toString("utf8")).toBe(data);
      }),
      { numRuns: 200 },
    );
  });

  it("a run's command line splits back into its exact argv: CommandLineToArgvW in @mc/wt/testing and in the fake (300 runs)", () => {
    fc.assert(
      fc.property(fc.array(text, { maxLength: 5 }), (args) => {
        const line = `prog ${windowsCommandLine(args)}`;
        expect(windowsArgv(line).slice(1)).toEqual(args);
        expect(fakeLib.windowsArgv(line).slice(1)).toEqual(args);
      }),
      { numRuns: 300 },
    );
    // The cases PowerShell 5.1's own passing gets wrong: empty, embedded quotes, trailing backslash.
    expect(windowsCommandLine(["", 'a"b', "c d\\", "e\\\\"])).toBe('"" "a\\"b" "c d\\\\" e\\\\');
  });
});

describe("the command line ssh carries", () => {
  it("is a constant stub: base64 words under cmd.exe, the same stub as @mc/wt's stdinScriptArgs", () => {
    expect(["powershell", ...stdinScriptArgs()].join(" ")).toBe(stubLine("cmd"));
    expect(psEncodedArgs(STDIN_STUB)).toEqual(stdinScriptArgs());
    // Nothing cmd.exe reads as an operator or a variable (& | < > ^ % " ( )), whatever the script.
    expect(stubLine("cmd")).toMatch(/^[A-Za-z0-9 +/=-]+$/);
    expect(stubLine("cmd").length).toBe(430);
    expect(stubLine("powershell")).toBe(STDIN_STUB);
    expect(stubLine("pwsh").length).toBe(128);
  });

  it("tells cmd.exe, Windows PowerShell 5.1 and pwsh apart from the probe's answer", () => {
    expect(parseShellProbe("mc-shell:C:\\WINDOWS\\system32\\cmd.exe:$($PSVersionTable.PSVersion)\r\n")).toBe(
      "cmd",
    );
    // cmd.exe prints an undefined variable as it is.
    expect(parseShellProbe("mc-shell:%COMSPEC%:$($PSVersionTable.PSVersion)\r\n")).toBe("cmd");
    expect(parseShellProbe("Welcome!\r\nmc-shell:%COMSPEC%:5.1.22621.4391\r\n")).toBe("powershell");
    expect(parseShellProbe("mc-shell:%COMSPEC%:7.4.6\n")).toBe("pwsh");
    expect(parseShellProbe('sh: 1: Syntax error: "(" unexpected\n')).toBeUndefined();
  });

  it("an info script reads non-ASCII home directories (base64, never the console code page)", () => {
    expect(psInfo()).toContain("ToBase64String([Text.Encoding]::UTF8.GetBytes([string]$v))");
  });
});

describe("WtRemoteBackend (#19: windows start in the user's interactive session)", () => {
  const spec = (runId: string): SessionSpec => ({
    index: 2,
    requested: "s",
    name: "s",
    action: "create",
    renamed: false,
    runId,
    machine: "win",
    layout: { layoutName: "s", layoutTabs: [{ tabName: "t", startDir: "C:\\w", command: "sleep 1" }] },
    runDir: "C:\\Users\\a b\\state\\runs\\r\\s2",
    artefactDir: "C:\\Users\\a b\\state\\runs\\r\\s2\\art",
    keepShell: true,
    exitMode: "shell",
  });
  const info = { platform: "win32", home: "C:\\Users\\a b", stateDir: "C:\\Users\\a b\\state" } as const;

  it("starts the launch through a one-shot interactive task, and the task runs launch.ps1 exactly", async () => {
    const b = new WtRemoteBackend(fakeHost(), { pwsh: "pwsh", launchTaskTimeoutMs: 45_000 });
    const p = b.prepare(spec("r1"), info);
    const task = p.artefacts.find((a) => a.path.endsWith("launch-task.ps1"))!;
    const launch = p.artefacts.find((a) => a.path.endsWith("launch.ps1"))!;
    expect(p.start).toEqual([{ file: "pwsh", args: scriptFileArgs(task.path), timeoutMs: 75_000 }]);
    expect(task.content).toBe(
      interactiveLaunchScript({
        launchPath: launch.path,
        pwsh: "pwsh",
        taskName: "mc-launch-r1-2",
        timeoutSeconds: 45,
      }),
    );
    expect(await powershellSyntaxErrors(task.content)).toEqual([]);
    expect(task.content).toMatch(/New-ScheduledTaskPrincipal -UserId \$mcUser -LogonType Interactive/);
    const argument = /-Argument ('(?:[^']|'')*')$/m.exec(task.content)![1]!;
    const argv = windowsArgv(`pwsh ${fakeLib.psLiteral(argument, 0)[0]}`).slice(1);
    expect(argv.slice(-2)).toEqual(["-File", launch.path]);
  });

  it("names the task with plain characters only (Task Scheduler reads \\ as a folder)", () => {
    const b = new WtRemoteBackend(fakeHost(), { pwsh: "pwsh" });
    const task = b.prepare(spec("a\\b c"), info).artefacts.find((a) => a.path.endsWith("launch-task.ps1"))!;
    expect(psAssignedLiteral(task.content, "mcTask")).toBe("mc-launch-a_b_c-2");
  });

  it("refuses attach with USAGE, saying why and what to do instead", () => {
    const b = new WtRemoteBackend(fakeHost(), {});
    expect(() => b.attachCommand("s")).toThrow(/cannot attach to "s" over ssh: .*desktop/);
  });
});
