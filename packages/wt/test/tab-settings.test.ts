/**
 * A layout's per-tab `shell`, `env` and `retry`, and its `onStart` / `onStop`, for Windows Terminal: what
 * prepare makes of them or refuses (LAYOUT_INVALID naming the field), and that environment values reach
 * the wrapper as data only, read back exactly by the real PowerShell grammar (tree-sitter-powershell).
 */
import type { LayoutConfig, SessionSpec } from "@mc/core";
import { fakeHost } from "@mc/core/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { tabEnv, tabRetry, tabSettings, tabShell, WtBackend, wrapperScript } from "../src/index.js";
import { envName, envValue } from "./arbitraries.js";
import { powershellSyntaxErrors, readData } from "./ps-syntax.js";

const WT_125 = { wt: [1, 25, 1912, 0], powershell: [7, 4, 6], wtPath: "C:\\wt.exe" };
const spec = (layout: LayoutConfig, index = 0): SessionSpec => ({
  index,
  machine: "local",
  exitMode: "shell",
  requested: layout.layoutName,
  name: layout.layoutName,
  action: "create",
  renamed: false,
  layout,
  runDir: "C:\\state\\runs\\r\\s0",
  artefactDir: "C:\\state\\runs\\r\\s0",
  runId: "r",
  keepShell: true,
});
const info = { platform: "win32" as const, home: "C:\\Users\\u", stateDir: "C:\\state" };
function prepare(layout: LayoutConfig, index = 0, shell?: "cmd" | "powershell") {
  const be = new WtBackend(fakeHost(), shell ? { shell } : {});
  be.platform = WT_125;
  return be.prepare(spec(layout, index), info);
}
const wrapperOf = (p: ReturnType<typeof prepare>) => p.artefacts.find((a) => a.path.endsWith("wrapper.ps1"))!;
const tab = (o: Partial<LayoutConfig["layoutTabs"][number]> = {}) => ({
  tabName: "t",
  startDir: "C:\\",
  command: "exit 0",
  ...o,
});

