import { readFileSync } from "node:fs";
import { defineConfig } from "tsup";
import { base } from "../../tsup.base.ts";

const { version } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as {
  version: string;
};

// bin.ts answers --version without loading anything. Everything else, the backends included, is bundled
// into chunks loaded on demand: one file per concern instead of hundreds of small modules keeps the
// start-up of `sessions run` close to node's own (loading @mc/core's dependencies unbundled cost ~160 ms).
export default defineConfig(
  base(
    { bin: "src/bin.ts", main: "src/main.ts" },
    {
      dts: false,
      splitting: true,
      define: { __MC_VERSION__: JSON.stringify(version) },
      noExternal: [/.*/],
      // Bundled CommonJS dependencies (cross-spawn in execa) call require() for node built-ins.
      banner: {
        js: "import { createRequire as __mcCreateRequire } from 'node:module'; const require = __mcCreateRequire(import.meta.url);",
      },
    },
  ),
);
