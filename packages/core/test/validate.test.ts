import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { McError } from "../src/errors.js";
import { loadLayoutsFile, readLayoutsFile, unwrapLayouts } from "../src/layouts-file.js";
import { checkName, fitName, layoutsJsonSchema } from "../src/schema.js";
import { formatIssues, parseLayouts } from "../src/validate.js";

const fixtures = join(import.meta.dirname, "fixtures");

describe("loading machineconfig's format", () => {
  it("loads a machineconfig layouts file unchanged", async () => {
    const file = await readLayoutsFile(join(fixtures, "valid", "machineconfig-layout.json"));
    expect(file.$schema).toBe("https://bit.ly/cfglayout");
    expect(file.layouts[0]?.layoutTabs.map((t) => [t.tabName, t.tabWeight])).toEqual([
      ["build", 0],
      ["top", 0],
      ["log", undefined],
    ]);
    expect(file.layouts[0]?.layoutTabs[2]?.command).toBe("git log HEAD~1 | head -n 5");
  });

  it("accepts comments and trailing commas (JSONC)", async () => {
    const r = await loadLayoutsFile(join(fixtures, "valid", "with-comments.jsonc"));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.layouts[0]?.layoutTabs).toHaveLength(2);
  });

  it("warns on an unknown version but loads", () => {
    const r = parseLayouts(
      '{"version": "9", "layouts": [{"layoutName": "a", "layoutTabs": [{"tabName": "t", "startDir": "~", "command": "ls"}]}]}',
    );
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.warnings.map((w) => w.message)).toEqual(['unknown version "9"; read as "0.1"']);
  });

  it("loads a file without a version, as machineconfig does, with a warning (review H31-5)", () => {
    const r = parseLayouts(
      '{"layouts": [{"layoutName": "a", "layoutTabs": [{"tabName": "t", "startDir": "~", "command": "ls"}]}]}',
    );
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value.version).toBeUndefined();
      expect(r.warnings.map((w) => w.message)).toEqual([
        'no version; read as "0.1" (machineconfig writes "0.1")',
      ]);
    }
  });

  it("a tabWeight past 2^53 is said to be too large, not to be no integer (review H31-11)", () => {
    const file = (w: string) =>
      `{"version":"0.1","layouts":[{"layoutName":"a","layoutTabs":[{"tabName":"t","startDir":"/","command":"x","tabWeight":${w}}]}]}`;
    const big = parseLayouts(file("9007199254740992"));
    expect(!big.ok && big.issues.map((i) => i.message)).toEqual(["tabWeight is at most 9007199254740991"]);
    expect(parseLayouts(file("9007199254740991")).ok).toBe(true);
  });

  it("reports a missing file and a directory plainly", async () => {
    const missing = await loadLayoutsFile(join(fixtures, "nope.json"));
    expect(!missing.ok && missing.issues[0]?.message).toBe("no such file");
    const dir = await loadLayoutsFile(fixtures);
    expect(!dir.ok && dir.issues[0]?.message).toBe("is a directory, not a layouts file");
  });

  it.skipIf(process.platform !== "linux")(
    "a file that cannot be read is the file's problem, never a crash (review H20-1)",
    async () => {
      // /proc/self/mem opens and then fails to read (EIO), as a file of another user fails to open.
      const r = await loadLayoutsFile("/proc/self/mem");
      expect(!r.ok && r.issues[0]?.message).toMatch(/^cannot read it: /);
    },
  );

  it("readLayoutsFile of a missing file is LAYOUT_NOT_FOUND, not an invalid file (review H61-10)", async () => {
    const missing = join(fixtures, "nope.json");
    const err = await readLayoutsFile(missing).catch((e) => e);
    expect(err).toBeInstanceOf(McError);
    expect(err.code).toBe("LAYOUT_NOT_FOUND");
    expect(err.message).toBe(`[mc] [core] load: ${missing}: no such layouts file`);
    expect(err.hint).toBe("check the path; nothing was started");
    const relative = await readLayoutsFile("nope.json").catch((e) => e);
    expect(relative.hint).toBe(
      `check the path (relative to the working directory, ${process.cwd()}); nothing was started`,
    );
    // A directory is there, and wrong: still LAYOUT_INVALID.
    expect((await readLayoutsFile(fixtures).catch((e) => e)).code).toBe("LAYOUT_INVALID");
  });

  it("throws one LAYOUT_INVALID error that lists every issue", async () => {
    const err = await readLayoutsFile(join(fixtures, "malformed", "33-many-problems.json")).catch((e) => e);
    expect(err.code).toBe("LAYOUT_INVALID");
    expect(err.details).toHaveLength(5);
    expect(err.message).toContain("has 5 problems");
  });
});

describe("malformed corpus: each file gives its exact message", () => {
  const dir = join(fixtures, "malformed");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort();
  it("has at least 30 files", () => expect(files.length).toBeGreaterThanOrEqual(30));
  for (const f of files) {
    it(f, async () => {
      const r = await loadLayoutsFile(join(dir, f));
      expect(r.ok).toBe(false);
      if (r.ok) return;
      const expected = readFileSync(join(dir, f.replace(/\.json$/, ".expected")), "utf8");
      expect(`${formatIssues(r.issues, f)}\n`).toBe(expected);
    });
  }
});

