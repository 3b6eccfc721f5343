import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatIssues, loadLayoutsFile, parseLayouts, readLayoutsFile } from "../src/validate.js";

const fixtures = join(import.meta.dirname, "fixtures");

describe("loading machineconfig's format", () => {
  it("loads a machineconfig layouts file unchanged", async () => {
    const file = await readLayoutsFile(join(fixtures, "valid", "machineconfig-layout.json"));
    expect(file.$schema).toBe("https://bit.ly/cfglayout");
    expect(file.layouts[0]?.layoutTabs.map((t) => [t.tabName, t.tabWeight])).toEqual([
      ["build", 0],
      ["top", 0],
      ["log", undefined],
    ]);
    expect(file.layouts[0]?.layoutTabs[2]?.command).toBe("git log HEAD~1 | head -n 5");
  });

  it("accepts comments and trailing commas (JSONC)", async () => {
    const r = await loadLayoutsFile(join(fixtures, "valid", "with-comments.jsonc"));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.layouts[0]?.layoutTabs).toHaveLength(2);
  });

  it("warns on an unknown version but loads", () => {
    const r = parseLayouts(
      '{"version": "9", "layouts": [{"layoutName": "a", "layoutTabs": [{"tabName": "t", "startDir": "~", "command": "ls"}]}]}',
    );
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.warnings.map((w) => w.message)).toEqual(['unknown version "9"; read as "0.1"']);
  });

  it("reports a missing file and a directory plainly", async () => {
    const missing = await loadLayoutsFile(join(fixtures, "nope.json"));
    expect(!missing.ok && missing.issues[0]?.message).toBe("no such file");
    const dir = await loadLayoutsFile(fixtures);
    expect(!dir.ok && dir.issues[0]?.message).toBe("is a directory, not a layouts file");
  });

  it("throws one LAYOUT_INVALID error that lists every issue", async () => {
    const err = await readLayoutsFile(join(fixtures, "malformed", "33-many-problems.json")).catch((e) => e);
    expect(err.code).toBe("LAYOUT_INVALID");
    expect(err.details).toHaveLength(5);
    expect(err.message).toContain("has 5 problems");
  });
});

describe("malformed corpus: each file gives its exact message", () => {
  const dir = join(fixtures, "malformed");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort();
  it("has at least 30 files", () => expect(files.length).toBeGreaterThanOrEqual(30));
  for (const f of files) {
    it(f, async () => {
      const r = await loadLayoutsFile(join(dir, f));
      expect(r.ok).toBe(false);
      if (r.ok) return;
      const expected = readFileSync(join(dir, f.replace(/\.json$/, ".expected")), "utf8");
      expect(`${formatIssues(r.issues, f)}\n`).toBe(expected);
    });
  }
});
