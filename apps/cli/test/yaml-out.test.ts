import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { yamlText } from "../src/convert/yaml-out.js";

const back = (v: unknown) => parse(yamlText(v, "header"), { version: "1.1" });

describe("yamlText: what it writes reads back as exactly the same strings", () => {
  it("a string the yaml package folded into a backslash (CI seed -327297248)", () => {
    const v = "export P7_=' ⍭𛀸ܬӁꫡ𒌲- xⱈ㌶𛇤Ꞅ' _='\n \n`id`' T32__='\u0085ḷ𐘮𛋲ꖊ0755⁌▩ሼ⼲ᝮ'";
    expect(back({ k: v, [v]: [v] })).toEqual({ k: v, [v]: [v] });
  });

  it("a line of only blanks survives (the yaml package wrote it where a reader drops the blanks; soak seed 1550786809)", () => {
    for (const v of [" \n", "  \n", "\t\n", "a\n \nb", " ", "x\n  "])
      expect(back({ k: v, list: [v], [v]: 1 }), JSON.stringify(v)).toEqual({ k: v, list: [v], [v]: 1 });
  });

  it("for any strings of risky characters, line breaks, spaces and astral characters, as keys and values", () => {
    const ch = fc.oneof(
      fc.constantFrom(
        "\n",
        " ",
        "\\",
        '"',
        "'",
        "\u0085",
        "\u2028",
        "\u2029",
        "\ufeff",
        "\t",
        "\u0000",
        "\u007f",
        "#",
        ":",
      ),
      fc.string({ unit: "grapheme", maxLength: 3 }),
      fc.string({ unit: "binary", maxLength: 3 }),
    );
    const text = fc.array(ch, { maxLength: 120 }).map((a) => a.join(""));
    fc.assert(
      fc.property(text, text, (k, v) => {
        // Lone surrogates cannot be written in YAML at all.
        fc.pre(!/[\ud800-\udfff]/.test((k + v).replace(/[\ud800-\udbff][\udc00-\udfff]/g, "")));
        expect(back({ [k]: v, list: [v, k] })).toEqual({ [k]: v, list: [v, k] });
      }),
      { numRuns: 1500 },
    );
  });
});

describe("strings the peers' readers misread are quoted (review H17-4)", () => {
  it("PyYAML's = and <<, Psych's :symbols and comma numbers", () => {
    for (const v of ["=", "<<", ":api", ":sym", "1,000", "2,5", "0,5", "-1,000.5"]) {
      const text = yamlText({ k: v, l: [v] }, "h");
      expect(text, v).toContain(`k: ${JSON.stringify(v)}`);
      expect(text, v).toContain(`- ${JSON.stringify(v)}`);
      expect(back({ k: v, l: [v] })).toEqual({ k: v, l: [v] });
    }
    // Plain strings stay plain.
    expect(yamlText({ k: "a:b", n: "1.000" }, "h")).toContain("k: a:b");
  });
});