describe("shell: which shell reads a tab's command", () => {
  it("cmd, powershell and pwsh, in any case, bare or as a path; the tab's shell wins over the backend's", () => {
    const at = "layouts[0].layoutTabs[0].shell";
    expect(tabShell(undefined, "cmd", at)).toEqual({ shell: "cmd" });
    expect(tabShell("cmd", "powershell", at)).toEqual({ shell: "cmd" });
    expect(tabShell("CMD.EXE", "powershell", at)).toEqual({ shell: "cmd" });
    expect(tabShell("C:\\Windows\\System32\\cmd.exe", "powershell", at)).toEqual({
      shell: "cmd",
      program: "C:\\Windows\\System32\\cmd.exe",
    });
    expect(tabShell("pwsh", "cmd", at)).toEqual({ shell: "powershell", program: "pwsh" });
    expect(tabShell("PowerShell.exe", "cmd", at)).toEqual({ shell: "powershell", program: "PowerShell.exe" });
    expect(tabShell("/opt/microsoft/powershell/7/pwsh", "cmd", at)).toEqual({
      shell: "powershell",
      program: "/opt/microsoft/powershell/7/pwsh",
    });
  });

  it("any spelling of the four names, under any directory, is accepted (300 runs)", () => {
    const names = fc.constantFrom("cmd", "cmd.exe", "powershell", "powershell.exe", "pwsh", "pwsh.exe");
    const cased = fc
      .tuple(names, fc.array(fc.boolean(), { minLength: 14, maxLength: 14 }))
      .map(([n, up]) => [...n].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(""));
    const dir = fc.constantFrom(
      "",
      "C:\\Windows\\System32\\",
      "D:\\tools x\\",
      "/usr/bin/",
      "\\\\srv\\share\\",
    );
    fc.assert(
      fc.property(dir, cased, (d, n) => {
        const r = tabShell(d + n, "powershell", "x");
        expect(r.shell).toBe(n.toLowerCase().startsWith("cmd") ? "cmd" : "powershell");
      }),
      { numRuns: 300 },
    );
  });

  it("anything else is refused at prepare, naming the field (300 runs)", () => {
    const allowed = /^(cmd|cmd\.exe|powershell|powershell\.exe|pwsh|pwsh\.exe)$/i;
    const other = fc
      .oneof(
        fc.constantFrom(
          "bash",
          "/bin/sh",
          "zsh",
          "fish",
          "nu",
          "cmd.exe.bak",
          "pwsh7",
          "cmd ",
          " pwsh",
          "wsl.exe",
          "constructor",
          "__proto__",
          "toString",
        ),
        fc.string({ minLength: 1, maxLength: 12 }),
      )
      .filter(
        (s) =>
          s.trim() !== "" && !allowed.test(s.slice(Math.max(s.lastIndexOf("\\"), s.lastIndexOf("/")) + 1)),
      );
    fc.assert(
      fc.property(other, (shell) => {
        const layout = { layoutName: "L", layoutTabs: [tab(), tab({ tabName: "u", shell })] };
        expect(() => prepare(layout, 2)).toThrow(
          expect.objectContaining({
            code: "LAYOUT_INVALID",
            reason: expect.stringContaining("layouts[2].layoutTabs[1].shell:"),
          }),
        );
      }),
      { numRuns: 300 },
    );
    // A name the list accepts but a path Windows cannot hold.
    expect(() => tabShell('C:\\"x\\cmd.exe', "cmd", "s")).toThrow(/not/);
  });

  it("each tab's command is checked against its own shell", () => {
    const cmdLine = '"C:\\Program Files\\nodejs\\node.exe" x.js %APPDATA%';
    // PowerShell cannot run a cmd line: refused for the default shell, accepted with the tab's cmd.
    expect(() => prepare({ layoutName: "L", layoutTabs: [tab({ command: cmdLine })] })).toThrow(
      /Unexpected token/,
    );
    expect(() =>
      prepare({ layoutName: "L", layoutTabs: [tab({ command: cmdLine, shell: "cmd" })] }),
    ).not.toThrow();
    // A backend in cmd mode, a tab in PowerShell: a multi-line command is fine there, not in cmd.
    const multi = "Write-Output a\nexit 3";
    expect(() => prepare({ layoutName: "L", layoutTabs: [tab({ command: multi })] }, 0, "cmd")).toThrow(
      /one line/,
    );
    expect(() =>
      prepare({ layoutName: "L", layoutTabs: [tab({ command: multi, shell: "pwsh" })] }, 0, "cmd"),
    ).not.toThrow();
    // Windows PowerShell 5.1 named by the tab: no && there, whatever runs the wrapper.
    expect(() =>
      prepare({ layoutName: "L", layoutTabs: [tab({ command: "a && b", shell: "powershell.exe" })] }),
    ).toThrow(/5\.1/);
    expect(() =>
      prepare({ layoutName: "L", layoutTabs: [tab({ command: "a && b", shell: "pwsh" })] }),
    ).not.toThrow();
  });

  it("the wrapper carries each tab's shell and program", async () => {
    const p = prepare(
      {
        layoutName: "L",
        layoutTabs: [tab(), tab({ shell: "cmd" }), tab({ shell: "C:\\PS 7\\pwsh.exe" })],
      },
      0,
      "cmd",
    );
    const { tables, code } = await readData(wrapperOf(p).content, "mcTabs");
    expect(code).toEqual([]);
    expect(tables.map((t) => [t.shell?.[0], t.program?.[0]])).toEqual([
      ["cmd", ""],
      ["cmd", ""],
      ["powershell", "C:\\PS 7\\pwsh.exe"],
    ]);
  });
});

