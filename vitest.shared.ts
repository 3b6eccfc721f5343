import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { defineConfig } from "vitest/config";

/** Tools scripts/setup.sh built into the per-user cache (a real zellij), put first on the tests' PATH. */
function toolDirs(): string[] {
  const root = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "mc-tools");
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((d) => join(root, d, "bin"))
    .filter((d) => existsSync(d))
    .sort()
    .reverse();
}

/**
 * The settings every package's tests share. Packages resolve each other through the `@mc/source` export
 * condition (their `src/`), so no test waits for a build; `pnpm --filter <pkg> test` runs one package.
 */
export const shared = defineConfig({
  resolve: { conditions: ["@mc/source"] },
  ssr: { resolve: { conditions: ["@mc/source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    env: {
      PATH: [...toolDirs(), process.env.PATH ?? ""].join(delimiter),
      // The built CLI's compile cache (apps/cli/src/compile-cache.ts): the tests' own, in this checkout
      // (not a guessable /tmp name another user could take first), never the user's.
      MC_CACHE_DIR: join(import.meta.dirname, "node_modules", ".cache", "mc-test-compile-cache"),
    },
    // Generous: CI's two cores are shared with other jobs and run three test files at once; a test that
    // waits for something polls for it, so a passing test never waits for these.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