describe("jobs fields and --lenient", () => {
  const file = (tabs: unknown[], extra: Record<string, unknown> = {}) =>
    JSON.stringify({ version: "0.1", layouts: [{ layoutName: "L", layoutTabs: tabs, ...extra }] }, null, 2);
  const tab = (name: string, more: Record<string, unknown> = {}) => ({
    tabName: name,
    startDir: "~",
    command: "true",
    ...more,
  });

  it("accepts dependsOn, readiness, retry, env, shell, onStart and onStop", () => {
    const r = parseLayouts(
      file(
        [
          tab("db", { readiness: { port: 5432, timeoutSeconds: 30 }, env: { PGDATA: "/x" } }),
          tab("app", { dependsOn: ["db"], retry: { max: 2, backoffSeconds: 1 }, shell: "bash" }),
        ],
        { env: { A: "1" }, onStart: "make prep", onStop: "make clean" },
      ),
    );
    expect(r.ok).toBe(true);
  });

  it("a shell that is a command line, not a program, is refused at its field; paths with spaces and quotes load (review H56-4)", () => {
    const bad = [
      "/bin/sh -c 'touch /tmp/x' #",
      "bash -l",
      "pwsh\t-NoLogo",
      'sh "x"',
      "bash\n",
      // (review H58-5)
      "/usr/bin/env bash",
      "env bash",
      " /bin/bash",
      "/bin/bash ",
    ];
    const r = parseLayouts(file(bad.map((sh, i) => tab(`t${i}`, { shell: sh }))));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.path)).toEqual(bad.map((_, i) => `layouts[0].layoutTabs[${i}].shell`));
    expect(r.issues[0]!.message).toBe(
      "shell is one program (a path, or a name on PATH), not a command line: options go in command",
    );
    const good = [
      "bash",
      "/usr/local/bin/fish",
      "C:\\Program Files\\PowerShell\\7\\pwsh.exe",
      "/home/ana o'neil/bin/zsh",
      "/home/env files/sh",
      "cmd",
    ];
    expect(parseLayouts(file(good.map((sh, i) => tab(`t${i}`, { shell: sh })))).ok).toBe(true);
  });

  it("--lenient reads a repeated key as machineconfig's json.loads does (the last) and a negative tabWeight as 0, each with a warning (review HR81-5)", () => {
    const dup =
      '{"version":"0.1","layouts":[{"layoutName":"x","layoutTabs":[{"tabName":"a","startDir":"/tmp","command":"one","command":"two","tabWeight":-2}]}]}';
    const strict = parseLayouts(dup);
    expect(!strict.ok && strict.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'layouts[0].layoutTabs[0].command: duplicate key "command"',
      "layouts[0].layoutTabs[0].tabWeight: tabWeight must be a non-negative integer",
    ]);
    // The error says --lenient is the way to run it as it is.
    expect(() => unwrapLayouts(strict)).toThrow(
      expect.objectContaining({
        hint: expect.stringContaining("pass --lenient to read them as machineconfig does"),
      }),
    );
    const r = parseLayouts(dup, { lenient: true });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.layouts[0]!.layoutTabs[0]).toMatchObject({ command: "two", tabWeight: 0 });
    expect(r.warnings.map((w) => `${w.line}:${w.column} ${w.path}: ${w.message}`)).toEqual([
      '1:110 layouts[0].layoutTabs[0].command: duplicate key "command": the last one is read (--lenient)',
      "1:138 layouts[0].layoutTabs[0].tabWeight: tabWeight -2 read as 0 (--lenient)",
    ]);
  });

  it("a typo'd key gets a did-you-mean, and --lenient still says it when the file has errors (review H20-10)", () => {
    const typo = file([{ tabName: "t", startDir: "~", comand: "ls" }]);
    const strict = parseLayouts(typo);
    expect(!strict.ok && strict.issues.map((i) => i.message)).toContain(
      'unknown key "comand" (did you mean command?)',
    );
    const lenient = parseLayouts(typo, { lenient: true });
    expect(!lenient.ok && lenient.issues.map((i) => i.message)).toEqual([
      "command is required",
      'unknown key "comand" ignored (--lenient; did you mean command?)',
    ]);
    // Far from every key: no guess.
    const far = parseLayouts(file([tab("t", { zzzzzz: 1 })]));
    expect(!far.ok && far.issues[0]!.message).toBe('unknown key "zzzzzz"');
  });

  it("a key valid at another level says where it belongs, never 'did you mean' itself: every key at every other level (review H61-3)", () => {
    type Level = "file" | "layout" | "tab" | "pane" | "readiness" | "retry";
    type Props = { properties: Record<string, Props>; items: Props };
    // The keys of each level from the published JSON Schema, not from the code under test.
    const s = layoutsJsonSchema() as unknown as Props;
    const layoutS = s.properties.layouts!.items;
    const tabS = layoutS.properties.layoutTabs!.items;
    const keys: Record<Level, string[]> = {
      file: Object.keys(s.properties),
      layout: Object.keys(layoutS.properties),
      tab: Object.keys(tabS.properties),
      pane: Object.keys(tabS.properties.panes!.items.properties),
      readiness: Object.keys(tabS.properties.readiness!.properties),
      retry: Object.keys(tabS.properties.retry!.properties),
    };
    const words: Record<Level, (k: string) => string[]> = {
      file: (k) => [`"${k}" belongs at the top level of the file`],
      layout: (k) => [
        `"${k}" belongs to a layout: put the layout inside "layouts": [ … ]`,
        // Never the key itself (review H62-4: "layoutName" is a layout key (next to layoutName)).
        `"${k}" is a layout key (next to ${k === "layoutName" ? "layoutTabs" : "layoutName"})`,
      ],
      tab: (k) => [
        `"${k}" belongs on each tab (in layoutTabs), not on the layout`,
        `"${k}" belongs on each tab (in layouts[].layoutTabs)`,
        `a pane has no "${k}": it is a tab key`,
        `"${k}" is a tab key`,
      ],
      pane: (k) => [`"${k}" belongs on a pane (an entry of the tab's "panes")`],
      readiness: (k) => [`"${k}" belongs inside the tab's "readiness": { … }`],
      retry: (k) => [`"${k}" belongs inside the tab's "retry": { … }`],
    };
    const levels = Object.keys(keys) as Level[];
    const place = (level: Level, key: string) => {
      const extra = { [key]: 1 };
      const pane = { command: "true", ...(level === "pane" ? extra : {}) };
      const t = {
        ...tab("t", level === "tab" ? extra : {}),
        panes: [pane],
        readiness: { port: 1, ...(level === "readiness" ? extra : {}) },
        retry: { max: 1, ...(level === "retry" ? extra : {}) },
      };
      const layout = { layoutName: "L", layoutTabs: [t], ...(level === "layout" ? extra : {}) };
      return JSON.stringify({ version: "0.1", layouts: [layout], ...(level === "file" ? extra : {}) });
    };
    const typos: string[] = [];
    let checked = 0;
    for (const level of levels)
      for (const key of new Set(levels.flatMap((l) => keys[l]))) {
        if (keys[level].includes(key)) continue;
        const homes = levels.filter((l) => keys[l].includes(key));
        const strict = parseLayouts(place(level, key));
        const lenient = parseLayouts(place(level, key), { lenient: true });
        const messages = [strict, lenient].flatMap((r) =>
          (r.ok ? r.warnings : r.issues)
            .map((i) => i.message)
            .filter((m) => m.startsWith(`unknown key "${key}"`)),
        );
        expect(messages.length, `${key} at ${level}`).toBeGreaterThan(0);
        for (const m of messages) {
          expect(m, `${key} at ${level}`).not.toContain(`did you mean ${key}?`);
          // A key one typo from a key of this level is answered with that key ("layout" in the file: layouts).
          const typo = /did you mean (\w+)\?\)$/.exec(m)?.[1];
          if (typo !== undefined && keys[level].includes(typo)) {
            typos.push(`${key} at ${level}: ${typo}`);
            continue;
          }
          expect(
            homes.flatMap((l) => words[l](key)).some((w) => m.includes(w)),
            `${key} at ${level}: ${m}`,
          ).toBe(true);
          checked++;
        }
      }
    expect([...new Set(typos)]).toEqual(["layout at file: layouts", "layouts at tab: layout"]);
    expect(checked).toBeGreaterThan(100);
  });

  it("a single layout given as the whole file, and the first-hour slips, say where the key goes (review H61-3)", () => {
    const issues = (text: string) => {
      const r = parseLayouts(text);
      return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
    };
    expect(issues(JSON.stringify({ layoutName: "a", layoutTabs: [tab("t")] }))).toEqual([
      "layouts: layouts is required",
      'layoutName: unknown key "layoutName" ("layoutName" belongs to a layout: put the layout inside "layouts": [ … ])',
      'layoutTabs: unknown key "layoutTabs" ("layoutTabs" belongs to a layout: put the layout inside "layouts": [ … ])',
    ]);
    expect(issues(file([tab("t")], { startDir: "~" }))).toEqual([
      'layouts[0].startDir: unknown key "startDir" ("startDir" belongs on each tab (in layoutTabs), not on the layout)',
    ]);
    expect(issues(file([tab("t", { onStop: "echo bye" })]))).toEqual([
      'layouts[0].layoutTabs[0].onStop: unknown key "onStop" ("onStop" is a layout key (next to layoutName), not a tab key)',
    ]);
    expect(
      issues(
        file([tab("t", { panes: [{ command: "true", tabName: "x" }], readiness: { port: 1, timeout: 5 } })]),
      ),
    ).toEqual([
      'layouts[0].layoutTabs[0].panes[0].tabName: unknown key "tabName" (a pane has no "tabName": it is a tab key)',
      'layouts[0].layoutTabs[0].readiness.timeout: unknown key "timeout" (did you mean timeoutSeconds?)',
    ]);
    // `name` is the name of where it is: one suggestion, not "tabName or layoutName".
    expect(issues(file([tab("t", { name: "x" })], { name: "y", cwd: "~" }))).toEqual([
      'layouts[0].layoutTabs[0].name: unknown key "name" (did you mean tabName?)',
      'layouts[0].name: unknown key "name" (did you mean layoutName?)',
      'layouts[0].cwd: unknown key "cwd" (did you mean startDir? "startDir" belongs on each tab (in layoutTabs), not on the layout)',
    ]);
  });

  it("a startDir starting with a variable other than $HOME, or ~user, is refused at validate; one later in the path is literal (reviews H61-9, H62-2)", () => {
    const only = "is not expanded: only ~, $HOME and ${HOME} are expanded (at the start of startDir)";
    for (const [dir, name] of [
      ["$PWD", "$PWD"],
      ["${WORK}/api", "${WORK}"],
      ["$HOMEDIR/x", "$HOMEDIR"],
      ["${ENV:-dev}/app", "${ENV:-dev}"],
    ]) {
      const r = parseLayouts(file([tab("t", { startDir: dir, panes: [{ startDir: dir }] })]));
      expect(!r.ok && r.issues.map((i) => `${i.path}: ${i.message}`), dir).toEqual([
        `layouts[0].layoutTabs[0].startDir: "${name}" ${only}; write the directory out`,
        `layouts[0].layoutTabs[0].panes[0].startDir: "${name}" ${only}; write the directory out`,
      ]);
    }
    const other = parseLayouts(file([tab("t", { startDir: "~root/x" })]));
    expect(!other.ok && other.issues.map((i) => i.message)).toEqual([
      '"~root" (another user\'s home) is not expanded; write the directory out',
    ]);
    // A directory may be named so (C:\$Recycle.Bin, /srv/d$x): read literally, said only if missing.
    for (const dir of [
      "$HOME",
      "${HOME}/src",
      "~",
      "~/a",
      "/a/$",
      "/a/$((1+1))",
      "/a/a$1",
      "rel/dir",
      "x~y",
      "~/code/$PROJECT",
      "$HOME/x/$HOME",
      "/srv/app-${ENV:-dev}",
      "C:\\$Recycle.Bin",
      "/tmp/x/d$x",
    ])
      expect(parseLayouts(file([tab("t", { startDir: dir })])).ok, dir).toBe(true);
  });

  it("an env name it refuses says why, at the key (not zod's 'Invalid key in record')", () => {
    const r = parseLayouts(file([tab("t", { env: { "1abc": "x", "A-B": "y", mc_cf: "z", MC_TAB: "q" } })]));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const msgs = r.issues.map((i) => `${i.path}: ${i.message}`);
    expect(msgs).toHaveLength(4);
    for (const k of ["1abc", "A-B"])
      expect(msgs).toContain(
        `layouts[0].layoutTabs[0].env["${k}"]: environment variable names are letters, digits and _ (not starting with a digit)`,
      );
    for (const k of ["mc_cf", "MC_TAB"])
      expect(msgs).toContain(
        `layouts[0].layoutTabs[0].env.${k}: environment variable names mc_* and MC_TAB are mc's own`,
      );
    expect(msgs.join("\n")).not.toContain("Invalid key in record");
  });

  it("refuses unknown or ambiguous dependencies and cycles, each with line:column", () => {
    const r = parseLayouts(
      file([
        tab("a", { dependsOn: ["b"] }),
        tab("b", { dependsOn: ["c"] }),
        tab("c", { dependsOn: ["a"] }),
        tab("d", { dependsOn: ["nope", "d"] }),
        tab("x"),
        tab("x"),
        tab("e", { dependsOn: ["x"] }),
      ]),
    );
    expect(r.ok).toBe(false);
    const messages = !r.ok ? r.issues.map((i) => `${i.line}:${i.path}: ${i.message}`) : [];
    expect(messages.join("\n")).toMatch(/dependsOn has a cycle: "a" → "b" → "c" → "a"/);
    expect(messages.join("\n")).toMatch(
      /layoutTabs\[3\]\.dependsOn\[0\]: dependsOn names "nope", which is not a tab/,
    );
    expect(messages.join("\n")).toMatch(/layoutTabs\[3\]\.dependsOn\[1\]: tab "d" depends on itself/);
    expect(messages.join("\n")).toMatch(/dependsOn names "x", which is the name of several tabs/);
    expect(!r.ok && r.issues.every((i) => i.line > 1)).toBe(true);
  });

  it("panes: accepted with split, size, focus, env and a layout; refused with line:column when wrong", () => {
    const ok = parseLayouts(
      file([
        tab("dev", {
          layout: "main-vertical",
          panes: [
            { command: "npm test", split: "down", size: "30%", env: { A: "1" } },
            { focus: true },
            { size: 12 },
          ],
        }),
      ]),
    );
    expect(ok.ok).toBe(true);
    const issues = (tabs: unknown[]) => {
      const r = parseLayouts(file(tabs));
      expect(r.ok).toBe(false);
      expect(!r.ok && r.issues.every((i) => i.line > 1)).toBe(true);
      return !r.ok ? r.issues.map((i) => `${i.path}: ${i.message}`).join("\n") : "";
    };
    const meaning = issues([
      tab("a", { panes: [{ focus: true }, { focus: true }] }),
      tab("b", { layout: "tiled" }),
    ]);
    expect(meaning).toMatch(
      /layoutTabs\[0\]\.panes\[1\]\.focus: only one pane can have the focus \(also panes\[0\]\)/,
    );
    expect(meaning).toMatch(/layoutTabs\[1\]\.layout: layout arranges panes: this tab has none/);
    const got = issues([
      tab("c", { panes: [{ split: "left" }, { size: "130%" }, { size: 0 }, { command: "" }, { bogus: 1 }] }),
      tab("d", { layout: "spiral", panes: [{}] }),
    ]);
    expect(got).toMatch(/layoutTabs\[0\]\.panes\[0\]\.split/);
    expect(got).toMatch(/layoutTabs\[0\]\.panes\[1\]\.size/);
    expect(got).toMatch(/layoutTabs\[0\]\.panes\[2\]\.size/);
    expect(got).toMatch(/layoutTabs\[0\]\.panes\[3\]\.command: command must not be blank/);
    expect(got).toMatch(/layoutTabs\[0\]\.panes\[4\]/);
    expect(got).toMatch(/layoutTabs\[1\]\.layout/);
    expect(issues([tab("e", { panes: Array.from({ length: 16 }, () => ({})) })])).toMatch(
      /layoutTabs\[0\]\.panes: a tab has at most 16 panes/,
    );
  });

  it("panes: a split that has no room (a pane under 3 cells split along it) is refused at its field (reviews H42-6, H45-2)", () => {
    const messages = (tabs: unknown[]) => {
      const r = parseLayouts(file(tabs));
      return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
    };
    expect(
      messages([
        tab("tiny", { panes: [{ size: 1 }, { split: "down", size: 1 }, { size: 1 }] }),
        tab("row", { panes: [{ size: 2 }, {}] }),
        // tmux makes a pane too large for its room as large as fits: 4 cells give 2 to the new pane.
        tab("fit", { panes: [{ split: "down", size: 4 }, { split: "down", size: 3 }, { split: "down" }] }),
      ]),
    ).toEqual([
      "layouts[0].layoutTabs[0].panes[2].size: split right from panes[1], which is 1 cell wide: a split needs 3 (two panes and the border)",
      "layouts[0].layoutTabs[1].panes[1]: split right from panes[0], which is 2 cells wide: a split needs 3 (two panes and the border)",
      "layouts[0].layoutTabs[2].panes[2].split: split down from panes[1], which is 2 cells high: a split needs 3 (two panes and the border)",
    ]);
    // Room that is there, or not known (a percentage, the window), is not judged; nor a size past the room.
    expect(
      messages([
        tab("ok", {
          panes: [
            { size: 5 },
            { size: 3 },
            { split: "down", size: 4 },
            { split: "down", size: "50%" },
            { size: 1 },
          ],
        }),
        tab("ok2", { panes: [{ size: 5 }, { split: "down", size: 3 }, { size: 3 }, { split: "down" }] }),
        tab("big", { panes: [{ split: "down", size: 10 }, { split: "down", size: 20 }, { split: "down" }] }),
      ]),
    ).toEqual([]);
  });

  it("fitName: what a name may not hold becomes _, and a cut never halves a character (review H45-3)", () => {
    expect(fitName("a\u001bb\u202ec")).toBe("a_b_c");
    const long = `${"a".repeat(249)}\u{1F600}`;
    expect(fitName(long, 250)).toBe("a".repeat(249));
    expect(fitName(long, 251)).toBe(long);
    expect(checkName(fitName(long, 250), "name")).toBe("a".repeat(249));
  });

  it("a readiness file starting with a variable other than $HOME, or ~user, is refused at validate with line:column; ~, $HOME and ${HOME} load (review H67-8)", () => {
    const only = "is not expanded: only ~, $HOME and ${HOME} are expanded (at the start of readiness.file)";
    for (const [f, name] of [
      ["$PWD/flag", "$PWD"],
      ["${XDG_RUNTIME_DIR}/x.sock", "${XDG_RUNTIME_DIR}"],
    ]) {
      const r = parseLayouts(file([tab("t", { readiness: { file: f } })]));
      expect(!r.ok && r.issues.map((i) => `${i.path}: ${i.message}`), f).toEqual([
        `layouts[0].layoutTabs[0].readiness.file: "${name}" ${only}; write the path out`,
      ]);
      expect(!r.ok && r.issues.every((i) => i.line > 1 && i.column > 1)).toBe(true);
    }
    const other = parseLayouts(file([tab("t", { readiness: { file: "~root/flag" } })]));
    expect(!other.ok && other.issues.map((i) => i.message)).toEqual([
      '"~root" (another user\'s home) is not expanded; write the path out',
    ]);
    for (const f of ["~/flag", "$HOME/flag", "${HOME}/flag", "flag", "/tmp/a$b", "x~y"])
      expect(parseLayouts(file([tab("t", { readiness: { file: f } })])).ok, f).toBe(true);
  });

  it("name and startDir lengths count UTF-16 units, as fitName does, and over-long is said once (review HR83-1)", () => {
    const emoji = "😀".repeat(200);
    const r = parseLayouts(file([tab("t", { tabName: emoji })]));
    expect(!r.ok && r.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      "layouts[0].layoutTabs[0].tabName: tabName is longer than 256 characters",
    ]);
    const long = parseLayouts(file([tab("x".repeat(300))]));
    expect(!long.ok && long.issues.map((i) => i.message)).toEqual(["tabName is longer than 256 characters"]);
    expect(fitName(emoji).length).toBeLessThanOrEqual(256);
    expect(parseLayouts(file([tab("t", { tabName: "😀".repeat(128) })])).ok).toBe(true);
    const dir = parseLayouts(file([tab("t", { startDir: `/${"é".repeat(2100)}${"😀".repeat(1000)}` })]));
    expect(!dir.ok && dir.issues.map((i) => i.message)).toEqual(["startDir is longer than 4096 characters"]);
  });

  it("a readiness.logMatches that is not a regular expression is refused at validate with line:column (review HR81-1)", () => {
    for (const [pattern, why] of [
      ["(", "Unterminated group"],
      ["a{2,1}", "numbers out of order in {} quantifier"],
      ["[z-a]", "Range out of order in character class"],
      ["\\", "\\ at end of pattern"],
      ["x/m: (", "Unterminated group"],
    ] as const) {
      const r = parseLayouts(file([tab("t", { readiness: { logMatches: pattern } })]));
      expect(!r.ok && r.issues.map((i) => `${i.path}: ${i.message}`), pattern).toEqual([
        `layouts[0].layoutTabs[0].readiness.logMatches: readiness.logMatches is not a valid regular expression: ${why}`,
      ]);
      expect(!r.ok && r.issues.every((i) => i.line > 1 && i.column > 1)).toBe(true);
    }
    for (const p of ["^listening on \\d+$", "server (up|ready)", "[/]", "a/m: b", "(?<n>x)\\k<n>"])
      expect(parseLayouts(file([tab("t", { readiness: { logMatches: p } })])).ok, p).toBe(true);
  });

  it("an env value, or a tab's env in all, that no command can be given is refused with line:column (review H67-9)", () => {
    const big = "x".repeat(140_000);
    const r = parseLayouts(file([tab("a", { env: { BIG: big } }), tab("b")]));
    expect(!r.ok && r.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      `layouts[0].layoutTabs[0].env.BIG: env BIG is 140005 bytes as NAME=value: no command can be given one over 131072 (Linux MAX_ARG_STRLEN); pass it in a file`,
    ]);
    expect(!r.ok && r.issues.every((i) => i.line > 1 && i.column > 1)).toBe(true);
    // Just under the bound loads; bytes count, not characters (é is two).
    expect(parseLayouts(file([tab("a", { env: { V: "x".repeat(131_072 - 3) } })])).ok).toBe(true);
    expect(parseLayouts(file([tab("a", { env: { V: "é".repeat(65_535) } })])).ok).toBe(false);
    // 16 values of 100 kB: each fits, and 8 of them, but not 16 (the layout's and the tab's, and a pane's).
    const many = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`V${i}`, "y".repeat(100_000)]));
    const split = Object.fromEntries(Object.entries(many).map(([k, v]) => [`T${k}`, v]));
    const total = parseLayouts(
      file([tab("a", { env: split, panes: [{ env: { P: "p" } }] }), tab("b")], { env: many }),
    );
    expect(!total.ok && total.issues.map((i) => i.path)).toEqual([
      "layouts[0].layoutTabs[0].env",
      "layouts[0].layoutTabs[0].panes[0].env",
    ]);
    expect(!total.ok && total.issues[0]!.message).toMatch(
      /^env of this tab with its layout's is \d+ bytes: over the 1048576/,
    );
    expect(parseLayouts(file([tab("a", { env: many })])).ok).toBe(true);
  });

  it("readiness takes exactly one condition", () => {
    const r = parseLayouts(file([tab("a", { readiness: { port: 1, file: "x" } })]));
    expect(!r.ok && r.issues[0]!.message).toBe(
      "readiness takes exactly one of file, port, logMatches, command",
    );
  });

  it("--lenient warns about and drops unknown keys, and reads a numeric-string tabWeight", () => {
    const text = file([tab("a", { color: "red", tabWeight: "3" })], { icon: "x" });
    expect(parseLayouts(text).ok).toBe(false);
    const r = parseLayouts(text, { lenient: true });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.layouts[0]!.layoutTabs[0]!.tabWeight).toBe(3);
    expect(r.warnings.map((w) => `${w.line}:${w.column} ${w.message}`)).toEqual([
      expect.stringMatching(/^\d+:\d+ unknown key "icon" ignored/),
      expect.stringMatching(/^\d+:\d+ unknown key "color" ignored/),
      expect.stringMatching(/^\d+:\d+ tabWeight "3" read as the number 3/),
    ]);
  });
});

