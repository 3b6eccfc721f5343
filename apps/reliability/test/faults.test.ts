import { execFile, spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Host, isMcError } from "@mc/core";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { layout, type PrivateTmux, privateTmux } from "../../../packages/tmux/test/harness.js";
import { BIN, delay, filesUnder, type Ran, recordFigures, requireCli, sessions } from "./support.js";

const figures: Record<string, unknown> = {};
let t: PrivateTmux;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  requireCli();
  t = privateTmux();
  env = { ...t.env, NO_COLOR: "1" };
});
afterAll(async () => {
  t.stop();
  await recordFigures("faults", figures);
});

interface LsRow {
  run: string;
  session: string;
  live: boolean;
  /** Killed or replaced sessions stay listed (with their logs) until pruned. */
  ended?: { at: string; by: string };
}

async function lsJson(
  e: NodeJS.ProcessEnv = env,
): Promise<{ runs: LsRow[]; corrupt: { path: string; error: string }[] }> {
  const r = await sessions(["ls", "--json"], e, t.work);
  const doc = JSON.parse(r.stdout);
  // A record it could not read is exit 9, as for status (review H65-5).
  expect(r.code, r.stderr).toBe(doc.corrupt?.length ? 9 : 0);
  return doc;
}

/** Until no process of group `pgid` is left (up to 30 s, then the test's own checks say what is left). */
async function groupGone(pgid: number): Promise<void> {
  for (const until = Date.now() + 30_000; Date.now() < until; await delay(50)) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
  }
}

function layoutsFile(name: string, names: string[], command = "sleep 120"): string {
  const file = join(t.dir, name);
  writeFileSync(
    file,
    JSON.stringify({
      version: "0.1",
      layouts: names.map((layoutName) => ({
        layoutName,
        layoutTabs: [{ tabName: "t", startDir: t.work, command }],
      })),
    }),
  );
  return file;
}

/** Whether this machine lets us make private mounts (read-only bind, tiny tmpfs) for real EROFS/ENOSPC. */
function canMount(): boolean {
  const probe = join(t.dir, "mount-probe");
  mkdirSync(probe, { recursive: true });
  const r = spawnSync("unshare", ["-m", "sh", "-c", `mount -t tmpfs -o size=4k tmpfs '${probe}'`], {
    stdio: "ignore",
  });
  return r.status === 0;
}

