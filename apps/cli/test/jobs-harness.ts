import { execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { waitFor } from "../../../packages/tmux/test/harness.js";
import { BIN, cliSandbox, type Ran, removeSandbox, runCli } from "./cli.js";

/**
 * What the jobs end-to-end files (#16: tabs as jobs, through the built binary on a private real tmux
 * server) share. They are several files so that Vitest's workers run them side by side: as one file they
 * were the suite's longest by far and its wall time.
 */

/** Tabs as jobs (#16) through the built binary on a private real tmux server. */
export let dir: string;
export let sock: string;
export let env: NodeJS.ProcessEnv;

export const sessions = (args: string[], timeout = 60_000): Promise<Ran> =>
  runCli(args, { env, cwd: dir, timeout });

export type Tab = { tabName: string; command: string } & Record<string, unknown>;

export function layouts(
  name: string,
  ls: ({ layoutName: string; layoutTabs: Tab[] } & Record<string, unknown>)[],
): string {
  const path = join(dir, name);
  const withDir = ls.map((l) => ({ ...l, layoutTabs: l.layoutTabs.map((t) => ({ startDir: dir, ...t })) }));
  writeFileSync(path, JSON.stringify({ version: "0.1", layouts: withDir }));
  return path;
}

export const run = (file: string, ...more: string[]) => sessions(["run", file, "--socket", sock, ...more]);
/** The run directory mc's run record gives the session `name` (tmux runs of this file). */
export const runDirOf = (name: string): string => {
  const records = join(dir, "state", "managers", "TmuxLocalManager");
  return readdirSync(records)
    .filter((n) => n.endsWith(".json"))
    .flatMap((n) => JSON.parse(readFileSync(join(records, n), "utf8")).sessions ?? [])
    .find((x: { name: string }) => x.name === name).runDir as string;
};
export const lines = (s: string) => s.trim().split("\n").filter(Boolean);

/** Ask again until `ok` (up to 30 s: a loaded machine starts tabs late); the last answer. */
export const until = <T>(get: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000) => waitFor(get, ok, ms);
/** A session's status rows (`status --json`), empty while it has none. */
export const tabsOf = async (session: string) =>
  JSON.parse((await sessions(["status", session, "--json"])).stdout || "{}").sessions?.[0]?.tabs ?? [];
/** The window names of a session on the test server. */
export const windowsOf = (session: string) =>
  execFileSync("tmux", ["-S", sock, "list-windows", "-t", `=${session}:`, "-F", "#{window_name}"], {
    encoding: "utf8",
  })
    .trim()
    .split("\n");
/**
 * `sessions run FILE …` in the background until one of `session`'s tabs runs, then its session killed
 * with tmux (from outside mc); the run's exit code and stderr.
 */
export async function runUntilKilled(file: string, session: string, ...more: string[]) {
  const child = spawn("node", [BIN, "run", file, "--socket", sock, ...more], {
    env,
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const code = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  await until(tabsOf.bind(null, session), (t) => t.some((x: { state: string }) => x.state === "running"));
  execFileSync("tmux", ["-S", sock, "kill-session", "-t", `=${session}`]);
  return { code: await code, stderr };
}

/** `sessions ARGS…` in the background: the process, its exit code to come, and its output so far. */
export function inBackground(args: string[], withEnv: NodeJS.ProcessEnv = env) {
  const child = spawn("node", [BIN, ...args], { env: withEnv, cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  const got = { out: "", err: "" };
  child.stdout.on("data", (d: Buffer) => {
    got.out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    got.err += d.toString();
  });
  const code = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  return { child, code, got };
}

/** `sessions run FILE …` left running in the background (the foreground run that schedules waiting tabs). */
export const runInBackground = (file: string, ...more: string[]) =>
  spawn("node", [BIN, "run", file, "--socket", sock, ...more], { env, cwd: dir, stdio: "ignore" });

/** Every jobs-e2e file's own directory, tmux server and state: set before its tests, removed after. */
export function useJobsSandbox(): void {
  beforeAll(() => {
    ({ dir, sock, env } = cliSandbox("mc-jobs-"));
  });
  afterAll(() => {
    try {
      execFileSync("tmux", ["-S", sock, "kill-server"]);
    } catch {}
    removeSandbox(dir);
  });
}
