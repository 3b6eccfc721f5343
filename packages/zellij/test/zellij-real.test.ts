import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localHost } from "@mc/core";
import { runConformanceSuite } from "@mc/core/testing";
import { describe, expect, it } from "vitest";
import { ZellijBackend, ZellijLocalManager } from "../src/index.js";

function realZellij(): string | undefined {
  try {
    return execFileSync("zellij", ["--version"], { encoding: "utf8", timeout: 10000 }).trim();
  } catch {
    return undefined;
  }
}

const version = realZellij();
if (!version) {
  console.warn(
    "[mc] zellij real-binary suite SKIPPED: no `zellij` on PATH (this machine has no zellij package)",
  );
}

describe.skipIf(!version)(`real zellij (${version ?? "absent"})`, () => {
  // A private socket dir, cache (resurrection data) and config, so the user's sessions are never touched.
  // Collected even when skipped: only touch the disk when zellij is there.
  const root = version ? mkdtempSync(join(tmpdir(), "mc-zellij-real-")) : join(tmpdir(), "mc-zellij-absent");
  const workDir = join(root, "work");
  if (version) mkdirSync(workDir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ZELLIJ_SOCKET_DIR: join(root, "sock"),
    XDG_CACHE_HOME: join(root, "cache"),
    XDG_CONFIG_HOME: join(root, "config"),
    SHELL: "/bin/sh",
  };
  delete env.ZELLIJ;
  delete env.ZELLIJ_SESSION_NAME;
  const host = localHost({ env, stateDir: join(root, "state") });
  const probe = new ZellijBackend(host, { zellij: "zellij", maxSessionNameBytes: 40 });

  it("is a supported version", async () => {
    await probe.checkAvailable();
    expect(probe.q.version).toBeDefined();
  });

  runConformanceSuite({
    name: "zellij (real binary)",
    manager: (opts) => new ZellijLocalManager({ ...opts, host, maxSessionNameBytes: 40 }),
    listSessions: async () => (await probe.listSessions()).map((s) => s.name),
    async createForeignSession(name) {
      await host.run({ file: "zellij", args: ["attach", "--create-background", name] });
    },
    workDir,
    intervalMs: 300,
    async teardown() {
      await host.run({ file: "zellij", args: ["kill-all-sessions", "--yes"] });
      await host.run({ file: "zellij", args: ["delete-all-sessions", "--yes", "--force"] });
      rmSync(root, { recursive: true, force: true });
    },
  });
});
