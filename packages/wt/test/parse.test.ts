import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  cli11Encode,
  launchScript,
  parseKillReport,
  parseProbe,
  psQuote,
  quoteWindowsArg,
  tabCommandline,
  WtParseError,
  wtEscapeDelimiters,
  wtWindowName,
} from "../src/index.js";
import {
  cli11Collapse,
  cli11Of,
  evaluateLaunchScript,
  parseWtArgv,
  readPsSingleQuoted,
  splitWtCommands,
  windowsArgv,
} from "../src/testing/index.js";
import { anyText, dirText, nameText, sessionName, tabPath } from "./arbitraries.js";
import {
  windowsArgv as fakeArgv,
  launchFacts as fakeLaunch,
  splitCommands as fakeSplit,
} from "./fake/lib.mjs";

describe("wt's `;` splitter (AppCommandlineArgs.cpp _addCommandsForArg, Commandline.cpp AddArg)", () => {
  it("splits on a lone `;`, on `;` inside an argument, and keeps `\\;`", () => {
    expect(splitWtCommands(["new-tab", "a", ";", "split-pane"])).toEqual([["new-tab", "a"], ["split-pane"]]);
    expect(splitWtCommands(["a;b"])).toEqual([["a"], ["b"]]);
    expect(splitWtCommands(["a\\;b"])).toEqual([["a;b"]]);
    expect(splitWtCommands([";a"])).toEqual([[], ["a"]]);
    expect(splitWtCommands(["a;;b"])).toEqual([["a"], [], ["b"]]);
    expect(splitWtCommands(["a;"])).toEqual([["a"], []]);
    // `\\;` is a literal backslash before a `\;`: there is no way to end an argument with `\` then split.
    expect(splitWtCommands(["x\\\\;y"])).toEqual([["x\\;y"]]);
  });

  it("escaping every `;` as `\\;` gives any argument back whole (1000 runs)", () => {
    fc.assert(
      fc.property(fc.array(anyText(16), { minLength: 1, maxLength: 5 }), (args) => {
        const escaped = args.map(wtEscapeDelimiters);
        expect(splitWtCommands(escaped)).toEqual([args]);
        expect(fakeSplit(escaped)).toEqual([args]);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("CLI11 `[[…]]` escape clause (2.6.1 only)", () => {
  it("collapses doubled brackets and cli11Encode undoes it (500 runs)", () => {
    expect(cli11Collapse("[[aabb]]")).toBe("[ab]");
    expect(cli11Collapse("[[ab]]")).toBe("[[ab]]");
    // CLI11 2.4.2 (wt 1.22–1.24) has no escape clause.
    expect(cli11Collapse("[[aabb]]", "2.4.2")).toBe("[[aabb]]");
    expect(cli11Of([1, 24, 11911])).toBe("2.4.2");
    expect(cli11Of([1, 25, 622])).toBe("2.6.1");
    expect(cli11Encode("[[aa]]")).toBe("[[[[aaaa]]]]");
    fc.assert(
      fc.property(anyText(16), (s) => {
        expect(cli11Collapse(cli11Encode(s))).toBe(s);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 6 }), (s) => {
        expect(cli11Collapse(cli11Encode(`[[${s}]]`))).toBe(`[[${s}]]`);
      }),
    );
  });
});

describe("CommandLineToArgvW", () => {
  it("follows the documented backslash and quote rules", () => {
    expect(windowsArgv('"C:\\Program Files\\x.exe" a "b c" d\\\\e "f\\"g" "h\\\\" i\\\\\\"j')).toEqual([
      "C:\\Program Files\\x.exe",
      "a",
      "b c",
      "d\\\\e",
      'f"g',
      "h\\",
      'i\\"j',
    ]);
    expect(windowsArgv("wt.exe  -w   x\t y")).toEqual(["wt.exe", "-w", "x", "y"]);
  });

  it("reads back .NET's ArgumentList quoting exactly (1000 runs)", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "grapheme", maxLength: 12 }), { maxLength: 6 }), (args) => {
        const line = ["wt.exe", ...args.map(quoteWindowsArg)].join(" ");
        expect(windowsArgv(line).slice(1)).toEqual(args);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("PowerShell single-quoted literals", () => {
  it("psQuote doubles ' and the typographic single quotes; reading gives the value back (1000 runs)", () => {
    expect(psQuote("it's ‘q’")).toBe("'it''s ‘‘q’’'");
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), anyText(), (a, b) => {
        for (const s of [a, b]) {
          const lit = psQuote(s);
          expect(readPsSingleQuoted(lit, 0)).toEqual({ value: s, end: lit.length });
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("rejects script text that is not mc's launch form", () => {
    const ok = launchScript({
      window: "mc-r-0 w",
      tabs: [{ title: "t", startDir: "C:\\" }],
      pwsh: "pwsh",
      wrapperPath: "C:\\w.ps1",
      platform: P125,
      wt: "wt",
    });
    expect(evaluateLaunchScript(ok).file).toBe("wt");
    expect(fakeLaunch(ok).name).toBe("wt");
    for (const bad of [
      ok.replace("$mcCommandLine = '", '$mcCommandLine = "').replace(/'\n\$mcInfo = /, '"\n$mcInfo = '),
      ok.replace("$mcInfo.UseShellExecute = $false", "$mcInfo.UseShellExecute = $true"),
      `${ok}Remove-Item x\n`,
      ok.replace("exit $mcProcess.ExitCode", "exit $mcProcess.ExitCode; calc"),
      ok.replace(" -CommandType Application", ""),
    ]) {
      expect(() => evaluateLaunchScript(bad), bad).toThrow(WtParseError);
      expect(() => fakeLaunch(bad), bad).toThrow();
    }
  });
});

const P122 = { wt: [1, 22, 11751, 0], powershell: [5, 1], wtPath: "wt" };
const P124 = { wt: [1, 24, 11911, 0], powershell: [7, 2, 0], wtPath: "wt" };
const P125 = { wt: [1, 25, 1912, 0], powershell: [7, 4, 6], wtPath: "wt" };
const tabsArb = fc.array(fc.record({ title: nameText, startDir: dirText }), { minLength: 1, maxLength: 4 });

describe("script text → Process.Start command line → wt argv → wt split → tabs", () => {
  // The launch does not go through PowerShell's native-argument passing (Windows PowerShell 5.1 and pwsh
  // 7.0–7.2 "Legacy" mangle `"` and trailing backslashes: NativeCommandParameterBinder.cs), so every
  // PowerShell version gives wt the same command line; CLI11 differs by wt version (vcpkg.json).
  it("gives back exactly the window and tabs asked for, for wt 1.22, 1.24 and 1.25 (600 runs)", () => {
    fc.assert(
      fc.property(
        sessionName,
        tabsArb,
        tabPath,
        tabPath,
        fc.constantFrom(P122, P124, P125),
        (session, tabs, pwshDir, wrapperPath, platform) => {
          const pwsh = pwshDir.replace(/wrapper\.ps1$/, "pwsh.exe");
          const window = wtWindowName(session, "20261204-230033-abc123", 0);
          const input = { window, tabs, pwsh, wrapperPath, platform, wt: "wt" };
          let script: string;
          try {
            script = launchScript(input);
          } catch (e) {
            // Windows PowerShell 5.1 cannot -File a path with wildcard characters (PowerShell#4726).
            expect(platform).toBe(P122);
            expect(String(e)).toMatch(/wildcard/);
            return;
          }
          // 1. PowerShell: the restricted evaluator and the fake pwsh's independent one read the literals.
          const ps = evaluateLaunchScript(script);
          expect(fakeLaunch(script)).toEqual({ name: ps.file, commandLine: ps.commandLine });
          // 2. wt.exe's CommandLineToArgvW (both readings) gives the arguments mc meant.
          expect(ps.args).toEqual(fakeArgv(`wt.exe ${ps.commandLine}`).slice(1));
          // 3. wt splits at `;` and this wt's CLI11 parses each subcommand.
          const inv = parseWtArgv(ps.args, cli11Of(platform.wt));
          expect(inv.window).toBe(window);
          expect(inv.actions).toHaveLength(tabs.length);
          inv.actions.forEach((a, i) => {
            expect(a.kind).toBe("new-tab");
            if (a.kind !== "new-tab") return;
            expect(a.title).toBe(tabs[i]!.title);
            expect(a.startingDirectory).toBe(tabs[i]!.startDir);
            expect(a.suppressApplicationTitle).toBe(true);
            // 4. The tab's command line, rebuilt by wt and split by the new process, is the wrapper call.
            expect(windowsArgv(a.commandline!)).toEqual(tabCommandline(input, i));
          });
        },
      ),
      { numRuns: 600 },
    );
  });

  it("#19 the [[…]] escape: encoded for wt ≥ 1.25 only, refused when the version is unknown", () => {
    // CLI11 2.6.1 Option_inl.hpp:698 (wt v1.25.622.0+ vcpkg.json); CLI11 2.4.2 (wt ≤ 1.24) has no clause.
    const input = (platform: object) => ({
      window: "mc-r-0 w",
      tabs: [{ title: "[[aabb]]", startDir: "C:\\" }],
      pwsh: "pwsh",
      wrapperPath: "C:\\w.ps1",
      platform,
      wt: "wt",
    });
    const title = (platform: typeof P125) => {
      const inv = parseWtArgv(evaluateLaunchScript(launchScript(input(platform))).args, cli11Of(platform.wt));
      return (inv.actions[0] as { title?: string }).title;
    };
    expect(title(P124)).toBe("[[aabb]]");
    expect(title(P125)).toBe("[[aabb]]");
    expect(evaluateLaunchScript(launchScript(input(P124))).args).toContain("--title=[[aabb]]");
    expect(evaluateLaunchScript(launchScript(input(P125))).args).toContain("--title=[[[[aaaabbbb]]]]");
    expect(() => launchScript(input({ wtPath: "wt" }))).toThrow(/version is unknown/);
    expect(
      launchScript({ ...input({ wtPath: "wt" }), tabs: [{ title: "[x]", startDir: "C:\\" }] }),
    ).toContain("--title=[x]");
  });

  it("rejects paths wt's command-line rebuild or %VAR% expansion would change", () => {
    const input = { window: "mc-r-0 w", tabs: [{ title: "t", startDir: "C:\\" }], platform: P125, wt: "wt" };
    for (const wrapperPath of ['C:\\a"b\\w.ps1', "C:\\%TEMP%\\w.ps1", "C:\\a b\\", "[x]"]) {
      expect(() => launchScript({ ...input, pwsh: "pwsh", wrapperPath })).toThrow(/tab command line/);
    }
    expect(() =>
      launchScript({ ...input, platform: P122, pwsh: "powershell", wrapperPath: "C:\\[a]\\w.ps1" }),
    ).toThrow(/wildcard/);
  });

  it("refuses a window whose wt command line would pass Windows' 32,767 characters", () => {
    const tabs = Array.from({ length: 200 }, (_, i) => ({
      title: `t${i}`,
      startDir: `C:\\${"d".repeat(100)}`,
    }));
    expect(() =>
      launchScript({
        window: "mc-r-0 w",
        tabs,
        pwsh: "pwsh",
        wrapperPath: "C:\\w.ps1",
        platform: P125,
        wt: "wt",
      }),
    ).toThrow(/32,767/);
  });
});

describe("wt CLI subset", () => {
  it("reads short and long forms, the implicit new-tab and focus-tab", () => {
    expect(parseWtArgv(["-w", "x", "-d", "C:\\", "cmd", "/k", "echo"])).toEqual({
      window: "x",
      actions: [
        {
          kind: "new-tab",
          startingDirectory: "C:\\",
          command: ["cmd", "/k", "echo"],
          commandline: "cmd /k echo",
        },
      ],
    });
    expect(parseWtArgv(["--window=y", "focus-tab", "-t", "2"])).toEqual({
      window: "y",
      actions: [{ kind: "focus-tab", target: 2 }],
    });
    expect(parseWtArgv(["nt", "--title", "-x", "--", "a b"]).actions[0]).toMatchObject({
      title: "-x",
      commandline: '"a b"',
    });
    expect(() => parseWtArgv(["new-tab", "--bogus"])).toThrow(WtParseError);
  });
});

describe("kill script output", () => {
  it("reads what stopped and what survived, in PowerShell's JSON shapes", () => {
    expect(parseKillReport('{"stopped":[3,4],"survivors":[]}\n')).toEqual({ stopped: [3, 4], survivors: [] });
    expect(
      parseProbe(
        '{"powershell":"5.1.22621.4391","windows":"10.0.22631.0","wtPath":"C:\\\\wt.exe","wt":"1.22.11751.0"}',
      ),
    ).toEqual({
      powershell: [5, 1, 22621, 4391],
      windows: [10, 0, 22631, 0],
      wtPath: "C:\\wt.exe",
      wt: [1, 22, 11751, 0],
    });
    expect(parseProbe('{"powershell":"7.4.6","windows":"10.0.26100.0","wtPath":null,"wt":null}')).toEqual({
      powershell: [7, 4, 6],
      windows: [10, 0, 26100, 0],
    });
    expect(() => parseProbe("oops")).toThrow(WtParseError);
    // ConvertTo-Json of a one-element array inside a hashtable may print the bare element.
    expect(parseKillReport('\uFEFF{"survivors":7,"stopped":null}')).toEqual({ stopped: [], survivors: [7] });
    expect(() => parseKillReport("")).toThrow(WtParseError);
    expect(() => parseKillReport("[1]")).toThrow(WtParseError);
  });
});
