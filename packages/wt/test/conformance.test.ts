/**
 * The shared conformance suite and the manager's own lifecycle, against fake `wt` and `pwsh` executables
 * (test/fake/*.mjs): neither Windows Terminal nor PowerShell can run on Linux.
 *
 * What the fakes prove: the generated launch script, evaluated as the restricted PowerShell forms mc emits,
 * gives wt an argv that wt's rules (split at `;`, CLI11 options, tab command line rebuilt and split with
 * CommandLineToArgvW) turn into exactly the tabs asked for, each starting the wrapper in its directory; the
 * records, the single process query per poll and the kill of recorded process trees then work end to end.
 *
 * Limitation: the fake pwsh does what the generated wrapper does (same record file, same atomic rename,
 * same keys) but runs the tab's command with /bin/sh -c, not PowerShell. That is enough for the conformance
 * commands (`exit 0`, `exit 3`, `sleep 1`, `sleep 30`), which mean the same in both shells. The PowerShell
 * text itself is checked by the tree-sitter grammar (generate.test.ts) and on Windows by real.test.ts.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Command, localHost } from "@mc/core";
import { runConformanceSuite } from "@mc/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatStatusReport, WTLocalManager } from "../src/index.js";
import { listWindows } from "./fake/lib.mjs";

const FAKE_WT = fileURLToPath(new URL("./fake/wt.mjs", import.meta.url));
const FAKE_PWSH = fileURLToPath(new URL("./fake/pwsh.mjs", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "mc-wt-"));
const fakeState = join(root, "fake-wt");
const stateDir = join(root, "state");
const workDir = join(root, "work dir; with ' quote");
const env = { ...process.env, FAKE_WT_STATE: fakeState };
const host = localHost({ stateDir, env });
/** Every PowerShell command the manager ran through the host. */
const pwshRuns: Command[] = [];
const run = host.run.bind(host);
host.run = (cmd, o) => {
  if (cmd.file === FAKE_PWSH) pwshRuns.push(cmd);
  return run(cmd, o);
};

function killAllFakeTabs() {
  for (const pids of listWindows(fakeState).values()) {
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
  }
}

const setup = async () => {
  mkdirSync(workDir, { recursive: true });
  chmodSync(FAKE_WT, 0o755);
  chmodSync(FAKE_PWSH, 0o755);
};
const teardown = async () => {
  killAllFakeTabs();
  rmSync(root, { recursive: true, force: true });
};

const manager = (opts: ConstructorParameters<typeof WTLocalManager>[0]) =>
  new WTLocalManager({ ...opts, host, wt: FAKE_WT, pwsh: FAKE_PWSH, appearTimeoutMs: 10_000 });

runConformanceSuite({
  name: "wt (fake wt + fake pwsh)",
  workDir,
  setup,
  teardown,
  intervalMs: 200,
  manager,
  async listSessions() {
    return [...listWindows(fakeState).keys()];
  },
  async createForeignSession(name) {
    execFileSync(FAKE_WT, [`--window=${name}`, "new-tab", "--", "sleep", "30"], { env });
  },
});

describe("WTLocalManager on the fakes", () => {
  beforeAll(setup);
  afterAll(teardown);

  it("one wt launch per session, one pwsh call per status poll, kill touches only recorded trees", async () => {
    const m = manager({
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
      "command of tab 0 (a;b)",
      "command of tab 1 ([[tt]])",
    ]);
    const before = pwshRuns.length;
    await m.startAllSessions();
    // One launch (the lock is core's); start then waits on records, and the listing reads /proc.
    expect(pwshRuns.slice(before).map((c) => c.args.includes("-File"))).toEqual([true]);
    expect([...listWindows(fakeState).keys()]).toContain("own_svc; api's");
    const waitFor = async (ok: (r: Awaited<ReturnType<typeof m.checkAllSessionsStatus>>) => boolean) => {
      for (let i = 0; i < 100; i++) {
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
    expect(readFileSync(join(workDir, "out.txt"), "utf8")).toBe("multi\nline\n");
    expect(s.tabs[0]!.processes.length).toBeGreaterThanOrEqual(2);
    // A status poll reads records and /proc: no subprocess at all on this host.
    const n = host.spawned;
    await m.checkAllSessionsStatus();
    expect(host.spawned - n).toBe(0);
    expect(pwshRuns.length).toBe(before + 1);
    expect(formatStatusReport(r)).toContain("own_svc; api's [wt@local] open");
    // The backend's kill first (the manager's would forget the session and its records at once).
    const managed = m.session("own_svc; api's");
    expect(await m.backend.kill(managed.name, managed)).toBe("killed");
    const after = await m.checkAllSessionsStatus();
    expect(after.sessions[0]!.tabs.map((t) => [t.state, t.signal ?? t.exitCode])).toEqual([
      ["killed", "SIGKILL"],
      ["exited", 7],
    ]);
    expect(after.sessions[0]!.exists).toBe(false);
    const [killed] = await m.killAllSessions();
    expect(killed).toEqual({ machine: "local", name: "own_svc; api's", ok: true, outcome: "gone" });
    expect([...listWindows(fakeState).keys()]).not.toContain("own_svc; api's");
  });

  it("a missing wt is BINARY_NOT_FOUND and nothing is left registered", async () => {
    const m = new WTLocalManager({
      host,
      wt: join(root, "no-such-wt"),
      pwsh: FAKE_PWSH,
      sessionLayouts: [
        { layoutName: "x", layoutTabs: [{ tabName: "t", startDir: workDir, command: "exit 0" }] },
      ],
      sessionNamePrefix: "nowt",
    });
    const err = await m.startAllSessions().catch((e) => e);
    expect(err.code).toBe("START_FAILED");
    expect(err.cause.code).toBe("BINARY_NOT_FOUND");
    expect((await m.backend.listSessions()).map((s) => s.name)).not.toContain("nowt_x");
  });

  it("attach summons the named window", async () => {
    const m = manager({
      sessionLayouts: [
        { layoutName: "att", layoutTabs: [{ tabName: "t", startDir: workDir, command: "sleep 30" }] },
      ],
      sessionNamePrefix: "own",
    });
    await m.startAllSessions();
    const cmd = m.attachToSession("own_att");
    expect(cmd).toEqual({ file: FAKE_WT, args: ["--window=own_att", "focus-tab"] });
    expect(execFileSync(cmd.file, [...cmd.args], { env }).toString()).toBe("focused own_att\n");
    await m.killAllSessions();
  });
});
