// Issue #20 §1 (one connection per machine, never someone else's) and the connection messages of §7,
// against one private sshd whose ports stand for machines (Match LocalPort + SetEnv MC_MACHINE=m<i>).
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMcError } from "@mc/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultControlDir, type SshHost, sshHost, sshMachine } from "../src/index.js";
import { freePorts, HAVE_SSHD, type PrivateSshd, privateSshd } from "../src/testing.js";

const say = async (h: SshHost) =>
  (await h.run({ file: "/bin/sh", args: ["-c", 'printf %s "$MC_MACHINE"'] })).stdout;

describe.skipIf(!HAVE_SSHD)("connections: one per route, never torn down under another process", () => {
  let d: PrivateSshd;
  let dir: string;
  let cfg: string;
  const hosts: SshHost[] = [];
  const host = (target: string, o: Parameters<typeof sshHost>[1] = {}) => {
    const h = sshHost(target, { configFile: cfg, controlDir: join(dir, "cm"), connectTimeoutMs: 3000, ...o });
    hosts.push(h);
    return h;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mc-conn-"));
    d = await privateSshd(3, {
      portEnv: { 0: { MC_MACHINE: "m0" }, 1: { MC_MACHINE: "m1" }, 2: { MC_MACHINE: "m2" } },
      extraConfig: ["ListenAddress ::1"],
    });
    cfg = join(dir, "ssh_config");
    const [p0, p1, p2] = d.ports;
    const jump = (port: number) => `ProxyCommand ssh -F ${cfg} -W 127.0.0.1:${port} jump`;
    writeFileSync(
      cfg,
      [
        // Two machines that ssh's %C cannot tell apart: same HostName, Port and User, other routes.
        "Host via-a",
        "  HostName box.internal",
        "  Port 22",
        `  ${jump(p1!)}`,
        "Host via-b",
        "  HostName box.internal",
        "  Port 22",
        `  ${jump(p2!)}`,
        "Host jumped",
        "  HostName 127.0.0.1",
        `  Port ${p1}`,
        "  ProxyJump jump",
        "Host jump",
        "  HostName 127.0.0.1",
        `  Port ${p0}`,
        // An interactive-login config that must not break or hijack mc's calls.
        "Host rc",
        "  HostName 127.0.0.1",
        `  Port ${p0}`,
        "  RemoteCommand echo hijacked; exit 3",
        "  RequestTTY yes",
        "  SessionType none",
        "  ForkAfterAuthentication yes",
        "  PermitLocalCommand yes",
        `  LocalCommand touch ${join(dir, "LOCALCOMMAND-RAN")}`,
        "Host *",
        "  User root",
        `  IdentityFile ${d.key}`,
        "  IdentitiesOnly yes",
        "  StrictHostKeyChecking no",
        "  UserKnownHostsFile /dev/null",
        "  LogLevel ERROR",
        "  BatchMode yes",
        "",
      ].join("\n"),
    );
  });
  afterAll(() => {
    d.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("names connections by the effective configuration: two routes to one HostName never share", async () => {
    // What ssh's %C gives both aliases: one socket, so the second machine's commands would run on the first.
    const percentC = (alias: string) =>
      execFileSync("ssh", ["-F", cfg, "-o", "ControlPath=/x/%C", "-G", alias], { encoding: "utf8" }).match(
        /^controlpath (.*)$/m,
      )?.[1];
    expect(percentC("via-a")).toBe(percentC("via-b"));
    const a = host("via-a");
    const b = host("via-b");
    expect(await say(a)).toBe("m1");
    expect(await say(b)).toBe("m2");
    expect(a.controlPath).not.toBe(b.controlPath);
    // The other order, with both masters up: still each its own machine.
    expect([await say(host("via-b")), await say(host("via-a"))]).toEqual(["m2", "m1"]);
    // ProxyJump is kept (mc neutralises only what breaks a command channel).
    expect(await say(host("jumped"))).toBe("m1");
  });

  it("neutralises RemoteCommand, RequestTTY, SessionType, -f, LocalCommand and port forwards of the user's config", async () => {
    const [free] = await freePorts(1);
    const fwd = join(dir, "fwd_config");
    writeFileSync(
      fwd,
      `Host rcf\n  HostName 127.0.0.1\n  Port ${d.ports[0]}\n  LocalForward 127.0.0.1:${free} 127.0.0.1:${d.ports[0]}\nInclude ${cfg}\n`,
    );
    // Plain ssh with that config cannot run a command at all (the class this fixes).
    const plain = spawnSync("ssh", ["-F", cfg, "rc", "true"], { encoding: "utf8", timeout: 10_000 });
    expect(plain.status).not.toBe(0);
    const h = host("rc");
    expect(await say(h)).toBe("m0");
    expect((await h.run({ file: "/bin/sh", args: ["-c", "exit 5"] })).exitCode).toBe(5);
    expect(existsSync(join(dir, "LOCALCOMMAND-RAN"))).toBe(false);
    const f = host("rcf", { configFile: fwd });
    expect(await say(f)).toBe("m0");
    // The forward's local port was never taken: this process can still listen on it.
    await new Promise<void>((resolve, reject) => {
      const srv = createServer().once("error", reject);
      srv.listen(free, "127.0.0.1", () => srv.close(() => resolve()));
    });
  });

  it("never tears down a master another process uses: a long command survives another host's close()", async () => {
    const a = host("jump");
    const b = host("jump");
    await say(a);
    const long = a.run({ file: "/bin/sh", args: ["-c", "sleep 1.5; echo still-here"] });
    await new Promise((r) => setTimeout(r, 300));
    await say(b);
    expect(b.controlPath).toBe(a.controlPath);
    await b.close();
    expect((await long).stdout).toBe("still-here\n");
    const check = spawnSync("ssh", ["-o", `ControlPath=${a.controlPath}`, "-O", "check", "x"], {
      encoding: "utf8",
    });
    expect(check.stderr).toMatch(/Master running/);
  });

  it("a control directory another user made first, or a TMPDIR with a space, does not block remote use", async () => {
    const tmpA = join(dir, "tmp-a");
    const run = join(dir, "run");
    mkdirSync(join(tmpA, "mc-ssh-0"), { recursive: true });
    chownSync(join(tmpA, "mc-ssh-0"), 65534, 65534);
    chmodSync(join(tmpA, "mc-ssh-0"), 0o777);
    mkdirSync(run);
    const chosen = defaultControlDir({ TMPDIR: tmpA, XDG_RUNTIME_DIR: run }, 0);
    expect(chosen).toBe(join(run, "mc-ssh"));
    expect(statSync(chosen).mode & 0o777).toBe(0o700);
    const spaced = join(dir, "with space");
    mkdirSync(spaced);
    expect(defaultControlDir({ TMPDIR: spaced, XDG_RUNTIME_DIR: run }, 0)).toBe(join(run, "mc-ssh"));
    // End to end: no controlDir given, the client's TMPDIR has a space and its default dir is taken.
    const h = sshHost("jump", {
      configFile: cfg,
      localEnv: { ...process.env, TMPDIR: spaced, XDG_RUNTIME_DIR: run },
    });
    expect(await say(h)).toBe("m0");
    expect(h.controlPath?.startsWith(join(run, "mc-ssh"))).toBe(true);
  });

  it("takes [::1], user@[::1] and ssh://[::1]:port, which OpenSSH 9.2 itself refuses or misreads", async () => {
    const o = {
      user: "root",
      identityFile: d.key,
      configFile: "/dev/null",
      controlDir: join(dir, "cm"),
      extraOptions: { StrictHostKeyChecking: "no", UserKnownHostsFile: "/dev/null", LogLevel: "ERROR" },
    };
    expect(await say(sshHost("[::1]", { ...o, port: d.ports[2]! }))).toBe("m2");
    expect(await say(sshHost(`[::1]:${d.ports[1]}`, o))).toBe("m1");
    const { user: _u, ...noUser } = o;
    expect(await say(sshHost(`ssh://root@[::1]:${d.ports[0]}`, noUser))).toBe("m0");
    const bad = spawnSync("ssh", ["-F", "/dev/null", "-G", `ssh://[::1]:${d.ports[0]}`], {
      encoding: "utf8",
    });
    expect(bad.stderr).toMatch(/usage/);
  });

  it("messages that help: an empty machine name is a usage error, and the unreachable hint is a command that can work", async () => {
    const empty = (() => {
      try {
        sshMachine("");
      } catch (e) {
        return e;
      }
    })();
    expect(isMcError(empty, "USAGE")).toBe(true);
    expect((empty as Error).message).toMatch(/machine name "" is empty/);
    const [closed] = await freePorts(1);
    const m = sshMachine("gpu-1", {
      target: "127.0.0.1",
      port: closed,
      configFile: cfg,
      controlDir: join(dir, "cm"),
    });
    const e = await m.host.run({ file: "true", args: [] }).catch((x) => x);
    expect(isMcError(e, "SSH_UNREACHABLE")).toBe(true);
    expect(e.message).toContain("ssh:gpu-1 is unreachable");
    expect(e.hint).toContain(`\`ssh -F ${cfg} -p ${closed} -- 127.0.0.1 true\``);
    expect(e.hint).not.toMatch(/ssh ssh:/);
  });
});
