import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readTabLog } from "@mc/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  findRealZellij,
  processesMentioning,
  type RealZellij,
  realZellij,
  waitFor,
} from "../../zellij/test/real-zellij.js";
import { HAVE_SSHD, type PrivateSshd, privateSshd } from "../src/testing.js";
import { ZellijRemoteManager } from "../src/zellij.js";

// ZellijRemoteManager against the real zellij that scripts/setup.sh builds, on the far side of a real
// sshd on 127.0.0.1: the "remote" machine's environment is a private zellij world.
const found = findRealZellij();
const real = "path" in found ? found : undefined;
if (!real)
  console.warn(`[mc remote] real-zellij remote suite SKIPPED: ${"reason" in found ? found.reason : ""}`);

describe.skipIf(!HAVE_SSHD || !real)(
  `ZellijRemoteManager over a real sshd on real zellij (${real?.version})`,
  () => {
    let d: PrivateSshd;
    let z: RealZellij;
    let remoteEnv: Record<string, string>;
    beforeAll(async () => {
      z = realZellij(real!.path, real!.version);
      remoteEnv = Object.fromEntries(
        [
          "PATH",
          "ZELLIJ_SOCKET_DIR",
          "TMPDIR",
          "HOME",
          "XDG_CACHE_HOME",
          "XDG_CONFIG_HOME",
          "XDG_DATA_HOME",
          "SHELL",
          "LANG",
        ]
          .filter((k) => z.env[k] !== undefined)
          .map((k) => [k, z.env[k]!]),
      );
      d = await privateSshd(1);
    });
    afterAll(() => {
      d?.stop();
      z?.stop();
    });

    it("starts there, reports exit codes, keeps logs, runs onStop when mc kills it, and leaves nothing running", async () => {
      const stopped = join(z.work, "stopped");
      const fleet = new ZellijRemoteManager({
        sessionNamePrefix: "LocalJobMgr",
        // This machine's run records stay in the sandbox.
        stateDir: join(z.work, "local-state"),
        // A start returns once mc's tabs show; zellij on two loaded cores can take longer than the default.
        backendOptions: { "*": { appearTimeoutMs: 60_000 } },
        machineLayouts: {
          alpha: [
            {
              layoutName: "zr",
              onStop: `echo stopped >> '${stopped}'`,
              layoutTabs: [
                { tabName: "ok", startDir: z.work, command: "echo all-good; exit 0" },
                { tabName: "bad", startDir: z.work, command: "exit 5" },
                { tabName: "long", startDir: z.work, command: "echo waiting; sleep 60" },
              ],
            },
          ],
        },
        ssh: {
          alpha: { target: "127.0.0.1", ...d.options(d.ports[0]!, { env: remoteEnv, stateDir: z.stateDir }) },
        },
      });
      try {
        const [r] = await fleet.start({ onConflict: "error" });
        expect(r, JSON.stringify(r)).toMatchObject({ machine: "alpha", ok: true });
        expect(z.sessions()).toContain("LocalJobMgr_zr");
        const report = await waitFor(
          () => fleet.checkAllSessionsStatus(),
          (x) => x.sessions[0]?.tabs.filter((t) => t.state === "exited").length === 2,
        );
        expect(report.sessions[0]!.host).toBe("ssh:alpha");
        expect(report.sessions[0]!.tabs.map((t) => [t.tabName, t.state, t.exitCode])).toEqual([
          ["ok", "exited", 0],
          ["bad", "exited", 5],
          ["long", "running", undefined],
        ]);
        const s = fleet.managed.find((x) => x.machine === "alpha")!;
        if (s.data?.logs !== false)
          expect(
            await waitFor(
              () => readTabLog(z.host, s.runDir, 0),
              (t) => t.includes("all-good"),
            ),
          ).toContain("all-good");
        const killed = await fleet.killAllSessions();
        expect(killed).toMatchObject([
          { machine: "alpha", name: "LocalJobMgr_zr", ok: true, outcome: "killed" },
        ]);
        expect(z.sessions().filter((n) => n.startsWith("LocalJobMgr_zr"))).toEqual([]);
        // onStop ran there, once.
        const stops = await waitFor(
          async () => (existsSync(stopped) ? readFileSync(stopped, "utf8") : ""),
          (t) => t !== "",
        );
        expect(stops.trim().split("\n")).toHaveLength(1);
        // The onStop watcher notices the server's end within a second (`tail --pid`), then ends.
        const left = await waitFor(
          async () => processesMentioning(s.runDir),
          (l) => l.length === 0,
          10_000,
        );
        const show = (pid: number) => {
          try {
            return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ")}`;
          } catch {
            return String(pid);
          }
        };
        expect(left.map(show)).toEqual([]);
      } finally {
        await fleet.close();
      }
    }, 180_000);
  },
);
