import { execFile, execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { localHost, writeFileAtomic } from "@mc/core";

/** Repository root. */
export const ROOT = join(import.meta.dirname, "..", "..", "..");
/** The built CLI the suite drives as a user would. */
export const BIN = join(ROOT, "apps", "cli", "dist", "bin.cjs");
/** Where the figures of a run go (gitignore this directory). */
export const RESULTS = process.env.MC_RELIABILITY_RESULTS ?? join(ROOT, "apps", "reliability", "results");

/** Fail with a clear message when the CLI has not been built. */
export function requireCli(): void {
  if (!existsSync(BIN)) {
    throw new Error(
      `${BIN} is missing: build it first with \`pnpm --filter @mc/core --filter @mc/tmux --filter @mc/cli build\``,
    );
  }
}

/** Merge one section into `results/figures.json` (under a lock: test files run in parallel). */
export async function recordFigures(section: string, data: Record<string, unknown>): Promise<void> {
  const release = await localHost({ stateDir: RESULTS }).lock("figures", 10_000);
  try {
    const path = join(RESULTS, "figures.json");
    let all: Record<string, unknown> = {};
    try {
      all = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
    } catch {}
    all[section] = { ...data, recordedAt: new Date().toISOString() };
    await writeFileAtomic(path, `${JSON.stringify(all, null, 2)}\n`, 0o644);
  } finally {
    await release();
  }
}

/** Result of one CLI run. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `node apps/cli/dist/bin.cjs ...args` with the given environment. */
export function sessions(args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env, ...(cwd ? { cwd } : {}), timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === "number"
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Run `fn` over `items` with at most `n` at a time. */
export async function pool<T, R>(
  items: readonly T[],
  n: number,
  fn: (x: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

/** Open file descriptors of this process. */
export function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

/** Every file below `dir` (relative paths), recursively. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import("node:fs").Dirent[])
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    .sort();
}

/** Live (non-zombie) processes whose command line or environment mentions `text`. */
export function liveProcessesMentioning(text: string): string[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .flatMap((p) => {
      try {
        const state = readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1]?.[0];
        if (state === "Z") return [];
        const cmd = readFileSync(`/proc/${p}/cmdline`, "utf8").replace(/\0/g, " ").trim();
        const environ = readFileSync(`/proc/${p}/environ`, "utf8");
        return cmd.includes(text) || environ.includes(text) ? [`${p} ${cmd}`] : [];
      } catch {
        return [];
      }
    });
}

/** tmux sessions on a socket (empty when the server is not running). */
export function tmuxSessions(sock: string, env: NodeJS.ProcessEnv): string[] {
  try {
    return execFileSync("tmux", ["-u", "-S", sock, "list-sessions", "-F", "#{session_name}"], {
      env,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    })
      .split("\n")
      .filter(Boolean);
  } catch {
    return [];
  }
}

/** Sleep. */
export const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
