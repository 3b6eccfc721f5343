import { defineConfig } from "vitest/config";

/**
 * The settings every package's tests share. Packages resolve each other through the `@mc/source` export
 * condition (their `src/`), so no test waits for a build; `pnpm --filter <pkg> test` runs one package.
 */
export const shared = defineConfig({
  resolve: { conditions: ["@mc/source"] },
  ssr: { resolve: { conditions: ["@mc/source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
