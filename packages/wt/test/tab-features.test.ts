/**
 * A layout's per-tab `shell`, `env` and `retry`, and the events file, end to end through WTLocalManager
 * with the fake Windows Terminal, PowerShell and cmd (fakes.ts), whose wrapper model follows the
 * generated script and .NET's documented behaviour (test/fake/pwsh.mjs, "tab-wrapper v3").
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type LayoutConfig,
  type ManagedSession,
  parseTabRecord,
  type StatusReport,
  sessionEvents,
  type TabConfig,
} from "@mc/core";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { WtBackend } from "../src/index.js";
import { envName, envValue } from "./arbitraries.js";
import { alive } from "./fake/lib.mjs";
import { type FakeWindows, fakeWindows } from "./fakes.js";

const all: FakeWindows[] = [];
const fresh = (o?: Parameters<typeof fakeWindows>[0]) => {
  const f = fakeWindows(o);
  all.push(f);
  return f;
};
afterAll(() => {
  for (const f of all) f.cleanup();
});

type Manager = ReturnType<FakeWindows["manager"]>;
const finished = (f: FakeWindows, m: Manager, ok?: (r: StatusReport) => boolean) =>
  f.until(async () => {
    const r = await m.checkAllSessionsStatus();
    return (ok ? ok(r) : r.summary.allFinished) ? r : undefined;
  }, 20_000);
const record = (s: ManagedSession, i: number) =>
  parseTabRecord(readFileSync(join(s.runDir, `tab-${i}.json`), "utf8"));
const eventLines = (s: ManagedSession) => {
  try {
    return readFileSync(join(s.runDir, "events.ndjson"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  } catch {
    return [];
  }
};
/** A program that writes its whole environment as JSON to the file it is given. */
function dumpEnv(f: FakeWindows): void {
  writeFileSync(
    join(f.workDir, "dump-env.mjs"),
    'import { writeFileSync } from "node:fs";\nwriteFileSync(process.argv[2], JSON.stringify(process.env));\n',
  );
}
const dumped = (f: FakeWindows, file: string) =>
  JSON.parse(readFileSync(join(f.workDir, file), "utf8")) as Record<string, string>;

describe("env", () => {
  it("gives each command the layout's environment under its tab's, values exactly as written", async () => {
    const f = fresh();
    dumpEnv(f);
    // Generated hostile values: quotes, $(…), backticks, newlines, cmd's %VAR% and ^, Unicode, empty.
    const values = fc.sample(envValue, { numRuns: 12, seed: 19 });
    const names = fc
      .sample(envName, { numRuns: 40, seed: 7 })
      .filter((n, i, a) => a.findIndex((x) => x.toUpperCase() === n.toUpperCase()) === i)
      .map((n) => `MC_${n}`)
      .slice(0, values.length);
    const generated = Object.fromEntries(names.map((n, i) => [n, values[i]!]));
    const layout: LayoutConfig = {
      layoutName: "env",
      env: { ...generated, MC_SHARED: "layout", mc_case: "layout", MC_EMPTY: "" },
      layoutTabs: [
        {
          tabName: "ps",
          startDir: f.workDir,
          command: "node dump-env.mjs ps.json",
          env: { MC_SHARED: "tab 'ps' $(x) `n", MC_CASE: "tab", MC_TAB_ONLY: "ps\nline 2" },
        },
        { tabName: "cmd", startDir: f.workDir, command: "node dump-env.mjs cmd.json", shell: "cmd" },
      ],
    };
    const m = f.manager({ sessionLayouts: [layout], keepShell: false });
    await m.startAllSessions();
    const r = await finished(f, m);
    expect(r.sessions[0]!.tabs.map((t) => [t.state, t.exitCode])).toEqual([
      ["exited", 0],
      ["exited", 0],
    ]);
    const ps = dumped(f, "ps.json");
    const cmd = dumped(f, "cmd.json");
    for (const [k, v] of Object.entries(generated)) {
      expect(ps[k], k).toBe(v);
      expect(cmd[k], k).toBe(v);
    }
    // The tab's variable replaces the layout's of any spelling (Windows names are case-insensitive).
    expect(ps).toMatchObject({ MC_SHARED: "tab 'ps' $(x) `n", MC_CASE: "tab", MC_TAB_ONLY: "ps\nline 2" });
    expect(ps.mc_case).toBeUndefined();
    expect(cmd).toMatchObject({ MC_SHARED: "layout", mc_case: "layout" });
    expect(cmd.MC_TAB_ONLY).toBeUndefined();
    // An empty value is a variable (set through ProcessStartInfo; `$env:X = ''` would delete it).
    expect(ps.MC_EMPTY).toBe("");
    expect(cmd.MC_EMPTY).toBe("");
    await m.killAllSessions();
  });
});

