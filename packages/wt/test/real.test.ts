/**
 * Real Windows Terminal + PowerShell. Runs only on Windows with wt.exe and pwsh on PATH; everywhere else
 * it reports itself skipped (it is never counted as passing).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localHost } from "@mc/core";
import { describe, expect, it } from "vitest";
import { WTLocalManager } from "../src/index.js";

const onWindows = process.platform === "win32";
if (!onWindows)
  console.warn(
    "[wt] real Windows Terminal suite skipped: needs Windows with wt.exe and pwsh (platform is " +
      process.platform +
      ")",
  );

describe.skipIf(!onWindows)("real Windows Terminal", () => {
  it("starts a window, records exit codes and kills only its processes", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "mc-wt-real-"));
    const m = new WTLocalManager({
      host: localHost({ stateDir }),
      sessionNamePrefix: `mcreal${process.pid}`,
      keepShell: false,
      sessionLayouts: [
        {
          layoutName: "w; 'q'",
          layoutTabs: [
            { tabName: "ok", startDir: tmpdir(), command: "exit 0" },
            { tabName: "fail; [x]", startDir: tmpdir(), command: "Write-Output 'a;b'; exit 3" },
            // A native program's own code, not 0/1 (PowerShell#13501).
            { tabName: "native", startDir: tmpdir(), command: "cmd /c exit 7" },
            { tabName: "slow", startDir: tmpdir(), command: "Start-Sleep 30" },
          ],
        },
      ],
    });
    try {
      await m.startAllSessions();
      let r = await m.checkAllSessionsStatus();
      for (
        const end = Date.now() + 60_000;
        r.sessions[0]!.tabs[2]!.state !== "exited" && Date.now() < end;
      ) {
        await new Promise((res) => setTimeout(res, 200));
        r = await m.checkAllSessionsStatus();
      }
      expect(r.sessions[0]!.tabs.map((t) => [t.state, t.exitCode])).toEqual([
        ["exited", 0],
        ["exited", 3],
        ["exited", 7],
        ["running", undefined],
      ]);
    } finally {
      await m.killAllSessions();
      rmSync(stateDir, { recursive: true, force: true });
    }
    // killAllSessions forgets the session once it is killed.
    expect(m.managed).toEqual([]);
  });
});
