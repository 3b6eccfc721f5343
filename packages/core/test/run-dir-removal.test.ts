import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { localHost } from "../src/local-host.js";
import { isOwnRunDir, type ManagedRun, saveRun } from "../src/run-record.js";
import { RunStore } from "../src/run-store.js";

const root = mkdtempSync(join(tmpdir(), "mc-rundir-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("a record's runDir is removed only when it is one mc made", () => {
  it("isOwnRunDir: below <stateDir>/runs/ without . or .. steps, for generated paths", () => {
    expect(isOwnRunDir("/s", "/s/runs/r1/s0")).toBe(true);
    expect(isOwnRunDir("/s/", "/s/runs/r1/s0/")).toBe(true);
    expect(isOwnRunDir("C:\\Users\\u\\mc", "C:\\Users\\u\\mc\\runs\\r\\s0")).toBe(true);
    for (const bad of [
      "/s/runs",
      "/s/runs/",
      "/s/runsx/a",
      "/s/runs/../x",
      "/s/runs/r/./..",
      "/tmp/victim",
      "/s",
      "",
    ])
      expect(isOwnRunDir("/s", bad)).toBe(false);
    fc.assert(
      fc.property(fc.array(fc.constantFrom("a", "..", ".", "runs", "s", ""), { maxLength: 6 }), (steps) => {
        const dir = `/s/runs/${steps.join("/")}`;
        const norm = dir.split("/").filter((x) => x !== "");
        const escapes = steps.some((x) => x === ".." || x === ".") || norm.length <= 2;
        expect(isOwnRunDir("/s", dir)).toBe(!escapes);
      }),
      { numRuns: 300 },
    );
  });

  it("pruning old ended sessions never deletes a directory a record names outside the state", async () => {
    const stateDir = join(root, "state");
    const victim = join(root, "victim");
    const own = join(stateDir, "runs", "r1", "s0");
    mkdirSync(victim, { recursive: true });
    mkdirSync(own, { recursive: true });
    const host = localHost({ stateDir });
    const layout = { layoutName: "x", layoutTabs: [{ tabName: "t", startDir: "/", command: "true" }] };
    const ended = (runDir: string, name: string) => ({
      machine: "local",
      name,
      requestedName: name,
      layout,
      runDir,
      artefacts: [],
      startedAt: 1,
      endedAt: 2,
      endedBy: "killed" as const,
    });
    const run = {
      v: 2,
      id: "r1",
      kind: "TestManager",
      backend: "tmux",
      createdAt: 1,
      machines: { local: { host: host.id } },
      sessions: [],
      ended: [ended(own, "a"), ended(victim, "b"), ended(join(stateDir, "runs", "..", "..", "victim"), "c")],
    } as unknown as ManagedRun;
    await saveRun(host, stateDir, run);
    await new RunStore(host, "TestManager").pruneEnded(0);
    expect(existsSync(own)).toBe(false);
    expect(existsSync(victim)).toBe(true);
    // The run's own directory goes with its last session's (review H25-5: one empty directory a run).
    expect(existsSync(join(stateDir, "runs", "r1"))).toBe(false);
    expect(existsSync(join(stateDir, "runs"))).toBe(true);
  });
});