describe("execution policy (review H43-2)", () => {
  it("the command and the kept shell run under the user's policy, not the wrapper's Bypass", async () => {
    const f = fresh();
    dumpEnv(f);
    const layout: LayoutConfig = {
      layoutName: "policy",
      layoutTabs: [
        { tabName: "ps", startDir: f.workDir, command: "node dump-env.mjs ps.json" },
        { tabName: "cmd", startDir: f.workDir, command: "node dump-env.mjs cmd.json", shell: "cmd" },
        // A layout may still set it for its own tab.
        {
          tabName: "own",
          startDir: f.workDir,
          command: "node dump-env.mjs own.json",
          env: { PSExecutionPolicyPreference: "AllSigned" },
        },
      ],
    };
    const m = f.manager({ sessionLayouts: [layout], keepShell: true });
    await m.startAllSessions();
    const r = await finished(f, m);
    expect(r.sessions[0]!.tabs.map((t) => [t.state, t.exitCode])).toEqual([
      ["exited", 0],
      ["exited", 0],
      ["exited", 0],
    ]);
    // The model: the wrapper itself runs with -ExecutionPolicy Bypass, kept in its environment.
    expect(f.tabs(f.windows()[0]!)[0]!.cmdline).toContain("-ExecutionPolicy Bypass");
    expect(dumped(f, "ps.json").PSExecutionPolicyPreference).toBeUndefined();
    expect(dumped(f, "cmd.json").PSExecutionPolicyPreference).toBeUndefined();
    expect(dumped(f, "own.json").PSExecutionPolicyPreference).toBe("AllSigned");
    const shells = await f.until(async () => (f.shells().length === 3 ? f.shells() : undefined));
    expect(shells.map((s) => s.executionPolicy).sort()).toEqual(["AllSigned", undefined, undefined]);
    await m.killAllSessions();
  });
});

describe("shell", () => {
  it("runs each tab's command in its own shell, over the backend's", async () => {
    const f = fresh({ pwshOnPath: true });
    f.env.MC_ARG = "hello";
    writeFileSync(join(f.workDir, "tool.sh"), '#!/bin/sh\necho "$@" > tool.txt\nexit 6\n', { mode: 0o755 });
    const layout: LayoutConfig = {
      layoutName: "shells",
      layoutTabs: [
        // The backend's shell (cmd here): machineconfig's command line.
        { tabName: "cmd", startDir: f.workDir, command: `"${join(f.workDir, "tool.sh")}" %MC_ARG%` },
        // PowerShell by name, found on PATH: a two-line command cmd could not run.
        { tabName: "pwsh", startDir: f.workDir, command: "Write-Output hi > ps.txt\nexit 4", shell: "pwsh" },
        // A cmd.exe path that does not exist: that program is what the wrapper starts, so it fails visibly.
        { tabName: "gone", startDir: f.workDir, command: "exit 0", shell: "C:\\no\\such\\cmd.exe" },
      ],
    };
    const m = f.manager({ sessionLayouts: [layout], shell: "cmd", keepShell: false });
    await m.startAllSessions();
    const r = await finished(f, m);
    expect(r.sessions[0]!.tabs.map((t) => [t.tabName, t.state, t.exitCode])).toEqual([
      ["cmd", "exited", 6],
      ["pwsh", "exited", 4],
      ["gone", "exited", 1],
    ]);
    expect(readFileSync(join(f.workDir, "tool.txt"), "utf8")).toBe("hello\n");
    expect(readFileSync(join(f.workDir, "ps.txt"), "utf8")).toBe("hi\n");
    expect(
      eventLines(m.session("shells")).find((e) => e.index === 2 && e.type === "tab-exited"),
    ).toMatchObject({
      exitCode: 1,
      reason: "the command could not be started",
    });
    // Anything but cmd and PowerShell is refused before anything starts, naming the field.
    const bash = f.manager({
      sessionLayouts: [
        { layoutName: "b", layoutTabs: [{ tabName: "t", startDir: "/", command: "ls", shell: "bash" }] },
      ],
    });
    await expect(bash.plan()).rejects.toMatchObject({
      code: "LAYOUT_INVALID",
      reason: expect.stringContaining("layouts[0].layoutTabs[0].shell:"),
    });
    await m.killAllSessions();
  });
});

