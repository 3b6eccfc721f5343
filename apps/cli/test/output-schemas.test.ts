import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { SCHEMA_NAMES } from "../src/commands/completion.js";
import { OUTPUT_SCHEMAS, outputJsonSchema } from "../src/output-schemas.js";

describe("JSON Schemas of --json outputs", () => {
  it.each(Object.keys(OUTPUT_SCHEMAS) as (keyof typeof OUTPUT_SCHEMAS)[])(
    "schema/%s.schema.json is current and compiles",
    (name) => {
      const shipped = JSON.parse(
        readFileSync(new URL(`../schema/${name}.schema.json`, import.meta.url), "utf8"),
      );
      expect(shipped).toEqual(outputJsonSchema(name));
      expect(() => new Ajv2020({ strict: false }).compile(shipped)).not.toThrow();
    },
  );
});

describe("schema names", () => {
  it("completion offers every schema sessions schema prints", () => {
    expect([...SCHEMA_NAMES].sort()).toEqual(["layouts", ...Object.keys(OUTPUT_SCHEMAS)].sort());
  });
});

describe("the layouts schema an editor reads", () => {
  it("refuses the names and commands validate refuses, where JSON Schema can say it (review HR81-6)", async () => {
    const { layoutsJsonSchema, parseLayouts } = await import("@mc/core");
    const valid = new Ajv2020({ strict: false }).compile(layoutsJsonSchema());
    const file = (tab: Record<string, unknown>, layoutName = "L") =>
      JSON.stringify({
        version: "0.1",
        layouts: [{ layoutName, layoutTabs: [{ tabName: "t", startDir: "/tmp", command: "true", ...tab }] }],
      });
    const bad: [string, string][] = [
      ["blank tabName", file({ tabName: "" })],
      ["spaces tabName", file({ tabName: " \t" })],
      ["newline tabName", file({ tabName: "a\nb" })],
      ["C1 control tabName", file({ tabName: "a\u009bb" })],
      ["line separator tabName", file({ tabName: "a\u2028b" })],
      ["bidi tabName", file({ tabName: "a\u202eb" })],
      ["long tabName", file({ tabName: "x".repeat(257) })],
      ["blank layoutName", file({}, " ")],
      ["newline layoutName", file({}, "a\rb")],
      ["blank command", file({ command: " " })],
      ["NUL command", file({ command: "a\u0000b" })],
      ["blank startDir", file({ startDir: "" })],
      ["long startDir", file({ startDir: `/${"d".repeat(4096)}` })],
    ];
    for (const [what, text] of bad) {
      expect(parseLayouts(text).ok, what).toBe(false);
      expect(valid(JSON.parse(text)), what).toBe(false);
    }
    for (const [what, text] of [
      ["plain", file({})],
      ["unicode", file({ tabName: "日本 é 🚀" })],
      ["256", file({ tabName: "x".repeat(256) })],
      ["tab in command", file({ command: "printf 'a\tb'\necho c" })],
    ] as const) {
      expect(parseLayouts(text).ok, what).toBe(true);
      expect(valid(JSON.parse(text)), what).toBe(true);
    }
  });
});
