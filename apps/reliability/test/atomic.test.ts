import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadRun, localHost, type ManagedRun } from "@mc/core";
import { afterAll, describe, expect, it } from "vitest";
import { delay, pool, ROOT, recordFigures } from "./support.js";

const CORE = join(ROOT, "packages", "core", "dist", "index.js");
const figures: Record<string, unknown> = {};
const dir = mkdtempSync(join(tmpdir(), "mc-rel-atomic-"));
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await recordFigures("atomicState", figures);
});

// The writer: saves the same run id over and over with core's saveRun (writeFileAtomic underneath), each
// version self-checking (every session carries the version's sequence number), about 300 KB per write.
const WRITER = `
import { localHost, saveRun } from ${JSON.stringify(CORE)};
const stateDir = process.argv[2];
const host = localHost({ stateDir });
const sessions = (seq) => Array.from({ length: 400 + (seq % 7) * 50 }, (_, i) => ({
  machine: "local", name: "s" + i, requestedName: "s" + i, runDir: "/r/" + seq, artefacts: [], startedAt: seq,
  layout: { layoutName: "s" + i, layoutTabs: [{ tabName: "t", startDir: "~", command: "x".repeat(500) }] },
}));
for (let seq = 1; ; seq++) {
  await saveRun(host, stateDir, { v: 2, id: "soak", kind: "Atomic", backend: "tmux", createdAt: seq, machines: { local: { host: "local" } }, sessions: sessions(seq) });
  if (seq === 1) process.stdout.write("ready\\n");
  if (process.argv[3] && seq >= Number(process.argv[3])) break;
}
`;

const script = join(dir, "writer.mjs");
writeFileSync(script, WRITER);

function writer(stateDir: string, stopAfter?: number) {
  return spawn(process.execPath, [script, stateDir, ...(stopAfter ? [String(stopAfter)] : [])], {
    stdio: ["ignore", "pipe", "inherit"],
  });
}

/** A loaded run is whole: every session belongs to the same version and the count matches it. */
function whole(run: ManagedRun): boolean {
  const seq = run.createdAt;
  return (
    run.sessions.length === 400 + (seq % 7) * 50 &&
    run.sessions.every((s) => s.startedAt === seq && s.runDir === `/r/${seq}`)
  );
}

describe("nothing lost: state writes are atomic", () => {
  it("a writer SIGKILLed at 60 random points leaves a whole run every time, and at most one temp file per kill", async () => {
    const started = performance.now();
    const trials = 60;
    const stateDir = join(dir, "state");
    let tempFiles = 0;
    const bad: string[] = [];
    const seqs: number[] = [];
    // Trials run three at a time on three state directories; each trial is one writer killed once.
    await pool(
      Array.from({ length: trials }, (_, i) => i),
      3,
      async (i) => {
        const sd = join(stateDir, `w${i % 3}`);
        const child = writer(sd);
        const exited = new Promise((r) => child.once("exit", r));
        await Promise.race([
          new Promise<void>((resolve) => child.stdout!.once("data", () => resolve())),
          exited,
        ]);
        await delay(Math.random() * 150);
        child.kill("SIGKILL");
        await exited;
        try {
          const run = await loadRun(localHost({ stateDir: sd }), sd, "Atomic", "soak");
          if (!whole(run)) bad.push(`trial ${i}: torn content (seq ${run.createdAt})`);
          seqs.push(run.createdAt);
        } catch (e) {
          bad.push(`trial ${i}: ${(e as Error).message}`);
        }
      },
    );
    for (const w of [0, 1, 2]) {
      const d = join(stateDir, `w${w}`, "managers", "Atomic");
      tempFiles += readdirSync(d).filter((f) => f.includes(".tmp-")).length;
    }
    figures.kills = trials;
    figures.tornOrUnreadable = bad.length;
    figures.tempFilesLeft = tempFiles;
    figures.versionsReachedMedian = seqs.sort((a, b) => a - b)[Math.floor(seqs.length / 2)];
    figures.ms = Math.round(performance.now() - started);
    expect(bad).toEqual([]);
    expect(seqs).toHaveLength(trials);
    expect(tempFiles).toBeLessThanOrEqual(trials);
  }, 120_000);

  it("a writer that is not killed leaves no temp file at all", async () => {
    const sd = join(dir, "clean");
    const child = writer(sd, 25);
    await new Promise((r) => child.once("exit", r));
    const files = readdirSync(join(sd, "managers", "Atomic"));
    expect(files).toEqual(["soak.json"]);
    figures.cleanWriterFiles = files.length;
  });
});
