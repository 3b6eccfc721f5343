import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { linuxProcessTrees } from "../src/linux-proc.js";

describe.skipIf(process.platform !== "linux")("linuxProcessTrees", () => {
  it("leaves out a zombie: an exited process nobody reaped is not running", async () => {
    // sh exits at once; its background sleep is reparented. Killed, it stays a zombie until its new
    // parent reaps it, which an init that never reaps (some containers) never does.
    const sh = spawn("sh", ["-c", "sleep 60 & echo $!"], {
      detached: true,
      stdio: ["ignore", "pipe", "ignore"],
    });
    const pid = Number((await new Promise<Buffer>((r) => sh.stdout.once("data", r))).toString().trim());
    expect((await linuxProcessTrees([pid])).get(pid)?.[0]?.pid).toBe(pid);
    process.kill(pid, "SIGKILL");
    const state = () => {
      try {
        return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
      } catch {
        return undefined;
      }
    };
    for (const end = Date.now() + 15_000; state() !== "Z" && state() !== undefined && Date.now() < end; )
      await new Promise((r) => setTimeout(r, 10));
    expect(["Z", "X", undefined]).toContain(state());
    expect((await linuxProcessTrees([pid])).has(pid)).toBe(false);
  });

  it("reads the whole tree ps sees, a multi-threaded process's children too, and a command line over 64 KiB whole", async () => {
    const long = "x".repeat(70_000);
    const sh = spawn(
      "sh",
      [
        "-c",
        `sleep 60 & node -e "require('child_process').spawn('sleep', ['61'], { stdio: 'ignore' }); setTimeout(() => {}, 60000)" & sh -c 'sleep 62' "$1" & wait`,
        "sh",
        long,
      ],
      { detached: true, stdio: "ignore" },
    );
    const root = sh.pid!;
    const descendants = () => {
      const rows = (spawnSync("ps", ["-eo", "pid=,ppid="], { encoding: "utf8" }).stdout ?? "")
        .trim()
        .split("\n")
        .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
      const out = new Set([root]);
      for (let grew = true; grew; ) {
        grew = false;
        for (const [pid, ppid] of rows)
          if (out.has(ppid) && !out.has(pid)) {
            out.add(pid);
            grew = true;
          }
      }
      return [...out].sort((a, b) => a - b);
    };
    try {
      // sh, sleep 60, node (several threads) and its sleep 61, sh -c and its sleep 62.
      for (const end = Date.now() + 15_000; descendants().length < 6 && Date.now() < end; )
        await new Promise((r) => setTimeout(r, 50));
      const want = descendants();
      expect(want).toHaveLength(6);
      const tree = (await linuxProcessTrees([root])).get(root) ?? [];
      expect(tree.map((n) => n.pid).sort((a, b) => a - b)).toEqual(want);
      expect(tree.find((n) => n.command.startsWith("sh -c sleep 62"))?.command).toBe(
        `sh -c sleep 62 ${long}`,
      );
    } finally {
      process.kill(-root, "SIGKILL");
    }
  });
});
