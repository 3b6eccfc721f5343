import { chmodSync, type Dirent, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { noFormat, tmuxSessionKey } from "@mc/tmux";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PrivateTmux, privateTmux, waitFor } from "../../../packages/tmux/test/harness.js";
import { hostile, hostileName, hostileText } from "./corpus.js";
import { filesUnder, recordFigures, requireCli, sessions } from "./support.js";

// Issue 13's classes end to end: the built CLI on a private tmux server, inputs generated (fast-check,
// a fixed seed per run so a failure reproduces: MC_TRUST_SEED).
const SEED = Number(process.env.MC_TRUST_SEED ?? Date.now() % 1_000_000);
const figures: Record<string, unknown> = { seed: SEED };
let t: PrivateTmux;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  requireCli();
  t = privateTmux();
  env = { ...t.env, NO_COLOR: "1" };
});
afterAll(async () => {
  t.stop();
  await recordFigures("trust", figures);
});

/** The first character a terminal would act on or hide, outside plain newlines; undefined when none. */
function rawControl(s: string): string | undefined {
  const m = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u.exec(
    s
      .replace(/\n/g, "")
      .replace(/(\p{Extended_Pictographic})\u200d(?=\p{Extended_Pictographic})/gu, "$1")
      .replace(/(\p{Emoji})[\ufe0e\ufe0f]/gu, "$1"),
  );
  return m
    ? `U+${m[0].codePointAt(0)!.toString(16).padStart(4, "0")} in ${JSON.stringify(s.slice(0, 200))}`
    : undefined;
}

const sample = <T>(arb: fc.Arbitrary<T>, n: number, salt: number): T[] =>
  fc.sample(arb, { seed: SEED + salt, numRuns: n });

let fileNo = 0;
function writeLayouts(layouts: unknown[], extra: Record<string, unknown> = {}): string {
  const file = join(t.dir, `trust-${fileNo++}.json`);
  writeFileSync(file, JSON.stringify({ version: "0.1", layouts, ...extra }));
  return file;
}

