import { execFile, execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTabRecord, type TabRecord } from "../src/tab-record.js";
import { decideTabState } from "../src/tab-state.js";
import {
  commandFiles,
  posixTabScript,
  TAB_MARKER_VAR,
  tabMarker,
  type WrappedTab,
} from "../src/tab-wrapper.js";

/** What the record alone says (the pane is gone and the wrapper process too). */
const recordOutcome = (record: TabRecord) =>
  decideTabState({ scheduled: true, record, process: "dead", unreachable: false });

/** The events a run directory's tabs wrote, parsed (none when there is no events file). */
async function eventsIn(runDir: string): Promise<Record<string, unknown>[]> {
  const file = join(runDir, "events.ndjson");
  if (!existsSync(file)) return [];
  return (await readFile(file, "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

/** Wait (5 s at most) until the run directory's events include one of `type`. */
/** Until `ok()` (up to 30 s: a loaded machine runs shells late; the test's own checks then say what is wrong). */
async function until(ok: () => boolean | Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 30_000; !(await ok()) && Date.now() < deadline; )
    await new Promise((r) => setTimeout(r, 20));
}

/** Whether a process of group `pgid` has a command line containing `text` (any process, without `text`). */
function inGroup(pgid: number, text?: string): boolean {
  return readdirSync("/proc").some((p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1]!.split(" ");
      if (Number(stat[2]) !== pgid || stat[0] === "Z") return false;
      return (
        text === undefined || readFileSync(`/proc/${p}/cmdline`, "utf8").replace(/\0/g, " ").includes(text)
      );
    } catch {
      return false;
    }
  });
}

async function untilEvent(runDir: string, type: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await eventsIn(runDir).catch(() => [])).some((e) => e.type === type) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
}

const run = promisify(execFile);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mc-outcome-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function runTab(
  command: string,
  index = 0,
  startDir = dir,
  shell = "/bin/sh",
  more: Partial<WrappedTab> = {},
  runDir = join(dir, `run${index}`),
) {
  const script = join(dir, `s${index}.sh`);
  await mkdir(runDir, { recursive: true });
  const tabs = [{ index, tabName: "t", command, startDir, ...more }];
  await writeFile(script, posixTabScript({ title: "test", session: "S", runDir, tabs, keepShell: false }));
  // The command files come with the artefacts (mode 0600), as every backend writes them.
  for (const f of commandFiles(runDir, tabs)) await writeFile(f.path, f.content, { mode: 0o600 });
  // Each call is a fresh start (as a new run's is): a final record would make the wrapper refuse.
  await rm(join(runDir, `tab-${index}.json`), { force: true });
  const r = await run("/bin/sh", [script, String(index)], {
    env: { ...process.env, SHELL: shell },
  }).catch((e) => e);
  const rec = parseTabRecord(await readFile(join(runDir, `tab-${index}.json`), "utf8"));
  return { r, rec, runDir };
}

/**
 * One tab's wrapper started in its own process group, as a tab's is (so the group can be hung up as a
 * closing tab's would be), from a script and run directory named `name`.
 */
async function startInGroup(name: string, tab: WrappedTab) {
  const script = join(dir, `${name}.sh`);
  const runDir = join(dir, name);
  await mkdir(runDir, { recursive: true });
  await writeFile(
    script,
    posixTabScript({ title: "t", session: "S", runDir, tabs: [tab], keepShell: false }),
  );
  for (const f of commandFiles(runDir, [tab])) await writeFile(f.path, f.content, { mode: 0o600 });
  const { spawn } = await import("node:child_process");
  const child = spawn("/bin/sh", [script, String(tab.index)], {
    env: { ...process.env, SHELL: "/bin/sh" },
    detached: true,
    stdio: "ignore",
  });
  return { child, runDir, script };
}

