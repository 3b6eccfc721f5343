import { execFile, execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The built `sessions` binary: the end-to-end tests run what a user installs. */
export const BIN = join(import.meta.dirname, "..", "dist", "bin.cjs");

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

/** A private directory, tmux server and state directory for one test file's runs of the binary. */
export interface CliSandbox {
  dir: string;
  /** The tmux server's socket (`--socket`). */
  sock: string;
  env: NodeJS.ProcessEnv;
}

/**
 * Make a {@link CliSandbox}: `/bin/sh` as the user's shell, no colour, no enclosing tmux, and a session of
 * someone else's on the server that keeps it up and must never be touched.
 */
export function cliSandbox(prefix: string): CliSandbox {
  requireBuilt();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const sock = join(dir, "sock");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SHELL: "/bin/sh",
    MC_STATE_DIR: join(dir, "state"),
    NO_COLOR: "1",
  };
  delete env.TMUX;
  delete env.FORCE_COLOR;
  execFileSync("tmux", ["-S", sock, "-f", "/dev/null", "new-session", "-d", "-s", "keeper", "sleep 100000"], {
    env,
  });
  return { dir, sock, env };
}

/**
 * Remove a test's sandbox at the end of its file. A tab killed with its server may still write its end
 * record or log a moment after (5 s of retries were too little once on a loaded CI machine): retried for up
 * to 20 s, then what still writes there is said (a leak to look at), without failing the file's tests.
 */
export function removeSandbox(dir: string): void {
  const end = Date.now() + 20_000;
  for (;;) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
      return;
    } catch (e) {
      if (Date.now() > end) {
        const who = spawnSync("pgrep", ["-af", dir], { encoding: "utf8" }).stdout.trim();
        console.warn(
          `[mc test] could not remove ${dir}: ${(e as Error).message}; still running there: ${who || "nothing"}`,
        );
        return;
      }
    }
  }
}
