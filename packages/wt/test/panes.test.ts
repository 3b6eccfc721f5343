import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PANE_LAYOUTS, type TabConfig } from "@mc/core";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { launchScript, tabCommandline, type WTLocalManager, wtWindowName } from "../src/index.js";
import { launchTabs, type PaneAction, type PlanPane, paneActions, wtPaneTree } from "../src/pane-splits.js";
import { evaluateLaunchScript, parseWtArgv, type WtAction } from "../src/testing/index.js";
import { anyText, dirText, nameText } from "./arbitraries.js";
import { windowsArgv as fakeArgv } from "./fake/lib.mjs";
import { type FakeWindows, fakeWindows } from "./fakes.js";
import { powershellSyntaxErrors } from "./ps-syntax.js";

type Rect = [number, number, number, number];
const P125 = { wt: [1, 25, 1912, 0], powershell: [7, 4, 6], wtPath: "wt" };
const P122 = { wt: [1, 22, 11751, 0], powershell: [7, 4, 6], wtPath: "wt" };

/** mc's tree as rectangles per slot: each box's children share it by their sizes (given %, rest even). */
function mcRects(panes: readonly PlanPane[]): Map<number, Rect> {
  const out = new Map<number, Rect>();
  const walk = (t: ReturnType<typeof wtPaneTree>, r: Rect) => {
    if (!("dir" in t)) return void out.set(t.pane.slot, r);
    const given = t.children.map((c) =>
      typeof c.size === "string" ? Number(c.size.slice(0, -1)) : undefined,
    );
    const free = given.filter((g) => g === undefined).length;
    const rest = Math.max(0, 100 - given.reduce<number>((a, g) => a + (g ?? 0), 0));
    const share = given.map((g) => (g ?? rest / free) / 100);
    let at = 0;
    t.children.forEach((c, i) => {
      const s = share[i]!;
      walk(
        c,
        t.dir === "right"
          ? [r[0] + at * r[2], r[1], s * r[2], r[3]]
          : [r[0], r[1] + at * r[3], r[2], s * r[3]],
      );
      at += s;
    });
  };
  walk(wtPaneTree(panes), [0, 0, 1, 1]);
  return out;
}

/**
 * wt's model of one tab (Pane.cpp `_Split`, TerminalTab.cpp): split-pane splits the FOCUSED pane, the old
 * content keeps its id as the first child, the new pane (next id, focused) takes `size` of it; `-H` below.
 */
function wtRects(first: number, actions: readonly WtAction[]): { rects: Map<number, Rect>; focused: number } {
  const panes: { id: number; slot: number; r: Rect }[] = [{ id: 0, slot: first, r: [0, 0, 1, 1] }];
  let focused = 0;
  for (const a of actions) {
    if (a.kind === "focus-pane") {
      expect(panes.some((p) => p.id === a.target)).toBe(true);
      focused = a.target;
    } else if (a.kind === "split-pane") {
      const p = panes.find((x) => x.id === focused)!;
      const s = a.size ?? 0.5;
      const [x, y, w, h] = p.r;
      const slot = Number(a.command.at(-1));
      if (a.direction === "right") {
        p.r = [x, y, w * (1 - s), h];
        panes.push({ id: panes.length, slot, r: [x + w * (1 - s), y, w * s, h] });
      } else {
        expect(a.direction).toBe("down");
        p.r = [x, y, w, h * (1 - s)];
        panes.push({ id: panes.length, slot, r: [x, y + h * (1 - s), w, h * s] });
      }
      focused = panes.length - 1;
    }
  }
  return { rects: new Map(panes.map((p) => [p.slot, p.r])), focused: panes[focused]!.slot };
}

const close = (a: Map<number, Rect>, b: Map<number, Rect>) => {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [k, r] of a)
    for (const [i, v] of r.entries()) expect(Math.abs(v - b.get(k)![i]!)).toBeLessThan(0.02);
};

const paneArb = fc.record(
  {
    command: anyText(16),
    startDir: dirText,
    split: fc.constantFrom("right" as const, "down" as const),
    size: fc.integer({ min: 5, max: 95 }).map((n) => `${n}%`),
    focus: fc.constant(true as const),
  },
  { requiredKeys: [] },
);
const tabArb = fc.record({
  tabName: nameText,
  startDir: dirText,
  command: anyText(16),
  panes: fc.array(paneArb, { minLength: 0, maxLength: 5 }),
  layout: fc.option(fc.constantFrom(...PANE_LAYOUTS), { nil: undefined }),
});

