import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localHost } from "@mc/core";
import { describe, expect, it } from "vitest";
import type { PaneRow, SessionRow } from "../src/parse.js";
import { parseServerIdentity } from "../src/paths.js";
import { ZellijQueries } from "../src/queries.js";
import { closeEndedTabs } from "../src/tabs.js";

const row: SessionRow = { name: "s", exited: false, current: false, created: "" };
const pane = (title: string, isPlugin = false): PaneRow => ({
  id: 1,
  isPlugin,
  exited: false,
  held: false,
  tabPosition: 0,
  tabId: 0,
  tabName: "a",
  title,
});

/** ZellijQueries whose answers (panes, server identity, proofs on the host) are given. */
function queries(panes: PaneRow[], identity: string | undefined, proofs: Record<string, string[]>) {
  const q = new ZellijQueries(localHost(), "zellij");
  q.version = [0, 45, 0];
  q.panesOf = async () => panes;
  q.serverIdentity = async () => identity;
  q.proofs = async () => new Map(Object.entries(proofs).map(([k, v]) => [k, new Set(v)]));
  return q;
}

describe("ownerOf: one decision of whose a zellij session is", () => {
  it("a run that recorded its server owns only that server's session, whatever the pane names say", async () => {
    const copied = [pane("a (mc run R1)")];
    expect(await queries(copied, "77-100-abc", { R1: ["42-9-abc"] }).ownerOf(row, "/st", "kill")).toBe(
      undefined,
    );
    expect(await queries(copied, undefined, { R1: ["42-9-abc"] }).ownerOf(row, "/st", "kill")).toBe(
      undefined,
    );
    expect(await queries(copied, "42-9-abc", { R1: ["42-9-abc"] }).ownerOf(row, "/st", "kill")).toBe("R1");
  });

  it("the recorded server proves it even when only plugin panes are left (--exit close)", async () => {
    const remains = [pane("zellij:compact-bar", true)];
    expect(await queries(remains, "42-9-abc", { R1: ["42-9-abc"] }).ownerOf(row, "/st", "list")).toBe("R1");
    expect(await queries(remains, "43-9-abc", { R1: ["42-9-abc"] }).ownerOf(row, "/st", "list")).toBe(
      undefined,
    );
  });

  it("a run without proofs (an mc before them) is judged by its pane names, as before: a run of this state only", async () => {
    const st = mkdtempSync(join(tmpdir(), "mc-own-"));
    try {
      mkdirSync(join(st, "runs", "OLD"), { recursive: true });
      const q = queries([pane("a (mc run OLD)")], "42-9-abc", { R1: ["42-9-abc"] });
      // The server is R1's: the proof wins over a claim.
      expect(await q.ownerOf(row, st, "list")).toBe("R1");
      expect(await queries([pane("a (mc run OLD)")], "50-1-abc", {}).ownerOf(row, st, "list")).toBe("OLD");
      expect(await queries([pane("a shell")], "50-1-abc", {}).ownerOf(row, st, "list")).toBe(undefined);
      // Another state directory's run (review H13-6), or a run whose proof outlived its server (H13-3).
      expect(await queries([pane("a (mc run ELSE)")], "50-1-abc", {}).ownerOf(row, st, "list")).toBe(
        undefined,
      );
      expect(
        await queries([pane("a (mc run OLD)")], "50-1-abc", { OLD: ["42-9-abc"] }).ownerOf(row, st, "list"),
      ).toBe(undefined);
    } finally {
      rmSync(st, { recursive: true, force: true });
    }
  });
});