describe("valid but likely a mistake: warnings, never errors (machineconfig's files keep loading)", () => {
  it("names tmux would make one session, and a tab name used twice in a layout", () => {
    const tab = (tabName: string) => ({ tabName, startDir: "~", command: "true" });
    const text = JSON.stringify({
      version: "0.1",
      layouts: [
        { layoutName: "a.b", layoutTabs: [tab("t"), tab("t")] },
        { layoutName: "a:b", layoutTabs: [tab("u")] },
        { layoutName: "c", layoutTabs: [tab("t")] },
        { layoutName: "c", layoutTabs: [tab("t")] },
        { layoutName: "d e", layoutTabs: [tab("t")] },
        { layoutName: "d_e", layoutTabs: [tab("t")] },
      ],
    });
    const r = parseLayouts(text);
    // A name given twice loads, as machineconfig reads it (review H31-3): --on-conflict decides at a run.
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.warnings.map((w) => `${w.path}: ${w.message}`)).toEqual([
      'layouts[3].layoutName: duplicate layoutName "c" (also layouts[2]): run together, the second is a name conflict (--on-conflict rename runs it as c_1; restart and merge-* too, taking over the one an earlier run made); -c and -t take the first',
      'layouts[0].layoutTabs[1].tabName: tabName "t" is also layoutTabs[0]: commands name these tabs by position (a.b/0, a.b/1)',
      `layouts[1].layoutName: layoutName "a:b" and "a.b" (layouts[0]) are one session, "a_b": a session's name has _ for a space, and tmux's for . and : too`,
      `layouts[5].layoutName: layoutName "d_e" and "d e" (layouts[4]) are one session, "d_e": a session's name has _ for a space, and tmux's for . and : too`,
    ]);
  });
});

