/**
 * The shared conformance suite and the manager's own lifecycle, against fake `wt`, `pwsh` and `cmd`
 * executables (test/fake/*.mjs, wired by fakes.ts): neither Windows Terminal nor PowerShell runs on Linux.
 *
 * What the fakes prove: the generated launch script, read as the restricted PowerShell forms mc emits,
 * gives wt.exe a command line that wt's rules (CommandLineToArgvW, split at `;`, CLI11 options, tab
 * command line rebuilt and split again) turn into exactly the tabs asked for, each starting the wrapper in
 * its directory; the records, the status from records + /proc and the cooperative kill then work end to
 * end. The tabs' commands run through the fake's model of PowerShell (psmodel.mjs); the PowerShell text
 * itself is checked by the tree-sitter grammar (generate.test.ts), by a real pwsh where one exists
 * (real-pwsh.test.ts) and on Windows by real.test.ts.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runConformanceSuite } from "@mc/core/testing";
import { afterAll, describe, expect, it } from "vitest";
import { formatStatusReport, WTLocalManager } from "../src/index.js";
import { listWindows } from "./fake/lib.mjs";
import { FAKE_PWSH, fakeWindows } from "./fakes.js";

const f = fakeWindows();
const { workDir, host, env, pwshRuns } = f;

runConformanceSuite({
  name: "wt (fake wt + fake pwsh)",
  workDir,
  teardown: async () => f.killAll(),
  intervalMs: 200,
  manager: (opts) => f.manager(opts),
  listSessions: async () => f.sessions(),
  createForeignSession: async (name) => f.foreignWindow(name),
});

afterAll(() => f.cleanup());

describe("WTLocalManager on the fakes", () => {
  it("one wt launch per session, one pwsh call per status poll, kill touches only recorded trees", async () => {
    const m = f.manager({
      sessionLayouts: [
        {
          layoutName: "svc; api's",
          layoutTabs: [
            { tabName: "a;b", startDir: workDir, command: "echo 'multi\nline' > out.txt; sleep 30" },
            { tabName: "[[tt]]", startDir: workDir, command: "exit 7" },
          ],
        },
      ],
      sessionNamePrefix: "own",
      keepShell: false,
    });
    const plan = await m.plan();
    expect(plan[0]!.artefacts.map((a) => a.description)).toEqual([
      "wt launch script (PowerShell)",
      "tab wrapper (PowerShell)",
      "attach script (PowerShell)",
      "command of tab 0 (a;b)",
      "command of tab 1 ([[tt]])",
    ]);
    const before = pwshRuns.length;
    await m.startAllSessions();
    // One launch (the lock is core's); start then waits on records, and the listing reads /proc.
    const decoded = pwshRuns
      .slice(before)
      .map((c) => Buffer.from(c.args.at(-1)!, "base64").toString("utf16le"));
    expect(decoded).toEqual([expect.stringContaining("launch.ps1")]);
    expect(f.sessions()).toContain("own_svc; api's");
    const waitFor = async (ok: (r: Awaited<ReturnType<typeof m.checkAllSessionsStatus>>) => boolean) => {
      for (const end = Date.now() + 30_000; Date.now() < end; ) {
        const r = await m.checkAllSessionsStatus();
        if (ok(r)) return r;
        await new Promise((res) => setTimeout(res, 100));
      }
      throw new Error("timed out");
    };
    const r = await waitFor((x) => x.sessions[0]!.tabs[1]!.state === "exited");
    const s = r.sessions[0]!;
    expect(s.tabs.map((t) => [t.tabName, t.state, t.exitCode])).toEqual([
      ["a;b", "running", undefined],
      ["[[tt]]", "exited", 7],
    ]);
    // The running tab writes it; on a loaded machine a moment after the other tab's exit was seen.
    const deadline = Date.now() + 10_000;
    while (!existsSync(join(workDir, "out.txt")) && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 50));
    expect(readFileSync(join(workDir, "out.txt"), "utf8")).toBe("multi\nline\n");
    expect(s.tabs[0]!.processes.length).toBeGreaterThanOrEqual(2);
    // A status poll reads records and /proc: no subprocess at all on this host.
    const n = host.spawned;
    await m.checkAllSessionsStatus();
    expect(host.spawned - n).toBe(0);
    expect(pwshRuns.length).toBe(before + 1);
    expect(formatStatusReport(r)).toContain("own_svc; api's [wt@local] open");
    const window = f.windows().find((w) => w.endsWith(" own_svc; api's"))!;
    // The backend's kill first (the manager's would forget the session and its records at once).
    const managed = m.session("own_svc; api's");
    expect(await m.backend.kill(managed.name, managed)).toBe("killed");
    const after = await m.checkAllSessionsStatus();
    expect(after.sessions[0]!.tabs.map((t) => [t.state, t.signal ?? t.exitCode])).toEqual([
      ["killed", "SIGKILL"],
      ["exited", 7],
    ]);
    expect(after.sessions[0]!.exists).toBe(false);
    // Every PowerShell command mc ran is short: scripts travel as files (cmd.exe over ssh takes 8,191).
    expect(Math.max(...pwshRuns.map((c) => [c.file, ...c.args].join(" ").length))).toBeLessThan(1500);
    const [killed] = await m.killAllSessions();
    expect(killed).toEqual({ machine: "local", name: "own_svc; api's", ok: true, outcome: "gone" });
    // Both tabs closed: the killed one's wrapper left with code 0, and so did the failed one's (keepShell
    // false is --exit close; its record keeps 7), as Windows Terminal closes only on 0 (ConptyConnection.cpp:548).
    expect(
      f
        .tabs(window)
        .map((t) => [t.closed, t.exit])
        .sort(),
    ).toEqual([
      [true, 0],
      [true, 0],
    ]);
    expect(listWindows(f.fakeState).has(window)).toBe(false);
  });

  it("a missing wt is BINARY_NOT_FOUND and nothing is left registered", async () => {
    const m = new WTLocalManager({
      host,
      wt: join(f.root, "no-such-wt"),
      pwsh: FAKE_PWSH,
      sessionLayouts: [
        { layoutName: "x", layoutTabs: [{ tabName: "t", startDir: workDir, command: "exit 0" }] },
      ],
      sessionNamePrefix: "nowt",
    });
    // The probe finds no wt before anything is planned or written.
    const err = await m.startAllSessions().catch((e) => e);
    expect(err.code).toBe("BINARY_NOT_FOUND");
    expect((await m.backend.listSessions()).map((s) => s.name)).not.toContain("nowt_x");
  });

  it("attach brings the session's own window forward", async () => {
    const m = f.manager({
      sessionLayouts: [
        { layoutName: "att", layoutTabs: [{ tabName: "t", startDir: workDir, command: "sleep 30" }] },
      ],
      sessionNamePrefix: "own",
    });
    await m.startAllSessions();
    const window = f.windows().find((w) => w.endsWith(" own_att"))!;
    const cmd = m.attachToSession("own_att");
    expect(cmd.file).toBe(FAKE_PWSH);
    expect(cmd.args.slice(-2)).toEqual([join(m.session("own_att").runDir, "attach.ps1"), window]);
    execFileSync(cmd.file, [...cmd.args], { env });
    expect(f.events().filter((e: { kind: string }) => e.kind === "focus")).toContainEqual({
      kind: "focus",
      window,
      existed: true,
    });
    await m.killAllSessions();
  });
});
