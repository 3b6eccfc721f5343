import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { waitFor } from "../../../packages/tmux/test/harness.js";
import { event as eventSchema } from "../src/output-schemas.js";
import { BIN, cliSandbox, type Ran, removeSandbox, runCli } from "./cli.js";

/** Tabs as jobs (#16) through the built binary on a private real tmux server. */
let dir: string;
let sock: string;
let env: NodeJS.ProcessEnv;

const sessions = (args: string[], timeout = 60_000): Promise<Ran> => runCli(args, { env, cwd: dir, timeout });

type Tab = { tabName: string; command: string } & Record<string, unknown>;

function layouts(
  name: string,
  ls: ({ layoutName: string; layoutTabs: Tab[] } & Record<string, unknown>)[],
): string {
  const path = join(dir, name);
  const withDir = ls.map((l) => ({ ...l, layoutTabs: l.layoutTabs.map((t) => ({ startDir: dir, ...t })) }));
  writeFileSync(path, JSON.stringify({ version: "0.1", layouts: withDir }));
  return path;
}

const run = (file: string, ...more: string[]) => sessions(["run", file, "--socket", sock, ...more]);
/** The run directory mc's run record gives the session `name` (tmux runs of this file). */
const runDirOf = (name: string): string => {
  const records = join(dir, "state", "managers", "TmuxLocalManager");
  return readdirSync(records)
    .filter((n) => n.endsWith(".json"))
    .flatMap((n) => JSON.parse(readFileSync(join(records, n), "utf8")).sessions ?? [])
    .find((x: { name: string }) => x.name === name).runDir as string;
};
const lines = (s: string) => s.trim().split("\n").filter(Boolean);

/** Ask again until `ok` (up to 30 s: a loaded machine starts tabs late); the last answer. */
const until = <T>(get: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000) => waitFor(get, ok, ms);
/** A session's status rows (`status --json`), empty while it has none. */
const tabsOf = async (session: string) =>
  JSON.parse((await sessions(["status", session, "--json"])).stdout || "{}").sessions?.[0]?.tabs ?? [];
/** The window names of a session on the test server. */
const windowsOf = (session: string) =>
  execFileSync("tmux", ["-S", sock, "list-windows", "-t", `=${session}:`, "-F", "#{window_name}"], {
    encoding: "utf8",
  })
    .trim()
    .split("\n");
/**
 * `sessions run FILE …` in the background until one of `session`'s tabs runs, then its session killed
 * with tmux (from outside mc); the run's exit code and stderr.
 */