describe("1. the terminal shows exactly what is there", () => {
  it("generated hostile fields through validate, dry runs, status, ls, logs and events: no raw control reaches the terminal", async () => {
    const leaks: string[] = [];
    const check = (what: string, r: { stdout: string; stderr: string }) => {
      for (const [stream, text] of [
        ["stdout", r.stdout],
        ["stderr", r.stderr],
      ] as const) {
        const bad = rawControl(text);
        if (bad) leaks.push(`${what} ${stream}: ${bad}`);
      }
    };
    // Files mc refuses (names with controls, unknown keys, bad types) and files it accepts (hostile text).
    const refused = sample(
      fc.array(
        fc.record({
          layoutName: hostile(),
          layoutTabs: fc.array(fc.record({ tabName: hostile(), startDir: hostile(), command: hostile() }), {
            minLength: 1,
            maxLength: 3,
          }),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      6,
      1,
    );
    let commands = 0;
    for (const [i, layouts] of refused.entries()) {
      const withUnknown = layouts.map((l, k) => (k === 0 ? { ...l, [`x${l.layoutName}`]: l.layoutName } : l));
      const file = writeLayouts(withUnknown);
      for (const args of [
        ["validate", file],
        ["run", file, "--dry-run"],
        ["run", file, "--dry-run", "--backend", "zellij"],
        ["summarize", file],
      ]) {
        check(`refused#${i} ${args[0]}`, await sessions(args, env, t.work));
        commands++;
      }
    }
    // Accepted: hostile commands and (existing) hostile start directories, run for real.
    const dirs = sample(hostileText, 4, 2).map((s, k) => {
      const d = join(t.work, `d${k}-${s.replace(/\//g, "_").replace(/\0/g, "").slice(0, 60)}`);
      mkdirSync(d, { recursive: true });
      return d;
    });
    const names = [...new Set(sample(hostileName, 3, 3).map((n) => n.slice(0, 40)))];
    const seen = new Set<string>();
    const layouts = names
      .filter((n) => !seen.has(tmuxSessionKey(n)) && seen.add(tmuxSessionKey(n)))
      .map((layoutName, li) => ({
        layoutName,
        layoutTabs: sample(hostileText, 3, 10 + li).map((text, k) => ({
          tabName: `${layoutName}-${k}`,
          startDir: dirs[(li + k) % dirs.length]!,
          // The tab prints hostile bytes (escape sequences included) and lives on: logs and status see them.
          command: `printf '%s\\033]52;c;cHduZWQ=\\007\\033[2J\\r\\n' ${JSON.stringify(text).replace(/\$/g, "\\$").replace(/`/g, "\\`")}; sleep 60 # ${text.replace(/\n/g, " ")}`,
        })),
      }));
    const file = writeLayouts(layouts);
    const dry = await sessions(["run", file, "--dry-run"], env, t.work);
    check("dry-run", dry);
    const run = await sessions(["run", file, "--socket", t.socket], env, t.work);
    check("run", run);
    expect(run.code, run.stderr).toBe(0);
    await waitFor(
      async () => (await sessions(["status", "--json"], env, t.work)).stdout,
      (s) => !s.includes('"missing"') && !s.includes('"starting"'),
      10_000,
    );
    for (const args of [
      ["status"],
      ["status", "--tail", "3"],
      ["ls"],
      ["events"],
      ["logs", layouts[0]!.layoutName],
      ["logs", `${layouts[0]!.layoutName}/${layouts[0]!.layoutTabs[0]!.tabName}`, "-n", "5"],
      ["attach", layouts[0]!.layoutName],
      ["kill", layouts[0]!.layoutName],
      ["kill", "--all"],
      ["ls"],
    ]) {
      check(args.join(" "), await sessions(args, env, t.work));
      commands++;
    }
    figures.terminal = { commands, files: refused.length + 1, leaks: leaks.length };
    expect(leaks).toEqual([]);
    expect(t.sessions()).toEqual(["keeper"]);
  }, 120_000);
});

describe("2. ownership: restart and kill touch only what mc started", () => {
  it("generated foreign sessions with mc's names (and tmux's default `0`) survive restart, kill and kill --all", async () => {
    const names = ["0", ...new Set(sample(hostileName, 5, 20).map((n) => n.slice(0, 30)))].filter(
      (n, i, a) => a.findIndex((m) => tmuxSessionKey(m) === tmuxSessionKey(n)) === i,
    );
    const idOf = (key: string) =>
      t
        .tmux("list-sessions", "-F", "#{session_name}\u001f#{session_id}")
        .split("\n")
        .find((l) => l.startsWith(`${key}\u001f`))
        ?.split("\u001f")[1];
    for (const n of [...names]) {
      const id = t.tmux(
        "new-session",
        "-d",
        "-P",
        "-F",
        "#{session_id}",
        "-s",
        // tmux reads an argv word ending in `;` as a command separator (cmd-parse.c); `\;` keeps it.
        // new-session expands formats in -s (`#{session_name}` would be ""): `##` keeps a `#`, as mc does.
        noFormat(tmuxSessionKey(n)).replace(/;$/, "\\;"),
        "sleep 100000",
      );
      // A name tmux lists back in another spelling (it escapes what it cannot print) is not used here:
      // the reliability suite's injection tests cover how mc tracks those by session id.
      if (idOf(tmuxSessionKey(n)) !== id.trim()) {
        t.tmux("kill-session", "-t", id.trim());
        names.splice(names.indexOf(n), 1);
      }
    }
    const before = names.map((n) => idOf(tmuxSessionKey(n)));
    expect(names.length).toBeGreaterThan(1);
    const file = writeLayouts(
      names.map((layoutName) => ({
        layoutName,
        layoutTabs: [{ tabName: "t", startDir: t.work, command: "sleep 60" }],
      })),
    );
    const restart = await sessions(
      ["run", file, "--socket", t.socket, "--on-conflict", "restart"],
      env,
      t.work,
    );
    expect(restart.code, restart.stderr).toBe(4);
    expect(restart.stderr).toMatch(/--on-conflict rename/);
    const kills = await Promise.all(
      names.map((n) => sessions(["kill", n, "--socket", t.socket], env, t.work)),
    );
    for (const k of kills) expect(k.code, k.stderr).not.toBe(0);
    const all = await sessions(["kill", "--all", "--socket", t.socket], env, t.work);
    expect(all.stderr).not.toMatch(/killed/);
    expect(names.map((n) => idOf(tmuxSessionKey(n)))).toEqual(before);
    // Rename starts beside them and never touches them either.
    const rename = await sessions(
      ["run", file, "--socket", t.socket, "--on-conflict", "rename", "--json"],
      env,
      t.work,
    );
    expect(rename.code, rename.stderr).toBe(0);
    const started = JSON.parse(rename.stdout).batches[0].sessions.map(
      (s: { name: string }) => s.name,
    ) as string[];
    expect(started.filter((s) => names.includes(s))).toEqual([]);
    expect((await sessions(["kill", "--all"], env, t.work)).code).toBe(0);
    expect(names.map((n) => idOf(tmuxSessionKey(n)))).toEqual(before);
    for (const id of before) t.tmux("kill-session", "-t", id!);
    figures.ownership = { foreignSessions: names.length, killAttempts: names.length + 2, destroyed: 0 };
  }, 60_000);
});

describe("3. restart is all or nothing", () => {
  it("a replacement failing at a generated position leaves every original running and untouched", async () => {
    const cases = sample(
      fc
        .record({ n: fc.integer({ min: 2, max: 4 }), failAt: fc.nat(3) })
        .map((c) => ({ ...c, failAt: c.failAt % c.n })),
      4,
      30,
    );
    const results: { n: number; failAt: number; code: number }[] = [];
    for (const [ci, { n, failAt }] of cases.entries()) {
      const names = Array.from({ length: n }, (_, i) => `r${ci}-${i}`);
      const layouts = (fail: number | undefined) =>
        names.map((layoutName, i) => ({
          layoutName,
          ...(i === fail ? { onStart: "echo refusing >&2; exit 7" } : {}),
          layoutTabs: [{ tabName: "t", startDir: t.work, command: "sleep 60" }],
        }));
      const first = await sessions(
        ["run", writeLayouts(layouts(undefined)), "--socket", t.socket],
        env,
        t.work,
      );
      expect(first.code, first.stderr).toBe(0);
      const panes = () =>
        t
          .tmux("list-panes", "-a", "-F", "#{session_name} #{session_id} #{pane_pid}")
          .split("\n")
          .filter((l) => l.startsWith(`r${ci}-`))
          .sort();
      const before = panes();
      expect(before).toHaveLength(n);
      const again = await sessions(
        ["run", writeLayouts(layouts(failAt)), "--socket", t.socket, "--on-conflict", "restart"],
        env,
        t.work,
      );
      results.push({ n, failAt, code: again.code });
      expect(again.code, again.stderr).toBe(1);
      expect(again.stderr).toContain("untouched");
      expect(panes()).toEqual(before);
      expect(t.sessions().filter((s) => s.startsWith("mc-build-"))).toEqual([]);
      expect((await sessions(["kill", "--all"], env, t.work)).code).toBe(0);
    }
    figures.restart = { cases: results, originalsLost: 0 };
  }, 90_000);
});

describe("4. a command never runs in a directory it did not ask for", () => {
  it("generated missing, relative, ~user and not-a-directory start dirs: refused before anything starts, the field named", async () => {
    const file0 = join(t.work, "a-file");
    writeFileSync(file0, "");
    const kinds = sample(
      fc.oneof(
        hostileName.map((s) => join(t.work, "nope", s.replace(/\//g, "_").slice(0, 40))),
        hostileName.map((s) => `missing-rel-${s.replace(/\//g, "_").slice(0, 40)}`),
        fc.constantFrom("~no-such-user-mc/x", "~no-such-user-mc", file0, join(file0, "sub")),
      ),
      12,
      40,
    );
    if (process.getuid?.() !== 0) {
      const locked = join(t.work, "locked");
      mkdirSync(join(locked, "in"), { recursive: true });
      chmodSync(locked, 0o000);
      kinds.push(join(locked, "in"));
    }
    let refused = 0;
    for (const [i, dir] of kinds.entries()) {
      const file = writeLayouts([
        { layoutName: `ok${i}`, layoutTabs: [{ tabName: "fine", startDir: t.work, command: "sleep 60" }] },
        {
          layoutName: `bad${i}`,
          layoutTabs: [
            { tabName: "fine", startDir: t.work, command: "sleep 60" },
            { tabName: "bad", startDir: dir, command: "touch ran-here; sleep 60" },
          ],
        },
      ]);
      const r = await sessions(["run", file, "--socket", t.socket], env, t.work);
      expect(r.code, `${dir}: ${r.stderr}`).toBe(3);
      expect(r.stderr, dir).toContain("layouts[1].layoutTabs[1].startDir");
      refused++;
    }
    expect(t.sessions()).toEqual(["keeper"]);
    expect(filesUnder(t.dir).filter((f) => f.endsWith("ran-here"))).toEqual([]);
    figures.startDirs = {
      generated: kinds.length,
      refused,
      runAnyway: 0,
      rootSkipsUnenterable: process.getuid?.() === 0,
    };
  }, 90_000);
});

describe("5. state that is relative, private, or not a file", () => {
  it("a relative MC_STATE_DIR is made absolute; state is 0700/0600; a FIFO does not hang status", async () => {
    const file = writeLayouts([
      { layoutName: "st", layoutTabs: [{ tabName: "t", startDir: t.work, command: "sleep 60" }] },
    ]);
    const rel = { ...env, MC_STATE_DIR: "rel-state" };
    const run = await sessions(["run", file, "--socket", t.socket], rel, t.work);
    expect(run.code, run.stderr).toBe(0);
    const root = join(t.work, "rel-state");
    // From another directory, the tab is still found: its records live at absolute paths.
    const status = await sessions(["status", "--json"], { ...env, MC_STATE_DIR: root }, t.dir);
    const tabs = JSON.parse(status.stdout).sessions[0].tabs as { state: string }[];
    expect(tabs.map((x) => x.state)).toEqual(["running"]);
    // Every directory is private (0700), so nothing below is reachable by others; what mc writes itself
    // (run records, artefacts with the commands) is 0600 as well. The tab wrapper's own records (exit
    // codes, events, the clock offset) take the tmux server's umask, inside those private directories.
    const loose: string[] = [];
    // Every directory, also one no file is in yet (a tab's logs/ before its command printed anything).
    const dirsSeen = new Set<string>([
      root,
      ...(readdirSync(root, { recursive: true, withFileTypes: true }) as Dirent[])
        .filter((d) => d.isDirectory())
        .map((d) => join(d.parentPath, d.name)),
    ]);
    for (const f of filesUnder(root)) {
      const parts = f.split("/");
      for (let k = 1; k < parts.length; k++) dirsSeen.add(join(root, ...parts.slice(0, k)));
      const mode = statSync(join(root, f)).mode & 0o777;
      const byWrapper = /(^|\/)(tab-\d+(-\d+)?\.json|events\.ndjson|ready-\d+\.json|clock|logs\/.*)$/.test(f);
      if (!byWrapper && mode & 0o077) loose.push(`${f} ${mode.toString(8)}`);
    }
    for (const d of dirsSeen) {
      const mode = statSync(d).mode & 0o777;
      if (mode & 0o077) loose.push(`${d} ${mode.toString(8)}`);
    }
    expect(loose).toEqual([]);
    const fifoDir = join(root, "managers", "TmuxLocalManager");
    const { spawnSync } = await import("node:child_process");
    spawnSync("mkfifo", [join(fifoDir, "20260101-000000-ffffff.json")]);
    const started = Date.now();
    const withFifo = await sessions(["status"], { ...env, MC_STATE_DIR: root }, t.work);
    expect(Date.now() - started).toBeLessThan(30_000);
    // A record it cannot read (a FIFO in its place): shown what it can, exit 9 (review H65-5).
    expect(withFifo.code, withFifo.stderr).toBe(9);
    expect(withFifo.stdout).toMatch(/st\s+\S+\s+t\s+running/);
    const killAll = await sessions(["kill", "--all"], { ...env, MC_STATE_DIR: root }, t.work);
    expect(killAll.code, killAll.stderr).toBe(9);
    expect(t.sessions()).toEqual(["keeper"]);
    figures.state = { relativeStateDir: "absolute", looseModes: loose.length, fifo: "skipped, no hang" };
  }, 60_000);
});

describe("8. flags that do what they say", () => {
  it("flags that would be ignored, empty selections and generated bad names are usage errors (exit 2), nothing started", async () => {
    const file = writeLayouts([
      { layoutName: "f", layoutTabs: [{ tabName: "t", startDir: t.work, command: "sleep 60" }] },
    ]);
    const bad = sample(
      // `--prefix ""` is documented as "no prefix"; blank otherwise, controls and bidi are refused.
      hostile().filter(
        (s) =>
          s !== "" &&
          !s.includes("\u0000") &&
          (/[\p{Cc}\u202a-\u202e\u2066-\u2069]/u.test(s) || s.trim() === ""),
      ),
      6,
      50,
    );
    const cases: string[][] = [
      // (`-c ","` names no layout: every layout runs, as machineconfig reads it: review HR81-5.)
      ["run", file, "-c", ""],
      ["run", file, "-t", ""],
      ["run", file, "--kill-finished-tabs"],
      ["run", file, "--poll-seconds", "1"],
      ["run", file, "-m", "--interval", "0"],
      ["run", "-f", file, file],
      // Times past what a timer holds (2^31 ms) and counts below 0 or past any real use (review H5-7, H5-17).
      ["run", file, "-m", "--interval", "3000000"],
      ["run", file, "-S", "3000000"],
      ["wait", "f", "--timeout", "4294967.296"],
      ["status", "--tail", "-1"],
      ["create-from-command", "sleep 1", "-n", "100000000"],
      ...bad.map((p) => ["run", file, "--prefix", p]),
      ...bad.map((n) => ["create-from-command", "sleep 1", "-n", n]),
    ];
    const codes: number[] = [];
    for (const args of cases) {
      const r = await sessions([...args, "--socket", t.socket], env, t.work);
      codes.push(r.code);
      expect(r.code, `${JSON.stringify(args)}: ${r.stderr}`).toBe(2);
      expect(rawControl(r.stderr), JSON.stringify(args)).toBeUndefined();
    }
    expect(t.sessions()).toEqual(["keeper"]);
    figures.flags = { cases: cases.length, usageErrors: codes.filter((c) => c === 2).length };
  }, 90_000);
});

describe("9. balance-load -b combineTabs", () => {
  it("generated parts (trailing ;, ~ dirs, failing part at a generated place): the merged tab fails naming the part", async () => {
    const cases = sample(
      fc.record({
        parts: fc.integer({ min: 2, max: 4 }),
        failAt: fc.nat(3),
        code: fc.integer({ min: 1, max: 120 }),
        semicolon: fc.boolean(),
      }),
      3,
      60,
    );
    for (const [ci, c] of cases.entries()) {
      const failAt = c.failAt % c.parts;
      const layouts = [
        {
          layoutName: `cb${ci}`,
          layoutTabs: Array.from({ length: c.parts }, (_, k) => ({
            tabName: `part${k}`,
            startDir: k % 2 ? "~" : t.work,
            command: `${k === failAt ? `(exit ${c.code})` : "pwd >> merged.txt"}${c.semicolon ? ";" : ""}`,
          })),
        },
      ];
      const input = writeLayouts(layouts);
      const out = join(t.dir, `combined-${ci}.json`);
      const b = await sessions(
        ["balance-load", input, "-m", "1", "-b", "combineTabs", "-o", out],
        env,
        t.work,
      );
      expect(b.code, b.stderr).toBe(0);
      const run = await sessions(
        ["run", out, "--socket", t.socket, "-m", "-k", "--interval", "0.2"],
        env,
        t.work,
      );
      // Monitoring ends with 10 when a tab failed: the merged tab, with the failing part's own status,
      // and its log names the part. The other parts ran, each in its own directory.
      expect(run.code, run.stdout + run.stderr).toBe(10);
      const events = await sessions(["events", `cb${ci}`], env, t.work);
      const exited = events.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { type: string; exitCode?: number })
        .filter((e) => e.type === "tab-exited");
      expect(exited.map((e) => e.exitCode)).toEqual([c.code]);
      const logs = await sessions(["logs", `cb${ci}`], env, t.work);
      expect(logs.stdout, logs.stderr).toContain(`part "part${failAt}" failed (exit ${c.code})`);
    }
    figures.combineTabs = { cases: cases.length };
  }, 120_000);
});
