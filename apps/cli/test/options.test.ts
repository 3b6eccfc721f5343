import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import { int, num } from "../src/program/options.js";

const refused = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError);
    return (e as Error).message;
  }
  throw new Error("accepted");
};

describe("numeric flags are strict decimal, with one wording naming the flag and its real range", () => {
  it("a whole number: digits only, at least min", () => {
    expect(int("--max-threshold", 1)("16")).toBe(16);
    expect(int("--lines")("0")).toBe(0);
    for (const v of ["0x10", "0b1", "0o7", "1e1", "2.0", " 3", "3 ", "", "+3", "-1", "٣", "Infinity", "NaN"])
      expect(refused(() => int("--max-threshold", 1)(v))).toBe(
        "--max-threshold must be a whole number (decimal digits), 1 or more",
      );
    // 0 and -1 get the same message: the range is said once, the same way.
    expect(refused(() => int("--max-threshold", 1)("0"))).toBe(
      refused(() => int("--max-threshold", 1)("-1")),
    );
    expect(refused(() => int("--tail")("-1"))).toBe(
      "--tail must be a whole number (decimal digits), 0 or more",
    );
    expect(refused(() => int("--num-tabs", 1)("100001"))).toContain("at most 100000");
    expect(refused(() => int("--num-tabs", 1)("99999999999999999999"))).toContain("at most 100000");
  });

  it("seconds: decimal, at least min, no hex, exponent, sign or spaces", () => {
    expect(num("--interval", 0.1)("0.5")).toBe(0.5);
    expect(num("--interval", 0.1)(".5")).toBe(0.5);
    expect(num("--timeout")("0")).toBe(0);
    for (const v of ["0x10", "1e1", "1e-1", " 2", "", "-1", "+1", "Infinity", "1.2.3", "."])
      expect(refused(() => num("--interval", 0.1)(v))).toBe(
        "--interval must be a decimal number of seconds, 0.1 or more",
      );
    expect(refused(() => num("--interval", 0.1)("0.05"))).toBe(
      "--interval must be a decimal number of seconds, 0.1 or more",
    );
  });
});
