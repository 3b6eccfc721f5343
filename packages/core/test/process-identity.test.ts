import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { processEnded, selfIdentity } from "../src/linux-proc.js";

describe.skipIf(!existsSync("/proc/self/stat"))(
  "process identity (a scheduler recognised by other mc processes)",
  () => {
    it("this process lives; a process that exited (zombie or reaped) has ended; another boot has ended", async () => {
      const me = selfIdentity()!;
      expect(me.pid).toBe(process.pid);
      expect(processEnded(me)).toBe(false);
      // The same pid with another start time is another process (pid reuse).
      expect(processEnded({ ...me, start: me.start + 1 })).toBe(true);
      expect(processEnded({ ...me, boot: "another-boot" })).toBe(true);
      // Another machine sharing the state directory: this machine cannot tell.
      expect(processEnded({ ...me, machine: "elsewhere" })).toBeUndefined();
      // Another pid namespace (a container sharing the state directory): its pids are not ours to look up.
      expect(processEnded({ ...me, ns: "pid:[1]" })).toBeUndefined();
      expect(processEnded({ ...me, pid: 2 ** 22 + 1, ns: "pid:[1]" })).toBeUndefined();
      const child = spawn("sleep", ["30"], { stdio: "ignore" });
      await once(child, "spawn");
      const stat = readFileSync(`/proc/${child.pid}/stat`, "utf8");
      const start = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
      const id = { ...me, pid: child.pid!, start };
      expect(processEnded(id)).toBe(false);
      // Killed: a zombie not yet reaped by its parent has ended, and so has a reaped one.
      const exited = once(child, "exit");
      process.kill(child.pid!, "SIGKILL");
      for (let i = 0; i < 50 && !/\) Z /.test(safeStat(child.pid!)); i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(processEnded(id)).toBe(true);
      await exited;
      expect(processEnded(id)).toBe(true);
    });
  },
);

function safeStat(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return "";
  }
}
