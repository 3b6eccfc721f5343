import { defineConfig } from "tsup";
import { base } from "../../tsup.base.ts";

export default defineConfig(
  base(
    {
      index: "src/index.ts",
      tmux: "src/tmux.ts",
      zellij: "src/zellij.ts",
      wt: "src/wt.ts",
      testing: "src/testing.ts",
    },
    { external: ["@mc/core", "@mc/tmux", "@mc/zellij", "@mc/wt"] },
  ),
);
