import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planSessionNames, resolveSessionNames } from "../src/conflict.js";
import { mergeCounts, planMerge } from "../src/merge.js";
import type { ManagedSession } from "../src/run-record.js";

describe("resolveSessionNames", () => {
  it("error: lists every conflict at once", () => {
    const r = resolveSessionNames({ requested: ["a", "b", "a", "c"], existing: ["b", "z"], policy: "error" });
    expect(r).toEqual({
      ok: false,
      conflicts: [
        { index: 1, name: "b", kind: "exists" },
        { index: 2, name: "a", kind: "duplicate", first: "a", key: "a" },
      ],
    });
    expect(() => planSessionNames({ requested: ["b"], existing: ["b"], policy: "error" })).toThrow(
      /session "b" already exists/,
    );
  });

  it("rename: name_1, name_2, skipping names that exist or are requested", () => {
    const r = resolveSessionNames({
      requested: ["a", "a", "a_1", "b"],
      existing: ["a", "a_2", "b"],
      policy: "rename",
    });
    expect(r.ok && r.plan.map((p) => p.name)).toEqual(["a_3", "a_4", "a_1", "b_1"]);
  });

  it("restart: replaces existing, renames repeats inside the request", () => {
    const r = resolveSessionNames({ requested: ["a", "a", "b"], existing: ["a"], policy: "restart" });
    expect(r.ok && r.plan.map((p) => [p.name, p.action])).toEqual([
      ["a", "replace"],
      ["a_1", "create"],
      ["b", "create"],
    ]);
  });

  describe("a batch after others of the same run (-p; review HR85-4)", () => {
    it("error: a name an earlier batch asked for is a repeat, found before anything starts", () => {
      const r = resolveSessionNames({
        requested: ["dup"],
        earlier: ["dup", "x"],
        existing: [],
        policy: "error",
      });
      expect(r).toEqual({
        ok: false,
        conflicts: [{ index: 0, name: "dup", kind: "duplicate", first: "dup", key: "dup" }],
      });
      // The earlier batch's own sessions, running by now, are no conflict of this batch.
      const later = resolveSessionNames({
        requested: ["y"],
        earlier: ["x"],
        existing: ["x"],
        policy: "error",
      });
      expect(later.ok && later.plan.map((p) => [p.index, p.name, p.action])).toEqual([[0, "y", "create"]]);
    });

    for (const policy of ["restart", "merge-skip", "merge-overwrite"] as const)
      it(`${policy}: the repeat gets a copy, never the session the earlier batch started`, () => {
        // Batch 1 ("dup") runs by now.
        const r = resolveSessionNames({
          requested: ["dup", "z"],
          earlier: ["dup"],
          existing: ["dup"],
          policy,
        });
        expect(r.ok && r.plan.map((p) => [p.index, p.name, p.action])).toEqual([
          [0, "dup_1", "create"],
          [1, "z", "create"],
        ]);
        // And a copy the earlier batch made of a name it repeated is not taken either.
        const twice = resolveSessionNames({
          requested: ["a"],
          earlier: ["a", "a"],
          existing: ["a", "a_1"],
          copies: new Map([["a_1", "a"]]),
          policy,
        });
        expect(twice.ok && twice.plan.map((p) => p.name)).toEqual(["a_2"]);
      });

    it("rename: the earlier batches' names are taken, whether they run by now or not (review HR88-4)", () => {
      for (const existing of [["dup"], [], ["dup", "dup_1"]]) {
        const r = resolveSessionNames({
          requested: ["dup", "x"],
          earlier: ["dup"],
          existing,
          policy: "rename",
        });
        expect(r.ok && r.plan.map((p) => p.name), String(existing)).toEqual([
          existing.includes("dup_1") ? "dup_2" : "dup_1",
          "x",
        ]);
      }
    });
  });

  it("restart and merge: a repeat takes over the copy the same request made last time (review H50-1)", () => {
    for (const policy of ["restart", "merge-skip", "merge-overwrite"] as const) {
      const over = policy === "restart" ? "replace" : "merge";
      const first = resolveSessionNames({ requested: ["a", "a", "a"], existing: [], policy });
      expect(first.ok && first.plan.map((p) => [p.name, p.action])).toEqual([
        ["a", "create"],
        ["a_1", "create"],
        ["a_2", "create"],
      ]);
      // Run again: the same three names, each taken over; none added.
      const copies = new Map([
        ["a_1", "a"],
        ["a_2", "a"],
      ]);
      const again = resolveSessionNames({
        requested: ["a", "a", "a"],
        existing: ["a", "a_1", "a_2"],
        copies,
        policy,
      });
      expect(again.ok && again.plan.map((p) => [p.name, p.action])).toEqual([
        ["a", over],
        ["a_1", over],
        ["a_2", over],
      ]);
      // A name requested in its own right, and one mc did not start, are never taken for a repeat.
      const around = resolveSessionNames({
        requested: ["a", "a", "a_1"],
        existing: ["a", "a_2", "a_3"],
        foreign: ["a_2"],
        copies: new Map([
          ["a_2", "a"],
          ["a_3", "a"],
        ]),
        policy,
      });
      expect(around.ok && around.plan.map((p) => [p.name, p.action])).toEqual([
        ["a", over],
        ["a_3", over],
        ["a_1", "create"],
      ]);
      // mc's a_1 that is no copy of a (another file's layout a_1, or a.1 on tmux): never taken (review
      // H52-2); the repeat gets a name that exists nowhere.
      const other = resolveSessionNames({ requested: ["a", "a"], existing: ["a", "a_1"], policy });
      expect(other.ok && other.plan.map((p) => [p.name, p.action])).toEqual([
        ["a", over],
        ["a_2", "create"],
      ]);
      // The copy the last run made at a_2 (a_1 was taken then) is taken over when a_1 is free now (H52-11).
      const later = resolveSessionNames({
        requested: ["a", "a"],
        existing: ["a", "a_2"],
        copies: new Map([["a_2", "a"]]),
        policy,
      });
      expect(later.ok && later.plan.map((p) => [p.name, p.action])).toEqual([
        ["a", over],
        ["a_2", over],
      ]);
    }
  });

  it("uses the backend key: a.b and a_b are one tmux session", () => {
    const key = (s: string) => s.replace(/[.:]/g, "_");
    const r = resolveSessionNames({ requested: ["a.b"], existing: ["a_b"], policy: "rename", key });
    expect(r.ok && r.plan[0]?.name).toBe("a.b_1");
    // Names that only collide in the tool's spelling: the error names both and what they become.
    expect(() =>
      planSessionNames({ requested: ["a.b", "a_b", "a:b"], existing: [], policy: "error", key }),
    ).toThrow(/"a\.b" and "a_b" both become session "a_b"; "a\.b" and "a:b" both become session "a_b"/);
  });

  const names = fc.array(fc.constantFrom("a", "b", "a_1", "a_2", "b_1", "c", "a.b", "a_b"), {
    maxLength: 12,
  });
  const key = (s: string) => s.replace(/[.:]/g, "_");

  it("property: rename and restart give distinct names, rename never reuses an existing one", () => {
    fc.assert(
      fc.property(
        names,
        names,
        fc.constantFrom("rename" as const, "restart" as const),
        (requested, existing, policy) => {
          const r = resolveSessionNames({ requested, existing, policy, key });
          expect(r.ok).toBe(true);
          if (!r.ok) return;
          const keys = r.plan.map((p) => key(p.name));
          expect(new Set(keys).size).toBe(keys.length);
          expect(r.plan.map((p) => p.index)).toEqual(requested.map((_, i) => i));
          const ex = new Set(existing.map(key));
          for (const p of r.plan) {
            if (policy === "rename") expect(ex.has(key(p.name))).toBe(false);
            if (p.action === "replace") expect(ex.has(key(p.name))).toBe(true);
            if (p.action === "create") expect(ex.has(key(p.name))).toBe(false);
            if (!p.renamed) expect(p.name).toBe(p.requested);
            else expect(p.name.startsWith(`${p.requested}_`)).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("property: error succeeds exactly when there is no conflict", () => {
    fc.assert(
      fc.property(names, names, (requested, existing) => {
        const r = resolveSessionNames({ requested, existing, policy: "error", key });
        const ks = requested.map(key);
        const clean = new Set(ks).size === ks.length && !ks.some((k) => existing.map(key).includes(k));
        expect(r.ok).toBe(clean);
        if (r.ok) expect(r.plan.every((p) => p.name === p.requested && p.action === "create")).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe("planMerge of an edited file into a session with waiting tabs (review H59-3)", () => {
  type T = [name: string, command: string];
  const layout = (tabs: T[]) => ({
    layoutName: "ed",
    layoutTabs: tabs.map(([tabName, command]) => ({ tabName, startDir: "/w", command })),
  });
  /** Six tabs t0..t5 (command `run tN`); t0 and t1 started, t2..t5 waiting (a capped run was stopped). */
  const session = (pendingTabs = [2, 3, 4, 5]): ManagedSession => ({
    machine: "local",
    name: "ed",
    requestedName: "ed",
    layout: layout([0, 1, 2, 3, 4, 5].map((i) => [`t${i}`, `run t${i}`])),
    runDir: "/state/ed",
    artefacts: [],
    startedAt: 0,
    pendingTabs,
  });
  const t = (i: number): T => [`t${i}`, `run t${i}`];
  const plan = (tabs: T[], overwrite: boolean, old = session(), holdAdded = false) => {
    const p = planMerge(old, layout(tabs), overwrite, { holdAdded });
    const names = p.layout.layoutTabs.map((x) => x.tabName);
    return {
      p,
      names,
      /** What runs next, in order: the waiting tabs' names and commands. */
      next: p.pending.map((i) => `${names[i]}: ${p.layout.layoutTabs[i]!.command}`),
      counts: mergeCounts(p),
    };
  };

  for (const overwrite of [false, true]) {
    const policy = overwrite ? "merge-overwrite" : "merge-skip";
    it(`${policy}: deleted waiting tabs are not started, and said`, () => {
      const r = plan([t(0), t(1), t(2), t(3)], overwrite);
      expect(r.names).toEqual(["t0", "t1", "t2", "t3"]);
      expect(r.next).toEqual(["t2: run t2", "t3: run t3"]);
      expect(r.counts).toEqual({
        added: 0,
        restarted: 0,
        kept: 2,
        waiting: 2,
        renewed: 0,
        dropped: 2,
        stale: 0,
      });
    });

    it(`${policy}: a renamed waiting tab is a new tab; the old name is dropped, not run as well`, () => {
      const r = plan([t(0), t(1), t(2), t(3), t(4), ["t5x", "run t5"]], overwrite);
      expect(r.names).toEqual(["t0", "t1", "t2", "t3", "t4", "t5x"]);
      expect(r.next).toEqual(["t2: run t2", "t3: run t3", "t4: run t4"]);
      expect(r.p.actions).toEqual(["keep", "keep", "keep", "keep", "keep", "create"]);
      expect(r.counts).toMatchObject({ added: 1, dropped: 1, waiting: 3 });
    });

    it(`${policy}: waiting tabs open in the file's order; one added first is first (under a cap)`, () => {
      const r = plan([["t6", "run t6"], t(0), t(1), t(5), t(4), t(3), t(2)], overwrite, session(), true);
      expect(r.next).toEqual(["t6: run t6", "t5: run t5", "t4: run t4", "t3: run t3", "t2: run t2"]);
      // The tabs that ran keep their places (their windows, records and logs are numbered by them).
      expect(r.names.slice(0, 2)).toEqual(["t0", "t1"]);
      expect(r.counts).toEqual({
        added: 1,
        restarted: 0,
        kept: 2,
        waiting: 5,
        renewed: 0,
        dropped: 0,
        stale: 0,
      });
    });

    it(`${policy}: a waiting tab whose command changed runs the new command; one that ran is ${overwrite ? "restarted" : "kept"}`, () => {
      const r = plan([["t0", "run t0 again"], t(1), ["t2", "run t2 EDIT"], t(3), t(4), t(5)], overwrite);
      expect(r.next).toEqual(["t2: run t2 EDIT", "t3: run t3", "t4: run t4", "t5: run t5"]);
      expect(r.p.layout.layoutTabs[0]!.command).toBe(overwrite ? "run t0 again" : "run t0");
      expect(r.p.actions[0]).toBe(overwrite ? "restart" : "keep");
      expect(r.counts).toMatchObject({ renewed: 1, restarted: overwrite ? 1 : 0, waiting: 4 });
    });

    it(`${policy}: the review's edit (t6 first, t2 changed, t4 deleted, t5 renamed t5x)`, () => {
      const ed2: T[] = [["t6", "run t6"], t(0), t(1), ["t2", "run t2 EDIT"], t(3), ["t5x", "run t5"]];
      const r = plan(ed2, overwrite, session(), true);
      expect(r.names).toEqual(["t0", "t1", "t6", "t2", "t3", "t5x"]);
      expect(r.next).toEqual(["t6: run t6", "t2: run t2 EDIT", "t3: run t3", "t5x: run t5"]);
      expect(r.counts).toEqual({
        added: 2,
        restarted: 0,
        kept: 2,
        waiting: 4,
        renewed: 1,
        dropped: 2,
        stale: 0,
      });
      // Without a cap the added tabs open at once; the waiting ones still follow the file.
      const now = plan(ed2, overwrite);
      expect(now.next).toEqual(["t2: run t2 EDIT", "t3: run t3"]);
      expect(now.names.filter((_, i) => now.p.actions[i] === "create")).toEqual(["t6", "t5x"]);
    });

    it(`${policy}: dropping a waiting tab whose place a later, started tab holds is refused, nothing changed (review H63-2..4)`, () => {
      // t3 was started by hand (rerun t3) while t2, t4 and t5 waited; the file keeps t0, t1 and t3: t2's
      // place cannot be emptied (t3's window, record and log are numbered after it). Kept as a never-started
      // tab, it read failed, rerun ran its old command, and giving it back did not run it.
      expect(() => plan([t(0), t(1), t(3)], overwrite, session([2, 4, 5]))).toThrow(
        /cannot merge into session "ed": the file drops waiting tab\(s\) "t2", and tab "t3" after them has already started/,
      );
      // Another tab in its place is fine: the file's tabs fill the free places in order.
      const r = plan([t(0), t(1), ["t9", "run t9"], t(3)], overwrite, session([2, 4, 5]));
      expect(r.names).toEqual(["t0", "t1", "t9", "t3"]);
      expect(r.counts.dropped).toBe(3);
    });
  }

  it("a tab that ran whose command the file changed: merge-skip keeps it and counts it, merge-overwrite restarts it (review H63-6)", () => {
    const edit: T[] = [["t0", "run t0 FIXED"], t(1), t(2), t(3), t(4), t(5)];
    const skip = plan(edit, false);
    expect(skip.counts).toMatchObject({ restarted: 0, kept: 2, stale: 1 });
    const over = plan(edit, true);
    expect(over.counts).toMatchObject({ restarted: 1, kept: 1, stale: 0 });
  });

  it("a tab that started is kept even when the file no longer has it (it ran)", () => {
    const r = plan([t(1), t(2), t(3), t(4), t(5)], false);
    expect(r.names).toEqual(["t0", "t1", "t2", "t3", "t4", "t5"]);
    expect(r.counts).toEqual({
      added: 0,
      restarted: 0,
      kept: 2,
      waiting: 4,
      renewed: 0,
      dropped: 0,
      stale: 0,
    });
  });
});

describe("planMerge of a layout that repeats a tab name (review HR85-1)", () => {
  type T = [name: string, command: string];
  const layout = (tabs: T[]) => ({
    layoutName: "D",
    layoutTabs: tabs.map(([tabName, command]) => ({ tabName, startDir: "/w", command })),
  });
  const session = (tabs: T[], pendingTabs: number[] = []): ManagedSession => ({
    machine: "local",
    name: "D",
    requestedName: "D",
    layout: layout(tabs),
    runDir: "/state/D",
    artefacts: [],
    startedAt: 0,
    pendingTabs,
  });
  const commands = (p: ReturnType<typeof planMerge>) => p.layout.layoutTabs.map((x) => x.command);
  const twice: T[] = [
    ["t", "sleep 200"],
    ["t", "sleep 201"],
  ];

  for (const overwrite of [false, true]) {
    const policy = overwrite ? "merge-overwrite" : "merge-skip";
    it(`${policy} of the unchanged file changes nothing: each tab pairs with its own occurrence`, () => {
      const p = planMerge(session(twice), layout(twice), overwrite);
      expect(commands(p)).toEqual(["sleep 200", "sleep 201"]);
      expect(p.actions).toEqual(["keep", "keep"]);
      expect(mergeCounts(p)).toMatchObject({ added: 0, restarted: 0, kept: 2, stale: 0, dropped: 0 });
    });

    it(`${policy}: a third tab of the same name is added, not put in the first one's place`, () => {
      const p = planMerge(session(twice), layout([...twice, ["t", "sleep 202"]]), overwrite);
      expect(commands(p)).toEqual(["sleep 200", "sleep 201", "sleep 202"]);
      expect(p.actions).toEqual(["keep", "keep", "create"]);
    });

    it(`${policy}: waiting tabs of a repeated name are resumed, not dropped as gone from the file`, () => {
      const three: T[] = [...twice, ["t", "sleep 202"]];
      const p = planMerge(session(three, [1, 2]), layout(three), overwrite);
      expect(commands(p)).toEqual(["sleep 200", "sleep 201", "sleep 202"]);
      expect(p.pending).toEqual([1, 2]);
      expect(mergeCounts(p)).toMatchObject({ kept: 1, waiting: 2, dropped: 0, restarted: 0 });
    });
  }

  it("merge-overwrite restarts only the occurrence whose command changed", () => {
    const p = planMerge(session(twice), layout([twice[0]!, ["t", "sleep 999"]]), true);
    expect(commands(p)).toEqual(["sleep 200", "sleep 999"]);
    expect(p.actions).toEqual(["keep", "restart"]);
  });
});
