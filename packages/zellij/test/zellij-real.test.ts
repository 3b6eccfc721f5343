import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  type Command,
  checkName,
  type Host,
  isMcError,
  localHost,
  readTabLog,
  shQuote,
  TabConfigSchema,
} from "@mc/core";
import { runConformanceSuite } from "@mc/core/testing";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseTabRef, sessionNameProblem, ZellijBackend } from "../src/index.js";
import {
  findRealZellij,
  layout,
  processesMentioning,
  QUICK_SAVE,
  type RealZellij,
  realZellij,
  waitFor,
  zellijJson,
} from "./real-zellij.js";

const found = findRealZellij();
const real = "version" in found ? found : undefined;
if (!("version" in found)) console.warn(`[mc] zellij real-binary suites SKIPPED: ${found.reason}`);

/** Every process whose command line names `dir`, with its ids and state (evidence when a test fails). */
function processesOf(dir: string): string {
  const ps = spawnSync("ps", ["-eo", "pid,ppid,pgid,sid,stat,args"], { encoding: "utf8" }).stdout ?? "";
  return ps
    .split("\n")
    .filter((l, i) => i === 0 || l.includes(dir))
    .join("\n");
}

/** A private world per describe block; zellij's log is printed when one of its tests fails. */
function world(config = ""): () => RealZellij {
  let w: RealZellij | undefined;
  beforeAll(() => {
    w = realZellij(real!.path, real!.version, config);
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail" && w) console.error(`[mc] zellij log (${w.root}):\n${w.log()}`);
  });
  afterAll(() => w?.stop());
  return () => w!;
}

const payloadPieces = fc.constantFrom(
  "'",
  '"',
  "$",
  "`",
  ";",
  "&&",
  "|",
  "\\",
  "\n",
  "%",
  "#{",
  "}",
  "{",
  "$(",
  ")",
  "~",
  "*",
  "é",
  "😀",
  "\t",
  " ",
  "!",
  "<",
  ">",
  "\u0085",
  "\u2028",
  "\u001b[31m",
  "/*",
  "//",
  'r#"',
);
const payload = fc
  .array(fc.oneof(payloadPieces, fc.string({ unit: "grapheme", maxLength: 4 })), {
    minLength: 1,
    maxLength: 10,
  })
  .map((a) => a.join(""))
  .filter((s) => !s.includes("\0"));

const validName = (n: string) => {
  try {
    return checkName(n, "layoutName") === n;
  } catch {
    return false;
  }
};

