import { defineConfig } from "vitest/config";

/** `pnpm test` at the root: every package's own vitest config, as one run. */
export default defineConfig({
  test: { projects: ["packages/*", "apps/*"] },
});
