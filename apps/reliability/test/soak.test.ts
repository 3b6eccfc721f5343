import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { layout, type PrivateTmux, privateTmux, waitFor } from "../../../packages/tmux/test/harness.js";
import { filesUnder, liveProcessesMentioning, openFds, recordFigures } from "./support.js";

const CYCLES = Number(process.env.MC_RELIABILITY_SOAK_CYCLES ?? 200);
const figures: Record<string, unknown> = {};
let t: PrivateTmux;

beforeAll(() => {
  t = privateTmux();
});
afterAll(async () => {
  t.stop();
  await recordFigures("soak", figures);
});

/** Unix sockets below `dir`. */
function socketsUnder(dir: string): number {
  return filesUnderAll(dir).filter((p) => {
    try {
      return statSync(p).isSocket();
    } catch {
      return false;
    }
  }).length;
}

function filesUnderAll(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).map((p) => join(dir, p));
}

describe("soak: start / status / kill on one tmux server", () => {
  it(`${CYCLES} cycles leak no process, socket, file descriptor or state file`, async () => {
    const started = performance.now();
    // Warm up once so lazily opened handles (execa, /proc readers) are in the baseline.
    const warm = t.manager({ sessionLayouts: [layout("warm", [["t", "sleep 30"]], t.work)] });
    await warm.startAllSessions();
    const warmDir = warm.managed[0]!.runDir;
    await warm.checkAllSessionsStatus();
    await warm.killAllSessions();
    await warm.forgetEnded();
    // The baseline once the warm-up's tab and its hang-up traps have gone (they are counted otherwise).
    await waitFor(
      async () => liveProcessesMentioning(warmDir),
      (p) => p.length === 0,
      15_000,
    );
    const before = {
      processes: liveProcessesMentioning(t.dir).length,
      sockets: socketsUnder(t.dir),
      fds: openFds(),
      runFiles: filesUnder(join(t.stateDir, "managers")).length,
      stateFiles: filesUnder(t.stateDir).filter((f) => !f.startsWith("locks/")).length,
      sessions: t.sessions(),
    };
    let statusOk = 0;
    // Two lanes at once on the same server (their starts serialise on mc's host lock), half the cycles each.
    const lane = async (first: number) => {
      for (let i = first; i < CYCLES; i += 2) {
        const name = `soak${i}`;
        const m = t.manager({
          sessionLayouts: [
            layout(
              name,
              [
                ["a", "sleep 30"],
                ["b", "exit 3"],
              ],
              t.work,
            ),
          ],
        });
        await m.startAllSessions();
        const r = await m.checkAllSessionsStatus();
        if (r.sessions[0]?.exists && r.sessions[0].tabs.length === 2) statusOk++;
        const killed = await m.killAllSessions();
        expect(killed).toEqual([{ machine: "local", name, ok: true, outcome: "killed" }]);
        // A killed session is kept as ended (its logs outlive it) until `ls --prune` forgets it: what the
        // prune does must leave nothing behind, deleting the run when it is empty.
        expect(m.ended.map((e) => [e.name, e.endedBy])).toEqual([[name, "killed"]]);
        await m.forgetEnded();
      }
    };
    await Promise.all([lane(0), lane(1)]);
    // Tabs get SIGHUP when their session goes; give the last ones a moment to exit.
    const after = {
      processes: (
        await waitFor(
          async () => liveProcessesMentioning(t.dir),
          (p) => p.length <= before.processes,
          15_000,
        )
      ).length,
      sockets: socketsUnder(t.dir),
      fds: openFds(),
      runFiles: filesUnder(join(t.stateDir, "managers")).length,
      stateFiles: filesUnder(t.stateDir).filter((f) => !f.startsWith("locks/")).length,
      sessions: t.sessions(),
    };
    figures.cycles = CYCLES;
    figures.statusFoundSession = statusOk;
    figures.before = { ...before, sessions: before.sessions.length };
    figures.after = { ...after, sessions: after.sessions.length };
    figures.ms = Math.round(performance.now() - started);
    expect(statusOk).toBe(CYCLES);
    expect(after.sessions).toEqual(before.sessions);
    expect(after.processes).toBe(before.processes);
    expect(after.sockets).toBe(before.sockets);
    expect(after.fds).toBeLessThanOrEqual(before.fds);
    expect(after.runFiles).toBe(before.runFiles);
    // FINDING (core lifecycle.ts forget/deleteSaved): runs/<runId>/ (tab wrapper, build script, tab records)
    // is never removed when its run is forgotten, so every start leaves files behind for good.
    expect(after.stateFiles).toBe(before.stateFiles);
    // 49 s on CI's loaded machine: room to spare.
  }, 240_000);
});
