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
import { afterAll, describe, expect, it } from "vitest";
import { killScript, mergeTabsPowerShell, scriptFileArgs, wrapperScript } from "../src/index.js";
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

  /** Run the generated wrapper for one command in a run directory of its own; returns its end record. */
  function wrap(command: string, keepShell = false, input?: string) {
    const runDir = mkdtempSync(join(dir, "run-"));
    const file = join(runDir, "tab-0.command.txt");
    writeFileSync(file, command);
    const wrapper = join(runDir, "wrapper.ps1");
    writeFileSync(
      wrapper,
      wrapperScript({ window: "w", runDir, commandFiles: [file], keepShell, shell: "powershell" }),
    );
    const r = spawnSync(
      PWSH!,
      ["-NoLogo", "-NoProfile", "-ExecutionPolicy", "Bypass", "-File", wrapper, "0"],
      {
        encoding: "utf8",
        input: input ?? "",
        timeout: 60_000,
      },
    );
    return { r, record: JSON.parse(readFileSync(join(runDir, "tab-0.json"), "utf8")) };
  }

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
