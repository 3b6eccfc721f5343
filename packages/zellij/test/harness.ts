import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Host, localHost } from "@mc/core";
import { ZellijLocalManager, type ZellijManagerOptions } from "../src/index.js";

/** Folder of the fake `zellij` executable. */
export const FAKE_DIR = join(import.meta.dirname, "fake");

/** A private fake zellij: its own state dir, mc state dir and work dir, with `zellij` on PATH. */
export interface FakeZellij {
  version: string;
  root: string;
  state: string;
  workDir: string;
  host: Host;
  env: NodeJS.ProcessEnv;
  manager(opts: Omit<ZellijManagerOptions, "host">): ZellijLocalManager;
  /** The argv of every fake zellij call so far. */
  calls(): string[][];
  cleanup(): void;
}

/** Start a private fake zellij of `version`; `extraEnv` is added to every zellij call. */
export function fakeZellij(version: string, extraEnv: NodeJS.ProcessEnv = {}): FakeZellij {
  const root = mkdtempSync(join(tmpdir(), "mc-zellij-"));
  const state = join(root, "zellij-state");
  const workDir = join(root, "work");
  mkdirSync(state, { recursive: true });
  mkdirSync(workDir, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
  delete env.ZELLIJ;
  if (!("ZELLIJ_SESSION_NAME" in extraEnv)) delete env.ZELLIJ_SESSION_NAME;
  Object.assign(env, {
    PATH: `${FAKE_DIR}:${process.env.PATH ?? ""}`,
    FAKE_ZELLIJ_STATE: state,
    FAKE_ZELLIJ_VERSION: version,
    SHELL: "/bin/sh",
    // zellij keeps resurrection layouts under the cache dir and sockets in the socket dir: private ones.
    XDG_CACHE_HOME: join(root, "cache"),
    ZELLIJ_SOCKET_DIR: join(root, "sock"),
  });
  const host = localHost({ env, stateDir: join(root, "mc-state") });
  return {
    version,
    root,
    state,
    workDir,
    host,
    env,
    manager: (opts) => new ZellijLocalManager({ appearTimeoutMs: 5000, ...opts, host }),
    calls: () =>
      (existsSync(join(state, "calls.log")) ? readFileSync(join(state, "calls.log"), "utf8") : "")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as string[]),
    cleanup() {
      const dir = join(state, "sessions");
      for (const f of existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : []) {
        if (!f.name.endsWith(".json")) continue;
        const s = JSON.parse(readFileSync(join(dir, f.name), "utf8")) as { panes: { holderPid?: number }[] };
        for (const p of s.panes) {
          try {
            if (p.holderPid) process.kill(-p.holderPid, "SIGKILL");
          } catch {}
        }
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
