/**
 * Issue #19, "WTRemoteManager", end to end: the real OpenSSH client and a real sshd on 127.0.0.1, a fake
 * Windows machine behind it (test/fake-windows.ts) per OpenSSH default shell, @mc/wt's fake Windows
 * Terminal and PowerShell for the windows and tabs.
 * - "Windows started from an OpenSSH session run in session 0 and never appear on the user's desktop
 *   (Win32-OpenSSH#998, 'by design'). Start remote windows in the user's interactive session": every wt
 *   launch must come from the interactive scheduled task (session 1), and the task must be removed.
 * - "cmd.exe … refuses lines over 8,191 characters; mc's status and kill lines are 10,854 to 16,238": a
 *   start, status and kill of a 40-tab session through cmd.exe, no line over the stub's 430 characters.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMcError, type LayoutConfig } from "@mc/core";
import { wtBackend } from "@mc/wt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RemoteManager } from "../src/index.js";
import { HAVE_SSHD } from "../src/testing.js";
import { type WTRemoteBackendOptions, WTRemoteManager } from "../src/wt.js";
import { type FakeWindowsMachine, fakeWindowsMachine, HAVE_WT_FAKES, type Shell } from "./fake-windows.js";

let m: FakeWindowsMachine;

/** Every regular file under a directory of the fake machine. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}
let local: string;
let work: string;
const FAST: WTRemoteBackendOptions = { appearTimeoutMs: 20_000, launchTimeoutMs: 15_000 };

const layout = (name: string, tabs: number, command = "sleep 60"): LayoutConfig => ({
  layoutName: name,
  layoutTabs: Array.from({ length: tabs }, (_, i) => ({ tabName: `t${i}`, startDir: work, command })),
});

function manager(shell: Shell, layouts: LayoutConfig[], backend: WTRemoteBackendOptions = {}) {
  return new WTRemoteManager({
    machineLayouts: { win: layouts },
    sessionNamePrefix: `wt${shell}`,
    ssh: { win: { ...m.options(shell), target: "127.0.0.1" } },
    backendOptions: { win: { ...FAST, ...backend } },
    stateDir: local,
  });
}

describe.skipIf(!HAVE_SSHD || !HAVE_WT_FAKES)("WTRemoteManager over ssh (fake Windows, real sshd)", () => {
  beforeAll(async () => {
    m = await fakeWindowsMachine();
    local = mkdtempSync(join(tmpdir(), "mc-wtremote-"));
    work = join(m.root, "work");
    mkdirSync(work);
  });
  afterAll(() => {
    m?.stop();
    rmSync(local, { recursive: true, force: true });
  });

  for (const shell of ["cmd", "powershell", "pwsh"] as const) {
    it(`default shell ${shell}: windows open on the desktop through a one-shot task; status and kill work`, async () => {
      m.clearLogs();
      const tabs = shell === "cmd" ? 40 : 2;
      const run = manager(shell, [layout("api", tabs)]);
      const [r] = await run.start({ onConflict: "error" });
      expect(r?.ok, r?.ok ? "" : String(r?.error)).toBe(true);
      // Each launch came from the user's interactive session, through a task that is gone afterwards.
      const launches = m.log<{ session: string; visible: boolean }>("wt");
      expect(launches.length).toBe(1);
      expect(launches.every((l) => l.session === "1" && l.visible)).toBe(true);
      const tasks = m.log<{ event: string; task: string; session?: string }>("tasks");
      expect(tasks.map((t) => t.event)).toEqual(["register", "ran", "unregister"]);
      expect(tasks[0]?.session).toBe("1");
      const report = await run.checkAllSessionsStatus();
      const states = report.sessions.flatMap((s) => s.tabs.map((t) => t.state));
      expect(states).toEqual(Array(tabs).fill("running"));
      if (shell === "cmd") {
        // What travelled on stdin instead: scripts and files far over cmd.exe's limit.
        const sizes = filesUnder(m.stateDir(shell)).map((f) => statSync(f).size);
        console.log(
          `[mc remote] wt over cmd: the largest file on the machine is ${Math.max(...sizes)} bytes`,
        );
        expect(Math.max(...sizes)).toBeGreaterThan(8191);
      }
      const killed = await run.killAllSessions();
      expect(killed.map((k) => k.outcome)).toEqual(["killed"]);
      const lines = m.log<{ length: number }>("lines");
      const longest = Math.max(...lines.map((l) => l.length));
      console.log(
        `[mc remote] wt over ${shell}: ${tabs} tabs, ${lines.length} ssh lines, the longest ${longest} characters`,
      );
      expect(longest).toBeLessThan(shell === "cmd" ? 500 : 200);
    }, 120_000);
  }

  it("attach over ssh is refused, saying why and what to do instead", async () => {
    const run = manager("cmd", [layout("att", 1)]);
    const [r] = await run.start({ onConflict: "error" });
    expect(r?.ok).toBe(true);
    try {
      const e = (() => {
        try {
          run.attachToSession(`wtcmd_att`);
        } catch (x) {
          return x;
        }
      })();
      expect(isMcError(e, "USAGE")).toBe(true);
      expect(String((e as Error).message)).toMatch(/cannot attach .* over ssh: .*desktop/);
      expect((e as { hint?: string }).hint).toMatch(/mc status/);
    } finally {
      await run.killAllSessions();
    }
  }, 60_000);

  it("nobody logged on at the machine: a clear START_FAILED, nothing left running or registered", async () => {
    m.set("no-desktop");
    m.clearLogs();
    try {
      const run = manager("cmd", [layout("nobody", 1)]);
      const [r] = await run.start({ onConflict: "error" });
      expect(r?.ok).toBe(false);
      const e = r && !r.ok ? r.error : undefined;
      expect(isMcError(e, "START_FAILED")).toBe(true);
      expect(String(e?.message)).toMatch(/no desktop session/);
      expect(m.log("wt")).toEqual([]);
      // The start rolled back: no window registered for the session on the machine.
      expect(filesUnder(join(m.stateDir("cmd"), "wt", "windows"))).toEqual([]);
    } finally {
      m.unset("no-desktop");
    }
  }, 60_000);

  it("a user who may not create scheduled tasks: a clear START_FAILED naming the permission", async () => {
    m.set("tasks-denied");
    try {
      const run = manager("pwsh", [layout("denied", 1)]);
      const [r] = await run.start({ onConflict: "error" });
      const e = r && !r.ok ? r.error : undefined;
      expect(isMcError(e, "START_FAILED")).toBe(true);
      expect(String(e?.message)).toMatch(/may not create scheduled tasks/);
    } finally {
      m.unset("tasks-denied");
    }
  }, 60_000);

  it("negative control: @mc/wt's plain launch over ssh starts wt in session 0, invisible", async () => {
    m.clearLogs();
    const run = new RemoteManager("WTLocalManager", wtBackend, {
      machineLayouts: { win: [layout("plain", 1)] },
      sessionNamePrefix: "plain",
      ssh: { win: { ...m.options("cmd"), target: "127.0.0.1" } },
      backendOptions: { win: FAST },
      stateDir: local,
    });
    await run.start({ onConflict: "error" });
    try {
      const launches = m.log<{ session: string; visible: boolean }>("wt");
      expect(launches.length).toBe(1);
      expect(launches[0]).toMatchObject({ session: "0", visible: false });
    } finally {
      await run.killAllSessions();
    }
  }, 60_000);
});
