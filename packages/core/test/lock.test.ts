import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defineHost, localHost } from "../src/index.js";

// The local host takes core's lock in-process; any other mc on this machine (over ssh, or started
// through a transport) runs the same protocol as POSIX_LOCK_SCRIPT. They must take turns.
describe.skipIf(process.platform !== "linux")(
  "the in-process lock and the lock script share one protocol",
  () => {
    const stateDir = mkdtempSync(join(tmpdir(), "mc-lock-"));
    const native = localHost({ stateDir });
    const scripted = defineHost({
      id: "scripted",
      spawned: 0,
      run: (c, o) => native.run(c, o),
      runInteractive: (c) => native.runInteractive(c),
      info: () => native.info(),
    });

    it("native and script contenders on one lock never overlap and never fail", async () => {
      let inside = 0;
      let most = 0;
      await Promise.all(
        Array.from({ length: 10 }, async (_, k) => {
          const host = k % 2 ? scripted : native;
          for (let round = 0; round < 3; round++) {
            const release = await host.lock("mixed", 60_000);
            inside++;
            most = Math.max(most, inside);
            await new Promise((r) => setTimeout(r, 3));
            inside--;
            await release();
          }
        }),
      );
      expect(most).toBe(1);
    }, 120_000);

    it("writes the owner line the script reads, and each frees the other's stale locks", async () => {
      const release = await native.lock("shape", 5_000);
      const owner = readFileSync(join(stateDir, "locks", "shape.lock", "owner"), "utf8");
      // until boot ns holder-pid holder-start token
      expect(owner).toMatch(/^\d+ [0-9a-f-]+ pid:\[\d+\] \d+ \d+ [0-9a-f]{16}\n$/);
      expect(Number(owner.split(" ")[0])).toBeGreaterThan(Date.now() / 1000);
      const held = await scripted.lock("shape", 300).catch((e) => e);
      expect(String(held)).toMatch(/holds the lock/);
      await release();
      // A holder that died (same pid namespace, a pid that is not running), a restarted host, a lease over:
      const ns =
        readFileSync("/proc/self/stat", "utf8") &&
        (await import("node:fs")).readlinkSync("/proc/self/ns/pid");
      const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
      const until = Math.floor(Date.now() / 1000) + 3600;
      const cases = {
        deadHolder: `${until} ${boot} ${ns} 999999999 12345 feedfacefeedface`,
        otherBoot: `${until} 00000000-0000-0000-0000-000000000000 ${ns} - - feedfacefeedface`,
        leaseOver: `1 ${boot} ${ns} - - feedfacefeedface`,
      };
      for (const [name, line] of Object.entries(cases)) {
        for (const host of [native, scripted]) {
          const dir = join(stateDir, "locks", `${name}-${host.id}.lock`);
          mkdirSync(dir, { recursive: true });
          writeFileSync(join(dir, "owner"), `${line}\n`);
          const t0 = Date.now();
          // Taken at once, well before the timeout (the bounds leave room for a loaded machine).
          const taken = await host.lock(`${name}-${host.id}`, 10_000);
          expect(Date.now() - t0, `${name} via ${host.id}`).toBeLessThan(8_000);
          await taken();
        }
      }
    });

    it("a live holder this host can check keeps its lock after its lease, whatever the clock says (review H25-2)", async () => {
      const { readlinkSync } = await import("node:fs");
      const ns = readlinkSync("/proc/self/ns/pid");
      const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
      // This process's start time, field 22 of its stat (after the command name in parentheses).
      const stat = readFileSync(`/proc/${process.pid}/stat`, "utf8");
      const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
      for (const host of [native, scripted]) {
        const dir = join(stateDir, "locks", `alive-${host.id}.lock`);
        mkdirSync(dir, { recursive: true });
        // A lease that ended long ago (a clock stepped forward, a holder whose timer had not renewed yet).
        writeFileSync(join(dir, "owner"), `1 ${boot} ${ns} ${process.pid} ${start} feedfacefeedface\n`);
        const held = await host.lock(`alive-${host.id}`, 500).catch((e) => e);
        expect(String(held), host.id).toMatch(/holds the lock/);
      }
    });

    it("a holder that was killed and not reaped (a zombie) holds nothing (review H26-2)", async () => {
      const { spawn } = await import("node:child_process");
      const { readlinkSync } = await import("node:fs");
      // A parent that never reaps its child: the child stays a zombie, with its pid and start time.
      const parent = spawn(
        "perl",
        ["-e", '$| = 1; my $p = fork(); if (!$p) { exit 0 } print "$p\\n"; sleep 30'],
        {
          stdio: ["ignore", "pipe", "ignore"],
        },
      );
      try {
        const pid = await new Promise<string>((r) =>
          parent.stdout.once("data", (d: Buffer) => r(d.toString().trim())),
        );
        const deadline = Date.now() + 3000;
        let stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        while (!/\) Z/.test(stat) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
          stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        }
        const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
        const ns = readlinkSync("/proc/self/ns/pid");
        const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
        for (const host of [native, scripted]) {
          const dir = join(stateDir, "locks", `zombie-${host.id}.lock`);
          mkdirSync(dir, { recursive: true });
          writeFileSync(
            join(dir, "owner"),
            `${Math.floor(Date.now() / 1000) + 3600} ${boot} ${ns} ${pid} ${start} feedfacefeedface\n`,
          );
          const taken = await host.lock(`zombie-${host.id}`, 3_000);
          await taken();
        }
      } finally {
        parent.kill("SIGKILL");
      }
    });

    it("a lock directory a killed holder left without an owner blocks for seconds, not a minute", async () => {
      const { utimesSync } = await import("node:fs");
      const dir = join(stateDir, "locks", "ownerless.lock");
      mkdirSync(dir, { recursive: true });
      // Fresh: its holder may be writing its owner this moment.
      expect(String(await native.lock("ownerless", 300).catch((e) => e))).toMatch(/holds the lock/);
      // 15 s old: its holder died between its mkdir and its owner file (a SIGKILLed run).
      const then = (Date.now() - 15_000) / 1000;
      utimesSync(dir, then, then);
      const t0 = Date.now();
      const taken = await native.lock("ownerless", 10_000);
      expect(Date.now() - t0).toBeLessThan(8_000);
      await taken();
    });

    it("a holder the host cannot check, on this machine, that was SIGKILLed frees its lock at once, not when its lease ends (review H70-3)", async () => {
      const { spawn } = await import("node:child_process");
      const { rmSync } = await import("node:fs");
      const src = new URL("../src/index.ts", import.meta.url).pathname;
      const dir = mkdtempSync(join(tmpdir(), "mc-lock-holder-"));
      const file = join(dir, "holder.mjs");
      // A remote-style holder (no holder pid: a CLI that reached its host over ssh), as `run` takes it.
      writeFileSync(
        file,
        `import { defineHost, localHost } from ${JSON.stringify(src)};
const local = localHost({ stateDir: ${JSON.stringify(stateDir)} });
const remote = defineHost({ id: "remote", spawned: 0, run: (c, o) => local.run(c, o), runInteractive: (c) => local.runInteractive(c), info: () => local.info() });
await remote.lock("remote-held", 10_000);
console.log("got");
setInterval(() => {}, 1000);
`,
      );
      const env = { ...process.env };
      delete env.MC_LOCK_LEASE_SECONDS;
      const holder = spawn(process.execPath, ["--import", "tsx", file], {
        cwd: new URL("..", import.meta.url).pathname,
        env,
        stdio: ["ignore", "pipe", "inherit"],
      });
      try {
        await new Promise<void>((res, rej) => {
          holder.stdout.on("data", (d: Buffer) => d.toString().includes("got") && res());
          holder.once("exit", (code) => rej(new Error(`the holder ended (${code}) before it took the lock`)));
        });
        const owner = readFileSync(join(stateDir, "locks", "remote-held.lock", "owner"), "utf8");
        // Alive, it holds the lock against either kind of waiter.
        for (const host of [native, scripted]) {
          const held = await host.lock("remote-held", 1_500).catch((e) => e);
          expect(String(held), host.id).toMatch(/holds the lock/);
        }
        holder.kill("SIGKILL");
        await new Promise((r) => holder.once("exit", r));
        for (const host of [scripted, native]) {
          const t0 = Date.now();
          const taken = await host.lock("remote-held", 10_000);
          // Its lease runs 30 s: taken within ~2 s (bounds for a loaded machine) means it was broken.
          expect(Date.now() - t0, host.id).toBeLessThan(3_000);
          // The next holder is this live process: a plain holder, not broken.
          expect(String(await scripted.lock("remote-held", 500).catch((e) => e))).toMatch(/holds the lock/);
          await taken();
          if (host === scripted) {
            // Again a dead remote-style holder, for the native waiter.
            const line = owner;
            mkdirSync(join(stateDir, "locks", "remote-held.lock"));
            writeFileSync(join(stateDir, "locks", "remote-held.lock", "owner"), line);
          }
        }
        // Its token names it (random hex, then its identity): one word, shell-safe.
        expect(owner).toMatch(/ - - [0-9a-f]{16}\.[\w-]+\n$/);
      } finally {
        holder.kill("SIGKILL");
        rmSync(dir, { recursive: true, force: true });
      }
    }, 60_000);

    it("a file, symlink or FIFO where a lock or its owner goes is an error at once, never a spin or a hang (review H14-1)", async () => {
      const { symlinkSync } = await import("node:fs");
      const { execFileSync } = await import("node:child_process");
      mkdirSync(join(stateDir, "locks"), { recursive: true });
      for (const host of [native, scripted]) {
        const at = (n: string) => join(stateDir, "locks", `${n}-${host.id}.lock`);
        writeFileSync(at("file"), "");
        symlinkSync("/nonexistent", at("dangling"));
        mkdirSync(join(stateDir, "elsewhere"), { recursive: true });
        symlinkSync(join(stateDir, "elsewhere"), at("linkdir"));
        for (const n of ["file", "dangling", "linkdir"]) {
          const t0 = Date.now();
          const err = await host.lock(`${n}-${host.id}`, 10_000).catch((e) => e);
          expect(String(err), `${n} via ${host.id}`).toMatch(/is not a directory: remove it/);
          expect(Date.now() - t0).toBeLessThan(8_000);
        }
        // A FIFO as the owner file: read as "no owner" (a fresh one: held), never opened to block.
        mkdirSync(at("fifo"));
        execFileSync("mkfifo", [join(at("fifo"), "owner")]);
        const t0 = Date.now();
        expect(String(await host.lock(`fifo-${host.id}`, 300).catch((e) => e))).toMatch(/holds the lock/);
        expect(Date.now() - t0).toBeLessThan(8_000);
      }
    });
  },
);