/** Run the CLI inside a private mount namespace after `setup` (sh) has prepared the mounts. */
function sessionsInNamespace(setup: string, args: string[], e: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolve) => {
    const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
    execFile(
      "unshare",
      ["-m", "sh", "-c", `${setup} && exec ${quoted}`],
      { env: e, cwd: t.work, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("faults: interrupted launches", () => {
  it("SIGINT, SIGTERM and SIGHUP at random points: every session mc started is rolled back or recorded, never orphaned", async () => {
    const started = performance.now();
    const trials = 15;
    const outcomes: {
      signal: string;
      delayMs: number;
      code: number | null;
      live: number;
      recorded: number;
    }[] = [];
    const problems: string[] = [];
    for (let trial = 0; trial < trials; trial++) {
      const names = Array.from({ length: 8 }, (_, i) => `sig${trial}-${i}`);
      const file = layoutsFile(`sig${trial}.json`, names);
      // SIGHUP: the terminal closed, or the ssh connection to this machine dropped.
      const signal = (["SIGINT", "SIGTERM", "SIGHUP"] as const)[trial % 3]!;
      // Node starts in ~150 ms and the launch takes ~1 s: the delay lands before, during and after it.
      const delayMs = Math.round(Math.random() * 1400);
      const child = execFile(
        process.execPath,
        [BIN, "run", file, "--socket", t.socket, "--sleep-inbetween", "0.05"],
        {
          env,
          cwd: t.work,
        },
      );
      let stderr = "";
      child.stderr!.on("data", (d) => {
        stderr += String(d);
      });
      const exited = new Promise<number | null>((resolve) =>
        child.on("exit", (c, s) => resolve(c ?? (s ? 128 : null))),
      );
      await delay(delayMs);
      child.kill(signal);
      const code = await exited;
      const live = t.sessions().filter((s) => s.startsWith(`sig${trial}-`));
      const recorded = (await lsJson()).runs.filter((r) => r.session.startsWith(`sig${trial}-`));
      for (const s of live) {
        if (!recorded.some((r) => r.session === s && r.live))
          problems.push(`trial ${trial} (${signal} at ${delayMs} ms): ${s} orphaned`);
      }
      if (t.sessions().some((s) => s.startsWith("mc-build-")))
        problems.push(`trial ${trial}: a half-built session is left`);
      if (code === 1) problems.push(`trial ${trial}: exit 1: ${stderr}`);
      outcomes.push({ signal, delayMs, code, live: live.length, recorded: recorded.length });
      await sessions(["kill", "--all"], env, t.work);
    }
    figures.signals = {
      trials,
      rolledBackCompletely: outcomes.filter((o) => o.live === 0).length,
      finishedBeforeSignal: outcomes.filter((o) => o.live === 8).length,
      partial: outcomes.filter((o) => o.live > 0 && o.live < 8).length,
      exitCodes: outcomes.map((o) => o.code),
      problems,
      ms: Math.round(performance.now() - started),
    };
    expect(problems).toEqual([]);
    expect(t.sessions()).toEqual(["keeper"]);
  }, 120_000);
});

describe("faults: a launch killed outright", () => {
  it("SIGKILL at random points of restarts: whatever is left on the server is in mc's records, and kill --all ends it", async () => {
    const started = performance.now();
    // Its own state directory: a run killed while it writes a record leaves its temporary file (by design:
    // the record is whole or absent), which the next tests' exact listings of the shared one would find.
    const kenv = { ...env, MC_STATE_DIR: join(t.dir, "state-sigkill") };
    // A failure here must not leave sessions for the next tests to find.
    onTestFinished(() => {
      for (const x of t.sessions().filter((n) => n !== "keeper")) t.tmux("kill-session", "-t", `=${x}`);
    });
    const mark = `k${process.pid}`;
    const file = join(t.dir, "sigkill.json");
    const tabs = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        tabName: `t${i}`,
        startDir: t.work,
        command: `sleep 120 # ${mark}`,
      }));
    writeFileSync(
      file,
      JSON.stringify({
        version: "0.1",
        layouts: [
          { layoutName: "kbig", layoutTabs: tabs(12) },
          { layoutName: "ksmall", layoutTabs: tabs(3) },
        ],
      }),
    );
    const trials = 12;
    const problems: string[] = [];
    const left: number[] = [];
    for (let trial = 0; trial < trials; trial++) {
      const child = spawn(
        process.execPath,
        [BIN, "run", file, "--socket", t.socket, "--on-conflict", "restart"],
        // Its own process group: the tmux clients it started outlive its SIGKILL, and are waited for.
        { env: kenv, cwd: t.work, detached: true, stdio: "ignore" },
      );
      const exited = new Promise((resolve) => child.on("exit", resolve));
      // Node starts in ~150 ms and the launch of both sessions takes a few hundred more.
      await delay(100 + Math.round(Math.random() * 700));
      child.kill("SIGKILL");
      await exited;
      // A build the killed run handed to tmux may still be finishing in the server: until its clients end.
      await groupGone(child.pid!);
      const ours = t.sessions().filter((x) => x !== "keeper");
      left.push(ours.length);
      const runs = new Set((await lsJson(kenv)).runs.filter((r) => r.live).map((r) => r.run));
      for (const x of ours) {
        const run = t.tmux("display-message", "-p", "-t", `=${x}:`, "#{@mc_run}").trim();
        if (!runs.has(run)) problems.push(`trial ${trial}: ${x} (run ${run}) is in no record`);
      }
    }
    const k = await sessions(["kill", "--all"], kenv, t.work);
    expect(k.code, k.stderr).toBe(0);
    const after = t.sessions();
    const procs = spawnSync("pgrep", ["-f", `sleep 120 # ${mark}`], { encoding: "utf8" }).stdout.trim();
    figures.sigkill = {
      trials,
      sessionsLeftPerTrial: left,
      problems,
      ms: Math.round(performance.now() - started),
    };
    expect(problems).toEqual([]);
    // The next start rolls back what a dead run left `starting`: per name at most the session that has it
    // and the last killed run's, never one per killed run.
    expect(Math.max(...left)).toBeLessThanOrEqual(4);
    expect(after).toEqual(["keeper"]);
    expect(procs).toBe("");
  }, 120_000);
});

