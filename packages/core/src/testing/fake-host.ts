import { McError } from "../errors.js";
import type { Command, CommandResult, Host, HostInfo, ProcessNode } from "../host.js";

/** A handler answers a command the way the real tool would; return undefined for "not found". */
export type FakeHandler = (
  cmd: Command,
  host: FakeHost,
) => Partial<CommandResult> | undefined | Promise<Partial<CommandResult> | undefined>;

/** A {@link Host} that records every command and answers from a handler, with an in-memory file system. */
export interface FakeHost extends Host {
  /** Every command run, in order. */
  readonly calls: Command[];
  /** The in-memory files (path → text). */
  readonly files: Map<string, string>;
  /** Process trees to report, by root pid. */
  readonly trees: Map<number, ProcessNode[]>;
  /** Directories `makeDir` created. */
  readonly made: string[];
  handler: FakeHandler;
}

/** Options of {@link fakeHost}. */
export interface FakeHostOptions {
  id?: string;
  info?: Partial<HostInfo>;
  handler?: FakeHandler;
  /** Executables that `which` finds. */
  binaries?: string[];
  /** Paths that do not exist for `stat` (everything else is a directory unless it is a file). */
  missing?: string[];
  /** Directories this user cannot enter. */
  denied?: string[];
}

/** A recording fake host for tests (exported from `@mc/core/testing`). */
export function fakeHost(opts: FakeHostOptions = {}): FakeHost {
  const calls: Command[] = [];
  const files = new Map<string, string>();
  const trees = new Map<number, ProcessNode[]>();
  const info: HostInfo = {
    platform: "linux",
    home: "/home/u",
    stateDir: "/state/mc",
    shell: "/bin/sh",
    ...opts.info,
  };
  const binaries = new Set(opts.binaries ?? []);
  const locks = new Set<string>();
  const made: string[] = [];
  const host: FakeHost = {
    id: opts.id ?? "fake",
    calls,
    files,
    trees,
    made,
    handler: opts.handler ?? (() => ({})),
    get spawned() {
      return calls.length;
    },
    async run(cmd) {
      calls.push(cmd);
      const r = await host.handler(cmd, host);
      if (r === undefined) {
        throw new McError("BINARY_NOT_FOUND", `"${cmd.file}" was not found on PATH`, {
          backend: "core",
          op: "run",
        });
      }
      return { exitCode: 0, stdout: "", stderr: "", timedOut: false, durationMs: 0, ...r };
    },
    async runInteractive(cmd) {
      return (await host.run(cmd)).exitCode;
    },
    async info() {
      return info;
    },
    async readFile(path) {
      return files.get(path);
    },
    async readDir(dir) {
      const prefix = dir.endsWith("/") ? dir : `${dir}/`;
      const out = new Map<string, string>();
      for (const [p, t] of files)
        if (p.startsWith(prefix) && !p.slice(prefix.length).includes("/")) out.set(p.slice(prefix.length), t);
      return out;
    },
    async writeFile(path, data) {
      files.set(path, data);
    },
    async stat(path) {
      if (files.has(path)) return "file";
      return opts.missing?.includes(path) ? undefined : "dir";
    },
    async dirAccess(path) {
      if (files.has(path)) return "not-dir";
      if (opts.missing?.includes(path)) return "missing";
      return opts.denied?.includes(path) ? "denied" : "ok";
    },
    async makeDir(path) {
      if (opts.missing) opts.missing = opts.missing.filter((m) => m !== path);
      made.push(path);
    },
    async remove(path) {
      for (const p of [...files.keys()]) if (p === path || p.startsWith(`${path}/`)) files.delete(p);
    },
    async processTrees(pids) {
      const out = new Map<number, ProcessNode[]>();
      for (const p of pids) {
        const t = trees.get(p);
        if (t) out.set(p, t);
      }
      return out;
    },
    async which(file) {
      return binaries.has(file) ? `/usr/bin/${file}` : undefined;
    },
    interactiveCommand: (cmd) => cmd,
    async lock(name) {
      while (locks.has(name)) await new Promise((r) => setTimeout(r, 5));
      locks.add(name);
      return async () => {
        locks.delete(name);
      };
    },
  };
  return host;
}
