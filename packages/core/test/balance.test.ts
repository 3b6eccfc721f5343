import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { balanceLoad } from "../src/balance.js";
import { resolveStartDir } from "../src/paths.js";
import type { LayoutConfig } from "../src/schema.js";
import { parseLayouts } from "../src/validate.js";

/** The commands a merged tab runs, in order (`a; b`), read back from its driver's arguments; a plain tab's command. */
function partsOf(command: string): string {
  const m = /' mc-merged (.*)$/s.exec(command);
  if (!m) return command;
  const words = [...m[1]!.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map((w) =>
    (w[1] ?? w[2]!).replace(/'\\''/g, "'"),
  );
  return words.filter((_, i) => i % 3 === 2).join("; ");
}

const L = (name: string, weights: number[]): LayoutConfig => ({
  layoutName: name,
  layoutTabs: weights.map((w, i) => ({ tabName: `t${i}`, startDir: "~", command: `job${i}`, tabWeight: w })),
});
const names = (ls: LayoutConfig[]) => ls.map((l) => [l.layoutName, l.layoutTabs.map((t) => t.tabName)]);

describe("balanceLoad: reference §5 worked examples (bugs fixed)", () => {
  it("number/moreLayouts: 10 tabs, max 4 → 4+4+2", () => {
    const r = balanceLoad([L("L", Array(10).fill(1))], {
      maxThreshold: 4,
      thresholdType: "number",
      breakingMethod: "moreLayouts",
    });
    expect(names(r.layouts)).toEqual([
      ["L_part1", ["t0", "t1", "t2", "t3"]],
      ["L_part2", ["t4", "t5", "t6", "t7"]],
      ["L_part3", ["t8", "t9"]],
    ]);
  });

  it("number/combineTabs: 10 tabs, max 4 → exactly 4 tabs (3,3,2,2), not 3+3+3+1", () => {
    const r = balanceLoad([L("L", Array(10).fill(1))], {
      maxThreshold: 4,
      thresholdType: "number",
      breakingMethod: "combineTabs",
    });
    const tabs = r.layouts[0]!.layoutTabs;
    expect(tabs.map((t) => [t.tabName, partsOf(t.command), t.tabWeight])).toEqual([
      ["super_tab_1", "job0; job1; job2", 3],
      ["super_tab_2", "job3; job4; job5", 3],
      ["super_tab_3", "job6; job7", 2],
      ["super_tab_4", "job8; job9", 2],
    ]);
  });

  it("combineTabs: a merged tab weighs at most the largest tabWeight, and says so (review H44-7)", () => {
    const max = Number.MAX_SAFE_INTEGER;
    const r = balanceLoad([L("Y", [max, max, 1])], {
      maxThreshold: 1,
      thresholdType: "number",
      breakingMethod: "combineTabs",
    });
    expect(r.layouts[0]!.layoutTabs.map((t) => t.tabWeight)).toEqual([max]);
    expect(r.warnings.join("\n")).toMatch(/over the largest tabWeight/);
    const file = JSON.stringify({ version: "0.1", layouts: r.layouts });
    expect(parseLayouts(file).ok).toBe(true);
  });

  it("number/combineTabs: 9 tabs → 4 tabs, 5 tabs → 4 tabs (machineconfig gave 3 and 3)", () => {
    for (const n of [9, 5]) {
      const r = balanceLoad([L("L", Array(n).fill(1))], {
        maxThreshold: 4,
        thresholdType: "number",
        breakingMethod: "combineTabs",
      });
      expect(r.layouts[0]!.layoutTabs).toHaveLength(4);
    }
    const five = balanceLoad([L("L", Array(5).fill(1))], {
      maxThreshold: 4,
      thresholdType: "number",
      breakingMethod: "combineTabs",
    });
    expect(five.layouts[0]!.layoutTabs.map((t) => t.tabName)).toEqual(["super_tab_1", "t2", "t3", "t4"]);
  });

  it("weight/moreLayouts: [3,2,2,5,1,4], max 5", () => {
    const r = balanceLoad([L("W", [3, 2, 2, 5, 1, 4])], {
      maxThreshold: 5,
      thresholdType: "weight",
      breakingMethod: "moreLayouts",
    });
    expect(names(r.layouts)).toEqual([
      ["W_part1", ["t0", "t1"]],
      ["W_part2", ["t2"]],
      ["W_part3", ["t3"]],
      ["W_part4", ["t4", "t5"]],
    ]);
  });

  it("weight/combineTabs: super tabs never exceed the threshold", () => {
    const r = balanceLoad([L("W", [3, 2, 2, 5, 1, 4])], {
      maxThreshold: 5,
      thresholdType: "weight",
      breakingMethod: "combineTabs",
    });
    expect(r.layouts[0]!.layoutTabs.map((t) => [t.tabName, partsOf(t.command), t.tabWeight])).toEqual([
      ["super_tab_1", "job0; job1", 5],
      ["t2", "job2", 2],
      ["t3", "job3", 5],
      ["super_tab_4", "job4; job5", 5],
    ]);
  });

  it("reports a tab heavier than the threshold", () => {
    const r = balanceLoad([L("H", [7, 1])], {
      maxThreshold: 5,
      thresholdType: "weight",
      breakingMethod: "moreLayouts",
    });
    expect(r.warnings).toEqual(['layout "H", tab "t0": weight 7 is over the threshold 5 on its own']);
  });

  it("generated names never collide with existing layouts", () => {
    const r = balanceLoad([L("A", [1, 1, 1]), L("A_part1", [1])], {
      maxThreshold: 2,
      thresholdType: "number",
      breakingMethod: "moreLayouts",
    });
    expect(r.layouts.map((l) => l.layoutName)).toEqual(["A_part2", "A_part3", "A_part1"]);
  });

  it("a part whose directory is gone by then does not run elsewhere: the tab fails naming it (review HR86-3)", () => {
    const root = mkdtempSync(join(tmpdir(), "mc-merge-"));
    try {
      mkdirSync(join(root, "a"));
      const log = join(root, "log");
      const layout: LayoutConfig = {
        layoutName: "G",
        layoutTabs: [
          { tabName: "one", startDir: join(root, "a"), command: `pwd >> '${log}'` },
          { tabName: "two", startDir: join(root, "gone"), command: `echo "ran in $(pwd)" >> '${log}'` },
        ],
      };
      const r = balanceLoad([layout], {
        maxThreshold: 1,
        thresholdType: "number",
        breakingMethod: "combineTabs",
      });
      const merged = r.layouts[0]!.layoutTabs[0]!;
      const run = spawnSync("/bin/sh", ["-c", merged.command], {
        cwd: join(root, "a"),
        env: { PATH: process.env.PATH, HOME: root, SHELL: "/bin/sh" },
        encoding: "utf8",
      });
      expect(run.status).not.toBe(0);
      expect(run.stderr).toMatch(/mc: part "two" failed/);
      expect(readFileSync(log, "utf8").split("\n").filter(Boolean)).toEqual([join(root, "a")]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("a merged tab runs every part in its own directory and subshell, and fails naming the part", () => {
    const root = mkdtempSync(join(tmpdir(), "mc-merge-"));
    try {
      mkdirSync(join(root, "a"));
      mkdirSync(join(root, "b c"));
      const home = join(root, "home");
      mkdirSync(home);
      const log = join(root, "log");
      const layout: LayoutConfig = {
        layoutName: "D",
        layoutTabs: [
          { tabName: "one", startDir: join(root, "a"), command: `pwd >> '${log}'; export X=leak;` },
          {
            tabName: "two",
            startDir: join(root, "b c"),
            command: `pwd >> '${log}'; echo "x=$X" >> '${log}'; exit 4 # comment`,
          },
          { tabName: "three", startDir: "~", command: `pwd >> '${log}' &\nwait` },
        ],
      };
      const r = balanceLoad([layout], {
        maxThreshold: 1,
        thresholdType: "number",
        breakingMethod: "combineTabs",
      });
      const merged = r.layouts[0]!.layoutTabs[0]!;
      expect(merged.startDir).toBe(join(root, "a"));
      const run = spawnSync("/bin/sh", ["-c", merged.command], {
        env: { PATH: process.env.PATH, HOME: home, SHELL: "/bin/sh" },
        encoding: "utf8",
      });
      expect(run.status).toBe(4);
      expect(run.stderr).toContain('mc: part "two" failed (exit 4)');
      expect(readFileSync(log, "utf8").split("\n").filter(Boolean)).toEqual([
        join(root, "a"),
        join(root, "b c"),
        "x=",
        home,
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("each merged part runs where the unmerged tab would: every home form and relative directories", () => {
    const root = mkdtempSync(join(tmpdir(), "mc-merge-dirs-"));
    try {
      const home = join(root, "home");
      const base = join(root, "base");
      for (const d of [
        home,
        join(home, "x"),
        base,
        join(base, "rel"),
        join(base, "rel", "sub"),
        join(root, "abs"),
      ])
        mkdirSync(d, { recursive: true });
      const forms = [
        "~",
        "~/x",
        "$HOME",
        "$HOME/x",
        "${HOME}",
        "${HOME}/x",
        "rel",
        "rel/sub",
        join(root, "abs"),
      ];
      const log = join(root, "log");
      // Every order of first tab: the merged tab's own directory depends on it.
      for (const first of forms) {
        const dirs = [first, ...forms.filter((f) => f !== first)];
        const layout: LayoutConfig = {
          layoutName: "D",
          layoutTabs: dirs.map((d, i) => ({ tabName: `t${i}`, startDir: d, command: `pwd >> '${log}'` })),
        };
        const r = balanceLoad([layout], {
          maxThreshold: 1,
          thresholdType: "number",
          breakingMethod: "combineTabs",
        });
        const merged = r.layouts[0]!.layoutTabs[0]!;
        const where = (d: string) => {
          const x = resolveStartDir(d, { home, base, platform: "posix" });
          if (!("path" in x)) throw new Error(x.error);
          return x.path;
        };
        rmSync(log, { force: true });
        const run = spawnSync("/bin/sh", ["-c", merged.command], {
          cwd: where(merged.startDir),
          env: { PATH: process.env.PATH, HOME: home, SHELL: "/bin/sh" },
          encoding: "utf8",
        });
        expect(run.stderr, `first ${first}`).toBe("");
        expect(run.status).toBe(0);
        expect(readFileSync(log, "utf8").split("\n").filter(Boolean)).toEqual(dirs.map(where));
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("property: combineTabs gives min(n, max) tabs; moreLayouts keeps every tab in order", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 10 }), (n, max) => {
        const layouts = [L("P", Array(n).fill(1))];
        const c = balanceLoad(layouts, {
          maxThreshold: max,
          thresholdType: "number",
          breakingMethod: "combineTabs",
        });
        expect(c.layouts[0]!.layoutTabs).toHaveLength(Math.min(n, max));
        const m = balanceLoad(layouts, {
          maxThreshold: max,
          thresholdType: "number",
          breakingMethod: "moreLayouts",
        });
        expect(m.layouts.flatMap((l) => l.layoutTabs.map((t) => t.tabName))).toEqual(
          layouts[0]!.layoutTabs.map((t) => t.tabName),
        );
        expect(m.layouts.every((l) => l.layoutTabs.length <= max)).toBe(true);
      }),
    );
  });
});

describe("balanceLoad keeps what the tabs need (outside review H5-13)", () => {
  /** A layout of `n` tabs where tab i may depend on earlier tabs (no cycles), some with readiness or env. */
  const layoutArb = fc
    .record({
      n: fc.integer({ min: 1, max: 9 }),
      deps: fc.array(fc.array(fc.nat(8), { maxLength: 2 }), { minLength: 9, maxLength: 9 }),
      weights: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 9, maxLength: 9 }),
      ready: fc.array(fc.boolean(), { minLength: 9, maxLength: 9 }),
    })
    .map(
      ({ n, deps, weights, ready }): LayoutConfig => ({
        layoutName: "L",
        env: { APP: "x" },
        layoutTabs: Array.from({ length: n }, (_, i) => {
          const on = [...new Set(deps[i]!.filter((d) => d < i).map((d) => `t${d}`))];
          return {
            tabName: `t${i}`,
            startDir: "~",
            command: `job${i}`,
            tabWeight: weights[i]!,
            ...(on.length ? { dependsOn: on } : {}),
            ...(ready[i] ? { readiness: { file: `/tmp/r${i}`, timeoutSeconds: 5 } } : {}),
          };
        }),
      }),
    );

  it("every file it writes validates: dependencies stay in their part, every tab kept once, the layout's env in each part (property)", () => {
    fc.assert(
      fc.property(
        layoutArb,
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom("number", "weight"),
        fc.constantFrom("moreLayouts", "combineTabs"),
        (layout, max, thresholdType, breakingMethod) => {
          const r = balanceLoad([layout], {
            maxThreshold: max,
            thresholdType: thresholdType as "number" | "weight",
            breakingMethod: breakingMethod as "moreLayouts" | "combineTabs",
          });
          const v = parseLayouts(JSON.stringify({ version: "0.1", layouts: r.layouts }));
          expect(v.ok ? [] : v.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([]);
          for (const l of r.layouts) expect(l.env).toEqual({ APP: "x" });
          // Every command runs exactly once, and a tab with settings of its own keeps them.
          const commands = r.layouts.flatMap((l) =>
            l.layoutTabs.flatMap((t) => partsOf(t.command).split("; ")),
          );
          expect(commands.sort()).toEqual(layout.layoutTabs.map((t) => t.command).sort());
          const out = new Map(r.layouts.flatMap((l) => l.layoutTabs.map((t) => [t.tabName, t] as const)));
          for (const t of layout.layoutTabs)
            if (t.readiness || t.dependsOn) expect(out.get(t.tabName)).toEqual(t);
        },
      ),
      { numRuns: 400, seed: 13 },
    );
  });

  it("a chain a → b → c split at one tab per layout stays one layout, and says so", () => {
    const r = balanceLoad(
      [
        {
          layoutName: "dp",
          layoutTabs: [
            {
              tabName: "a",
              startDir: "/tmp",
              command: "sleep 30",
              readiness: { file: "/tmp/x", timeoutSeconds: 10 },
            },
            { tabName: "b", startDir: "/tmp", command: "echo b", dependsOn: ["a"] },
            { tabName: "c", startDir: "/tmp", command: "echo c", dependsOn: ["b"] },
            { tabName: "d", startDir: "/tmp", command: "echo d" },
          ],
        },
      ],
      { maxThreshold: 1, thresholdType: "number", breakingMethod: "moreLayouts" },
    );
    expect(names(r.layouts)).toEqual([
      ["dp_part1", ["a", "b", "c"]],
      ["dp_part2", ["d"]],
    ]);
    expect(r.warnings.join("\n")).toMatch(/"a", "b", "c" depend on one another and stay in one layout/);
  });

  it("a layout that cannot be split keeps its name (no lone _part1), and no warning counts 1 part", () => {
    const chain = (name: string) => ({
      layoutName: name,
      onStart: "echo up",
      layoutTabs: [
        { tabName: "a", startDir: "/tmp", command: "echo a" },
        { tabName: "b", startDir: "/tmp", command: "echo b", dependsOn: ["a"] },
        { tabName: "c", startDir: "/tmp", command: "echo c", dependsOn: ["b"] },
      ],
    });
    const opts = { maxThreshold: 2, thresholdType: "number", breakingMethod: "moreLayouts" } as const;
    const r = balanceLoad([chain("W")], opts);
    expect(names(r.layouts)).toEqual([["W", ["a", "b", "c"]]]);
    expect(r.report[0]).toMatchObject({ layoutName: "W", action: "kept", into: ["W"] });
    expect(r.warnings.join("\n")).toMatch(/"W" cannot be split: it is kept as it is, over the threshold 2/);
    expect(r.warnings.join("\n")).not.toMatch(/\b1 parts\b/);
    // Balancing again is a no-op: W_part1 does not become W_part1_part1.
    const again = balanceLoad([chain("W_part1")], opts);
    expect(names(again.layouts)).toEqual([["W_part1", ["a", "b", "c"]]]);
  });
});