describe("faults: the state directory cannot be written", () => {
  it("a file where the state directory should be: a clear error, nothing started", async () => {
    const stateFile = join(t.dir, "state-is-a-file");
    writeFileSync(stateFile, "not a directory\n");
    const file = layoutsFile("nodir.json", ["nodir-a", "nodir-b"]);
    const r = await sessions(
      ["run", file, "--socket", t.socket],
      { ...env, MC_STATE_DIR: stateFile },
      t.work,
    );
    figures.stateIsAFile = { code: r.code, stderr: r.stderr.trim() };
    expect(t.sessions()).toEqual(["keeper"]);
    expect(r.code).toBe(9);
    expect(r.stderr).toContain(stateFile);
    expect(r.stderr).not.toContain("this is a bug in mc");
  });

  it("read-only (EROFS, private read-only bind mount) and full (ENOSPC, 16 KiB tmpfs): a clear error, nothing started", async () => {
    if (!canMount()) {
      console.warn(
        "faults: cannot make private mounts here (unshare -m / mount refused); the Host-level EROFS/ENOSPC test below still runs",
      );
      figures.realMounts = "unavailable";
      return;
    }
    const results: Record<string, { code: number; stderr: string; sessionsAfter: string[] }> = {};
    for (const [kind, setup] of [
      [
        "EROFS",
        (d: string) => `mkdir -p '${d}' && mount --bind '${d}' '${d}' && mount -o remount,ro,bind '${d}'`,
      ],
      [
        "ENOSPC",
        (d: string) =>
          `mkdir -p '${d}' && mount -t tmpfs -o size=16k tmpfs '${d}' && (head -c 1000000 /dev/zero > '${d}/fill' || true)`,
      ],
    ] as const) {
      const stateDir = join(t.dir, `state-${kind}`);
      mkdirSync(stateDir, { recursive: true });
      const file = layoutsFile(`${kind}.json`, [`${kind}-a`, `${kind}-b`]);
      const r = await sessionsInNamespace(setup(stateDir), ["run", file, "--socket", t.socket], {
        ...env,
        MC_STATE_DIR: stateDir,
      });
      results[kind] = { code: r.code, stderr: r.stderr.trim(), sessionsAfter: t.sessions() };
    }
    figures.realMounts = results;
    for (const [kind, r] of Object.entries(results)) {
      expect(r.sessionsAfter, kind).toEqual(["keeper"]);
      expect(r.stderr, kind).not.toContain("this is a bug in mc");
      expect(r.stderr, kind).toMatch(kind === "EROFS" ? /read-only|EROFS/i : /no space|ENOSPC/i);
      expect(r.code, kind).toBe(9);
    }
  });

  it("EROFS / ENOSPC from writeFile in the middle of a launch: the started sessions are rolled back, the error names the cause", async () => {
    for (const code of ["EROFS", "ENOSPC"]) {
      // Session 1's artefacts and run record are written; session 2's first artefact fails.
      const failing: Host = {
        ...t.host,
        writeFile: async (path, data, o) => {
          if (/\/s1\/[^/]+$/.test(path))
            throw Object.assign(new Error(`${code}: simulated, write '${path}'`), { code });
          return t.host.writeFile(path, data, o);
        },
      };
      const m = t.manager({
        sessionLayouts: [
          layout(`${code}1`, [["t", "sleep 60"]], t.work),
          layout(`${code}2`, [["t", "sleep 60"]], t.work),
        ],
        host: failing,
      });
      const err = await m.startAllSessions().catch((e) => e);
      expect(isMcError(err, "START_FAILED"), String(err)).toBe(true);
      expect(err.message).toContain(code);
      expect(err.hint).toBe("rolled back 1 of 1 session(s) this run had started");
      expect(t.sessions()).toEqual(["keeper"]);
    }
  });
});

