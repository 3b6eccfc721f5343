import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LayoutConfig } from "@mc/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HAVE_SSHD, type PrivateSshd, privateSshd } from "../src/testing.js";
import { ZellijRemoteManager } from "../src/zellij.js";

// The "remote" side runs packages/zellij's fake zellij as 0.44.3 (it really runs each tab), put on the
// PATH of the commands ssh runs there; the real zellij 0.45 over ssh is zellij-remote-real.test.ts.
const FAKE_ZELLIJ_DIR = join(import.meta.dirname, "..", "..", "zellij", "test", "fake");

describe.skipIf(!HAVE_SSHD)("ZellijRemoteManager over a real sshd (fake zellij on the remote side)", () => {
  let d: PrivateSshd;
  let dir: string;
  let remoteEnv: Record<string, string>;
  const layout = (name: string, tabs: [string, string][]): LayoutConfig => ({
    layoutName: name,
    layoutTabs: tabs.map(([tabName, command]) => ({ tabName, startDir: join(dir, "work"), command })),
  });
  const zellij = (...args: string[]) =>
    execFileSync(join(FAKE_ZELLIJ_DIR, "zellij"), args, {
      env: { ...process.env, ...remoteEnv },
      encoding: "utf8",
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mc-remote-zellij-"));
    mkdirSync(join(dir, "work"));
    mkdirSync(join(dir, "zellij-state"));
    remoteEnv = {
      PATH: `${FAKE_ZELLIJ_DIR}:${process.env.PATH ?? "/usr/bin:/bin"}`,
      FAKE_ZELLIJ_STATE: join(dir, "zellij-state"),
      FAKE_ZELLIJ_VERSION: "0.44.3",
      SHELL: "/bin/sh",
    };
    d = await privateSshd(1);
  });
  afterAll(() => {
    const sessions = join(dir, "zellij-state", "sessions");
    for (const f of existsSync(sessions) ? readdirSync(sessions) : []) {
      if (!f.endsWith(".json")) continue;
      const s = JSON.parse(readFileSync(join(sessions, f), "utf8")) as { panes: { holderPid?: number }[] };
      for (const p of s.panes) {
        try {
          if (p.holderPid) process.kill(-p.holderPid, "SIGKILL");
        } catch {}
      }
    }
    d?.stop();
    rmSync(dir, { recursive: true, force: true, maxRetries: 50, retryDelay: 100 });
  });

  it("copies the layout there, starts, reports exit codes, refuses a conflict, and kills only its own", async () => {
    const fleet = new ZellijRemoteManager({
      sessionNamePrefix: "LocalJobMgr",
      stateDir: join(dir, "local-state"),
      machineLayouts: {
        alpha: [
          layout("zr", [
            ["ok", "exit 0"],
            ["bad", "exit 5"],
            ["long", "sleep 30"],
          ]),
        ],
      },
      ssh: {
        alpha: {
          target: "127.0.0.1",
          ...d.options(d.ports[0]!, { env: remoteEnv, stateDir: join(dir, "state") }),
        },
      },
    });
    try {
      const [r] = await fleet.start({ onConflict: "error" });
      expect(r).toMatchObject({ machine: "alpha", ok: true, sessions: [{ name: "LocalJobMgr_zr" }] });
      const artefacts = fleet.managed.find((s) => s.machine === "alpha")!.artefacts;
      expect(artefacts.some((a) => a.endsWith("layout.kdl") && existsSync(a))).toBe(true);
      zellij("attach", "--create-background", "LocalJobMgr_other");

      let report = await fleet.checkAllSessionsStatus();
      for (
        let i = 0;
        i < 100 && report.sessions[0]!.tabs.filter((t) => t.state === "exited").length < 2;
        i++
      ) {
        await new Promise((res) => setTimeout(res, 100));
        report = await fleet.checkAllSessionsStatus();
      }
      expect(report.machines).toEqual([{ machine: "alpha", host: "ssh:alpha", reachable: true }]);
      expect(report.sessions[0]!.host).toBe("ssh:alpha");
      expect(report.sessions[0]!.tabs.map((t) => [t.tabName, t.state, t.exitCode])).toEqual([
        ["ok", "exited", 0],
        ["bad", "exited", 5],
        ["long", "running", undefined],
      ]);

      const again = new ZellijRemoteManager({
        sessionNamePrefix: "LocalJobMgr",
        stateDir: join(dir, "local-state"),
        machineLayouts: { alpha: [layout("zr", [["t", "sleep 30"]])] },
        ssh: {
          alpha: {
            target: "127.0.0.1",
            ...d.options(d.ports[0]!, { env: remoteEnv, stateDir: join(dir, "state") }),
          },
        },
      });
      const [conflict] = await again.start({ onConflict: "error" });
      expect(conflict!.ok).toBe(false);
      await again.close();

      const killed = await fleet.killAllSessions();
      expect(killed).toMatchObject([
        { machine: "alpha", name: "LocalJobMgr_zr", ok: true, outcome: "killed" },
      ]);
      const left = zellij("list-sessions", "--no-formatting", "--short");
      expect(left).not.toContain("LocalJobMgr_zr");
      expect(left).toContain("LocalJobMgr_other");
    } finally {
      await fleet.close();
    }
  });

  it("runs a tab with panes there: each pane its own state and exit code", async () => {
    const fleet = new ZellijRemoteManager({
      sessionNamePrefix: "LocalJobMgr",
      stateDir: join(dir, "local-state"),
      machineLayouts: {
        alpha: [
          {
            layoutName: "zp",
            layoutTabs: [
              {
                tabName: "split",
                startDir: join(dir, "work"),
                command: "exit 0",
                panes: [
                  { command: "exit 3", split: "right", size: "30%" },
                  { command: "exit 4", split: "down", focus: true },
                ],
              },
            ],
          },
        ],
      },
      ssh: {
        alpha: {
          target: "127.0.0.1",
          ...d.options(d.ports[0]!, { env: remoteEnv, stateDir: join(dir, "state") }),
        },
      },
    });
    try {
      const [r] = await fleet.start({ onConflict: "error" });
      expect(r!.ok).toBe(true);
      let report = await fleet.checkAllSessionsStatus();
      for (let i = 0; i < 100 && !report.summary.allFinished; i++) {
        await new Promise((res) => setTimeout(res, 100));
        report = await fleet.checkAllSessionsStatus();
      }
      expect(report.sessions[0]!.tabs.map((t) => [t.tabName, t.pane, t.state, t.exitCode])).toEqual([
        ["split", 0, "exited", 0],
        ["split", 1, "exited", 3],
        ["split", 2, "exited", 4],
      ]);
      await fleet.killAllSessions();
    } finally {
      await fleet.close();
    }
  });
});
