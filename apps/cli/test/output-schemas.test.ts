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
