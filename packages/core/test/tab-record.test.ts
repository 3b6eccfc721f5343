import { describe, expect, it } from "vitest";
import { parseTabRecord } from "../src/tab-record.js";

describe("parseTabRecord", () => {
  it("takes the records mc's wrappers write (times with milliseconds, Windows' negative exit codes)", () => {
    for (const text of [
      '{"v":1,"pid":42,"start":1700000000.123,"attempt":1}\n',
      '{"v":1,"pid":42,"up":9876543,"start":1700000000.123,"attempt":1}\n',
      '{"v":1,"pid":42,"start":1700000000,"end":1700000001.5,"attempt":2,"exit":3}',
      '{"v":1,"pid":42,"start":1,"end":2,"attempt":1,"signal":"HUP"}',
      '{"v":1,"pid":42,"start":1,"end":2,"attempt":1,"exit":126,"error":"startDir"}',
      '{"v":1,"pid":42,"start":1,"end":2,"attempt":1,"exit":-1073741510}',
      // A tab the scheduler skipped (a dependency failed): no process ever ran it.
      '{"v":1,"pid":0,"start":1,"end":1,"exit":125,"error":"dependency"}',
    ])
      expect(parseTabRecord(text), text).toBeDefined();
  });

  it("calls a record with any field of another type damaged, never half-believed (review H72-5)", () => {
    const good = { v: 1, pid: 42, start: 1, end: 2, attempt: 1, exit: 0 };
    const wrong: Record<string, unknown[]> = {
      v: [2, "1", null, undefined],
      pid: [-1, 1.5, "42", null, undefined, 2 ** 60],
      start: ["1", null, undefined, true],
      end: ["2", null, {}],
      exit: ["0", 1.5, null, [], "\u001b[31m0"],
      signal: [1, null, "x".repeat(65)],
      error: [3, null, ["startDir"]],
      attempt: [0, -1, 1.5, "2", null],
      up: [-1, 1.5, "9", null],
    };
    for (const [key, values] of Object.entries(wrong))
      for (const value of values) {
        const text = JSON.stringify({ ...good, [key]: value });
        // JSON.stringify drops a key whose value is undefined: v, pid and start are required.
        expect(parseTabRecord(text), text).toBeUndefined();
      }
    for (const text of ["[1]", "null", "1", '"x"', "{", '{"v":1}'])
      expect(parseTabRecord(text), text).toBeUndefined();
  });
});
