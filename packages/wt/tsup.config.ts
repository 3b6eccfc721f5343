import { defineConfig } from "tsup";
import { base } from "../../tsup.base.ts";

export default defineConfig(
  base({ index: "src/index.ts", "testing/index": "src/testing/index.ts" }, { external: ["@mc/core"] }),
);
