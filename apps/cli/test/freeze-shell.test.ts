import { describe, expect, it } from "vitest";
import { shellOperand } from "../src/convert/freeze-tmux.js";

describe("freeze: a pane's own shell at its prompt, or running a script (reviews H32-3, H47-5)", () => {
  it("an option's value is not a script; a word after the options is", () => {
    for (const argv of [
      ["bash"],
      ["-bash"],
      ["bash", "--norc", "-i"],
      ["bash", "--norc", "-lo", "vi"],
      ["bash", "--rcfile", "x.rc"],
      ["bash", "+O", "extglob"],
      ["zsh", "-d", "-f"],
      ["zsh", "--emulate", "sh"],
      ["fish", "-C", "set x 1"],
      ["fish", "--init-command", "set x 1"],
      ["/usr/bin/fish", "-l"],
    ])
      expect(shellOperand(argv), argv.join(" ")).toBe(false);
    for (const argv of [
      ["/bin/sh", "/tmp/prog.sh", "a1"],
      ["bash", "-l", "script.sh"],
      ["bash", "--", "script.sh"],
      ["zsh", "-d", "script.zsh"],
      ["fish", "-C", "set x 1", "script.fish"],
    ])
      expect(shellOperand(argv), argv.join(" ")).toBe(true);
  });
});
