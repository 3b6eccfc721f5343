import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMcError } from "@mc/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SshHost, sshHost } from "../src/index.js";
import { HAVE_SSHD, type PrivateSshd, privateSshd } from "../src/testing.js";

describe.skipIf(!HAVE_SSHD)("sshHost against a real sshd", () => {
  let d: PrivateSshd;
  let h: SshHost;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mc-remote-host-"));
    d = await privateSshd(1);
    h = sshHost(
      "127.0.0.1",
      d.options(d.ports[0]!, { env: { SHELL: "/bin/sh" }, stateDir: join(dir, "state") }),
    );
  });
  afterAll(async () => {
    await h.close();
    d.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("detects the platform in one round trip and coalesces a tick's operations into one ssh invocation", async () => {
    const info = await h.info();
    expect(info).toMatchObject({ platform: "linux", stateDir: join(dir, "state"), shell: "/bin/sh" });
    expect(h.spawned).toBe(1);
    const before = h.spawned;
    const [run, files, kind, missing, which] = await Promise.all([
      h.run({ file: "printf", args: ["%s", "a 'b' $c"] }),
      h.readDir("/etc/ssh"),
      h.stat(dir),
      h.readFile(join(dir, "nope")),
      h.which("tmux"),
    ]);
    const trees = await h.processTrees([1]);
    expect(h.spawned - before).toBe(1);
    expect(run.stdout).toBe("a 'b' $c");
    expect(files.has("ssh_config")).toBe(true);
    expect([kind, missing, which]).toEqual(["dir", undefined, "/usr/bin/tmux"]);
    expect(trees.get(1)?.[0]?.pid).toBe(1);
    await h.writeFile(join(dir, "x", "f.sh"), "echo 'hi'\n", { mode: 0o755 });
    expect(await h.readFile(join(dir, "x", "f.sh"))).toBe("echo 'hi'\n");
    const missingBinary = await h.run({ file: "mc-no-such-binary", args: [] }).catch((e) => e);
    expect(isMcError(missingBinary, "BINARY_NOT_FOUND")).toBe(true);
  });

  it("a command that outlives its time fails then, also through the shared connection (review H28-2)", async () => {
    await h.info();
    const t0 = Date.now();
    // The master keeps the client's pipes while the remote command runs: waiting for them hung until it ended.
    const r = await h.run({ file: "sleep", args: ["25"], timeoutMs: 500 }).then(
      () => "answered",
      (e: unknown) => e,
    );
    expect(isMcError(r, "TIMEOUT"), String(r)).toBe(true);
    // 0.5 s and the connect allowance (3 s here), never the command's 25 s.
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it("locks are exclusive across hosts reaching the same machine", async () => {
    const other = sshHost("127.0.0.1", { ...h.options, id: "other" });
    const release = await h.lock("tmux-test");
    const err = await other.lock("tmux-test", 300).catch((e) => e);
    expect(isMcError(err, "TIMEOUT")).toBe(true);
    await release();
    const again = await other.lock("tmux-test", 2000);
    await again();
  });

  it("a run on this machine that was SIGKILLed holding the lock frees it for the next at once, not after the 30 s lease (review H70-3)", async () => {
    const { spawn } = await import("node:child_process");
    const { writeFileSync } = await import("node:fs");
    const src = new URL("../src/index.ts", import.meta.url).pathname;
    const file = join(dir, "holder.mjs");
    writeFileSync(
      file,
      `import { sshHost } from ${JSON.stringify(src)};
const h = sshHost("127.0.0.1", ${JSON.stringify({ ...h.options, id: "holder" })});
await h.lock("killed-run", 10_000);
console.log("got");
setInterval(() => {}, 1000);
`,
    );
    const env = { ...process.env };
    delete env.MC_LOCK_LEASE_SECONDS;
    const holder = spawn(process.execPath, ["--conditions=@mc/source", "--import", "tsx", file], {
      cwd: new URL("..", import.meta.url).pathname,
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    const other = sshHost("127.0.0.1", { ...h.options, id: "other" });
    try {
      await new Promise<void>((res, rej) => {
        holder.stdout.on("data", (b: Buffer) => b.toString().includes("got") && res());
        holder.once("exit", (code) => rej(new Error(`the holder ended (${code}) before it took the lock`)));
      });
      // Alive, it holds the lock.
      expect(isMcError(await other.lock("killed-run", 1_000).catch((e) => e), "TIMEOUT")).toBe(true);
      holder.kill("SIGKILL");
      await new Promise((r) => holder.once("exit", r));
      const t0 = Date.now();
      const taken = await other.lock("killed-run", 10_000);
      expect(Date.now() - t0).toBeLessThan(3_000);
      await taken();
    } finally {
      holder.kill("SIGKILL");
      await other.close();
    }
  }, 60_000);
});

describe.skipIf(!HAVE_SSHD)("a host that connects but never runs mc's commands (review H38-1)", () => {
  let d: PrivateSshd;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mc-remote-hang-"));
    // Every login hangs before the command runs, as a stuck rc file or a hung home directory does.
    d = await privateSshd(1, { extraConfig: ["ForceCommand exec sleep 1000"] });
  });
  afterAll(() => {
    d.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is given up on after the login time, through the shared connection too, with what happened", async () => {
    const h = sshHost(
      "127.0.0.1",
      d.options(d.ports[0]!, { stateDir: join(dir, "state"), loginTimeoutMs: 1500 }),
    );
    try {
      for (const attempt of [1, 2]) {
        const t0 = Date.now();
        // Operations with no time of their own (info, reading a file): they waited for ever.
        const r = await (attempt === 1 ? h.info() : h.readFile("/etc/hostname")).then(
          () => "answered",
          (e: unknown) => e,
        );
        expect(isMcError(r, "SSH_UNREACHABLE"), String(r)).toBe(true);
        expect(String((r as Error).message)).toContain("the login did not start mc's commands within");
        // 1.5 s and the connect allowance (3 s here).
        expect(Date.now() - t0).toBeLessThan(15_000);
      }
    } finally {
      await h.close();
    }
  });

  it("hosts of one command that share `unanswered` wait for a silent connection once (review H53-2)", async () => {
    const unanswered = new Map();
    const opts = d.options(d.ports[0]!, { stateDir: join(dir, "state"), loginTimeoutMs: 1500, unanswered });
    const [first, next] = [sshHost("127.0.0.1", opts), sshHost("127.0.0.1", opts)];
    const failed = await first.info().then(
      () => "answered",
      (e: unknown) => e,
    );
    expect(isMcError(failed, "SSH_UNREACHABLE"), String(failed)).toBe(true);
    expect(unanswered.size).toBe(1);
    // Another host (another run's) on the same connection: the same error at once, no ssh started.
    const t0 = Date.now();
    const again = await next.readFile("/etc/hostname").then(
      () => "answered",
      (e: unknown) => e,
    );
    expect(again).toBe(failed);
    // No ssh started (below) is the proof; the time only shows no login deadline (1.5 s + 3 s) was waited
    // again (1000 ms flaked at 1019 on a loaded machine).
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(next.batches).toBe(0);
    expect(next.spawned).toBe(0);
  });
});

describe.skipIf(!HAVE_SSHD)(
  "a server that drops connections before the login (sshd's MaxStartups under load)",
  () => {
    it("is asked again, not remembered as silent for the rest of the command (review HR83)", async () => {
      const { createServer } = await import("node:net");
      let connections = 0;
      // Takes the connection and drops it at once, as sshd does past MaxStartups.
      const srv = createServer((s) => {
        connections++;
        s.destroy();
      });
      await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
      const port = (srv.address() as { port: number }).port;
      const d = await privateSshd(1);
      const dir = mkdtempSync(join(tmpdir(), "mc-remote-drop-"));
      const unanswered = new Map();
      const h = sshHost("127.0.0.1", d.options(port, { stateDir: join(dir, "state"), unanswered }));
      try {
        for (let i = 0; i < 2; i++) {
          const e = await h.info().then(
            () => "answered",
            (x: unknown) => x,
          );
          expect(isMcError(e, "SSH_UNREACHABLE"), String(e)).toBe(true);
          expect(String((e as Error).message)).toMatch(/closed by remote host|reset by peer/);
        }
        expect(connections).toBe(2);
        expect(unanswered.size).toBe(0);
      } finally {
        await h.close();
        d.stop();
        srv.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);

describe.skipIf(!HAVE_SSHD)("a connection that drops after the login ran mc's script", () => {
  it("is a dropped connection, not a silent machine: said so, and the next operation asks again (review HR89-2)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mc-remote-cut-"));
    const flag = join(dir, "drop");
    // While the flag is there: the script runs (its up token comes back at once), and a second later the
    // connection's sshd is killed, as a network cut mid-batch does.
    const d = await privateSshd(1, {
      extraConfig: [
        `ForceCommand if [ -e ${flag} ]; then (sleep 1; kill -9 $PPID) & fi; exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"`,
      ],
    });
    const unanswered = new Map();
    const h = sshHost("127.0.0.1", d.options(d.ports[0]!, { stateDir: join(dir, "state"), unanswered }));
    try {
      await h.info();
      writeFileSync(flag, "");
      const e = await h.run({ file: "sh", args: ["-c", "sleep 4"] }).then(
        () => "answered",
        (x: unknown) => x,
      );
      expect(isMcError(e, "SSH_UNREACHABLE"), String(e)).toBe(true);
      // Not the batch's own bytes as a reason ("unreachable: ./cmd-0\0…").
      expect(String((e as Error).message)).toMatch(/dropped before the command finished/);
      expect(unanswered.size).toBe(0);
      rmSync(flag);
      expect((await h.info()).home).toBeTruthy();
    } finally {
      await h.close();
      d.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe.skipIf(!HAVE_SSHD)("a slow login is not clock skew", () => {
  it("a login that takes 3 s before mc's script starts leaves the measured skew at 0 (review HR84-3)", async () => {
    const d = await privateSshd(1, {
      extraConfig: ['ForceCommand sleep 3; exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"'],
    });
    const dir = mkdtempSync(join(tmpdir(), "mc-remote-slowlogin-"));
    const h = sshHost("127.0.0.1", d.options(d.ports[0]!, { stateDir: join(dir, "state") }));
    try {
      await h.info();
      // Before, the 3 s before the script were half taken for a clock 1.5 s ahead there.
      expect(h.clockSkewMs).toBe(0);
    } finally {
      await h.close();
      d.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
