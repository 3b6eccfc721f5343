import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * {@link POSIX_LOCK_SCRIPT} done in this process, for a lock on this Linux machine: the same directory, the
 * same owner file and the same answers (`got`, `held <until> <pid> <now>`, `stale <why>`), so it takes
 * turns with the script run by any other mc (over ssh to this machine, or an older one). It saves the
 * eight processes the script starts for every acquire and release (~60 ms each on a busy machine).
 */
/**
 * How old a lock directory without an owner file is when it counts as stale here. A holder writes its
 * owner right after its `mkdir` (this process in the same synchronous step, the script a few milliseconds
 * later), so a directory still without one after this long belongs to a holder killed in between (a
 * SIGKILLed `sessions run`): waiting the script's minute outlasted every other command's 30 s lock wait.
 */
const OWNERLESS_MS = 10_000;

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
    const text = readTrim(ownerFile, false);
    return text === undefined ? undefined : splitOwner(text);
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
  mkdirSync(dirname(d), { recursive: true, mode: 0o700 });
  try {
    mkdirSync(d);
    owner();
    return "got";
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  // Released between our mkdir and this look: try again at once.
  const st = statOf(d);
  if (!st?.isDirectory()) return "stale released";
  const o = readOwner();
  let stale = "";
  let [u, p, t] = ["0", "-", ""];
  if (o) {
    const [ou, b, n, op2, s, ot] = o;
    [u, p, t] = [ou ?? "0", op2 ?? "-", ot ?? ""];
    if (now > Number(u)) stale = "its lease ended";
    if (!stale && boot && b !== "-" && b !== boot) stale = "the host restarted";
    if (!stale && p !== "-" && ns && n === ns && pstart(p) !== s) stale = `its holder (pid ${p}) is gone`;
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
  return `held ${u} ${p} ${now}`;
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

function statOf(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** The start time (field 22 of /proc/<pid>/stat) the script writes; "" for a process that is gone. */
function pstart(pid: string): string {
  if (pid === "-") return "-";
  const text = readTrim(`/proc/${pid}/stat`);
  if (!text) return "";
  const rest = text.slice(text.lastIndexOf(") ") + 2).split(" ");
  return rest[19] ?? "";
}
