import type { Options } from "tsup";

/** One tsup base for every @mc package: ESM, d.ts, node20, sourcemaps. */
export function base(entry: Options["entry"], extra: Partial<Options> = {}): Options {
  return {
    entry,
    format: ["esm"],
    target: "node20",
    platform: "node",
    dts: true,
    sourcemap: true,
    clean: true,
    splitting: false,
    ...extra,
  };
}
