import { type ChildProcess, spawn } from "node:child_process";
import {
  accessSync,
  constants,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { localHost } from "../src/local-host.js";
import { sleep } from "../src/poll.js";
import type { ManagedSession } from "../src/run-record.js";
import { killAndSweep, sweepTabs, tabsLeftRunning, tabTerminalSessions } from "../src/tab-sweep.js";
import { TAB_MARKER_VAR, tabMarker } from "../src/tab-wrapper.js";

const root = mkdtempSync(join(tmpdir(), "mc-sweep-"));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

const session: ManagedSession = {
  machine: "local",
  name: "sw",
  requestedName: "sw",
  layout: { layoutName: "sw", layoutTabs: [{ tabName: "t", startDir: root, command: "true" }] },
  runDir: join(root, "runs", "r1", "s0"),
  artefacts: [],
  startedAt: Date.now(),
};
const marker = `${TAB_MARKER_VAR}=${tabMarker(session.runDir, 0)}`;

/** A detached process carrying the tab's marker (as a tab's `setsid cmd &` leaves one). */
function marked(script: string): ChildProcess {
  const [k, v] = [marker.slice(0, marker.indexOf("=")), marker.slice(marker.indexOf("=") + 1)];
  const c = spawn("/bin/sh", ["-c", script], {
    env: { ...process.env, [k]: v },
    detached: true,
    stdio: "ignore",
  });
  children.push(c);
  return c;
}

const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

/** The pid of the child of `parent` whose command line is `argv`, once it exists. */
async function childOf(parent: number, argv: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const kids = readFileSync(`/proc/${parent}/task/${parent}/children`, "utf8").trim().split(" ");
    for (const k of kids.filter(Boolean)) {
      const cmd = (() => {
        try {
          return readFileSync(`/proc/${k}/cmdline`, "utf8").split("\0").join(" ").trim();
        } catch {
          return "";
        }
      })();
      if (cmd === argv) return Number(k);
    }
    await sleep(50);
  }
  throw new Error(`no child ${argv} of ${parent}`);
}

/** The process (carrying this test's marker) whose command line is `argv`. */
function byArgv(argv: string): number | undefined {
  for (const e of readdirSync("/proc").filter((x) => /^\d+$/.test(x)))
    try {
      if (
        readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0").join(" ").trim() === argv &&
        readFileSync(`/proc/${e}/environ`, "utf8").split("\0").includes(marker)
      )
        return Number(e);
    } catch {}
  return undefined;
}

describe.runIf(process.platform === "linux")("sweep of an ended session's leftovers", () => {
  it("with the time it ended: what started since, not below an older process of the tab's, is left alone (review H42-4)", async () => {
    // Left by the tab before the session ended: a loop that starts a new command after the end.
    // …and one that double-forks after the end: its child's parent is gone, its terminal session the
    // leftover's (review H45-1: it was spared, and ran on with no record left to find it).
    const old = marked("sleep 1.2; (sleep 303 &); sleep 301");
    await sleep(600);
    const endedAt = Date.now();
    await sleep(1000);
    // Given a copy of the marker after the session ended: not the tab's.
    const copied = marked("exec sleep 302");
    const late = await childOf(old.pid!, "sleep 301");
    const orphan = byArgv("sleep 303");
    expect(orphan).toBeDefined();
    await sleep(200);
    const r = await sweepTabs(localHost(), session, "", undefined, Date.now() - endedAt);
    expect(r.supported).toBe(true);
    expect(r.ended.sort()).toEqual([old.pid!, late, orphan!].sort());
    expect(alive(orphan!)).toBe(false);
    expect(alive(old.pid!)).toBe(false);
    expect(alive(late)).toBe(false);
    expect(alive(copied.pid!)).toBe(true);
    // Without the time (a kill of a live session), every process with the marker is the tab's.
    const all = await sweepTabs(localHost(), session);
    expect(all.ended).toEqual([copied.pid!]);
    expect(alive(copied.pid!)).toBe(false);
  });
});

/** Whether this process may set the next pid (root: /proc/sys/kernel/ns_last_pid), to make a pid reused. */
const canSetPid = (() => {
  try {
    accessSync("/proc/sys/kernel/ns_last_pid", constants.W_OK);
    return true;
  } catch {
    return false;
  }
})();

/** A detached process (a session of its own, as a tmux pane's shell is) that gets exactly `pid`, or undefined. */
async function strangerWithPid(pid: number): Promise<ChildProcess | undefined> {
  for (let i = 0; i < 50; i++) {
    writeFileSync("/proc/sys/kernel/ns_last_pid", String(pid - 1));
    const c = spawn("sleep", ["306"], { detached: true, stdio: "ignore" });
    children.push(c);
    if (c.pid === pid) return c;
    c.kill("SIGKILL");
    await sleep(10);
  }
  return undefined;
}

