import { execFileSync } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";

/** The process in the foreground of a pane's terminal: its argv and directory. */
export interface Foreground {
  pid: number;
  /** The exact argv (Linux). */
  argv?: string[];
  /** The command line as `ps` shows it (elsewhere): argv joined by spaces, not splittable again. */
  line?: string;
  cwd?: string | undefined;
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
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const n = Number(fields[5]);
  return Number.isInteger(n) && n > 0 ? n : undefined;
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
      let cwd: string | undefined;
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {}
      return { pid, argv, cwd };
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
