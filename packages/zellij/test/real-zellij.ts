import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { type Host, type LayoutConfig, localHost } from "@mc/core";
import { ZellijLocalManager, type ZellijManagerOptions } from "../src/index.js";

/** Where the real zellij was found, or why not. */
export type RealZellijBinary = { path: string; version: string } | { reason: string };

function versionOf(path: string): string | undefined {
  try {
    const tmp = mkdtempSync("/tmp/mzv-");
    try {
      // zellij panics without a writable $TMPDIR (logging.rs), even for --version.
      return execFileSync(path, ["--version"], {
        encoding: "utf8",
        timeout: 10000,
        env: { ...process.env, TMPDIR: tmp },
      }).trim();
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  } catch {
    return undefined;
  }
}

/**
 * The real zellij: on PATH, else the newest `${XDG_CACHE_HOME:-~/.cache}/mc-tools/zellij-<v>/bin/zellij`
 * that scripts/setup.sh builds.
 */
export function findRealZellij(): RealZellijBinary {
  const tried: string[] = [];
  for (const dir of (process.env.PATH ?? "").split(":").filter(Boolean)) {
    const p = join(dir, "zellij");
    if (!existsSync(p)) continue;
    const v = versionOf(p);
    if (v) return { path: p, version: v };
    tried.push(`${p} (does not run)`);
  }
  const tools = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "mc-tools");
  const builds = existsSync(tools)
    ? readdirSync(tools)
        .filter((d) => /^zellij-\d+\.\d+\.\d+$/.test(d))
        .sort((a, b) => b.localeCompare(a, "en", { numeric: true }))
    : [];
  for (const d of builds) {
    const p = join(tools, d, "bin", "zellij");
    if (!existsSync(p)) continue;
    const v = versionOf(p);
    if (v) return { path: p, version: v };
    tried.push(`${p} (does not run)`);
  }
  return {
    reason: `no zellij on PATH and none built under ${tools}/zellij-<version>/bin (scripts/setup.sh builds it when cargo is present)${tried.length ? `; tried ${tried.join(", ")}` : ""}`,
  };
}

/** A private, headless zellij world: its own sockets, TMPDIR, HOME, XDG dirs and config. */
export interface RealZellij {
  bin: string;
  version: string;
  root: string;
  work: string;
  stateDir: string;
  env: NodeJS.ProcessEnv;
  host: Host;
  /** Run zellij in this world; never throws (exit code, stdout, stderr). */
  zellij(...args: string[]): { code: number; stdout: string; stderr: string };
  /** Live and EXITED session names (`list-sessions --short`). */
  sessions(): string[];
  manager(opts: Omit<ZellijManagerOptions, "host"> & { host?: Host }): ZellijLocalManager;
  /** The tail of zellij's log in this world (printed when a test fails). */
  log(lines?: number): string;
  /** Kill every server this world started and remove it. */
  stop(): void;
}

/** Test config: `serialization_interval 1` makes killed sessions EXITED within about 2 s. */
export const QUICK_SAVE = "serialization_interval 1\n";

/**
 * Start a private zellij world. The root is short (`/tmp/mz-XXXXXX`): zellij's socket path must stay
 * under 108 bytes. ZELLIJ, ZELLIJ_SESSION_NAME, ZELLIJ_PANE_ID, ZELLIJ_CONFIG_FILE and ZELLIJ_CONFIG_DIR
 * are cleared; HOME is private too, since zellij reads and writes `$HOME/.config/zellij` before
 * `$XDG_CONFIG_HOME/zellij` (home.rs `default_config_dirs`).
 */