describe("panes → split-pane / focus-pane (pane-splits.ts)", () => {
  const plan = (...ps: Omit<PlanPane, "slot" | "at">[]) => ps.map((p, i) => ({ ...p, slot: i, at: `p${i}` }));

  it("maps down to --horizontal, right to --vertical, a percentage to the new pane's fraction", () => {
    expect(paneActions(plan({}, { split: "down", size: "30%" }, { split: "right" }))).toEqual([
      { kind: "split", direction: "down", size: 0.3, slot: 1 },
      { kind: "split", direction: "right", slot: 2 },
    ]);
  });

  it("moves the focus where a named layout needs a pane split that is not the newest, and to the focus: true pane", () => {
    const a: PaneAction[] = paneActions(plan({ layout: "tiled" }, {}, {}, { focus: true }));
    // tiled of 4: two rows of two; rows split first, then each row.
    expect(a).toEqual([
      { kind: "split", direction: "down", slot: 2 },
      { kind: "focus", target: 0 },
      { kind: "split", direction: "right", slot: 1 },
      { kind: "focus", target: 1 },
      { kind: "split", direction: "right", slot: 3 },
    ]);
    expect(paneActions(plan({}, { split: "down" }, { split: "down", focus: true }, {})).at(-1)).toEqual({
      kind: "focus",
      target: 2,
    });
  });

  it("refuses a size in cells, naming the field, before anything starts", () => {
    const spec = {
      index: 2,
      layout: {
        layoutName: "l",
        layoutTabs: [
          { tabName: "a", startDir: "C:\\", command: "x" },
          {
            tabName: "b",
            startDir: "C:\\",
            command: "x",
            panes: [{ command: "y" }, { command: "z", size: 12 }],
          },
        ],
      },
    };
    expect(() => launchTabs(spec, "C:\\Users\\u")).toThrow(
      /layouts\[2\]\.layoutTabs\[1\]\.panes\[1\]\.size: 12 cells/,
    );
  });

  it("script → command line → wt argv → wt's panes = the tabs and panes asked for, hostile commands and dirs (300 runs)", async () => {
    const scripts: string[] = [];
    fc.assert(
      fc.property(
        fc.array(tabArb, { minLength: 1, maxLength: 3 }),
        fc.constantFrom(P122, P125),
        (raw, platform) => {
          const layoutTabs = raw.map(
            ({ layout, panes, ...t }): TabConfig => ({
              ...t,
              ...(panes.length ? { panes } : {}),
              ...(layout ? { layout } : {}),
            }),
          );
          const spec = { index: 0, layout: { layoutName: "p", layoutTabs } };
          const tabs = launchTabs(spec, "C:\\Users\\u");
          const input = {
            window: wtWindowName("p", "20261205-101010-abc123", 0),
            tabs,
            pwsh: "C:\\Program Files\\PowerShell\\7\\pwsh.exe",
            wrapperPath: "C:\\state\\run; x\\wrapper.ps1",
            platform,
            wt: "wt",
          };
          const script = launchScript(input);
          if (scripts.length < 20) scripts.push(script);
          const ps = evaluateLaunchScript(script);
          expect(ps.args).toEqual(fakeArgv(`wt.exe ${ps.commandLine}`).slice(1));
          const inv = parseWtArgv(ps.args, platform === P125 ? "2.6.1" : "2.4.2");
          // One new-tab per tab, each followed by its panes' actions.
          const groups: WtAction[][] = [];
          for (const a of inv.actions) {
            if (a.kind === "new-tab") groups.push([a]);
            else groups.at(-1)!.push(a);
          }
          expect(groups).toHaveLength(layoutTabs.length);
          let slot = layoutTabs.length;
          layoutTabs.forEach((t, j) => {
            const [nt, ...rest] = groups[j]!;
            expect(nt).toMatchObject({
              kind: "new-tab",
              title: t.tabName.replace(/[\u0000-\u001f\u007f]/g, " "),
            });
            expect(nt?.kind === "new-tab" && nt.command).toEqual(tabCommandline(input, j));
            const panes: PlanPane[] = [
              { slot: j, at: "", ...(t.layout ? { layout: t.layout } : {}) },
              ...(t.panes ?? []).map((p) => ({
                slot: slot++,
                at: "",
                split: p.split,
                size: p.size,
                focus: p.focus,
              })),
            ];
            // Every pane once, each running the wrapper for its own slot, in its own start directory.
            for (const a of rest) {
              if (a.kind !== "split-pane") continue;
              const s = Number(a.command.at(-1));
              expect(a.command).toEqual(tabCommandline(input, s));
              const p = t.panes![s - panes[1]!.slot]!;
              expect(a.startingDirectory).toBe(p.startDir ?? t.startDir);
            }
            const model = wtRects(j, rest);
            close(model.rects, mcRects(panes));
            const wanted = panes.find((p) => p.focus);
            if (wanted && panes.length > 1) expect(model.focused).toBe(wanted.slot);
          });
        },
      ),
      { numRuns: 300 },
    );
    for (const s of scripts) expect(await powershellSyntaxErrors(s)).toEqual([]);
  });
});

