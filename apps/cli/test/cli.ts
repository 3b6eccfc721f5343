import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** The built `sessions` binary: the end-to-end tests run what a user installs. */
export const BIN = join(import.meta.dirname, "..", "dist", "bin.js");

/** What one `sessions` invocation did. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Fail at once, with the fix, when the binary was not built. */
export function requireBuilt(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`pnpm build\` first (scripts/test.sh does)`);
}

/** Run the built `sessions` binary as a user would: its exit code and output, never a throw. */
export function runCli(
  args: readonly string[],
  o: { env: NodeJS.ProcessEnv; cwd: string; timeout?: number },
): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      "node",
      [BIN, ...args],
      { env: o.env, cwd: o.cwd, timeout: o.timeout ?? 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