describe("posix tab wrapper", () => {
  it("records start, end and exit code", async () => {
    const { rec } = await runTab("echo hi; exit 3");
    expect(rec).toMatchObject({ v: 1, exit: 3 });
    expect(rec!.end).toBeGreaterThanOrEqual(rec!.start);
    expect(recordOutcome(rec!)).toMatchObject({ state: "exited", exitCode: 3 });
  });

  it("runs pipes, && and env assignments through the shell", async () => {
    const out = join(dir, "pipe.txt");
    await runTab(`FOO=bar sh -c 'echo $FOO' | tr a-z A-Z > '${out}' && echo ok >> '${out}'`, 1);
    expect(await readFile(out, "utf8")).toBe("BAR\nok\n");
  });

  it("reports 128+N as death by signal N", async () => {
    const { rec } = await runTab("kill -TERM $$", 2);
    expect(recordOutcome(rec!)).toMatchObject({ state: "killed", signal: "SIGTERM", exitCode: 143 });
  });

  it("a command that signals its own parent ends its attempt with its own status, not the tab's: no final record from the signal (reviews H12-1, H15-6)", async () => {
    for (const sig of ["TERM", "HUP"]) {
      const flag = join(dir, `parent-${sig}`);
      const cmd = `if [ ! -e '${flag}' ]; then touch '${flag}'; kill -${sig} $PPID; exit 1; fi; echo ok`;
      const idx = sig === "TERM" ? 30 : 31;
      const { rec, runDir } = await runTab(cmd, idx, dir, "/bin/sh", { retry: { max: 1 } });
      expect(rec).toMatchObject({ exit: 0, attempt: 2 });
      const events = await eventsIn(runDir);
      // One end, the tab's own; the signalled attempt is a retry with the command's status, never a "tab-killed".
      expect(events.map((e) => [e.type, e.attempt ?? null, e.exitCode ?? null])).toEqual([
        ["tab-started", 1, null],
        ["tab-retried", 2, 1],
        ["tab-exited", null, 0],
      ]);
    }
    // Without a retry, the record is the command's own end: a success stays one, a failure its code.
    for (const [cmd, code, idx] of [
      ["kill -TERM $PPID; exit 1", 1, 32],
      ["kill -HUP $PPID; echo done; exit 0", 0, 33],
      ["kill $PPID; sleep 0.2; exit 3", 3, 34],
    ] as const) {
      const { rec, runDir } = await runTab(cmd, idx);
      expect(recordOutcome(rec!), cmd).toMatchObject({ state: "exited", exitCode: code });
      const types = (await eventsIn(runDir)).map((e) => e.type);
      expect(types).toEqual(["tab-started", "tab-exited"]);
    }
  });

  it("runs the command in its start directory, and never elsewhere when that cannot be entered", async () => {
    const here = join(dir, "a dir 'quoted'");
    await mkdir(here);
    const out = join(dir, "pwd.txt");
    await runTab(`pwd > '${out}'`, 4, here);
    expect((await readFile(out, "utf8")).trim()).toBe(here);
    const marker = join(dir, "ran.txt");
    for (const [i, bad] of [
      [5, join(dir, "missing")],
      [6, out],
    ] as const) {
      const { rec } = await runTab(`touch '${marker}'`, i, bad);
      expect(rec).toMatchObject({ exit: 126, error: "startDir" });
      expect(recordOutcome(rec!)).toMatchObject({
        state: "exited",
        exitCode: 126,
        error: expect.stringContaining("start directory"),
      });
    }
    const locked = join(dir, "locked");
    await mkdir(locked, { mode: 0o000 });
    if (process.getuid?.() !== 0) {
      const { rec } = await runTab(`touch '${marker}'`, 7, locked);
      expect(rec).toMatchObject({ exit: 126, error: "startDir" });
    }
    await expect(readFile(marker)).rejects.toThrow();
  });

  it("retries a failing command, records every attempt, and writes the events of the tab", async () => {
    const count = join(dir, "count");
    // Fails twice, then succeeds: attempt 3 of at most 1 + 3.
    const cmd = `n=$(cat '${count}' 2>/dev/null || echo 0); n=$((n + 1)); echo $n > '${count}'; [ $n -ge 3 ]`;
    const { r, rec, runDir } = await runTab(cmd, 20, dir, "/bin/sh", { retry: { max: 3 } });
    expect(rec).toMatchObject({ exit: 0, attempt: 3 });
    // Said in the tab too (a readiness pattern counts what follows the last: review H37-6).
    expect(r.stderr).toContain("mc: retrying, attempt 2 (exit 1)\nmc: retrying, attempt 3 (exit 1)\n");
    expect(recordOutcome(rec!)).toMatchObject({ state: "exited", exitCode: 0, attempt: 3 });
    const events = await eventsIn(runDir);
    expect(events.map((e) => [e.type, e.attempt ?? null, e.exitCode ?? null])).toEqual([
      ["tab-started", 1, null],
      ["tab-retried", 2, 1],
      ["tab-retried", 3, 1],
      ["tab-exited", null, 0],
    ]);
    expect(
      events.every((e) => e.session === "S" && e.tab === "t" && e.index === 20 && Number.isFinite(e.t)),
    ).toBe(true);
    // Out of retries, the last failure is the outcome.
    const gaveUp = await runTab("exit 7", 21, dir, "/bin/sh", { retry: { max: 1 } });
    expect(gaveUp.rec).toMatchObject({ exit: 7, attempt: 2 });
  });

  it("times are to the millisecond with GNU date, and whole seconds with a date that has no %N (macOS)", async () => {
    const gnu = await runTab("exit 0", 30);
    // JSON drops trailing zeros: 1796432666.490 reads as 1796432666.49.
    expect(String(gnu.rec!.start)).toMatch(/^\d{10}(\.\d{1,3})?$/);
    const bin = join(dir, "bsd-bin");
    await mkdir(bin);
    // BSD date prints an unknown conversion as the letter itself.
    await writeFile(
      join(bin, "date"),
      `#!/bin/sh\ncase "$1" in *%N*) echo 1700000000.N ;; *) echo 1700000000 ;; esac\n`,
      {
        mode: 0o755,
      },
    );
    const script = join(dir, "bsd.sh");
    const runDir = join(dir, "bsd");
    await mkdir(runDir);
    const tabs = [{ index: 0, tabName: "t", command: "exit 0", startDir: dir }];
    await writeFile(script, posixTabScript({ title: "t", runDir, tabs, keepShell: false }));
    for (const f of commandFiles(runDir, tabs)) await writeFile(f.path, f.content, { mode: 0o600 });
    await run("/bin/sh", [script, "0"], {
      env: { ...process.env, SHELL: "/bin/sh", PATH: `${bin}:${process.env.PATH}` },
    });
    expect(parseTabRecord(await readFile(join(runDir, "tab-0.json"), "utf8"))).toMatchObject({
      start: 1700000000,
      end: 1700000000,
      exit: 0,
    });
  });

  it("tells the time without a date process: one date per run directory and boot, bash's clock, a stale or damaged clock file", async () => {
    const bin = join(dir, "counting-bin");
    const calls = join(dir, "date-calls");
    await mkdir(bin);
    // A date that counts its calls, then answers as the real one does.
    await writeFile(join(bin, "date"), `#!/bin/sh\necho x >> '${calls}'\nexec /bin/date "$@"\n`, {
      mode: 0o755,
    });
    const env = { ...process.env, SHELL: "/bin/sh", PATH: `${bin}:${process.env.PATH}` };
    const script = join(dir, "clock.sh");
    const runDir = join(dir, "clock");
    await mkdir(runDir);
    const tabs = [0, 1, 2].map((index) => ({ index, tabName: "t", command: "sleep 0.05", startDir: dir }));
    await writeFile(script, posixTabScript({ title: "t", runDir, tabs, keepShell: false }));
    for (const f of commandFiles(runDir, tabs)) await writeFile(f.path, f.content, { mode: 0o600 });
    const dateCalls = () => (existsSync(calls) ? readFileSync(calls, "utf8").split("\n").length - 1 : 0);
    const tab = async (i: number, shell = "/bin/sh") => {
      const before = Date.now() / 1000;
      await rm(join(runDir, `tab-${i}.json`), { force: true });
      await run(shell, [script, String(i)], { env });
      const after = Date.now() / 1000;
      const rec = parseTabRecord(await readFile(join(runDir, `tab-${i}.json`), "utf8"))!;
      // /proc/uptime counts in 10 ms steps: the wrapper's times are within 20 ms of the true ones.
      expect(rec.start).toBeGreaterThanOrEqual(before - 0.02);
      expect(rec.end!).toBeLessThanOrEqual(after + 0.02);
      expect(rec.end! - rec.start).toBeGreaterThanOrEqual(0.03);
      expect(String(rec.start)).toMatch(/^\d{10}(\.\d{1,3})?$/);
      return rec;
    };
    const linux = existsSync("/proc/uptime") && existsSync("/proc/sys/kernel/random/boot_id");
    await tab(0);
    await tab(1);
    // The first tab of the run directory asked date once; every later time came from /proc/uptime.
    expect(dateCalls()).toBe(linux ? 1 : 4);
    if (!linux) return;
    const clock = join(runDir, "clock");
    const bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    expect(readFileSync(clock, "utf8")).toMatch(new RegExp(`^${bootId} \\d+ \\d+\n$`));
    const [good, at] = readFileSync(clock, "utf8").trim().split(" ").slice(1).map(Number) as [number, number];
    // bash has its own clock: no date at all, even with no clock file.
    if (existsSync("/bin/bash")) {
      await rm(clock);
      await tab(2, "/bin/bash");
      expect(dateCalls()).toBe(1);
      expect(existsSync(clock)).toBe(false);
    }
    // A clock file of another boot, an hour old, from the future, or not numbers, is never believed: date
    // is asked again (and a wrong offset there would put the times outside the bounds `tab` checks).
    for (const [i, content] of [
      [1, `another-boot ${good} ${at}\n`],
      [2, `${bootId} 17964x ${at}\n`],
      [0, `${bootId} 1 ${at - 360_001}\n`],
      [1, `${bootId} 1 ${at + 10_000_000}\n`],
      [2, `${bootId} 1\n`],
      [0, ""],
    ] as const) {
      await writeFile(clock, content);
      const n = dateCalls();
      await tab(i);
      expect(dateCalls(), content).toBe(n + 1);
      expect(readFileSync(clock, "utf8")).toMatch(new RegExp(`^${bootId} \\d+ \\d+\n$`));
    }
    // A fresh one is believed: no date.
    const n = dateCalls();
    await tab(0);
    expect(dateCalls()).toBe(n);
  });

  it("a FIFO where its clock file goes does not hold the tab (review H9-7)", async () => {
    const script = join(dir, "fifo.sh");
    const runDir = join(dir, "fifo");
    await mkdir(runDir);
    execFileSync("mkfifo", [join(runDir, "clock")]);
    const tabs = [{ index: 0, tabName: "t", command: "exit 4", startDir: dir }];
    await writeFile(script, posixTabScript({ title: "t", runDir, tabs, keepShell: false }));
    for (const f of commandFiles(runDir, tabs)) await writeFile(f.path, f.content, { mode: 0o600 });
    await run("/bin/sh", [script, "0"], { env: { ...process.env, SHELL: "/bin/sh" }, timeout: 10_000 }).catch(
      (e) => e,
    );
    expect(parseTabRecord(await readFile(join(runDir, "tab-0.json"), "utf8"))).toMatchObject({ exit: 4 });
  });

  it("a rerun counts on from the attempt it is given, with its own retries", async () => {
    const script = join(dir, "rerun.sh");
    const runDir = join(dir, "rerun");
    await mkdir(runDir, { recursive: true });
    const tabs = [{ index: 0, tabName: "t", command: "exit 4", startDir: dir, retry: { max: 1 } }];
    await writeFile(script, posixTabScript({ title: "t", session: "S", runDir, tabs, keepShell: false }));
    for (const f of commandFiles(runDir, tabs)) await writeFile(f.path, f.content, { mode: 0o600 });
    for (const [arg, attempt] of [
      ["3", 4],
      ["x; touch pwned", 2],
      ["", 2],
    ] as const) {
      // Each a fresh tab: over a final record, only a later attempt number runs (see below).
      await rm(join(runDir, "tab-0.json"), { force: true });
      await run("/bin/sh", [script, "0", arg], { env: { ...process.env, SHELL: "/bin/sh" } }).catch(() => {});
      const rec = parseTabRecord(await readFile(join(runDir, "tab-0.json"), "utf8"));
      // Started at `arg` (or 1 when it is not a number), retried once: one more.
      expect(rec).toMatchObject({ exit: 4, attempt });
    }
    expect(existsSync(join(dir, "pwned"))).toBe(false);
  });

  it("a hang-up that reaches the old tab's recorder late never overwrites the record of the tab that replaced it", async () => {
    for (const replaced of [false, true]) {
      const index = replaced ? 51 : 50;
      const { child, runDir } = await startInGroup(`late${index}`, {
        index,
        tabName: "t",
        command: "sleep 30",
        startDir: dir,
      });
      const rec = join(runDir, `tab-${index}.json`);
      // The command runs (its recorder has set its traps before it starts it).
      await until(() => existsSync(rec) && inGroup(child.pid!, "sleep 30"));
      // A rerun or a merge put its own tab's record there meanwhile.
      const theirs = '{"v":1,"pid":999999999,"start":1,"attempt":2}\n';
      if (replaced) await writeFile(rec, theirs);
      // The tab closes: its wrapper dies first, then the rest of its group is hung up.
      process.kill(child.pid!, "SIGKILL");
      await new Promise((r) => setTimeout(r, 50));
      process.kill(-child.pid!, "SIGHUP");
      // The recorder has done what it does once nothing of the group is left.
      await until(() => !inGroup(child.pid!));
      const text = await readFile(rec, "utf8");
      const events = (await eventsIn(runDir)).map((e) => e.type);
      if (replaced) {
        expect(text).toBe(theirs);
        expect(events).toEqual(["tab-started"]);
      } else {
        expect(recordOutcome(parseTabRecord(text)!)).toMatchObject({ state: "killed", signal: "SIGHUP" });
        expect(events).toEqual(["tab-started", "tab-killed"]);
      }
    }
  });

  it("never runs again over its tab's final record without an attempt number: a resurrected or respawned pane (review H13-4)", async () => {
    const count = join(dir, "resurrected");
    const { rec, runDir } = await runTab(`echo x >> '${count}'; exit 3`, 40);
    expect(rec).toMatchObject({ exit: 3 });
    const script = join(dir, "s40.sh");
    const again = await run("/bin/sh", [script, "40"], { env: { ...process.env, SHELL: "/bin/sh" } }).catch(
      (e) => e,
    );
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("sessions rerun");
    expect(await readFile(count, "utf8")).toBe("x\n");
    expect(parseTabRecord(await readFile(join(runDir, "tab-40.json"), "utf8"))).toEqual(rec);
    // A rerun (an attempt number) runs it again.
    await run("/bin/sh", [script, "40", "2"], { env: { ...process.env, SHELL: "/bin/sh" } }).catch(() => {});
    expect(await readFile(count, "utf8")).toBe("x\nx\n");
    // The rerun's pane respawned runs it no more (its attempt has ended, review H15-5); a later one does.
    const respawned = await run("/bin/sh", [script, "40", "2"], {
      env: { ...process.env, SHELL: "/bin/sh" },
    }).catch((e) => e);
    expect(respawned.code).toBe(2);
    expect(await readFile(count, "utf8")).toBe("x\nx\n");
    await run("/bin/sh", [script, "40", "3"], { env: { ...process.env, SHELL: "/bin/sh" } }).catch(() => {});
    expect(await readFile(count, "utf8")).toBe("x\nx\nx\n");
  });

  it("refusing over a final record keeps the pane, as the ended tab kept it: the message is seen (review H15-11)", async () => {
    const runDir = join(dir, "refused");
    await mkdir(runDir, { recursive: true });
    const tabs = [{ index: 0, tabName: "t", command: "exit 0", startDir: dir }];
    const script = join(dir, "refused.sh");
    await writeFile(script, posixTabScript({ title: "t", session: "S", runDir, tabs }));
    for (const f of commandFiles(runDir, tabs)) await writeFile(f.path, f.content, { mode: 0o600 });
    await writeFile(join(runDir, "tab-0.json"), '{"v":1,"pid":1,"start":1,"end":2,"attempt":1,"exit":0}\n');
    // The kept shell (here one that says so) follows the message.
    const shell = join(dir, "kept-shell.sh");
    await writeFile(shell, "#!/bin/sh\necho kept-shell\n", { mode: 0o755 });
    const r = await run("/bin/sh", [script, "0"], { env: { ...process.env, SHELL: shell } });
    expect(r.stderr).toContain("sessions rerun starts it again");
    expect(r.stdout).toBe("kept-shell\n");
  });

  it("the shell kept after the command has the tab's environment, and is the wrapper's shell, not the layout's SHELL (review H50-9)", async () => {
    const runDir = join(dir, "keptenv");
    await mkdir(runDir, { recursive: true });
    const tabs = [
      {
        index: 0,
        tabName: "t",
        command: "",
        startDir: dir,
        env: { GREETING: "hi 'x'", SHELL: "/bin/false" },
      },
    ];
    const script = join(dir, "keptenv.sh");
    await writeFile(script, posixTabScript({ title: "t", session: "S", runDir, tabs }));
    for (const f of commandFiles(runDir, tabs)) await writeFile(f.path, f.content, { mode: 0o600 });
    const shell = join(dir, "kept-env-shell.sh");
    await writeFile(shell, '#!/bin/sh\necho "kept $GREETING $SHELL"\n', { mode: 0o755 });
    const r = await run("/bin/sh", [script, "0"], { env: { ...process.env, SHELL: shell } });
    // The (empty) command runs through the same shell first, then the kept one.
    expect(r.stdout).toBe(`kept hi 'x' /bin/false\nkept hi 'x' /bin/false\n`);
  });

  it("a command stopped by Ctrl-C, Ctrl-\\, TERM, KILL or a hang-up is not retried; a Ctrl-C in the backoff ends the tab (review H67-1)", async () => {
    for (const [sig, code, idx] of [
      ["INT", 130, 60],
      ["QUIT", 131, 61],
      ["TERM", 143, 62],
      ["KILL", 137, 63],
      ["HUP", 129, 64],
    ] as const) {
      const count = join(dir, `stopped-${sig}`);
      const { rec, runDir } = await runTab(`echo x >> '${count}'; kill -${sig} $$`, idx, dir, "/bin/sh", {
        retry: { max: 3 },
      });
      expect(rec, sig).toMatchObject({ exit: code });
      expect(rec!.attempt ?? 1, sig).toBe(1);
      expect(await readFile(count, "utf8"), sig).toBe("x\n");
      expect(
        (await eventsIn(runDir)).map((e) => e.type),
        sig,
      ).not.toContain("tab-retried");
    }
    // A failure is still retried; Ctrl-C (to the tab's whole group) while it waits out the backoff ends it.
    const index = 65;
    const count = join(dir, "backoff-int");
    const { child, runDir } = await startInGroup(`backoffint${index}`, {
      index,
      tabName: "t",
      command: `echo x >> '${count}'; exit 4`,
      startDir: dir,
      retry: { max: 3, backoffSeconds: 30 },
    });
    await untilEvent(runDir, "tab-retried");
    await until(() => inGroup(child.pid!, "sleep 30"));
    process.kill(-child.pid!, "SIGINT");
    await untilEvent(runDir, "tab-exited");
    const rec = parseTabRecord(await readFile(join(runDir, `tab-${index}.json`), "utf8"));
    expect(recordOutcome(rec!)).toMatchObject({ state: "killed", signal: "SIGINT" });
    expect(await readFile(count, "utf8")).toBe("x\n");
    expect((await eventsIn(runDir)).map((e) => e.type)).toEqual(["tab-started", "tab-retried", "tab-exited"]);
  });

  it("a tab closed while it waits to retry records its end (review H15-10)", async () => {
    const index = 52;
    const { child, runDir } = await startInGroup(`backoff${index}`, {
      index,
      tabName: "t",
      command: "exit 4",
      startDir: dir,
      retry: { max: 2, backoffSeconds: 30 },
    });
    await untilEvent(runDir, "tab-retried");
    // In its backoff (the sleep its recorder starts once its traps are set).
    await until(() => inGroup(child.pid!, "sleep 30"));
    // The tab closes during the backoff: the wrapper dies, then its group is hung up.
    process.kill(child.pid!, "SIGKILL");
    await new Promise((r) => setTimeout(r, 50));
    process.kill(-child.pid!, "SIGHUP");
    const end = Date.now() + 5000;
    let types: string[] = [];
    while (Date.now() < end) {
      types = (await eventsIn(runDir)).map((e) => String(e.type));
      if (types.includes("tab-killed")) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(types).toEqual(["tab-started", "tab-retried", "tab-killed"]);
    const rec = parseTabRecord(await readFile(join(runDir, `tab-${index}.json`), "utf8"));
    expect(recordOutcome(rec!)).toMatchObject({ state: "killed", signal: "SIGHUP" });
  });

  it("a pane respawned while its tab waits to retry: the old run's end is recorded, the new wrapper refuses (review H19-6)", async () => {
    const index = 53;
    const count = join(dir, "respawned-count");
    const { child, runDir, script } = await startInGroup(`respawn${index}`, {
      index,
      tabName: "t",
      command: `echo x >> '${count}'; exit 4`,
      startDir: dir,
      retry: { max: 2, backoffSeconds: 30 },
    });
    await untilEvent(runDir, "tab-retried");
    // tmux respawn-pane -k: the old wrapper goes, the new one starts at once, and the old group's hang-up
    // reaches its backoff a moment later (after the new wrapper has looked at the record).
    process.kill(child.pid!, "SIGKILL");
    const again = run("/bin/sh", [script, String(index)], {
      env: { ...process.env, SHELL: "/bin/sh" },
    }).catch((e) => e);
    await new Promise((r) => setTimeout(r, 150));
    process.kill(-child.pid!, "SIGHUP");
    const r = await again;
    expect(r.exitCode ?? r.code).toBe(2);
    expect(r.stderr).toContain("sessions rerun starts it again");
    expect((await eventsIn(runDir)).map((e) => String(e.type))).toEqual([
      "tab-started",
      "tab-retried",
      "tab-killed",
    ]);
    const rec = parseTabRecord(await readFile(join(runDir, `tab-${index}.json`), "utf8"));
    expect(recordOutcome(rec!)).toMatchObject({ state: "killed", signal: "SIGHUP" });
    expect(rec!.attempt).toBe(2);
    expect(await readFile(count, "utf8")).toBe("x\n");
  });

  it("a second copy of a running tab is refused, the first runs on (review H19-6)", async () => {
    const index = 54;
    const count = join(dir, "second-copy-count");
    const { child, runDir, script } = await startInGroup(`copy${index}`, {
      index,
      tabName: "t",
      command: `echo x >> '${count}'; sleep 30`,
      startDir: dir,
    });
    try {
      const deadline = Date.now() + 5000;
      while (!existsSync(count) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const r = await run("/bin/sh", [script, String(index)], {
        env: { ...process.env, SHELL: "/bin/sh" },
      }).catch((e) => e);
      expect(r.exitCode ?? r.code).toBe(2);
      expect(r.stderr).toContain(`this tab is already running (pid ${child.pid})`);
      expect(await readFile(count, "utf8")).toBe("x\n");
      const rec = parseTabRecord(await readFile(join(runDir, `tab-${index}.json`), "utf8"));
      expect(rec).toMatchObject({ pid: child.pid, attempt: 1 });
      expect(rec!.end).toBeUndefined();
    } finally {
      process.kill(-child.pid!, "SIGKILL");
    }
  });

  it("gives the command its environment and the shell asked for", async () => {
    const out = join(dir, "env-shell.txt");
    await runTab(`echo "$GREETING $0" > '${out}'`, 22, dir, "/bin/sh", {
      env: { GREETING: "hi 'there'" },
      shell: "/bin/bash",
    });
    expect((await readFile(out, "utf8")).trim()).toBe(`hi 'there' ${join(dir, "run22", "cmd-22")}`);
  });

  it("interactive: the command is read by an interactive shell, so the rc file's aliases and functions work (review H31-4)", async () => {
    const home = join(dir, "ihome");
    await mkdir(home, { recursive: true });
    await writeFile(join(home, ".bashrc"), "alias f='echo ALIAS'\nmyfn() { echo FN \"$@\"; }\n");
    const out = join(dir, "interactive.txt");
    const cmd = `f one > '${out}'; myfn two >> '${out}'; exit 3`;
    const plain = await runTab("f one", 23, dir, "/bin/bash", { env: { HOME: home } });
    expect(plain.rec?.exit).toBe(127);
    const asked = await runTab(cmd, 24, dir, "/bin/bash", { env: { HOME: home }, interactive: true });
    expect(asked.rec?.exit).toBe(3);
    expect(await readFile(out, "utf8")).toBe("ALIAS one\nFN two\n");
    // $0 is the command file and there are no arguments, as without interactive.
    const args = join(dir, "interactive-args.txt");
    await runTab(`echo "$0|$#" > '${args}'`, 25, dir, "/bin/bash", {
      env: { HOME: home },
      interactive: true,
    });
    expect(await readFile(args, "utf8")).toBe(`${join(dir, "run25", "cmd-25")}|0\n`);
    // An rc file that ends the shell before the command starts is no success (review H33-3).
    await writeFile(join(home, ".bashrc"), "exit 0\n");
    const ended = await runTab(`echo ran > '${out}'`, 26, dir, "/bin/bash", {
      env: { HOME: home },
      interactive: true,
    });
    expect(ended.rec?.exit).toBe(126);
    expect(await readFile(out, "utf8")).toBe("ALIAS one\nFN two\n");
  });

  it("interactive: no rc file can move the mark, take over the wrapper's builtins or pass for the command, under bash, zsh and sh (review H34-3/4/5)", async () => {
    const shells = ["/bin/bash", "/bin/zsh", "/bin/sh"].filter((s) => existsSync(s));
    let n = 60;
    for (const shell of shells) {
      const home = join(dir, `rc-${n}`);
      const work = join(dir, `rc-work-${n}`);
      await mkdir(home, { recursive: true });
      await mkdir(work, { recursive: true });
      const rc = join(home, shell.endsWith("zsh") ? ".zshrc" : ".bashrc");
      // sh reads $ENV; bash ~/.bashrc; zsh ~/.zshrc (ZDOTDIR unset).
      const env = { HOME: home, ENV: rc, ZDOTDIR: home };
      const out = join(work, "ran");
      const hostile = [
        // set -- moved the mark ($1) to a file of the rc's choosing; the command's own status was lost.
        { rc: "set -- stray-file-from-rc\n", code: 5 },
        // Functions and aliases named as the wrapper's builtins.
        { rc: ".() { echo DOT; }\nshift() { :; }\ncommand() { :; }\n", code: 5 },
        { rc: "alias set=false trap=false exit=true ':=true'\n", code: 5 },
      ];
      for (const h of hostile) {
        await writeFile(rc, h.rc);
        await rm(out, { force: true });
        const t = await runTab(`echo ran > '${out}'; /bin/sh -c 'exit 5'`, n++, work, shell, {
          env,
          interactive: true,
        });
        expect(t.rec?.exit, `${shell} with rc ${h.rc}`).toBe(h.code);
        expect(await readFile(out, "utf8")).toBe("ran\n");
        expect(readdirSync(work).sort(), `${shell}: no file but the command's`).toEqual(["ran"]);
        expect(readdirSync(t.runDir).filter((f) => f.includes("started"))).toEqual([]);
      }
      // A run directory (the state directory) with spaces and glob characters in its name.
      await writeFile(rc, "alias hi='echo HI'\n");
      const odd = join(dir, `state dir * [x] ${n}`);
      const spaced = await runTab(
        `hi > '${out}'; /bin/sh -c 'exit 4'`,
        n++,
        work,
        shell,
        { env, interactive: true },
        odd,
      );
      expect(spaced.rec?.exit, `${shell} in ${odd}`).toBe(4);
      expect(await readFile(out, "utf8")).toBe("HI\n");
      expect(readdirSync(odd).filter((f) => f.includes("started"))).toEqual([]);
      // An rc file that ends the shell first: 126, the command never ran (sh's $ENV too: H34-3).
      await writeFile(rc, "exit 0\n");
      await rm(out, { force: true });
      const ended = await runTab(`echo ran > '${out}'`, n++, work, shell, { env, interactive: true });
      expect(ended.rec?.exit, shell).toBe(126);
      expect(existsSync(out)).toBe(false);
    }
  });

  it("an IFS of the tab's own, of any character the wrapper holds, splits none of its words: plain, and interactive under a shell mc does not list (review H67-11)", async () => {
    // A shell mc does not list (as fish is) is asked with a bare `-i`, the word an IFS of "i" or "-" split.
    const other = join(dir, "othersh");
    await symlink("/bin/sh", other).catch(() => {});
    const chars = [
      ...new Set(
        posixTabScript({
          title: "t",
          session: "S",
          runDir: dir,
          tabs: [
            { index: 0, tabName: "t", command: "c", startDir: dir, interactive: true, env: { IFS: "x" } },
          ],
        }),
      ),
    ].filter((c) => c !== "\0");
    let n = 3000;
    const failed: string[] = [];
    const one = async (ifs: string, interactive: boolean) => {
      const index = n++;
      const out = join(dir, `ifs-${index}`);
      const t = await runTab(`echo ran > '${out}'; exit 3`, index, dir, other, {
        env: { IFS: ifs },
        interactive,
      });
      const ran = existsSync(out) && (await readFile(out, "utf8")) === "ran\n";
      if (t.rec?.exit !== 3 || !ran)
        failed.push(`${JSON.stringify(ifs)} interactive=${interactive}: exit ${t.rec?.exit}`);
    };
    for (let i = 0; i < chars.length; i += 8)
      await Promise.all(chars.slice(i, i + 8).flatMap((c) => [one(c, true), one(c, false)]));
    expect(chars.length).toBeGreaterThan(60);
    expect(failed).toEqual([]);
  }, 120_000);

  it("property: the tab's environment (PATH, SHELL, IFS, TMUX_PANE, …) reaches its command and never the wrapper", async () => {
    const names = [
      "PATH",
      "SHELL",
      "IFS",
      "LC_ALL",
      "HOME",
      "TMUX",
      "TMUX_PANE",
      "ENV",
      "CDPATH",
      "MC_TAB",
      "mc_path",
    ];
    const value = fc.oneof(
      fc.constantFrom("", "/nonexistent", "/bin/false", " ", "%0", "a b", "$(touch pwned)", "'"),
      fc.string({ maxLength: 12 }).filter((v) => !v.includes("\0")),
    );
    let k = 100;
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom(...names), value, { minKeys: 1 }),
        fc.integer({ min: 0, max: 9 }),
        async (env, code) => {
          const index = k++;
          const out = join(dir, `env-${index}.txt`);
          // Absolute paths: the tab's own PATH may hold nothing at all.
          const { rec } = await runTab(`/usr/bin/env > '${out}'; exit ${code}`, index, dir, "/bin/sh", {
            env,
          });
          expect(rec, JSON.stringify(env)).toMatchObject({ exit: code });
          expect(rec!.end).toBeGreaterThanOrEqual(rec!.start);
          const seen = await readFile(out, "utf8");
          // (The command's own shell resets IFS, as POSIX shells do on start.)
          for (const [n, v] of Object.entries(env))
            if (n !== "IFS") expect(seen.split("\n")).toContain(`${n}=${v}`);
        },
      ),
      { numRuns: 40 },
    );
    expect(existsSync(join(dir, "pwned"))).toBe(false);
  });

  it("property: any command text reaches the shell exactly as written", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: "grapheme" }).filter((s) => !s.includes("\0")),
        async (payload) => {
          const out = join(dir, "payload.txt");
          const { rec } = await runTab(
            `printf '%s' ${"'"}${payload.replace(/'/g, "'\\''")}${"'"} > '${out}'`,
            3,
          );
          expect(rec?.exit).toBe(0);
          expect(await readFile(out, "utf8")).toBe(payload);
        },
      ),
      { numRuns: 60 },
    );
  });
});

