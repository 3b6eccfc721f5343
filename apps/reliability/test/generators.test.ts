import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMcError, normaliseStartDir, parseTabRecord, type SessionBackend } from "@mc/core";
import { fakeHost } from "@mc/core/testing";
import { literalStyles, paneTabIndex, tmuxSessionFiles, tmuxSessionKey } from "@mc/tmux";
import { tabCommandline, WtBackend, wtWindowName } from "@mc/wt";
import { cli11Of, evaluateLaunchScript, parseWtArgv, windowsArgv } from "@mc/wt/testing";
import { isLiteralPath, paneArgv, paneName, zellijSessionFiles } from "@mc/zellij";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { powershellSyntaxErrors } from "../../../packages/wt/test/ps-syntax.js";
import { readLayout } from "../../../packages/zellij/test/kdl.js";
import {
  type HostileTab,
  hasLoneSurrogate,
  hostile,
  hostileLayout,
  LONE_SURROGATES,
  LONG,
} from "./corpus.js";
import { recordFigures } from "./support.js";

const CASES = Number(process.env.MC_RELIABILITY_CASES ?? 1000);
const SEED = Number(process.env.MC_RELIABILITY_SEED ?? 20261124);
const HOME = "/home/u s'er";
const info = { platform: "linux" as const, home: HOME, stateDir: "/state", shell: "/bin/sh" };
const figures: Record<string, unknown> = { seed: SEED };

afterAll(async () => {
  await recordFigures("generators", figures);
});

// Every case gets the 64 KiB string somewhere now and then, and lone surrogates where the type allows.
const withExtremes = hostileLayout.chain((l) =>
  fc
    .record({
      long: fc.integer({ min: 0, max: 60 }),
      field: fc.constantFrom("layoutName", "tabName", "startDir", "command"),
    })
    .map(({ long, field }) => {
      if (long !== 0) return l;
      const tabs = l.layoutTabs.map((t, i) =>
        i === 0 && field !== "layoutName" ? { ...t, [field]: LONG } : t,
      );
      return { layoutName: field === "layoutName" ? LONG : l.layoutName, layoutTabs: tabs };
    }),
);

