import { chownSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isMcError, listRuns, loadRun, localHost, saveRun } from "../src/index.js";

// A record names ssh configs and commands mc runs as this user: in a shared state directory, a record
// another user wrote is never trusted (hostile review F8). Changing a file's owner needs root.
describe.skipIf(process.getuid?.() !== 0)("run records another user owns", () => {
  it("are listed as not trusted and never loaded", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "mc-owner-"));
    const host = localHost({ stateDir });
    const run = {
      v: 2,
      id: "20260101-000000-abcdef",
      kind: "TmuxLocalManager",
      backend: "tmux",
      createdAt: Date.now(),
      machines: { local: { host: "local", backendOptions: {} } },
      sessions: [],
    };
    await saveRun(host, stateDir, run as never);
    const dir = join(stateDir, "managers", "TmuxLocalManager");
    const file = readdirSync(dir).find((f) => f.endsWith(".json"))!;
    expect((await listRuns(host, stateDir, "TmuxLocalManager")).runs).toHaveLength(1);
    chownSync(join(dir, file), 65534, 65534);
    const listed = await listRuns(host, stateDir, "TmuxLocalManager");
    expect(listed.runs).toEqual([]);
    expect(listed.corrupt[0]!.error).toMatch(/owned by uid 65534, not by this user: not trusted/);
    const err = await loadRun(host, stateDir, "TmuxLocalManager", run.id).catch((e) => e);
    expect(isMcError(err, "STATE_CORRUPT")).toBe(true);
  });
});