describe.runIf(process.platform === "linux" && canSetPid)(
  "a kill's terminal sessions, taken before it",
  () => {
    it("a session id reused by another process after the tab's session ended is not the tab's (HR78: pids wrap)", async () => {
      const tab = marked("exec sleep 300");
      await sleep(300);
      const sids = await tabTerminalSessions(localHost(), session);
      expect(sids.split(" ")).toContain(String(tab.pid));
      // The kill: the tab's session ends, and its number goes to another program's new session.
      const gone = new Promise((r) => tab.once("exit", r));
      tab.kill("SIGKILL");
      await gone;
      const stranger = await strangerWithPid(tab.pid!);
      expect(stranger, "could not make the pid reused").toBeDefined();
      const r = await sweepTabs(localHost(), session, sids);
      expect(r.ended).toEqual([]);
      expect(alive(stranger!.pid!)).toBe(true);
    });

    it("one that left the marker (env -i) in the tab's terminal session after the ids were taken is still the tab's", async () => {
      const tab = marked("sleep 1; env -i sleep 307 & wait");
      await sleep(300);
      const sids = await tabTerminalSessions(localHost(), session);
      const child = await childOf(tab.pid!, "sleep 307");
      const r = await sweepTabs(localHost(), session, sids);
      expect(r.ended.sort()).toEqual([tab.pid!, child].sort());
      expect(alive(child)).toBe(false);
    });
  },
);

describe.runIf(process.platform === "linux")(
  "a kill's terminal sessions, kept while anything is left in them",
  () => {
    it("one started during the kill that left the marker and lost its parent is still the tab's (review H79-1)", async () => {
      // The tab's shell starts a marker-less child after the ids were taken, and leaves: the child is alone in
      // the tab's terminal session, whose number cannot be given out while it is there.
      const tab = marked("sleep 1; env -i sleep 312 & exit 0");
      await sleep(300);
      const sids = await tabTerminalSessions(localHost(), session);
      expect(sids.split(" ")).toContain(String(tab.pid));
      await new Promise((r) => tab.once("exit", r));
      await sleep(200);
      const child = readdirSync("/proc")
        .filter((x) => /^\d+$/.test(x))
        .map(Number)
        .find((p) => {
          try {
            return (
              readFileSync(`/proc/${p}/cmdline`, "utf8") === "sleep\u0000312\u0000" &&
              readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1]!.split(" ")[3] === String(tab.pid)
            );
          } catch {
            return false;
          }
        });
      expect(child).toBeDefined();
      const r = await sweepTabs(localHost(), session, sids);
      expect(r.ended).toEqual([child!]);
      expect(alive(child!)).toBe(false);
    });
  },
);

describe.runIf(process.platform === "linux")(
  "what ended sessions left running, asked of many at once",
  () => {
    it("one look at the machine answers every session asked since it began (review H78-1: one each took 30 s for 100)", async () => {
      const host = localHost();
      let looks = 0;
      const run = host.run.bind(host);
      host.run = (cmd, o) => {
        if (cmd.args?.includes("mc-sweep")) looks++;
        return run(cmd, o);
      };
      const others = [1, 2, 3].map((k) => ({
        ...session,
        name: `o${k}`,
        runDir: join(root, "runs", `o${k}`, "s0"),
      }));
      const left = marked("exec sleep 308");
      await sleep(300);
      const asked = performance.now();
      const answers = await Promise.all(
        [session, ...others].map((s) => tabsLeftRunning(host, s, [0], asked)),
      );
      expect(looks).toBe(1);
      expect(answers[0]).toEqual(new Map([[0, [left.pid!]]]));
      for (const a of answers.slice(1)) expect(a).toEqual(new Map());
      // A question from after that look is not answered by it: what it asks of may have started since.
      left.kill("SIGKILL");
      await new Promise((r) => left.once("exit", r));
      const later = marked("exec sleep 309");
      await sleep(300);
      expect(await tabsLeftRunning(host, session, [0], performance.now())).toEqual(
        new Map([[0, [later.pid!]]]),
      );
      expect(looks).toBe(2);
    });
  },
);

describe("a kill and the tool's lock", () => {
  it("the tool's kill waits for a start or merge that holds the tool's lock (review H46-1, H46-2)", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "mc-killlock-"));
    const host = localHost({ stateDir });
    const held = await host.lock("tmux-test");
    const steps: string[] = [];
    const backend = {
      lockName: "tmux-test",
      kill: async () => {
        steps.push("kill");
        return "killed" as const;
      },
    };
    const killing = killAndSweep(backend, host, { ...session, runDir: join(stateDir, "runs", "r", "s0") });
    await sleep(300);
    steps.push("released");
    await held();
    const r = await killing;
    expect(r).toMatchObject({ ok: true, outcome: "killed" });
    expect(steps).toEqual(["released", "kill"]);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("kills of one process share the tool's lock: they do not wait for each other (review H47-3)", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "mc-killlock2-"));
    const host = localHost({ stateDir });
    let inside = 0;
    let both = false;
    const backend = {
      lockName: "tmux-shared",
      // Each kill waits (up to 3 s) until the other is inside its tool kill too: with one lock each, the
      // second could only start after the first ended.
      kill: async () => {
        inside++;
        for (let i = 0; i < 60 && inside < 2; i++) await sleep(50);
        both ||= inside === 2;
        await sleep(50);
        inside--;
        return "killed" as const;
      },
    };
    const at = (n: string) => ({ ...session, name: n, runDir: join(stateDir, "runs", "r", n) });
    const rs = await Promise.all([
      killAndSweep(backend, host, at("a")),
      killAndSweep(backend, host, at("b")),
    ]);
    expect(rs.map((r) => r.ok)).toEqual([true, true]);
    expect(both).toBe(true);
    // Released once both are done: another holder takes it at once.
    const again = await host.lock("tmux-shared", 1000);
    await again();
    rmSync(stateDir, { recursive: true, force: true });
  });
});
