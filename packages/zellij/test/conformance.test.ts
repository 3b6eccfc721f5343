import { runConformanceSuite } from "@mc/core/testing";
import { afterAll } from "vitest";
import { ZellijBackend } from "../src/index.js";
import { fakeZellij } from "./harness.js";

// The shared suite against the fake zellij of the newest recorded version. The oldest supported version
// (0.40.1: `--layout`, no `list-panes`) goes through the same lifecycle in fake-zellij.test.ts; running the
// whole suite twice would double the package's test time on a 2-core machine.
for (const version of ["0.45.0"]) {
  const z = fakeZellij(version);
  const probe = new ZellijBackend(z.host, { zellij: "zellij", maxSessionNameBytes: 60 });
  afterAll(() => z.cleanup());
  runConformanceSuite({
    name: `zellij ${version} (fake binary)`,
    manager: (opts) => z.manager(opts),
    listSessions: async () => (await probe.listSessions()).map((s) => s.name),
    async createForeignSession(name) {
      const r = await z.host.run({ file: "zellij", args: ["attach", "--create-background", name] });
      if (r.exitCode !== 0) throw new Error(r.stderr);
    },
    workDir: z.workDir,
    intervalMs: 150,
  });
}