describe("ownerOf: a session whose start never finished (reviews H40-1, H41-3)", () => {
  it("is its run's while a tab it started runs, even when the run has proofs of other servers; never after", async () => {
    const st = mkdtempSync(join(tmpdir(), "mc-own-"));
    try {
      const runDir = join(st, "runs", "R1", "s1");
      mkdirSync(runDir, { recursive: true });
      const tabScript = join(runDir, "tabs.sh");
      const panes = [{ ...pane("a"), terminalCommand: `/bin/sh ${tabScript} 0` }];
      const expected = { runId: "R1", tabNames: ["a"], tabScript, unfinished: true };
      const q = () => queries(panes, "77-100-abc", { R1: ["42-9-abc"] });
      // Its tab runs (a live wrapper, no end): the session the dead run was starting.
      writeFileSync(
        join(runDir, "tab-0.json"),
        `${JSON.stringify({ v: 1, pid: process.pid, start: 1, attempt: 1 })}\n`,
      );
      expect(await q().ownerOf(row, st, "kill", undefined, expected)).toBe("R1");
      // A finished start is judged by its proof alone.
      expect(await q().ownerOf(row, st, "kill", undefined, { ...expected, unfinished: false })).toBe(
        undefined,
      );
      // Its tabs over (ended, or their wrappers gone): a session resurrected from zellij's EXITED entry runs
      // the same tab script on a new server, and is the user's.
      writeFileSync(
        join(runDir, "tab-0.json"),
        `${JSON.stringify({ v: 1, pid: process.pid, start: 1, end: 2, attempt: 1, signal: "HUP" })}\n`,
      );
      expect(await q().ownerOf(row, st, "kill", undefined, expected)).toBe(undefined);
      const dead = spawnSync("true").pid;
      writeFileSync(
        join(runDir, "tab-0.json"),
        `${JSON.stringify({ v: 1, pid: dead, start: 1, attempt: 1 })}\n`,
      );
      expect(await q().ownerOf(row, st, "kill", undefined, expected)).toBe(undefined);
    } finally {
      rmSync(st, { recursive: true, force: true });
    }
  });
});

describe("parseServerIdentity", () => {
  it("pid, start time and boot id, safe as a file name; nothing without a server", () => {
    expect(parseServerIdentity("27690\n5762904\nc05a71e8-1234-5678\n")).toBe("27690-5762904-c05a71e8");
    expect(parseServerIdentity("27690\nSat Dec  5 14:37:17 2026\n\n")).toBe(
      "27690-Sat.Dec.5.14.37.17.2026-x",
    );
    expect(parseServerIdentity("")).toBe(undefined);
    expect(parseServerIdentity("x\n1\n")).toBe(undefined);
  });
});

describe("closeEndedTabs (--exit close)", () => {
  const layoutOf = (names: string[]) => ({
    layoutName: "s",
    layoutTabs: names.map((tabName) => ({ tabName, startDir: "/tmp", command: "x" })),
  });
  const bar = (tabId: number, tabName: string): PaneRow => ({
    ...pane("zellij:compact-bar", true),
    tabId,
    tabName,
  });

  it("closes a tab with only its bar once its pane recorded the end; never one holding a pane the user added", async () => {
    const runDir = mkdtempSync(join(tmpdir(), "mc-close-"));
    const end = { v: 1, pid: 1, start: 1, end: 2, exit: 0 };
    writeFileSync(join(runDir, "tab-0.json"), JSON.stringify(end));
    writeFileSync(join(runDir, "tab-1.json"), JSON.stringify(end));
    writeFileSync(join(runDir, "tab-2.json"), JSON.stringify({ v: 1, pid: 1, start: 1 }));
    const q = queries([], undefined, {});
    const ran: string[] = [];
    const all = [
      bar(0, "a"),
      bar(1, "b"),
      { ...pane("user shell"), tabId: 1, tabName: "b", terminalCommand: "/bin/bash" },
      bar(2, "c"),
    ];
    q.listPanes = async () => all;
    const host = q.host;
    (q as { host: typeof host }).host = {
      ...host,
      run: async (c) => {
        ran.push(c.args.join(" "));
        return { exitCode: 0, stdout: "", stderr: "", timedOut: false } as Awaited<
          ReturnType<typeof host.run>
        >;
      },
    };
    const done = new Set<number>();
    await closeEndedTabs(
      q,
      { name: "s", runDir, layout: layoutOf(["a", "b", "c"]) },
      `${runDir}/tabs.sh`,
      [],
      done,
    );
    // a: ended, only its bar: closed. b: the user's pane is in it. c: its command has not ended.
    expect(ran).toEqual(["--session=s action close-tab-by-id 0"]);
    expect([...done].sort()).toEqual([0, 1]);
    rmSync(runDir, { recursive: true, force: true });
  });
});
