import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { layoutsJsonSchema } from "../src/schema.js";

describe("JSON Schema", () => {
  it("the shipped schema file is the one generated from zod", () => {
    const shipped = JSON.parse(
      readFileSync(join(import.meta.dirname, "..", "schema", "layouts.schema.json"), "utf8"),
    );
    expect(shipped).toEqual(layoutsJsonSchema());
  });
  it("forbids unknown keys and requires the fields machineconfig reads (not version: review H31-5)", () => {
    const s = layoutsJsonSchema() as { required: string[]; additionalProperties: boolean };
    expect(s.required).toEqual(["layouts"]);
    expect(s.additionalProperties).toBe(false);
  });
});