describe("a shell named without a directory (review H43-1)", () => {
  /** A `powershell` and a `pwsh` planted in the tab's start directory (a cloned repository). */
  const plant = (f: FakeWindows) => {
    for (const name of ["powershell", "pwsh"]) {
      writeFileSync(
        join(f.workDir, name),
        `#!/bin/sh\necho "${name} $*" >> '${join(f.root, "planted.txt")}'\nexit 42\n`,
        { mode: 0o755 },
      );
    }
  };
  const planted = (f: FakeWindows) => existsSync(join(f.root, "planted.txt"));

  it("is looked up on PATH, never in the tab's directory: the command and the kept shell are the system's", async () => {
    const f = fresh({ pwshOnPath: true });
    plant(f);
    const layout: LayoutConfig = {
      layoutName: "planted",
      layoutTabs: [
        { tabName: "ps51", startDir: f.workDir, command: "Write-Output ok > ps.txt", shell: "powershell" },
        { tabName: "pwsh", startDir: f.workDir, command: "exit 3", shell: "pwsh" },
      ],
    };
    const m = f.manager({ sessionLayouts: [layout], keepShell: true });
    await m.startAllSessions();
    const r = await finished(f, m);
    expect(r.sessions[0]!.tabs.map((t) => [t.tabName, t.state, t.exitCode])).toEqual([
      ["ps51", "exited", 0],
      ["pwsh", "exited", 3],
    ]);
    expect(readFileSync(join(f.workDir, "ps.txt"), "utf8")).toBe("ok\n");
    // Both kept shells are the fake PowerShell on PATH (it records itself); nothing planted ever ran.
    await f.until(async () => (f.shells().length === 2 ? true : undefined));
    expect(planted(f)).toBe(false);
    await m.killAllSessions();
  });

  it("that is not on PATH fails the tab clearly and keeps no shell", async () => {
    const f = fresh();
    plant(f);
    const layout: LayoutConfig = {
      layoutName: "absent",
      layoutTabs: [{ tabName: "t", startDir: f.workDir, command: "exit 0", shell: "pwsh" }],
    };
    const m = f.manager({ sessionLayouts: [layout], keepShell: true });
    await m.startAllSessions();
    const r = await finished(f, m);
    expect(r.sessions[0]!.tabs.map((t) => [t.state, t.exitCode])).toEqual([["exited", 1]]);
    expect(eventLines(m.session("absent")).find((e) => e.type === "tab-exited")).toMatchObject({
      exitCode: 1,
      reason: "the command could not be started",
    });
    // The wrapper left with 1: Windows Terminal keeps the tab, with the message, open (closeOnExit).
    const [tab] = await f.until(async () => {
      // Not listed for a moment between its process ending and the fake recording its exit (seen loaded).
      const window = f.windows()[0];
      const tabs = window === undefined ? [] : f.tabs(window);
      return tabs[0]?.exit === undefined ? undefined : tabs;
    });
    expect(tab!.exit).toBe(1);
    expect(planted(f)).toBe(false);
    expect(f.shells()).toEqual([]);
    await m.killAllSessions();
  });
});