/** Pids whose environment holds exactly `VAR=value` (what a kill's sweep looks for), from /proc. */
function pidsWithEnv(entry: string): number[] {
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(entry);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(process.platform !== "linux")(
  "posix tab wrapper: what others can see, what a kill can find",
  () => {
    it("never puts the command on a command line (ps shows no inline secret)", async () => {
      const secret = `s3cr3t-${Math.random().toString(36).slice(2)}`;
      const done = runTab(`TOKEN=${secret} sleep 1; echo ${secret} >/dev/null`, 10);
      await new Promise((r) => setTimeout(r, 400));
      const seen = readdirSync("/proc")
        .filter((e) => /^\d+$/.test(e))
        .filter((pid) => {
          try {
            return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(secret);
          } catch {
            return false;
          }
        });
      const { rec, runDir } = await done;
      expect(seen).toEqual([]);
      expect(rec?.exit).toBe(0);
      expect((await import("node:fs")).statSync(join(runDir, "cmd-10")).mode & 0o777).toBe(0o600);
    });

    it("marks every process of a tab, also those that left with setsid or nohup", async () => {
      const { rec, runDir } = await runTab(
        "setsid sleep 30 >/dev/null 2>&1 & nohup sleep 31 >/dev/null 2>&1 & (trap '' HUP; exec sleep 32) >/dev/null 2>&1 & exit 0",
        11,
      );
      expect(rec?.exit).toBe(0);
      const entry = `${TAB_MARKER_VAR}=${tabMarker(runDir, 11)}`;
      const cmdsOf = (pids: number[]) =>
        pids.map((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").replace(/\0/g, " ").trim()).sort();
      // The background children exec their sleep a moment after the tab's shell exited.
      let marked = pidsWithEnv(entry);
      const end = Date.now() + 15_000;
      while (cmdsOf(marked).filter((c) => c.startsWith("sleep")).length < 3 && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 30));
        marked = pidsWithEnv(entry);
      }
      try {
        expect(cmdsOf(marked)).toEqual(["sleep 30", "sleep 31", "sleep 32"]);
      } finally {
        for (const p of marked) process.kill(p, "SIGKILL");
      }
    });

    it.skipIf(!existsSync("/usr/bin/fish"))(
      "under fish, a command fish cannot parse never reads as success",
      async () => {
        // fish 3.6: `fish -c 'for i in 1 2; do echo; done'` exits 0 without running anything.
        const { rec } = await runTab("for i in 1 2; do echo $i; done", 12, dir, "/usr/bin/fish");
        expect(rec?.exit).not.toBe(0);
        const ok = await runTab("echo (math 1 + 2) >/dev/null; and exit 4", 13, dir, "/usr/bin/fish");
        expect(ok.rec?.exit).toBe(4);
      },
    );
  },
);
