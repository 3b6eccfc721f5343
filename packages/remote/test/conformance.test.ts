import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runConformanceSuite, runHostConformance } from "@mc/core/testing";
import { TmuxLocalManager } from "@mc/tmux";
import { describe } from "vitest";
import { type SshHost, sshHost } from "../src/index.js";
import { HAVE_SSHD, type PrivateSshd, privateSshd } from "../src/testing.js";

let d: PrivateSshd;
let host: SshHost;
let dir: string;
let savedStateDir: string | undefined;
const tmux = (...args: string[]) =>
  execFileSync("tmux", ["-S", join(dir, "sock"), ...args], {
    encoding: "utf8",
    env: { ...process.env, SHELL: "/bin/sh" },
  });

describe.skipIf(!HAVE_SSHD)("TmuxLocalManager on an sshHost to 127.0.0.1", () => {
  runConformanceSuite({
    name: "tmux over ssh (real sshd, real tmux)",
    attachTarget: (s) => String(s.data?.sessionId),
    async setup() {
      dir = mkdtempSync(join(tmpdir(), "mc-remote-conf-"));
      mkdirSync(join(dir, "work"));
      // The manager keeps its run records on this machine: in the sandbox, never in the user's state.
      savedStateDir = process.env.MC_STATE_DIR;
      process.env.MC_STATE_DIR = join(dir, "local-state");
      d = await privateSshd(1);
      host = sshHost(
        "127.0.0.1",
        d.options(d.ports[0]!, { env: { SHELL: "/bin/sh" }, stateDir: join(dir, "state") }),
      );
    },
    async teardown() {
      try {
        tmux("kill-server");
      } catch {}
      await host.close();
      d.stop();
      if (savedStateDir === undefined) delete process.env.MC_STATE_DIR;
      else process.env.MC_STATE_DIR = savedStateDir;
      rmSync(dir, { recursive: true, force: true });
    },
    manager: (o) => new TmuxLocalManager({ ...o, host, socket: join(dir, "sock") }),
    listSessions: async () => {
      try {
        return tmux("list-sessions", "-F", "#{session_name}").split("\n").filter(Boolean);
      } catch {
        return [];
      }
    },
    createForeignSession: async (name) => {
      tmux("new-session", "-d", "-s", name, "sleep 1000");
    },
    get workDir() {
      return join(dir, "work");
    },
    intervalMs: 100,
  });
});

describe.skipIf(!HAVE_SSHD)("sshHost to 127.0.0.1", () => {
  let sshd: PrivateSshd;
  let h: SshHost;
  let work: string;
  runHostConformance({
    name: "sshHost (real sshd, batched)",
    async setup() {
      work = mkdtempSync(join(tmpdir(), "mc-remote-hostconf-"));
      sshd = await privateSshd(1);
      h = sshHost(
        "127.0.0.1",
        sshd.options(sshd.ports[0]!, { env: { SHELL: "/bin/sh" }, stateDir: join(work, "state") }),
      );
    },
    async teardown() {
      await h.close();
      sshd.stop();
      rmSync(work, { recursive: true, force: true });
    },
    host: () => h,
    async workDir() {
      const d = join(work, "files");
      mkdirSync(d);
      return d;
    },
  });
});
