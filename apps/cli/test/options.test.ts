import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidArgumentError } from "commander";
import { describe, expect, it, vi } from "vitest";
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

describe("an option left without its value never takes the next option as it (review H61-1)", () => {
  it("every value option of every command, followed by another option: exit 2, said, nothing run", async () => {
    const { buildProgram, main } = await import("../src/main.js");
    const state = { out: undefined as never, code: 0 };
    const program = buildProgram(state);
    const home = mkdtempSync(join(tmpdir(), "mc-h611-"));
    const saved = { HOME: process.env.HOME, MC_STATE_DIR: process.env.MC_STATE_DIR };
    process.env.HOME = home;
    process.env.MC_STATE_DIR = join(home, "state");
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((s) => {
      written.push(String(s));
      return true;
    });
    const out = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    const cases: string[][] = [];
    for (const cmd of program.commands) {
      const positional = [
        ...cmd.registeredArguments.filter((a) => a.required).map(() => "x"),
        ...cmd.options.filter((o) => o.mandatory).map((o) => `${o.long}=${o.argChoices?.[0] ?? "1"}`),
      ];
      const values = [...cmd.options, ...program.options].filter((o) => o.required);
      for (const o of values) {
        for (const next of ["--json", "--help", "-h", "--"])
          cases.push([cmd.name(), ...positional, o.long!, next]);
        // In a group of short flags, the last one taking the next word (review H62-1: `run -mf --dry-run`).
        const bool = cmd.options.find((b) => !b.required && !b.optional && b.short && !b.negate);
        if (o.short && bool)
          cases.push([cmd.name(), ...positional, `${bool.short}${o.short.slice(1)}`, "--json"]);
      }
    }
    try {
      expect(cases.length).toBeGreaterThan(40);
      for (const args of cases) {
        written.length = 0;
        const code = await main(["node", "sessions", ...args]);
        expect({ args, code }).toEqual({ args, code: 2 });
        // Said by mc, or by commander or the option's own parser where they refuse the word as its value.
        const word = args.at(-2)!;
        const opt = word.startsWith("--") ? word : `-${word.at(-1)}`;
        expect(written.join(""), args.join(" ")).toMatch(
          new RegExp(`${opt}( \\(in ${word}\\))? needs a value|${opt}[^']*' argument`),
        );
      }
      // --option=VALUE still gives a value that starts with -.
      written.length = 0;
      expect(await main(["node", "sessions", "validate", "--state-dir=--x", join(home, "none.json")])).toBe(
        3,
      );
      expect(written.join("")).not.toContain("needs a value");
      expect(existsSync(join(home, "state"))).toBe(false);
    } finally {
      spy.mockRestore();
      out.mockRestore();
      Object.assign(process.env, saved);
      rmSync(home, { recursive: true, force: true });
    }
  });
});
