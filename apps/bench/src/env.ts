import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, release, totalmem } from "node:os";
import { delimiter, dirname, join } from "node:path";
import type { Environment } from "./model.js";

const require = createRequire(import.meta.url);

/** Root of the workspace (apps/bench/src → ../../..). */
export const REPO_ROOT = join(import.meta.dirname, "..", "..", "..");

/** The built `sessions` binary. */
export function cliBin(): string {
  return join(dirname(require.resolve("@mc/cli/package.json")), "dist", "bin.cjs");
}

/** Path of an executable on PATH, or undefined. */
export function which(file: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const d of (env.PATH ?? "").split(delimiter).filter(Boolean)) {
    const p = join(d, file);
    try {
      if (statSync(p).isFile()) return p;
    } catch {}
  }
  return undefined;
}

function firstLine(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 20_000,
    })
      .trim()
      .split("\n")[0]!
      .trim();
  } catch {
    return "absent";
  }
}

/** CPU, cores, RAM, OS and tool versions. */
export function describeEnvironment(): Environment {
  let os = "unknown OS";
  try {
    os = /PRETTY_NAME="?([^"\n]*)/.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? os;
  } catch {}
  const versions: Record<string, string> = {
    node: process.version,
    tmux: firstLine("tmux", ["-V"]).replace(/^tmux /, ""),
    tmuxp: firstLine("tmuxp", ["-V"]).replace(/^tmuxp /, ""),
    tmuxinator: firstLine("tmuxinator", ["version"]).replace(/^tmuxinator /, ""),
    "sessions (@mc/cli)": firstLine(process.execPath, [cliBin(), "--version"]),
    "mc commit": firstLine("git", ["-C", REPO_ROOT, "rev-parse", "--short", "HEAD"]),
  };
  return {
    cpuModel: cpus()[0]?.model.trim() ?? "unknown CPU",
    cores: cpus().length,
    ramGiB: Math.round(totalmem() / 2 ** 30),
    os,
    kernel: release(),
    versions,
  };
}

/** Which anchors (tmuxp, tmuxinator) are usable, and why not for the others. */
export interface Anchors {
  tmuxp?: string;
  tmuxinator?: string;
  /** Per missing tool: why it is skipped and how to get it. */
  missing: Record<string, string>;
  /** What the bench did to get them (install time), for the notes. */
  note?: string;
}

/**
 * Find tmuxp and tmuxinator; when missing and running as root with apt, install Debian's packages
 * (toolchain.md §3: tmuxp 1.27.0 and tmuxinator 3.0.5 on bookworm). Otherwise say how.
 */
export function ensureAnchors(opts: { install: boolean; log: (s: string) => void }): Anchors {
  const want = ["tmuxp", "tmuxinator"] as const;
  let missing = want.filter((t) => !which(t));
  let note: string | undefined;
  const root = process.getuid?.() === 0;
  if (missing.length && opts.install && root && which("apt-get")) {
    opts.log(`installing ${missing.join(" ")} with apt-get (once; later runs find them)…`);
    const t0 = performance.now();
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const install = () =>
      spawnSync("apt-get", ["install", "-y", "-qq", ...missing], { env, stdio: "ignore", timeout: 600_000 });
    // A fresh container has empty package lists: update once, only when the install could not resolve.
    if (install().status !== 0) {
      spawnSync("apt-get", ["update", "-qq"], { env, stdio: "ignore", timeout: 600_000 });
      install();
    }
    note = `installed ${missing.join(", ")} with apt-get in ${((performance.now() - t0) / 1000).toFixed(0)} s before measuring`;
    missing = want.filter((t) => !which(t));
  }
  const how = root
    ? "apt-get install -y tmuxp tmuxinator (or run the bench without --no-install)"
    : "not root: sudo apt-get install -y tmuxp tmuxinator, then run the bench again";
  const out: Anchors = {
    missing: Object.fromEntries(missing.map((t) => [t, `${t} absent (not on PATH): ${how}`])),
  };
  for (const t of want) {
    const p = which(t);
    if (p) out[t] = p;
  }
  if (note) out.note = note;
  return out;
}

function newestMtime(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

/**
 * Packages whose `dist` is missing or older than their `src`: the bench measures the built code (the
 * CLI loads `dist` of core and tmux), so stale builds would measure yesterday's code.
 */
export function staleBuilds(): string[] {
  const pkgs = { "@mc/core": "packages/core", "@mc/tmux": "packages/tmux", "@mc/cli": "apps/cli" };
  return Object.entries(pkgs)
    .filter(([, dir]) => {
      const dist = newestMtime(join(REPO_ROOT, dir, "dist"));
      return dist === 0 || newestMtime(join(REPO_ROOT, dir, "src")) > dist;
    })
    .map(([name]) => name);
}