describe("hostile sizes and bounds", () => {
  it("a document nested 200,000 deep (anywhere, strings and comments aside) is refused, not a crash", async () => {
    const { parseLayouts } = await import("../src/validate.js");
    for (const text of [
      `{"version":"0.1","layouts":${"[".repeat(200_000)}${"]".repeat(200_000)}}`,
      `{"version":"0.1","bogus":${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)},"layouts":[]}`,
    ]) {
      const r = parseLayouts(text);
      expect(r.ok).toBe(false);
      expect(!r.ok && r.issues[0]!.message).toMatch(/nested deeper than/);
    }
    // Brackets inside strings and comments are not nesting.
    const fine = `// ${"[".repeat(500)}\n{"version":"0.1","layouts":[{"layoutName":"${"{".repeat(100)}","layoutTabs":[{"tabName":"t","startDir":"/tmp","command":"echo ${"[".repeat(200)}"}]}]}`;
    expect(parseLayouts(fine).ok).toBe(true);
  });

  it("retries, backoff and readiness timeouts have upper bounds", async () => {
    const { parseLayouts } = await import("../src/validate.js");
    const tab = (extra: object) =>
      JSON.stringify({
        version: "0.1",
        layouts: [
          { layoutName: "l", layoutTabs: [{ tabName: "t", startDir: "/tmp", command: "true", ...extra }] },
        ],
      });
    for (const extra of [
      { retry: { max: 1e15 } },
      { retry: { max: 3, backoffSeconds: 1e300 } },
      { readiness: { file: "x", timeoutSeconds: 1e300 } },
    ])
      expect(parseLayouts(tab(extra)).ok, JSON.stringify(extra)).toBe(false);
    expect(parseLayouts(tab({ retry: { max: 100, backoffSeconds: 3600 } })).ok).toBe(true);
  });
});

