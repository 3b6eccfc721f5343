import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planSessionNames, resolveSessionNames } from "../src/conflict.js";

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