describe("tmux: build script through tmux 3.3a's own parser, wrapper through a real sh", () => {
  const dir = mkdtempSync(join(tmpdir(), "mc-rel-gen-"));
  const sock = join(dir, "sock");
  const env: NodeJS.ProcessEnv = { ...process.env, SHELL: "/bin/sh", LANG: "C.UTF-8" };
  delete env.TMUX;
  afterAll(() => {
    for (let k = 0; k < servers; k++)
      spawnSync("tmux", ["-S", sockOf(k), "kill-server"], { stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  });

  // Names are kept exactly, except that a name whose tmux key repeats an earlier case's gets a suffix
  // (all cases share one server). A leading `-` is left to its own test below (finding: rename-session
  // reads it as a flag).
  const seen = new Set<string>();
  const layouts = fc.sample(withExtremes, { numRuns: CASES, seed: SEED }).map((l, i) => {
    let name = l.layoutName.replace(/^-+/, "");
    if (name.trim() === "") name = `dash${i}`;
    if (seen.has(tmuxSessionKey(name))) name = `${name} ${i}`;
    seen.add(tmuxSessionKey(name));
    return { ...l, layoutName: name };
  });

  // tmux's time grows faster than its session count (250 cases: 5 s, 500: 15 s, 1000: over 60 s on CI's
  // machine), so the cases go to servers of at most 100 sessions each (23 s with 250, 14 s with 100, 16 s
  // with 50 on this machine): the same cases, the same checks.
  const PER_SERVER = 100;
  const servers = Math.max(1, Math.ceil(layouts.length / PER_SERVER));
  const sockOf = (k: number) => `${sock}${k}`;

  it(`${CASES} hostile layouts, one source-file per server: every name, path and pane command arrives exactly`, () => {
    const started = performance.now();
    // Panes run a wrapper path that does not exist, so each exits at once; remain-on-exit keeps the dead
    // pane with its start command and path for inspection.
    writeFileSync(join(dir, "tmux.conf"), "set -g remain-on-exit on\n");
    const builds = layouts.map((l, i) => {
      const files = tmuxSessionFiles(
        { tmux: "tmux", socket: { path: sockOf(Math.floor(i / PER_SERVER)) } },
        {
          name: l.layoutName,
          index: i,
          tabs: l.layoutTabs.map((t, index) => ({ index, ...t })),
          dir: join(dir, "none", `c${i}`),
          runDir: join(dir, "runs", `c${i}`),
          runId: `R${i}`,
          keepShell: false,
        },
        info,
      );
      return files.build;
    });
    const rec = `@@REC-${Math.random().toString(36).slice(2)}@@`;
    const fld = `@@FLD-${Math.random().toString(36).slice(2)}@@`;
    const rows: string[][] = [];
    for (let k = 0; k < servers; k++) {
      execFileSync(
        "tmux",
        [
          "-u",
          "-S",
          sockOf(k),
          "-f",
          join(dir, "tmux.conf"),
          "new-session",
          "-d",
          "-s",
          "keeper",
          "sleep 100000",
        ],
        { env },
      );
      const all = join(dir, `all${k}.tmux`);
      writeFileSync(all, builds.slice(k * PER_SERVER, (k + 1) * PER_SERVER).join(""));
      const sourced = spawnSync("tmux", ["-u", "-S", sockOf(k), "source-file", all], {
        env,
        encoding: "utf8",
      });
      expect(sourced.stderr).toBe("");
      expect(sourced.status).toBe(0);
      const out = execFileSync(
        "tmux",
        [
          "-u",
          "-S",
          sockOf(k),
          "list-panes",
          "-a",
          "-F",
          [
            "#{@mc_run}",
            "#{@mc_name}",
            "#{session_name}",
            "#{window_name}",
            "#{pane_start_command}",
            `#{pane_start_path}${rec}`,
          ].join(fld),
        ],
        { env, encoding: "utf8", maxBuffer: 1 << 28 },
      );
      rows.push(
        ...out
          .split(`${rec}\n`)
          .filter((r) => r !== "")
          .map((r) => r.split(fld)),
      );
      // A server is ended once read: a thousand dead panes' servers need not all live at once.
      spawnSync("tmux", ["-S", sockOf(k), "kill-server"], { stdio: "ignore" });
    }
    const byRun = new Map<string, string[][]>();
    for (const r of rows) byRun.set(r[0]!, [...(byRun.get(r[0]!) ?? []), r]);
    const failures: string[] = [];
    const hashBracket: string[] = [];
    let rewrittenSessionNames = 0;
    let tabs = 0;
    layouts.forEach((l, i) => {
      const got = byRun.get(`R${i}`) ?? [];
      const tabScript = join(dir, "none", `c${i}`, "tabs.sh");
      const want = l.layoutTabs.map((t, index) => {
        const start = normaliseStartDir(t.startDir, HOME);
        // tmux 3.3a resolves a relative -c against the client's working directory.
        // A window name is kept with each run of # before [ doubled, so tmux draws it as written
        // (review H22-2); @mc_name keeps the layout's name as it is.
        return [
          `R${i}`,
          l.layoutName,
          literalStyles(t.tabName),
          index,
          start.startsWith("/") ? start : `${process.cwd()}/${start}`,
        ];
      });
      tabs += want.length;
      const shown = got.map((r) => [r[0], r[1], r[3], paneTabIndex(r[4]!, tabScript), r[5]]);
      if (JSON.stringify(shown) !== JSON.stringify(want)) {
        (/#+\[/.test(JSON.stringify(l)) ? hashBracket : failures).push(
          `case ${i}: ${JSON.stringify(l).slice(0, 300)}\n  got  ${JSON.stringify(shown).slice(0, 300)}`,
        );
      }
      if (got[0] && got[0][2] !== tmuxSessionKey(l.layoutName) && !got[0][2]?.startsWith("mc-build-")) {
        rewrittenSessionNames++;
      }
    });
    figures.tmuxBuild = {
      cases: layouts.length,
      tabs,
      failures: failures.length,
      failuresWithHashBracket: hashBracket.length,
      sessionNamesTmuxRewrote: rewrittenSessionNames,
      ms: Math.round(performance.now() - started),
    };
    expect(failures.slice(0, 5)).toEqual([]);
    // tmux 3.3a copies a run of `#` before `[` verbatim (format.c format_expand1, case '#'): a startDir's
    // `#[x]` must arrive as it is, a window name's as the doubled run tmux draws as `#[x]`.
    expect(hashBracket.slice(0, 3)).toEqual([]);
  }, 120_000);

  it(`the tab wrapper of the same ${CASES} layouts hands every command to $SHELL byte for byte (real sh)`, () => {
    const started = performance.now();
    const probe = join(dir, "probe.sh");
    // Stands in for the user's shell: the wrapper runs `$SHELL <command file>`; it records that file.
    writeFileSync(probe, '#!/bin/sh\ncat -- "$1" > "$MC_PROBE_OUT"\n');
    chmodSync(probe, 0o755);
    const lines: string[] = ["#!/bin/sh"];
    const expected: { out: string; command: string; rec: string }[] = [];
    layouts.forEach((l, i) => {
      const caseDir = join(dir, "wrap", `c${i}`);
      mkdirSync(caseDir, { recursive: true });
      const f = tmuxSessionFiles(
        { tmux: "tmux" },
        {
          name: l.layoutName,
          index: i,
          // The wrapper enters the start directory itself (the hostile ones are the build test's): here,
          // one that exists, so every command reaches the shell.
          tabs: l.layoutTabs.map((t, index) => ({ index, ...t, startDir: caseDir })),
          dir: caseDir,
          // As in a real run, the records go next to the artefacts (the wrapper expects that directory to exist).
          runDir: caseDir,
          runId: `W${i}`,
          keepShell: false,
        },
        info,
      );
      writeFileSync(f.tabScriptPath, f.tabScript);
      // One tab per case (rotating through the tabs) keeps this under 10 s on 2 cores.
      const index = i % l.layoutTabs.length;
      const out = join(caseDir, `out-${index}`);
      lines.push(`MC_PROBE_OUT='${out}' SHELL='${probe}' /bin/sh '${f.tabScriptPath}' ${index}`);
      expected.push({
        out,
        command: l.layoutTabs[index]!.command,
        rec: join(caseDir, `tab-${index}.json`),
      });
    });
    writeFileSync(join(dir, "drive.sh"), `${lines.join("\n")}\n`);
    const driven = spawnSync("/bin/sh", [join(dir, "drive.sh")], {
      env: { ...env, MC_PROBE_OUT: "" },
      encoding: "utf8",
      stdio: ["ignore", "ignore", "pipe"],
      maxBuffer: 1 << 26,
    });
    // The wrappers themselves print nothing; anything on stderr is the machine failing (fork, disk).
    expect(driven.stderr.slice(0, 1500)).toBe("");
    const bad = expected.filter((e) => {
      let got: string | undefined;
      try {
        got = readFileSync(e.out, "utf8");
      } catch {}
      let rec: ReturnType<typeof parseTabRecord>;
      try {
        rec = parseTabRecord(readFileSync(e.rec, "utf8"));
      } catch {}
      // The command file holds the command and a newline (so a shell reads its last line).
      return got !== `${e.command}\n` || rec?.exit !== 0;
    });
    figures.tabWrapper = {
      cases: layouts.length,
      commands: expected.length,
      failures: bad.length,
      ms: Math.round(performance.now() - started),
    };
    expect(bad.slice(0, 5).map((b) => JSON.stringify(b.command).slice(0, 200))).toEqual([]);
  }, 120_000);
});

describe("zellij: KDL read back with kdljs 0.2.0 is structurally the layout", () => {
  it(`${CASES} hostile layouts (lone surrogates included, which must be refused precisely)`, () => {
    const started = performance.now();
    let accepted = 0;
    let refused = 0;
    const surrogate = fc.oneof(fc.constantFrom(...LONE_SURROGATES), hostile());
    const layouts = withExtremes.chain((l) =>
      fc.record({ s: surrogate, where: fc.integer({ min: 0, max: 9 }) }).map(({ s, where }) => {
        // One case in ten carries a lone surrogate in a tab field.
        if (where !== 0) return l;
        const [t0, ...rest] = l.layoutTabs;
        return { ...l, layoutTabs: [{ ...t0!, tabName: `${t0!.tabName}${s}` }, ...rest] };
      }),
    );
    fc.assert(
      fc.property(layouts, (l) => {
        const tabs = l.layoutTabs.map((t: HostileTab, index: number) => ({ index, ...t }));
        let files: ReturnType<typeof zellijSessionFiles>;
        try {
          files = zellijSessionFiles(
            {
              zellij: "zellij",
              version: undefined,
              name: l.layoutName,
              tabs,
              dir: "/st/a",
              runDir: "/st/r",
              runId: "RUN",
              exitMode: "shell",
            },
            info,
          );
        } catch (e) {
          refused++;
          expect(isMcError(e, "LAYOUT_INVALID")).toBe(true);
          expect((e as Error).message).toMatch(/unpaired UTF-16 surrogate/);
          expect(
            l.layoutTabs.some((t: HostileTab) => hasLoneSurrogate(t.tabName + t.startDir + t.command)),
          ).toBe(true);
          return;
        }
        accepted++;
        const parsed = readLayout(files.layout);
        const want = tabs.map((t: HostileTab & { index: number }) => {
          const startDir = normaliseStartDir(t.startDir, HOME);
          const [command, ...args] = paneArgv({ ...t, startDir }, files.tabScriptPath);
          return {
            name: t.tabName,
            // The pane carries mc's ownership marker (zellij keeps it as the title).
            paneName: paneName(t.tabName, "RUN"),
            cwd: isLiteralPath(startDir) ? startDir : undefined,
            command,
            closeOnExit: false,
            args,
          };
        });
        expect(parsed.tabs).toEqual(want);
      }),
      { numRuns: Math.round(CASES * 1.15), seed: SEED },
    );
    figures.zellijKdl = {
      cases: accepted + refused,
      accepted,
      refusedLoneSurrogate: refused,
      ms: Math.round(performance.now() - started),
    };
    expect(accepted).toBeGreaterThanOrEqual(CASES);
  }, 120_000);
});

describe("wt: PowerShell launch script parses with tree-sitter and wt's split gives back exactly the tabs", () => {
  it(`${CASES} hostile layouts through WtBackend.prepare`, async () => {
    const started = performance.now();
    let accepted = 0;
    const refusals = new Map<string, number>();
    const host = fakeHost();
    // wt 1.25 on pwsh 7.4: what WtBackend.checkAvailable would have probed.
    const platform = { wt: [1, 25, 1912, 0], powershell: [7, 4, 6], wtPath: "wt" };
    await fc.assert(
      fc.asyncProperty(withExtremes, fc.boolean(), async (l, keepShell) => {
        const be = new WtBackend(host);
        be.platform = platform;
        const spec = {
          index: 0,
          machine: "local",
          exitMode: keepShell ? ("shell" as const) : ("close" as const),
          requested: l.layoutName,
          name: l.layoutName,
          action: "create" as const,
          renamed: false,
          layout: l,
          runDir: "/state/runs/r/s0",
          artefactDir: "/state/runs/r/s0",
          runId: "20261204-230033-abc123",
          keepShell,
        };
        let prepared: ReturnType<WtBackend["prepare"]>;
        try {
          (be as SessionBackend).checkName?.(l.layoutName);
          prepared = be.prepare(spec, { platform: "win32", home: "C:\\Users\\u", stateDir: "/state" });
        } catch (e) {
          // Refusals must be precise: LAYOUT_INVALID naming the value.
          expect(isMcError(e, "LAYOUT_INVALID"), String(e)).toBe(true);
          const why = (e as Error).message.replace(/"(?:[^"\\]|\\.)*"/g, "…");
          refusals.set(why, (refusals.get(why) ?? 0) + 1);
          return;
        }
        accepted++;
        const launch = prepared.artefacts.find((a) => a.path.endsWith("launch.ps1"))!.content;
        const wrapper = prepared.artefacts.find((a) => a.path.endsWith("wrapper.ps1"))!.content;
        expect(await powershellSyntaxErrors(launch)).toEqual([]);
        expect(await powershellSyntaxErrors(wrapper)).toEqual([]);
        // PowerShell's reading of the script, then wt.exe's CommandLineToArgvW, then wt's `;` split + CLI11.
        const ps = evaluateLaunchScript(launch);
        expect(ps.args).toEqual(windowsArgv(`wt.exe ${ps.commandLine}`).slice(1));
        const inv = parseWtArgv(ps.args, cli11Of(platform.wt));
        expect(inv.window).toBe(wtWindowName(l.layoutName, spec.runId, 0));
        const wrapperPath = "/state/runs/r/s0/wrapper.ps1";
        expect(
          inv.actions.map((a) =>
            a.kind === "new-tab" ? [a.title, a.startingDirectory, windowsArgv(a.commandline!)] : a,
          ),
        ).toEqual(
          l.layoutTabs.map((t, i) => [
            t.tabName,
            normaliseStartDir(t.startDir, "C:\\Users\\u"),
            tabCommandline({ pwsh: be.pwsh, wrapperPath, platform }, i),
          ]),
        );
        // Commands never enter a script: each is its own file, byte for byte.
        expect(
          prepared.artefacts.filter((a) => a.path.endsWith(".command.txt")).map((a) => a.content),
        ).toEqual(l.layoutTabs.map((t) => t.command));
      }),
      { numRuns: Math.round(CASES * 1.6), seed: SEED },
    );
    figures.wtPowerShell = {
      cases: accepted + [...refusals.values()].reduce((a, b) => a + b, 0),
      accepted,
      refused: Object.fromEntries(refusals),
      ms: Math.round(performance.now() - started),
    };
    expect(accepted).toBeGreaterThanOrEqual(CASES);
  }, 180_000);
});
