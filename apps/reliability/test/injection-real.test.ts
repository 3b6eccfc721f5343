import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type LayoutConfig, parseLayouts, shQuote } from "@mc/core";
import { tmuxSessionKey } from "@mc/tmux";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PrivateTmux, privateTmux, waitFor } from "../../../packages/tmux/test/harness.js";
import { ALL_HOSTILE, armed, hasLoneSurrogate, LONG, schemaName } from "./corpus.js";
import { delay, filesUnder, recordFigures, requireCli, sessions } from "./support.js";

const figures: Record<string, unknown> = {};
afterAll(async () => {
  await recordFigures("injectionRealTmux", figures);
});

/** A path component made from a corpus entry (no `/`, not `.`/`..`, at most 200 bytes). */
function component(s: string, k: number): string {
  let c = s.replace(/\//g, "\u2215").replace(/\u0000/g, "");
  while (Buffer.byteLength(c) > 200) c = c.slice(0, -1);
  if (c === "" || c === "." || c === "..") c = `empty${k}`;
  return `${k}-${c}`;
}

// Names that trip a finding below are kept out of the bulk run so that each finding has its own test.
const FINDING = /^[-$]|#+\[|[\u0080-\u009f\u2028\u2029\\]|\$[A-Za-z_{]/;

describe("the corpus through real tmux (built CLI, private server)", () => {
  let t: PrivateTmux;
  let env: NodeJS.ProcessEnv;
  const marker = `PWNED-${randomBytes(4).toString("hex")}`;
  beforeAll(() => {
    requireCli();
    t = privateTmux();
    env = { ...t.env, NO_COLOR: "1" };
  });
  afterAll(() => t.stop());

  it("names, paths and commands from the corpus arrive exactly; no injected command runs", async () => {
    const started = performance.now();
    const markerPath = join(t.work, marker);
    const entries = ALL_HOSTILE.map((s) => armed(s, markerPath)).filter((s) => !hasLoneSurrogate(s));
    const names = [...new Set(entries.filter((s) => schemaName(s) && !FINDING.test(s)))];
    const keys = new Set<string>();
    const layoutNames = names
      .filter((n) => !keys.has(tmuxSessionKey(n)) && keys.add(tmuxSessionKey(n)))
      .slice(0, 12);
    const payloads = [...entries, LONG];
    const tabsPer = 8;
    const expected: { dir: string; payload: string }[] = [];
    const layouts: LayoutConfig[] = layoutNames.map((layoutName, li) => ({
      layoutName,
      layoutTabs: Array.from({ length: tabsPer }, (_, ti) => {
        const k = li * tabsPer + ti;
        const payload = payloads[k % payloads.length]!;
        // `#[` in a startDir is its own finding below.
        const dir = join(t.work, "dirs", component(entries[k % entries.length]!.replace(/#+\[/g, "#"), k));
        mkdirSync(dir, { recursive: true });
        expected.push({ dir, payload });
        return {
          tabName: names[k % names.length]!,
          startDir: dir,
          // Absolute output paths: a wrong working directory shows up in `pwd`, never as a stray file.
          command: `printf '%s' ${shQuote(payload)} > ${shQuote(join(dir, "received"))}; pwd > ${shQuote(join(dir, "pwd"))}; exec sleep 60`,
        };
      }),
    }));
    const file = join(t.dir, "hostile.json");
    writeFileSync(file, JSON.stringify({ version: "0.1", layouts: layouts }));

    const run = await sessions(["run", file, "--socket", t.socket, "--json"], env, t.work);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const startedNames = JSON.parse(run.stdout).batches[0].sessions.map((s: { name: string }) => s.name);
    // A session's name spells a space as _, as machineconfig's managers name them (review H31-1).
    const sessionName = (n: string) => n.replaceAll(" ", "_");
    expect(startedNames).toEqual(layoutNames.map(sessionName));

    await waitFor(
      async () => expected.filter((e) => !existsSync(join(e.dir, "pwd"))).length,
      (n) => n === 0,
      20_000,
    );
    await delay(200);
    const wrong = expected.filter((e) => {
      try {
        return (
          readFileSync(join(e.dir, "received"), "utf8") !== e.payload ||
          readFileSync(join(e.dir, "pwd"), "utf8") !== `${e.dir}\n`
        );
      } catch {
        return true;
      }
    });
    expect(wrong.map((w) => JSON.stringify(w.payload).slice(0, 80))).toEqual([]);

    const status = await sessions(["status", "--json"], env, t.work);
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout) as {
      sessions: { session: string; exists: boolean; tabs: { tabName: string; state: string }[] }[];
    };
    expect(
      report.sessions.map((s) => [s.session, s.exists, s.tabs.map((x) => [x.tabName, x.state])]),
    ).toEqual(
      layouts.map((l) => [sessionName(l.layoutName), true, l.layoutTabs.map((x) => [x.tabName, "running"])]),
    );
    // tmux itself shows the same names: session names (tmux keys) and window names.
    const shown = t
      .tmux("list-windows", "-a", "-F", "#{session_name}\u001f#{window_name}")
      .split("\n")
      .filter(Boolean);
    // list-windows -a sorts sessions by name; windows keep their order within a session.
    const bySession = (rows: string[]) =>
      [...new Set(rows.map((r) => r.split("\u001f")[0]!))]
        .sort()
        .flatMap((k) => rows.filter((r) => r.startsWith(`${k}\u001f`)));
    expect(bySession(shown.filter((l) => !l.startsWith("keeper\u001f")))).toEqual(
      bySession(
        layouts.flatMap((l) =>
          l.layoutTabs.map((x) => `${tmuxSessionKey(sessionName(l.layoutName))}\u001f${x.tabName}`),
        ),
      ),
    );

    const kill = await sessions(["kill", "--all"], env, t.work);
    expect(kill.code).toBe(0);
    expect(t.sessions()).toEqual(["keeper"]);
    await delay(300);
    // An injected `touch`, `>` or `$(…)` in any name or path would have created this file somewhere.
    const found = filesUnder(t.dir).filter((f) => f.endsWith(marker));
    expect(existsSync(markerPath)).toBe(false);
    expect(found).toEqual([]);
    expect(readdirSync(process.cwd()).filter((f) => f.includes("PWNED"))).toEqual([]);
    figures.bulk = {
      sessions: layouts.length,
      tabs: expected.length,
      corpusEntries: ALL_HOSTILE.length,
      longestPayloadBytes: Buffer.byteLength(LONG),
      ms: Math.round(performance.now() - started),
    };
  }, 90_000);

  it("names validation refuses (NUL, newline, tab, DEL, ESC): exit 3, the exact field named, nothing started", async () => {
    const cases: [string, string, string][] = [
      ["layoutName", "a\u0000b", "layouts[0].layoutName: layoutName must not contain control characters"],
      [
        "tabName",
        "line\nbreak",
        "layouts[0].layoutTabs[0].tabName: tabName must not contain control characters",
      ],
      ["layoutName", "tab\there", "layouts[0].layoutName: layoutName must not contain control characters"],
      [
        "tabName",
        "del\u007f",
        "layouts[0].layoutTabs[0].tabName: tabName must not contain control characters",
      ],
      [
        "layoutName",
        "\u001b[31mred",
        "layouts[0].layoutName: layoutName must not contain control characters",
      ],
      [
        "command",
        "echo a\u0000; touch x",
        "layouts[0].layoutTabs[0].command: command must not contain a NUL character",
      ],
      [
        "startDir",
        "/tmp\u0000/x",
        "layouts[0].layoutTabs[0].startDir: startDir must not contain a NUL character",
      ],
      ["layoutName", "   ", "layouts[0].layoutName: layoutName must not be blank"],
    ];
    const before = t.sessions();
    const runsBefore = filesUnder(join(t.stateDir, "managers"));
    for (const [field, value, message] of cases) {
      const tab = { tabName: "t", startDir: t.work, command: "sleep 30" };
      const layout = { layoutName: "ok", layoutTabs: [tab] };
      if (field === "layoutName") layout.layoutName = value;
      else (tab as Record<string, string>)[field] = value;
      const file = join(t.dir, "refused.json");
      writeFileSync(file, JSON.stringify({ version: "0.1", layouts: [layout] }));
      const r = await sessions(["run", file, "--socket", t.socket], env, t.work);
      expect(r.code, JSON.stringify(value)).toBe(3);
      expect(r.stderr, JSON.stringify(value)).toContain(message);
      expect(r.stderr).toContain("nothing was started");
      expect(t.sessions()).toEqual(before);
      expect(filesUnder(join(t.stateDir, "managers"))).toEqual(runsBefore);
    }
    figures.refusedByValidation = cases.length;
  }, 60_000);
});

describe("findings: names mc starts on tmux but then loses track of", () => {
  let t: PrivateTmux;
  beforeAll(() => {
    t = privateTmux();
  });
  afterAll(() => t.stop());

  /** Start one session named `name`, check status finds it, kill it, check it is gone. */
  /** Session ids and names on the server (ids: names that tmux cannot target by name can still be killed). */
  const ids = () =>
    new Map(
      t
        .tmux("list-sessions", "-F", "#{session_id}\u001f#{session_name}")
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split("\u001f") as [string, string]),
    );

  /** Start one session named `name`, check status finds it, kill it, check it is gone. */
  async function roundTrip(name: string) {
    const m = t.manager({
      sessionLayouts: [
        { layoutName: name, layoutTabs: [{ tabName: name, startDir: t.work, command: "sleep 60" }] },
      ],
    });
    const before = ids();
    let startError: unknown;
    try {
      await m.startAllSessions();
    } catch (e) {
      startError = e;
    }
    const report = startError ? undefined : await m.checkAllSessionsStatus();
    if (!startError) await m.killAllSessions();
    const left = [...ids()].filter(([id]) => !before.has(id));
    // Clean up whatever mc left behind, by session id.
    for (const [id] of left) t.tmux("kill-session", "-t", id);
    return {
      startError: startError ? String((startError as Error).message) : undefined,
      exists: report?.sessions[0]?.exists,
      session: report?.sessions[0]?.session,
      leftover: left.map(([, n]) => (n.length > 60 ? `${n.slice(0, 60)}… (${n.length} chars)` : n)),
    };
  }

  it("a layoutName starting with '-' starts (tmux generate.ts: rename-session needs `--`)", async () => {
    for (const name of ["-e", "-oProxyCommand=touch x", "--", "-"]) {
      const r = await roundTrip(name);
      expect(r, name).toEqual({
        startError: undefined,
        exists: true,
        session: name.replaceAll(" ", "_"),
        leftover: [],
      });
    }
  });

  // tmux 3.3a cmd-find.c cmd_find_get_session: a target starting with `$` (after `=`) is a session id, so a
  // session named `$(x)` can be listed but never targeted; backend.kill's owner check then returns quietly.
  it("a layoutName starting with '$' is killed by sessions kill (tmux backend.ts kill targets by name)", async () => {
    for (const name of ["$(touch x)", "$1", "$"]) {
      const r = await roundTrip(name);
      expect(r, name).toEqual({
        startError: undefined,
        exists: true,
        session: name.replaceAll(" ", "_"),
        leftover: [],
      });
    }
  });

  it("a layoutName holding '#[' is found by status and removed by kill (tmux generate.ts noFormat)", async () => {
    const r = await roundTrip("build #[fg=red]1");
    expect(r).toEqual({ startError: undefined, exists: true, session: "build_#[fg=red]1", leftover: [] });
  });

  it("a startDir holding '#[' is where the tab's command runs (tmux generate.ts noFormat)", async () => {
    const dir = join(t.work, "style #[fg=red] dir");
    mkdirSync(dir);
    const out = join(t.work, "hash-pwd");
    const m = t.manager({
      sessionLayouts: [
        {
          layoutName: "hashdir",
          layoutTabs: [{ tabName: "t", startDir: dir, command: `pwd > ${shQuote(out)}` }],
        },
      ],
    });
    await m.startAllSessions();
    await waitFor(async () => existsSync(out), Boolean);
    await m.killAllSessions();
    expect(readFileSync(out, "utf8")).toBe(`${dir}\n`);
  });

  // tmux 3.3a session.c session_check_name → utf8.c utf8_strvis: `\` becomes `\\`, `$` before a letter,
  // `_` or `{` gets a backslash, characters without a width (wcwidth < 0) become octal escapes.
  it("a layoutName tmux rewrites (\\, $HOME, ${x}, U+0085, U+2028, unassigned U+0378) is refused or tracked, never orphaned", async () => {
    for (const name of ["a\\b", "$HOME", "w${x}", "a\u0085b", "x\u2028y", "u\u0378v"]) {
      const r = await roundTrip(name);
      const refused = r.startError !== undefined && r.leftover.length === 0;
      const tracked = r.exists === true && r.leftover.length === 0;
      expect(refused || tracked, JSON.stringify(r)).toBe(true);
    }
  });

  it("a 20 KiB layoutName is refused or tracked, never orphaned (tmux client.c: 16 KiB MAX_IMSGSIZE)", async () => {
    const r = await roundTrip(`long-${"n".repeat(20 * 1024)}`);
    const refused = r.startError !== undefined && r.leftover.length === 0;
    const tracked = r.exists === true && r.leftover.length === 0;
    const shown = { ...r, session: r.session && `${r.session.slice(0, 20)}…` };
    expect(refused || tracked, JSON.stringify(shown)).toBe(true);
  });
});

describe("findings: validation", () => {
  const file = (layout: string) => `{"version":"0.1","layouts":[${layout}]}`;

  it("a lone surrogate (JSON \\ud800) in a name is refused: UTF-8 files and argv cannot carry it", () => {
    const r = parseLayouts(
      file('{"layoutName":"a\\ud800","layoutTabs":[{"tabName":"t","startDir":"~","command":"ls"}]}'),
    );
    expect(r.ok).toBe(false);
  });

  it('a "__proto__" key is reported as unknown, never read as the layout\'s tabs (validate.ts nodeToValue)', () => {
    const r = parseLayouts(
      file(
        '{"layoutName":"a","__proto__":{"layoutTabs":[{"tabName":"t","startDir":"~","command":"touch /tmp/hidden"}]}}',
      ),
    );
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.message)).toContain('unknown key "__proto__"');
  });
});
