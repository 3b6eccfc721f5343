import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTabRecord, type TabRecord } from "../src/tab-record.js";
import { decideTabState } from "../src/tab-state.js";
import { posixTabScript } from "../src/tab-wrapper.js";

/** What the record alone says (the pane is gone and the wrapper process too). */
const recordOutcome = (record: TabRecord) =>
  decideTabState({ scheduled: true, record, process: "dead", unreachable: false });

const run = promisify(execFile);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mc-outcome-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function runTab(command: string, index = 0, startDir = dir) {
  const script = join(dir, `s${index}.sh`);
  const runDir = join(dir, `run${index}`);
  await mkdir(runDir, { recursive: true });
  await writeFile(
    script,
    posixTabScript({
      title: "test",
      runDir,
      tabs: [{ index, tabName: "t", command, startDir }],
      keepShell: false,
    }),
  );
  const r = await run("/bin/sh", [script, String(index)], {
    env: { ...process.env, SHELL: "/bin/sh" },
  }).catch((e) => e);
  const rec = parseTabRecord(await readFile(join(runDir, `tab-${index}.json`), "utf8"));
  return { r, rec };
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

  it("marks every process of the tab, and keeps the command out of argv", async () => {
    const out = join(dir, "env.txt");
    const secret = "hunter2-secret-token";
    const { rec } = await runTab(
      `echo "$MC_TAB" > '${out}'; ps -eo args | grep -c '${secret}' >> '${out}'`,
      8,
    );
    expect(rec?.exit).toBe(0);
    const [marker, seen] = (await readFile(out, "utf8")).trim().split("\n");
    expect(marker).toBe(`${join(dir, "run8")}#8`);
    // Only the grep itself shows the text: the command line of the tab is not in any argv.
    expect(seen).toBe("1");
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
