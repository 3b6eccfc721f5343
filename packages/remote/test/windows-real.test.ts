/**
 * The same #19 claims on a real Windows machine with the OpenSSH server, Windows Terminal and a user
 * logged on at its desktop: set MC_TEST_WINDOWS_SSH to its ssh target (an alias with keys that need no
 * prompt). Without it the suite is skipped and says so; nothing here is reported as passing.
 */
import { isMcError } from "@mc/core";
import { afterAll, describe, expect, it } from "vitest";
import { type SshHost, sshHost } from "../src/index.js";
import { WTRemoteManager } from "../src/wt.js";

const target = process.env.MC_TEST_WINDOWS_SSH;
if (!target)
  console.warn(
    "[mc remote] MC_TEST_WINDOWS_SSH is not set: the real-Windows suite (OpenSSH server, Windows Terminal, a logged-on user) is skipped",
  );

describe.skipIf(!target)(`real Windows over ssh (${target ?? "skipped"})`, () => {
  let h: SshHost;
  afterAll(async () => h?.close());

  it("detects the default shell and runs every primitive with long scripts on stdin", async () => {
    h = sshHost(target!, { platform: "auto" });
    const info = await h.info();
    expect(info.platform).toBe("win32");
    expect(["cmd", "powershell", "pwsh"]).toContain(info.shell);
    const r = await h.run({ file: "cmd.exe", args: ["/d", "/c", "exit 3"] });
    expect(r.exitCode).toBe(3);
    const big = `${"0123456789abcdef".repeat(4096)}\nü 🚀\n`;
    const f = `${info.stateDir}\\mc-remote-test\\big.txt`;
    await h.writeFile(f, big);
    expect(await h.readFile(f)).toBe(big);
    await h.remove(`${info.stateDir}\\mc-remote-test`);
    const e = await h.run({ file: "mc-no-such-binary-xyz", args: [] }).catch((x) => x);
    expect(isMcError(e, "BINARY_NOT_FOUND")).toBe(true);
  }, 120_000);

  it("opens a window on the desktop through the task, reads its tab running, kills it", async () => {
    const run = new WTRemoteManager({
      machineLayouts: {
        win: [
          { layoutName: "real", layoutTabs: [{ tabName: "t", startDir: "~", command: "Start-Sleep 120" }] },
        ],
      },
      sessionNamePrefix: "mcreal",
      ssh: { win: { target: target! } },
    });
    const [r] = await run.start({ onConflict: "rename" });
    expect(r?.ok, r?.ok ? "" : String(r?.error)).toBe(true);
    try {
      const report = await run.checkAllSessionsStatus();
      expect(report.sessions.flatMap((s) => s.tabs.map((t) => t.state))).toEqual(["running"]);
      expect(() => run.attachToSession()).toThrow(/over ssh/);
    } finally {
      expect((await run.killAllSessions()).map((k) => k.outcome)).toEqual(["killed"]);
    }
  }, 180_000);
});
