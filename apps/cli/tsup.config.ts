import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { defineConfig, type Options } from "tsup";
import { base } from "../../tsup.base.ts";
import { BUNDLE_HEAD, BUNDLE_TAIL } from "./src/bundle-wrapper.ts";

const { version } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as {
  version: string;
};

// bin.ts answers --version without loading anything. Everything else, the backends included, is bundled
// into one file: hundreds of small modules cost `sessions run` ~160 ms to load (@mc/core's dependencies
// unbundled).
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

// Both entries are CommonJS, each one file (no chunks): `bin.cjs` answers --version and loads `main.cjs`
// through a V8 code cache (src/compile-cache.ts), which vm.Script offers CommonJS code only; one file is
// one cache. jsonc-parser's `main` is a UMD build that requires its parts at run time: prefer `module`.
const common = (entry: Record<string, string>, extra: Partial<Options> = {}): Options =>
  base(entry, {
    format: ["cjs"],
    dts: false,
    splitting: false,
    // Two builds write one directory: neither may empty it under the other.
    clean: false,
    // Less for node to parse when there is no cache yet; stack traces map back through the source maps
    // (node --enable-source-maps, which also turns the code cache off).
    minify: true,
    esbuildPlugins: [zodEnglishOnly],
    esbuildOptions(o) {
      o.mainFields = ["module", "main"];
      // `import()` of a node built-in becomes require(): code compiled from a V8 cache has no dynamic
      // import callback ("A dynamic import callback was not specified").
      o.supported = { ...o.supported, "dynamic-import": false };
      // ASCII only (others escaped): one character outside it made node hold the whole ~1.3 MB source as a
      // two-byte string, twice its size, at every command's peak.
      o.charset = "ascii";
    },
    define: { __MC_VERSION__: JSON.stringify(version) },
    noExternal: [/.*/],
    ...extra,
  });

// main.cjs is the body of a function expression (BUNDLE_HEAD … BUNDLE_TAIL, as node's own CommonJS wrapper):
// V8 compiles the file's text as it was read, not a wrapped copy of it (~1.3 MB less at every command's
// peak). esbuild's banner keeps the source map's lines true.
export default defineConfig([
  common({ bin: "src/bin.ts" }),
  common({ main: "src/main.ts" }, { banner: { js: BUNDLE_HEAD }, footer: { js: BUNDLE_TAIL } }),
]);
