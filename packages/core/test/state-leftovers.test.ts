import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { clearStaleStateFiles, localHost } from "../src/index.js";

describe.skipIf(process.platform !== "linux")(
  "ls --prune's clean-up of interrupted writes (review H42-8)",
  () => {
    it("removes old temporary files and lock directories of dead holders; leaves fresh ones, held locks, links", async () => {
      const stateDir = mkdtempSync(join(tmpdir(), "mc-leftovers-"));
      const host = localHost({ stateDir });
      const kind = join(stateDir, "managers", "TmuxLocalManager");
      mkdirSync(kind, { recursive: true });
      const hourAgo = (Date.now() - 3600_000) / 1000;
      const file = (path: string, old: boolean) => {
        writeFileSync(path, "");
        if (old) utimesSync(path, hourAgo, hourAgo);
        return path;
      };
      const oldTmp = file(join(kind, "20261206-1-ab.json.tmp-4242-0a1b2c3d"), true);
      const topTmp = file(join(stateDir, "x.json.tmp-17-ff"), true);
      const freshTmp = file(join(kind, "20261206-2-cd.json.tmp-4243-0a1b2c3e"), false);
      const record = file(join(kind, "20261206-3-ef.json"), true);
      const target = file(join(stateDir, "target"), true);
      const link = join(kind, "l.json.tmp-1-aa");
      symlinkSync(target, link);
      utimesSync(target, hourAgo, hourAgo);
      // A killed holder's lock (its pid does not run), and one this process holds.
      const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
      const ns = readlinkSync("/proc/self/ns/pid");
      const dead = join(stateDir, "locks", "run-TmuxLocalManager-x.lock");
      mkdirSync(dead, { recursive: true });
      writeFileSync(
        join(dead, "owner"),
        `${Math.floor(Date.now() / 1000) + 3600} ${boot} ${ns} 999999999 1 feedfacefeedface\n`,
      );
      // A host script's temporary file, and a stale lock moved aside by a process that died (review H45).
      const sshTmp = file(join(kind, "20261206-4-ab.json.tmp-mc-1a2b3c4d"), true);
      const aside = join(stateDir, "locks", "run-y.lock.stale.1234abc");
      mkdirSync(aside, { recursive: true });
      writeFileSync(join(aside, "owner"), "x\n");
      utimesSync(aside, hourAgo, hourAgo);
      const release = await host.lock("tmux-held", 1000);
      expect(await clearStaleStateFiles(host)).toBe(5);
      expect([sshTmp, aside].map(existsSync)).toEqual([false, false]);
      expect([oldTmp, topTmp, dead].map(existsSync)).toEqual([false, false, false]);
      expect([freshTmp, record, link, target].map(existsSync)).toEqual([true, true, true, true]);
      expect(existsSync(join(stateDir, "locks", "tmux-held.lock"))).toBe(true);
      await release();
    });
  },
);