describe("messages in mc's own words (review H74-5)", () => {
  it("bounds, choices and whole numbers say what was given; a mistyped field gets one message; a repeated dependency is said", () => {
    const text = JSON.stringify({
      version: "0.1",
      layouts: [
        {
          layoutName: "L",
          layoutTabs: [
            {
              tabName: "a",
              startDir: "/tmp",
              command: "x",
              retry: { max: 1.5, backoffSeconds: -1 },
              readiness: { port: 70000 },
            },
            { tabName: "b", startDir: "/tmp", command: "x", readiness: { file: "f", timeoutSeconds: 0 } },
            {
              tabName: "c",
              startDir: "/tmp",
              command: "x",
              panes: [
                { command: "y", split: "left" },
                { command: "z", focus: "true" },
              ],
            },
          ],
        },
        { layoutName: "M", layoutTabs: "" },
      ],
    });
    const r = parseLayouts(text);
    expect(r.ok).toBe(false);
    const said = r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
    expect(said).toEqual(
      expect.arrayContaining([
        "layouts[0].layoutTabs[0].retry.max: max must be a whole number, got a decimal number",
        "layouts[0].layoutTabs[0].retry.backoffSeconds: backoffSeconds must be at least 0, got -1",
        "layouts[0].layoutTabs[0].readiness.port: port must be at most 65535, got 70000",
        "layouts[0].layoutTabs[1].readiness.timeoutSeconds: timeoutSeconds must be more than 0, got 0",
        'layouts[0].layoutTabs[2].panes[0].split: split must be one of "right", "down", got "left"',
        'layouts[0].layoutTabs[2].panes[1].focus: focus must be true, got "true"',
        "layouts[1].layoutTabs: layoutTabs must be an array, got a string",
      ]),
    );
    expect(said.join("\n")).not.toMatch(
      /Too small|Too big|Invalid option|Invalid input|must have at least one tab/,
    );
    const deps = parseLayouts(
      JSON.stringify({
        version: "0.1",
        layouts: [
          {
            layoutName: "L",
            layoutTabs: [
              { tabName: "a", startDir: "/tmp", command: "x" },
              { tabName: "b", startDir: "/tmp", command: "x", dependsOn: ["a", "a"] },
            ],
          },
        ],
      }),
    );
    expect(deps.ok && deps.warnings.map((w) => `${w.path}: ${w.message}`)).toEqual([
      'layouts[0].layoutTabs[1].dependsOn[1]: dependsOn names "a" again (dependsOn[0])',
    ]);
  });
});

