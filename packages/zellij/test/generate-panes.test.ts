import type { LayoutConfig } from "@mc/core";
import fc from "fast-check";
import { type Node, parse } from "kdljs";
import { describe, expect, it } from "vitest";
import { isLiteralPath, zellijSessionFiles, zellijTabs } from "../src/index.js";

const RUN = "20261204-000000-abc123";
const info = { platform: "linux" as const, home: "/home/u", stateDir: "/state", shell: "/bin/sh" };

/** A pane tree read back with the real KDL v1 parser: a leaf is its slot, a box its direction and kids. */
type Read = { slot: string; size?: unknown; focus?: unknown; cwd?: unknown; held?: unknown; name?: unknown };
type ReadBox = { dir: unknown; size?: unknown; kids: (Read | ReadBox)[] };

function readPane(n: Node): Read | ReadBox {
  if (n.properties.split_direction !== undefined)
    return {
      dir: n.properties.split_direction,
      ...(n.properties.size !== undefined ? { size: n.properties.size } : {}),
      kids: n.children.filter((c) => c.name === "pane").map(readPane),
    };
  const args = n.children.find((c) => c.name === "args")!.values;
  const out: Read = { slot: String(args[args.length - 1]) };
  for (const k of ["size", "focus", "cwd", "name"] as const)
    if (n.properties[k] !== undefined) out[k] = n.properties[k];
  if (n.properties.start_suspended !== undefined) out.held = n.properties.start_suspended;
  return out;
}

function readTabs(text: string): { name: unknown; cwd: unknown; panes: (Read | ReadBox)[] }[] {
  const { output, errors } = parse(text);
  if (errors.length || !output) throw new Error(`KDL errors: ${errors.map((e) => e.message).join("; ")}`);
  expect(output).toHaveLength(1);
  return output[0]!.children
    .filter((n) => n.name === "tab")
    .map((t) => ({
      name: t.properties.name,
      cwd: t.properties.cwd,
      panes: t.children.filter((c) => c.name === "pane").map(readPane),
    }));
}

const files = (layout: LayoutConfig, pending?: number[]) =>
  zellijSessionFiles(
    {
      zellij: "zellij",
      version: [0, 45, 0],
      name: "s",
      runId: RUN,
      tabs: zellijTabs(layout),
      dir: "/a",
      runDir: "/a/run",
      exitMode: "keep",
      pending,
      tabBar: false,
    },
    info,
  );

const threePanes: LayoutConfig = {
  layoutName: "l",
  layoutTabs: [
    {
      tabName: "work",
      startDir: "/w",
      command: "echo a",
      panes: [
        { command: "exit 3", split: "right", size: "40%", startDir: "/w/b" },
        { command: "echo c", split: "down", size: 5, focus: true },
      ],
    },
    { tabName: "other", startDir: "/o", command: "true" },
  ],
};

describe("zellij tabs with panes", () => {
  it("writes one tab with nested split boxes; each pane runs the wrapper with its own slot", () => {
    const f = files(threePanes);
    const tabs = readTabs(f.layout);
    expect(tabs.map((t) => t.name)).toEqual(["work", "other"]);
    // Tab 0's panes are slots 0, 2, 3 (tab 1 is slot 1): right = vertical, down = horizontal.
    expect(tabs[0]!.panes).toEqual([
      {
        dir: "vertical",
        kids: [
          { slot: "0", size: "60%", name: `work (mc run ${RUN})` },
          {
            dir: "horizontal",
            size: "40%",
            kids: [
              { slot: "2", cwd: "/w/b", name: `work (mc run ${RUN})` },
              { slot: "3", size: 5, focus: true, cwd: "/w", name: `work (mc run ${RUN})` },
            ],
          },
        ],
      },
    ]);
    expect(tabs[1]!.panes).toEqual([{ slot: "1", name: `other (mc run ${RUN})` }]);
    // The wrapper has a case per slot, and each slot its command file.
    for (const slot of [0, 1, 2, 3]) expect(f.tabScript).toMatch(new RegExp(`^  ${slot}\\) `, "m"));
    expect(f.commandFiles.map((c) => c.path).sort()).toHaveLength(4);
  });

  it("creates every pane of a held-back tab suspended, and no other", () => {
    const tabs = readTabs(files(threePanes, [0]).layout);
    const leaves = (n: Read | ReadBox): Read[] => ("kids" in n ? n.kids.flatMap(leaves) : [n]);
    expect(tabs[0]!.panes.flatMap(leaves).map((p) => p.held)).toEqual([true, true, true]);
    expect(tabs[1]!.panes.flatMap(leaves).map((p) => p.held)).toEqual([undefined]);
  });

  it("gives a tab's named layout its shape (main-vertical: the first pane, then the rest stacked)", () => {
    const layout: LayoutConfig = {
      layoutName: "l",
      layoutTabs: [
        {
          tabName: "t",
          startDir: "/",
          command: "true",
          layout: "main-vertical",
          panes: [{ size: 3 }, { split: "right" }, { split: "right" }],
        },
      ],
    };
    const [tab] = readTabs(files(layout).layout);
    const strip = (n: Read | ReadBox): unknown =>
      "kids" in n ? { dir: n.dir, kids: n.kids.map(strip) } : n.slot;
    expect(tab!.panes.map(strip)).toEqual([
      { dir: "vertical", kids: ["0", { dir: "horizontal", kids: ["1", "2", "3"] }] },
    ]);
  });

  it("focuses only the first pane that asks for it", () => {
    const layout: LayoutConfig = {
      layoutName: "l",
      layoutTabs: [
        {
          tabName: "t",
          startDir: "/",
          command: "true",
          panes: [{ focus: true }, { focus: true, split: "down" }],
        },
      ],
    };
    expect(files(layout).layout.match(/focus=true/g)).toHaveLength(1);
  });

  const nasty = fc.oneof(
    fc.string({ unit: "binary", maxLength: 30 }),
    fc.constantFrom('"', "\\", "}\n}\nlayout {", "$HOME", "${X}", "~", "\u2028", "/*", "🚀", 'x" focus=true'),
  );

  it("property: any pane command, startDir, env and tab name survive the KDL round trip", () => {
    fc.assert(
      fc.property(
        nasty.filter(
          (s) => s.length > 0 && !/[\ud800-\udfff]/u.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, "")),
        ),
        fc.array(
          fc.record({
            command: nasty,
            startDir: nasty.map((s) => `/${s}`),
            split: fc.constantFrom("right" as const, "down" as const),
            size: fc.oneof(
              fc.integer({ min: 1, max: 99 }).map((n) => `${n}%`),
              fc.integer({ min: 1, max: 500 }),
            ),
          }),
          { minLength: 1, maxLength: 5 },
        ),
        (tabName, panes) => {
          const layout: LayoutConfig = {
            layoutName: "l",
            layoutTabs: [{ tabName, startDir: "/", command: "true", panes }],
          };
          const [tab] = readTabs(files(layout).layout);
          const leaves = (n: Read | ReadBox): Read[] => ("kids" in n ? n.kids.flatMap(leaves) : [n]);
          const got = tab!.panes.flatMap(leaves);
          expect(tab!.name).toBe(tabName);
          // Panes split from the one before stay in order: slots 0 (the tab's own), 1, 2, …
          expect(got.map((p) => p.slot)).toEqual([...Array(panes.length + 1).keys()].map(String));
          got.slice(1).forEach((p, i) => {
            const dir = panes[i]!.startDir;
            expect(p.cwd).toBe(isLiteralPath(dir) ? dir : undefined);
            expect(p.name).toBe(`${tabName} (mc run ${RUN})`);
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});
