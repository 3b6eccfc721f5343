import { readFileSync } from "node:fs";
import { defineConfig } from "tsup";
import { base } from "../../tsup.base.ts";

const { version } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as {
  version: string;
};

// bin.ts answers --version without loading anything; main.ts and its dependencies load only for real work.
// Backends stay external and are imported on demand, so a missing one is a clear error, not a crash.
export default defineConfig(
  base(
    { bin: "src/bin.ts", main: "src/main.ts" },
    {
      dts: false,
      splitting: true,
      define: { __MC_VERSION__: JSON.stringify(version) },
      external: ["@mc/core", "@mc/tmux", "@mc/zellij", "@mc/wt", "@mc/remote"],
    },
  ),
);
