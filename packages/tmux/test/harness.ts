import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Host, type LayoutConfig, localHost } from "@mc/core";
import { TmuxLocalManager } from "../src/index.js";

/** A private tmux server on its own socket (`SHELL=/bin/sh`), killed and deleted by `stop()`. */
export interface PrivateTmux {
  dir: string;
  socket: string;
  stateDir: string;
  work: string;
  env: NodeJS.ProcessEnv;
  host: Host;
  tmux(...args: string[]): string;
  manager(opts: {
    sessionLayouts: LayoutConfig[];
    sessionNamePrefix?: string;
    host?: Host;
    keepShell?: boolean;
  }): TmuxLocalManager;
  sessions(): string[];
  stop(): void;
}

/** Start a private tmux server; `conf` is the user's tmux.conf it starts with. */
export function privateTmux(conf = ""): PrivateTmux {
  const dir = mkdtempSync(join(tmpdir(), "mc-tmux-"));
  const socket = join(dir, "sock");
  const stateDir = join(dir, "state");
  const work = join(dir, "work");
  mkdirSync(work);
  writeFileSync(join(dir, "tmux.conf"), conf);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SHELL: "/bin/sh",
    MC_STATE_DIR: stateDir,
    LANG: "C.UTF-8",
  };
  delete env.TMUX;
  delete env.TMUX_PANE;
  const host = localHost({ env, stateDir });
  const tmux = (...args: string[]) =>
    execFileSync("tmux", ["-u", "-S", socket, ...args], {
      env,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  // The server starts with this config (like a user's ~/.tmux.conf) and a session of its own that mc must never touch.
  tmux("-f", join(dir, "tmux.conf"), "new-session", "-d", "-s", "keeper", "sleep 100000");
  return {
    dir,
    socket,
    stateDir,
    work,
    env,
    host,
    tmux,
    manager: (o) => new TmuxLocalManager({ ...o, host: o.host ?? host, socket }),
    sessions: () => {
      try {
        return tmux("list-sessions", "-F", "#{session_name}").split("\n").filter(Boolean);
      } catch {
        return [];
      }
    },
    stop() {
      try {
        tmux("kill-server");
      } catch {}
      // A poll: a passing run waits only until they went (a loaded machine runs hang-up traps late).
      const leaked = processesMentioning(dir, 15_000);
      rmSync(dir, { recursive: true, force: true });
      // A tab's command must die with its tab: anything still running from this server's files leaked.
      if (leaked.length) throw new Error(`processes outlived the tmux server: ${leaked.join(" | ")}`);
    },
  };
}

/** Command lines of live processes whose command line or environment mentions `text` (after a grace for SIGHUP delivery). */
export function processesMentioning(text: string, graceMs = 2000): string[] {
  const found = () =>
    readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .flatMap((p) => {
        try {
          const cmd = readFileSync(`/proc/${p}/cmdline`, "utf8").replace(/\0/g, " ").trim();
          // Tab commands inherit MC_STATE_DIR from the private server, so even a bare `sleep` is caught.
          const environ = readFileSync(`/proc/${p}/environ`, "utf8");
          const state = readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1]?.[0];
          return (cmd.includes(text) || environ.includes(text)) && state !== "Z" ? [cmd] : [];
        } catch {
          return [];
        }
      });
  const end = Date.now() + graceMs;
  let list = found();
  while (list.length && Date.now() < end) {
    execFileSync("sleep", ["0.05"]);
    list = found();
  }
  return list;
}

/** A one-layout helper. */
export function layout(name: string, tabs: [string, string][], dir: string): LayoutConfig {
  return {
    layoutName: name,
    layoutTabs: tabs.map(([tabName, command]) => ({ tabName, startDir: dir, command })),
  };
}

/** Poll until `ok` or time out. */
export async function waitFor<T>(get: () => Promise<T>, ok: (v: T) => boolean, ms = 15000): Promise<T> {
  const end = Date.now() + ms;
  let asked = performance.now();
  let v = await get();
  while (!ok(v) && Date.now() < end) {
    // Twice as long as the last ask took (50 ms to 600 ms): a probe that starts the CLI (~150 ms of CPU) no
    // longer keeps a core busy while it waits, which on CI's two cores slowed every other test file.
    const took = performance.now() - asked;
    await new Promise((r) => setTimeout(r, Math.min(600, Math.max(50, 2 * took))));
    asked = performance.now();
    v = await get();
  }
  return v;
}
