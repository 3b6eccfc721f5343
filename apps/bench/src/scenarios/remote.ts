import { execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { LayoutConfig } from "@mc/core";
import { REPO_ROOT, which } from "../env.js";
import type { RemoteResult } from "../model.js";
import type { Sandbox } from "../sandbox.js";
import { summarize } from "../stats.js";
import { tabCommand } from "./launch.js";
import { countSpawns } from "./status.js";

/** The part of `@mc/remote`'s TmuxRemoteManager the bench uses (typed here: it is not a dependency yet). */
interface Fleet {
  startAllSessions(): Promise<{ machine: string; ok: boolean; error?: Error }[]>;
  checkAllSessionsStatus(): Promise<{
    sessions: { tabs: { state: string }[] }[];
    machines: { machine: string; reachable: boolean; error?: string }[];
  }>;
  close(): Promise<void>;
}
type FleetCtor = new (opts: Record<string, unknown>) => Fleet;

const REMOTE_INDEX = join(REPO_ROOT, "packages", "remote", "src", "index.ts");
const MACHINES = ["alpha", "beta", "gamma"] as const;

/**
 * `@mc/remote` appeared in the workspace after this package's one install, so it is loaded from its
 * source by path (tsx runs TypeScript); once `"@mc/remote": "workspace:*"` is a dependency this becomes
 * `import("@mc/remote/tmux")`. Returns the manager class or why the scenario cannot run.
 */
async function loadRemote(): Promise<FleetCtor | string> {
  if (!existsSync(REMOTE_INDEX)) return "@mc/remote does not exist yet (no packages/remote/src/index.ts)";
  if (!/\bsshHost\b/.test(readFileSync(REMOTE_INDEX, "utf8")))
    return "@mc/remote does not export sshHost yet";
  // Since 0278d01 the tmux fleet lives in the `@mc/remote/tmux` entry (src/tmux.ts); before, in the index.
  for (const file of [join(dirname(REMOTE_INDEX), "tmux.ts"), REMOTE_INDEX]) {
    if (!existsSync(file)) continue;
    try {
      const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      if (typeof mod.TmuxRemoteManager === "function") return mod.TmuxRemoteManager as FleetCtor;
    } catch (e) {
      return `@mc/remote could not be loaded: ${(e as Error).message.split("\n")[0]}`;
    }
  }
  return "@mc/remote exports no TmuxRemoteManager (neither @mc/remote/tmux nor @mc/remote)";
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve) =>
          createServer().listen(0, "127.0.0.1", function (this: Server) {
            resolve(this);
          }),
        ),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });

function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = readFileSync(`/proc/${e}/stat`, "utf8");
      parent.set(Number(e), Number(st.slice(st.lastIndexOf(")") + 2).split(" ")[1]));
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

/**
 * One sshd on 127.0.0.1 listening on three ports (three "hosts"), toolchain.md §4. `SetEnv SHLVL=1`
 * keeps root's bash from sourcing ~/.bashrc for ssh commands (pyenv init there costs ~0.65 s of CPU
 * per command); the sshd and its per-connection children are killed at cleanup.
 */
