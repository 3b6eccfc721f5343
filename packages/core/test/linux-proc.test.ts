import { spawn } from "node:child_process";
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
});
