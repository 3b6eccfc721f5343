import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LayoutConfig } from "@mc/core";
import { privateSshd } from "@mc/remote/testing";
import { REPO_ROOT, which } from "../env.js";
import type { RemoteResult } from "../model.js";
import type { Sandbox } from "../sandbox.js";
import { summarize } from "../stats.js";
import { tabCommand } from "./launch.js";
import { countSpawns } from "./status.js";

/** The part of `@mc/remote`'s TmuxRemoteManager the bench uses. */
interface Fleet {
  /** Throws START_FAILED naming each machine's result when any failed. */
  startAllSessions(): Promise<{ machine: string; name: string }[]>;
  checkAllSessionsStatus(): Promise<{
    sessions: { tabs: { state: string }[] }[];
    machines: { machine: string; reachable: boolean; error?: string }[];
  }>;
  close(): Promise<void>;
}
type FleetCtor = new (opts: Record<string, unknown>) => Fleet;

const _REMOTE_INDEX = join(REPO_ROOT, "packages", "remote", "src", "index.ts");
/** Ten machines: one loopback sshd, one port (and tmux server, and state) per machine. */
const MACHINES = Array.from({ length: 10 }, (_, i) => `m${i}`);

/**
 * `@mc/remote` appeared in the workspace after this package's one install, so it is loaded from its
 * source by path (tsx runs TypeScript); once `"@mc/remote": "workspace:*"` is a dependency this becomes
 * `import("@mc/remote/tmux")`. Returns the manager class or why the scenario cannot run.
 */
async function loadRemote(): Promise<FleetCtor | string> {
  try {
    const mod = (await import("@mc/remote/tmux")) as Record<string, unknown>;
    if (typeof mod.TmuxRemoteManager === "function") return mod.TmuxRemoteManager as FleetCtor;
    return "@mc/remote/tmux exports no TmuxRemoteManager";
  } catch (e) {
    return `@mc/remote could not be loaded (run pnpm build): ${(e as Error).message.split("\n")[0]}`;
  }
}

/**
 * Launch and status of 10 loopback hosts × `tabs` tabs through a private sshd, with connection reuse
 * (`@mc/remote`'s default ControlMaster) and without (an ssh wrapper that puts `ControlMaster=no` and
 * `ControlPath=none` first: ssh keeps the first value of an option). Cases interleave run by run.
 */
export async function runRemote(
  sb: Sandbox,
  o: { tabs: number; reps: number; withoutReuse: boolean; log: (s: string) => void },
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
  const sshd = await privateSshd(MACHINES.length);
  sb.onCleanup(() => sshd.stop());
  const { ports, key } = sshd;
  const noReuse = join(base, "ssh-no-reuse");
  writeFileSync(noReuse, '#!/bin/sh\nexec ssh -o ControlMaster=no -o ControlPath=none "$@"\n', {
    mode: 0o755,
  });

  // How launch and status grow with the number of machines, and what connection reuse saves (full run).
  const cases = [
    { id: "reuse-1", hosts: 1, label: "ControlMaster (default)" },
    { id: "reuse-3", hosts: 3, label: "ControlMaster (default)" },
    { id: "reuse", hosts: MACHINES.length, label: "ControlMaster (default)" },
    ...(o.withoutReuse ? [{ id: "noreuse", hosts: MACHINES.length, label: "no connection reuse" }] : []),
  ];
  const launch = new Map<string, number[]>(cases.map((c) => [c.id, []]));
  const status = new Map<string, number[]>(cases.map((c) => [c.id, []]));
  const spawns = new Map<string, number[]>(cases.map((c) => [c.id, []]));
  for (let rep = 0; rep < o.reps; rep++) {
    for (const c of cases) {
      const dir = sb.dir(`remote-${c.id}`);
      const machines = MACHINES.slice(0, c.hosts);
      const socks = machines.map((m) => {
        const d = join(dir, m);
        mkdirSync(join(d, "m"), { recursive: true });
        return sb.startServer(d);
      });
      const layouts: LayoutConfig[][] = machines.map((m) => [
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
        machineLayouts: Object.fromEntries(machines.map((m, i) => [m, layouts[i]!])),
        sessionNamePrefix: "rb",
        stateDir: join(dir, "local-state"),
        ssh: Object.fromEntries(
          machines.map((m, i) => [
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
        backendOptions: Object.fromEntries(machines.map((m, i) => [m, { socket: socks[i]! }])),
      });
      try {
        const total = machines.length * o.tabs;
        const running = () => machines.reduce((n, m) => n + readdirSync(join(dir, m, "m")).length, 0);
        const t0 = performance.now();
        const started = await fleet.startAllSessions();
        if (started.length !== machines.length)
          throw new Error(`${started.length} of ${machines.length} machines started their session`);
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
  return {
    rows: cases.flatMap((c) => [
      { label: `launch ${c.hosts} hosts × ${o.tabs} tabs, ${c.label}`, stats: summarize(launch.get(c.id)!) },
      {
        label: `status ${c.hosts} hosts × ${o.tabs} tabs, ${c.label}`,
        stats: summarize(status.get(c.id)!),
        spawned: Math.max(...spawns.get(c.id)!),
      },
    ]),
  };
}
