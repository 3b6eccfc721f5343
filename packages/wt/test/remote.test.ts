/**
 * Issue #19's WTRemoteManager points, prototyped as pure generators for @mc/remote (src/remote.ts):
 * scripts travel on stdin behind a constant command line (Windows OpenSSH's cmd.exe refuses lines over
 * 8,191 characters), and the launch runs in the user's desktop session through a scheduled task
 * (sshd's session 0 never reaches the desktop: PowerShell/Win32-OpenSSH#998).
 */
import { spawn, spawnSync } from "node:child_process";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  interactiveLaunchScript,
  killScript,
  probeScript,
  stdinScriptArgs,
  stdinScriptInput,
} from "../src/index.js";
import { anyText } from "./arbitraries.js";
import { FAKE_PWSH, fakeWindows } from "./fakes.js";
import { powershellSyntaxErrors } from "./ps-syntax.js";

const f = fakeWindows();
afterAll(() => f.cleanup());

describe("#19 remote prototypes", () => {
  it("any script runs behind a command line shorter than cmd.exe's 8,191 characters", () => {
    const line = ["powershell", ...stdinScriptArgs()].join(" ");
    expect(line.length).toBeLessThan(1000);
    // Pids no process can have (past Linux's largest pid_max, 2^22): the fake runs the script against this
    // machine's process table, and "start -1" is any process of that pid (live pids here were killed).
    const kill = killScript(
      Array.from({ length: 300 }, (_, i) => ({ pid: 5_000_000 + i, startedAt: 1_760_000_000_000 })),
      Array.from({ length: 300 }, (_, i) => ({ pid: 6_000_000 + i, startedAt: -1 })),
    );
    expect(kill.length).toBeGreaterThan(8191);
    // The fake pwsh reads the script from stdin as the stub does and runs it.
    const r = spawnSync(FAKE_PWSH, stdinScriptArgs(), {
      env: f.env,
      input: stdinScriptInput(probeScript("no-such-wt")),
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ wtPath: null });
    const k = spawnSync(FAKE_PWSH, stdinScriptArgs(), {
      env: f.env,
      input: stdinScriptInput(kill),
      encoding: "utf8",
    });
    expect(JSON.parse(k.stdout)).toEqual({ stopped: [], survivors: [] });
  });

  it("the fake machine's kill never reaches a process outside its world (the tests' own machine)", () => {
    // Not a process of the fake Windows: started without its environment, as any other test's is.
    const { FAKE_PWSH_STATE: _, ...outside } = f.env;
    const bystander = spawn("sleep", ["30"], { env: outside, stdio: "ignore" });
    try {
      const k = spawnSync(FAKE_PWSH, stdinScriptArgs(), {
        env: f.env,
        input: stdinScriptInput(
          killScript([{ pid: bystander.pid!, startedAt: -1 }], [{ pid: bystander.pid!, startedAt: -1 }]),
        ),
        encoding: "utf8",
      });
      expect(JSON.parse(k.stdout)).toEqual({ stopped: [], survivors: [] });
      expect(bystander.exitCode).toBe(null);
      expect(() => process.kill(bystander.pid!, 0)).not.toThrow();
    } finally {
      bystander.kill("SIGKILL");
    }
  });

  it("the interactive launch script parses for any path and task name (100 runs)", async () => {
    await fc.assert(
      fc.asyncProperty(anyText(30), anyText(20), async (path, name) => {
        const s = interactiveLaunchScript({
          launchPath: `C:\\${path}\\launch.ps1`,
          pwsh: "pwsh",
          taskName: `mc-launch-${name}`,
        });
        expect(await powershellSyntaxErrors(s)).toEqual([]);
      }),
      { numRuns: 100 },
    );
    const s = interactiveLaunchScript({
      launchPath: "C:\\Users\\a b\\launch.ps1",
      pwsh: "pwsh",
      taskName: "mc-launch-r-0",
    });
    expect(s).toContain("-LogonType Interactive");
    expect(s).toContain(
      `-Argument '-NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -WindowStyle Hidden -File "C:\\Users\\a b\\launch.ps1"'`,
    );
    expect(s).toContain("Unregister-ScheduledTask");
  });
});
