/**
 * A real PowerShell (pwsh 7 on Linux or macOS) running mc's generated scripts: the parts of the Windows
 * Terminal backend that do not need Windows (wt-real.md §D): the tab wrapper with its exit codes and
 * kept shell, the launch script handing the fake wt its command line through Process.Start, the kill
 * script, the probe and attach scripts, end to end through WTLocalManager. Only wt is the fake here.
 *
 * It runs wherever `pwsh` is on PATH and reports itself skipped, with the reason, everywhere else; a
 * skipped test is never counted as passing. (This repository's machines have no pwsh: Debian packages
 * none, and `dotnet tool install --global PowerShell` needs NuGet.)
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import type { StatusReport, TabConfig } from "@mc/core";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  killScript,
  mergeTabsPowerShell,
  psQuote,
  scriptFileArgs,
  type WrapperTab,
  wrapperScript,
} from "../src/index.js";
import { envValue } from "./arbitraries.js";
import { FAKE_WT, fakeWindows } from "./fakes.js";

const PWSH = (process.env.PATH ?? "")
  .split(delimiter)
  .map((d) => join(d, "pwsh"))
  .find((p) => existsSync(p));
if (!PWSH) console.warn("[wt] real-pwsh suite skipped: no pwsh on PATH (install PowerShell 7 to run it)");

const tab = (tabName: string, command: string, startDir = "/"): TabConfig => ({ tabName, startDir, command });

describe.skipIf(!PWSH)("a real pwsh running mc's scripts", () => {
  const dir = mkdtempSync(join(tmpdir(), "mc-real-pwsh-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Write the generated wrapper for one command in a run directory of its own; returns its paths. */
  function wrapper(command: string, keepShell: boolean, extra: Partial<WrapperTab> = {}) {
    const runDir = mkdtempSync(join(dir, "run-"));
    const file = join(runDir, "tab-0.command.txt");
    writeFileSync(file, command);
    const path = join(runDir, "wrapper.ps1");
    writeFileSync(
      path,
      wrapperScript({
        window: "w",
        session: "s",
        runDir,
        tabs: [{ tabName: "t", index: 0, commandFile: file, shell: "powershell", ...extra }],
        keepShell,
      }),
    );
    const args = ["-NoLogo", "-NoProfile", "-ExecutionPolicy", "Bypass", "-File", path, "0"];
    return { runDir, args };
  }

  /** Run the generated wrapper for one command; returns its end record. */
  function wrap(command: string, keepShell = false, input?: string, extra: Partial<WrapperTab> = {}) {
    const { runDir, args } = wrapper(command, keepShell, extra);
    const r = spawnSync(PWSH!, args, { encoding: "utf8", input: input ?? "", timeout: 60_000 });
    return { r, runDir, record: JSON.parse(readFileSync(join(runDir, "tab-0.json"), "utf8")) };
  }

  const events = (runDir: string) =>
    readFileSync(join(runDir, "events.ndjson"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it("records the real exit code (PowerShell#13501), for commands of any length", () => {
    const cases: [string, number][] = [
      ["exit 3", 3],
      ["sh -c 'exit 7'", 7],
      ["Write-Output building\nsh -c 'exit 101'", 101],
      ["sh -c 'exit 7'; Write-Output ok", 0],
      ["Get-Item /no/such/path", 1],
      ["throw 'boom'", 1],
      ["Write-Output fine", 0],
      ["'unterminated", 1],
      [`# ${"x".repeat(20_000)}\nexit 5`, 5],
    ];
    for (const [command, exit] of cases)
      expect(wrap(command).record, command.slice(0, 40)).toMatchObject({ exit, end: expect.any(Number) });
  });

  it("leaves a clean interactive shell: no mc variables, ErrorActionPreference Continue", () => {
    const { r, record } = wrap(
      "exit 0",
      true,
      "'EAP=' + $ErrorActionPreference\n'MC=' + @(Get-Variable -Name 'mc*' -ErrorAction SilentlyContinue).Count\nexit\n",
    );
    expect(record).toMatchObject({ exit: 0 });
    expect(r.stdout).toContain("EAP=Continue");
    expect(r.stdout).toContain("MC=0");
  });

  it("runs the PowerShell merge driver: each part in its directory, the first failure's status", () => {
    const [a, b] = [mkdtempSync(join(dir, "a-")), mkdtempSync(join(dir, "b-"))];
    const merged = mergeTabsPowerShell(
      [
        tab("one", "'a' | Set-Content out.txt", a!),
        tab("fails", "sh -c 'exit 9'", a!),
        tab("two", "'b' | Set-Content out.txt", b!),
      ],
      "m",
    );
    expect(wrap(merged.command).record).toMatchObject({ exit: 9 });
    expect(readFileSync(join(a!, "out.txt"), "utf8").trim()).toBe("a");
    expect(readFileSync(join(b!, "out.txt"), "utf8").trim()).toBe("b");
  });

  it("gives the command its environment, values exactly as written (generated hostile values)", () => {
    const dump = join(dir, "dump-env.mjs");
    writeFileSync(
      dump,
      'import { writeFileSync } from "node:fs";\nwriteFileSync(process.argv[2], JSON.stringify(process.env));\n',
    );
    const values = [
      "",
      "it's",
      '"double"',
      "$(whoami)",
      "`n backtick",
      "line 1\nline 2\r\n",
      "%PATH%",
      "日本 😀 e\u0301",
      ...fc.sample(envValue, { numRuns: 20, seed: 19 }),
    ];
    const env = values.map((v, i) => [`MC_V${i}`, v] as const);
    const out = join(dir, "env.json");
    const { record } = wrap(`node ${psQuote(dump)} ${psQuote(out)}`, false, undefined, { env });
    expect(record).toMatchObject({ exit: 0 });
    const seen = JSON.parse(readFileSync(out, "utf8")) as Record<string, string>;
    for (const [k, v] of env) expect(seen[k], k).toBe(v);
  });

  it("runs the command in the PowerShell the tab names", () => {
    const { record } = wrap(
      "if ($PSVersionTable.PSEdition -eq 'Core') { exit 7 } else { exit 1 }",
      false,
      undefined,
      {
        program: PWSH!,
      },
    );
    expect(record).toMatchObject({ exit: 7 });
    // A program that does not exist: the command could not be started, said in the events.
    const gone = wrap("exit 0", false, undefined, { program: join(dir, "no-such-pwsh") });
    expect(gone.record).toMatchObject({ exit: 1 });
    expect(events(gone.runDir).at(-1)).toMatchObject({
      type: "tab-exited",
      exitCode: 1,
      reason: "the command could not be started",
    });
  });

  it("retries a failing command, records the attempt and writes posixTabScript's event lines", () => {
    const { record, runDir } = wrap("sh -c 'exit 3'", false, undefined, { retry: 2, backoffMs: 300 });
    expect(record).toMatchObject({ exit: 3, attempt: 3, end: expect.any(Number) });
    const lines = events(runDir);
    const who = { session: "s", tab: "t", index: 0 };
    expect(lines.map(({ t: _, ...e }) => e)).toEqual([
      { type: "tab-started", ...who, attempt: 1 },
      { type: "tab-retried", ...who, attempt: 2, exitCode: 3 },
      { type: "tab-retried", ...who, attempt: 3, exitCode: 3 },
      { type: "tab-exited", ...who, exitCode: 3 },
    ]);
    const t = lines.map((e) => e.t as number);
    expect(t[2]! - t[1]!).toBeGreaterThanOrEqual(0.25);
    expect(Math.abs(t[0]! - Date.now() / 1000)).toBeLessThan(120);
  });

  it("a kill file ends the backoff at once: KILL recorded, tab-killed written", async () => {
    const { runDir, args } = wrapper("sh -c 'exit 1'", false, { retry: 5, backoffMs: 60_000 });
    const child = spawn(PWSH!, args, { stdio: "ignore" });
    const gone = new Promise((res) => child.on("exit", res));
    const started = Date.now();
    while (
      !existsSync(join(runDir, "events.ndjson")) ||
      !readFileSync(join(runDir, "events.ndjson"), "utf8").includes("tab-retried")
    ) {
      if (Date.now() - started > 30_000) throw new Error("no tab-retried event within 30 s");
      await new Promise((r) => setTimeout(r, 50));
    }
    writeFileSync(join(runDir, "tab-0.kill"), "kill\n");
    const t0 = Date.now();
    await gone;
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(JSON.parse(readFileSync(join(runDir, "tab-0.json"), "utf8"))).toMatchObject({
      signal: "KILL",
      attempt: 2,
    });
    expect(events(runDir).at(-1)).toMatchObject({ type: "tab-killed", signal: "SIGKILL" });
  });

  it("the kill script stops what it is given and reports it", () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    const start = Date.now();
    const script = join(dir, "kill.ps1");
    writeFileSync(script, killScript([], [{ pid: child.pid!, startedAt: -1 }]));
    const out = execFileSync(PWSH!, scriptFileArgs(script), { encoding: "utf8" });
    expect(JSON.parse(out)).toEqual({ stopped: [child.pid], survivors: [] });
    expect(Date.now() - start).toBeLessThan(20_000);
  });

  it("runs a whole session through WTLocalManager with the fake wt: launch, records, status, kill", async () => {
    const f = fakeWindows();
    const m = f.manager({
      pwsh: PWSH!,
      wt: FAKE_WT,
      sessionLayouts: [
        {
          layoutName: "real; 'pwsh'",
          layoutTabs: [
            tab("[[aa]] x", "sh -c 'exit 3'", f.workDir),
            tab("runs", "Start-Sleep 30", f.workDir),
          ],
        },
      ],
    });
    try {
      await m.startAllSessions();
      const r: StatusReport = await f.until(async () => {
        const x = await m.checkAllSessionsStatus();
        return x.sessions[0]!.tabs[0]!.state === "exited" ? x : undefined;
      }, 30_000);
      expect(r.sessions[0]!.tabs.map((t) => [t.state, t.exitCode])).toEqual([
        ["exited", 3],
        ["running", undefined],
      ]);
      const [k] = await m.killAllSessions();
      expect(k).toMatchObject({ ok: true, outcome: "killed" });
    } finally {
      f.cleanup();
    }
  });
});
