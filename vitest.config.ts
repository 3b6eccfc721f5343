import { statSync } from "node:fs";
import { relative } from "node:path";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Longest file first across every package. Vitest's own order runs the projects one after another
 * (alphabetically), so @mc/zellij's real-binary files always started last and the run ended on one busy
 * worker. Its other rules stay: the last run's durations when every file has one, else larger files first.
 */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const weight = new Map<TestSpecification, [number, number]>();
    for (const f of files) {
      const key = `${f.project.name}:${relative(root, f.moduleId)}`;
      const last = this.ctx.cache.getFileTestResults(key);
      let size = 0;
      try {
        size = statSync(f.moduleId).size;
      } catch {}
      // A file that failed last time goes first, as in Vitest's own order.
      weight.set(f, [last ? (last.failed ? Number.POSITIVE_INFINITY : last.duration) : Number.NaN, size]);
    }
    const known = files.every((f) => !Number.isNaN(weight.get(f)![0]));
    return [...files].sort((a, b) => {
      const [da, sa] = weight.get(a)!;
      const [db, sb] = weight.get(b)!;
      return known ? (db === da ? 0 : db > da ? 1 : -1) : sb - sa;
    });
  }
}

/**
 * `pnpm test` at the root: every package's own vitest config, as one run. Four workers on CI's two
 * cores: most real-binary tests wait on tmux, zellij or sshd rather than compute, and one worker (Vitest's
 * default there) left a core idle for most of the run; with three the run took 621 s of 1726 s of tests.
 */
export default defineConfig({
  test: {
    projects: ["packages/*", "apps/*"],
    maxWorkers: 4,
    sequence: { sequencer: LongestFirst },
  },
});