async function runUntilKilled(file: string, session: string, ...more: string[]) {
  const child = spawn("node", [BIN, "run", file, "--socket", sock, ...more], {
    env,
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const code = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  await until(tabsOf.bind(null, session), (t) => t.some((x: { state: string }) => x.state === "running"));
  execFileSync("tmux", ["-S", sock, "kill-session", "-t", `=${session}`]);
  return { code: await code, stderr };
}

/** `sessions ARGS…` in the background: the process, its exit code to come, and its output so far. */
function inBackground(args: string[], withEnv: NodeJS.ProcessEnv = env) {
  const child = spawn("node", [BIN, ...args], { env: withEnv, cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  const got = { out: "", err: "" };
  child.stdout.on("data", (d: Buffer) => {
    got.out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    got.err += d.toString();
  });
  const code = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  return { child, code, got };
}

/** `sessions run FILE …` left running in the background (the foreground run that schedules waiting tabs). */
const runInBackground = (file: string, ...more: string[]) =>
  spawn("node", [BIN, "run", file, "--socket", sock, ...more], { env, cwd: dir, stdio: "ignore" });

beforeAll(() => {
  ({ dir, sock, env } = cliSandbox("mc-jobs-"));
});

afterAll(() => {
  try {
    execFileSync("tmux", ["-S", sock, "kill-server"]);
  } catch {}
  removeSandbox(dir);
});

describe("logs", () => {
  it("outlive the session: after kill, colours kept only with --raw, escapes never raw, -n, SESSION prefixes", async () => {
    const f = layouts("logs.json", [
      {
        layoutName: "lg",
        layoutTabs: [
          {
            tabName: "out",
            command: `printf 'one\\n\\033[31mtwo\\033[0m\\n\\033]52;c;SGVsbG8=\\007three\\n'; sleep 30`,
          },
          { tabName: "other", command: "echo from-other; sleep 30" },
        ],
      },
    ]);
    expect((await run(f)).code).toBe(0);
    // Both tabs have printed everything before the kill (their logs are read after it).
    await until(
      () => sessions(["logs", "lg/out"]),
      (r) => r.stdout.includes("three"),
    );
    await until(
      () => sessions(["logs", "lg/other"]),
      (r) => r.stdout.includes("from-other"),
    );
    expect((await sessions(["kill", "lg"])).code).toBe(0);
    const all = await sessions(["logs", "lg/out"]);
    expect(all.code, all.stderr).toBe(0);
    expect(lines(all.stdout).slice(-3)).toEqual(["one", "two", "three"]);
    expect(all.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    const raw = await sessions(["logs", "lg/out", "--raw"]);
    expect(raw.stdout).toContain("\x1b]52;c;SGVsbG8=\x07");
    expect(lines((await sessions(["logs", "lg/out", "-n", "1"])).stdout)).toEqual(["three"]);
    // By position, and the whole session with each line prefixed by its tab.
    expect((await sessions(["logs", "lg/1"])).stdout).toContain("from-other");
    const both = lines((await sessions(["logs", "lg"])).stdout);
    expect(both).toContain("other | from-other");
    expect(both.some((l) => /^out\s+\| three$/.test(l))).toBe(true);
    const json = lines((await sessions(["logs", "lg/other", "--json"])).stdout).map((l) => JSON.parse(l));
    expect(json.at(-1)).toMatchObject({ session: "lg", tab: "other", index: 1, line: "from-other" });
    const missing = await sessions(["logs", "lg/nope"]);
    expect(missing.code).toBe(5);
    expect(missing.stderr).toContain("its tabs: out, other");
  });

  it("-f prints lines as they come and returns once the tab's command finished", async () => {
    const f = layouts("follow.json", [
      {
        layoutName: "fl",
        layoutTabs: [{ tabName: "t", command: "for i in 1 2 3 4 5; do echo line $i; sleep 0.2; done" }],
      },
    ]);
    expect((await run(f, "--exit", "close")).code).toBe(0);
    const r = await sessions(["logs", "fl/t", "-f"], 20_000);
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout).filter((l) => l.startsWith("line"))).toEqual([
      "line 1",
      "line 2",
      "line 3",
      "line 4",
      "line 5",
    ]);
  });

  it("-f stops at SIGTERM as at Ctrl-C: exit 0, not killed (review H55-4)", async () => {
    const f = layouts("follow-term.json", [
      { layoutName: "ft", layoutTabs: [{ tabName: "t", command: "echo first; sleep 60" }] },
    ]);
    expect((await run(f)).code).toBe(0);
    try {
      for (const sig of ["SIGINT", "SIGTERM"] as const) {
        const follow = inBackground(["logs", "ft/t", "-f"]);
        await until(
          async () => follow.got.out,
          (o) => o.includes("first"),
        );
        follow.child.kill(sig);
        expect(await follow.code, `${sig}: ${follow.got.err}`).toBe(0);
      }
    } finally {
      await sessions(["kill", "ft"]);
    }
  });
});

describe("a reader that goes away", () => {
  it("run --max-parallel-tabs whose stderr pipe closes still starts every tab and exits with their outcome (review H59-2)", async () => {
    const f = layouts("h592.json", [
      {
        layoutName: "h592",
        layoutTabs: [0, 1, 2, 3, 4].map((i) => ({
          tabName: `t${i}`,
          command: i === 3 ? "sleep 0.3; exit 3" : "sleep 0.3",
        })),
      },
    ]);
    // As `2>&1 | head -2`: the reader closes its end after the first lines.
    const child = spawn(
      "node",
      [BIN, "run", f, "--socket", sock, "--max-parallel-tabs", "2", "--poll-seconds", "0.2"],
      {
        env,
        cwd: dir,
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    child.stderr.once("data", () => child.stderr.destroy());
    const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    try {
      expect(code).toBe(10);
      const tabs = await tabsOf("h592");
      expect(tabs.map((t: { state: string; exitCode?: number }) => [t.state, t.exitCode])).toEqual([
        ["exited", 0],
        ["exited", 0],
        ["exited", 0],
        ["exited", 3],
        ["exited", 0],
      ]);
    } finally {
      await sessions(["kill", "h592"]);
    }
  });
});

describe("output that cannot be written (a full disk)", () => {
  it.skipIf(!existsSync("/dev/full"))(
    "run -m -k --max-parallel-tabs into /dev/full starts every tab, kills at the end and exits with their outcome; status exits 1 (review H63-1)",
    async () => {
      const f = layouts("h631.json", [
        {
          layoutName: "h631",
          layoutTabs: [0, 1, 2, 3].map((i) => ({
            tabName: `t${i}`,
            command: i === 1 ? "sleep 0.2; exit 3" : "sleep 0.2",
          })),
        },
      ]);
      const full = openSync("/dev/full", "w");
      const child = spawn(
        "node",
        [BIN, "run", f, "--socket", sock, "--max-parallel-tabs", "2", "--poll-seconds", "0.2", "-m", "-k"],
        { env, cwd: dir, stdio: ["ignore", full, full] },
      );
      const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
      closeSync(full);
      expect(code).toBe(10);
      const events = lines((await sessions(["events", "h631"])).stdout).map((l) => JSON.parse(l));
      expect(events.filter((e) => e.type === "tab-exited").map((e) => [e.tab, e.exitCode])).toEqual(
        expect.arrayContaining([
          ["t0", 0],
          ["t1", 3],
          ["t2", 0],
          ["t3", 0],
        ]),
      );
      expect(events.some((e) => e.type === "session-gone" || e.type === "session-killed")).toBe(true);
      const again = openSync("/dev/full", "w");
      const st = spawnSync("node", [BIN, "ls"], { env, cwd: dir, stdio: ["ignore", again, "pipe"] });
      closeSync(again);
      expect(st.status).toBe(1);
    },
  );
});

describe("a stop while the tool does not answer", () => {
  it("logs -f, status --watch, events --follow and wait end at SIGTERM at once, not when the call times out (reviews H60-3, H62-3)", async () => {
    const f = layouts("h603.json", [
      {
        layoutName: "h603",
        layoutTabs: [{ tabName: "t", command: "while :; do echo tick; sleep 0.2; done" }],
      },
    ]);
    const other = join(dir, "h603.sock");
    let server = 0;
    onTestFinished(() => {
      if (server) process.kill(server, "SIGCONT");
      spawnSync("tmux", ["-S", other, "kill-server"]);
    });
    expect((await sessions(["run", f, "--socket", other])).code).toBe(0);
    server = Number(
      execFileSync("tmux", ["-S", other, "display-message", "-p", "#{pid}"], { encoding: "utf8" }),
    );
    const followers = [
      { name: "logs -f", p: inBackground(["logs", "h603/t", "-f"]), code: 0 },
      {
        name: "status --watch",
        p: inBackground(["status", "--watch", "--json", "--interval", "0.5"]),
        code: 0,
      },
      { name: "events --follow", p: inBackground(["events", "--follow", "h603"]), code: 130 },
    ];
    for (const x of followers)
      await until(
        async () => x.p.got.out,
        (o) => o.length > 0,
      );
    // wait prints nothing until the end (review H62-3: it took 12 s to stop).
    followers.push({ name: "wait", p: inBackground(["wait", "h603"]), code: 130 });
    await new Promise((r) => setTimeout(r, 1500));
    // The server stops answering: every follower's next call to it waits (tmux's bound is 15 s).
    process.kill(server, "SIGSTOP");
    await new Promise((r) => setTimeout(r, 2500));
    const t0 = Date.now();
    for (const x of followers) x.p.child.kill("SIGTERM");
    for (const x of followers) expect(await x.p.code, `${x.name}: ${x.p.got.err}`).toBe(x.code);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe("wait", () => {
  it("exits 0 when every tab succeeded, 10 when one failed, 7 on timeout", async () => {
    const f = layouts("wait.json", [
      { layoutName: "w-ok", layoutTabs: [{ tabName: "t", command: "sleep 0.3; exit 0" }] },
      { layoutName: "w-bad", layoutTabs: [{ tabName: "t", command: "sleep 0.3; exit 3" }] },
      { layoutName: "w-long", layoutTabs: [{ tabName: "t", command: "sleep 30" }] },
      { layoutName: "w-mid", layoutTabs: [{ tabName: "t", command: "sleep 3" }] },
    ]);
    expect((await run(f)).code).toBe(0);
    // wait returns when the tab ends, not at its next 30 s check (a timer left pending held it ~25 s).
    const m0 = Date.now();
    expect((await sessions(["wait", "w-mid"])).code).toBe(0);
    expect(Date.now() - m0).toBeLessThan(20_000);
    expect((await sessions(["wait", "w-ok"])).code).toBe(0);
    const bad = await sessions(["wait", "w-bad", "--json"]);
    expect(bad.code).toBe(10);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, failed: 1 });
    // Every tab finished: 0 (or 10) whatever the timeout, the first answer waited for (review H59-4: 7 or
    // 8 at random with --timeout 0).
    for (const t of ["0", "0.001", "0.03", "0"]) {
      const now = await sessions(["wait", "w-ok", "--timeout", t]);
      expect(now.code, `--timeout ${t}: ${now.stderr}`).toBe(0);
    }
    expect((await sessions(["wait", "w-long", "--timeout", "0"])).code).toBe(7);
    const t0 = Date.now();
    const late = await sessions(["wait", "w-long", "--timeout", "0.5"]);
    expect(late.code).toBe(7);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect((await sessions(["kill", "w-ok", "w-bad", "w-long", "w-mid"])).code).toBe(0);
  });

  it("a command that outlives its SIGKILLed server is not finished: status running (its pids, how to end it), no tab-killed, wait waits for it (review H55-1)", async () => {
    // The command runs until the test has looked (a fixed sleep ended first on a loaded machine).
    const gate = join(dir, "h551.gate");
    const f = layouts("h551.json", [
      {
        layoutName: "w551",
        layoutTabs: [
          {
            tabName: "t",
            command: `trap '' HUP; while [ ! -e ${JSON.stringify(gate)} ]; do sleep 0.2; done; echo survived`,
          },
        ],
      },
    ]);
    const other = join(dir, "h551.sock");
    onTestFinished(() => {
      spawnSync("tmux", ["-S", other, "kill-server"]);
    });
    expect((await sessions(["run", f, "--socket", other])).code).toBe(0);
    await until(tabsOf.bind(null, "w551"), (t) => t[0]?.state === "running");
    const waiting = inBackground(["wait", "w551", "--timeout", "60"]);
    const following = inBackground(["events", "w551", "--follow"]);
    await new Promise((r) => setTimeout(r, 1000));
    const server = Number(
      execFileSync("tmux", ["-S", other, "display-message", "-p", "#{pid}"], { encoding: "utf8" }),
    );
    process.kill(server, "SIGKILL");
    await new Promise((r) => setTimeout(r, 2000));
    const [tab] = await tabsOf("w551");
    expect(tab).toMatchObject({ state: "running" });
    expect(tab.orphans.length).toBeGreaterThan(0);
    expect(tab.error).toContain("its tab is gone, but its command runs on outside it (pid ");
    const table = await sessions(["status", "w551"]);
    // The kill to paste names the server: a session of that name elsewhere is not this one (review H58-1).
    expect(table.stdout).toContain(`a kill of its session ends it: sessions kill --socket ${other} w551`);
    expect(table.stdout).toMatch(/1 running, 0 finished/);
    // Still waiting, and no event said the tab ended.
    expect(await Promise.race([waiting.code, new Promise((r) => setTimeout(() => r("waiting"), 10))])).toBe(
      "waiting",
    );
    expect(following.got.out).not.toContain("tab-killed");
    // The command ends: its recorder writes the end the hang-up meant.
    writeFileSync(gate, "");
    expect(await waiting.code).toBe(10);
    expect(await following.code).toBe(0);
    const ev = lines(following.got.out).map((l) => JSON.parse(l));
    expect(ev.filter((e) => e.type === "tab-killed")).toMatchObject([{ signal: "SIGHUP" }]);
    expect(ev.at(-1)).toMatchObject({ type: "run-done", failed: 1 });
  });

  it("a server that answers again during a wait is seen within seconds: 'answers again', then exit 7, not 8 (review H54-1)", async () => {
    const f = layouts("h541.json", [
      { layoutName: "w541", layoutTabs: [{ tabName: "t", command: "sleep 60" }] },
    ]);
    const other = join(dir, "h541.sock");
    onTestFinished(() => {
      spawnSync("tmux", ["-S", other, "kill-server"]);
    });
    expect((await sessions(["run", f, "--socket", other])).code).toBe(0);
    const server = Number(
      execFileSync("tmux", ["-S", other, "display-message", "-p", "#{pid}"], { encoding: "utf8" }),
    );
    process.kill(server, "SIGSTOP");
    let resumed = false;
    try {
      const { code, got } = inBackground(["wait", "w541", "--timeout", "11"], {
        ...env,
        MC_TMUX_TIMEOUT: "1",
      });
      await until(
        async () => got.err,
        (e) => e.includes("! local did not answer"),
      );
      // Past the first seconds, when a follower asks often anyway.
      await new Promise((r) => setTimeout(r, 4000));
      process.kill(server, "SIGCONT");
      resumed = true;
      // It was asked again only 30 s later: the wait ended 8, "local did not answer", about a server that
      // had answered for 10 s. (A tab's end would wake it sooner: this tab runs on.)
      expect(await code, got.err).toBe(7);
      expect(got.err).toContain("local answers again");
      expect(got.err).toContain("not every tab finished within 11 s");
    } finally {
      if (!resumed) process.kill(server, "SIGCONT");
    }
    expect((await sessions(["kill", "w541"])).code).toBe(0);
  });

  it("a wait over two runs, one of whose servers is stopped, never says the machine answers again (review H53-3)", async () => {
    const a = layouts("h533a.json", [
      { layoutName: "w533a", layoutTabs: [{ tabName: "t", command: "sleep 60" }] },
    ]);
    const b = layouts("h533b.json", [
      { layoutName: "w533b", layoutTabs: [{ tabName: "t", command: "sleep 60" }] },
    ]);
    const other = join(dir, "h533.sock");
    onTestFinished(() => {
      spawnSync("tmux", ["-S", other, "kill-server"]);
    });
    expect((await run(a)).code).toBe(0);
    expect((await sessions(["run", b, "--socket", other])).code).toBe(0);
    const server = Number(
      execFileSync("tmux", ["-S", other, "display-message", "-p", "#{pid}"], { encoding: "utf8" }),
    );
    process.kill(server, "SIGSTOP");
    try {
      const r = await runCli(["wait", "w533a", "w533b", "--timeout", "6"], {
        env: { ...env, MC_TMUX_TIMEOUT: "1" },
        cwd: dir,
      });
      expect(r.code, r.stderr).toBe(8);
      expect(r.stderr).toContain("! local did not answer");
      // The run on the answering server speaks for its own sessions only (it said "local answers again",
      // then "did not answer" again, while the other server stayed stopped).
      expect(r.stderr).not.toContain("answers again");
    } finally {
      process.kill(server, "SIGCONT");
    }
    expect((await sessions(["kill", "w533a", "w533b"])).code).toBe(0);
  });

  it("--timeout bounds the wait while the tmux server does not answer (review H27-3: 15 s whatever it said)", async () => {
    const f = layouts("wait-hung.json", [
      { layoutName: "w-hung", layoutTabs: [{ tabName: "t", command: "sleep 60" }] },
    ]);
    expect((await run(f)).code).toBe(0);
    const server = Number(
      execFileSync("tmux", ["-S", sock, "display-message", "-p", "#{pid}"], { encoding: "utf8" }),
    );
    process.kill(server, "SIGSTOP");
    try {
      const t0 = Date.now();
      const r = await sessions(["wait", "w-hung", "--timeout", "1"]);
      // 8: the server did not answer (reviews H48-2, H52-8: it said 7, "not every tab finished").
      expect(r.code, r.stderr).toBe(8);
      // Not the tmux call's own 15 s.
      expect(Date.now() - t0).toBeLessThan(12_000);
    } finally {
      process.kill(server, "SIGCONT");
    }
    expect((await sessions(["kill", "w-hung"])).code).toBe(0);
  });

  it("a failed further pane counts once its session has ended, as while it lives", async () => {
    const f = layouts("wait-panes.json", [
      {
        layoutName: "w-pane",
        layoutTabs: [{ tabName: "a", command: "true", panes: [{ command: "sleep 0.5; exit 3" }] }],
      },
    ]);
    expect((await run(f)).code).toBe(0);
    expect((await sessions(["wait", "w-pane"])).code).toBe(10);
    // ls counts tabs, live or ended (it counted panes while live).
    const tabsIn = async () =>
      JSON.stringify(JSON.parse((await sessions(["ls", "--json"])).stdout)).match(
        /"session":"w-pane"[^}]*"tabs":(\d+)/,
      )?.[1];
    expect(await tabsIn()).toBe("1");
    expect((await sessions(["kill", "w-pane"])).code).toBe(0);
    expect(await tabsIn()).toBe("1");
    const ended = await sessions(["wait", "w-pane", "--json"]);
    expect(ended.code, ended.stdout).toBe(10);
    expect(JSON.parse(ended.stdout)).toMatchObject({ ok: false, failed: 1 });
  });

  it("-p plans every batch before the first starts: a later batch's taken name starts nothing (review H31-14)", async () => {
    execFileSync("tmux", ["-S", sock, "new-session", "-d", "-s", "pf2", "sleep 60"]);
    try {
      const f = layouts("preflight.json", [
        { layoutName: "pf1", layoutTabs: [{ tabName: "a", command: "sleep 30" }] },
        { layoutName: "pf2", layoutTabs: [{ tabName: "a", command: "sleep 30" }] },
      ]);
      const r = await run(f, "-p", "1");
      expect(r.code, r.stderr).toBe(4);
      expect(spawnSync("tmux", ["-S", sock, "has-session", "-t", "=pf1"]).status).not.toBe(0);
    } finally {
      spawnSync("tmux", ["-S", sock, "kill-session", "-t", "=pf2"]);
    }
  });

  it("-m and -p end at once when every layout of a batch was skipped (--missing-dirs skip; review H33-6)", async () => {
    const f = layouts("skipped.json", [
      { layoutName: "k1", layoutTabs: [{ tabName: "a", command: "true" }] },
      {
        layoutName: "k2",
        layoutTabs: [{ tabName: "a", startDir: join(dir, "no-such-dir"), command: "true" }],
      },
    ]);
    const one = await run(f, "-c", "k2", "-m", "--missing-dirs", "skip");
    expect(one.code, one.stderr).toBe(0);
    expect(one.stderr).toContain("nothing started: every layout of this batch was skipped");
    const batches = await run(f, "-p", "1", "--missing-dirs", "skip");
    expect(batches.code, batches.stderr).toBe(0);
    await sessions(["kill", "k1"]);
  }, 60_000);

  it("-p N -k: each batch's line says which batch it is, and the run's whole is said at the end (review H44-5)", async () => {
    const f = layouts("h445.json", [
      {
        layoutName: "pq0",
        layoutTabs: [
          { tabName: "a", command: "exit 3" },
          { tabName: "b", command: "true" },
        ],
      },
      { layoutName: "pq1", layoutTabs: [{ tabName: "a", command: "true" }] },
      { layoutName: "pq2", layoutTabs: [{ tabName: "a", command: "exit 4" }] },
    ]);
    const r = await run(f, "-p", "2", "-k", "--interval", "0.2");
    expect(r.code, r.stderr).toBe(10);
    expect(r.stderr).toContain("[batch 1/2: 1/2]");
    expect(r.stderr).toContain("[batch 2/2: 1/1]");
    expect(r.stderr).toMatch(/batch 1\/2: every command finished \(1 of 3 failed/);
    expect(r.stderr).toMatch(/batch 2\/2: every command finished \(1 of 1 failed/);
    expect(lines(r.stderr).at(-1)).toBe("all 2 batches done: 2 of 4 commands failed");
  });

  it("-p N interrupted says which layouts of later batches never started (review H37-4)", async () => {
    const f = layouts("h374.json", [
      { layoutName: "pb0", layoutTabs: [{ tabName: "t", command: "sleep 60" }] },
      { layoutName: "pb1", layoutTabs: [{ tabName: "t", command: "sleep 60" }] },
      { layoutName: "pb2", layoutTabs: [{ tabName: "t", command: "sleep 60" }] },
    ]);
    const { child, code, got } = inBackground(["run", f, "--socket", sock, "-p", "1", "--interval", "0.2"]);
    await until(tabsOf.bind(null, "pb0"), (t) => t[0]?.state === "running");
    child.kill("SIGINT");
    expect(await code).toBe(130);
    expect(got.err).toContain("not started: 2 layouts of later batches (pb1, pb2)");
    await sessions(["kill", "pb0"]);
  });

  it("a hang-up while run -m watches, or schedules --max-parallel-tabs, stops it as Ctrl-C does (review H40-5)", async () => {
    const f = layouts("h405.json", [
      {
        layoutName: "hup",
        layoutTabs: [
          { tabName: "a", command: "sleep 60" },
          { tabName: "b", command: "sleep 61" },
        ],
      },
    ]);
    for (const more of [["-m"], ["--max-parallel-tabs", "1"]]) {
      const { child, code, got } = inBackground(["run", f, "--socket", sock, "--interval", "0.2", ...more]);
      // As soon as it said the session started: between the start and the watch, the moment that killed
      // it by the signal even once the watch handled it (the watch begins stopped now).
      await until(
        async () => got.err,
        (e) => e.includes("✓ hup"),
        30_000,
      );
      child.kill("SIGHUP");
      // It died of the signal (129), saying nothing.
      expect(await code, got.err).toBe(130);
      expect(got.err).toContain("monitoring stopped; the sessions keep running");
      expect((await tabsOf("hup"))[0]?.state).toBe("running");
      expect((await sessions(["kill", "hup"])).code).toBe(0);
    }
  });

  it("logs SESSION/TAB/N prints pane N alone, as status names it; rerun of a pane is refused (review H30-5)", async () => {
    const f = layouts("log-panes.json", [
      {
        layoutName: "lp",
        layoutTabs: [
          { tabName: "dev", command: "echo first-pane", panes: [{ command: "echo second-pane" }] },
        ],
      },
    ]);
    expect((await run(f)).code).toBe(0);
    expect((await sessions(["wait", "lp"])).code).toBe(0);
    const one = await sessions(["logs", "lp/dev/1"]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toContain("second-pane");
    expect(one.stdout).not.toContain("first-pane");
    const both = await sessions(["logs", "lp/dev"]);
    expect(both.stdout).toMatch(/dev\/0 \| .*first-pane/);
    expect(both.stdout).toMatch(/dev\/1 \| .*second-pane/);
    expect((await sessions(["logs", "lp/dev/2"])).code).toBe(5);
    // --json says which pane, and every line is valid under the published schema (review HR81-3: `pane`
    // was printed but not in the schema, whose additionalProperties are false).
    const json = lines((await sessions(["logs", "lp/dev", "--json"])).stdout).map((l) => JSON.parse(l));
    expect(json).toContainEqual({ session: "lp", tab: "dev", index: 0, pane: 0, line: "first-pane" });
    expect(json).toContainEqual({ session: "lp", tab: "dev", index: 0, pane: 1, line: "second-pane" });
    const valid = new Ajv2020({ strict: false }).compile(
      JSON.parse((await sessions(["schema", "log-line"])).stdout),
    );
    expect(json.filter((l) => !valid(l))).toEqual([]);
    const rerun = await sessions(["rerun", "lp/dev/1"]);
    expect(rerun.code).toBe(2);
    expect(rerun.stderr).toContain('tab "dev" has several panes: rerun runs one command');
    expect((await sessions(["kill", "lp"])).code).toBe(0);
  });
});

describe("a merge from another terminal while wait, events --follow and status --watch run (review H26-8)", () => {
  it("they follow the session's new tab: wait returns when it ends, with its failure", async () => {
    const go = (n: string) => join(dir, `h268-go-${n}`);
    const hold = (n: string) => `while [ ! -e '${go(n)}' ]; do sleep 0.1; done`;
    const first = layouts("h268.json", [
      { layoutName: "mw", layoutTabs: [{ tabName: "a", command: hold("a") }] },
    ]);
    const more = layouts("h268-more.json", [
      {
        layoutName: "mw",
        layoutTabs: [
          { tabName: "a", command: hold("a") },
          { tabName: "b", command: `${hold("b")}; exit 4` },
        ],
      },
    ]);
    expect((await run(first)).code).toBe(0);
    await until(tabsOf.bind(null, "mw"), (t) => t[0]?.state === "running");
    const background = (...args: string[]) => {
      const child = spawn("node", [BIN, ...args], { env, cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
      const got = {
        out: "",
        err: "",
        code: undefined as number | null | undefined,
        signal: null as string | null,
      };
      child.stdout.on("data", (d: Buffer) => {
        got.out += d.toString();
      });
      child.stderr.on("data", (d: Buffer) => {
        got.err += d.toString();
      });
      child.on("exit", (c, sig) => {
        got.code = c;
        got.signal = sig;
      });
      return { child, got };
    };
    const fifo = join(dir, "state", "managers", "TmuxLocalManager", "h288-fifo.json");
    const wait = background("wait", "mw");
    const events = background("events", "mw", "--follow");
    const watch = background("status", "mw", "--watch", "--json", "--interval", "0.2");
    try {
      // Each has read the records (the watch printed a report of the one tab) before the merge.
      await until(
        async () => watch.got.out,
        (o) => o.includes('"tabName":"a"'),
      );
      await new Promise((r) => setTimeout(r, 500));
      const merged = await run(more, "--on-conflict", "merge-skip");
      expect(merged.code, merged.stderr).toBe(0);
      const reports = () => lines(watch.got.out).map((l) => JSON.parse(l));
      // The watch shows the merged tab (it kept showing the one tab it had read).
      expect(
        await until(
          async () => reports().at(-1)?.sessions?.[0]?.tabs?.length,
          (n) => n === 2,
        ),
        `${reports().length} reports; last: ${JSON.stringify(reports().at(-1))}; stderr: ${watch.got.err}`,
      ).toBe(2);
      // A record that turns up unreadable during the watch is said, once (review H28-6).
      execFileSync("mkfifo", [fifo]);
      await until(
        async () => watch.got.err,
        (e) => e.includes("h288-fifo.json"),
      );
      await new Promise((r) => setTimeout(r, 600));
      expect(watch.got.err.split("h288-fifo.json").length - 1).toBe(1);
      // Each report says which machines were asked (it said none: review H27-4).
      expect(reports().at(-1).machines).toEqual([{ machine: "local", host: "local", reachable: true }]);
      writeFileSync(go("a"), "");
      await until(tabsOf.bind(null, "mw"), (t) => t[0]?.state === "exited");
      writeFileSync(go("b"), "");
      await until(
        async () => [wait.got.code, events.got.code],
        ([w, e]) => w !== undefined && e !== undefined,
      );
      // The new tab failed: wait says so (it said 0 when it followed the one tab it had read).
      expect(wait.got.code).toBe(10);
      const evs = lines(events.got.out).map((l) => JSON.parse(l));
      expect(evs.find((e) => e.type === "tab-exited" && e.tab === "b")).toMatchObject({ exitCode: 4 });
      expect(evs.at(-1)).toMatchObject({ type: "run-done", failed: 1 });
      // Each event once.
      const keys = evs.map((e) => JSON.stringify(e));
      expect(new Set(keys).size, keys.join("\n")).toBe(keys.length);
      // SIGTERM (a supervisor) ends the watch as Ctrl-C does (e2e "wint" sends that one): 0 and one last
      // line (review H55-4: killed, no last line); every line is a status document (review H27-5).
      watch.child.kill("SIGTERM");
      await until(
        async () => watch.got.code,
        (c) => c !== undefined,
      );
      expect(watch.got.code, `signal ${watch.got.signal}; stderr: ${watch.got.err}`).toBe(0);
      const schema = JSON.parse(
        readFileSync(new URL("../schema/status.schema.json", import.meta.url), "utf8"),
      );
      const valid = new Ajv2020({ strict: false }).compile(schema);
      const all = lines(watch.got.out).map((l) => JSON.parse(l));
      expect(all.at(-1)).toMatchObject({ type: "watch-stopped" });
      expect(all.filter((l) => !valid(l))).toEqual([]);
    } finally {
      for (const p of [wait, events, watch]) p.child.kill();
      rmSync(fifo, { force: true });
      await sessions(["kill", "mw"]);
    }
  });
});

describe("run -m -k while another terminal merges tabs into its session (reviews H27-1, H28-1)", () => {
  /** `run FILE -m -k …` in the background: its exit code to come, its output so far, the process. */
  function killRunOf(file: string, ...args: string[]) {
    return killRunWith(env, file, ...args);
  }
  function killRunWith(withEnv: NodeJS.ProcessEnv, file: string, ...args: string[]) {
    const {
      child,
      code,
      got: g,
    } = inBackground([...args, "run", file, "--socket", sock, "-m", "-k"], withEnv);
    const got = {
      get stdout() {
        return g.out;
      },
      get stderr() {
        return g.err;
      },
    };
    return { child, got, code };
  }
  const go = (n: string) => join(dir, `h271-go-${n}`);
  const hold = (n: string) => `while [ ! -e '${go(n)}' ]; do sleep 0.1; done`;
  /** `run FIRST -m -k …` in the background while MORE is merged into session `name`; its code and output. */
  async function killRun(name: string, more: Tab[], ...args: string[]) {
    const first = layouts(`${name}.json`, [
      { layoutName: name, layoutTabs: [{ tabName: "a", command: hold(name) }] },
    ]);
    const merge = layouts(`${name}-more.json`, [
      { layoutName: name, layoutTabs: [{ tabName: "a", command: hold(name) }, ...more] },
    ]);
    const { child, got, code } = killRunOf(first, ...args);
    try {
      await until(tabsOf.bind(null, name), (t) => t[0]?.state === "running");
      const merged = await run(merge, "--on-conflict", "merge-skip");
      expect(merged.code, merged.stderr).toBe(0);
      await until(tabsOf.bind(null, name), (t) => t.length === more.length + 1);
      writeFileSync(go(name), "");
      return { code: await code, ...got };
    } finally {
      child.kill();
    }
  }

  it("kills nothing that still runs: the merged session is said and left to the run that merged", async () => {
    const r = await killRun("mk", [{ tabName: "b", command: hold("mk-b") }]);
    try {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(
        "mk: not killed: another sessions run merged tabs into it, and one still runs",
      );
      // The commands said name the run's server (review H58-6).
      expect(r.stderr).toContain(`(sessions wait --socket ${sock} mk; sessions kill --socket ${sock} mk)`);
      // The merged tab runs on (the run killed it, and the session, after its own tab ended).
      expect((await tabsOf("mk")).map((t: { state: string }) => t.state)).toEqual(["exited", "running"]);
    } finally {
      writeFileSync(go("mk-b"), "");
      await sessions(["kill", "mk"]);
    }
  });

  it("with --json the run's last line says what it kept", async () => {
    const r = await killRun("mj", [{ tabName: "b", command: hold("mj-b") }], "--json");
    try {
      expect(r.code, r.stderr).toBe(0);
      const last = JSON.parse(lines(r.stdout).at(-1)!);
      expect(last).toMatchObject({
        type: "run-done",
        kept: [{ machine: "local", session: "mj", reason: expect.stringMatching(/merged tabs into it/) }],
      });
      const schema = JSON.parse(
        readFileSync(new URL("../schema/event.schema.json", import.meta.url), "utf8"),
      );
      expect(new Ajv2020({ strict: false }).validate(schema, last)).toBe(true);
    } finally {
      writeFileSync(go("mj-b"), "");
      await sessions(["kill", "mj"]);
    }
  });

  it("a kill that fails (the tmux server does not answer) is said, and the run does not end 0 (review H29-1)", async () => {
    const f = layouts("h291.json", [
      { layoutName: "kh", layoutTabs: [{ tabName: "a", command: "sleep 3" }] },
    ]);
    // MC_TMUX_TIMEOUT bounds each tmux call at 2 s (the default 15 s took this test 48 s).
    const { child, got, code } = killRunWith({ ...env, MC_TMUX_TIMEOUT: "2" }, f);
    await until(tabsOf.bind(null, "kh"), (t) => t[0]?.state === "running");
    const server = Number(
      execFileSync("tmux", ["-S", sock, "display-message", "-p", "#{pid}"], { encoding: "utf8" }),
    );
    process.kill(server, "SIGSTOP");
    try {
      expect(await code, got.stderr).toBe(8);
      expect(got.stderr).toMatch(/✗ kh: could not be killed: .*did not answer within 2 s/);
      expect(got.stderr).toContain(`(sessions kill --socket ${sock} kh again)`);
      expect(got.stderr).not.toMatch(/sessions killed\n/);
      expect(got.stderr).toContain("no session killed, 1 could not be killed");
    } finally {
      process.kill(server, "SIGCONT");
      child.kill();
    }
    expect((await sessions(["kill", "kh"])).code).toBe(0);
  }, 120_000);

  it("a restart from another terminal: the session of that name is the other run's, not killed, and said (review H28-5)", async () => {
    const first = layouts("h285.json", [
      { layoutName: "mr", layoutTabs: [{ tabName: "a", command: hold("mr") }] },
    ]);
    const again = layouts("h285-again.json", [
      { layoutName: "mr", layoutTabs: [{ tabName: "a", command: hold("mr-new") }] },
    ]);
    // The restart's tmux waits after it killed the session it replaces (before the restart marks it
    // replaced) until the test opens a gate: the run sees its tab end in between (CI once read "already
    // gone" there, by chance), and its wait for the restart is said before the gate opens.
    const real = execFileSync("sh", ["-c", "command -v tmux"], { encoding: "utf8" }).trim();
    const bin = join(dir, "h285-bin");
    const gate = join(dir, "h285-gate");
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, "tmux"),
      `#!/bin/sh\n${JSON.stringify(real)} "$@"; s=$?\ncase "$*" in *kill-session*) i=0; while [ ! -e '${gate}' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done ;; esac\nexit $s\n`,
      { mode: 0o755 },
    );
    const { child, got, code } = killRunOf(first);
    try {
      await until(tabsOf.bind(null, "mr"), (t) => t[0]?.state === "running");
      const restart = inBackground(["run", again, "--socket", sock, "--on-conflict", "restart"], {
        ...env,
        PATH: `${bin}:${env.PATH}`,
      });
      // The wait for it is said (review H73-2: silent for up to 60 s).
      expect(
        await until(
          async () => got.stderr,
          (e) => e.includes("waiting for another sessions run restarting"),
        ),
      ).toMatch(/waiting for another sessions run restarting mr \(sessions run pid \d+\) \(at most 60 s\)/);
      writeFileSync(gate, "");
      expect(await restart.code, restart.got.err).toBe(0);
      // Its own tab was killed by the restart: a failed tab, as the run says.
      expect(await code, got.stderr).toBe(10);
      expect(got.stderr).toContain(
        "mr: not killed: another sessions run replaced it (--on-conflict restart), and the session of that name is that run's",
      );
      expect((await tabsOf("mr")).map((t: { state: string }) => t.state)).toEqual(["running"]);
    } finally {
      writeFileSync(gate, "");
      child.kill();
      writeFileSync(go("mr-new"), "");
      await sessions(["kill", "mr"]);
    }
  });

  it("a merge that leaves nothing running does not keep the session alive: it is killed and recorded so", async () => {
    // The merge added a tab that has ended when the run's own tab ends (H28-1: kept for good).
    const r = await killRun("mz", [{ tabName: "b", command: "exit 0" }]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("not killed");
    expect(spawnSync("tmux", ["-S", sock, "has-session", "-t", "=mz"]).status).not.toBe(0);
    const st = await sessions(["status", "mz"]);
    expect(st.code).toBe(5);
    expect(st.stderr).toContain("it was killed");
  });
});

describe("events", () => {
  it("every line matches the schema; retries, readiness and dependency order read from the tabs' own events", async () => {
    const count = join(dir, "count");
    const ready = join(dir, "db-ready");
    const f = layouts("events.json", [
      {
        layoutName: "ev",
        layoutTabs: [
          {
            tabName: "db",
            command: `sleep 0.5; touch '${ready}'; sleep 1`,
            readiness: { file: ready, timeoutSeconds: 20 },
          },
          { tabName: "app", command: "echo app", dependsOn: ["db"] },
          {
            tabName: "flaky",
            command: `n=$(cat '${count}' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '${count}'; [ $n -ge 3 ]`,
            retry: { max: 3 },
          },
        ],
      },
    ]);
    const r = await run(f, "-m", "--interval", "0.2", "--json");
    expect(r.code, r.stderr).toBe(0);
    const stream = lines(r.stdout).map((l) => JSON.parse(l));
    for (const e of stream) expect(eventSchema.safeParse(e).success, JSON.stringify(e)).toBe(true);
    expect(stream.at(-1)).toMatchObject({ type: "run-done", failed: 0 });
    const ev = lines((await sessions(["events", "ev"])).stdout).map((l) => JSON.parse(l));
    for (const e of ev) expect(eventSchema.safeParse(e).success, JSON.stringify(e)).toBe(true);
    expect(ev[0]).toMatchObject({ type: "session-started", session: "ev" });
    const of = (type: string, tab: string) => ev.filter((e) => e.type === type && e.tab === tab);
    expect(of("tab-retried", "flaky").map((e) => e.attempt)).toEqual([2, 3]);
    expect(of("tab-exited", "flaky")).toEqual([expect.objectContaining({ exitCode: 0 })]);
    // app started only once db was ready, by the tabs' own clocks.
    const dbReady = Date.parse(of("tab-ready", "db")[0].time);
    const appStarted = Date.parse(of("tab-started", "app")[0].time);
    expect(appStarted).toBeGreaterThanOrEqual(dbReady - 1000);
    expect(appStarted).toBeGreaterThanOrEqual(Date.parse(of("tab-started", "db")[0].time) + 0);
    // The monitor stream is the same events (and the scheduler's) in time order, then run-done.
    const kinds = new Set(stream.map((e) => e.type));
    for (const k of ["session-started", "tab-started", "tab-ready", "tab-retried", "tab-exited", "run-done"])
      expect(kinds.has(k), k).toBe(true);
    expect((await sessions(["kill", "ev"])).code).toBe(0);
    expect(
      lines((await sessions(["events", "ev"])).stdout)
        .map((l) => JSON.parse(l).type)
        .at(-1),
    ).toBe("session-gone");
  });

  it("--follow prints a tab's end as it happens and ends with run-done", async () => {
    const stamp = join(dir, "ended-at");
    const f = layouts("follow-ev.json", [
      {
        layoutName: "fe",
        layoutTabs: [
          { tabName: "t", command: `sleep 1.5; node -e 'console.log(Date.now())' > '${stamp}'; exit 4` },
        ],
      },
    ]);
    expect((await run(f)).code).toBe(0);
    const child = spawn("node", [BIN, "events", "fe", "--follow"], { env, cwd: dir });
    const seen: { at: number; e: { type: string; exitCode?: number } }[] = [];
    let buf = "";
    child.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        seen.push({ at: Date.now(), e: JSON.parse(buf.slice(0, i)) });
        buf = buf.slice(i + 1);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(0);
    const exited = seen.find((s) => s.e.type === "tab-exited")!;
    expect(exited.e.exitCode).toBe(4);
    // Seen through inotify, not the 30 s check of watched directories: well under a second on a quiet
    // machine (BENCHMARKS.md has the figures); the bound leaves room for a loaded one.
    expect(exited.at - Number(readFileSync(stamp, "utf8"))).toBeLessThan(10_000);
    expect(seen.at(-1)!.e).toMatchObject({ type: "run-done", failed: 1 });
    await sessions(["kill", "fe"]);
  });

  it("--follow of a session killed from another terminal says session-gone and counts its failures (review H40-7)", async () => {
    const f = layouts("follow-kill.json", [
      {
        layoutName: "fk",
        layoutTabs: [
          { tabName: "bad", command: "exit 3" },
          { tabName: "long", command: "sleep 100" },
        ],
      },
    ]);
    expect((await run(f)).code).toBe(0);
    await until(tabsOf.bind(null, "fk"), (t) => t[0]?.state === "exited" && t[1]?.state === "running");
    const { code, got } = inBackground(["events", "fk", "--follow"]);
    // Following (the history is printed first), then killed.
    await until(
      async () => got.out,
      (o) => o.includes('"tab-started"'),
    );
    await new Promise((r) => setTimeout(r, 500));
    expect((await sessions(["kill", "fk"])).code).toBe(0);
    expect(await code).toBe(0);
    const evs = lines(got.out).map((l) => JSON.parse(l));
    expect(evs.at(-1)).toMatchObject({ type: "run-done", failed: 2 });
    // Once: from the tool's answer (no reason) or from the record (reason "killed"), whichever came first.
    expect(evs.filter((e) => e.type === "session-gone")).toMatchObject([{ session: "fk" }]);
  });

  it("--follow without names follows sessions started after it, and waits (saying so) while none is live (review H50-10)", async () => {
    // A state directory that does not exist yet: the first run makes it.
    const e = { ...env, MC_STATE_DIR: join(dir, "state-h50-10", "state") };
    const cli = (args: string[]) => runCli(args, { env: e, cwd: dir });
    const f = layouts("h5010.json", [
      { layoutName: "early", layoutTabs: [{ tabName: "a", command: "echo early; sleep 1" }] },
      { layoutName: "late", layoutTabs: [{ tabName: "b", command: "echo late; exit 3" }] },
    ]);
    const { child, code, got } = inBackground(["events", "--follow"], e);
    onTestFinished(() => {
      child.kill("SIGKILL");
    });
    await until(
      async () => got.err,
      (err) => err.includes("no live sessions yet; waiting for new ones (Ctrl-C to stop)"),
    );
    expect(got.out).toBe("");
    // Still there: nothing live is no end.
    await new Promise((r) => setTimeout(r, 1000));
    expect(child.exitCode).toBeNull();
    expect((await cli(["run", f, "--socket", sock, "-c", "early"])).code).toBe(0);
    await until(
      async () => got.out,
      (o) => /"tab-exited".*"session":"early"/.test(o),
    );
    // Everything followed has finished: it waits for the next session, which appears too.
    expect((await cli(["run", f, "--socket", sock, "-c", "late"])).code).toBe(0);
    const evs = await until(
      async () => lines(got.out).map((l) => JSON.parse(l)),
      (x) => x.some((ev) => ev.type === "tab-exited" && ev.session === "late"),
    );
    expect(evs.filter((ev) => ev.session === "late").map((ev) => ev.type)).toEqual(
      expect.arrayContaining(["session-started", "tab-started", "tab-exited"]),
    );
    expect(evs.find((ev) => ev.type === "tab-exited" && ev.session === "late")).toMatchObject({
      exitCode: 3,
    });
    // Each event once; no run-done: a dashboard ends on Ctrl-C (130), not by itself.
    const keys = evs.map((ev) => JSON.stringify(ev));
    expect(new Set(keys).size).toBe(keys.length);
    expect(evs.some((ev) => ev.type === "run-done")).toBe(false);
    expect(child.exitCode).toBeNull();
    child.kill("SIGINT");
    expect(await code).toBe(130);
    await cli(["kill", "--all"]);
  });

  it("--follow through a restart and a kill of its server's last session says each session's end (review H46-3)", async () => {
    const own = join(dir, "h463.sock");
    onTestFinished(() => {
      spawnSync("tmux", ["-S", own, "kill-server"], { env });
    });
    const f = layouts("h463.json", [
      { layoutName: "rk", layoutTabs: [{ tabName: "a", command: "sleep 100" }] },
    ]);
    expect((await sessions(["run", f, "--socket", own])).code).toBe(0);
    const { code, got } = inBackground(["events", "rk", "--follow", "--socket", own]);
    await until(
      async () => got.out,
      (o) => o.includes('"tab-started"'),
    );
    expect((await sessions(["run", f, "--socket", own, "--on-conflict", "restart"])).code).toBe(0);
    await until(
      async () => got.out,
      (o) => o.split('"tab-started"').length > 2,
    );
    // The session is its server's last: the server exits with it ("not running" is an answer: gone).
    expect((await sessions(["kill", "rk", "--socket", own])).code).toBe(0);
    expect(await code).toBe(0);
    const evs = lines(got.out).map((l) => JSON.parse(l));
    expect(evs.filter((e) => e.type === "session-gone")).toHaveLength(2);
    expect(evs.at(-1)).toMatchObject({ type: "run-done" });
  });
});

describe("a live session whose run directory was deleted (review H55-3)", () => {
  it("status says so on each tab (unknown, not pending), logs and events of it exit 9; its tabs still end", async () => {
    // q ends once the test has looked (a fixed sleep ended first on a loaded machine).
    const gate = join(dir, "h553.gate");
    const f = layouts("h553.json", [
      {
        layoutName: "rd553",
        layoutTabs: [
          { tabName: "q", command: `while [ ! -e '${gate}' ]; do sleep 0.2; done; exit 4` },
          { tabName: "z", command: "sleep 60" },
        ],
      },
    ]);
    expect((await run(f)).code).toBe(0);
    onTestFinished(async () => {
      await sessions(["kill", "rd553"]);
    });
    await until(
      tabsOf.bind(null, "rd553"),
      (t) => t.length === 2 && t.every((x: { state: string }) => x.state === "running"),
    );
    const runDir = runDirOf("rd553");
    rmSync(runDir, { recursive: true, force: true });
    const tabs = await tabsOf("rd553");
    expect(tabs.map((t: { state: string }) => t.state)).toEqual(["unknown", "unknown"]);
    for (const t of tabs)
      expect(t.error).toBe(
        `its run directory ${runDir} is missing: no record says how its command runs or ended`,
      );
    const table = await sessions(["status", "rd553"]);
    expect(table.stdout).toContain(`rd553 / z: its run directory ${runDir} is missing`);
    expect(table.stdout).not.toContain("pending");
    // Part of mc's state is lost: said by the exit code, as logs and events say it (review H58-6 read 0),
    // with the kill to paste, and in the JSON.
    expect(table.code).toBe(9);
    expect(table.stderr).toContain('✗ the run directory of "rd553" is missing');
    expect(table.stderr).toContain(`(sessions kill --socket ${sock} rd553 ends it)`);
    const json = await sessions(["status", "rd553", "--json"]);
    expect(json.code).toBe(9);
    expect(JSON.parse(json.stdout).sessions[0].runDirMissing).toBe(true);
    const logs = await sessions(["logs", "rd553"]);
    expect(logs.code).toBe(9);
    expect(logs.stderr).toContain(`the run directory of "rd553" (${runDir}) is missing`);
    expect(logs.stderr).not.toContain("no output recorded");
    const ev = await sessions(["events", "rd553"]);
    expect(ev.code).toBe(9);
    expect(ev.stderr).toContain(`the run directory of "rd553" (${runDir}) is missing`);
    // The tool still tells how a tab's command ended (the status the wrapper stamped on its pane).
    writeFileSync(gate, "");
    const ended = await until(tabsOf.bind(null, "rd553"), (t) => t[0]?.state === "exited");
    expect(ended[0]).toMatchObject({ state: "exited", exitCode: 4 });
  });
});

describe("an events file too large to be mc's (review H78-2)", () => {
  it("events NAME says it could not read it (exit 9); events of every session warns, never silently leaves them out", async () => {
    const f = layouts("h782.json", [
      { layoutName: "big782", layoutTabs: [{ tabName: "t", command: "echo hi" }] },
    ]);
    expect((await run(f)).code).toBe(0);
    onTestFinished(async () => {
      await sessions(["kill", "big782"]);
    });
    await until(tabsOf.bind(null, "big782"), (t) => t[0]?.state === "exited");
    const runDir = runDirOf("big782");
    // Over the 64 MiB bound a state file is read to (sparse: no disk used).
    truncateSync(join(runDir, "events.ndjson"), 65 * 1024 * 1024);
    const named = await sessions(["events", "big782"]);
    expect(named.code, named.stderr).toBe(9);
    expect(named.stderr).toMatch(/the events of "big782" could not be read: .*too large/);
    const every = await sessions(["events"]);
    expect(every.stderr).toMatch(/warning: the events of "big782" could not be read/);
  });
});

describe("damaged tab records (review H65-6)", () => {
  it("a record that is there but not one mc wrote reads unknown, saying so, not pending", async () => {
    const f = layouts("h656.json", [
      {
        layoutName: "dr656",
        layoutTabs: [
          { tabName: "a", command: "sleep 60" },
          { tabName: "b", command: "sleep 61" },
          { tabName: "c", command: "sleep 62" },
          { tabName: "ok", command: "sleep 63" },
        ],
      },
    ]);
    expect((await run(f)).code).toBe(0);
    onTestFinished(async () => {
      await sessions(["kill", "dr656"]);
    });
    await until(
      tabsOf.bind(null, "dr656"),
      (t) => t.length === 4 && t.every((x: { state: string }) => x.state === "running"),
    );
    const runDir = runDirOf("dr656");
    // Cut short, not JSON at all (a terminal title escape in it), another file linked in its place.
    // (And, below, an empty one and a FIFO: review H72-5.)
    writeFileSync(join(runDir, "tab-0.json"), '{"v":1,"pid":');
    writeFileSync(join(runDir, "tab-1.json"), "\x1b]0;X\x07garbage");
    rmSync(join(runDir, "tab-2.json"));
    symlinkSync("/etc/hostname", join(runDir, "tab-2.json"));
    const tabs = await tabsOf("dr656");
    expect(tabs.map((t: { state: string }) => t.state)).toEqual(["unknown", "unknown", "unknown", "running"]);
    for (const [i, t] of tabs.slice(0, 3).entries())
      expect(t.error).toBe(
        `its record ${join(runDir, `tab-${i}.json`)} is damaged (not a record mc wrote): no record says how its command runs or ended`,
      );
    const table = await sessions(["status", "dr656"]);
    expect(table.stdout).not.toContain("pending");
    expect(table.stdout).not.toContain("\x1b");
    writeFileSync(join(runDir, "tab-0.json"), "");
    rmSync(join(runDir, "tab-1.json"));
    execFileSync("mkfifo", [join(runDir, "tab-1.json")]);
    const again = await tabsOf("dr656");
    expect(again.map((t: { state: string }) => t.state)).toEqual([
      "unknown",
      "unknown",
      "unknown",
      "running",
    ]);
    expect(again[1].error).toContain("tab-1.json is damaged");
  });
});

describe("a run directory deleted under a --max-parallel-tabs run (review H65-7)", () => {
  it("the scheduler stops before opening the next tab, exit 9 naming the directory; rerun refuses before opening a window", async () => {
    const go = join(dir, "h657-go");
    const ranB = join(dir, "h657-b");
    const f = layouts("h657.json", [
      {
        layoutName: "rd657",
        layoutTabs: [
          { tabName: "a", command: `while [ ! -e '${go}' ]; do sleep 0.1; done` },
          { tabName: "b", command: `touch '${ranB}'` },
          { tabName: "c", command: "true" },
        ],
      },
    ]);
    onTestFinished(async () => {
      await sessions(["kill", "rd657"]);
    });
    const ran = run(f, "--max-parallel-tabs", "1", "--poll-seconds", "0.2");
    await until(tabsOf.bind(null, "rd657"), (t) => t[0]?.state === "running");
    const runDir = runDirOf("rd657");
    rmSync(runDir, { recursive: true, force: true });
    writeFileSync(go, "");
    const r = await ran;
    expect(r.code, r.stderr).toBe(9);
    expect(r.stderr).toContain(`the run directory of session "rd657" (${runDir}) is missing`);
    expect(r.stderr).toContain("stopped scheduling: 2 tab(s)");
    // Nothing more was opened: b never ran, and a's window is the session's only one.
    expect(existsSync(ranB)).toBe(false);
    expect(windowsOf("rd657")).toEqual(["a"]);
    const again = await sessions(["rerun", "rd657/a"]);
    expect(again.code, again.stderr).toBe(9);
    expect(again.stderr).toContain(`(${runDir}) is missing`);
    expect(windowsOf("rd657")).toEqual(["a"]);
  });

  it("with -m --json the event stream ends with the scheduler's error, exit 9 (review HR83-2: it followed the waiting tab for ever)", async () => {
    const go = join(dir, "h832-go");
    const f = layouts("h832.json", [
      {
        layoutName: "rd832",
        layoutTabs: [
          { tabName: "a", command: `while [ ! -e '${go}' ]; do sleep 0.1; done` },
          { tabName: "b", command: "true" },
        ],
      },
    ]);
    onTestFinished(async () => {
      await sessions(["kill", "rd832"]);
    });
    const ran = run(f, "--max-parallel-tabs", "1", "--poll-seconds", "0.2", "-m", "--json");
    await until(tabsOf.bind(null, "rd832"), (t) => t[0]?.state === "running");
    rmSync(runDirOf("rd832"), { recursive: true, force: true });
    writeFileSync(go, "");
    const r = await ran;
    expect(r.code, r.stderr).toBe(9);
    expect(r.stderr).toContain("stopped scheduling: 1 tab(s)");
  }, 60_000);
});

describe("rerun, --keep-failed, --notify", () => {
  it("rerun runs a finished tab again in a new tab of the same name and keeps the earlier attempt", async () => {
    const flag = join(dir, "second-time");
    const f = layouts("rerun.json", [
      {
        layoutName: "rr",
        layoutTabs: [
          { tabName: "ok", command: "exit 0" },
          { tabName: "job", command: `[ -e '${flag}' ] || { touch '${flag}'; exit 3; }` },
        ],
      },
    ]);
    expect((await run(f, "--exit", "keep")).code).toBe(0);
    expect((await sessions(["wait", "rr"])).code).toBe(10);
    const r = await sessions(["rerun", "rr", "--failed", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ session: "rr", rerun: [{ tab: "job", index: 1, attempt: 2 }] });
    expect((await sessions(["wait", "rr"])).code).toBe(0);
    const st = JSON.parse((await sessions(["status", "rr", "--json"])).stdout).sessions[0];
    expect(st.tabs[1]).toMatchObject({ tabName: "job", state: "exited", exitCode: 0, attempt: 2 });
    // The new attempt's pane is known as the tab's (its argv carries the attempt number).
    expect(st.tabs[1].ref).toMatch(/^%\d+$/);
    const windows = execFileSync("tmux", ["-S", sock, "list-windows", "-t", "=rr:", "-F", "#{window_name}"], {
      encoding: "utf8",
    });
    expect(lines(windows).sort()).toEqual(["job", "ok"]);
    const runDir = join(dir, "state", "runs");
    const archived = execFileSync("find", [runDir, "-path", "*attempts/tab-1.1.json"], { encoding: "utf8" });
    expect(JSON.parse(readFileSync(archived.trim(), "utf8"))).toMatchObject({ exit: 3 });
    expect((await sessions(["rerun", "rr/ok"])).code).toBe(0);
    const running = await sessions(["rerun", "rr/nope"]);
    expect(running.code).toBe(5);
    // No session at all: the session part is named (review H27-7: it named "zz/r1" as the session).
    const none = await sessions(["rerun", "zz/r1"]);
    expect(none.code).toBe(5);
    expect(none.stderr).toContain('no session "zz" (nor "zz/r1")');
    await sessions(["kill", "rr"]);
  });

  it("rerun --failed without a limit says it starts them at once, citing no flag run lacks (review H50-4)", async () => {
    const f = layouts("rerun-all.json", [
      {
        layoutName: "rall",
        layoutTabs: [
          { tabName: "a", command: "exit 1" },
          { tabName: "b", command: "exit 2" },
        ],
      },
    ]);
    expect((await run(f, "--exit", "keep")).code).toBe(0);
    expect((await sessions(["wait", "rall"])).code).toBe(10);
    const r = await sessions(["rerun", "rall", "--failed"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("starting 2 tabs at once (--max-parallel-tabs N starts them N at a time)");
    // run's -t is --choose-tabs: nothing here may point at it.
    expect(r.stderr).not.toMatch(/-t\b/);
    await sessions(["kill", "rall"]);
  });

  it("rerun --failed reruns the dependant of a service once the service runs and is ready (review H67-10)", async () => {
    const up = join(dir, "h6710-up");
    const side = join(dir, "h6710-probed");
    const gate = join(dir, "h6710-gate");
    const f = layouts("h6710.json", [
      {
        layoutName: "svc",
        layoutTabs: [
          { tabName: "keep", command: "sleep 300" },
          // Ready once the test opens its gate (after its first attempt was not ready in its 1 s); a
          // service, it never finishes. Its probe leaves a line each time it runs.
          {
            tabName: "db",
            command: `while [ ! -e '${gate}' ]; do sleep 0.1; done; : > '${up}'; sleep 300`,
            readiness: { command: `echo p >> '${side}'; test -e '${up}'`, timeoutSeconds: 1 },
          },
          { tabName: "api", command: "echo api-ran; sleep 300", dependsOn: ["db"] },
          { tabName: "api2", command: "sleep 300", dependsOn: ["db"] },
          { tabName: "api3", command: "sleep 300", dependsOn: ["db"] },
        ],
      },
    ]);
    try {
      expect((await run(f)).code).toBe(10);
      const first = await sessions(["rerun", "svc", "--failed"]);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toContain(
        "not rerun: api depends on db, which is neither finished successfully nor running and ready: rerun --failed again once it is",
      );
      writeFileSync(gate, "");
      await until(
        async () => existsSync(up),
        (x) => x,
      );
      // db runs (its second attempt) and is ready: api is rerun, though db never finishes.
      writeFileSync(side, "");
      const second = await sessions(["rerun", "svc", "--failed"]);
      expect(second.code, second.stderr).toBe(0);
      expect(second.stderr).not.toContain("not rerun");
      // db's probe ran once for its three dependants (review H75-2: once each, one after another).
      expect(readFileSync(side, "utf8")).toBe("p\n");
      // Its readiness is in events, before api's start (review H76-3: none, though api started on it).
      const events = lines((await sessions(["events", "svc"])).stdout).map(
        (l) => JSON.parse(l) as { type: string; tab?: string; time: string; attempt?: number },
      );
      const ready = events.find((e) => e.type === "tab-ready" && e.tab === "db");
      const apiStart = events.find((e) => e.type === "tab-started" && e.tab === "api");
      expect(ready, JSON.stringify(events)).toBeDefined();
      expect(Date.parse(ready!.time)).toBeLessThanOrEqual(Date.parse(apiStart!.time));
      const states = await until(
        () => tabsOf("svc"),
        (t) => t.every((x: { state: string }) => x.state === "running"),
      );
      expect(states.map((t: { state: string }) => t.state)).toEqual(Array(5).fill("running"));
    } finally {
      await sessions(["kill", "svc"]);
    }
  });

  it("rerun --failed --max-parallel-tabs N starts the failed tabs N at a time (review H44-4)", async () => {
    const spans = join(dir, "rerun-spans");
    const again = join(dir, "rerun-again");
    // Fails at once the first time; on its rerun it runs 0.6 s, its start and end written down.
    const cmd = (n: number) =>
      `[ -e '${again}' ] || exit 1; echo "s ${n} $(date +%s%N)" >> '${spans}'; sleep 0.6; echo "e ${n} $(date +%s%N)" >> '${spans}'`;
    const f = layouts("rerun-cap.json", [
      {
        layoutName: "rcap",
        layoutTabs: Array.from({ length: 5 }, (_, n) => ({ tabName: `j${n}`, command: cmd(n) })),
      },
    ]);
    expect((await run(f, "--exit", "keep")).code).toBe(0);
    expect((await sessions(["wait", "rcap"])).code).toBe(10);
    writeFileSync(again, "");
    const r = await sessions([
      "rerun",
      "rcap",
      "--failed",
      "--max-parallel-tabs",
      "2",
      "--poll-seconds",
      "0.1",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/attempt 2 started/g)).toHaveLength(5);
    expect((await sessions(["wait", "rcap"])).code).toBe(0);
    // At no moment did more than two run.
    const events = lines(readFileSync(spans, "utf8"))
      .map((l) => l.split(" "))
      .map(([k, , t]) => [BigInt(t!), k === "s" ? 1 : -1] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
    let now = 0;
    let most = 0;
    for (const [, d] of events) {
      now += d;
      most = Math.max(most, now);
    }
    expect(events).toHaveLength(10);
    expect(most).toBe(2);
    expect((await sessions(["rerun", "rcap/j0", "--max-parallel-tabs", "2"])).code).toBe(2);
    await sessions(["kill", "rcap"]);
  });

  it("-k --keep-failed kills what succeeded and keeps the failed tabs to look at; --notify runs on failures and at the end", async () => {
    const note = join(dir, "notes.ndjson");
    const f = layouts("keep.json", [
      { layoutName: "kf-good", layoutTabs: [{ tabName: "a", command: "exit 0" }] },
      {
        layoutName: "kf-bad",
        layoutTabs: [
          { tabName: "fine", command: "exit 0" },
          { tabName: "broken", command: "exit 5" },
        ],
      },
    ]);
    const r = await run(f, "-k", "--keep-failed", "--interval", "0.2", "--notify", `cat >> '${note}'`);
    expect(r.code, r.stderr).toBe(10);
    const names = lines(
      execFileSync("tmux", ["-S", sock, "list-sessions", "-F", "#{session_name}"], { encoding: "utf8" }),
    );
    expect(names).toContain("kf-bad");
    expect(names).not.toContain("kf-good");
    expect(names).toContain("keeper");
    const windows = execFileSync(
      "tmux",
      ["-S", sock, "list-windows", "-t", "=kf-bad:", "-F", "#{window_name}"],
      {
        encoding: "utf8",
      },
    );
    expect(lines(windows)).toEqual(["broken"]);
    // Said, not only implied (review H29-2: a merged session kept so went unsaid).
    expect(r.stderr).toContain("kf-bad: not killed: kept to look at (--keep-failed): broken failed");
    const notes = lines(readFileSync(note, "utf8")).map((l) => JSON.parse(l));
    expect(notes.map((n) => [n.type, n.tab ?? null, n.exitCode ?? null])).toEqual([
      ["tab-exited", "broken", 5],
      ["run-done", null, null],
    ]);
    expect(notes[1].failed).toBe(1);
    await sessions(["kill", "kf-bad"]);
  });
});

describe("a tab skipped for a failed dependency", () => {
  it("is said after the failure behind it, in time and in the events' order (review H11-7)", async () => {
    const f = layouts("skip-order.json", [
      {
        layoutName: "so",
        layoutTabs: [
          // Never ready (a tab without a probe is ready once it starts: on a loaded machine the scheduler
          // could see it run before it failed, and open dep; CI at 60d1d3f).
          { tabName: "bad", command: "sleep 0.3; exit 3", readiness: { file: "never-there" } },
          { tabName: "dep", command: "echo never", dependsOn: ["bad"] },
        ],
      },
    ]);
    const r = await run(f, "-m", "--interval", "0.2");
    expect(r.code, r.stderr).toBe(10);
    const ev = lines((await sessions(["events", "so"])).stdout)
      .map((l) => JSON.parse(l))
      .filter((e) => e.type === "tab-exited");
    expect(ev.map((e) => [e.tab, e.exitCode])).toEqual([
      ["bad", 3],
      ["dep", 125],
    ]);
    expect(Date.parse(ev[1].time)).toBeGreaterThanOrEqual(Date.parse(ev[0].time));
    await sessions(["kill", "so"]);
  });

  it("run --json says each tab's end once, as sessions events does (review HR82-1: a failed tab's end twice)", async () => {
    const f = layouts("skip-once.json", [
      {
        layoutName: "so1",
        layoutTabs: [
          { tabName: "ok", command: "true" },
          { tabName: "bad", command: "sleep 0.3; exit 3", readiness: { file: "never-there" } },
          { tabName: "dep", command: "echo never", dependsOn: ["bad"] },
          { tabName: "slow", command: "sleep 30", readiness: { command: "false", timeoutSeconds: 1 } },
          { tabName: "dep2", command: "echo never", dependsOn: ["slow"] },
        ],
      },
    ]);
    const r = await run(f, "-m", "--interval", "0.2", "--json");
    expect(r.code, r.stderr).toBe(10);
    const ends = (text: string) =>
      lines(text)
        .map((l) => JSON.parse(l))
        .filter((e) => e.type === "tab-exited" || e.type === "tab-killed")
        .map((e) => e.tab)
        .sort();
    expect(ends(r.stdout)).toEqual(["bad", "dep", "dep2", "ok", "slow"]);
    expect(ends((await sessions(["events", "so1"])).stdout)).toEqual(ends(r.stdout));
    await sessions(["kill", "so1"]);
  });
});

describe("readiness timeout", () => {
  it("is said with the tab's state, in the table and in the monitor's lines (review H5-14)", async () => {
    const f = layouts("rt.json", [
      {
        layoutName: "rt",
        layoutTabs: [
          {
            tabName: "db",
            command: "sleep 30",
            readiness: { file: join(dir, "never-there"), timeoutSeconds: 1 },
          },
          { tabName: "app", command: "true", dependsOn: ["db"] },
        ],
      },
    ]);
    const r = await run(f, "-m", "--interval", "0.2");
    expect(r.code, r.stderr).toBe(10);
    expect(`${r.stdout}${r.stderr}`).toContain("not ready within 1 s");
    const st = await sessions(["status", "rt"]);
    expect(st.stdout).toMatch(/rt \/ db: not ready within 1 s/);
    await sessions(["kill", "rt"]);
  });
});

describe("a stop while a readiness command is probed (review H67-2)", () => {
  it("ends the run at once; the dependant is never opened", async () => {
    const probed = join(dir, "h672-probed");
    const f = layouts("h672.json", [
      {
        layoutName: "h672",
        layoutTabs: [
          {
            tabName: "a",
            command: "sleep 60",
            readiness: { command: `: > '${probed}'; sleep 4`, timeoutSeconds: 60 },
          },
          { tabName: "b", command: "echo b-ran; sleep 60", dependsOn: ["a"] },
        ],
      },
    ]);
    const r = inBackground(["run", f, "--socket", sock]);
    // Stopped while the probe runs (it succeeds 4 s after it starts).
    await until(
      async () => existsSync(probed),
      (x) => x,
    );
    const at = Date.now();
    r.child.kill("SIGINT");
    expect(await r.code).toBe(130);
    expect(Date.now() - at).toBeLessThan(3000);
    // Past the probe's success: b never opened.
    await new Promise((res) => setTimeout(res, 4500));
    const tabs = await tabsOf("h672");
    expect(tabs.map((t: { state: string }) => t.state)).toEqual(["running", "abandoned"]);
    expect((await sessions(["events", "h672"])).stdout).not.toMatch(
      /"tab":"b"[^\n]*tab-started|tab-started[^\n]*"tab":"b"/,
    );
    await sessions(["kill", "h672"]);
  });
});

describe("a readiness command that hangs (review H67-5)", () => {
  it("holds up neither the other tabs' probes and starts nor its own timeout", async () => {
    const f = layouts("h675.json", [
      {
        layoutName: "h675",
        layoutTabs: [
          { tabName: "hang", command: "sleep 60", readiness: { command: "sleep 100", timeoutSeconds: 1 } },
          {
            tabName: "slow",
            command: "sleep 1; echo READY; sleep 60",
            readiness: { logMatches: "READY", timeoutSeconds: 20 },
          },
          { tabName: "dep", command: "sleep 60", dependsOn: ["slow"] },
        ],
      },
    ]);
    const at = Date.now();
    const r = await run(f);
    const took = Date.now() - at;
    try {
      expect(r.code, r.stderr).toBe(10);
      expect(r.stderr).toContain("h675 / hang: not ready within 1 s");
      // One after another, the hanging probe took 10 s a look: hang failed after ~21 s, dep opened ~8 s late.
      expect(took, r.stderr).toBeLessThan(9000);
      const events = lines((await sessions(["events", "h675"])).stdout).map(
        (l) => JSON.parse(l) as { type: string; tab?: string; time: string },
      );
      const time = (type: string, tab: string) =>
        Date.parse(events.find((e) => e.type === type && e.tab === tab)?.time ?? "");
      expect(time("tab-started", "dep") - time("tab-started", "slow")).toBeLessThan(5000);
    } finally {
      await sessions(["kill", "h675"]);
    }
  });
});

describe("readiness probes slower than the scheduler's look (review H75-1)", () => {
  it("a probe that succeeds after 0.3-1.5 s makes its tab ready, whatever the phase of the looks", async () => {
    const durations = ["0.3", "0.4", "0.6", "0.9", "1.5"];
    const f = layouts("h751.json", [
      {
        layoutName: "h751",
        layoutTabs: [
          ...durations.map((d, i) => ({
            tabName: `s${i}`,
            command: "sleep 60",
            readiness: { command: `sleep ${d}`, timeoutSeconds: 20 },
          })),
          { tabName: "dep", command: "sleep 60", dependsOn: durations.map((_, i) => `s${i}`) },
        ],
      },
    ]);
    try {
      const r = await run(f);
      // The answers that came between two looks were dropped: every probe slower than a look failed.
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain("not ready");
      expect((await tabsOf("h751")).map((t: { state: string }) => t.state)).toEqual(
        Array(durations.length + 1).fill("running"),
      );
    } finally {
      await sessions(["kill", "h751"]);
    }
  });
});

describe("a tab's probes follow one another at their own pace (review H76-1)", () => {
  it("a 0.4 s probe that says no is run again at once, not every other look", async () => {
    const starts = join(dir, "h761-starts");
    const flag = join(dir, "h761-flag");
    const f = layouts("h761.json", [
      {
        layoutName: "h761",
        layoutTabs: [
          {
            tabName: "svc",
            command: "sleep 60",
            readiness: {
              command: `date +%s.%N >> '${starts}'; sleep 0.4; test -e '${flag}'`,
              timeoutSeconds: 30,
            },
          },
          { tabName: "dep", command: "sleep 60", dependsOn: ["svc"] },
        ],
      },
    ]);
    const r = inBackground(["run", f, "--socket", sock]);
    try {
      await until(
        async () => (existsSync(starts) ? readFileSync(starts, "utf8").trim().split("\n").length : 0),
        (n) => n >= 6,
      );
      writeFileSync(flag, "");
      expect(await r.code, r.got.err).toBe(0);
      const t = readFileSync(starts, "utf8").trim().split("\n").map(Number);
      const gaps = t
        .slice(1, 6)
        .map((x, k) => x - t[k]!)
        .sort((a, b) => a - b);
      // Back to back: ~0.45 s apart; every other look (0.5 s polls) was 1 s and more.
      expect(gaps[2], gaps.join(" ")).toBeLessThan(0.8);
    } finally {
      r.child.kill();
      await sessions(["kill", "h761"]);
    }
  });
});

describe("a run that ends before its waiting tabs start", () => {
  it("leaves them abandoned; running the file again with merge-skip starts them (review H5-8)", async () => {
    const ready = join(dir, "h8-ready");
    const f = layouts("h8.json", [
      {
        layoutName: "h8",
        layoutTabs: [
          {
            tabName: "a",
            command: "sleep 60",
            readiness: { file: ready, timeoutSeconds: 30 },
          },
          { tabName: "b", command: "echo b-ran; sleep 60", dependsOn: ["a"] },
        ],
      },
    ]);
    const first = runInBackground(f);
    const status = () => tabsOf("h8");
    await until(status, (t) => t[0]?.state === "running");
    first.kill("SIGKILL");
    // a is ready only now, with nothing left to start b.
    writeFileSync(ready, "");
    await new Promise((r) => setTimeout(r, 1000));
    expect((await status()).map((t: { state: string }) => t.state)).toEqual(["running", "abandoned"]);
    const again = await run(f, "--on-conflict", "merge-skip");
    expect(again.code, again.stderr).toBe(0);
    // A merge starts no session (H20-18).
    expect(again.stderr).toContain("merged into 1 running session; attach with");
    const tabs = await until(status, (t) => t[1]?.state === "running");
    expect(tabs.map((t: { state: string }) => t.state)).toEqual(["running", "running"]);
    // Started once: the merge's run does not start it again from the dead run's waiting list.
    await new Promise((r) => setTimeout(r, 1500));
    const windows = () => windowsOf("h8");
    expect(windows()).toEqual(["a", "b"]);
    expect(
      (
        await until(
          () => sessions(["logs", "h8/b"]),
          (r) => r.stdout.includes("b-ran"),
        )
      ).stdout,
    ).toContain("b-ran");
    await sessions(["kill", "h8"]);
  });
});

describe("tabs whose scheduler ended (hr6 F9)", () => {
  it("read abandoned: wait ends at once with the failed exit, rerun --failed says how to start them, rerun S/T starts one", async () => {
    const f = layouts("f9.json", [
      {
        layoutName: "f9",
        layoutTabs: [
          // Long enough that a loaded machine still sees it running between two status calls (it read
          // exited once, and b had run, with 2 s).
          { tabName: "a", command: "sleep 6" },
          { tabName: "b", command: "echo b-ran" },
          { tabName: "c", command: "echo c-ran" },
        ],
      },
    ]);
    const first = runInBackground(f, "--max-parallel-tabs", "1");
    const status = () => tabsOf("f9");
    await until(status, (t) => t[0]?.state === "running");
    const states = (t: { state: string }[]) => t.map((x) => x.state);
    // While the run lives its waiting tabs are not-started; once it is gone nothing will start them.
    expect(states(await status())).toEqual(["running", "not-started", "not-started"]);
    first.kill("SIGKILL");
    await until(status, (t) => t[1]?.state === "abandoned");
    const t0 = Date.now();
    const w = await sessions(["wait", "f9", "--timeout", "60"], 90_000);
    // It waits for a (6 s), not for tabs nothing will start (it waited until its timeout before).
    expect(w.code, w.stderr).toBe(10);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(states(await status())).toEqual(["exited", "abandoned", "abandoned"]);
    const table = await sessions(["status", "f9"]);
    expect(table.stdout).toMatch(/b\s.*abandoned/);
    const failed = await sessions(["rerun", "f9", "--failed"]);
    // Failed tabs remain and none was rerun: no success (review H51-7: exit 0).
    expect(failed.code, failed.stderr).toBe(10);
    expect(failed.stderr).toContain("no tab was rerun (why is said above): 2 failed tab(s) remain");
    expect(failed.stderr).toContain("b was never started");
    expect(failed.stderr).toContain(`sessions rerun --socket ${sock} f9/b starts it`);
    expect(states(await status())).toEqual(["exited", "abandoned", "abandoned"]);
    const one = await sessions(["rerun", "f9/b", "--json"]);
    expect(one.code, one.stderr).toBe(0);
    // Its first attempt: it never ran before.
    expect(JSON.parse(one.stdout).rerun).toEqual([{ tab: "b", index: 1, attempt: 1 }]);
    const after = await until(status, (t) => t[1]?.state === "exited");
    expect(states(after)).toEqual(["exited", "exited", "abandoned"]);
    expect(after[1].exitCode).toBe(0);
    expect(after[1].attempt ?? 1).toBe(1);
    await sessions(["kill", "f9"]);
  });
});

describe("one scheduler per session", () => {
  it("merging into a session whose starting run still waits to open tabs is refused; once that run is gone the merge starts them, once", async () => {
    const f = layouts("two-sched.json", [
      {
        layoutName: "ts",
        layoutTabs: [
          { tabName: "a", command: "sleep 4" },
          { tabName: "b", command: "echo b-ran; sleep 30" },
          { tabName: "c", command: "echo c-ran; sleep 30" },
        ],
      },
    ]);
    const first = runInBackground(f, "--max-parallel-tabs", "1");
    const status = () => tabsOf("ts");
    await until(status, (t) => t[0]?.state === "running");
    const windows = () => windowsOf("ts");
    // The starting run lives (also while stopped): a second scheduler is refused, nothing opened.
    process.kill(first.pid!, "SIGSTOP");
    const merged = await run(f, "--on-conflict", "merge-skip");
    expect(merged.code, merged.stderr).toBe(4);
    expect(merged.stderr).toContain(
      `waiting for the sessions run that started it (pid ${first.pid}, still running)`,
    );
    expect(windows()).toEqual(["a"]);
    // Stopped for good: its tabs read abandoned, and the merge starts each of them once.
    first.kill("SIGKILL");
    await until(status, (t) => t[1]?.state === "abandoned");
    const again = await run(f, "--on-conflict", "merge-skip");
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain("0 added, 0 restarted, 1 kept, 2 waiting to be opened");
    await until(status, (t) => t[1]?.state === "running" && t[2]?.state === "running");
    await new Promise((r) => setTimeout(r, 1500));
    expect(windows().sort()).toEqual(["a", "b", "c"]);
    await sessions(["kill", "ts"]);
  });
});

describe("resuming an edited file with merge-skip or merge-overwrite (review H59-3)", () => {
  for (const [policy, capped] of [
    ["merge-skip", true],
    ["merge-overwrite", true],
    ["merge-skip", false],
    ["merge-overwrite", false],
  ] as const) {
    it(`${policy}: runs what the file says now (deleted, renamed, reordered, added first, changed)${capped ? ", under --max-parallel-tabs" : ""}`, async () => {
      const name = `ed${policy === "merge-skip" ? "s" : "o"}${capped ? "c" : ""}`;
      const log = join(dir, `${name}.log`);
      const tab = (n: string, word = n) => ({
        tabName: n,
        command: `echo S ${word} >> ${log}; sleep 1; echo E ${word} >> ${log}`,
      });
      const six = ["t0", "t1", "t2", "t3", "t4", "t5"].map((n) => tab(n));
      const f = layouts(`${name}.json`, [{ layoutName: name, layoutTabs: six }]);
      const first = inBackground([
        "run",
        f,
        "--socket",
        sock,
        "--max-parallel-tabs",
        "2",
        "--poll-seconds",
        "0.2",
      ]);
      const status = () => tabsOf(name);
      // Stopped once it schedules (a stop while it starts the session rolls the session back).
      await until(
        async () => first.got.err,
        (e) => e.includes(`✓ ${name} `),
      );
      first.child.kill("SIGINT");
      expect(await first.code).toBe(130);
      expect((await status()).map((t: { state: string }) => t.state).slice(2)).toEqual(
        Array(4).fill("abandoned"),
      );
      // t6 added first, t2's command changed, t3 moved before t2, t4 deleted, t5 renamed t5x.
      const edited = layouts(`${name}2.json`, [
        {
          layoutName: name,
          layoutTabs: [tab("t6"), six[0]!, six[1]!, six[3]!, tab("t2", "t2EDIT"), tab("t5x", "t5")],
        },
      ]);
      const cap = capped ? ["--max-parallel-tabs", "2", "--poll-seconds", "0.2"] : [];
      // The dry run says which tabs wait and which are dropped (review H63-7), and changes nothing.
      const dry = await run(edited, "--on-conflict", policy, ...cap, "--dry-run");
      expect(dry.code, dry.stderr).toBe(0);
      const held = capped ? "  (added: waits for a free slot)" : "";
      expect(lines(dry.stdout).filter((l) => l.startsWith("#   "))).toEqual([
        "#   keep    t0",
        "#   keep    t1",
        `#   create  t6${held}`,
        "#   open    t3  (never started: this run opens it)",
        "#   open    t2  (never started: this run opens it)",
        `#   create  t5x${held}`,
        "#   drop    t4  (never started; no longer in the file)",
        "#   drop    t5  (never started; no longer in the file)",
      ]);
      const dryJson = JSON.parse(
        (await run(edited, "--on-conflict", policy, ...cap, "--dry-run", "--json")).stdout,
      );
      expect(dryJson.batches[0][0]).toMatchObject({
        waitingTabs: capped ? [2, 3, 4, 5] : [3, 4],
        droppedTabs: ["t4", "t5"],
      });
      const merged = await run(edited, "--on-conflict", policy, ...cap);
      expect(merged.code, merged.stderr).toBe(0);
      // Without a cap the added tabs open at once; the waiting ones are opened by the merging run.
      expect(merged.stderr).toContain(
        capped
          ? "(merged into the running session: 2 added, 0 restarted, 2 kept, 4 waiting to be opened (1 with the command the file gives now), 2 dropped: no longer in the file)"
          : "(merged into the running session: 2 added, 0 restarted, 2 kept, 2 waiting to be opened (1 with the command the file gives now), 2 dropped: no longer in the file)",
      );
      const tabs = await until(status, (t) => t.every((x: { state: string }) => x.state === "exited"));
      expect(tabs.map((t: { tabName: string }) => t.tabName)).toEqual(["t0", "t1", "t6", "t3", "t2", "t5x"]);
      // Once more after the last start: a tab started twice would say so by now.
      await new Promise((r) => setTimeout(r, 1500));
      const starts = lines(readFileSync(log, "utf8")).filter((l) => l.startsWith("S "));
      // Each once, with the file's command; nothing of t4 or of t2's old command. Under the cap, in the
      // file's order, and never more than 2 at once, counting the first run's tabs still running.
      // (Tabs open two by two, each pair together: either of a pair may write first.)
      if (capped)
        expect([0, 2, 4].flatMap((k) => starts.slice(k, k + 2).sort())).toEqual([
          "S t0",
          "S t1",
          "S t3",
          "S t6",
          "S t2EDIT",
          "S t5",
        ]);
      else expect(starts.sort()).toEqual(["S t0", "S t1", "S t2EDIT", "S t3", "S t5", "S t6"]);
      let now = 0;
      let most = 0;
      for (const l of lines(readFileSync(log, "utf8"))) {
        now += l.startsWith("S ") ? 1 : -1;
        most = Math.max(most, now);
      }
      if (capped) expect(most).toBeLessThanOrEqual(2);
      await sessions(["kill", name]);
    });
  }
});

describe("run-all", () => {
  it("keeps each tab's dependencies and environment in its own layout when layouts share tab names (review H5-11)", async () => {
    const f = layouts("ra.json", [
      {
        layoutName: "L1",
        env: { WHO: "one" },
        layoutTabs: [
          {
            tabName: "db",
            command: "sleep 30",
            readiness: { file: join(dir, "never-ra"), timeoutSeconds: 1 },
          },
          { tabName: "api", command: 'echo "api of $WHO"', dependsOn: ["db"] },
        ],
      },
      {
        layoutName: "L2",
        env: { WHO: "two" },
        layoutTabs: [
          { tabName: "db", command: "true" },
          { tabName: "api", command: 'echo "api of $WHO"', dependsOn: ["db"] },
          { tabName: "solo", command: 'echo "solo of $WHO"' },
        ],
      },
    ]);
    const r = await sessions(["run-all", f, "--socket", sock, "-t", "5", "--poll-seconds", "0.3"], 90_000);
    expect(r.code, r.stderr).toBe(10);
    const st = JSON.parse((await sessions(["status", "all-layouts-dynamic", "--json"])).stdout).sessions[0];
    const by = Object.fromEntries(
      st.tabs.map((t: { tabName: string; state: string; exitCode?: number }) => [
        t.tabName,
        [t.state, t.exitCode],
      ]),
    );
    // L1's api waits for L1's db (never ready); L2's api for L2's db, and runs.
    // Never started: skipped, not "exited 125" (the 125 stays in JSON, as its tab-exited event says).
    expect(by["L1.api"]).toEqual(["skipped", 125]);
    const row = (await sessions(["status", "all-layouts-dynamic"])).stdout
      .split("\n")
      .find((l) => /\bL1\.api\b/.test(l));
    expect(row).toMatch(/L1\.api\s+skipped\s+-\s+echo/);
    expect(by["L2.api"]).toEqual(["exited", 0]);
    expect(by.solo).toEqual(["exited", 0]);
    const logs = await sessions(["logs", "all-layouts-dynamic/L2.api"]);
    expect(logs.stdout).toContain("api of two");
    expect((await sessions(["logs", "all-layouts-dynamic/solo"])).stdout).toContain("solo of two");
    await sessions(["kill", "all-layouts-dynamic"]);
  });
});

describe("--notify", () => {
  it("desktop without notify-send says so once, with what to install, and no exit status (review H20-16)", async () => {
    // A PATH with tmux and sh but no notify-send.
    const bin = join(dir, "no-notify-bin");
    execFileSync("mkdir", ["-p", bin]);
    // runCli starts `node` from PATH.
    if (!existsSync(join(bin, "node"))) execFileSync("ln", ["-s", process.execPath, join(bin, "node")]);
    for (const tool of [
      "tmux",
      "sh",
      "perl",
      "awk",
      "mkdir",
      "sleep",
      "date",
      "mv",
      "ps",
      "cat",
      "tr",
      "sed",
      "grep",
      "readlink",
    ]) {
      const at = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
      if (at && !existsSync(join(bin, tool))) execFileSync("ln", ["-s", at, join(bin, tool)]);
    }
    const f = layouts("nn.json", [
      {
        layoutName: "nn",
        layoutTabs: [
          { tabName: "a", command: "exit 3" },
          { tabName: "b", command: "exit 4" },
        ],
      },
    ]);
    const r = await runCli(["run", f, "--socket", sock, "-k", "--interval", "0.2", "--notify", "desktop"], {
      env: { ...env, PATH: bin },
      cwd: dir,
    });
    expect(r.code, r.stderr).toBe(10);
    expect(r.stderr.match(/notify-send is not installed/g)).toHaveLength(1);
    expect(r.stderr).not.toMatch(/exited -2/);
  });

  it("a notifier still running 5 s after the end does not hold the run (outside review H5-16)", async () => {
    const f = layouts("slow-notify.json", [
      { layoutName: "sn", layoutTabs: [{ tabName: "a", command: "exit 4" }] },
    ]);
    const t0 = Date.now();
    try {
      const r = await run(f, "-k", "--interval", "0.2", "--notify", "sleep 29.75");
      expect(r.code, r.stderr).toBe(10);
      expect(Date.now() - t0).toBeLessThan(20_000);
    } finally {
      spawnSync("pkill", ["-f", "sleep 29.75"]);
    }
  });
});

describe("housekeeping", () => {
  it("ls --prune forgets ended sessions and removes their files", async () => {
    const before = (await sessions(["ls", "--json"])).stdout;
    expect((await sessions(["ls", "--prune"])).code).toBe(0);
    const runs = join(dir, "state", "runs");
    const left = existsSync(runs) ? readdirSync(runs) : [];
    if (left.length) console.error("LEFT", JSON.stringify(left.map((d) => [d, readdirSync(join(runs, d))])));
    expect(left, before).toEqual([]);
  });
});

describe("queued tabs and what a run says of them (review H18)", () => {
  it("tabs that never start because their session ended fail the run (exit 10); --exit close is refused with a cap", async () => {
    const f = layouts("gone.json", [
      {
        layoutName: "gone",
        layoutTabs: [
          { tabName: "a", command: "sleep 60" },
          { tabName: "b", command: "true" },
          { tabName: "c", command: "true" },
        ],
      },
    ]);
    const refused = await run(f, "--max-parallel-tabs", "1", "--exit", "close");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--kill-finished-tabs");
    // The session ends under the run while b and c wait for a slot.
    const { code, stderr } = await runUntilKilled(
      f,
      "gone",
      "--max-parallel-tabs",
      "1",
      "--poll-seconds",
      "0.2",
    );
    expect(code).toBe(10);
    expect(stderr).toMatch(/2 never started \(their session ended\)/);
  });

  it("run -m -k of a session killed outside mc says it was already gone, and its record says so (reviews H40-3, H38-5)", async () => {
    const f = layouts("outside.json", [
      { layoutName: "outk", layoutTabs: [{ tabName: "t", command: "sleep 60" }] },
    ]);
    const { code, stderr } = await runUntilKilled(f, "outk", "-m", "-k", "--interval", "0.2");
    expect(code).toBe(10);
    // It said "sessions killed", and the record "ended (killed)": mc had killed nothing.
    expect(stderr).toMatch(/no session killed, 1 already gone\n/);
    const ended = JSON.parse((await sessions(["ls", "--json"])).stdout).runs.filter(
      (r: { session: string }) => r.session === "outk",
    );
    expect(ended.map((r: { ended?: { by: string } }) => r.ended?.by)).toEqual(["gone"]);
    expect((await sessions(["ls"])).stdout).toMatch(/outk .* ended \(gone\)/);
  });

  it("so do dependants that never start, without -m; --exit close with dependsOn is refused (review H19-4)", async () => {
    const ready = join(dir, "h19-4.ready");
    const f = layouts("dep3.json", [
      {
        layoutName: "dr",
        layoutTabs: [
          { tabName: "a", command: `sleep 2; touch ${ready}; sleep 30`, readiness: { file: ready } },
          { tabName: "b", command: "echo b-ran", dependsOn: ["a"] },
        ],
      },
    ]);
    const refused = await run(f, "--exit", "close");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("dependsOn");
    const { code, stderr } = await runUntilKilled(f, "dr");
    expect(code).toBe(10);
    expect(stderr).toMatch(/1 tab\(s\) never started: their session ended first/);
  });

  it("a readiness timeout fails the run without -m too; an interactive pane is no finished tab (reviews H21-3, H21-5)", async () => {
    const f = layouts("rt.json", [
      {
        layoutName: "rt",
        layoutTabs: [
          {
            tabName: "a",
            command: "sleep 30",
            readiness: { file: join(dir, "never-there"), timeoutSeconds: 1 },
          },
          { tabName: "b", command: "echo b-ran", dependsOn: ["a"] },
        ],
      },
    ]);
    const r = await run(f);
    expect(r.code, r.stderr).toBe(10);
    expect(r.stderr).toContain("rt / a: not ready within 1 s");
    expect(r.stderr).toContain(
      "2 tab(s) failed: not ready in time, or not started because a tab they depend on failed",
    );
    await sessions(["kill", "rt"]);
    // A pane without a command is a shell the user asked for: --kill-finished-tabs leaves it open.
    const g = layouts("ip.json", [
      {
        layoutName: "ip",
        layoutTabs: [
          { tabName: "p", command: "sleep 0.5", panes: [{}] },
          { tabName: "q", command: "sleep 1.5" },
        ],
      },
    ]);
    const k = await run(g, "--max-parallel-tabs", "2", "--kill-finished-tabs", "--poll-seconds", "0.2");
    expect(k.code, k.stderr).toBe(0);
    // Tab p's own pane finished and closed; its shell pane keeps window p.
    expect(windowsOf("ip")).toContain("p");
    await sessions(["kill", "ip"]);
  });

  it("wait NAME is not failed by another run's damaged record: it warns (review H19-5)", async () => {
    const state = join(dir, "state-h19-5");
    const e = { ...env, MC_STATE_DIR: state };
    const f = layouts("okw.json", [{ layoutName: "okw", layoutTabs: [{ tabName: "x", command: "true" }] }]);
    expect((await runCli(["run", f, "--socket", sock, "-m"], { env: e, cwd: dir })).code).toBe(0);
    writeFileSync(join(state, "managers", "TmuxLocalManager", "20990101-000000-aaaaaa.json"), "{garbage", {
      mode: 0o600,
    });
    const w = await runCli(["wait", "okw", "--timeout", "5"], { env: e, cwd: dir });
    expect(w.code, w.stderr).toBe(0);
    expect(w.stderr).toContain("skipped unreadable run record");
    expect((await runCli(["wait", "--timeout", "5"], { env: e, cwd: dir })).code).toBe(9);
    await runCli(["kill", "okw"], { env: e, cwd: dir });
  });

  it("a name no readable record holds, beside an unreadable record, is exit 9 naming the file, for every lookup (review H50-8)", async () => {
    const state = join(dir, "state-h50-8");
    const e = { ...env, MC_STATE_DIR: state };
    const cli = (args: string[]) => runCli(args, { env: e, cwd: dir });
    const f = layouts("h508.json", [
      { layoutName: "h508", layoutTabs: [{ tabName: "x", command: "sleep 60" }] },
    ]);
    expect((await cli(["run", f, "--socket", sock])).code).toBe(0);
    onTestFinished(() => {
      try {
        execFileSync("tmux", ["-S", sock, "kill-session", "-t", "=h508"], { stdio: "ignore" });
      } catch {}
    });
    const runs = join(state, "managers", "TmuxLocalManager");
    const [file] = readdirSync(runs).filter((n) => n.endsWith(".json"));
    const path = join(runs, file!);
    writeFileSync(path, '{"broken');
    for (const args of [
      ["wait", "h508", "--timeout", "5"],
      ["kill", "h508"],
      ["status", "h508"],
      ["logs", "h508"],
      ["rerun", "h508/x"],
      ["events", "h508"],
      ["attach", "h508-nowhere"],
    ]) {
      const r = await cli(args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(9);
      const error = lines(r.stderr).find((l) => l.startsWith("error:"));
      // One line naming the file once, its reason, no internal tags.
      expect(error, r.stderr).toContain(`${path} (is not valid JSON)`);
      expect(error!.split(path)).toHaveLength(2);
      expect(r.stderr).not.toContain("[mc]");
      expect(r.stderr).not.toContain("[core]");
    }
    const j = await cli(["kill", "h508", "--json"]);
    expect(j.code).toBe(9);
    expect(JSON.parse(j.stderr).error).toMatchObject({
      code: "STATE_CORRUPT",
      details: { unreadable: [{ path, error: "is not valid JSON" }] },
    });
    // The session lives on: nothing was killed.
    execFileSync("tmux", ["-S", sock, "has-session", "-t", "=h508"]);
    const ls = await cli(["ls"]);
    expect(ls.stderr + ls.stdout).toContain(`${path}: is not valid JSON`);
  });

  it("a record that could not be read, or a link in its place, is exit 9 for status, ls and kill --all, and a merge says it is unreadable (review H65-5)", async () => {
    const state = join(dir, "state-h65-5");
    const e = { ...env, MC_STATE_DIR: state };
    const cli = (args: string[]) => runCli(args, { env: e, cwd: dir });
    const f = layouts("h655.json", [
      { layoutName: "h655", layoutTabs: [{ tabName: "x", command: "sleep 60" }] },
    ]);
    expect((await cli(["run", f, "--socket", sock])).code).toBe(0);
    onTestFinished(() => {
      try {
        execFileSync("tmux", ["-S", sock, "kill-session", "-t", "=h655"], { stdio: "ignore" });
      } catch {}
    });
    const runs = join(state, "managers", "TmuxLocalManager");
    const [file] = readdirSync(runs).filter((n) => n.endsWith(".json"));
    const path = join(runs, file!);
    writeFileSync(path, readFileSync(path, "utf8").slice(0, 300));
    for (const args of [["status"], ["ls"]]) {
      const r = await cli(args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(9);
      expect(r.stderr).toContain(`skipped unreadable run record ${path}: is not valid JSON`);
      expect(r.stderr).not.toMatch(/no managed sessions|mc manages no sessions/);
    }
    // Its record is there, unreadable: not "gone" (exit 4), nothing merged.
    const merge = await cli(["run", f, "--socket", sock, "--on-conflict", "merge-skip"]);
    expect(merge.code, merge.stderr).toBe(9);
    expect(merge.stderr).toContain(`its run record could not be read (${path} is not valid JSON)`);
    expect(merge.stderr).not.toContain("gone");
    // A link in its place is not trusted, so not read: it may be this user's record replaced.
    rmSync(path);
    execFileSync("ln", ["-s", "/dev/zero", path]);
    for (const args of [["status"], ["ls"], ["kill", "--all"]]) {
      const r = await cli(args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(9);
      expect(r.stderr).toContain(path);
      expect(r.stderr).toContain("not trusted");
      expect(r.stderr).not.toMatch(/no managed sessions|nothing to kill/);
    }
    const j = await cli(["status", "--json"]);
    expect(j.code).toBe(9);
    expect(JSON.parse(j.stdout).unreadable).toEqual([
      { path, error: expect.stringContaining("not trusted") },
    ]);
    const m = await cli(["run", f, "--socket", sock, "--on-conflict", "merge-skip"]);
    expect(m.code, m.stderr).toBe(9);
    expect(m.stderr).toContain("its run record could not be read");
    // Nothing was killed or merged: the one window runs on.
    expect(windowsOf("h655")).toEqual(["x"]);
    // --on-conflict restart replaces it still (the tool shows it is mc's); the unreadable record is left.
    const pid = () =>
      execFileSync("tmux", ["-S", sock, "list-panes", "-t", "=h655", "-F", "#{pane_pid}"], {
        encoding: "utf8",
      }).trim();
    const before = pid();
    const restart = await cli(["run", f, "--socket", sock, "--on-conflict", "restart"]);
    expect(restart.code, restart.stderr).toBe(0);
    expect(pid()).not.toBe(before);
    expect(existsSync(path) || lstatSync(path).isSymbolicLink()).toBe(true);
  });

  it("a failed tab is reported (and notified) when it ends, not when the queue has run", async () => {
    const stamp = join(dir, "h18-3");
    const notify = join(dir, "notify-h18.sh");
    writeFileSync(notify, `#!/bin/sh\ngrep -q '"tab":"fail"' && date +%s.%N >> ${stamp}.notified\nexit 0\n`, {
      mode: 0o755,
    });
    const f = layouts("late.json", [
      {
        layoutName: "late",
        layoutTabs: [
          { tabName: "fail", command: "exit 3" },
          { tabName: "s1", command: "sleep 3" },
          { tabName: "s2", command: `date +%s.%N > ${stamp}.s2; sleep 3` },
        ],
      },
    ]);
    const r = await run(
      f,
      "--max-parallel-tabs",
      "1",
      "--poll-seconds",
      "0.2",
      "-m",
      "-k",
      "--notify",
      notify,
    );
    expect(r.code).toBe(10);
    // Its "exited 3" line and its notification came while s1 ran, before s2 started.
    expect(r.stdout).toMatch(/late \/ fail: exited 3/);
    const notified = Number(readFileSync(`${stamp}.notified`, "utf8").trim().split("\n")[0]);
    const s2 = Number(readFileSync(`${stamp}.s2`, "utf8").trim());
    expect(notified).toBeLessThan(s2);
  });

  it("--max-parallel-tabs counts tabs, not panes", async () => {
    const stamp = join(dir, "h18-5");
    const pane = (command: string) => ({ panes: [{ command }] });
    const f = layouts("panes2.json", [
      {
        layoutName: "pp",
        layoutTabs: [
          { tabName: "p0", command: "sleep 0.3", ...pane("sleep 0.3") },
          { tabName: "p1", command: `sleep 4; date +%s.%N > ${stamp}.p1end`, ...pane("sleep 4") },
          { tabName: "p2", command: `date +%s.%N > ${stamp}.p2start`, ...pane("true") },
        ],
      },
    ]);
    const r = await run(f, "--max-parallel-tabs", "2", "--poll-seconds", "0.2", "-k");
    expect(r.code, r.stderr).toBe(0);
    // p0 ended: one tab (two panes) runs, a slot of two is free, p2 starts beside p1.
    const p2 = Number(readFileSync(`${stamp}.p2start`, "utf8").trim());
    const p1 = Number(readFileSync(`${stamp}.p1end`, "utf8").trim());
    expect(p2).toBeLessThan(p1);
  });

  it("wait does not say success over a run record it could not read (exit 9)", async () => {
    const state = join(dir, "state-h18-2");
    const e = { ...env, MC_STATE_DIR: state };
    const f = layouts("w.json", [{ layoutName: "w", layoutTabs: [{ tabName: "x", command: "exit 3" }] }]);
    expect((await runCli(["run", f, "--socket", sock, "-m"], { env: e, cwd: dir })).code).toBe(10);
    const runs = join(state, "managers", "TmuxLocalManager");
    const [file] = readdirSync(runs).filter((n) => n.endsWith(".json"));
    const rec = JSON.parse(readFileSync(join(runs, file!), "utf8"));
    rec.sessions[0].layout.layoutTabs = "x";
    writeFileSync(join(runs, file!), JSON.stringify(rec));
    const w = await runCli(["wait", "--timeout", "5"], { env: e, cwd: dir });
    expect(w.code).toBe(9);
    expect(w.stderr).toContain("could not read");
    const j = await runCli(["wait", "--timeout", "5", "--json"], { env: e, cwd: dir });
    expect(j.code).toBe(9);
    expect(JSON.parse(j.stdout)).toMatchObject({
      ok: false,
      unreadable: [expect.objectContaining({ path: expect.any(String) })],
    });
    await runCli(["kill", "w"], { env: e, cwd: dir });
    try {
      execFileSync("tmux", ["-S", sock, "kill-session", "-t", "=w"], { stdio: "ignore" });
    } catch {}
  });
});

describe("--kill-finished-tabs ends what a closed tab left running, as run -k does (review H12-7)", () => {
  it("a tab's escaped processes end with its tab; the next tab and the user's session are untouched", async () => {
    const cmdlines = () =>
      readdirSync("/proc")
        .filter((p) => /^\d+$/.test(p))
        .map((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, "utf8").replace(/\0/g, " ").trim();
          } catch {
            return "";
          }
        });
    const f = layouts("kft.json", [
      {
        layoutName: "kft",
        layoutTabs: [
          {
            tabName: "a",
            command:
              "setsid sleep 3017 >/dev/null 2>&1 & nohup sleep 3018 >/dev/null 2>&1 & sleep 0.3; exit 0",
          },
          { tabName: "b", command: "sleep 2" },
        ],
      },
    ]);
    try {
      const r = await run(f, "--max-parallel-tabs", "1", "--kill-finished-tabs", "--poll-seconds", "0.2");
      expect(r.code, r.stderr).toBe(0);
      const left = await until(
        async () => cmdlines().filter((c) => c === "sleep 3017" || c === "sleep 3018"),
        (l) => l.length === 0,
        10_000,
      );
      expect(left).toEqual([]);
      expect(execFileSync("tmux", ["-S", sock, "has-session", "-t", "=keeper"]).length).toBe(0);
    } finally {
      for (const p of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
        try {
          const c = readFileSync(`/proc/${p}/cmdline`, "utf8").replace(/\0/g, " ").trim();
          if (c === "sleep 3017" || c === "sleep 3018") process.kill(Number(p), "SIGKILL");
        } catch {}
      }
      await sessions(["kill", "kft"]);
    }
  });
});

const FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
describe.skipIf(!existsSync(FAKETIME))(
  "a wall clock stepped forward while tabs wait to be ready (review H25-3)",
  () => {
    it("a readiness timeout is measured on the monotonic clock: the tab becomes ready, its dependant runs", async () => {
      const flag = join(dir, "h25-3.ready");
      const f = layouts("h25-3.json", [
        {
          layoutName: "clk",
          layoutTabs: [
            {
              tabName: "db",
              command: `sleep 6; touch '${flag}'; sleep 4`,
              readiness: { file: flag, timeoutSeconds: 300 },
            },
            { tabName: "app", command: "echo app-ran", dependsOn: ["db"] },
          ],
        },
      ]);
      // `sessions run` alone sees the clock jump two hours, 3 s after it started (tmux and the tabs do not).
      const r = await runCli(["run", f, "--socket", sock, "-m", "--exit", "keep", "--interval", "0.5"], {
        env: {
          ...env,
          LD_PRELOAD: FAKETIME,
          FAKETIME: "+2h",
          FAKETIME_START_AFTER_SECONDS: "3",
          FAKETIME_DONT_FAKE_MONOTONIC: "1",
        },
        cwd: dir,
        timeout: 60_000,
      });
      expect(r.stderr).not.toMatch(/not ready within/);
      expect(r.code, r.stderr).toBe(0);
      const tabs = await tabsOf("clk");
      expect(tabs.map((t: { tabName: string; state: string }) => [t.tabName, t.state])).toEqual([
        ["db", "exited"],
        ["app", "exited"],
      ]);
      await sessions(["kill", "clk"]);
    }, 60_000);
  },
);

describe.skipIf(!existsSync(FAKETIME))(
  "a wall clock stepped back while wait and events --follow run (review H77-1)",
  () => {
    it("they end when the tabs end, not when the clock has caught up", async () => {
      const f = layouts("h77-1.json", [
        {
          layoutName: "back",
          layoutTabs: [
            { tabName: "x", command: "sleep 5; exit 0" },
            { tabName: "y", command: "sleep 6; exit 0" },
          ],
        },
      ]);
      const started = await runCli(["run", f, "--socket", sock], { env, cwd: dir });
      expect(started.code, started.stderr).toBe(0);
      // The two followers alone see the clock go back ten minutes, 2 s after they started: after their
      // first look at the tabs, before the tabs end.
      const stepped = {
        ...env,
        LD_PRELOAD: FAKETIME,
        FAKETIME: "-600s",
        FAKETIME_START_AFTER_SECONDS: "2",
        FAKETIME_DONT_FAKE_MONOTONIC: "1",
      };
      const began = performance.now();
      const [waited, followed] = await Promise.all([
        runCli(["wait", "back"], { env: stepped, cwd: dir, timeout: 30_000 }),
        runCli(["events", "back", "--follow"], { env: stepped, cwd: dir, timeout: 30_000 }),
      ]);
      // Before: both hung until the wall clock caught up (ten minutes).
      expect(waited.code, waited.stderr).toBe(0);
      expect(followed.code, followed.stderr).toBe(0);
      expect(followed.stdout).toMatch(/run-done/);
      expect(performance.now() - began).toBeLessThan(20_000);
      await sessions(["kill", "back"]);
    }, 60_000);
  },
);