describe.skipIf(!real)(`real zellij (${real?.version ?? "absent"})`, () => {
  describe("version and conformance", () => {
    const w = world();
    it("is a supported version, found where the harness looks", async () => {
      const b = new ZellijBackend(w().host);
      await b.checkAvailable();
      expect(b.q.version).toBeDefined();
      expect(b.capabilities.nativeExitStatus).toBe(true);
    });
  });

  describe("commands and names reach zellij as exact data", () => {
    const w = world();

    it("150 generated commands and tab names: each command writes back exactly its bytes", async () => {
      const z = w();
      const payloads = fc.sample(payload, { numRuns: 150, seed: 7 });
      // Tab names as a layouts file can hold them (core refuses blank names and control characters).
      const tabName = (p: string, i: number) => {
        const t = TabConfigSchema.safeParse({ tabName: p, startDir: "/", command: "x" });
        return t.success ? t.data.tabName : `tab ${i} ${p.replace(/[\p{Cc}\u2028\u2029\u0085]/gu, "?")}`;
      };
      const names = payloads.map(tabName);
      const out = (i: number) => join(z.work, `out-${i}`);
      const tabs = payloads.map((p, i): [string, string] => [
        names[i]!,
        `printf '%s' ${shQuote(p)} > ${shQuote(out(i))}`,
      ]);
      // Three sessions of 50 tabs, no tab bar (a plugin per tab is slow on two cores).
      const layouts = [0, 1, 2].map((k) => layout(`prop${k}`, tabs.slice(k * 50, k * 50 + 50), z.work));
      const m = z.manager({ sessionLayouts: layouts, exitMode: "keep", tabBar: false });
      await m.startAllSessions();
      const r = await waitFor(
        () => m.checkAllSessionsStatus(),
        (x) => x.summary.allFinished,
        90000,
      );
      expect(r.summary.totalCommands).toBe(150);
      const bad = payloads.filter((p, i) => !existsSync(out(i)) || readFileSync(out(i), "utf8") !== p);
      expect(bad).toEqual([]);
      expect(r.sessions.flatMap((s) => s.tabs).every((t) => t.state === "exited" && t.exitCode === 0)).toBe(
        true,
      );
      // zellij holds every tab name exactly as given (list-tabs --json).
      for (const [k, s] of r.sessions.entries()) {
        const listed = await zellijJson<{ name: string }[]>(
          z,
          "--session",
          s.session,
          "action",
          "list-tabs",
          "--json",
        );
        expect(listed.map((t) => t.name)).toEqual(names.slice(k * 50, k * 50 + 50));
      }
      await m.killAllSessions();
    }, 180_000);

    it("Ctrl-C reaches a tab's command: killed 130, the next line never runs (review H34-6: SIGINT and SIGQUIT were ignored)", async () => {
      const z = w();
      const ign = join(z.work, "sigign");
      const after = join(z.work, "after-ctrl-c");
      const cmd = `grep SigIgn /proc/self/status > ${shQuote(ign)}; sleep 30\necho after > ${shQuote(after)}`;
      const m = z.manager({ sessionLayouts: [layout("ctrlc", [["c", cmd]], z.work)], tabBar: false });
      await m.startAllSessions();
      await waitFor(
        async () => existsSync(ign),
        (x) => x,
      );
      // Bits 2 and 3 of the mask: SIGINT, SIGQUIT.
      const mask = BigInt(`0x${readFileSync(ign, "utf8").split(/\s+/)[1]}`);
      expect(mask & 6n).toBe(0n);
      const session = m.managed[0]!.name;
      const r = await waitFor(
        async () => {
          z.zellij("--session", session, "action", "write", "--pane-id", "terminal_0", "3");
          return m.checkAllSessionsStatus();
        },
        (x) => x.summary.allFinished,
      );
      expect(r.sessions[0]!.tabs.map((t) => [t.state, t.exitCode])).toEqual([["killed", 130]]);
      expect(existsSync(after)).toBe(false);
      await m.killAllSessions();
    });

    it("shell features work: pipes, &&, ;, env assignments, redirections", async () => {
      const z = w();
      const f = join(z.work, "features");
      const cmd = `FOO=bar sh -c 'echo $FOO' | tr a-z A-Z > ${f}; echo two >> ${f} && cat < ${f} | wc -l >> ${f}`;
      const m = z.manager({ sessionLayouts: [layout("feat", [["f", cmd]], z.work)] });
      await m.startAllSessions();
      await waitFor(
        () => m.checkAllSessionsStatus(),
        (x) => x.summary.allFinished,
      );
      expect(readFileSync(f, "utf8")).toBe("BAR\ntwo\n2\n");
      await m.killAllSessions();
    });

    it("the layout's and the tab's environment reach the command exactly; a failing tab is retried", async () => {
      const z = w();
      const out = join(z.work, "env-out");
      const tries = join(z.work, "tries");
      const m = z.manager({
        sessionLayouts: [
          {
            layoutName: "envs",
            env: { MC_A: "layout $HOME `x` 'q'", MC_B: "from layout" },
            layoutTabs: [
              {
                tabName: "e",
                startDir: z.work,
                command: `printf '%s|%s' "$MC_A" "$MC_B" > ${shQuote(out)}`,
                env: { MC_B: "tab\nline" },
              },
              {
                tabName: "r",
                startDir: z.work,
                command: `echo x >> ${shQuote(tries)}; [ $(wc -l < ${shQuote(tries)}) -ge 3 ]`,
                retry: { max: 2 },
              },
            ],
          },
        ],
        exitMode: "keep",
      });
      await m.startAllSessions();
      const r = await waitFor(
        () => m.checkAllSessionsStatus(),
        (x) => x.summary.allFinished,
      );
      expect(readFileSync(out, "utf8")).toBe("layout $HOME `x` 'q'|tab\nline");
      expect(r.sessions[0]!.tabs[1]).toMatchObject({ state: "exited", exitCode: 0 });
      expect(readFileSync(tries, "utf8")).toBe("x\nx\nx\n");
      await m.killAllSessions();
    });

    it("generated session names round-trip exactly, and no name or path is ever executed", async () => {
      const z = w();
      const marker = join(z.work, "pwned");
      const evil = fc.constantFrom(
        "$(touch pwned)",
        "`touch pwned`",
        ";touch pwned;",
        "'",
        '"',
        "$HOME",
        "${X:-y}",
        "#{session_id}",
        "{",
        "}",
        "&&",
        "|",
        "*",
        "~",
        " ",
        "é",
        "🚀",
        "options-",
        "[Created 1s ago]",
        "(EXITED - attach to resurrect)",
      );
      const names = [
        ...new Set(
          fc.sample(
            fc
              .array(fc.oneof(evil, fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 3 })), {
                minLength: 1,
                maxLength: 4,
              })
              .map((a) => a.join("").slice(0, 40)),
            { numRuns: 60, seed: 11 },
          ),
        ),
      ]
        .filter((n) => sessionNameProblem(n, 40) === undefined && validName(n))
        .slice(0, 12);
      expect(names.length).toBeGreaterThan(8);
      const dir = join(z.work, "d$(touch pwned)`touch pwned`;touch pwned;#{pane_id} 'q' ~ *");
      mkdirSync(dir);
      const m = z.manager({
        sessionLayouts: names.map((n, i) =>
          layout(n, [[n, `pwd > ${shQuote(join(z.work, `pwd-${i}`))}`]], dir),
        ),
        exitMode: "keep",
        tabBar: false,
      });
      const started = await m.startAllSessions();
      // A session's name spells a space as _, as machineconfig's ZellijLocalManager (review H31-1).
      const sessionNames = names.map((n) => n.replaceAll(" ", "_"));
      expect(started.map((s) => s.name)).toEqual(sessionNames);
      expect((await m.backend.listSessions()).map((s) => s.name)).toEqual(
        expect.arrayContaining(sessionNames),
      );
      const r = await waitFor(
        () => m.checkAllSessionsStatus(),
        (x) => x.summary.allFinished,
        60000,
      );
      expect(r.sessions.map((s) => [s.session, s.exists])).toEqual(sessionNames.map((n) => [n, true]));
      for (const i of names.keys()) expect(readFileSync(join(z.work, `pwd-${i}`), "utf8").trim()).toBe(dir);
      await m.killAllSessions();
      expect(z.sessions().filter((s) => sessionNames.includes(s))).toEqual([]);
      expect(existsSync(marker)).toBe(false);
      expect(processesMentioning("pwned")).toEqual([]);
      const found = execFileSync(
        "sh",
        ["-c", 'find "$1" /tmp "$HOME" -maxdepth 3 -name pwned 2>/dev/null; true', "find", z.root],
        {
          encoding: "utf8",
        },
      );
      expect(found).toBe("");
    }, 120_000);
  });

  describe("exit codes: the wrapper's records, cross-checked with list-panes exit_status", () => {
    const w = world();

    it("keep mode: 0, 3, 130, a SIGKILLed wrapper, and zellij's exit_status agrees with every record", async () => {
      const z = w();
      const m = z.manager({
        sessionLayouts: [
          layout(
            "codes",
            [
              ["zero", "exit 0"],
              ["three", "exit 3"],
              ["int", "exit 130"],
              ["victim", "sleep 60"],
            ],
            z.work,
          ),
        ],
        exitMode: "keep",
      });
      await m.startAllSessions();
      const running = await waitFor(
        () => m.checkAllSessionsStatus(),
        (x) => x.sessions[0]!.tabs[3]!.state === "running" && x.sessions[0]!.tabs[3]!.pid !== undefined,
      );
      process.kill(running.sessions[0]!.tabs[3]!.pid!, "SIGKILL");
      const r = await waitFor(
        () => m.checkAllSessionsStatus(),
        (x) => x.summary.allFinished,
      );
      expect(r.sessions[0]!.tabs.map((t) => [t.tabName, t.state, t.exitCode, t.signal])).toEqual([
        ["zero", "exited", 0, undefined],
        ["three", "exited", 3, undefined],
        ["int", "killed", 130, "SIGINT"],
        // The wrapper's death hung up its terminal: the command got SIGHUP, and its recorder said so.
        ["victim", "killed", undefined, "SIGHUP"],
      ]);
      const panes = await zellijJson<
        { is_plugin: boolean; tab_name: string; exit_status: number | null; exited: boolean }[]
      >(z, "--session", "codes", "action", "list-panes", "--json");
      const status = Object.fromEntries(
        panes.filter((p) => !p.is_plugin).map((p) => [p.tab_name, p.exit_status]),
      );
      // A pane whose output is logged runs its wrapper under script(1), which reports a SIGKILLed child as
      // 137; without it the pane's own process is the one killed, and zellij has no status for it.
      const logged = /util-linux/.test(spawnSync("script", ["--version"], { encoding: "utf8" }).stdout ?? "");
      expect(status).toEqual({ zero: 0, three: 3, int: 130, victim: logged ? 137 : null });
      await m.killAllSessions();
    });

    it("shell mode: the command's end is seen while the shell stays, and kill-session hangs up a running one", async () => {
      const z = w();
      const m = z.manager({
        sessionLayouts: [
          layout(
            "kept",
            [
              ["done", "exit 4"],
              ["long", "sleep 60"],
            ],
            z.work,
          ),
        ],
      });
      await m.startAllSessions();
      const r = await waitFor(
        () => m.checkAllSessionsStatus(),
        (x) => x.sessions[0]!.tabs[0]!.state === "exited",
      );
      expect(r.sessions[0]!.tabs.map((t) => [t.state, t.exitCode])).toEqual([
        ["exited", 4],
        ["running", undefined],
      ]);
      const runDir = m.managed[0]!.runDir;
      z.zellij("kill-session", "kept");
      const rec = await waitFor(
        async () =>
          JSON.parse((await z.host.readFile(join(runDir, "tab-1.json"))) ?? "{}") as { signal?: string },
        (x) => x.signal !== undefined,
      );
      expect(rec.signal).toBe("HUP");
      await m.killAllSessions();
    });
  });

  describe("logs (util-linux script(1) in each pane)", () => {
    const w = world();
    const hasScript = /util-linux/.test(
      spawnSync("script", ["--version"], { encoding: "utf8" }).stdout ?? "",
    );

    it.skipIf(!hasScript)(
      "each tab's output is logged as printed, the tab still has a terminal, and the log outlives a kill-session",
      async () => {
        const z = w();
        const m = z.manager({
          sessionLayouts: [
            layout(
              "logged",
              [
                ["out", "printf 'one\\n\\033[31mred\\033[0m\\n'; printf 'Script done on x\\n'; sleep 60"],
                ["tty", "[ -t 0 ] && [ -t 1 ] && echo has-a-terminal; stty size; exit 5"],
              ],
              z.work,
            ),
          ],
        });
        await m.startAllSessions();
        const runDir = m.managed[0]!.runDir;
        const log = (i: number) => readTabLog(z.host, runDir, i);
        const r = await waitFor(
          () => m.checkAllSessionsStatus(),
          (x) => x.sessions[0]!.tabs[1]!.state === "exited",
        );
        expect(r.sessions[0]!.tabs[1]!.exitCode).toBe(5);
        const tty = await waitFor(
          () => log(1),
          (t) => t.includes("has-a-terminal"),
        );
        expect(tty).toMatch(/^has-a-terminal\r\n\d+ \d+\r\n/);
        const out = await waitFor(
          () => log(0),
          (t) => t.includes("Script done on x"),
        );
        // Exactly what the command printed (a terminal's \r\n, colours kept), nothing of script(1)'s own.
        expect(out).toBe("one\r\n\u001b[31mred\u001b[0m\r\nScript done on x\r\n");
        z.zellij("kill-session", "logged");
        const rec = await waitFor(
          async () =>
            JSON.parse((await z.host.readFile(join(runDir, "tab-0.json"))) ?? "{}") as { signal?: string },
          (x) => x.signal !== undefined,
        );
        if (rec.signal !== "HUP") console.error("[mc] tab-0 record", rec, processesOf(runDir));
        expect(rec.signal).toBe("HUP");
        // Nothing of the tab is left running (the launcher and the log writer end a moment after the
        // record is written), and its log is still there.
        const left = await waitFor(
          async () => spawnSync("pgrep", ["-f", runDir], { encoding: "utf8" }).stdout.trim(),
          (l) => l === "",
          10_000,
        );
        if (left !== "") console.error("[mc] left running", processesOf(runDir));
        expect(left).toBe("");
        // (The shell may add what the hang-up did, "Hangup", as it would on the screen.)
        expect((await log(0)).startsWith(out)).toBe(true);
        await m.killAllSessions();
      },
    );
  });

  describe("panes that end before zellij lays their tab out", () => {
    const w = world();

    it("still end in zellij's own view, each with its exit status (0.45 lost the exit otherwise)", async () => {
      const z = w();
      // Quick commands in tabs of many panes: zellij spawns every pane of a tab before it applies the
      // tab's layout, so without mc's wait the first panes end before that and zellij keeps them
      // "running" with no exit status (and would not close them).
      const tabs = [0, 1].map((t) => ({
        tabName: `q${t}`,
        startDir: z.work,
        command: `exit ${t * 10 + 1}`,
        panes: Array.from({ length: 7 }, (_, p) => ({ command: `exit ${t * 10 + p + 2}` })),
      }));
      const m = z.manager({ sessionLayouts: [{ layoutName: "quick", layoutTabs: tabs }], exitMode: "keep" });
      await m.startAllSessions();
      await waitFor(
        () => m.checkAllSessionsStatus(),
        (x) => x.summary.allFinished,
      );
      const listed = async () =>
        (
          await zellijJson<{ is_plugin: boolean; tab_name: string; exit_status: number | null }[]>(
            z,
            "--session",
            "quick",
            "action",
            "list-panes",
            "--json",
          )
        ).filter((p) => !p.is_plugin);
      const panes = await waitFor(
        listed,
        (ps) => ps.length === 16 && ps.every((p) => typeof p.exit_status === "number"),
        20_000,
      );
      const seen = panes.map((p) => `${p.tab_name}:${p.exit_status}`).sort();
      const want = [0, 1].flatMap((t) => Array.from({ length: 8 }, (_, p) => `q${t}:${t * 10 + p + 1}`));
      expect(seen).toEqual(want.sort());
      await m.killAllSessions();
    });
  });

  describe("--exit close", () => {
    const w = world();

    it("closes each tab when its command ends, and kill leaves nothing behind", async () => {
      const z = w();
      const m = z.manager({
        sessionLayouts: [
          layout(
            "cl",
            [
              ["quick", "exit 3"],
              ["slow", "sleep 1"],
            ],
            z.work,
          ),
        ],
        exitMode: "close",
      });
      await m.startAllSessions();
      const r = await waitFor(
        () => m.checkAllSessionsStatus(),
        (x) => x.summary.allFinished,
      );
      expect(r.sessions[0]!.tabs.map((t) => [t.state, t.exitCode])).toEqual([
        ["exited", 3],
        ["exited", 0],
      ]);
      // zellij 0.45 keeps the last tab open while a plugin pane (zellij:link, the tab bar) is in it: the
      // session can outlive its commands, holding plugin panes only. It is still mc's to kill.
      await m.killAllSessions();
      expect(z.sessions()).not.toContain("cl");
    });
  });

  describe("a configuration named by ZELLIJ_CONFIG_FILE, with no configuration directory", () => {
    const w = world();

    it("still starts mc's layout (zellij 0.45 silently starts its default one when it finds no directory)", async () => {
      const z = w();
      const dots = join(z.root, "dots");
      mkdirSync(dots);
      writeFileSync(join(dots, "zellij.kdl"), "show_release_notes false\nshow_startup_tips false\n");
      // No ~/.config/zellij (the harness makes one), and the configuration is a file elsewhere.
      rmSync(join(z.env.HOME!, ".config"), { recursive: true, force: true });
      const env = { ...z.env, ZELLIJ_CONFIG_FILE: join(dots, "zellij.kdl") };
      const m = z.manager({
        sessionLayouts: [layout("cfgfile", [["t", "sleep 30"]], z.work)],
        host: localHost({ env, stateDir: z.stateDir }),
      });
      await m.startAllSessions();
      const st = await m.checkAllSessionsStatus();
      expect(st.sessions[0]!.tabs.map((t) => [t.tabName, t.state])).toEqual([["t", "running"]]);
      await m.killAllSessions();
      expect(z.sessions()).not.toContain("cfgfile");
    });
  });

  describe("EXITED sessions and ownership (serialization_interval 1)", () => {
    const w = world(QUICK_SAVE);

    /** Wait until zellij has saved a session's layout (it becomes EXITED when killed). */
    const saved = (z: RealZellij, name: string) => {
      const r = z.zellij("--session", name, "action", "save-session");
      expect(r.code).toBe(0);
    };

    it("mc's own EXITED session does not hold its name: a plain run deletes it and starts fresh (review H13-2)", async () => {
      const z = w();
      const first = z.manager({ sessionLayouts: [layout("x", [["old", "sleep 60"]], z.work)] });
      await first.startAllSessions();
      saved(z, "x");
      z.zellij("kill-session", "x");
      const listed = await waitFor(
        () => first.backend.listSessions(),
        (l) => l.some((s) => s.name === "x" && s.exited),
      );
      expect(listed.find((s) => s.name === "x")).toEqual({ name: "x", exited: true, runId: first.runId });
      // A status in between (it used to drop the run's proof of ownership).
      expect((await first.checkAllSessionsStatus()).sessions[0]!.exists).toBe(false);
      const again = z.manager({ sessionLayouts: [layout("x", [["new", "exit 5"]], z.work)] });
      expect((await again.startAllSessions({ onConflict: "error" }))[0]).toMatchObject({ name: "x" });
      // A fresh session ran the new layout (a resurrection would have brought back "old", suspended).
      const r = await waitFor(
        () => again.checkAllSessionsStatus(),
        (s) => s.sessions[0]!.tabs[0]!.state === "exited",
      );
      expect(r.sessions[0]!.tabs[0]).toMatchObject({ tabName: "new", state: "exited", exitCode: 5 });
      await again.killAllSessions();
      expect(z.sessions()).not.toContain("x");
    });

    it("a session the user resurrects from mc's EXITED entry is theirs, even after a status saw mc's end (review H13-3)", async () => {
      const z = w();
      const m = z.manager({ sessionLayouts: [layout("res", [["t", "sleep 60"]], z.work)] });
      await m.startAllSessions();
      const id = await m.save();
      saved(z, "res");
      z.zellij("kill-session", "res");
      await waitFor(
        async () => z.zellij("list-sessions", "--no-formatting").stdout,
        (s) => /^res .*EXITED/m.test(s),
      );
      expect((await m.checkAllSessionsStatus()).sessions[0]!.exists).toBe(false);
      // The user resurrects it: a new server of theirs, with mc's pane names.
      expect(z.zellij("attach", "--create-background", "res").code).toBe(0);
      await waitFor(
        async () => z.zellij("--session", "res", "action", "list-panes", "--json").stdout,
        (s) => s.includes(`(mc run ${m.runId})`),
      );
      const again = z.manager({ sessionLayouts: [] });
      await again.load(id);
      expect((await again.checkAllSessionsStatus()).sessions[0]!.exists).toBe(false);
      expect((await again.backend.listSessions()).find((s) => s.name === "res")).toEqual({ name: "res" });
      expect(await again.killAllSessions()).toMatchObject([{ name: "res", outcome: "gone" }]);
      expect(z.sessions()).toContain("res");
      z.zellij("kill-session", "res");
      z.zellij("delete-session", "res");
    });

    it("a shell with another zellij socket directory neither calls mc's session gone nor kills its tabs (review H13-5)", async () => {
      const z = w();
      const m = z.manager({ sessionLayouts: [layout("sd", [["t", "sleep 60"]], z.work)] });
      await m.startAllSessions();
      const id = await m.save();
      const otherDir = join(z.root, "zsock-other");
      mkdirSync(otherDir, { recursive: true });
      const there = z.manager({
        sessionLayouts: [],
        host: localHost({ env: { ...z.env, ZELLIJ_SOCKET_DIR: otherDir }, stateDir: z.stateDir }),
      });
      await there.load(id);
      const st = await there.checkAllSessionsStatus();
      expect(st.sessions[0]!.exists).toBe(true);
      expect(JSON.stringify(st.sessions[0])).toContain("ZELLIJ_SOCKET_DIR=");
      const k = await there.killAllSessions();
      expect(k[0]).toMatchObject({ name: "sd", ok: false });
      expect(String(k[0]!.error)).toContain("socket directory");
      // Untouched: still mc's, still running, where it was started.
      const back = await m.checkAllSessionsStatus();
      expect(back.sessions[0]!.tabs[0]!.state).toBe("running");
      await m.killAllSessions();
      expect(z.sessions()).not.toContain("sd");
    });

    it("another state directory's session is not this one's to restart (review H13-6)", async () => {
      const z = w();
      const m = z.manager({ sessionLayouts: [layout("st", [["t", "sleep 60"]], z.work)] });
      await m.startAllSessions();
      const otherState = join(z.root, "state-other");
      const other = z.manager({
        sessionLayouts: [layout("st", [["t", "true"]], z.work)],
        host: localHost({ env: z.env, stateDir: otherState }),
      });
      const err = await other.startAllSessions({ onConflict: "restart" }).catch((e: unknown) => e);
      expect(isMcError(err, "SESSION_CONFLICT")).toBe(true);
      expect(String((err as Error).message)).toContain("not started by mc");
      expect((await m.checkAllSessionsStatus()).sessions[0]!.tabs[0]!.state).toBe("running");
      await m.killAllSessions();
    });

    it("--exit close: the session mc ends leaves no EXITED entry; the next run starts (review H13-1)", async () => {
      const z = w();
      const mk = () =>
        z.manager({ sessionLayouts: [layout("ec", [["a", "sleep 2"]], z.work)], exitMode: "close" });
      const m = mk();
      await m.startAllSessions();
      saved(z, "ec");
      const r = await waitFor(
        () => m.checkAllSessionsStatus(),
        (x) => x.summary.allFinished,
      );
      expect(r.sessions[0]!.tabs.map((t) => [t.state, t.exitCode])).toEqual([["exited", 0]]);
      await waitFor(
        async () => z.zellij("list-sessions", "--no-formatting").stdout,
        (s) => !/^ec /m.test(s),
      );
      const again = mk();
      expect((await again.startAllSessions({ onConflict: "error" }))[0]).toMatchObject({ name: "ec" });
      await again.killAllSessions();
    });

    it("a same-named session the user made after mc's ended is never killed or deleted by mc", async () => {
      const z = w();
      const m = z.manager({ sessionLayouts: [layout("mine", [["t", "sleep 60"]], z.work)] });
      await m.startAllSessions();
      // Two saved copies of the run: a kill that finds nothing of mc's forgets the session from its copy.
      const id = await m.save();
      const copy = await m.save(`${id}-copy`);
      z.zellij("kill-session", "mine");
      await waitFor(
        async () => z.sessions(),
        (s) => !s.includes("mine"),
      );
      // The user's own session of that name, live…
      expect(z.zellij("attach", "--create-background", "mine").code).toBe(0);
      const again = z.manager({ sessionLayouts: [] });
      await again.load(id);
      expect((await again.checkAllSessionsStatus()).sessions[0]!.exists).toBe(false);
      expect(await again.killAllSessions()).toMatchObject([{ name: "mine", outcome: "gone" }]);
      expect(z.sessions()).toContain("mine");
      // …and EXITED (saved, then killed): its resurrection data survives mc's kill and restart.
      saved(z, "mine");
      z.zellij("kill-session", "mine");
      await waitFor(
        async () => z.zellij("list-sessions", "--no-formatting").stdout,
        (s) => /^mine .*EXITED/m.test(s),
      );
      const third = z.manager({ sessionLayouts: [] });
      await third.load(copy);
      expect(await third.killAllSessions()).toMatchObject([{ name: "mine", outcome: "gone" }]);
      const restart = z.manager({ sessionLayouts: [layout("mine", [["t", "true"]], z.work)] });
      const err = await restart.startAllSessions({ onConflict: "restart" }).catch((e: unknown) => e);
      expect(isMcError(err, "SESSION_CONFLICT")).toBe(true);
      expect(String((err as Error).message)).toContain("not started by mc");
      expect(z.zellij("list-sessions", "--no-formatting").stdout).toMatch(/^mine .*EXITED/m);
      z.zellij("delete-session", "mine");
    });

    it("a session mc did not start named -zdash, --zz or help is listed, read, attached, and never killed by mc (review H66-5)", async () => {
      const z = w();
      // zellij makes such names itself (`attach --create-background -- NAME`); clap read a bare `-zdash`
      // after `attach` or `--session` as a flag.
      const names = ["-zdash", "--zz", "help"];
      for (const n of names) expect(z.zellij("attach", "--create-background", "--", n).code, z.log()).toBe(0);
      await waitFor(
        async () => z.sessions(),
        (s) => names.every((n) => s.includes(n)),
      );
      const b = new ZellijBackend(z.host);
      await b.checkAvailable();
      const listed = await b.listSessions();
      try {
        for (const n of names) {
          expect(listed.find((s) => s.name === n)).toEqual({ name: n });
          expect(await b.q.dumpLayout(n), n).toMatch(/\blayout\b/);
          expect(Array.isArray(await b.q.panesOf(n)), n).toBe(true);
          // The attach command, run in a terminal (script(1)), is a client of that very session.
          const cmd = b.attachCommand(n, {});
          const client = spawn(
            "script",
            ["-qfec", [cmd.file, ...cmd.args].map(shQuote).join(" "), "/dev/null"],
            {
              env: { ...z.env, TERM: "xterm" },
              stdio: ["pipe", "ignore", "ignore"],
            },
          );
          try {
            const clients = await waitFor(
              async () => z.zellij(`--session=${n}`, "action", "list-clients").stdout,
              (out) => /^\d+\s/m.test(out),
              20_000,
            );
            expect(clients, `${n}: ${cmd.args.join(" ")}`).toMatch(/^\d+\s/m);
          } finally {
            client.kill("SIGKILL");
          }
        }
        // mc's own run, started and killed beside them, leaves them.
        const m = z.manager({ sessionLayouts: [layout("h665", [["t", "sleep 60"]], z.work)] });
        await m.startAllSessions();
        expect(await m.killAllSessions()).toMatchObject([{ name: "h665", outcome: "killed" }]);
        expect(z.sessions()).toEqual(expect.arrayContaining(names));
        // The picker's confirmed "kill ALL" (kill without a managed session) ends exactly the one named.
        expect(await b.kill("--zz")).toBe("killed");
        const left = z.sessions();
        expect(left).toEqual(expect.arrayContaining(["-zdash", "help"]));
        expect(left).not.toContain("--zz");
      } finally {
        for (const n of names) {
          z.zellij("kill-session", "--", n);
          z.zellij("delete-session", "--force", "--", n);
        }
      }
    });

    it("rename-session keeps its server's command line: a new session of the old name is never mc's, and the name is free (reviews H30-2, H30-3, H30-6)", async () => {
      const z = w();
      // The user's own session, renamed away from a name mc then starts a session under (H30-6).
      expect(z.zellij("attach", "--create-background", "rn").code).toBe(0);
      expect(z.zellij("--session", "rn", "action", "rename-session", "theirs").code).toBe(0);
      const m = z.manager({ sessionLayouts: [layout("rn", [["t", "sleep 60"]], z.work)] });
      await m.startAllSessions();
      expect((await m.checkAllSessionsStatus()).sessions[0]!.exists).toBe(true);
      const id = await m.save();
      // mc's session renamed by the user: the old name is gone, not "did not answer" (H30-3)…
      expect(z.zellij("--session", "rn", "action", "rename-session", "rn_old").code).toBe(0);
      const after = z.manager({ sessionLayouts: [] });
      await after.load(id);
      const st = (await after.checkAllSessionsStatus()).sessions[0]!;
      expect(st.exists).toBe(false);
      expect(st.error).toBeUndefined();
      // …and a new session of the user's under that name is not mc's: neither killed nor replaced (H30-2).
      expect(z.zellij("attach", "--create-background", "rn").code).toBe(0);
      const restart = z.manager({ sessionLayouts: [layout("rn", [["t", "true"]], z.work)] });
      const err = await restart.startAllSessions({ onConflict: "restart" }).catch((e: unknown) => e);
      expect(isMcError(err, "SESSION_CONFLICT")).toBe(true);
      const again = z.manager({ sessionLayouts: [] });
      await again.load(id);
      await again.killAllSessions();
      expect(z.sessions()).toEqual(expect.arrayContaining(["rn", "rn_old", "theirs"]));
      // Killed, then deleted: an EXITED entry left here shows in the listings later tests read.
      for (const n of ["rn", "rn_old", "theirs"]) {
        z.zellij("kill-session", n);
        z.zellij("delete-session", "--force", n);
      }
    }, 120_000);

    it("a user's session whose pane copies mc's name marker is not mc's: its server is not the one mc started", async () => {
      const z = w();
      const m = z.manager({ sessionLayouts: [layout("cp", [["a", "sleep 60"]], z.work)] });
      await m.startAllSessions();
      expect((await m.backend.listSessions()).find((s) => s.name === "cp")?.runId).toBe(m.runId);
      const id = await m.save();
      z.zellij("kill-session", "cp");
      z.zellij("delete-session", "cp");
      await waitFor(
        async () => z.sessions(),
        (s) => !s.includes("cp"),
      );
      // The run id is public (sessions ls): a session of the user's whose pane carries mc's marker.
      const kdl = join(z.work, "copy.kdl");
      writeFileSync(
        kdl,
        `layout {\n tab name="a" {\n  pane command="sleep" name="a (mc run ${m.runId})" { args "300"; }\n }\n}\n`,
      );
      expect(z.zellij("attach", "--create-background", "cp", "options", "--default-layout", kdl).code).toBe(
        0,
      );
      await waitFor(
        async () => z.zellij("--session", "cp", "action", "list-panes", "--json").stdout,
        (s) => s.includes(`(mc run ${m.runId})`),
      );
      const again = z.manager({ sessionLayouts: [] });
      await again.load(id);
      expect((await again.checkAllSessionsStatus()).sessions[0]!.exists).toBe(false);
      expect((await again.backend.listSessions()).find((s) => s.name === "cp")).toEqual({ name: "cp" });
      expect(await again.killAllSessions()).toMatchObject([{ name: "cp", outcome: "gone" }]);
      expect(z.sessions()).toContain("cp");
      const restart = z.manager({ sessionLayouts: [layout("cp", [["a", "true"]], z.work)] });
      const err = await restart.startAllSessions({ onConflict: "restart" }).catch((e: unknown) => e);
      expect(String((err as Error).message)).toContain("not started by mc");
      expect(z.sessions()).toContain("cp");
      z.zellij("kill-session", "cp");
    });

    it("a name taken between planning and start is a conflict (zellij: Session already exists)", async () => {
      const z = w();
      const serverOf = () =>
        processesMentioning(`--server ${z.env.ZELLIJ_SOCKET_DIR}/contract_version_1/race`);
      let theirs: number[] = [];
      const sneaky: Host = {
        ...z.host,
        run: async (cmd: Command, o) => {
          if (cmd.args.includes("--create-background") && cmd.args.at(-1) === "race") {
            z.zellij("attach", "--create-background", "race");
            await waitFor(
              async () => z.sessions(),
              (l) => l.includes("race"),
            );
            theirs = serverOf();
          }
          return z.host.run(cmd, o);
        },
      };
      const m = z.manager({ sessionLayouts: [layout("race", [["t", "sleep 60"]], z.work)], host: sneaky });
      const err = await m.startAllSessions().catch((e: unknown) => e);
      const servers = serverOf();
      if (!(err instanceof Error) && servers.some((p) => !theirs.includes(p))) {
        // zellij 0.45's own race: its probe of the live "race" got no answer, so attach started a second
        // server on the same socket (the first one may have gone with it). Nothing mc can refuse.
        console.warn(
          `[mc] zellij started a server of its own for a live name (its probe missed theirs): theirs ${theirs}, now ${servers}`,
        );
        await m.killAllSessions();
        z.zellij("kill-session", "race");
        return;
      }
      const seen = `${err instanceof Error ? err.message : JSON.stringify(err)}; their server ${theirs}, now ${servers}`;
      if (!(err instanceof Error)) {
        // zellij's other race (once in CI): both clients reached the one server while it started, and it
        // laid out mc's layout, not theirs. Then the session holds mc's panes only: mc started it. What
        // must never pass is mc's tabs opened beside panes of theirs (mc now refuses and closes its own).
        const panes = await zellijJson<{ is_plugin: boolean; terminal_command?: string | null }[]>(
          z,
          "--session",
          "race",
          "action",
          "list-panes",
          "--json",
        ).catch((e: unknown) => {
          // zellij's race can also leave the session answering nothing (seen once, 20 s without JSON):
          // then nobody can see whose panes it holds; said, and the sessions removed.
          console.warn(`[mc] after zellij's start race the session does not answer: ${(e as Error).message}`);
          return undefined;
        });
        if (panes === undefined) {
          await m.killAllSessions().catch(() => {});
          z.zellij("kill-session", "race");
          return;
        }
        const terms = panes.filter((x) => !x.is_plugin);
        expect(terms.length, seen).toBeGreaterThan(0);
        expect(
          terms.filter((x) => !String(x.terminal_command ?? "").includes("tabs.sh")),
          seen,
        ).toEqual([]);
        console.warn(`[mc] zellij gave the starting server mc's layout (both clients reached it): ${seen}`);
        await m.killAllSessions();
        z.zellij("kill-session", "race");
        return;
      }
      expect(isMcError(err, "START_FAILED"), seen).toBe(true);
      expect(isMcError((err as Error).cause, "SESSION_CONFLICT"), seen).toBe(true);
      // zellij refuses ("Session already exists"), or its probe misses the live session and the start goes
      // nowhere mc can see; either way mc says the name is taken and leaves their session alone.
      // (Both of zellij's wordings: `Session already exists` and `Session with name "race" already exists`.)
      expect(String((err as Error).message)).toMatch(
        /Session (with name ".*" )?already exists|taken just before mc's start/,
      );
      expect(z.sessions()).toContain("race");
      z.zellij("kill-session", "race");
    });

    it("mc's tabs opened inside someone's session that took the name: refused, mc's tabs closed, theirs kept", async () => {
      const z = w();
      const sneaky: Host = {
        ...z.host,
        run: async (cmd: Command, o) => {
          if (cmd.args.includes("--create-background") && cmd.args.at(-1) === "inside") {
            // Theirs first; then zellij "opens mc's layout in it" (what its missed probe can do).
            z.zellij("attach", "--create-background", "inside");
            await waitFor(
              async () => z.sessions(),
              (l) => l.includes("inside"),
            );
            const layoutPath = cmd.args[cmd.args.indexOf("attach") - 1]!;
            z.zellij("--session", "inside", "action", "new-tab", "--layout", layoutPath);
            // mc's tab runs there (its record is written) before mc looks.
            await waitFor(
              async () => existsSync(join(dirname(layoutPath), "tab-0.json")),
              (x) => x,
            );
            return { exitCode: 0, stdout: "", stderr: "", timedOut: false, durationMs: 0 };
          }
          return z.host.run(cmd, o);
        },
      };
      const m = z.manager({ sessionLayouts: [layout("inside", [["t", "sleep 60"]], z.work)], host: sneaky });
      const err = await m.startAllSessions().catch((e: unknown) => e);
      expect(isMcError(err, "START_FAILED"), String(err)).toBe(true);
      expect(isMcError((err as Error).cause, "SESSION_CONFLICT"), String(err)).toBe(true);
      expect(String((err as Error).message)).toMatch(
        /zellij opened mc's tabs in it|zellij did not refuse the name/,
      );
      // Their session stays, with their pane; mc's tab was closed there.
      expect(z.sessions()).toContain("inside");
      const panes = await waitFor(
        () =>
          zellijJson<{ is_plugin: boolean; terminal_command?: string | null }[]>(
            z,
            "--session",
            "inside",
            "action",
            "list-panes",
            "--json",
          ),
        (ps) => !ps.some((x) => String(x.terminal_command ?? "").includes("tabs.sh")),
      );
      const terms = panes.filter((x) => !x.is_plugin);
      expect(terms.length).toBeGreaterThan(0);
      expect(terms.filter((x) => String(x.terminal_command ?? "").includes("tabs.sh"))).toEqual([]);
      // Nothing of it is recorded as mc's: a kill of everything mc has leaves it.
      await m.killAllSessions();
      expect(z.sessions()).toContain("inside");
      z.zellij("kill-session", "inside");
    });

    it("an EXITED session that appears just before start is never silently resurrected as mc's", async () => {
      const z = w();
      const sneaky: Host = {
        ...z.host,
        run: async (cmd: Command, o) => {
          if (cmd.args.includes("--create-background") && cmd.args.at(-1) === "ghost") {
            const other = join(z.work, "other.kdl");
            const { writeFileSync } = await import("node:fs");
            writeFileSync(
              other,
              'layout {\n  tab name="theirs" {\n    pane command="sleep" {\n      args "600"\n    }\n  }\n}\n',
            );
            z.zellij("--new-session-with-layout", other, "attach", "--create-background", "ghost");
            saved(z, "ghost");
            z.zellij("kill-session", "ghost");
            await waitFor(
              async () => z.zellij("list-sessions", "--no-formatting").stdout,
              (s) => /^ghost .*EXITED/m.test(s),
              60_000,
            );
          }
          return z.host.run(cmd, o);
        },
      };
      // The product's own wait, so a start that never sees panes fails with its message, not the test's timeout.
      const m = z.manager({
        sessionLayouts: [layout("ghost", [["mine", "sleep 60"]], z.work)],
        host: sneaky,
        // 40 s: a resurrection under the full suite's load can take its time to list its panes.
        appearTimeoutMs: 40_000,
      });
      const err = await m.startAllSessions().catch((e: unknown) => e);
      const cause = (err as Error).cause as Error | undefined;
      expect(
        isMcError(cause, "SESSION_CONFLICT"),
        `${String(err)} ← ${String(cause)} ${JSON.stringify(cause)}`,
      ).toBe(true);
      // Resurrected and caught, or (a loaded machine, its killed server not yet gone) refused by zellij
      // itself as existing: either way a conflict, never mc's layout in their session.
      expect(String((err as Error).message)).toMatch(/resurrected|EXITED|Session already exists/);
      // Their session is EXITED again, its saved layout intact.
      // zellij saves and lists the killed session late on a loaded machine (15 s were not enough).
      const ls = await waitFor(
        async () => z.zellij("list-sessions", "--no-formatting").stdout,
        (s) => /^ghost .*EXITED/m.test(s),
        60_000,
      );
      expect(ls).toMatch(/^ghost .*EXITED/m);
      z.zellij("delete-session", "ghost");
    }, 150_000);
  });

  describe("tabs held back and closed (--max-parallel-tabs, --kill-finished-tabs)", () => {
    const w = world();

    it("starts only the first tabs; the others start on demand, and a tab closes by its ref", async () => {
      const z = w();
      const m = z.manager({
        sessionLayouts: [
          layout(
            "dyn",
            [
              ["a", "exit 0"],
              ["b", "sleep 60"],
              ["c", "exit 5"],
            ],
            z.work,
          ),
        ],
      });
      await m.startAllSessions({ initialTabs: 1 });
      let r = await waitFor(
        () => m.checkAllSessionsStatus(),
        (x) => x.sessions[0]!.tabs[0]!.state === "exited",
      );
      expect(r.sessions[0]!.tabs.map((t) => t.state)).toEqual(["exited", "not-started", "not-started"]);
      await m.startTab("dyn", 2);
      r = await waitFor(
        () => m.checkAllSessionsStatus(),
        (x) => x.sessions[0]!.tabs[2]!.state === "exited",
      );
      expect(r.sessions[0]!.tabs[2]).toMatchObject({ tabName: "c", state: "exited", exitCode: 5 });
      expect(r.sessions[0]!.tabs[1]!.state).toBe("not-started");
      await m.closeTab(r.sessions[0]!.tabs[0]!.ref!);
      const names = await waitFor(
        async () => z.zellij("--session", "dyn", "action", "query-tab-names").stdout.trim().split("\n"),
        (n) => n.length === 2,
      );
      expect(names).toEqual(["b", "c"]);
      await m.killAllSessions();
    });

    it("one at a time: a tab not ready in time is closed before the next opens, though it is the only open tab, since the waiting tab holds the session (review HR84-2)", async () => {
      const { schedule } = await import("@mc/core");
      const z = w();
      const log = join(z.work, "hr842.log");
      const m = z.manager({
        sessionLayouts: [
          {
            layoutName: "deafz",
            layoutTabs: [
              {
                tabName: "deaf",
                startDir: z.work,
                // Ignores the hang-up: only the close's TERM ends it.
                command: `trap '' HUP; while :; do echo "alive $(date +%s.%N)" >> ${log}; sleep 0.05; done`,
                readiness: { file: "never.ready", timeoutSeconds: 0.5 },
              },
              { tabName: "next", startDir: z.work, command: `echo "next $(date +%s.%N)" >> ${log}` },
            ],
          },
        ],
      });
      await m.startAllSessions({ initialTabs: 1 });
      await schedule(m, { pollMs: 100, maxParallel: 1, untilDone: true });
      const lines = readFileSync(log, "utf8").trim().split("\n");
      const next = Number(lines.find((l) => l.startsWith("next "))!.split(" ")[1]);
      const lastAlive = Math.max(
        ...lines.filter((l) => l.startsWith("alive ")).map((l) => Number(l.split(" ")[1])),
      );
      expect(lastAlive).toBeLessThan(next);
      const r = await m.checkAllSessionsStatus({ processes: false });
      expect(r.sessions[0]!.tabs.map((x) => [x.tabName, x.state])).toEqual([
        ["deaf", "killed"],
        ["next", "exited"],
      ]);
      await m.killAllSessions();
    });

    it("a command that ignores the hang-up runs on after its pane is closed: running with its pids, not killed SIGHUP, until it ends (review H64-1)", async () => {
      const z = w();
      const m = z.manager({
        sessionLayouts: [
          layout(
            "hup",
            [
              ["a", "sleep 60"],
              // The tab's own shell dies of the hang-up (its end is recorded at once); what it started
              // ignores it and runs on.
              ["b", `sh -c "trap '' HUP; sleep 33"; echo never`],
            ],
            z.work,
          ),
        ],
      });
      await m.startAllSessions();
      const up = await waitFor(
        () => m.checkAllSessionsStatus(),
        (x) => x.sessions[0]!.tabs.every((t) => t.state === "running" && t.ref !== undefined),
      );
      // As the user closes it (zellij's own close-pane hangs up the pane's terminal).
      const pane = parseTabRef(up.sessions[0]!.tabs[1]!.ref!)!.paneId;
      z.zellij("--session", "hup", "action", "close-pane", "--pane-id", `terminal_${pane}`);
      // Once its wrapper has recorded the hang-up (a look at once may still read it missing).
      await waitFor(
        async () =>
          existsSync(join(m.managed[0]!.runDir, "tab-1.json")) &&
          readFileSync(join(m.managed[0]!.runDir, "tab-1.json"), "utf8"),
        (x) => typeof x === "string" && x.includes('"end"'),
      );
      const r = await m.checkAllSessionsStatus();
      const b = r.sessions[0]!.tabs[1]!;
      expect([b.state, b.signal]).toEqual(["running", undefined]);
      expect(b.orphans!.length).toBeGreaterThan(0);
      expect(b.processes.map((p) => p.command).join("\n")).toContain("sleep 33");
      expect(r.summary).toMatchObject({ runningCommands: 2, allFinished: false });
      // The kill ends it.
      const runDir = m.managed[0]!.runDir;
      await m.killAllSessions();
      expect(processesMentioning(`${runDir}#1`)).toEqual([]);
    });
  });

  describe("--exit close with held-back tabs (--max-parallel-tabs)", () => {
    const w = world();

    it("what is left once every command ended is mc's to list, restart and kill alike", async () => {
      const z = w();
      const mk = (cmd: (i: number) => string) =>
        z.manager({
          sessionLayouts: [
            layout(
              "zp",
              [0, 1, 2].map((i): [string, string] => [`r${i}`, cmd(i)]),
              z.work,
            ),
          ],
          exitMode: "close",
        });
      const m = mk((i) => `exit ${i}`);
      await m.startAllSessions({ initialTabs: 1 });
      await m.startTab("zp", 1);
      await m.startTab("zp", 2);
      // Not polled by mc (its status closes ended tabs): zellij leaves the held-back tabs' bars behind.
      // Only plugin panes are left: no pane names a run, only the server mc started says it is mc's.
      await waitFor(
        async () => z.zellij("--session", "zp", "action", "list-panes", "--json").stdout,
        (s) => {
          try {
            return (JSON.parse(s) as { is_plugin: boolean }[]).every((p) => p.is_plugin);
          } catch {
            return false;
          }
        },
      );
      expect((await m.backend.listSessions()).find((s) => s.name === "zp")?.runId).toBe(m.runId);
      const again = mk(() => "sleep 60");
      expect((await again.startAllSessions({ onConflict: "restart" }))[0]).toMatchObject({
        name: "zp",
        action: "replace",
      });
      expect(await again.killAllSessions()).toMatchObject([{ name: "zp", outcome: "killed" }]);
      expect(z.sessions()).not.toContain("zp");
    });

    it("a tab whose commands ended closes (zellij leaves its tab bar), and the last one ends the session", async () => {
      const z = w();
      const m = z.manager({
        sessionLayouts: [
          layout(
            "zq",
            [
              ["q0", "exit 0"],
              ["q1", "exit 1"],
              ["q2", "sleep 2"],
            ],
            z.work,
          ),
        ],
        exitMode: "close",
      });
      await m.startAllSessions({ initialTabs: 1 });
      await m.startTab("zq", 1);
      await m.startTab("zq", 2);
      const tabs = await waitFor(
        async () => {
          await m.checkAllSessionsStatus();
          return z.zellij("--session", "zq", "action", "query-tab-names").stdout.trim().split("\n");
        },
        (t) => t.length === 1,
      );
      expect(tabs).toEqual(["q2"]);
      const r = await waitFor(
        () => m.checkAllSessionsStatus(),
        (x) => x.summary.allFinished && !z.sessions().includes("zq"),
      );
      expect(r.sessions[0]!.tabs.map((t) => [t.state, t.exitCode])).toEqual([
        ["exited", 0],
        ["exited", 1],
        ["exited", 0],
      ]);
      expect(z.sessions()).not.toContain("zq");
      // Its server is gone; the proof that it was mc's stays while the run is remembered (a session
      // resurrected from it is never mc's), and the next start collects it once the run is forgotten.
      expect((await m.checkAllSessionsStatus()).sessions[0]!.exists).toBe(false);
      const proofs = join(z.stateDir, "zellij-owned");
      const mine = () => (existsSync(proofs) ? readdirSync(proofs) : []).filter((f) => f.startsWith(m.runId));
      expect(mine()).toHaveLength(1);
      rmSync(join(z.stateDir, "runs", m.runId), { recursive: true, force: true });
      const next = z.manager({ sessionLayouts: [layout("zq2", [["t", "true"]], z.work)] });
      await next.startAllSessions();
      expect(mine()).toEqual([]);
      await next.killAllSessions();
    });
  });

  describe("startup errors and listings", () => {
    const w = world();

    it("a socket directory that leaves no room for the name is refused before anything starts", async () => {
      const z = w();
      const deep = join(z.root, "s", "x".repeat(40), "y".repeat(20));
      const env = { ...z.env, ZELLIJ_SOCKET_DIR: deep };
      const { localHost } = await import("@mc/core");
      const host = localHost({ env, stateDir: z.stateDir });
      const m = z.manager({ sessionLayouts: [layout("n".repeat(30), [["t", "true"]], z.work)], host });
      const err = await m.startAllSessions().catch((e: unknown) => e);
      expect(isMcError(err, "LAYOUT_INVALID")).toBe(true);
      expect(String((err as Error).message)).toMatch(/at most \d+ bytes on this host/);
      // Told a larger limit, zellij itself refuses, and mc says what to do.
      const forced = z.manager({
        sessionLayouts: [layout("n".repeat(30), [["t", "true"]], z.work)],
        host,
        maxSessionNameBytes: 100,
      });
      const e2 = await forced.startAllSessions().catch((e: unknown) => e);
      expect(String((e2 as Error).message)).toContain("the IPC socket path is too long");
      expect((e2 as { hint?: string }).hint).toMatch(/ZELLIJ_SOCKET_DIR/);
    });

    it("a socket directory that cannot be created is a clear error", async () => {
      const z = w();
      const { localHost } = await import("@mc/core");
      const host = localHost({
        env: { ...z.env, ZELLIJ_SOCKET_DIR: "/proc/mc-no-such/zj" },
        stateDir: z.stateDir,
      });
      const m = z.manager({ sessionLayouts: [layout("sd", [["t", "true"]], z.work)], host });
      const err = await m.startAllSessions().catch((e: unknown) => e);
      expect(String((err as Error).message)).toMatch(/socket directory/);
      expect((err as { hint?: string }).hint).toMatch(/ZELLIJ_SOCKET_DIR/);
    });

    it("--session MISSING action …: zellij exits 0 with a session list when two others run; mc reads no panes", async () => {
      const z = w();
      z.zellij("attach", "--create-background", "one");
      z.zellij("attach", "--create-background", "two");
      const r = z.zellij("--session", "nosuch", "action", "list-panes", "--json");
      // zellij lists the other live sessions and exits 0, or 1 when it sees only one of them (its session
      // probe can miss a server that was just started, as list-sessions can).
      expect(r.stderr).toContain("Session 'nosuch' not found. The following sessions are active:");
      if (r.code === 0) expect(r.stdout).toMatch(/\[Created .* ago\]/);
      else expect(r.code).toBe(1);
      const b = new ZellijBackend(z.host);
      await b.checkAvailable();
      expect(await b.q.listPanes("nosuch")).toBe("missing");
      z.zellij("kill-session", "one");
      z.zellij("kill-session", "two");
    });
  });
});

describe.skipIf(!real)(`real zellij (${real?.version ?? "absent"}): the shared conformance suite`, () => {
  // The world is made when the suite starts (setup), so a filtered or skipped run leaves nothing behind.
  let z: RealZellij | undefined;
  const world = () => z!;
  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail" && z) console.error(`[mc] zellij log (${z.root}):\n${z.log()}`);
  });
  runConformanceSuite({
    name: `zellij ${real?.version} (real binary)`,
    async setup() {
      z = realZellij(real!.path, real!.version);
    },
    manager: (opts) => world().manager({ ...opts }),
    listSessions: async () => (await new ZellijBackend(world().host).listSessions()).map((s) => s.name),
    async createForeignSession(name) {
      const r = world().zellij("attach", "--create-background", name);
      if (r.code !== 0) throw new Error(r.stderr);
    },
    get workDir() {
      return world().work;
    },
    intervalMs: 300,
    async teardown() {
      z?.stop();
    },
  });
});