describe("a __proto__ key (review HR86-2: each of two defences stood untested)", () => {
  const tab = (extra: string) =>
    `{"version":"0.1","layouts":[{"layoutName":"x","layoutTabs":[{"tabName":"t","startDir":"/tmp"${extra}}]}]}`;

  it("is refused at every level as an unknown key, and never lends a field", () => {
    for (const text of [
      tab(',"__proto__":{"command":"echo HIDDEN"}'),
      tab(',"command":"ls","__proto__":{"env":{"A":"b"}}'),
      '{"version":"0.1","__proto__":{"x":1},"layouts":[{"layoutName":"x","layoutTabs":[{"tabName":"t","startDir":"/tmp","command":"ls"}]}]}',
      '{"version":"0.1","layouts":[{"layoutName":"x","__proto__":{"layoutTabs":[]},"layoutTabs":[{"tabName":"t","startDir":"/tmp","command":"ls"}]}]}',
    ]) {
      const r = parseLayouts(text);
      expect(r.ok, text).toBe(false);
      if (!r.ok) expect(r.issues.map((i) => i.message).join("\n"), text).toMatch(/unknown key "__proto__"/);
    }
  });

  it("reads as an own key of a plain object, not the object's prototype", async () => {
    const { parseTree } = await import("jsonc-parser");
    const { nodeToValue } = await import("../src/json-source.js");
    const v = nodeToValue(parseTree('{"__proto__":{"command":"echo HIDDEN"}}')!) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.hasOwn(v, "__proto__")).toBe(true);
    expect((v as { command?: unknown }).command).toBeUndefined();
  });
});