async function startSshd(sb: Sandbox, dir: string): Promise<{ ports: number[]; key: string }> {
  // Debian's sshd refuses to start without its privilege-separation directory. It is left in place: an
  // sshd started meanwhile by someone else (a test suite) needs it for every new connection.
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const keygen = (f: string) =>
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, f)]);
  keygen("host_ed25519");
  keygen("id_ed25519");
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "id_ed25519.pub")));
  chmodSync(join(dir, "authorized_keys"), 0o600);
  const ports = await freePorts(MACHINES.length);
  const conf = [
    ...ports.map((p) => `Port ${p}`),
    "ListenAddress 127.0.0.1",
    `HostKey ${join(dir, "host_ed25519")}`,
    `PidFile ${join(dir, "sshd.pid")}`,
    `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin prohibit-password",
    "UsePAM no",
    "StrictModes no",
    "MaxStartups 100:30:200",
    "MaxSessions 100",
    "SetEnv SHLVL=1",
  ];
  writeFileSync(join(dir, "sshd_config"), `${conf.join("\n")}\n`);
  // -D: the daemon stays our child, so it is reaped and killed by pid (a daemonised one lingers as <defunct>).
  const child = sb.track(
    spawn("/usr/sbin/sshd", ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: "ignore" }),
  );
  const pid = child.pid!;
  sb.onCleanup(() => {
    for (const p of [...descendants(pid), pid]) {
      try {
        process.kill(p, "SIGKILL");
      } catch {}
    }
  });
  const deadline = Date.now() + 5000;
  for (const p of ports) {
    while (!(await portOpen(p))) {
      if (Date.now() > deadline) throw new Error("the private sshd did not start listening within 5 s");
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return { ports, key: join(dir, "id_ed25519") };
}

/**
 * Launch and status of 3 loopback hosts × `tabs` tabs through a private sshd, with connection reuse
 * (`@mc/remote`'s default ControlMaster) and without (an ssh wrapper that puts `ControlMaster=no` and
 * `ControlPath=none` first: ssh keeps the first value of an option). Cases interleave run by run.
 */
export async function runRemote(
  sb: Sandbox,
  o: { tabs: number; reps: number; log: (s: string) => void },
): Promise<RemoteResult> {
  if (process.getuid?.() !== 0)
    return { skipped: "needs root (a private sshd on 127.0.0.1 logging in as root)" };
  for (const bin of ["ssh", "ssh-keygen"])
    if (!which(bin)) return { skipped: `${bin} is not installed (apt-get install -y openssh-client)` };
  if (!existsSync("/usr/sbin/sshd"))
    return { skipped: "sshd is not installed (apt-get install -y openssh-server)" };
  const Fleet = await loadRemote();
  if (typeof Fleet === "string") return { skipped: Fleet };

  const base = sb.dir("sshd");
  const { ports, key } = await startSshd(sb, base);
  const noReuse = join(base, "ssh-no-reuse");
  writeFileSync(noReuse, '#!/bin/sh\nexec ssh -o ControlMaster=no -o ControlPath=none "$@"\n', {
    mode: 0o755,
  });

  const cases = [
    { id: "reuse", label: "ControlMaster (default)" },
    { id: "noreuse", label: "no connection reuse" },
  ];
  const launch = new Map<string, number[]>(cases.map((c) => [c.id, []]));
  const status = new Map<string, number[]>(cases.map((c) => [c.id, []]));
  const spawns = new Map<string, number[]>(cases.map((c) => [c.id, []]));
  for (let rep = 0; rep < o.reps; rep++) {
    for (const c of cases) {
      const dir = sb.dir(`remote-${c.id}`);
      const socks = MACHINES.map((m) => {
        const d = join(dir, m);
        mkdirSync(join(d, "m"), { recursive: true });
        return sb.startServer(d);
      });
      const layouts: LayoutConfig[][] = MACHINES.map((m) => [
        {
          layoutName: "bench",
          layoutTabs: Array.from({ length: o.tabs }, (_, i) => ({
            tabName: `t${i}`,
            startDir: join(dir, m),
            command: tabCommand(join(dir, m, "m"), i),
          })),
        },
      ]);
      const fleet = new Fleet({
        machineLayouts: Object.fromEntries(MACHINES.map((m, i) => [m, layouts[i]!])),
        sessionNamePrefix: "rb",
        stateDir: join(dir, "local-state"),
        ssh: Object.fromEntries(
          MACHINES.map((m, i) => [
            m,
            {
              target: "127.0.0.1",
              port: ports[i]!,
              user: "root",
              identityFile: key,
              configFile: "/dev/null",
              controlDir: join(dir, "cm"),
              connectTimeoutMs: 5000,
              env: { SHELL: "/bin/sh" },
              stateDir: join(dir, m, "state"),
              extraOptions: {
                StrictHostKeyChecking: "no",
                UserKnownHostsFile: "/dev/null",
                LogLevel: "ERROR",
              },
              ...(c.id === "noreuse" ? { ssh: noReuse } : {}),
            },
          ]),
        ),
        backendOptions: Object.fromEntries(MACHINES.map((m, i) => [m, { socket: socks[i]! }])),
      });
      try {
        const total = MACHINES.length * o.tabs;
        const running = () => MACHINES.reduce((n, m) => n + readdirSync(join(dir, m, "m")).length, 0);
        const t0 = performance.now();
        const started = await fleet.startAllSessions();
        const bad = started.find((s) => !s.ok);
        if (bad) throw new Error(`${bad.machine} did not start: ${bad.error?.message ?? "unknown error"}`);
        const deadline = Date.now() + 60_000;
        while (running() < total) {
          if (Date.now() > deadline) throw new Error(`only ${running()}/${total} remote tabs started`);
          await new Promise((r) => setTimeout(r, 5));
        }
        launch.get(c.id)!.push(performance.now() - t0);
        for (let k = 0; k < 3; k++) {
          const t1 = performance.now();
          const { value: report, spawns: n } = await countSpawns(() => fleet.checkAllSessionsStatus());
          status.get(c.id)!.push(performance.now() - t1);
          spawns.get(c.id)!.push(n);
          const down = report.machines.find((m) => !m.reachable);
          if (down) throw new Error(`${down.machine} did not answer status: ${down.error ?? ""}`);
        }
      } finally {
        await fleet.close().catch(() => {});
        for (const s of socks) sb.killServer(s);
      }
    }
    o.log(
      `  remote run ${rep + 1}/${o.reps}: ${cases.map((c) => `${c.id} ${((launch.get(c.id)!.at(-1) ?? Number.NaN) / 1000).toFixed(2)}s`).join(", ")}`,
    );
  }
  const machines = `${MACHINES.length} hosts × ${o.tabs} tabs`;
  return {
    rows: cases.flatMap((c) => [
      { label: `launch ${machines}, ${c.label}`, stats: summarize(launch.get(c.id)!) },
      {
        label: `status ${machines}, ${c.label}`,
        stats: summarize(status.get(c.id)!),
        spawned: Math.max(...spawns.get(c.id)!),
      },
    ]),
  };
}
