import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normaliseStartDir } from "../src/paths.js";
import { shQuote } from "../src/quote.js";

describe("normaliseStartDir", () => {
  const home = "/home/u";
  it.each([
    ["~", home],
    ["~/", home],
    ["~/src/app", "/home/u/src/app"],
    ["$HOME", home],
    ["$HOME/x", "/home/u/x"],
    ["${HOME}", home],
    ["${HOME}/x y", "/home/u/x y"],
    ["/abs/~/x", "/abs/~/x"],
    ["~user/x", "~user/x"],
    ["$HOMEDIR/x", "$HOMEDIR/x"],
    ["./rel/$HOME", "./rel/$HOME"],
    ["HEAD~1", "HEAD~1"],
  ])("%s → %s", (input, out) => expect(normaliseStartDir(input, home)).toBe(out));

  it("only ever changes the start", () => {
    fc.assert(
      fc.property(fc.string(), (rest) => {
        const r = normaliseStartDir(`/x${rest}`, home);
        expect(r).toBe(`/x${rest}`);
      }),
    );
  });
});

describe("shQuote", () => {
  it("round-trips any string through a real sh", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary" }).filter((s) => !s.includes("\0")),
        (s) => {
          const out = execFileSync("/bin/sh", ["-c", `printf '%s' ${shQuote(s)}`]).toString();
          expect(out).toBe(Buffer.from(s).toString());
        },
      ),
      { numRuns: 200 },
    );
  });
});