const all: FakeWindows[] = [];
afterAll(() => {
  for (const f of all) f.cleanup();
});

describe("panes on the fake Windows Terminal", () => {
  it("runs each pane's wrapper: per-pane records and exit codes in status, kill stops every pane", async () => {
    const f = fakeWindows();
    all.push(f);
    const m: WTLocalManager = f.manager({
      keepShell: false,
      sessionLayouts: [
        {
          layoutName: "api",
          layoutTabs: [
            {
              tabName: "srv",
              startDir: f.workDir,
              command: "sleep 30",
              layout: "main-vertical",
              panes: [{ command: "exit 3" }, { command: "sleep 30", focus: true }],
            },
            { tabName: "one", startDir: f.workDir, command: "exit 4" },
          ],
        },
      ],
    });
    await m.startAllSessions();
    const r = await f.until(async () => {
      const s = await m.checkAllSessionsStatus();
      const tabs = s.sessions[0]!.tabs;
      return tabs.filter((t) => t.state === "exited").length === 2 ? tabs : undefined;
    });
    expect(r.map((t) => [t.index, t.pane, t.state, t.exitCode])).toEqual([
      [0, 0, "running", undefined],
      [0, 1, "exited", 3],
      [0, 2, "running", undefined],
      [1, undefined, "exited", 4],
    ]);
    expect(await m.statusReportText()).toMatch(/^ {2}srv\/1 +exited 3 /m);
    const splits = f.events().filter((e: { kind: string }) => e.kind === "split");
    expect(splits.map((e: { direction: string; of: number }) => [e.direction, e.of])).toEqual([
      ["right", 0],
      ["down", 1],
    ]);
    expect(f.events().some((e: { kind: string }) => e.kind === "focus-pane-missing")).toBe(false);
    const runDir = m.managed[0]!.runDir;
    await m.killAllSessions();
    // Slots: the tabs' own panes 0, 1, then srv's further panes 2, 3 (core sessionSlots).
    const rec = (i: number) => JSON.parse(readFileSync(join(runDir, `tab-${i}.json`), "utf8"));
    expect([0, 1, 2, 3].map((i) => rec(i).signal ?? rec(i).exit)).toEqual(["KILL", 4, 3, "KILL"]);
    expect(await m.backend.listSessions()).toEqual([]);
  });

  it("refuses a size in cells before any window opens, and keeps a pane without a command as a shell", async () => {
    const f = fakeWindows();
    all.push(f);
    const cells = f.manager({
      sessionLayouts: [
        { layoutName: "ok", layoutTabs: [{ tabName: "t", startDir: f.workDir, command: "sleep 30" }] },
        {
          layoutName: "bad",
          layoutTabs: [
            { tabName: "t", startDir: f.workDir, command: "sleep 30", panes: [{ command: "x", size: 10 }] },
          ],
        },
      ],
    });
    const err = await cells.startAllSessions().catch((e) => e);
    expect(err).toMatchObject({ code: "LAYOUT_INVALID" });
    expect(String(err.message)).toMatch(/layouts\[1\]\.layoutTabs\[0\]\.panes\[0\]\.size/);
    expect(f.windows()).toEqual([]);
    const m = f.manager({
      keepShell: false,
      sessionLayouts: [
        {
          layoutName: "sh",
          layoutTabs: [{ tabName: "t", startDir: f.workDir, command: "exit 0", panes: [{ split: "down" }] }],
        },
      ],
    });
    await m.startAllSessions();
    const tabs = await f.until(async () => {
      const r = await m.checkAllSessionsStatus();
      const ts = r.sessions[0]!.tabs;
      return ts.every((t) => t.state === "exited") ? ts : undefined;
    });
    expect(tabs.map((t) => [t.pane, t.exitCode])).toEqual([
      [0, 0],
      [1, 0],
    ]);
    // keepShell is false: only the pane without a command leaves a shell (the fake records each kept shell).
    await f.until(async () => (f.shells().length > 0 ? true : undefined));
    expect(f.shells()).toHaveLength(1);
    await m.killAllSessions();
  });
});
