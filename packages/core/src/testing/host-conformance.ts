import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isMcError } from "../errors.js";
import type { Host } from "../host.js";

/** What a host gives the Host conformance suite. */
export interface HostHarness {
  /** Shown in test names. */
  name: string;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
  /** The host under test (called after setup). */
  host(): Host;
  /** A fresh empty directory on that host, for the suite's files. */
  workDir(): Promise<string>;
}

/**
 * The operations every {@link Host} must get right, whatever its transport: `localHost`, `sshHost` and
 * any host built with `defineHost` run this suite (`@mc/core/testing`).
 */
export function runHostConformance(h: HostHarness): void {
  describe(`host conformance: ${h.name}`, () => {
    let host: Host;
    let dir: string;
    beforeAll(async () => {
      await h.setup?.();
      host = h.host();
      dir = await h.workDir();
    });
    afterAll(async () => {
      await h.teardown?.();
    });

    it("runs a command with its arguments, input, environment and directory exactly", async () => {
      const weird = ["a b", "'\"$HOME`x`", "", "-n", "ü 🚀", "semi;colon"];
      const r = await host.run({
        file: "/bin/sh",
        args: ["-c", 'printf "%s\\n" "$@"; printf "%s\\n" "$MC_T" "$(pwd)"; cat; exit 3', "sh", ...weird],
        env: { MC_T: "v a l" },
        cwd: dir,
        input: "in put\n",
      });
      expect(r.exitCode).toBe(3);
      expect(r.stdout).toBe(`${weird.join("\n")}\nv a l\n${dir}\nin put\n`);
    });

    it("says BINARY_NOT_FOUND for a missing executable", async () => {
      const e = await host.run({ file: "mc-no-such-binary-xyz", args: [] }).catch((x) => x);
      expect(isMcError(e, "BINARY_NOT_FOUND")).toBe(true);
    });

    it("writes atomically, reads back exactly, lists only regular files", async () => {
      const text = "line 1\nü 🚀\n\u0000? no: \u0001 ok\n";
      await host.writeFile(`${dir}/sub/a.json`, text);
      await host.writeFile(`${dir}/sub/b.txt`, "");
      expect(await host.readFile(`${dir}/sub/a.json`)).toBe(text);
      expect(await host.readFile(`${dir}/sub/missing`)).toBeUndefined();
      await host.run({
        file: "/bin/sh",
        args: ["-c", `mkdir -p "$1/sub/d" && mkfifo "$1/sub/fifo"`, "sh", dir],
      });
      expect(await host.readFile(`${dir}/sub/fifo`)).toBeUndefined();
      const files = await host.readDir(`${dir}/sub`);
      expect([...files.keys()].sort()).toEqual(["a.json", "b.txt"]);
      expect(files.get("a.json")).toBe(text);
      expect((await host.readDir(`${dir}/nope`)).size).toBe(0);
    });

    it("creates files private to their owner", async () => {
      await host.writeFile(`${dir}/priv/secret`, "x");
      const r = await host.run({
        file: "/bin/sh",
        args: [
          "-c",
          'stat -c %a "$1" "$2" 2>/dev/null || stat -f %Lp "$1" "$2"',
          "sh",
          `${dir}/priv/secret`,
          `${dir}/priv`,
        ],
      });
      expect(r.stdout.split("\n").filter(Boolean)).toEqual(["600", "700"]);
    });

    it("stats, removes trees and finds executables", async () => {
      await host.writeFile(`${dir}/t/x/y`, "1");
      expect(await host.stat(`${dir}/t`)).toBe("dir");
      expect(await host.stat(`${dir}/t/x/y`)).toBe("file");
      expect(await host.stat(`${dir}/t/none`)).toBeUndefined();
      await host.remove(`${dir}/t`);
      await host.remove(`${dir}/t`);
      expect(await host.stat(`${dir}/t`)).toBeUndefined();
      expect(await host.which("sh")).toMatch(/\/sh$/);
      expect(await host.which("mc-no-such-binary-xyz")).toBeUndefined();
    });

    it("makes a directory with its missing parents; a file on the way, or /proc, fails at once", async () => {
      await host.makeDir(`${dir}/md/a/b/c`);
      expect(await host.stat(`${dir}/md/a/b/c`)).toBe("dir");
      await host.makeDir(`${dir}/md/a/b/c`);
      await host.writeFile(`${dir}/md/file`, "1");
      await expect(host.makeDir(`${dir}/md/file/x`)).rejects.toThrow();
      expect(await host.stat(`${dir}/md/file`)).toBe("file");
      // A link to nothing on the way is no directory either (review H24-7).
      await host.run({ file: "ln", args: ["-s", `${dir}/md/nowhere`, `${dir}/md/dangling`] });
      await expect(host.makeDir(`${dir}/md/dangling/x`)).rejects.toThrow();
      await expect(host.makeDir(`${dir}/md/dangling`)).rejects.toThrow();
      // procfs answers ENOENT to a mkdir under a directory that exists: Node's recursive mkdir looped on it
      // for ever at 100 % CPU (review H23-2).
      if ((await host.stat("/proc/self")) === "dir") {
        const t0 = Date.now();
        await expect(host.makeDir("/proc/mc-no-such/x")).rejects.toThrow();
        expect(Date.now() - t0).toBeLessThan(5000);
      }
    });

    it("a process that execs after being read shows its new command (same pid, same start time)", async () => {
      const r = await host.run({
        file: "/bin/sh",
        args: ["-c", "/bin/sh -c 'sleep 3; exec sleep 31' >/dev/null 2>&1 & echo $!"],
      });
      const pid = Number(r.stdout.trim());
      try {
        // Seen before its exec (a batched host may answer from a table read a moment earlier).
        let first = "";
        const seenBy = Date.now() + 2_500;
        while (!first && Date.now() < seenBy) {
          first = (await host.processTrees([pid])).get(pid)?.[0]?.command ?? "";
          if (!first) await new Promise((res) => setTimeout(res, 50));
        }
        expect(first).toContain("exec sleep 31");
        const until = Date.now() + 20_000;
        let now = first;
        while (now !== "sleep 31" && Date.now() < until) {
          await new Promise((res) => setTimeout(res, 50));
          now = (await host.processTrees([pid])).get(pid)?.[0]?.command ?? "";
        }
        expect(now).toBe("sleep 31");
      } finally {
        await host.run({ file: "/bin/sh", args: ["-c", `kill ${pid}`] });
      }
    });

    it("reads process trees with start times", async () => {
      const r = await host.run({
        file: "/bin/sh",
        args: ["-c", "( sleep 30 & sleep 30 & wait ) >/dev/null 2>&1 & echo $!"],
      });
      const pid = Number(r.stdout.trim());
      try {
        let tree = (await host.processTrees([pid])).get(pid) ?? [];
        const until = Date.now() + 20_000;
        while (tree.filter((p) => p.command === "sleep 30").length < 2 && Date.now() < until) {
          await new Promise((res) => setTimeout(res, 20));
          tree = (await host.processTrees([pid])).get(pid) ?? [];
        }
        expect(tree[0]?.pid).toBe(pid);
        expect(tree.filter((p) => p.command === "sleep 30").length).toBe(2);
        expect(Math.abs((tree[0]?.startedAt ?? 0) - Date.now())).toBeLessThan(5 * 60_000);
        expect((await host.processTrees([999_999_999])).size).toBe(0);
      } finally {
        await host.run({ file: "/bin/sh", args: ["-c", `pkill -P ${pid}; kill ${pid}`] });
      }
      // A loaded machine (CI, two cores) can take seconds to fork two sleeps and read the table.
    }, 30_000);

    it("locks exclusively, releases, and frees a lock whose lease ran out", async () => {
      const name = `conf-${Math.random().toString(36).slice(2, 8)}`;
      const release = await host.lock(name, 10_000);
      const second = await host.lock(name, 300).catch((e) => e);
      expect(isMcError(second, "TIMEOUT")).toBe(true);
      await release();
      const again = await host.lock(name, 2_000);
      await again();
      // A holder that vanished (its process or its machine): the lease, by the host's clock, frees it.
      const { stateDir } = await host.info();
      const lockDir = `${stateDir}/locks/${name}.lock`;
      await host.run({
        file: "/bin/sh",
        args: ["-c", 'mkdir -p "$1" && echo "1 - - - - deadbeef" >"$1/owner"', "sh", lockDir],
      });
      const taken = await host.lock(name, 2_000);
      await taken();
    });

    it("12 contenders that take and release the same lock at once never fail and never overlap", async () => {
      const name = `race-${Math.random().toString(36).slice(2, 8)}`;
      let inside = 0;
      let most = 0;
      await Promise.all(
        Array.from({ length: 12 }, async () => {
          for (let round = 0; round < 3; round++) {
            const release = await host.lock(name, 60_000);
            inside++;
            most = Math.max(most, inside);
            await new Promise((r) => setTimeout(r, 5));
            inside--;
            await release();
          }
        }),
      );
      expect(most).toBe(1);
    }, 120_000);
  });
}
