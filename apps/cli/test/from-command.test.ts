import { describe, expect, it } from "vitest";
import { layoutFromCommand } from "../src/commands/layouts.js";

const base = { num: 2, name: "fc", startDir: "/tmp" };
const argv = ["prog", "--%", "x|calc.exe #", "a,b", "@x", "it's", "q\u2019s", "{idx}"];

describe("create-from-command: an argv is quoted for the shell that reads the tab's command", () => {
  it("POSIX sh (tmux, zellij): each argument one word", () => {
    const l = layoutFromCommand(base, argv);
    expect(l.layoutTabs.map((t) => t.command)).toEqual(
      [0, 1].map((i) => `prog --% 'x|calc.exe #' a,b @x 'it'\\''s' 'q\u2019s' ${i}`),
    );
  });

  it("PowerShell (Windows Terminal): each argument a literal, none its syntax (review H32-15)", () => {
    const l = layoutFromCommand({ ...base, powershell: true }, argv);
    // A bare --% would end PowerShell's parsing at the | (calc.exe a second command); a,b is an array,
    // @x splats, and U+2019 is a single quote to PowerShell: all quoted, the quotes doubled.
    expect(l.layoutTabs[1]!.command).toBe(
      "& 'prog' '--%' 'x|calc.exe #' 'a,b' '@x' 'it''s' 'q\u2019\u2019s' '1'",
    );
  });

  it("one argument is a command line, as written, for either shell", () => {
    expect(layoutFromCommand({ ...base, powershell: true }, ["echo {idx}; ls"]).layoutTabs[0]!.command).toBe(
      "echo 0; ls",
    );
  });

  it("never more tabs than mc can plan, nor a file larger than it reads (review H44-2)", () => {
    expect(() => layoutFromCommand({ ...base, num: 10_001, maxTabs: 100_000 }, ["echo {idx}"])).toThrow(
      /over 10000/,
    );
    expect(
      layoutFromCommand({ ...base, num: 10_000, maxTabs: 100_000 }, ["echo {idx}"]).layoutTabs,
    ).toHaveLength(10_000);
    expect(() =>
      layoutFromCommand({ ...base, num: 9000, maxTabs: 100_000 }, [`${"x".repeat(1000)} {idx}`]),
    ).toThrow(/over 8 MiB/);
  });
});