export function realZellij(bin: string, version: string, config = ""): RealZellij {
  const root = mkdtempSync("/tmp/mz-");
  const d = (n: string) => {
    const p = join(root, n);
    mkdirSync(p, { recursive: true });
    return p;
  };
  const home = d("h");
  const work = d("w");
  const stateDir = join(root, "state");
  writeFileSync(join(d("h/.config/zellij"), "config.kdl"), config);
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of [
    "ZELLIJ",
    "ZELLIJ_SESSION_NAME",
    "ZELLIJ_PANE_ID",
    "ZELLIJ_CONFIG_FILE",
    "ZELLIJ_CONFIG_DIR",
    "XDG_RUNTIME_DIR",
    "TMUX",
  ])
    delete env[k];
  Object.assign(env, {
    PATH: `${dirname(bin)}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    ZELLIJ_SOCKET_DIR: d("s"),
    TMPDIR: d("t"),
    HOME: home,
    XDG_CACHE_HOME: d("c"),
    XDG_CONFIG_HOME: d("g"),
    XDG_DATA_HOME: d("d"),
    SHELL: "/bin/sh",
    LANG: "C.UTF-8",
  });
  const host = localHost({ env, stateDir });
  const zellij = (...args: string[]) => {
    const r = spawnSync(bin, args, {
      env,
      encoding: "utf8",
      timeout: 20000,
      stdio: ["ignore", "pipe", "pipe"],
    });
    return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  };
  return {
    bin,
    version,
    root,
    work,
    stateDir,
    env,
    host,
    zellij,
    sessions: () => zellij("list-sessions", "--short").stdout.split("\n").filter(Boolean),
    // A start returns as soon as mc's tabs show; the product's 10 s wait for them was too short with three
    // test files on two loaded cores (the conformance suite's start failed so).
    manager: (o) =>
      new ZellijLocalManager({ sessionNamePrefix: "", appearTimeoutMs: 60_000, ...o, host: o.host ?? host }),
    log(lines = 60) {
      const dir = join(root, "t");
      const logs = existsSync(dir)
        ? readdirSync(dir)
            .filter((x) => x.startsWith("zellij-"))
            .map((x) => join(dir, x, "zellij-log", "zellij.log"))
            .filter(existsSync)
        : [];
      return logs
        .map((p) => `--- ${p}\n${readFileSync(p, "utf8").split("\n").slice(-lines).join("\n")}`)
        .join("\n");
    },
    stop() {
      zellij("kill-all-sessions", "--yes");
      zellij("delete-all-sessions", "--yes", "--force");
      // Anything still running from this world (a server that did not quit, a tab's orphan) is killed.
      for (const pid of processesMentioning(root)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Pids of live processes whose command line or environment mentions `text`. */
export function processesMentioning(text: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      const environ = readFileSync(`/proc/${pid}/environ`, "utf8");
      if (cmd.includes(text) || environ.includes(text)) out.push(Number(pid));
    } catch {}
  }
  return out;
}

/** A layout whose tabs all start in `dir`. */
export const layout = (name: string, tabs: [string, string][], dir: string): LayoutConfig => ({
  layoutName: name,
  layoutTabs: tabs.map(([tabName, command]) => ({ tabName, startDir: dir, command })),
});

/**
 * A zellij query's JSON answer (`action list-panes --json`, `list-tabs --json`). Under load zellij 0.45
 * sometimes answers a probe with nothing (packages/zellij/README.md): it is asked again, 20 s at most.
 */
export async function zellijJson<T>(z: Pick<RealZellij, "zellij">, ...args: string[]): Promise<T> {
  const end = Date.now() + 20_000;
  for (;;) {
    const out = z.zellij(...args).stdout;
    try {
      return JSON.parse(out) as T;
    } catch {
      if (Date.now() > end)
        throw new Error(
          `zellij ${args.join(" ")} gave no JSON for 20 s: ${JSON.stringify(out.slice(0, 300))}`,
        );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Poll `probe` until `ok` (or `ms` passed); the last value. Every wait in the real suites is for
 * something that must happen, so the deadline is generous: zellij saves and lists sessions late when the
 * machine is loaded.
 */
export async function waitFor<T>(probe: () => Promise<T>, ok: (x: T) => boolean, ms = 40_000): Promise<T> {
  const end = Date.now() + ms;
  let asked = performance.now();
  let last = await probe();
  while (!ok(last) && Date.now() < end) {
    // Twice as long as the last probe took (100 ms to 600 ms): zellij's own calls cost CPU the server
    // being waited for needs.
    await new Promise((r) => setTimeout(r, Math.min(600, Math.max(100, 2 * (performance.now() - asked)))));
    asked = performance.now();
    last = await probe();
  }
  return last;
}
