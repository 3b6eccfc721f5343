import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LayoutConfig, PaneConfig, TabConfig } from "@mc/core";
import { flatten, shQuote, unflatten } from "@mc/core";
import fc from "fast-check";
import { parse as parseKdl } from "kdljs";
import { afterAll, describe, expect, it } from "vitest";
import { TMUX_FORMAT } from "../src/convert/export-common.js";
import { importText } from "../src/convert/read.js";
import {
  exportLine,
  INTERACTIVE_SHELL,
  isTmuxKeyName,
  linesStandAlone,
  parseExportLine,
  shlexSplit,
} from "../src/convert/shell.js";
import { parseYaml, rubyFloat } from "../src/convert/source.js";
import { formatTmuxLayout, layoutChecksum, parseTmuxLayout } from "../src/convert/tmux-layout.js";
import { exportTmuxinator } from "../src/convert/tmuxinator-export.js";
import { expandvarsRefs, exportTmuxp } from "../src/convert/tmuxp-export.js";
import type { Format } from "../src/convert/types.js";
import { exportZellij } from "../src/convert/zellij-export.js";

const tmp = mkdtempSync(join(tmpdir(), "mc-convert-rt-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Text the way a hostile layouts file has it: quotes, $, ~, #, ERB and KDL syntax, tmux key names,
// YAML 1.1 words, non-ASCII, invisible characters, newlines; never NUL or a lone surrogate (mc refuses those).
const piece = fc.constantFrom(
  "'",
  '"',
  "\\",
  "$HOME",
  "${X}",
  "$(id)",
  "`id`",
  "~",
  "#",
  "#{pane_id}",
  "<%= 1 %>",
  "<%%",
  "<%",
  "%>",
  "-",
  "\n-l ",
  "\n -x",
  "{",
  "}",
  ";",
  "&",
  "|",
  "end",
  "C-c",
  "Enter",
  "yes",
  "no",
  "on",
  "~",
  "null",
  "0755",
  "12:30",
  "- x",
  ": y",
  "? z",
  "blank",
  "pane",
  "é",
  "🚀",
  "\u200b",
  "\u00a0",
  "\u0085",
  "\u2028",
  "\t",
  "\n",
  " ",
  "x",
  "echo",
  "//",
  "/*",
);
const text = fc
  .array(fc.oneof(piece, fc.string({ unit: "grapheme", maxLength: 4 })), { minLength: 1, maxLength: 8 })
  .map((a) => a.join("").replace(/\0/g, ""))
  .filter((s) => s.trim().length > 0);
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
// mc keeps names NFC-normalised (one spelling per name).
const name = text
  .map((s) => s.replace(new RegExp(CONTROL, "g"), "_").slice(0, 60).normalize("NFC"))
  .filter((s) => s.trim().length > 0);
const dir = fc
  .oneof(
    text.map((s) => `/tmp/${s.replace(/\n/g, "")}`),
    text.map((s) => `~/${s.replace(/\n/g, "")}`),
  )
  .filter((d) => !/\/\.\.?(\/|$)|\/\//.test(d) && !d.endsWith("/"));
const envName = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,6}$/);
const envValue = text.filter((v) => !v.startsWith(".") && !/\$(\w|\{)/.test(v));
const env = fc.dictionary(envName, envValue, { maxKeys: 2 });
/** What tmuxp and tmuxinator TYPE into a shell holds no C0 control character but the newline (refused). */
const TYPED_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f]/g;
const typed = (a: fc.Arbitrary<string>) =>
  a.map((s) => s.replace(TYPED_CONTROL, "")).filter((s) => s.trim().length > 0);
const typedEnv = fc.dictionary(envName, typed(envValue), { maxKeys: 2 });

/** Directories a format can carry: tmux would expand a format in a tmuxp or tmuxinator start directory. */
const dirFor = (f: Format) => (f === "zellij" ? dir : dir.filter((d) => !TMUX_FORMAT.test(d)));

/**
 * Tab names as a tmuxp or tmuxinator file holds them: a `#` that would start a tmux format becomes `_`
 * (the layout's name is given back by the round trip's import, as `sessions import --name` does).
 */
const tmuxNamed = (l: LayoutConfig): LayoutConfig => {
  const n = (s: string) => (TMUX_FORMAT.test(s) ? s.replaceAll("#", "_") : s);
  return {
    ...l,
    layoutTabs: l.layoutTabs.map((t) => ({ ...t, tabName: n(t.tabName) })),
  };
};

/** An mc layout as hostile as mc accepts; `f` says what the target format cannot carry, so it is left out. */
function layoutArb(f: Format): fc.Arbitrary<LayoutConfig> {
  const command = f === "zellij" ? text : typed(text);
  // tmuxinator types variables too (`export A=…`); tmuxp sets them as tmux environment.
  const envOf = f === "tmuxinator" ? typedEnv : env;
  const pane = fc.record(
    {
      command,
      startDir: f === "tmuxinator" ? fc.constant(undefined) : dirFor(f),
      env: envOf,
      split: fc.constantFrom("right" as const, "down" as const),
      size: fc.integer({ min: 20, max: 80 }).map((n) => `${n}%`),
    },
    { requiredKeys: ["split"] },
  );
  const tab = fc.record({
    tabName: name,
    startDir: dirFor(f),
    command,
    env: envOf,
    panes: fc.array(pane, { maxLength: 3 }),
    focus: fc.integer({ min: 0, max: 3 }),
    layout:
      f === "zellij"
        ? fc.constant(undefined)
        : fc.option(fc.constantFrom("tiled" as const, "even-horizontal" as const), { nil: undefined }),
  });
  return fc
    .record({
      layoutName: name,
      tabs: fc.array(tab, { minLength: 1, maxLength: 3 }),
      env: envOf,
      onStart: fc.option(text, { nil: undefined }),
    })
    .map((l) => {
      const layout: LayoutConfig = {
        layoutName: l.layoutName,
        layoutTabs: l.tabs.map((t): TabConfig => {
          const out: TabConfig = { tabName: t.tabName, startDir: t.startDir, command: t.command };
          if (Object.keys(t.env).length) out.env = t.env;
          if (t.panes.length) {
            out.panes = t.panes.map((p, i): PaneConfig => {
              const q: PaneConfig = { ...p };
              if (q.startDir === undefined) delete q.startDir;
              if (!Object.keys(p.env ?? {}).length) delete q.env;
              if (i + 1 === t.focus) q.focus = true;
              return q;
            });
            if (t.layout) out.layout = t.layout;
          }
          return out;
        }),
      };
      if (Object.keys(l.env).length) layout.env = l.env;
      if (l.onStart !== undefined && f !== "zellij") layout.onStart = l.onStart;
      return layout;
    });
}

/** What a layout means pane by pane: command, directory, every variable, focus, and (roughly) geometry. */
function meaning(l: LayoutConfig) {
  return {
    name: l.layoutName,
    onStart: l.onStart,
    tabs: l.layoutTabs.map((t) => {
      const panes = [
        { command: t.command, startDir: t.startDir, env: {} as Record<string, string>, focus: false },
        ...(t.panes ?? []).map((p) => ({
          command: p.command,
          startDir: p.startDir ?? t.startDir,
          env: p.env ?? {},
          focus: Boolean(p.focus),
        })),
      ];
      const focus = Math.max(
        0,
        panes.findIndex((p) => p.focus),
      );
      return {
        name: t.tabName,
        layout: t.layout,
        splits: (t.panes ?? []).map((p) => p.split ?? "right"),
        focus,
        panes: panes.map((p) => ({
          command: p.command === INTERACTIVE_SHELL ? undefined : p.command,
          startDir: p.startDir,
          env: { ...l.env, ...t.env, ...p.env },
        })),
      };
    }),
  };
}

const EXPORT = { tmuxp: exportTmuxp, tmuxinator: exportTmuxinator, zellij: exportZellij } as const;
const roundTrip = (l: LayoutConfig, f: Format) => {
  const e = EXPORT[f](l, tmp);
  const file = f === "zellij" ? "x.kdl" : f === "tmuxp" ? "x.yaml" : "x.yml";
  const back = importText(e.text, f, { file: join(tmp, file), cwd: tmp, env: {} }, file, l.layoutName);
  return { e, back: back.file.layouts[0]! };
};

describe.each(["tmuxp", "tmuxinator", "zellij"] as const)(
  "export --to %s then import gives the same layout",
  (f) => {
    it("for any names, directories, commands and variables (fast-check)", () => {
      fc.assert(
        fc.property(layoutArb(f), (l) => {
          const { back } = roundTrip(l, f);
          const want = meaning(f === "zellij" ? l : tmuxNamed(l));
          const got = meaning(back);
          if (f === "tmuxp" || f === "tmuxinator") for (const t of [...want.tabs, ...got.tabs]) t.splits = [];
          if (f === "zellij") for (const t of [...want.tabs, ...got.tabs]) t.layout = undefined;
          expect(got).toEqual(want);
        }),
        { numRuns: 150 },
      );
    });
    it("a line ending in ; and spaces comes back as written (fast-check found `; `: H32-11's space)", () => {
      for (const command of [";", "; ", "a ;  ", "find . -exec true {} \\;", "x;\ny; "]) {
        const l: LayoutConfig = {
          layoutName: "semi",
          layoutTabs: [{ tabName: "t", startDir: "/tmp", command, panes: [{ command }] }],
        };
        const { back } = roundTrip(l, f);
        expect(back.layoutTabs[0]!.command, JSON.stringify(command)).toBe(command);
        expect(back.layoutTabs[0]!.panes?.[0]?.command, JSON.stringify(command)).toBe(command);
      }
    });
  },
);

describe.each(["tmuxp", "tmuxinator"] as const)("export --to %s never hands tmux a format", (f) => {
  const format = fc
    .tuple(name, fc.constantFrom("#(touch /tmp/pwned)", "#{pane_id}", "#[fg=red]", "##", "#S", "#,"), name)
    .map(([a, b, c]) =>
      `${[...a].slice(0, 20).join("")}${b}${[...c].slice(0, 20).join("")}`.normalize("NFC"),
    );
  it("a session name with . or : is written as tmux keeps it, and said so (review H32-7)", () => {
    const l: LayoutConfig = {
      layoutName: "a.b:c",
      layoutTabs: [{ tabName: "w.x:y", startDir: "/tmp", command: "true" }],
    };
    const e = EXPORT[f](l, tmp);
    const back = importText(e.text, f, { file: join(tmp, "x.yml"), cwd: tmp, env: {} }, "x.yml");
    expect(back.file.layouts[0]!.layoutName).toBe("a_b_c");
    // A window's name keeps them: tmux does.
    expect(back.file.layouts[0]!.layoutTabs[0]!.tabName).toBe("w.x:y");
    expect(e.warnings.map((w) => w.message).join("\n")).toMatch(
      /tmux keeps \. and : in a session's name as _/,
    );
  });

  it("a start directory tmuxp would expand ($VAR) is said (review H39-3)", () => {
    for (const [startDir, panes] of [
      ["/tmp/$HOME", undefined],
      ["/tmp", [{ command: "true", startDir: "/tmp/${X}y" }]],
    ] as const) {
      const l: LayoutConfig = {
        layoutName: "d",
        layoutTabs: [{ tabName: "w", startDir, command: "true", ...(panes ? { panes: [...panes] } : {}) }],
      };
      const said = EXPORT[f](l, tmp)
        .warnings.map((w) => w.message)
        .join("\n");
      if (f === "tmuxp") expect(said).toContain("tmuxp replaces $VAR in start_directory");
    }
  });

  it("a session name with a space is written as sessions run names it on tmux, and said so (review H33-7)", () => {
    const l: LayoutConfig = {
      layoutName: "a.b:c d  e",
      layoutTabs: [{ tabName: "w x", startDir: "/tmp", command: "true" }],
    };
    const e = EXPORT[f](l, tmp);
    const back = importText(e.text, f, { file: join(tmp, "x.yml"), cwd: tmp, env: {} }, "x.yml");
    expect(back.file.layouts[0]!.layoutName).toBe("a_b_c_d__e");
    expect(back.file.layouts[0]!.layoutTabs[0]!.tabName).toBe("w x");
    expect(e.warnings.map((w) => w.message).join("\n")).toMatch(/spells a space in a session's name as _/);
  });

  it("a session name tmux would store escaped (\\, $x, ${) is written with _ for them, and said so (review H56-2)", () => {
    const named = (layoutName: string) => {
      const e = EXPORT[f](
        { layoutName, layoutTabs: [{ tabName: "w", startDir: "/tmp", command: "true" }] },
        tmp,
      );
      const back = importText(e.text, f, { file: join(tmp, "x.yml"), cwd: tmp, env: {} }, "x.yml");
      return [back.file.layouts[0]!.layoutName, e.warnings.map((w) => w.message).join("\n")] as const;
    };
    for (const [given, kept] of [
      ["a${b}\\c", "a_{b}_c"],
      ["a$$b", "a__b"],
      ["x.y$z", "x_y_z"],
      ["a$.", "a__"],
    ]) {
      const [name, said] = named(given!);
      expect(name, given).toBe(kept);
      expect(said).toMatch(/tmux keeps \\ and a \$ before a letter, _ or \{ in a session's name escaped/);
    }
    // A $ tmux keeps as it is stays.
    for (const given of ["a$1", "a$", "a$-"]) {
      const [name, said] = named(given);
      expect(name).toBe(given);
      expect(said).not.toMatch(/written as/);
    }
    // What was written has no $ left for tmuxp to replace: not warned of (review H58-6).
    expect(named("d${HOME}x")[1]).not.toMatch(
      /tmuxp replaces \$VAR and a leading ~ in session and window names/,
    );
  });

  it("a name holding one is written without it and said so; a start directory holding one is refused", () => {
    fc.assert(
      fc.property(format, (bad) => {
        const l: LayoutConfig = {
          layoutName: bad,
          layoutTabs: [{ tabName: bad, startDir: "/tmp", command: "true" }],
        };
        const e = EXPORT[f](l, tmp);
        const back = importText(e.text, f, { file: join(tmp, "x.yml"), cwd: tmp, env: {} }, "x.yml");
        const got = back.file.layouts[0]!;
        for (const n of [got.layoutName, got.layoutTabs[0]!.tabName]) expect(n).not.toMatch(TMUX_FORMAT);
        expect(e.warnings.map((w) => w.message).join("\n")).toMatch(/tmux reads #/);
        const inDir: LayoutConfig = {
          layoutName: "ok",
          layoutTabs: [{ tabName: "t", startDir: `/tmp/${bad.replaceAll("/", "_")}`, command: "true" }],
        };
        expect(() => EXPORT[f](inDir, tmp)).toThrow(/tmux reads as a format/);
      }),
      { numRuns: 100 },
    );
  });
});

describe("export --to tmuxp: a $NAME in a command is replaced by tmuxp when it loads the file (review H56-1)", () => {
  const said = (l: LayoutConfig) => exportTmuxp(l, tmp).warnings;
  const tab = (command: string, more: Partial<TabConfig> = {}): TabConfig => ({
    tabName: "a",
    startDir: "/tmp",
    command,
    ...more,
  });
  const at = 'tab "a" (layoutTabs[0].command)';

  it("outside single quotes too, naming each; a variable of the layout's or tab's env is named as such", () => {
    const w = said({
      layoutName: "x",
      env: { NODE_ENV: "production" },
      layoutTabs: [tab('echo "$NODE_ENV"')],
    });
    expect(w).toEqual([
      {
        at,
        message:
          "tmuxp replaces $NODE_ENV when it loads the file, with the value in tmuxp's own environment where that has the variable: not the pane's value, nor one the command sets first (a cd, X=1)",
      },
      {
        at,
        message:
          "NODE_ENV: set by the layout's env, which is the pane's environment, not tmuxp's: where tmuxp's own environment has it, the command gets that value instead",
      },
    ]);
    // A variable the command changes before using it: tmuxp's value, not the one after the cd.
    expect(said({ layoutName: "x", layoutTabs: [tab('cd /tmp && echo "now in $PWD"')] })).toEqual([
      { at, message: w[0]!.message.replace("$NODE_ENV", "$PWD") },
    ]);
    // $1 is a name to expandvars (\w+); single quotes are said, as the shell would not expand there.
    const q = said({ layoutName: "x", layoutTabs: [tab("f() { echo $1 ${X}; }; echo '$Y' $1")] });
    expect(q.map((x) => x.message)).toEqual([
      expect.stringMatching(
        /^tmuxp replaces \$1, \$\{X\}, \$Y when it loads the file, also inside single quotes, /,
      ),
    ]);
    // A pane's command: the tab's env and the pane's own are named.
    const p = said({
      layoutName: "x",
      layoutTabs: [tab("true", { env: { A: "1" }, panes: [{ command: "echo $A $B", env: { B: "2" } }] })],
    });
    expect(p.map((x) => [x.at, x.message.split(":")[0]])).toEqual([
      [
        'tab "a" (layoutTabs[0].panes[0].command)',
        "tmuxp replaces $A, $B when it loads the file, with the value in tmuxp's own environment where that has the variable",
      ],
      ['tab "a" (layoutTabs[0].panes[0].command)', "A"],
      ['tab "a" (layoutTabs[0].panes[0].command)', "B"],
    ]);
  });

  it("nothing is said of what expandvars leaves alone, or of an interactive shell", () => {
    for (const command of ["echo $ $- $$ ${} ${a=b} 5$", "true", INTERACTIVE_SHELL])
      expect(said({ layoutName: "x", layoutTabs: [tab(command)] }), command).toEqual([]);
  });
});

describe("tmuxinator: what it types reaches the shell as written", () => {
  it("a line starting with - is not read as send-keys flags, and comes back exactly", () => {
    const l: LayoutConfig = {
      layoutName: "x",
      layoutTabs: [{ tabName: "t", startDir: "/tmp", command: "- yes\n -x\necho ok\n  --help" }],
    };
    const e = EXPORT.tmuxinator(l, tmp);
    const doc = parseYaml(e.text, "x") as { windows: Record<string, { panes: string[][] }>[] };
    const typedLines = doc.windows[0]!.t!.panes[0]!;
    for (const line of typedLines) expect(line.startsWith("-"), line).toBe(false);
    expect(roundTrip(l, "tmuxinator").back.layoutTabs[0]!.command).toBe(l.layoutTabs[0]!.command);
  });
});

describe("a control character in what tmuxp or tmuxinator would type is refused (it would edit the line)", () => {
  const controls = [...Array.from({ length: 32 }, (_, i) => i).filter((i) => i !== 10), 0x7f].map((i) =>
    String.fromCharCode(i),
  );
  const one = (tab: Partial<TabConfig>, env?: Record<string, string>): LayoutConfig => ({
    layoutName: "x",
    layoutTabs: [{ tabName: "t", startDir: "/tmp", command: "true", ...tab }],
    ...(env ? { env } : {}),
  });
  it("in a command, a pane's command, and (tmuxinator, which types them) a variable", () => {
    for (const c of controls) {
      const code = `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
      const cmd = `echo SAFE${c}touch /tmp/pwned`;
      for (const f of ["tmuxp", "tmuxinator"] as const) {
        expect(() => EXPORT[f](one({ command: cmd }), tmp), `${f} ${code}`).toThrow(
          new RegExp(
            `tab "t" \\(layoutTabs\\[0\\]\\.command\\): what it types holds the control character ${code.replace("+", "\\+")}`,
          ),
        );
        expect(() => EXPORT[f](one({ panes: [{ command: cmd }] }), tmp), `${f} pane ${code}`).toThrow(
          /tab "t" \(layoutTabs\[0\]\.panes\[0\]\.command\): .*control character/,
        );
      }
      expect(() => EXPORT.tmuxinator(one({ env: { A: `x${c}y` } }), tmp)).toThrow(/control character/);
      expect(() => EXPORT.tmuxinator(one({}, { A: `x${c}y` }), tmp)).toThrow(/env: .*control character/);
      // tmuxp sets variables as tmux environment (not typed); zellij runs commands (not typed).
      expect(() => EXPORT.tmuxp(one({ env: { A: `x${c}y` } }), tmp)).not.toThrow();
      expect(() => EXPORT.zellij(one({ command: cmd }), tmp)).not.toThrow();
    }
  });
});

describe("the other tools' own parsers read what mc writes as the same strings", () => {
  const python = (() => {
    try {
      execFileSync("python3", ["-c", "import yaml"]);
      return true;
    } catch {
      return false;
    }
  })();
  const ruby = (() => {
    try {
      execFileSync("ruby", ["-ryaml", "-rerb", "-e", "1"]);
      return true;
    } catch {
      return false;
    }
  })();
  if (!python) console.warn("[mc] PyYAML check SKIPPED: python3 with the yaml module is not installed");
  if (!ruby) console.warn("[mc] Psych/ERB check SKIPPED: ruby is not installed");

  const samples = (f: Format) =>
    fc.sample(layoutArb(f), { numRuns: 60, seed: 17 }).map((l) => EXPORT[f](l, tmp).text);
  it.skipIf(!python)("PyYAML (tmuxp's loader) reads every exported tmuxp file as mc's parser does", () => {
    const texts = samples("tmuxp");
    const path = join(tmp, "pyyaml.json");
    writeFileSync(path, JSON.stringify(texts));
    const out = execFileSync(
      "python3",
      [
        "-c",
        "import json,sys,yaml\nprint(json.dumps([yaml.safe_load(t) for t in json.load(open(sys.argv[1]))]))",
        path,
      ],
      { encoding: "utf8", maxBuffer: 64 << 20 },
    );
    expect(JSON.parse(out)).toEqual(texts.map((t) => parseYaml(t, "x")));
  });
  it.skipIf(!python)(
    "the $NAMEs export warns of are what Python's os.path.expandvars (tmuxp's) looks up (review H56-1)",
    () => {
      const atom = fc.constantFrom(
        "$",
        "{",
        "}",
        "a",
        "Z",
        "1",
        "_",
        "=",
        " ",
        "-",
        ":",
        "é",
        "'",
        '"',
        "\\",
      );
      const texts = fc.sample(
        fc.array(atom, { maxLength: 12 }).map((a) => a.join("")),
        { numRuns: 500, seed: 56 },
      );
      const path = join(tmp, "expandvars.json");
      writeFileSync(path, JSON.stringify(texts));
      // Every name expandvars asks the environment for, in order; none is there, so nothing is replaced.
      const script = [
        "import json, os, posixpath, sys",
        "class Asked(dict):",
        "    def __getitem__(self, k):",
        "        seen.append(k)",
        "        raise KeyError(k)",
        "out = []",
        "for t in json.load(open(sys.argv[1])):",
        "    seen = []",
        "    os.environ = Asked()",
        "    posixpath.expandvars(t)",
        "    out.append(seen)",
        "print(json.dumps(out))",
      ].join("\n");
      const asked: string[][] = JSON.parse(
        execFileSync("python3", ["-c", script, path], { encoding: "utf8" }),
      );
      // Less only what no environment can hold (an empty name, or one with =).
      expect(texts.map((t) => expandvarsRefs(t).map((r) => r.name))).toEqual(
        asked.map((names) => names.filter((n) => n !== "" && !n.includes("="))),
      );
    },
  );
  // Scalars whose type the YAML 1.1 loaders decide by their own patterns (review H32-5: 1e3 read as 1000).
  const scalars = [
    "1e3",
    "1.0e3",
    "1.0e+3",
    "1.e3",
    ".5e3",
    ".5e+3",
    "1E3",
    "1.5E-2",
    ".",
    "-.",
    "+.",
    "1.",
    "._",
    "0.",
    "._5",
    ".5",
    "1_000.5",
    "+1.5",
    "1__0.0",
    ".e+3",
    "1e+3",
    "0x1F",
    "017",
    "0o17",
    "190:20:30",
    "1:30.5",
    ".inf",
    "-.Inf",
    ".NaN",
    "yes",
    "Off",
    "y",
    "~",
    "null",
    "2001-12-14",
  ];
  const scalarDocs = scalars.map((v) => `a: ${v}\nb: [${v}]\n`);
  it.skipIf(!python)(
    "PyYAML and mc read plain scalars (floats, ints, booleans, null) alike (review H32-5)",
    () => {
      const path = join(tmp, "scalars-py.json");
      writeFileSync(path, JSON.stringify(scalarDocs));
      const out = execFileSync(
        "python3",
        [
          "-c",
          [
            "import json,sys,yaml,math",
            "def f(x):",
            "  if isinstance(x, float) and (math.isinf(x) or math.isnan(x)): return 'nan' if math.isnan(x) else ('inf' if x > 0 else '-inf')",
            "  if isinstance(x, list): return [f(y) for y in x]",
            "  if isinstance(x, dict): return {k: f(v) for k, v in x.items()}",
            "  return x",
            "print(json.dumps([f(yaml.safe_load(t)) for t in json.load(open(sys.argv[1]))], default=str))",
          ].join("\n"),
          path,
        ],
        { encoding: "utf8" },
      );
      const mine = scalarDocs.map((t) => parseYaml(t, "x"));
      const norm = (v: unknown) =>
        JSON.parse(
          JSON.stringify(v, (_, x) =>
            typeof x === "number" && !Number.isFinite(x)
              ? Number.isNaN(x)
                ? "nan"
                : x > 0
                  ? "inf"
                  : "-inf"
              : x,
          ),
        );
      expect(norm(mine).map((d: unknown, i: number) => [scalars[i], d])).toEqual(
        JSON.parse(out).map((d: unknown, i: number) => [scalars[i], d]),
      );
    },
  );
  it.skipIf(!ruby)(
    "Psych and mc's tmuxinator reading agree on plain scalars (review H32-12: 12:30, oFF, 1,000)",
    () => {
      const psychOnly = [
        "12:30",
        "-1:30",
        "1:30.5",
        "-1:30.5",
        "1:2:3:4",
        "nULL",
        "tRUE",
        "oFF",
        "1,000",
        "1,0,0",
        "0,5",
        "12,3.5",
        "+1,000",
        "1__2",
        ".iNF",
        "0b1_01",
        "0x1_F",
        "true story",
        "on",
        "Off",
        "nil",
      ];
      // (Psych raises on .e+3 and refuses a date in a safe load: tmuxinator fails on both.)
      const list = [...scalars.filter((v) => v !== "2001-12-14" && v !== ".e+3"), ...psychOnly];
      const docs = list.map((v) => `a: ${v}\nb: [${v}]\n`);
      const path = join(tmp, "scalars-rb.json");
      writeFileSync(path, JSON.stringify(docs));
      const rb = [
        'require "json"; require "yaml"',
        "f = ->(x) { x.is_a?(Float) && (x.nan? || x.infinite?) ? (x.nan? ? 'nan' : (x > 0 ? 'inf' : '-inf')) : x.is_a?(Array) ? x.map(&f) : x.is_a?(Hash) ? x.to_h { |k, v| [f.(k).to_s, f.(v)] } : x }",
        "puts JSON.generate(JSON.parse(File.read(ARGV[0])).map { |t| f.(YAML.safe_load(t)) })",
      ].join("\n");
      const out = execFileSync("ruby", ["-e", rb, path], { encoding: "utf8" });
      const norm = (v: unknown): unknown =>
        typeof v === "number" && !Number.isFinite(v)
          ? Number.isNaN(v)
            ? "nan"
            : v > 0
              ? "inf"
              : "-inf"
          : Array.isArray(v)
            ? v.map(norm)
            : v && typeof v === "object"
              ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]))
              : v;
      const mine = docs.map((t) => norm(parseYaml(t, "x", undefined, "psych")));
      expect(mine.map((d, i) => [list[i], d])).toEqual(
        JSON.parse(out).map((d: unknown, i: number) => [list[i], d]),
      );
    },
  );
  it.skipIf(!ruby)(
    "a number's name is written as Ruby writes it (review H47-1: 1.0, 5430.0, 1.0e+20)",
    () => {
      const xs = [
        ...fc.sample(fc.double({ noNaN: true, noDefaultInfinity: true }), { numRuns: 300, seed: 47 }),
        1e15,
        1.5e15,
        1234567890123456.8,
        123456789012345,
        1e16,
        1e-4,
        1e-5,
        5430,
        0.1,
        -2.5,
        1e20,
        1e-7,
        0,
      ];
      const path = join(tmp, "floats.json");
      writeFileSync(path, JSON.stringify(xs.map((x) => (Object.is(x, -0) ? "-0.0" : x.toString()))));
      const out = execFileSync(
        "ruby",
        [
          "-rjson",
          "-e",
          "puts JSON.generate(JSON.parse(File.read(ARGV[0])).map { |s| Float(s).to_s })",
          path,
        ],
        { encoding: "utf8" },
      );
      expect(xs.map((x) => rubyFloat(x))).toEqual(JSON.parse(out));
      const keys = [
        "1.0",
        "1:30.5",
        "100.",
        "1.0e+20",
        "12345678901234567890",
        "0.1e-6",
        "1,000.5",
        "12:30",
        "0x1F",
      ];
      const doc = `${keys.map((k) => `${k}: x`).join("\n")}\n`;
      writeFileSync(path, doc);
      const rb = execFileSync(
        "ruby",
        [
          "-ryaml",
          "-rjson",
          "-e",
          "puts JSON.generate(YAML.safe_load(File.read(ARGV[0])).keys.map(&:to_s))",
          path,
        ],
        { encoding: "utf8" },
      );
      // (Sorted: a JS object lists integer-like keys first.)
      expect(Object.keys(parseYaml(doc, "x", undefined, "psych") as object).sort()).toEqual(
        (JSON.parse(rb) as string[]).sort(),
      );
    },
  );
  it.skipIf(!ruby)(
    "ERB then Psych (tmuxinator's loader) read every exported tmuxinator file as mc does",
    () => {
      const texts = samples("tmuxinator");
      const path = join(tmp, "psych.json");
      writeFileSync(path, JSON.stringify(texts));
      // tmuxinator renders with Erubis (3.x, project.rb), whose `<%%` differs from ERB's: both are asked.
      const rb =
        'require "json"; require "yaml"; require "erb"; e = begin; require "erubis"; true; rescue LoadError; false; end; puts JSON.generate(JSON.parse(File.read(ARGV[0])).flat_map { |t| [YAML.safe_load(ERB.new(t).result, aliases: true)] + (e ? [YAML.safe_load(Erubis::Eruby.new(t).result(binding), aliases: true)] : []) })';
      const out = execFileSync("ruby", ["-e", rb, path], { encoding: "utf8", maxBuffer: 64 << 20 });
      const erubis = spawnSync("ruby", ["-rerubis", "-e", "1"]).status === 0;
      if (!erubis) console.warn("[mc] Erubis (tmuxinator's renderer) is not installed: ERB only");
      expect(JSON.parse(out)).toEqual(
        texts.flatMap((t) => {
          const v = parseYaml(t.replaceAll("<%%", "<%"), "x");
          return erubis ? [v, v] : [v];
        }),
      );
    },
  );
  it.skipIf(!ruby)(
    "Psych reads names and commands it matches in any case (tRUE, oFF, nULL, .iNF) as written, and no << key (reviews H39-1/2)",
    () => {
      const words = [
        "nULL",
        "tRUE",
        "oFF",
        "FaLsE",
        "yEs",
        "No",
        "ON",
        ".iNF",
        "+.InF",
        "-.iNf",
        ".NaN",
        "~",
        "<<",
      ];
      const l: LayoutConfig = {
        layoutName: "w",
        layoutTabs: words.map((w) => ({ tabName: w, startDir: "/tmp", command: w === "~" ? "echo ~" : w })),
      };
      const e = EXPORT.tmuxinator(l, tmp);
      const path = join(tmp, "psych-words.yml");
      writeFileSync(path, e.text);
      const rb =
        'require "json"; require "yaml"; puts JSON.generate(YAML.safe_load(File.read(ARGV[0]), aliases: true))';
      const doc = JSON.parse(execFileSync("ruby", ["-e", rb, path], { encoding: "utf8" }));
      const windows = doc.windows as Record<string, { panes: unknown[] }>[];
      expect(windows.map((w) => Object.keys(w)[0])).toEqual(words.map((w) => (w === "<<" ? "<<_" : w)));
      // (A command starting with - is typed after a space, so tmux takes it for text: trimmed here.)
      expect(windows.map((w) => String(Object.values(w)[0]!.panes[0]).trim())).toEqual(
        words.map((w) => (w === "~" ? "echo ~" : w)),
      );
      expect(e.warnings.map((w) => w.message).join("\n")).toContain('takes a "<<" key for a merge key');
    },
  );
  it("kdljs (a KDL v1 parser, as zellij's kdl-rs) reads every exported zellij layout", () => {
    for (const t of samples("zellij")) expect(parseKdl(t).errors).toEqual([]);
  });
});

describe("quoting and geometry helpers", () => {
  it("shlex-split of shQuote'd words gives the words back (tmuxp's before_script)", () => {
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 4 }), (words) => {
        expect(shlexSplit(words.map(shQuote).join(" "))).toEqual(words);
      }),
    );
  });
  it("exportLine and parseExportLine are inverse", () => {
    fc.assert(
      fc.property(fc.dictionary(envName, text, { minKeys: 1, maxKeys: 3 }), (e) => {
        expect(parseExportLine(exportLine(e))).toEqual(e);
      }),
    );
  });
  it("tmux key names are recognised as tmux 3.3a reads them", () => {
    for (const k of ["end", "End", "C-c", "M-x", "^a", "Enter", "F12", "0x41", "KP5", "S-Up"])
      expect(isTmuxKeyName(k)).toBe(true);
    for (const k of ["echo end", "ends", "ls", "C-", "cd ~"]) expect(isTmuxKeyName(k)).toBe(false);
  });
  it("a line of spaces then a key name comes back exactly from tmuxinator (seed 454078106 found it)", () => {
    for (const command of ["C-c", " C-c", "   end", " echo"]) {
      const l: LayoutConfig = { layoutName: "k", layoutTabs: [{ tabName: "t", startDir: "/tmp", command }] };
      const back = importText(
        exportTmuxinator(l, tmp).text,
        "tmuxinator",
        { file: join(tmp, "k.yml"), cwd: tmp, env: {} },
        "k.yml",
        "k",
      );
      expect(back.file.layouts[0]!.layoutTabs[0]!.command).toBe(command);
    }
  });
  it("a command whose lines do not stand alone is typed whole", () => {
    expect(linesStandAlone("a\nb")).toBe(true);
    expect(linesStandAlone("if true; then\n  echo\nfi")).toBe(true);
    for (const c of ["echo 'a\nb'", 'echo "a\nb"', "cat <<EOF\nx\nEOF", "echo a \\\nb", "x=$(\necho)"])
      expect(linesStandAlone(c)).toBe(false);
  });
  it("layout strings: tmux's checksum, and format → parse → same tree", () => {
    // Recorded from tmux 3.3a (results/tmuxp-full.txt and a 3-pane window).
    expect(
      layoutChecksum("800x600,0,0{559x600,0,0,0,240x600,560,0[240x299,560,0,1,240x300,560,300,2]}"),
    ).toBe("c9e0");
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            split: fc.constantFrom("right" as const, "down" as const),
            size: fc.integer({ min: 10, max: 90 }).map((n) => `${n}%`),
          }),
          { maxLength: 6 },
        ),
        (rest) => {
          const panes = [{ pane: 0 }, ...rest.map((r, i) => ({ pane: i + 1, ...r }))];
          const tree = unflatten(panes);
          const cell = parseTmuxLayout(formatTmuxLayout(tree, 800, 600));
          expect(cell).toBeDefined();
          const back = flatten(unflatten(panes));
          expect(back.panes.map((p) => p.pane)).toEqual(panes.map((p) => p.pane));
        },
      ),
    );
  });
  it("layout strings add up as tmux checks them, whatever the sizes in cells (review H39-5: size mismatch)", () => {
    type C = NonNullable<ReturnType<typeof parseTmuxLayout>>;
    const fits = (c: C): boolean => {
      if (!c.children) return c.w >= 1 && c.h >= 1;
      const along =
        c.children.reduce((a, k) => a + (c.dir === "right" ? k.w : k.h), 0) + c.children.length - 1;
      return (
        along === (c.dir === "right" ? c.w : c.h) &&
        c.children.every((k) => (c.dir === "right" ? k.h === c.h : k.w === c.w) && fits(k))
      );
    };
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            split: fc.constantFrom("right" as const, "down" as const),
            size: fc.oneof(
              fc.integer({ min: 1, max: 10000 }),
              fc.integer({ min: 1, max: 99 }).map((n) => `${n}%`),
            ),
          }),
          { maxLength: 8 },
        ),
        (rest) => {
          const panes = [{ pane: 0 }, ...rest.map((r, i) => ({ pane: i + 1, ...r }))];
          const cell = parseTmuxLayout(formatTmuxLayout(unflatten(panes), 800, 600));
          expect(cell && fits(cell), JSON.stringify(rest)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
