import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SshHostOptions } from "./ssh-args.js";

/**
 * `@mc/remote/testing`: a private OpenSSH server on 127.0.0.1 for tests and benchmarks (the recipe of
 * toolchain.md §4), owned by the calling process and killed with everything it forked.
 */

/** Where the OpenSSH server is (Debian's openssh-server). */
export const SSHD = "/usr/sbin/sshd";

/** True when this machine can run the real-sshd suites; otherwise they skip and say why. */
export const HAVE_SSHD = existsSync(SSHD) && existsSync("/usr/bin/ssh-keygen");
if (!HAVE_SSHD)
  console.warn(`[mc remote] ${SSHD} or ssh-keygen is missing: the real-sshd suites are skipped`);

/** A private sshd on 127.0.0.1 (several ports stand for several hosts), owned and killed by the test. */
export interface PrivateSshd {
  dir: string;
  ports: number[];
  key: string;
  wrongKey: string;
  /** The ssh options a host needs to reach one port. */
  options(port: number, extra?: SshHostOptions): SshHostOptions;
  stop(): void;
  /** Stop the daemon (a host goes down) and start it again on the same ports. */
  kill(): void;
  start(): Promise<void>;
}

/** Pids of every descendant of `root`, from /proc. */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {}
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent)
      if (pp === p) {
        out.push(c);
        walk(c);
      }
  };
  walk(root);
  return out;
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

function setEnvLine(env: Record<string, string>): string[] {
  for (const [k, v] of Object.entries(env)) {
    if (/[\s"]/.test(k + v)) throw new Error(`SetEnv cannot carry ${k}=${v} (spaces or quotes)`);
  }
  const pairs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return pairs.length ? [`SetEnv ${pairs.join(" ")}`] : [];
}

/** A port nothing listens on (found by binding and releasing it). */
export async function freePorts(n: number): Promise<number[]> {
  const { createServer } = await import("node:net");
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<import("node:net").Server>((resolve) => {
          const srv = createServer();
          srv.listen(0, "127.0.0.1", () => resolve(srv));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as import("node:net").AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Options of {@link privateSshd}. */
export interface PrivateSshdOptions {
  cheapLogin?: boolean;
  serverEnv?: Record<string, string>;
  /**
   * More environment for the sessions of one port (by index), so each port stands for its own machine:
   * its own HOME, tmux server (TMUX_TMPDIR), clock (LD_PRELOAD + FAKETIME) or login shell (SHELL).
   */
  portEnv?: Record<number, Record<string, string>>;
  /** Extra sshd_config lines (before the Match blocks). */
  extraConfig?: string[];
  /**
   * sshd_config lines for the sessions of one port (by index), in its Match block: a `ForceCommand` that
   * stands for another machine's default shell (the fake Windows shells of the wt tests).
   */
  portConfig?: Record<number, string[]>;
}

/** The sshd_config of a private sshd. */
function sshdConfig(dir: string, ports: number[], opts: PrivateSshdOptions): string {
  const base = { ...(opts.cheapLogin === false ? {} : { SHLVL: "1" }), ...opts.serverEnv };
  return [
    ...ports.map((p) => `Port ${p}`),
    "ListenAddress 127.0.0.1",
    `HostKey ${join(dir, "host_ed25519")}`,
    `PidFile ${join(dir, "sshd.pid")}`,
    // The harness key for root, and each user's own (sshd reads those files as that user).
    `AuthorizedKeysFile ${join(dir, "authorized_keys")} .ssh/authorized_keys`,
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin prohibit-password",
    "UsePAM no",
    "StrictModes no",
    "MaxStartups 100:30:200",
    "MaxSessions 100",
    ...(opts.extraConfig ?? []),
    // sshd takes the first SetEnv line only: every variable goes on it. A Match block's SetEnv replaces
    // the global one (servconf.c copies the matched options over), so each block repeats the global ones.
    ...setEnvLine(base),
    ...[...new Set([...Object.keys(opts.portEnv ?? {}), ...Object.keys(opts.portConfig ?? {})])].flatMap(
      (i) => [
        `Match LocalPort ${ports[Number(i)]}`,
        ...setEnvLine({ ...base, ...opts.portEnv?.[Number(i)] }),
        ...(opts.portConfig?.[Number(i)] ?? []),
      ],
    ),
    "",
  ].join("\n");
}

/** The sshd process: start it (waiting until every port answers) and kill it with all it forked. */
function sshdProcess(dir: string, ports: number[]): { start(): Promise<void>; kill(): void } {
  let child: ChildProcess | undefined;
  return {
    async start() {
      child = spawn(SSHD, ["-D", "-e", "-f", join(dir, "sshd_config")], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let log = "";
      child.stderr?.on("data", (b: Buffer) => {
        log += b.toString();
      });
      const end = Date.now() + 5000;
      for (const p of ports) {
        while (!(await portOpen(p))) {
          if (Date.now() > end) throw new Error(`sshd did not start: ${log}`);
          await new Promise((r) => setTimeout(r, 25));
        }
      }
    },
    kill() {
      if (!child?.pid) return;
      // The listener and every per-connection process it forked (found by pid from /proc), so established
      // multiplexed connections drop too, as when a machine goes down.
      for (const pid of [child.pid, ...descendants(child.pid)]) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
      child = undefined;
    },
  };
}

/**
 * Start one sshd listening on `count` ports of 127.0.0.1 (toolchain.md §4). `SetEnv SHLVL=1` makes the
 * remote bash skip ~/.bashrc for commands (bash shell.c runs it for sshd commands only at shell level < 2):
 * root's .bashrc here runs `pyenv init`, ~0.65 s of CPU per command.
 */
export async function privateSshd(count: number, opts: PrivateSshdOptions = {}): Promise<PrivateSshd> {
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), "mc-sshd-"));
  const keygen = (f: string) =>
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, f)]);
  keygen("host_ed25519");
  keygen("id_ed25519");
  keygen("wrong_ed25519");
  execFileSync("cp", [join(dir, "id_ed25519.pub"), join(dir, "authorized_keys")]);
  const ports = await freePorts(count);
  writeFileSync(join(dir, "sshd_config"), sshdConfig(dir, ports, opts));
  const proc = sshdProcess(dir, ports);
  await proc.start();
  return {
    dir,
    ports,
    key: join(dir, "id_ed25519"),
    wrongKey: join(dir, "wrong_ed25519"),
    options: (port, extra = {}) => ({
      port,
      user: "root",
      identityFile: join(dir, "id_ed25519"),
      configFile: "/dev/null",
      controlDir: join(dir, "cm"),
      connectTimeoutMs: 3000,
      controlPersist: 30,
      ...extra,
      extraOptions: {
        StrictHostKeyChecking: "no",
        UserKnownHostsFile: "/dev/null",
        LogLevel: "ERROR",
        ...extra.extraOptions,
      },
    }),
    kill: () => proc.kill(),
    start: () => proc.start(),
    stop() {
      proc.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
