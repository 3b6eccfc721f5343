import { chownSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isMcError, listRuns, loadRun, localHost, saveRun } from "../src/index.js";

/** A run record of one machine and no sessions, as saveRun writes one. */
const sampleRun = () => ({
  v: 2,
  id: "20260101-000000-abcdef",
  kind: "TmuxLocalManager",
  backend: "tmux",
  createdAt: Date.now(),
  machines: { local: { host: "local", backendOptions: {} } },
  sessions: [],
});

// A record names ssh configs and commands mc runs as this user: in a shared state directory, a record
// another user wrote is never trusted (hostile review F8). Changing a file's owner needs root.
describe.skipIf(process.getuid?.() !== 0)("run records another user owns", () => {
  it("are listed as not trusted and never loaded", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "mc-owner-"));
    const host = localHost({ stateDir });
    const run = sampleRun();
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

describe("a run record larger than any mc writes (review H14-7)", () => {
  it("is listed as too large, never read whole; the others are read", async () => {
    const { truncateSync, writeFileSync } = await import("node:fs");
    const stateDir = mkdtempSync(join(tmpdir(), "mc-size-"));
    const host = localHost({ stateDir });
    const run = sampleRun();
    await saveRun(host, stateDir, run as never);
    // Sparse: 300 MB on paper, nothing on disk.
    const big = join(stateDir, "managers", "TmuxLocalManager", "zz.json");
    writeFileSync(big, "", { mode: 0o600 });
    truncateSync(big, 300 * 2 ** 20);
    const before = process.memoryUsage().rss;
    const listed = await listRuns(host, stateDir, "TmuxLocalManager");
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 2 ** 20);
    expect(listed.runs.map((r) => r.id)).toEqual([run.id]);
    expect(listed.corrupt).toEqual([
      { path: big, error: expect.stringMatching(/too large to be a run record \(300 MiB/) },
    ]);
    const err = await loadRun(host, stateDir, "TmuxLocalManager", "zz").catch((e) => e);
    expect(isMcError(err, "STATE_CORRUPT")).toBe(true);
    expect(String(err.message)).toMatch(/too large/);
  });
});