describe("env: the layout's and the tab's environment", () => {
  it("the tab's variables override the layout's, case-insensitively as Windows does", () => {
    const layout: LayoutConfig = {
      layoutName: "L",
      env: { Path: "C:\\bin", A: "layout", keep: "k" },
      layoutTabs: [tab({ env: { PATH: "C:\\tab", b: "tab" } })],
    };
    expect(tabEnv(layout, layout.layoutTabs[0]!, "layouts[0]", "layouts[0].layoutTabs[0]")).toEqual([
      ["PATH", "C:\\tab"],
      ["A", "layout"],
      ["keep", "k"],
      ["b", "tab"],
    ]);
  });

  it("refuses what Windows cannot hold, naming the field", () => {
    const bad: [LayoutConfig, RegExp][] = [
      [
        { layoutName: "L", env: { foo: "1", FOO: "2" }, layoutTabs: [tab()] },
        /^layouts\[3\]\.env\.FOO: .*case-insensitive/,
      ],
      [
        { layoutName: "L", layoutTabs: [tab(), tab({ env: { Ab: "", aB: "" } })] },
        /^layouts\[3\]\.layoutTabs\[1\]\.env\.aB: /,
      ],
      [
        { layoutName: "L", layoutTabs: [tab({ env: { "A=B": "x" } })] },
        /^layouts\[3\]\.layoutTabs\[0\]\.env\.A=B: /,
      ],
      [
        { layoutName: "L", layoutTabs: [tab({ env: { "": "x" } })] },
        /^layouts\[3\]\.layoutTabs\[0\]\.env\.: /,
      ],
      [{ layoutName: "L", layoutTabs: [tab({ env: { X: "\ud800" } })] }, /env\.X: .*surrogate/],
      [{ layoutName: "L", layoutTabs: [tab({ env: { X: "a\u0000b" } })] }, /env\.X: .*NUL/],
      [{ layoutName: "L", layoutTabs: [tab({ env: { X: "y".repeat(32_766) } })] }, /env\.X: .*32,767/],
    ];
    for (const [layout, reason] of bad) {
      expect(() => prepare(layout, 3), JSON.stringify(layout).slice(0, 80)).toThrow(
        expect.objectContaining({ code: "LAYOUT_INVALID", reason: expect.stringMatching(reason) }),
      );
    }
    expect(() =>
      prepare({ layoutName: "L", layoutTabs: [tab({ env: { X: "y".repeat(32_765) } })] }),
    ).not.toThrow();
  });

  it("any values reach the wrapper as '…' data that PowerShell's grammar reads back exactly (300 runs)", async () => {
    const env = fc.dictionary(envName, envValue, { maxKeys: 6 }).filter((e) => {
      const upper = Object.keys(e).map((k) => k.toUpperCase());
      return new Set(upper).size === upper.length;
    });
    await fc.assert(
      fc.asyncProperty(env, env, async (layoutEnv, tabEnvValue) => {
        const layout: LayoutConfig = {
          layoutName: "L",
          env: layoutEnv,
          layoutTabs: [tab({ env: tabEnvValue }), tab({ tabName: "second" })],
        };
        const script = wrapperOf(prepare(layout)).content;
        expect(await powershellSyntaxErrors(script)).toEqual([]);
        const { tables, code } = await readData(script, "mcTabs");
        expect(code).toEqual([]);
        const expected = (t: number) => tabEnv(layout, layout.layoutTabs[t]!, "a", "b").flat();
        expect(tables.map((t) => t.env)).toEqual([expected(0), expected(1)]);
      }),
      { numRuns: 300 },
    );
  });

  it("the syntax check does catch a value that escapes its literal", async () => {
    // The reader sees code when a value is not quoted (what a naive generator would write).
    const naive = wrapperScript({
      window: "w",
      session: "s",
      runDir: "C:\\r",
      keepShell: false,
      tabs: [],
    }).replace("$mcTabs = @(\n", "$mcTabs = @(\n  @{ env = @('A', \"$(whoami)\") }\n");
    expect((await readData(naive, "mcTabs")).code).toEqual(
      expect.arrayContaining(["sub_expression", "command"]),
    );
  });
});

describe("retry", () => {
  it("becomes more attempts and a backoff in milliseconds; refused out of range, naming the field", () => {
    expect(tabRetry(tab(), "x")).toEqual({});
    expect(tabRetry(tab({ retry: { max: 2 } }), "x")).toEqual({ retry: 2, backoffMs: 0 });
    expect(tabRetry(tab({ retry: { max: 0, backoffSeconds: 1.5 } }), "x")).toEqual({
      retry: 0,
      backoffMs: 1500,
    });
    for (const [retry, field] of [
      [{ max: -1 }, "retry.max"],
      [{ max: 1.5 }, "retry.max"],
      [{ max: 1, backoffSeconds: -1 }, "retry.backoffSeconds"],
      [{ max: 1, backoffSeconds: 3_000_000 }, "retry.backoffSeconds"],
      [{ max: 1, backoffSeconds: Number.NaN }, "retry.backoffSeconds"],
    ] as const) {
      expect(() => prepare({ layoutName: "L", layoutTabs: [tab({ retry })] }, 1)).toThrow(
        expect.objectContaining({
          code: "LAYOUT_INVALID",
          reason: expect.stringContaining(`layouts[1].layoutTabs[0].${field}:`),
        }),
      );
    }
  });

  it("the wrapper carries the counts as integer literals", async () => {
    const p = prepare({
      layoutName: "L",
      layoutTabs: [tab({ retry: { max: 4, backoffSeconds: 0.25 } }), tab()],
    });
    const script = wrapperOf(p).content;
    expect(script).toMatch(/ {4}retry = 4\n {4}backoffMs = 250\n/);
    expect(script).toMatch(/ {4}retry = 0\n {4}backoffMs = 0\n/);
    expect(
      tabSettings(p.layout, { layoutIndex: 0, shell: "powershell", windowsPowerShell: false })[0],
    ).toMatchObject({
      retry: 4,
      backoffMs: 250,
    });
  });
});

describe("onStart / onStop", () => {
  it("are refused at prepare, naming the field: Windows Terminal cannot run them yet", () => {
    for (const hook of ["onStart", "onStop"] as const) {
      expect(() => prepare({ layoutName: "L", layoutTabs: [tab()], [hook]: "echo hi" }, 4)).toThrow(
        expect.objectContaining({
          code: "LAYOUT_INVALID",
          reason: expect.stringMatching(
            new RegExp(`^layouts\\[4\\]\\.${hook}: .*does not support ${hook} yet`),
          ),
        }),
      );
    }
  });
});
