import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

/** The process in the foreground of a pane's terminal: its argv and directory. */
export interface Foreground {
  pid: number;
  /** The exact argv (Linux). */
  argv?: string[];
  /** The command line as `ps` shows it (elsewhere): argv joined by spaces, not splittable again. */
  line?: string;
  cwd?: string | undefined;
  /** Its directory was deleted (the kernel's link says ` (deleted)`): `cwd` is the path it had. */
  cwdGone?: boolean;
  /**
   * The program it runs (/proc/PID/exe) when argv[0] does not name it: `exec -a NAME`, or a process that
   * rewrote its argv (setproctitle, Node's process.title). Linux only; undefined when they agree or the
   * program cannot be read.
   */
  renamedFrom?: { exe: string };
  /** Other processes of the foreground job started beside it by the same parent: a pipeline (`a | b`). */
  pipeline?: number;
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
};

/** The terminal's foreground process group of `pid` (`tpgid`, field 8 of /proc/PID/stat). */
function tpgid(pid: number): number | undefined {
  const n = Number(statFields(pid)?.[5]);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** The fields of /proc/PID/stat after the command name: [state, ppid, pgrp, session, tty, tpgid, …]. */
function statFields(pid: number | string): string[] | undefined {
  const stat = read(`/proc/${pid}/stat`);
  return stat ? stat.slice(stat.lastIndexOf(")") + 2).split(" ") : undefined;
}

/** How many other processes of `pid`'s process group the same parent started (a pipeline's others). */
function groupSiblings(pid: number): number {
  const me = statFields(pid);
  if (!me) return 0;
  let n = 0;
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e) || Number(e) === pid) continue;
    const f = statFields(e);
    if (f && f[2] === me[2] && f[1] === me[1]) n++;
  }
  return n;
}

/** A /proc link, with the kernel's ` (deleted)` mark taken off (and said) when what it named is gone. */
function link(path: string): { path: string; gone: boolean } | undefined {
  let to: string;
  try {
    to = readlinkSync(path);
  } catch {
    return undefined;
  }
  const mark = " (deleted)";
  if (!to.endsWith(mark)) return { path: to, gone: false };
  try {
    statSync(to);
    return { path: to, gone: false };
  } catch {
    return { path: to.slice(0, -mark.length), gone: true };
  }
}

function dirOf(pid: number): { cwd?: string; cwdGone?: boolean } {
  const l = link(`/proc/${pid}/cwd`);
  return l ? { cwd: l.path, ...(l.gone ? { cwdGone: true } : {}) } : {};
}

const real = (p: string): string | undefined => {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
};

/**
 * Whether argv[0] names the program `exe`: the file it names (a path, from the process's directory, or
 * found on the process's PATH) is `exe`, symlinks followed (`vi` → vim.basic, `python3` → python3.11,
 * busybox applets). A login shell's leading `-` is not part of the name.
 */
function names(arg0: string, exe: string, pid: number, cwd: string | undefined): boolean {
  const want = real(exe) ?? exe;
  const name = arg0.replace(/^-/, "");
  if (name === "") return false;
  if (name.includes("/")) {
    const p = isAbsolute(name) ? name : cwd ? join(cwd, name) : undefined;
    return p !== undefined && real(p) === want;
  }
  const env = read(`/proc/${pid}/environ`)
    ?.split("\0")
    .find((v) => v.startsWith("PATH="));
  const path = (env?.slice(5) ?? process.env.PATH ?? "").split(delimiter);
  return path.some((d) => d !== "" && real(join(d, name)) === want);
}

function argvOf(pid: number): string[] | undefined {
  const raw = read(`/proc/${pid}/cmdline`);
  if (raw === undefined || raw === "") return undefined;
  return raw.replace(/\0$/, "").split("\0");
}

/**
 * What runs in the foreground of the terminal whose session leader is `panePid`: on Linux the real argv
 * from /proc (the process group the terminal's `tpgid` names, its leader), elsewhere `ps` (whose
 * `args` column is the argv joined by spaces, so it comes back as one word). Undefined when gone.
 */
export function foregroundOf(panePid: number): Foreground | undefined {
  if (process.platform === "linux") {
    const group = tpgid(panePid) ?? panePid;
    for (const pid of group === panePid ? [panePid] : [group, panePid]) {
      const argv = argvOf(pid);
      if (!argv) continue;
      const fg: Foreground = { pid, argv, ...dirOf(pid) };
      const exe = link(`/proc/${pid}/exe`);
      if (exe !== undefined && !names(argv[0]!, exe.path, pid, fg.cwd)) fg.renamedFrom = { exe: exe.path };
      if (pid !== panePid) {
        const siblings = groupSiblings(pid);
        if (siblings) fg.pipeline = siblings;
      }
      return fg;
    }
    return undefined;
  }
  try {
    const ps = (args: string[]) => execFileSync("ps", args, { encoding: "utf8", timeout: 5000 }).trim();
    const group = Number(ps(["-o", "tpgid=", "-p", String(panePid)])) || panePid;
    const args = ps(["-o", "args=", "-p", String(group)]) || ps(["-o", "args=", "-p", String(panePid)]);
    return args ? { pid: group, line: args } : undefined;
  } catch {
    return undefined;
  }
}
