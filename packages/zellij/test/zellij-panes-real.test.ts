import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { type LayoutConfig, readTabLog } from "@mc/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  findRealZellij,
  processesMentioning,
  type RealZellij,
  realZellij,
  waitFor,
  zellijJson,
} from "./real-zellij.js";

const found = findRealZellij();
const real = "version" in found ? found : undefined;
if (!real) console.warn(`[mc] zellij pane suites SKIPPED: ${(found as { reason: string }).reason}`);
const hasScript = /util-linux/.test(spawnSync("script", ["--version"], { encoding: "utf8" }).stdout ?? "");

interface ListedPane {
  id: number;
  is_plugin: boolean;
  tab_name: string;
  tab_position: number;
  exit_status: number | null;
  is_focused: boolean;
  pane_columns: number;
  pane_rows: number;
  pane_x: number;
  pane_y: number;
  terminal_command?: string;
}

/** A tab of three panes: its own, one to the right (30%), one below that (5 rows, focused); then a plain tab. */
const threePanes = (dir: string, name: string, third = "printf 'p2\\n'; sleep 60"): LayoutConfig => ({
  layoutName: name,
  layoutTabs: [
    {
      tabName: "work",
      startDir: dir,
      command: "printf 'p0\\n'; exit 0",
      panes: [
        { command: "printf 'p1\\n'; exit 3", split: "right", size: "30%" },
        { command: third, split: "down", size: 5, focus: true, startDir: join(dir, "sub dir") },
      ],
    },
    { tabName: "solo", startDir: dir, command: "exit 7" },
  ],
});

describe.skipIf(!real)(`real zellij (${real?.version ?? "absent"}): tabs with panes`, () => {
  let w: RealZellij | undefined;
  beforeAll(() => {
    w = realZellij(real!.path, real!.version);
    spawnSync("mkdir", ["-p", join(w.work, "sub dir")]);
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail" && w) console.error(`[mc] zellij log (${w.root}):\n${w.log()}`);
  });
  afterAll(() => w?.stop());

  it("a tab of three panes starts split as asked; status, exit codes and logs are per pane; kill leaves nothing", async () => {
    const z = w!;
    const m = z.manager({ sessionLayouts: [threePanes(z.work, "panes", "pwd; exit 4")], exitMode: "keep" });
    await m.startAllSessions();
    const r = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.summary.allFinished,
    );
    expect(r.sessions[0]!.tabs.map((t) => [t.tabName, t.pane, t.state, t.exitCode])).toEqual([
      ["work", 0, "exited", 0],
      ["work", 1, "exited", 3],
      ["work", 2, "exited", 4],
      ["solo", undefined, "exited", 7],
    ]);
    // zellij's own view: one tab holds the three panes, each its own exit status; the focused one is the third.
    // The wrapper records its end a moment before its pane exits: zellij marks the pane a little later.
    const listed = async () =>
      (await zellijJson<ListedPane[]>(z, "--session", "panes", "action", "list-panes", "--json")).filter(
        (p) => !p.is_plugin,
      );
    const panes = await waitFor(listed, (ps) =>
      ps
        .filter((p) => p.tab_name === "work")
        .every((p) => p.exit_status !== null && p.exit_status !== undefined),
    );
    const slot = (p: ListedPane) => Number(/ (\d+)$/.exec(p.terminal_command ?? "")?.[1]);
    const work = panes.filter((p) => p.tab_name === "work").sort((a, b) => slot(a) - slot(b));
    expect(work.map((p) => [slot(p), p.exit_status])).toEqual([
      [0, 0],
      [2, 3],
      [3, 4],
    ]);
    const [p0, p1, p2] = work as [ListedPane, ListedPane, ListedPane];
    // Right: side by side, the new pane 30% of the width; down: below it, exactly 5 rows; focus on it.
    expect(p1.pane_x).toBe(p0.pane_x + p0.pane_columns);
    expect(Math.abs(p1.pane_columns / (p0.pane_columns + p1.pane_columns) - 0.3)).toBeLessThan(0.05);
    expect([p2.pane_x, p2.pane_columns]).toEqual([p1.pane_x, p1.pane_columns]);
    expect(p2.pane_y).toBe(p1.pane_y + p1.pane_rows);
    expect(p2.pane_rows).toBe(5);
    expect(work.map((p) => p.is_focused)).toEqual([false, false, true]);
    const runDir = m.managed[0]!.runDir;
    if (hasScript) {
      expect(
        await waitFor(
          () => readTabLog(z.host, runDir, 0),
          (t) => t.includes("p0"),
        ),
      ).toContain("p0");
      expect(
        await waitFor(
          () => readTabLog(z.host, runDir, 2),
          (t) => t.includes("p1"),
        ),
      ).toContain("p1");
      // The third pane started in its own directory (with a space in its name).
      expect(
        await waitFor(
          () => readTabLog(z.host, runDir, 3),
          (t) => t.includes("sub dir"),
        ),
      ).toContain(join(z.work, "sub dir"));
      expect(await readTabLog(z.host, runDir, 0)).not.toContain("p1");
    }
    await m.killAllSessions();
    expect(z.sessions()).not.toContain("panes");
    expect(processesMentioning(runDir)).toEqual([]);
  });

  it("a held-back tab with panes starts all of its panes, and a running pane is killed with the session", async () => {
    const z = w!;
    const m = z.manager({ sessionLayouts: [heldLayout(z.work)] });
    await m.startAllSessions({ initialTabs: 1 });
    let r = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs[0]!.state === "exited",
    );
    expect(r.sessions[0]!.tabs.map((t) => [t.tabName, t.pane, t.state])).toEqual([
      ["solo", undefined, "exited"],
      ["work", 0, "not-started"],
      ["work", 1, "not-started"],
      ["work", 2, "not-started"],
    ]);
    await m.startTab("held", 1);
    r = await waitFor(
      () => m.checkAllSessionsStatus(),
      (x) => x.sessions[0]!.tabs[2]!.state === "exited" && x.sessions[0]!.tabs[3]!.state === "running",
    );
    expect(r.sessions[0]!.tabs.map((t) => [t.pane, t.state, t.exitCode])).toEqual([
      [undefined, "exited", 7],
      [0, "exited", 0],
      [1, "exited", 3],
      [2, "running", undefined],
    ]);
    // Closing a finished pane's ref closes that pane only; the tab and its running pane stay.
    await m.closeTab(r.sessions[0]!.tabs[2]!.ref!);
    const slots = async () =>
      (await zellijJson<ListedPane[]>(z, "--session", "held", "action", "list-panes", "--json"))
        .filter((p) => !p.is_plugin && p.tab_name === "work")
        .map((p) => Number(/ (\d+)$/.exec(p.terminal_command ?? "")?.[1]))
        .sort();
    expect(await waitFor(slots, (x) => x.length === 2)).toEqual([1, 3]);
    expect((await m.checkAllSessionsStatus()).sessions[0]!.tabs[3]!.state).toBe("running");
    const runDir = m.managed[0]!.runDir;
    await m.killAllSessions();
    expect(z.sessions()).not.toContain("held");
    await waitFor(
      async () => processesMentioning(runDir),
      (x) => x.length === 0,
    );
    expect(processesMentioning(runDir)).toEqual([]);
  });
});

/** The plain tab first, then the tab of three panes (which `initialTabs: 1` holds back). */
function heldLayout(dir: string): LayoutConfig {
  const l = threePanes(dir, "held");
  return { ...l, layoutTabs: [l.layoutTabs[1]!, l.layoutTabs[0]!] };
}