describe("faults: damaged state files", () => {
  it("truncated and corrupt run files are reported by ls and status, and the other runs keep working", async () => {
    const file = layoutsFile("good.json", ["good-a", "good-b"]);
    const run = await sessions(["run", file, "--socket", t.socket], env, t.work);
    expect(run.code, run.stderr).toBe(0);
    const dir = join(t.stateDir, "managers", "TmuxLocalManager");
    const good = readdirSync(dir).find((f) => f.endsWith(".json"))!;
    const text = readFileSync(join(dir, good), "utf8");
    writeFileSync(join(dir, "20260101-000000-aaaaaa.json"), text.slice(0, Math.floor(text.length / 2)));
    writeFileSync(join(dir, "20260101-000000-bbbbbb.json"), "\u0000\u0001garbage{{{");
    writeFileSync(join(dir, "20260101-000000-cccccc.json"), JSON.stringify({ v: 2, id: "x" }));
    writeFileSync(join(dir, "20260101-000000-dddddd.json"), "");

    const ls = await lsJson();
    // Sessions the earlier tests killed are listed as ended; the managed ones are the two good ones.
    expect(
      ls.runs.filter((r) => !r.ended && r.session.startsWith("good-")).map((r) => [r.session, r.live]),
    ).toEqual([
      ["good-a", true],
      ["good-b", true],
    ]);
    expect(ls.corrupt.map((c) => c.path.split("/").pop()).sort()).toEqual([
      "20260101-000000-aaaaaa.json",
      "20260101-000000-bbbbbb.json",
      "20260101-000000-cccccc.json",
      "20260101-000000-dddddd.json",
    ]);
    for (const c of ls.corrupt) expect(c.error).toMatch(/is not valid JSON|is not an mc run record/);

    // The readable runs are shown; the report is not all mc manages, which the exit says (9), as kill --all
    // and wait do, and --json names the records (review H55-2: exit 0, and nothing in the JSON).
    const status = await sessions(["status"], env, t.work);
    expect(status.code).toBe(9);
    expect(status.stdout).toMatch(/good-a\s+\S+\s+t\s+running/);
    expect(status.stderr).toContain("skipped unreadable run record");
    const statusJson = await sessions(["status", "--json"], env, t.work);
    expect(statusJson.code).toBe(9);
    const doc = JSON.parse(statusJson.stdout);
    expect(doc.sessions.map((s: { session: string }) => s.session)).toEqual(["good-a", "good-b"]);
    expect(doc.unreadable.map((c: { path: string }) => c.path.split("/").pop()).sort()).toEqual(
      ls.corrupt.map((c) => c.path.split("/").pop()).sort(),
    );
    // A session asked for by name was found: another run's damaged record does not change that.
    const named = await sessions(["status", "good-a", "--json"], env, t.work);
    expect(named.code, named.stderr).toBe(0);
    expect(JSON.parse(named.stdout).unreadable).toBeUndefined();
    // events without names says which records it could not read.
    const events = await sessions(["events"], env, t.work);
    expect(events.code).toBe(0);
    expect(
      events.stderr.match(/skipped unreadable run record .*: its sessions' events are not shown/g),
    ).toHaveLength(4);

    const kill = await sessions(["kill", "--all"], env, t.work);
    // Every readable run's sessions are killed; the unreadable records are named, and the exit says that
    // not everything mc may have started was reached (hostile review 9, H9-6: it said nothing, exit 0).
    expect(kill.code, kill.stderr).toBe(9);
    expect(
      kill.stderr.match(
        /skipped run record .*, which could not be read .*: the sessions it records, if any still run, were not killed/g,
      ),
    ).toHaveLength(4);
    expect(t.sessions()).toEqual(["keeper"]);
    const after = await lsJson();
    expect(after.runs.filter((r) => !r.ended && r.session.startsWith("good-"))).toEqual([]);
    // (In either order: kill ends several sessions at once.)
    expect(
      after.runs
        .filter((r) => r.session.startsWith("good-"))
        .map((r) => [r.session, r.ended?.by])
        .sort(),
    ).toEqual([
      ["good-a", "killed"],
      ["good-b", "killed"],
    ]);
    // The damaged files are left for the user to inspect until they prune.
    const damaged = [
      "20260101-000000-aaaaaa.json",
      "20260101-000000-bbbbbb.json",
      "20260101-000000-cccccc.json",
      "20260101-000000-dddddd.json",
    ];
    for (const f of damaged) expect(filesUnder(dir)).toContain(f);
    // A newer mc's record (after a downgrade) may hold live sessions: never pruned (review H10-6).
    const newer = "20261231-000000-eeeeee.json";
    writeFileSync(join(dir, newer), JSON.stringify({ v: 99, id: "20261231-000000-eeeeee", sessions: [] }));
    expect((await sessions(["kill", "--all"], env, t.work)).stderr).toContain(
      `skipped run record ${join(dir, newer)}, which could not be read`,
    );
    // `ls --prune` removes the ended sessions' records and the unreadable files; nothing else remains.
    const prune = await sessions(["ls", "--prune"], env, t.work);
    // The newer mc's record stays, and is still one it cannot read: 9 (review H65-5).
    expect(prune.code, prune.stderr).toBe(9);
    for (const f of damaged) expect(prune.stderr).toContain(`removed unreadable run record ${join(dir, f)}`);
    expect(prune.stderr).toMatch(
      /skipped unreadable run record .*eeeeee\.json: .*was written by a newer mc \(record version 99\)/,
    );
    expect(filesUnder(dir)).toEqual([newer]);
    expect((await lsJson()).runs).toEqual([]);
    figures.corruptStateFiles = ls.corrupt.length;
  });
});
