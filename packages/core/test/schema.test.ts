import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { layoutsJsonSchema, MACHINECONFIG_SCHEMA_URL, schemaLine } from "../src/schema.js";

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
  it("says how a readiness command runs: the tab's shell, and without the tab's or layout's env (review H67-6)", () => {
    const text = JSON.stringify(layoutsJsonSchema());
    const described = /"command":\{[^{}]*"description":"(Ready once this command exits 0[^"]*)"/.exec(
      text,
    )?.[1];
    expect(described).toMatch(/with the tab's shell/);
    expect(described).toMatch(/WITHOUT the tab's or the layout's env/);
  });
});

describe("schemaLine: machineconfig's $schema only where its schema allows every key (review H61-7)", () => {
  const tab = { tabName: "t", startDir: "~", command: "true" };
  it("is machineconfig's for its own keys alone, none once a layout or tab uses one of mc's", () => {
    expect(schemaLine([{ layoutName: "a", layoutTabs: [{ ...tab, tabWeight: 2 }] }])).toEqual({
      $schema: MACHINECONFIG_SCHEMA_URL,
    });
    expect(schemaLine([{ layoutName: "a", layoutTabs: [{ ...tab, env: { A: "1" } }] }])).toEqual({});
    expect(schemaLine([{ layoutName: "a", env: { A: "1" }, layoutTabs: [tab] } as never])).toEqual({});
    expect(
      schemaLine([
        { layoutName: "a", layoutTabs: [tab] },
        { layoutName: "b", layoutTabs: [{ ...tab, panes: [{ command: "x" }] }] },
      ] as never),
    ).toEqual({});
  });
});
