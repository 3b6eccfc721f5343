import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname } from "node:path";
import { makeDirsSync } from "./make-dirs.js";

/**
 * How old a lock directory without an owner file is when it counts as stale here. A holder writes its
 * owner right after its `mkdir` (this process in the same synchronous step, the script a few milliseconds
 * later), so a directory still without one after this long belongs to a holder killed in between (a
 * SIGKILLed `sessions run`): waiting the script's minute outlasted every other command's 30 s lock wait.
 */
const OWNERLESS_MS = 10_000;

/**
 * {@link POSIX_LOCK_SCRIPT} done in this process, for a lock on this Linux machine: the same directory, the
 * same owner file and the same answers (`got`, `held <until> <pid> <now> <token>`, `stale <why>`), so it takes
 * turns with the script run by any other mc (over ssh to this machine, or an older one). It saves the
 * eight processes the script starts for every acquire and release (~60 ms each on a busy machine).
 */
export function nativeLockOp(op: string, d: string, tok: string, lease: number, hp: string): string {
  const now = Math.floor(Date.now() / 1000);
  const boot = readTrim("/proc/sys/kernel/random/boot_id");
  const ns = (() => {
    try {
      return readlinkSync("/proc/self/ns/pid");
    } catch {
      return "";
    }
  })();
  const ownerFile = `${d}/owner`;
  const readOwner = (): string[] | undefined => {
    const text = readRegularSync(ownerFile);
    return text === undefined ? undefined : splitOwner(text.split("\n")[0]!.trim());
  };
  const mine = () => readOwner()?.[5] === tok;
  const owner = () => {
    const tmp = `${d}/owner.${process.pid}${randomBytes(3).toString("hex")}`;
    writeFileSync(tmp, `${now + lease} ${boot || "-"} ${ns || "-"} ${hp} ${pstart(hp)} ${tok}\n`);
    renameSync(tmp, ownerFile);
  };
  if (op === "release") {
    if (mine()) rmSync(d, { recursive: true, force: true });
    return "";
  }
  if (op === "renew") {
    if (mine()) owner();
    return "";
  }
  if (op === "break") {
    if (!mine()) return "";
    try {
      const aside = `${d}.stale.${process.pid}${randomBytes(3).toString("hex")}`;
      renameSync(d, aside);
      rmSync(aside, { recursive: true, force: true });
      return "stale its holder is gone";
    } catch {
      return "";
    }
  }
  makeDirsSync(dirname(d), 0o700);
  let made = false;
  try {
    mkdirSync(d);
    made = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  if (made) {
    try {
      owner();
    } catch (e) {
      // Made but no owner written (a full disk): it goes, or every later mc would wait for it.
      rmSync(d, { recursive: true, force: true });
      throw e;
    }
    return "got";
  }
  const st = lstatOf(d);
  // Released between our mkdir and this look: try again at once.
  if (!st) return "stale released";
  // A file, FIFO or symlink in its place is never taken for a lock nor spun on.
  if (!st.isDirectory()) throw new Error(`${d} is not a directory: remove it`);
  const o = readOwner();
  let stale = "";
  let [u, p, t] = ["0", "-", ""];
  if (o) {
    const [ou, b, n, op2, s, ot] = o;
    [u, p, t] = [ou ?? "0", op2 ?? "-", ot ?? ""];
    // A holder this host can check (same boot, same pid namespace) holds the lock while it lives, whatever
    // the clock says (a clock stepped past the lease let a second run take the lock from a live one); the
    // lease decides only for holders it cannot check.
    if (boot && b !== "-" && b !== boot) stale = "the host restarted";
    else if (p !== "-" && ns && n === ns) {
      // A zombie (killed, not reaped) keeps its start time but holds nothing.
      if (pstart(p) !== s || zombie(p)) stale = `its holder (pid ${p}) is gone`;
    } else if (now > Number(u)) stale = "its lease ended";
  } else if (Date.now() - st.mtimeMs > OWNERLESS_MS) stale = "it has no owner";
  if (stale) {
    const t2 = readOwner()?.[5] ?? "";
    const aside = `${d}.stale.${process.pid}${randomBytes(3).toString("hex")}`;
    if (t2 === t) {
      try {
        renameSync(d, aside);
        rmSync(aside, { recursive: true, force: true });
        return `stale ${stale}`;
      } catch {}
    }
  }
  return `held ${u} ${p} ${now} ${t}`.trimEnd();
}

/** The owner line as `read -r u b n p s t` splits it: five words, then the rest. */
function splitOwner(line: string): string[] {
  const words = line.split(/[ \t]+/);
  return [...words.slice(0, 5), words.slice(5).join(" ")];
}

function readTrim(path: string, trim = true): string | undefined {
  try {
    const text = readFileSync(path, "utf8");
    return trim ? text.trim() : text.split("\n")[0]!.trim();
  } catch {
    return trim ? "" : undefined;
  }
}

function lstatOf(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/**
 * A regular file's text, or undefined: never through a symlink, and never blocking on a FIFO or device
 * put in its place (opened non-blocking, checked before it is read).
 */
function readRegularSync(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > 4096) return undefined;
    return readFileSync(fd, "utf8");
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** The start time (field 22 of /proc/<pid>/stat) the script writes; "" for a process that is gone. */
/** Whether process `pid` has ended and waits to be reaped (state Z or X in its stat). */
function zombie(pid: string): boolean {
  const text = readTrim(`/proc/${pid}/stat`);
  return text !== undefined && /^[ZX]/.test(text.slice(text.lastIndexOf(") ") + 2));
}

function pstart(pid: string): string {
  if (pid === "-") return "-";
  const text = readTrim(`/proc/${pid}/stat`);
  if (!text) return "";
  const rest = text.slice(text.lastIndexOf(") ") + 2).split(" ");
  return rest[19] ?? "";
}
