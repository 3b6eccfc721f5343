import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  cli11Encode,
  launchScript,
  parseKillReport,
  psQuote,
  tabCommandline,
  WtParseError,
  wtEscapeDelimiters,
} from "../src/index.js";
import {
  cli11Collapse,
  evaluateLaunchScript,
  parseWtArgv,
  readPsSingleQuoted,
  splitWtCommands,
  windowsArgv,
} from "../src/testing/index.js";
import { anyText, dirText, nameText, quoteWindowsArg, tabPath, windowName } from "./arbitraries.js";
import { evaluateLaunch as fakeEvaluate, splitCommands as fakeSplit } from "./fake/lib.mjs";

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

describe("CLI11 2.6.1 `[[…]]` escape clause", () => {
  it("collapses doubled brackets and cli11Encode undoes it (500 runs)", () => {
    expect(cli11Collapse("[[aabb]]")).toBe("[ab]");
    expect(cli11Collapse("[[ab]]")).toBe("[[ab]]");
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
    const ok = "$mcArgs = @(\n  'a', 'b'\n)\n& 'wt' @mcArgs\nexit $LASTEXITCODE\n";
    expect(evaluateLaunchScript(ok)).toEqual({ file: "wt", args: ["a", "b"] });
    for (const bad of [
      ok.replace("'a', 'b'", "'a' 'b'"),
      ok.replace("'a'", "a"),
      ok.replace("'a'", '"a"'),
      ok.replace("'a'", "'a"),
      `${ok}Remove-Item x\n`,
      ok.replace("& 'wt' @mcArgs", "& 'wt' @mcArgs ; calc"),
      "& 'wt' @mcArgs\n",
    ]) {
      expect(() => evaluateLaunchScript(bad), bad).toThrow(WtParseError);
      expect(() => fakeEvaluate(bad), bad).toThrow();
    }
  });
});

const tabsArb = fc.array(fc.record({ title: nameText, startDir: dirText }), { minLength: 1, maxLength: 4 });

describe("script text → PowerShell argv → wt.exe argv → wt split → tabs", () => {
  it("gives back exactly the window and tabs asked for (600 runs)", () => {
    fc.assert(
      fc.property(
        windowName,
        tabsArb,
        tabPath,
        tabPath,
        fc.boolean(),
        (window, tabs, pwshDir, wrapperPath, keepShell) => {
          const pwsh = pwshDir.replace(/wrapper\.ps1$/, "pwsh.exe");
          const input = { window, tabs, pwsh, wrapperPath, keepShell, wt: "wt" };
          const script = launchScript(input);
          // 1. PowerShell: the restricted evaluator (and the fake pwsh's independent one) read the literals.
          const ps = evaluateLaunchScript(script);
          expect(ps.argumentPassing).toBe("Standard");
          expect(fakeEvaluate(script)).toEqual({ file: ps.file, args: ps.args });
          // 2. Standard passing quotes each argument for CreateProcess; wt's CommandLineToArgvW reads it back.
          const line = ["wt.exe", ...ps.args.map(quoteWindowsArg)].join(" ");
          const argv = windowsArgv(line).slice(1);
          expect(argv).toEqual(ps.args);
          // 3. wt splits at `;` and CLI11 parses each subcommand.
          const inv = parseWtArgv(argv);
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

  it("rejects paths wt's command-line rebuild or %VAR% expansion would change", () => {
    const input = { window: "w", tabs: [{ title: "t", startDir: "C:\\" }], keepShell: true, wt: "wt" };
    for (const wrapperPath of ['C:\\a"b\\w.ps1', "C:\\%TEMP%\\w.ps1", "C:\\a b\\", "[x]"]) {
      expect(() => launchScript({ ...input, pwsh: "pwsh", wrapperPath })).toThrow(/tab command line/);
    }
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
    // ConvertTo-Json of a one-element array inside a hashtable may print the bare element.
    expect(parseKillReport('\uFEFF{"survivors":7,"stopped":null}')).toEqual({ stopped: [], survivors: [7] });
    expect(() => parseKillReport("")).toThrow(WtParseError);
    expect(() => parseKillReport("[1]")).toThrow(WtParseError);
  });
});