describe("rules no test stood for (review HR86-5)", () => {
  const file = (layoutName: string, tab: Record<string, unknown>) =>
    JSON.stringify({
      version: "0.1",
      layouts: [{ layoutName, layoutTabs: [{ tabName: "t", startDir: "/tmp", command: "ls", ...tab }] }],
    });

  it("names are read in one spelling (NFC): a decomposed é is the é a user types", () => {
    const r = parseLayouts(file("caf\u0065\u0301", { tabName: "r\u0065\u0301sum\u0065\u0301" }));
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value.layouts[0]!.layoutName).toBe("caf\u00e9");
      expect(r.value.layouts[0]!.layoutTabs[0]!.tabName).toBe("r\u00e9sum\u00e9");
    }
  });

  it("an env value holding NUL is refused (a shell drops it, or refuses the script)", () => {
    const r = parseLayouts(file("n", { env: { V: "a\u0000b" } }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.path).join(" ")).toMatch(/env/);
  });
});

describe("large files that are valid or nearly (review HR90-1, HR90-2)", () => {
  const chain = (n: number, cycle: boolean) =>
    JSON.stringify({
      version: "0.1",
      layouts: [
        {
          layoutName: "c",
          layoutTabs: Array.from({ length: n }, (_, i) => ({
            tabName: `t${i}`,
            startDir: "/tmp",
            command: "true",
            ...(i + 1 < n ? { dependsOn: [`t${i + 1}`] } : cycle ? { dependsOn: ["t0"] } : {}),
          })),
        },
      ],
    });

  it("a dependsOn chain of 20,000 tabs validates, and its cycle is named, without overflowing the stack", () => {
    expect(parseLayouts(chain(20_000, false)).ok).toBe(true);
    const r = parseLayouts(chain(20_000, true));
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.issues.map((i) => i.message).join("\n")).toMatch(/dependsOn has a cycle: "t0" → "t1" → /);
  });

  it("150,000 repeated keys are refused with the first 200 listed and the rest counted", () => {
    const keys = Array.from({ length: 150_000 }, () => '"x":1').join(",");
    const text = `{"version":"0.1","layouts":[{"layoutName":"a","layoutTabs":[{"tabName":"t","startDir":"/tmp","command":"ls",${keys}}]}]}`;
    const r = parseLayouts(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      const lines = formatIssues(r.issues, "f.json").split("\n");
      expect(lines.length).toBe(201);
      expect(lines.at(-1)).toMatch(/^f\.json: … and \d+ more$/);
    }
  });
});
