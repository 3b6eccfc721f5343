import { describe, expect, it } from "vitest";
import { inLine } from "../src/errors.js";

describe("inLine: a value from a file inside one line of a message", () => {
  it("keeps plain text, and escapes every control a terminal acts on: C0, DEL, C1, line separators", () => {
    expect(inLine("~/src/api")).toBe("~/src/api");
    expect(inLine("a\nb")).toBe('"a\\nb"');
    const shown = inLine("x\u001b]0;t\u0007\u009b31m\u007f\u2028y");
    expect(shown).toBe('"x\\u001b]0;t\\u0007\\u009b31m\\u007f\\u2028y"');
    expect(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(shown)).toBe(false);
  });
});
