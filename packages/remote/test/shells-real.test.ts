// Issue #20 §6 (shells and secrets) and the state and temp-dir messages of §7, over one private sshd.
// Port 0: root; port 1: root with a TMPDIR of its own (a small tmpfs, filled up). Two users are made
// for the run and removed after: one whose login shell is fish, one whose shell is nologin.
import { execFileSync, spawnSync } from "node:child_process";
import {
  chownSync,
  existsSync,
  lchownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMcError, type LayoutConfig, localStateProblem, readLogFrom } from "@mc/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sshError, sshHost } from "../src/index.js";
import { HAVE_SSHD, type PrivateSshd, privateSshd } from "../src/testing.js";
import { TmuxRemoteManager } from "../src/tmux.js";

const FISH = "/usr/bin/fish";
const ROOT = process.getuid?.() === 0;
const CAN_USERS = ROOT && existsSync("/usr/sbin/useradd");
const mount = (args: string[]) => spawnSync("mount", args, { encoding: "utf8" }).status === 0;
const layout = (name: string, tabs: [string, string][], dir: string): LayoutConfig => ({
  layoutName: name,
  layoutTabs: tabs.map(([tabName, command]) => ({ tabName, startDir: dir, command })),
});
if (!existsSync(FISH))
  console.warn(
    "[mc remote] fish is not installed (apt install fish): the fish login shell checks are skipped",
  );
if (!CAN_USERS) console.warn("[mc remote] not root: the login-shell checks (they add users) are skipped");