describe("retry and the events file", () => {
  it("reruns a failing command, records the attempt and writes core's event lines", async () => {
    const f = fresh();
    const once = `once-${Date.now()}`;
    const tabs: TabConfig[] = [
      {
        tabName: "fails",
        startDir: f.workDir,
        command: "sh -c 'exit 3'",
        retry: { max: 2, backoffSeconds: 0.3 },
      },
      {
        tabName: "flaky",
        startDir: f.workDir,
        command: `sh -c '[ -f ${once} ] || { touch ${once}; exit 5; }'`,
        retry: { max: 3 },
      },
      { tabName: "plain", startDir: f.workDir, command: "sh -c 'exit 2'" },
    ];
    const m = f.manager({ sessionLayouts: [{ layoutName: "retry", layoutTabs: tabs }], keepShell: false });
    await m.startAllSessions();
    const r = await finished(f, m);
    expect(r.sessions[0]!.tabs.map((t) => [t.tabName, t.state, t.exitCode, t.attempt])).toEqual([
      ["fails", "exited", 3, 3],
      ["flaky", "exited", 0, 2],
      ["plain", "exited", 2, undefined],
    ]);
    const s = m.session("retry");
    expect([0, 1, 2].map((i) => record(s, i)?.attempt)).toEqual([3, 2, 1]);
    const lines = eventLines(s);
    const of = (i: number) => lines.filter((e) => e.index === i).map(({ t: _, ...rest }) => rest);
    const who = (i: number) => ({ session: "retry", tab: tabs[i]!.tabName, index: i });
    expect(of(0)).toEqual([
      { type: "tab-started", ...who(0), attempt: 1 },
      { type: "tab-retried", ...who(0), attempt: 2, exitCode: 3 },
      { type: "tab-retried", ...who(0), attempt: 3, exitCode: 3 },
      { type: "tab-exited", ...who(0), exitCode: 3 },
    ]);
    expect(of(1).map((e) => e.type)).toEqual(["tab-started", "tab-retried", "tab-exited"]);
    expect(of(2).map((e) => e.type)).toEqual(["tab-started", "tab-exited"]);
    // Times are epoch seconds, the retries backoffSeconds apart.
    const retried = lines.filter((e) => e.index === 0 && e.type === "tab-retried").map((e) => e.t as number);
    expect(retried[1]! - retried[0]!).toBeGreaterThanOrEqual(0.25);
    expect(Math.abs((lines[0]!.t as number) - Date.now() / 1000)).toBeLessThan(60);
    // Core reads them as it reads posixTabScript's.
    const history = sessionEvents({
      session: s,
      files: await f.host.readDir(s.runDir),
    });
    expect(history.filter((e) => e.index === 0).map((e) => [e.type, e.attempt, e.exitCode])).toEqual([
      ["tab-started", 1, undefined],
      ["tab-ready", 1, undefined],
      ["tab-retried", 2, 3],
      ["tab-retried", 3, 3],
      ["tab-exited", undefined, 3],
    ]);
    await m.killAllSessions();
  });

  it("a kill during the backoff ends the tab at once: KILL recorded, tab-killed written", async () => {
    const f = fresh();
    const m = f.manager({
      sessionLayouts: [
        {
          layoutName: "k",
          layoutTabs: [
            { tabName: "t", startDir: "/", command: "sh -c 'exit 1'", retry: { max: 5, backoffSeconds: 60 } },
          ],
        },
      ],
      keepShell: false,
    });
    await m.startAllSessions();
    const s = m.session("k");
    await f.until(async () => eventLines(s).some((e) => e.type === "tab-retried") || undefined);
    const t0 = Date.now();
    const [k] = await m.killAllSessions();
    expect(k).toMatchObject({ ok: true, outcome: "killed" });
    // The wrapper left by itself (mc's kill stops a wrapper only after waiting 5 s for it).
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(record(s, 0)).toMatchObject({ signal: "KILL", attempt: 2 });
    expect(eventLines(s).at(-1)).toMatchObject({ type: "tab-killed", signal: "SIGKILL", index: 0 });
  });

  it("appends while the events file is held open, where one attempt to open it would lose the line", async () => {
    // The model: AppendAllText needs write access, and mc reading the file (ReadAllText, FileShare.Read)
    // or another tab appending (FileShare.Read) denies it: a sharing violation until they close it.
    const run = async (change?: (w: string) => string) => {
      const f = fresh();
      const m = f.manager({
        sessionLayouts: [
          { layoutName: "held", layoutTabs: [{ tabName: "t", startDir: "/", command: "sh -c 'sleep 1'" }] },
        ],
        keepShell: false,
      });
      if (change) {
        const be = m.backend as WtBackend;
        const prepare = be.prepare.bind(be);
        be.prepare = (spec, info) => {
          const p = prepare(spec, info);
          return {
            ...p,
            artefacts: p.artefacts.map((a) =>
              a.path.endsWith("wrapper.ps1") ? { ...a, content: change(a.content) } : a,
            ),
          };
        };
      }
      await m.startAllSessions();
      const s = m.session("held");
      // Held from before the command ends (1 s) until after: the wrapper's retries (100 × 20 ms) outlast it.
      await f.holdOpen(join(s.runDir, "events.ndjson"), 1800);
      await finished(f, m);
      // Every append is done once the wrapper is gone.
      await f.until(async () => (alive(record(s, 0)!.pid) ? undefined : true));
      await m.killAllSessions();
      return eventLines(s).map((e) => e.type);
    };
    expect(await run((w) => w.replaceAll("$mcW -lt 100", "$mcW -lt 1"))).not.toContain("tab-exited");
    expect(await run()).toEqual(["tab-started", "tab-exited"]);
  });
});

describe("onStart / onStop", () => {
  it("are refused before anything starts, never ignored", async () => {
    const f = fresh();
    const layout = (o: Partial<LayoutConfig>): LayoutConfig => ({
      layoutName: "hooks",
      layoutTabs: [{ tabName: "t", startDir: "/", command: "exit 0" }],
      ...o,
    });
    await expect(
      f.manager({ sessionLayouts: [layout({ onStart: "echo hi" })] }).plan(),
    ).rejects.toMatchObject({
      code: "LAYOUT_INVALID",
      reason: expect.stringContaining(
        "layouts[0].onStart: the Windows Terminal backend does not support onStart yet",
      ),
    });
    // onStop: core refuses it first for a backend without the stopHook capability.
    await expect(
      f.manager({ sessionLayouts: [layout({ onStop: "echo bye" })] }).startAllSessions(),
    ).rejects.toMatchObject({
      message: expect.stringMatching(/onStop/),
    });
    expect(f.windows()).toEqual([]);
  });
});
