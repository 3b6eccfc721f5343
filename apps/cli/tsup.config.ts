import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { defineConfig, type Options } from "tsup";
import { base } from "../../tsup.base.ts";

const { version } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as {
  version: string;
};

// bin.ts answers --version without loading anything. Everything else, the backends included, is bundled
// into chunks loaded on demand: one file per concern instead of hundreds of small modules keeps the
// start-up of `sessions run` close to node's own (loading @mc/core's dependencies unbundled cost ~160 ms).
// zod re-exports every locale (`z.locales`, ~370 KB of its ~900 KB) that mc never uses: it reports in
// English, through zod's own `en` (which zod's schemas import directly). Parsing them cost every command
// ~10 ms, so the bundle gets a locales module holding `en` alone.
const zodEnglishOnly: NonNullable<Options["esbuildPlugins"]>[number] = {
  name: "zod-english-only",
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/]/.test(args.importer)
        ? { path: join(dirname(args.importer), "../locales/index.js"), namespace: "zod-en" }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "zod-en" }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(join(dirname(args.path), "en.js"))};`,
      loader: "js",
      resolveDir: dirname(args.path),
    }));
  },
};

export default defineConfig(
  base(
    { bin: "src/bin.ts", main: "src/main.ts" },
    {
      dts: false,
      splitting: true,
      // Less for node to parse on every start (~14 ms of a `run`); stack traces map back through the
      // source maps (MC_DEBUG=1, node --enable-source-maps).
      minify: true,
      esbuildPlugins: [zodEnglishOnly],
      define: { __MC_VERSION__: JSON.stringify(version) },
      noExternal: [/.*/],
      // Bundled CommonJS dependencies (cross-spawn in execa) call require() for node built-ins.
      banner: {
        js: "import { createRequire as __mcCreateRequire } from 'node:module'; const require = __mcCreateRequire(import.meta.url);",
      },
    },
  ),
);