describe.skipIf(!HAVE_SSHD)("shells, secrets, state and temp directories", () => {
  let d: PrivateSshd;
  let dir: string;
  let work: string;
  let fullTmp: string;
  let leakTmp: string;
  const mounted: string[] = [];
  const users: string[] = [];
  const addUser = (name: string, shell: string) => {
    spawnSync("userdel", ["-r", name], { stdio: "ignore" });
    execFileSync("useradd", ["-m", "-s", shell, name]);
    execFileSync("usermod", ["-p", "*", name]);
    users.push(name);
    const home = `/home/${name}`;
    mkdirSync(join(home, ".ssh"), { recursive: true, mode: 0o700 });
    writeFileSync(join(home, ".ssh", "authorized_keys"), readFileSync(`${d.key}.pub`));
    execFileSync("chown", ["-R", `${name}:${name}`, join(home, ".ssh")]);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mc-shells-"));
    work = join(dir, "work");
    mkdirSync(work, { mode: 0o755 });
    spawnSync("chmod", ["755", dir]);
    fullTmp = join(dir, "full-tmp");
    mkdirSync(fullTmp);
    if (ROOT && mount(["-t", "tmpfs", "-o", "size=64k", "tmpfs", fullTmp])) {
      mounted.push(fullTmp);
      spawnSync("dd", ["if=/dev/zero", `of=${join(fullTmp, "fill")}`, "bs=4k", "count=64"], {
        stdio: "ignore",
      });
    }
    leakTmp = join(dir, "leak-tmp");
    mkdirSync(leakTmp);
    d = await privateSshd(3, {
      portEnv: { 1: { TMPDIR: fullTmp }, 2: { TMPDIR: leakTmp } },
      extraConfig: [`AuthorizedKeysFile ${join(dir, "none")} .ssh/authorized_keys`],
    });
  });
  afterAll(() => {
    for (const u of users) {
      spawnSync("pkill", ["-KILL", "-u", u], { stdio: "ignore" });
      spawnSync("userdel", ["-r", u], { stdio: "ignore" });
    }
    d.stop();
    for (const m of mounted.reverse()) spawnSync("umount", ["-l", m]);
    rmSync(dir, { recursive: true, force: true });
  });

  const asUser = (user: string, extra: object = {}) =>
    sshHost("127.0.0.1", { ...d.options(d.ports[0]!), user, controlDir: join(dir, "cm"), ...extra });

  it.skipIf(!CAN_USERS || !existsSync(FISH))(
    "fish as the login shell: mc works, and a command fish cannot parse never reads as success",
    async () => {
      addUser("mcfish", FISH);
      const h = asUser("mcfish");
      expect((await h.run({ file: "printf", args: ["%s", "a 'b' \\c $d"] })).stdout).toBe("a 'b' \\c $d");
      const run = new TmuxRemoteManager({
        machineLayouts: {
          fishy: [
            layout(
              "f",
              [
                ["posix", "for i in 1 2; do echo $i; done"],
                ["fish", "exit (math 2 + 3)"],
              ],
              "/tmp",
            ),
          ],
        },
        ssh: {
          fishy: {
            target: "127.0.0.1",
            ...d.options(d.ports[0]!),
            user: "mcfish",
            controlDir: join(dir, "cm"),
          },
        },
        stateDir: join(dir, "local"),
      });
      expect((await run.start()).every((r) => r.ok)).toBe(true);
      let tabs = (await run.checkAllSessionsStatus()).sessions[0]!.tabs;
      const end = Date.now() + 30_000;
      while (Date.now() < end && tabs.some((t) => t.state !== "exited")) {
        await new Promise((r) => setTimeout(r, 100));
        tabs = (await run.checkAllSessionsStatus()).sessions[0]!.tabs;
      }
      expect(tabs.map((t) => [t.tabName, t.state, t.exitCode])).toEqual([
        ["posix", "exited", 127],
        ["fish", "exited", 5],
      ]);
      expect((await run.killAllSessions()).every((k) => k.ok)).toBe(true);
    },
  );

  it.skipIf(!CAN_USERS)("a nologin shell says so, not 'exit 1'", async () => {
    addUser("mcnologin", "/usr/sbin/nologin");
    const e = await asUser("mcnologin")
      .run({ file: "true", args: [] })
      .catch((x) => x);
    expect(e.message).toMatch(/login shell is nologin/);
    expect(isMcError(e, "SSH_UNREACHABLE")).toBe(true);
  });

  it("the command of a tab is not in any process's argv on the remote machine", async () => {
    const secret = `tok-${Math.random().toString(36).slice(2)}`;
    const run = new TmuxRemoteManager({
      machineLayouts: { m: [layout("s", [["t", `TOKEN=${secret} sleep 30`]], work)] },
      ssh: {
        m: {
          target: "127.0.0.1",
          ...d.options(d.ports[0]!, { env: { SHELL: "/bin/sh" }, stateDir: join(dir, "state") }),
        },
      },
      backendOptions: { m: { socket: join(dir, "s.sock") } },
      stateDir: join(dir, "local"),
    });
    expect((await run.start()).every((r) => r.ok)).toBe(true);
    // The tab's command is running (its environment holds the token) before argv is searched.
    const holding = () =>
      readdirSync("/proc").some((p) => {
        try {
          return /^\d+$/.test(p) && readFileSync(`/proc/${p}/environ`, "utf8").includes(secret);
        } catch {
          return false;
        }
      });
    for (const end = Date.now() + 30_000; !holding() && Date.now() < end; )
      await new Promise((r) => setTimeout(r, 100));
    expect(holding()).toBe(true);
    const shown = readdirSync("/proc").filter((p) => {
      try {
        return /^\d+$/.test(p) && readFileSync(`/proc/${p}/cmdline`, "utf8").includes(secret);
      } catch {
        return false;
      }
    });
    try {
      expect(shown).toEqual([]);
    } finally {
      await run.killAllSessions();
      spawnSync("tmux", ["-S", join(dir, "s.sock"), "kill-server"]);
    }
  });

  it("state a sudo -E left to another user is named, with what to do, before anything starts", async () => {
    const foreign = join(dir, "foreign-state");
    mkdirSync(foreign);
    chownSync(foreign, 65534, 65534);
    const run = new TmuxRemoteManager({
      machineLayouts: { m: [layout("x", [["t", "sleep 1"]], work)] },
      ssh: {
        m: {
          target: "127.0.0.1",
          ...d.options(d.ports[0]!, { env: { SHELL: "/bin/sh" }, stateDir: foreign }),
        },
      },
      stateDir: join(dir, "local"),
    });
    const [r] = await run.start();
    expect(r!.ok).toBe(false);
    const e = !r!.ok ? r!.error : undefined;
    expect(e?.message).toMatch(/belongs to nobody, not to root/);
    expect((e as { hint?: string }).hint).toMatch(/chown -R root/);
    expect(isMcError(e, "STATE_IO")).toBe(true);
    // This machine: root with another user's home (sudo -E), and a user whose state root already owns.
    expect(localStateProblem(join(foreign, "mc"), { SUDO_USER: "alice", HOME: foreign }, 0)).toMatch(
      /sudo -E/,
    );
    expect(localStateProblem(join(dir, "local"), {}, 1000)).toMatch(
      /belongs to uid 0, not to you \(uid 1000\)/,
    );
    expect(localStateProblem(join(dir, "local"), { MC_STATE_DIR: join(dir, "local") }, 1000)).toBeUndefined();
  });

  it("a remote state directory other users could write is refused before anything starts, as locally", async () => {
    const cases: { name: string; make: (base: string) => string; why: RegExp }[] = [
      {
        name: "world-writable",
        make: (b) => {
          mkdirSync(join(b, "mc"), { mode: 0o700 });
          spawnSync("chmod", ["0777", join(b, "mc")]);
          return join(b, "mc");
        },
        why: /the state directory .*\/mc is writable by every user/,
      },
      {
        name: "world-writable and sticky (still writable by all)",
        make: (b) => {
          mkdirSync(join(b, "mc"));
          spawnSync("chmod", ["1777", join(b, "mc")]);
          return join(b, "mc");
        },
        why: /is writable by every user/,
      },
      {
        name: "managers/ a symlink to /tmp",
        make: (b) => {
          mkdirSync(join(b, "mc"), { mode: 0o700 });
          spawnSync("ln", ["-s", "/tmp", join(b, "mc", "managers")]);
          return join(b, "mc");
        },
        why: /the state directory .*managers is writable by every user/,
      },
      {
        name: "a world-writable parent without the sticky bit",
        make: (b) => {
          mkdirSync(join(b, "open"));
          spawnSync("chmod", ["0777", join(b, "open")]);
          mkdirSync(join(b, "open", "mc"), { mode: 0o700 });
          return join(b, "open", "mc");
        },
        why: /open, above the state directory .* is writable by every user without the sticky bit/,
      },
      {
        name: "a symlink whose target sits in a world-writable parent",
        make: (b) => {
          mkdirSync(join(b, "open2", "real"), { recursive: true, mode: 0o700 });
          spawnSync("chmod", ["0777", join(b, "open2")]);
          spawnSync("ln", ["-s", join(b, "open2", "real"), join(b, "link")]);
          return join(b, "link");
        },
        why: /open2, above the state directory .*link/,
      },
      {
        name: "not made yet, below a symlink into a world-writable parent",
        make: (b) => {
          mkdirSync(join(b, "open3", "real"), { recursive: true, mode: 0o700 });
          spawnSync("chmod", ["0777", join(b, "open3")]);
          spawnSync("ln", ["-s", join(b, "open3", "real"), join(b, "link3")]);
          mkdirSync(join(b, "link3", "state"), { mode: 0o700 });
          return join(b, "link3", "state", "mc");
        },
        why: /open3, above the state directory/,
      },
      {
        name: "a directory in it that is a symlink into a world-writable parent",
        make: (b) => {
          mkdirSync(join(b, "mc"), { mode: 0o700 });
          mkdirSync(join(b, "open4", "runs"), { recursive: true, mode: 0o700 });
          spawnSync("chmod", ["0777", join(b, "open4")]);
          spawnSync("ln", ["-s", join(b, "open4", "runs"), join(b, "mc", "runs")]);
          return join(b, "mc");
        },
        why: /open4, above the state directory/,
      },
      {
        name: "a symlink another user owns (they can repoint it), to a private directory",
        make: (b) => {
          mkdirSync(join(b, "real5"), { mode: 0o700 });
          spawnSync("ln", ["-s", join(b, "real5"), join(b, "link5")]);
          lchownSync(join(b, "link5"), 65534, 65534);
          return join(b, "link5");
        },
        why: /link5, on the way to the state directory .* is a symlink another user owns/,
      },
      {
        name: "a directory in it that is a symlink another user owns",
        make: (b) => {
          mkdirSync(join(b, "mc6"), { mode: 0o700 });
          mkdirSync(join(b, "runs6"), { mode: 0o700 });
          spawnSync("ln", ["-s", join(b, "runs6"), join(b, "mc6", "runs")]);
          lchownSync(join(b, "mc6", "runs"), 65534, 65534);
          return join(b, "mc6");
        },
        why: /mc6\/runs, on the way to the state directory/,
      },
      {
        name: "a parent another user owns",
        make: (b) => {
          mkdirSync(join(b, "theirs"), { mode: 0o755 });
          chownSync(join(b, "theirs"), 65534, 65534);
          mkdirSync(join(b, "theirs", "mc"), { mode: 0o700 });
          return join(b, "theirs", "mc");
        },
        why: /theirs, above the state directory .* belongs to another user/,
      },
    ];
    for (const c of cases) {
      const base = mkdtempSync(join(dir, "exposed-"));
      const state = c.make(base);
      const list = () => (existsSync(state) ? readdirSync(state).sort() : []);
      const before = list();
      const run = new TmuxRemoteManager({
        machineLayouts: { m: [layout("x", [["t", "sleep 1"]], work)] },
        ssh: {
          m: {
            target: "127.0.0.1",
            ...d.options(d.ports[0]!, { env: { SHELL: "/bin/sh" }, stateDir: state }),
          },
        },
        stateDir: join(dir, "local"),
      });
      // A build without the check starts it: never leave that session behind.
      const [r] = await run.start().finally(() => run.killAllSessions().catch(() => {}));
      expect(r!.ok, c.name).toBe(false);
      const e = !r!.ok ? r!.error : undefined;
      expect(isMcError(e, "STATE_IO"), `${c.name}: ${e?.message}`).toBe(true);
      expect(e?.message, c.name).toMatch(c.why);
      // Nothing was written there: no run directory, no lock, no records.
      expect(list(), c.name).toEqual(before);
      // ...and the private directory beside it is fine.
    }
    // A state directory that became exposed after mc used it: removals and writes in it are refused too
    // (another user could have made runs/ a symlink to a directory of the victim's).
    const later = mkdtempSync(join(dir, "later-"));
    mkdirSync(join(later, "runs", "r1"), { recursive: true });
    spawnSync("chmod", ["0777", later]);
    const h = sshHost("127.0.0.1", d.options(d.ports[0]!, { env: { SHELL: "/bin/sh" }, stateDir: later }));
    for (const act of [
      () => h.remove(join(later, "runs", "r1")),
      () => h.writeFile(join(later, "runs", "r1", "tab-0.sh"), "echo planted"),
      () => h.makeDir(join(later, "runs", "r2")),
    ]) {
      const e = await act().then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(isMcError(e, "STATE_IO"), String(e)).toBe(true);
    }
    expect(readdirSync(join(later, "runs")).sort()).toEqual(["r1"]);
    expect(readdirSync(join(later, "runs", "r1"))).toEqual([]);
    // Outside the state directory the host works as before.
    await h.writeFile(join(dir, "outside-ok.txt"), "x");
    expect(readFileSync(join(dir, "outside-ok.txt"), "utf8")).toBe("x");
    const ok = mkdtempSync(join(dir, "private-"));
    const fine = new TmuxRemoteManager({
      machineLayouts: { m: [layout("private-ok", [["t", "true"]], work)] },
      ssh: {
        m: { target: "127.0.0.1", ...d.options(d.ports[0]!, { env: { SHELL: "/bin/sh" }, stateDir: ok }) },
      },
      stateDir: join(dir, "local"),
    });
    try {
      const started = await fine.start();
      expect(
        started.every((r) => r.ok),
        started.map((r) => (r.ok ? "" : r.error.message)).join(" "),
      ).toBe(true);
    } finally {
      await fine.killAllSessions();
    }
  });

  it("logs -f over ssh reads a log's exact bytes from any offset, invalid UTF-8 and all", async () => {
    const h = sshHost("127.0.0.1", d.options(d.ports[0]!, { env: { SHELL: "/bin/sh" } }));
    const bytes = Buffer.concat([
      Buffer.from("L1 \x9b x\n", "latin1"),
      Buffer.from([0xff, 0xfe, 0x00, 0x1b]),
      Buffer.from("[31mred ü ✓\n", "utf8"),
      Buffer.from([0xc3]),
    ]);
    const path = join(dir, "binary.log");
    writeFileSync(path, bytes);
    for (const offset of [0, 1, 4, 5, bytes.length - 1, bytes.length]) {
      const chunk = await readLogFrom(h, path, offset);
      expect(chunk.size).toBe(bytes.length);
      expect(chunk.data.equals(bytes.subarray(offset)), `offset ${offset}`).toBe(true);
      // Its identity (the inode) tells a rotation from growth (review H15-4).
      expect(chunk.id?.split(" ")[0]).toBe(String(statSync(path).ino));
    }
    // A FIFO a tab left at a log path is no log: no read blocks on it (review H15-8).
    const fifo = join(dir, "fifo.log");
    execFileSync("mkfifo", [fifo]);
    const none = await readLogFrom(h, fifo, 0);
    expect(none.data.length).toBe(0);
    expect(none.id).toBeUndefined();
  });

  it.skipIf(!ROOT)("a read-only remote home is the state error with its cause, not 'exit 1'", async () => {
    const ro = join(dir, "ro-home");
    mkdirSync(ro);
    if (!mount(["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", ro])) return;
    mounted.push(ro);
    const run = new TmuxRemoteManager({
      machineLayouts: { m: [layout("x", [["t", "sleep 1"]], work)] },
      ssh: {
        m: {
          target: "127.0.0.1",
          ...d.options(d.ports[0]!, { env: { SHELL: "/bin/sh" }, stateDir: join(ro, ".local/state/mc") }),
        },
      },
      stateDir: join(dir, "local"),
    });
    const [r] = await run.start();
    const e = !r!.ok ? r!.error : undefined;
    expect(isMcError(e, "STATE_IO") || isMcError((e as { cause?: unknown })?.cause, "STATE_IO")).toBe(true);
    expect(`${e?.message} ${(e as { hint?: string }).hint}`).toMatch(/Read-only file system/);
  });

  it("a full remote TMPDIR falls back to /tmp, and with nowhere to go the cause is named", async (ctx) => {
    if (!mounted.includes(fullTmp)) ctx.skip();
    const h = sshHost("127.0.0.1", d.options(d.ports[1]!, { env: { SHELL: "/bin/sh" } }));
    expect((await h.run({ file: "/bin/sh", args: ["-c", 'printf %s "$TMPDIR"'] })).stdout).toBe(fullTmp);
    expect(readdirSync(fullTmp)).toEqual(["fill"]);
    const e = sshError(
      "ssh:m",
      "run",
      70,
      `mc: no usable temp directory: ${fullTmp}: cannot create ${fullTmp}/mc-ssh.x/p: No space left on device; /tmp: Read-only file system;\n`,
    );
    expect(e.code).toBe("STATE_IO");
    expect(e.message).toMatch(/No space left on device/);
  });

  it("a batch whose connection drops mid-command leaves no temp directory behind", async () => {
    // One a SIGKILL left two days ago (no trap runs then) goes with the next host's first call.
    mkdirSync(join(leakTmp, "mc-ssh.killed"));
    spawnSync("touch", ["-d", "2 days ago", join(leakTmp, "mc-ssh.killed")]);
    const h = sshHost("127.0.0.1", d.options(d.ports[2]!, { env: { SHELL: "/bin/sh" } }));
    await h.run({ file: "true", args: [] });
    expect(readdirSync(leakTmp)).toEqual([]);
    const ac = new AbortController();
    const p = h
      .run({ file: "/bin/sh", args: ["-c", "sleep 1; echo late"] }, { signal: ac.signal })
      .catch((x) => x);
    await new Promise((r) => setTimeout(r, 400));
    expect(readdirSync(leakTmp).filter((f) => f.startsWith("mc-ssh."))).toHaveLength(1);
    ac.abort();
    expect(isMcError(await p, "ABORTED")).toBe(true);
    await new Promise((r) => setTimeout(r, 1500));
    expect(readdirSync(leakTmp)).toEqual([]);
  });
});
