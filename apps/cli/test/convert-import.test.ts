import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseLayouts } from "@mc/core";
import { afterAll, describe, expect, it } from "vitest";
import { importFile, importText } from "../src/convert/read.js";
import { type Format, type Imported, warningText } from "../src/convert/types.js";

const F = join(import.meta.dirname, "fixtures", "convert");
const ENV = { HOME: "/home/u", MC_FIXTURE_TAG: "x" };
const tmp = mkdtempSync(join(tmpdir(), "mc-convert-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const load = (rel: string, env: Record<string, string> = ENV) => importFile(join(F, rel), { cwd: F, env });
/** The result with the fixtures' absolute directory written as <F>, for snapshots that hold anywhere. */
const shown = (r: Imported) => JSON.parse(JSON.stringify(r).replaceAll(F, "<F>"));
const tabs = (r: Imported) => r.file.layouts[0]!.layoutTabs;
const warned = (r: Imported, at: string) => r.warnings.filter((w) => w.at === at).map((w) => w.message);

function fromText(text: string, format: Format, name = "f.yaml"): Imported {
  return importText(text, format, { file: join(tmp, name), cwd: tmp, env: ENV }, name);
}

describe("tmuxp (what tmuxp 1.27.0 built from these fixtures, results/tmuxp-*.txt)", () => {
  it("full.yaml: every window in tmux index order, directories resolved by tmuxp's rules", async () => {
    const r = await load("tmuxp/full.yaml");
    expect(tabs(r).map((t) => t.tabName)).toEqual(["editor", "shells", "logs-x", "window-3", "server"]);
    const [editor, shells, logs, unnamed, server] = tabs(r);
    expect(editor!.startDir).toBe(join(F, "tree/src"));
    expect(editor!.layout).toBe("main-vertical");
    expect(editor!.panes).toHaveLength(6);
    expect(editor!.command).toBe("echo session-before\necho window-before\necho pane-as-string");
    expect(editor!.panes![4]!.focus).toBe(true);
    expect(shells!.command).toBe("sleep 600");
    expect(shells!.panes![0]!.command).toBe("cat");
    expect(logs!.startDir).toBe("~");
    expect(unnamed!.startDir).toBe("/tmp");
    expect(server!.startDir).toBe(join(F, "tree/docs"));
    expect(server!.env).toEqual({ W_ENV: "window-value" });
    expect(server!.panes![0]).toMatchObject({
      startDir: "/tmp",
      env: { W_ENV: "pane-override", P_ENV: "pane-value" },
    });
    expect(server!.panes![1]).toMatchObject({ startDir: join(F, "tree/docs/api") });
    expect(server!.panes![1]!.command).toBeUndefined();
    expect(r.file.layouts[0]!.env).toEqual({
      S_ENV: "session-value",
      S_REL: join(F, "tmuxp/relative-to-workspace-file"),
    });
    // before_script runs in the session's directory; onStart in the first tab's (tree/src).
    expect(r.file.layouts[0]!.onStart).toBe(
      `cd -- ${join(F, "tree")} || exit\n${join(F, "tmuxp/before-script.sh")} --from-tmuxp`,
    );
    expect(warned(r, "windows[0].panes[6]").join("\n")).toMatch(/never entered/);
    expect(warned(r, "global_options.history-limit")).toHaveLength(1);
    // Said as what mc does: the tabs are reordered to tmux's order, the numbers dropped (review H56-3).
    expect(warned(r, "windows[1].window_index")).toEqual([
      "the tabs are in tmux's order of window_index, as tmuxp builds the windows; the numbers themselves are not kept",
    ]);
    expect(shown(r)).toMatchSnapshot();
  });

  it("shorthand.json: every pane shorthand, string booleans read as Python reads them", async () => {
    const r = await load("tmuxp/shorthand.json");
    const [short, nopanes, booleans] = tabs(r);
    expect(short!.panes).toHaveLength(11);
    expect(short!.panes!.map((p) => p.command?.split("\n").slice(3).join("|") ?? null)).toEqual([
      "echo two-a|echo two-b",
      "",
      "",
      "",
      "",
      "echo three",
      "echo four|echo five",
      "",
      "",
      "",
      "",
    ]);
    // An empty command is a carriage return in tmuxp: the pane runs what comes before, as a blank one.
    expect(short!.panes![4]!.command).toBe("echo sb-1\necho sb-2\necho wb-dict");
    expect(nopanes!.command).toBe("echo sb-1\necho sb-2");
    expect(booleans!.panes![0]!.focus).toBe(true);
    expect(shown(r)).toMatchSnapshot();
  });

  it("tmuxp's blank-panes example: an empty string is a blank pane, as null, blank and pane are (review H17-5)", () => {
    const text = [
      "session_name: Blank pane test",
      "windows:",
      "  - window_name: blanks",
      "    panes:",
      "      -",
      "      - pane",
      "      - blank",
      "  - window_name: empty strings",
      "    panes:",
      '      - ""',
      '      - shell_command: ""',
      "      - shell_command:",
      '          - ""',
      "",
    ].join("\n");
    const [blanks, empty] = tabs(fromText(text, "tmuxp"));
    expect(empty!.command).toBe(blanks!.command);
    expect(empty!.panes!.map((p) => p.command)).toEqual(blanks!.panes!.map((p) => p.command));
  });

  it("setup lines tmuxp types into the shell (cd, export, source) are said to reach the command only (review H20-13)", () => {
    const text =
      "session_name: s\nstart_directory: /tmp\nwindows:\n  - window_name: venvish\n    shell_command_before: [cd /var/log, export FOO=bar]\n    panes: [echo ready]\n  - window_name: plain\n    panes: [echo hi]\n";
    const r = fromText(text, "tmuxp");
    expect(
      r.warnings.some((w) =>
        /cd, source, export or ssh lines apply to the tab's command only/.test(w.message),
      ),
    ).toBe(true);
    expect(r.warnings.filter((w) => /lines apply to the tab's command only/.test(w.message))).toHaveLength(1);
  });

  it("environment: a leading ~ is a home directory now, as tmuxp's expanduser makes it; __proto__ is said (reviews H32-2, H32-9)", () => {
    const text =
      'session_name: s\nenvironment:\n  A: ~/x\n  B: ~root/x\n  C: "~"\n  D: a~b\n  E: ~nosuchuser9/x\n  __proto__: p\nwindows:\n  - window_name: w\n    panes: [echo hi]\n';
    const r = fromText(text, "tmuxp");
    expect(r.file.layouts[0]!.env).toEqual({
      A: "/home/u/x",
      B: "/root/x",
      C: "/home/u",
      D: "a~b",
      E: "~nosuchuser9/x",
    });
    const said = r.warnings.map((w) => `${w.at}: ${w.message}`).join("\n");
    expect(said).toMatch(/environment\.A: ~ replaced by \$HOME's value now/);
    expect(said).toMatch(/environment\.B: ~root replaced by that user's home directory now/);
    expect(said).toMatch(/__proto__: mc cannot set a variable named __proto__; not carried over/);
  });

  it("directories: $HOME past the start is replaced now, ~user is that user's home and stands alone (reviews H32-16, H32-17)", () => {
    const text = [
      "session_name: s",
      'start_directory: "/srv/${HOME}/a$HOME"',
      "windows:",
      "  - window_name: w",
      "    panes: [pwd]",
      "  - window_name: h",
      "    start_directory: $HOME/x",
      "    panes: [pwd]",
      "  - window_name: u",
      "    start_directory: ~root/y",
      "    panes: [pwd]",
      "",
    ].join("\n");
    const r = fromText(text, "tmuxp");
    expect(tabs(r).map((t) => t.startDir)).toEqual(["/srv/home/u/a/home/u", "$HOME/x", "/root/y"]);
    expect(r.warnings.map((w) => w.message).join("\n")).toMatch(
      /~root replaced by that user's home directory/,
    );
  });

  it("a layout string with a wrong checksum is said and not carried over: tmux refuses it (review H32-14)", () => {
    const text = `session_name: s\nwindows:\n  - window_name: w\n    layout: "a7d1,200x50,0,0{60x50,0,0,1,139x50,61,0[139x25,61,0,2,139x24,61,26,3]}"\n    panes: [a, b, c]\n`;
    const r = fromText(text, "tmuxp");
    expect(tabs(r)[0]!.panes!.map((p) => p.size)).toEqual([undefined, undefined]);
    expect(r.warnings.map((w) => w.message).join("\n")).toMatch(
      /checksum is a7d1, its content's 9492: tmux refuses it/,
    );
    // In capitals it is the same checksum to tmux (%hx): read (review H47-6).
    const upper = `session_name: s\nwindows:\n  - window_name: w\n    layout: "CF3D,200x50,0,0{100x50,0,0,1,99x50,101,0,3}"\n    panes: [a, b]\n`;
    const u = fromText(upper, "tmuxp");
    expect(u.warnings.map((w) => w.message).join("\n")).not.toMatch(/checksum|not a tmux layout/);
    expect(tabs(u)[0]!.panes).toEqual([{ command: "b", split: "right", focus: true }]);
  });
  it("a layout string becomes splits and sizes when mc's splits can draw it", () => {
    const text = `session_name: s\nwindows:\n  - window_name: w\n    layout: "9492,200x50,0,0{60x50,0,0,1,139x50,61,0[139x25,61,0,2,139x24,61,26,3]}"\n    panes: [a, b, c]\n`;
    const t = tabs(fromText(text, "tmuxp"))[0]!;
    expect(t.layout).toBeUndefined();
    expect(t.panes).toEqual([
      { command: "b", split: "right", size: "70%" },
      { command: "c", split: "down", focus: true },
    ]);
  });
});

describe("tmuxinator (what tmuxinator 3.0.5 built, results/tmuxinator-*.txt)", () => {
  it("full.yml: hooks, pre_window and window pre as typed, named panes, focused_pane, tiled by default", async () => {
    const r = await load("tmuxinator/full.yml");
    const l = r.file.layouts[0]!;
    expect(l.layoutTabs.map((t) => t.tabName)).toEqual([
      "editor",
      "server",
      "checks",
      "docs",
      "empty",
      "window-5",
      "hashnopanes",
    ]);
    expect(l.layoutTabs[0]!.panes![0]!.command).toBe(
      "echo pre-window\necho window-pre-a && echo window-pre-b\necho pane-as-list-a\necho pane-as-list-b",
    );
    expect(l.layoutTabs[0]!.panes![1]!.focus).toBe(true);
    expect(l.layoutTabs[6]!.startDir).toBe("../tree/logs");
    expect(l.onStart).toMatch(/^cd -- \.\.\/tree \|\| exit\necho "start cwd/);
    expect(l.onStop).toBe("echo stop >> /tmp/mc-import-fixtures/tmuxinator-hooks.log");
    expect(warned(r, "on_project_exit")).toHaveLength(1);
    expect(warned(r, "windows[6].pre")).toHaveLength(1);
    expect(shown(r)).toMatchSnapshot();
  });

  it("deprecated.yml: rbenv wins over rvm, pre_tab and pre_window; pre is onStart; panes tiled", async () => {
    const r = await load("tmuxinator/deprecated.yml");
    const [one, two] = tabs(r);
    expect(one!.command).toBe("rbenv shell 2.7.0\necho tab-one");
    expect(two!.layout).toBe("tiled");
    expect(warned(r, "pre_window")[0]).toMatch(/rbenv takes its place/);
    expect(warned(r, "post")).toHaveLength(1);
  });

  it("deprecated-tabs.yml: tabs read as windows (tmuxinator itself crashes on it)", async () => {
    const r = await load("tmuxinator/deprecated-tabs.yml");
    expect(tabs(r).map((t) => [t.tabName, t.layout ?? null])).toEqual([
      ["first", null],
      ["second", "even-vertical"],
    ]);
  });

  it("erb.yml: refused with the place of the tag and how to render it", async () => {
    await expect(load("tmuxinator/erb.yml")).rejects.toThrow(/erb\.yml:9:7: an ERB tag/);
  });

  it("<%% is ERB's escape for a literal <%", () => {
    const r = fromText("name: n\nwindows:\n  - w: echo '<%%= x %>'\n", "tmuxinator");
    expect(tabs(r)[0]!.command).toBe("echo '<%= x %>'");
  });
});

describe("zellij (zellij 0.45.0's parser rules, results/zellij-*.txt)", () => {
  it("a \\u{…} escape past U+FFFF is that character, as zellij reads it; raw strings and comments as written (review H32-6)", () => {
    const kdl = [
      '// a comment with \\u{1F600} and "quotes"',
      "/* a block /* nested \\u{1F601} */ comment */",
      "layout {",
      '    tab name="a\\/b\\u{1F600}\\u{e9}" {',
      '        pane command="echo" { args "\\\\u{1F602}" r#"raw \\u{1F603} "#; }',
      "    }",
      '    tab name="\\u{10FFFF}" { pane command="true"; }',
      "}",
      "",
    ].join("\n");
    const r = fromText(kdl, "zellij", "z.kdl");
    const [t0, t1] = tabs(r);
    expect(t0!.tabName).toBe("a/b\u{1F600}\u00e9");
    expect(t0!.command).toBe("echo '\\u{1F602}' 'raw \\u{1F603} '");
    expect(t1!.tabName).toBe("\u{10FFFF}");
  });

  it("full.kdl: templates expanded, cwd chains joined, chrome left out, nesting flattened", async () => {
    const r = await load("zellij/full.kdl");
    const [editor, docs, templates, sidebar, plugins] = tabs(r);
    expect(editor).toMatchObject({
      tabName: "editor",
      startDir: "../tree/src",
      command: "echo editor-main; exec sleep 600",
    });
    expect(editor!.panes).toEqual([
      { command: "sleep 600", startDir: "../tree/src/sub", split: "right", size: "40%" },
      { startDir: "/tmp", split: "down" },
      { command: "true", split: "down", size: 5 },
    ]);
    expect(docs!.command).toBe('"${EDITOR:-vi}" ../tree/docs/api/.keep');
    expect(templates!.command).toBe("echo consumer-args; exec sleep 605");
    expect(templates!.startDir).toBe("../tree/logs");
    expect(sidebar!.panes!.map((p) => p.size ?? null)).toEqual(["80%", "67%", null]);
    expect(plugins!.command).toBe('exec "${SHELL:-/bin/sh}"');
    expect(warned(r, "plugin zellij:tab-bar")).toHaveLength(1);
    expect(shown(r)).toMatchSnapshot();
  });

  it("no-tabs.kdl: the layout is one tab; $HOME and ~ kept for mc", async () => {
    const r = await load("zellij/no-tabs.kdl");
    const t = tabs(r)[0]!;
    expect(t.tabName).toBe("solo");
    expect(t.startDir).toBe("../tree/src");
    expect(t.panes!.map((p) => p.startDir ?? t.startDir)).toEqual([
      "../tree/src/sub",
      "$HOME",
      "~",
      "../tree/src",
    ]);
  });

  it("sh -c SCRIPT keeps sh as the tab's shell unless the script is plain words any shell reads alike (review H66-3)", () => {
    const kdl = (cmd: string, script: string) =>
      `layout {\n tab name="t" cwd="/tmp" {\n  pane command=${JSON.stringify(cmd)} { args "-c" ${JSON.stringify(script)}; }\n }\n}\n`;
    const one = (cmd: string, script: string) => tabs(fromText(kdl(cmd, script), "zellij", "f.kdl"))[0]!;
    const loop = "for i in 1 2; do echo $i; done > /tmp/F1";
    expect(one("sh", loop)).toMatchObject({ command: loop, shell: "sh" });
    expect(one("bash", "arr=(a b); echo ${arr[1]}")).toMatchObject({ shell: "bash" });
    for (const plain of ["npm run dev", "sleep 600", "make -C build all", "python3 -m http.server 8000"]) {
      const t = one("sh", plain);
      expect(t.command).toBe(plain);
      expect(t.shell, plain).toBeUndefined();
    }
    for (const shelly of [
      "echo $HOME",
      "a && b",
      "a | b",
      "x > f",
      "echo 'q'",
      "ls *.txt",
      "A=1 cmd",
      "echo ~",
    ])
      expect(one("sh", shelly).shell, shelly).toBe("sh");
  });

  it("values of the wrong type are refused and unknown properties said, as zellij 0.45.0 does (reviews H39-6, H42-5)", () => {
    // Each checked against zellij 0.45.0 itself (attach --create-background with the layout).
    const bad: [string, RegExp][] = [
      [
        'layout {\n tab name="t" {\n  pane command=5\n }\n}\n',
        /tab "t" > pane 1: command is 5, not a string/,
      ],
      ['layout {\n tab name="t" {\n  pane command=null\n }\n}\n', /command is null, not a string/],
      ['layout {\n tab name="t" {\n  pane command="ls" cwd=true\n }\n}\n', /cwd is true, not a string/],
      ['layout {\n tab name="t" {\n  pane {\n   command 7\n  }\n }\n}\n', /command is 7, not a string/],
      ["layout {\n tab cwd=7 {\n  pane\n }\n}\n", /cwd is 7, not a string/],
      ['layout {\n tab {\n  pane size="abc"\n  pane\n }\n}\n', /size is "abc", not a number of cells/],
      ['layout {\n tab {\n  pane size="0%"\n  pane\n }\n}\n', /size is "0%"/],
      ['layout {\n tab {\n  pane size="150%"\n  pane\n }\n}\n', /size is "150%"/],
      [
        'layout {\n tab {\n  pane split_direction="diagonal" {\n   pane\n   pane\n  }\n }\n}\n',
        /split_direction is "diagonal"/,
      ],
      ['layout {\n tab split_direction="VERTICAL" {\n  pane\n }\n}\n', /split_direction is "VERTICAL"/],
      ["layout {\n tab {\n  pane edit=1\n }\n}\n", /edit is 1, not a string/],
      ['layout {\n tab {\n  pane command="echo" {\n   args 5\n  }\n }\n}\n', /args holds 5, not a string/],
      ['layout {\n tab {\n  pane command="echo" focus="yes"\n }\n}\n', /focus is "yes", not true or false/],
    ];
    for (const [text, re] of bad) expect(() => fromText(text, "zellij", "x.kdl"), text).toThrow(re);
    const ok = fromText(
      'layout {\n tab name="t" foo="1" split_direction="Vertical" {\n  pane command="ls" bar=2 size=3\n  pane size="40%"\n  bogus_child "x"\n }\n tab name=5 {\n  pane\n }\n}\n',
      "zellij",
      "x.kdl",
    );
    expect(ok.warnings.map((w) => `${w.at}: ${w.message}`)).toEqual(
      expect.arrayContaining([
        'tab "t" foo: unknown property, not carried over',
        'tab "t" > pane 1 bar: unknown property, not carried over',
        'tab "t" bogus_child: unknown node, not carried over (zellij refuses it)',
        'tab "Tab #2" name: 5 is not a string; zellij ignores it too',
      ]),
    );
  });

  it("tabs and panes side by side are refused, as zellij refuses them", () => {
    expect(() => fromText('layout {\n tab name="a"\n pane\n}\n', "zellij", "x.kdl")).toThrow(
      /both tabs and panes/,
    );
  });
});

describe("hostile input: a clear LAYOUT_INVALID, never a crash or a hang", () => {
  const refused = (text: string, format: Format, re: RegExp, name?: string) => {
    let err: unknown;
    try {
      fromText(text, format, name);
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string }).code).toBe("LAYOUT_INVALID");
    expect(String((err as Error).message)).toMatch(re);
  };

  it("a field of the wrong type is named with its line:column in the file (review H39-7)", () => {
    refused(
      "session_name: s\nwindows:\n  - window_name: w\n    panes:\n      - shell_command: {a: 1}\n",
      "tmuxp",
      /import: x\.yaml:5:24: windows\[0\]\.panes\[0\]\.shell_command: commands are a string or a list/,
      "x.yaml",
    );
    refused(
      "name: p\nroot: /tmp\nwindows:\n  - one: two\n  - [a]\n",
      "tmuxinator",
      /import: x\.yml:5:5: windows\[1\]: a window is a one-key mapping/,
      "x.yml",
    );
    // Psych reads a quoted "<<" key as a merge key: mc does not read another window than tmuxinator.
    refused(
      'name: p\nroot: /tmp\nwindows:\n  - one: two\n  - "<<":\n      root: /tmp\n      panes: [echo hi]\n',
      "tmuxinator",
      /x\.yml:5:5: windows\[1\]: a window named "<<"/,
      "x.yml",
    );
  });

  it("every window's problem is said at once, each with its line:column (review H39-7)", () => {
    refused(
      "session_name: s\nwindows:\n  - window_name: a\n    panes:\n      - shell_command: {a: 1}\n  - window_name: ok\n    panes: [x]\n  - [b]\n",
      "tmuxp",
      /x\.yaml:5:24: windows\[0\]\.panes\[0\]\.shell_command: commands are a string or a list\nx\.yaml:8:5: windows\[2\]: a window is a mapping/,
      "x.yaml",
    );
    refused(
      "name: p\nroot: /tmp\nwindows:\n  - [a]\n  - one: two\n  - [b]\n",
      "tmuxinator",
      /x\.yml:4:5: windows\[0\]: a window is a one-key mapping.*\nx\.yml:6:5: windows\[2\]: a window is a one-key mapping/s,
      "x.yml",
    );
  });

  it("a typo'd key is warned of with its line:column and the key it may mean (review H50-3)", () => {
    const at = (r: Imported) =>
      Object.fromEntries(r.warnings.map((w) => [w.at, `${w.line}:${w.column} ${w.message}`]));
    const tmuxp = at(
      fromText(
        "session_name: ty\nwindows:\n  - window_nmae: ed\n    panes:\n      - shell_comand: echo hi\n  - window_name: x\n    pane:\n      - echo\n",
        "tmuxp",
        "ty.yaml",
      ),
    );
    expect(tmuxp["windows[0].window_nmae"]).toBe(
      "3:5 unknown key, not carried over (tmuxp ignores it too; did you mean window_name?)",
    );
    expect(tmuxp["windows[0].panes[0].shell_comand"]).toMatch(/^5:9 .*did you mean shell_command\?\)$/);
    expect(tmuxp["windows[1].pane"]).toMatch(/^7:5 .*did you mean panes\?\)$/);
    const tmuxinator = at(
      fromText(
        "name: tn\nroots: /tmp\nwindows:\n  - ed:\n      roots: /tmp\n      pane:\n        - echo\n",
        "tmuxinator",
        "tn.yml",
      ),
    );
    expect(tmuxinator.roots).toMatch(/^2:1 .*\(tmuxinator ignores it too; did you mean root\?\)$/);
    // A window's settings are under its name: the place is the key there.
    expect(tmuxinator["windows[0].roots"]).toMatch(/^5:7 .*did you mean root\?\)$/);
    expect(tmuxinator["windows[0].pane"]).toMatch(/^6:7 .*did you mean panes\?\)$/);
    // A key close to none is still only "unknown" (real files carry keys of their own).
    const other = at(fromText("session_name: s\nmy_notes: x\nwindows: [{panes: [x]}]\n", "tmuxp", "o.yaml"));
    expect(other.my_notes).toBe("2:1 unknown key, not carried over (tmuxp ignores it too)");
  });

  it("a YAML alias bomb", () => {
    const lines = ["a: &a [x,x,x,x,x,x,x,x,x]"];
    for (let i = 1; i < 9; i++) {
      const p = String.fromCharCode(96 + i);
      const n = String.fromCharCode(97 + i);
      lines.push(`${n}: &${n} [${Array(9).fill(`*${p}`).join(",")}]`);
    }
    refused(
      `session_name: s\n${lines.join("\n")}\nwindows: [{panes: [x]}]\n`,
      "tmuxp",
      /too many YAML aliases/,
    );
  });
  it("a YAML alias whose anchor is never set is said as such, with its place, not as an alias bomb (review HR81-2)", () => {
    refused(
      "session_name: anch\nwindows:\n  - window_name: two\n    panes:\n      - *cmd\n",
      "tmuxp",
      / x\.yaml:5:9: not valid YAML: alias \*cmd has no anchor &cmd before it$/,
      "x.yaml",
    );
    // Set after its alias is not set before it (YAML's rule); set before, it loads.
    refused("session_name: s\nwindows: [{panes: [*c]}]\nx: &c echo\n", "tmuxp", /alias \*c has no anchor &c/);
    expect(() => fromText("x: &c echo\nsession_name: s\nwindows: [{panes: [*c]}]\n", "tmuxp")).not.toThrow();
  });
  it("YAML and KDL nested thousands deep", () => {
    refused(
      `session_name: ${"[".repeat(5000)}${"]".repeat(5000)}\n`,
      "tmuxp",
      /nested too deeply|not valid YAML/,
    );
    refused(`layout ${"{ pane ".repeat(3000)}${"}".repeat(3000)}`, "zellij", /nested deeper/, "x.kdl");
  });
  it("a KDL pane_template bomb: templates that each use the next ten times (review H17-3)", () => {
    const names = "abcdefg";
    const tpls = [...names].map((n, i) =>
      i < names.length - 1
        ? `pane_template name="${n}" { ${`${names[i + 1]}; `.repeat(10)}}`
        : `pane_template name="${n}" { pane command="echo"; ${"pane; ".repeat(9)}}`,
    );
    const t0 = Date.now();
    refused(
      `layout {\n${tpls.join("\n")}\ntab name="t" { a; }\n}\n`,
      "zellij",
      /expand to more than/,
      "x.kdl",
    );
    expect(Date.now() - t0).toBeLessThan(5000);
  });
  it("YAML saved as .json says so (review H20-12)", () => {
    refused(
      "# tmuxp\nsession_name: s\nwindows:\n  - panes: [echo hi]\n",
      "tmuxp",
      /looks like YAML/,
      "x.json",
    );
  });
  it("odd KDL escapes and unpaired surrogates", () => {
    refused('layout { tab name="\\q" }', "zellij", /not valid KDL/, "x.kdl");
    refused('layout { tab name="\\u{D800}" }', "zellij", /not valid KDL/, "x.kdl");
  });
  it("names with control or bidi characters, and NUL in a command", () => {
    refused(
      'session_name: "a\\tb"\nwindows: [{panes: [x]}]\n',
      "tmuxp",
      /session_name: layoutName must not contain control characters/,
    );
    refused(
      'session_name: s\nwindows: [{window_name: "x\\u202ey", panes: [x]}]\n',
      "tmuxp",
      /windows\[0\].window_name|bidirectional/,
    );
    refused(
      'name: n\nwindows:\n  - w: "echo \\0"\n',
      "tmuxinator",
      /windows\[0\] \(command\): command must not contain a NUL/,
    );
    refused('layout {\n tab name="t" {\n pane command="a\\u{0}b"\n }\n}\n', "zellij", /NUL/, "x.kdl");
  });
  it("a file too large to be a layout", async () => {
    const big = join(tmp, "big.yaml");
    writeFileSync(big, `session_name: s\n# ${"x".repeat(1024 * 1024)}\n`);
    await expect(importFile(big, { cwd: tmp })).rejects.toThrow(/limited to 1048576 bytes/);
    // With the way through (review H78-5).
    await expect(importFile(big, { cwd: tmp })).rejects.toMatchObject({
      hint: expect.stringMatching(/split it/),
    });
  });
  it("unknown tags, several documents, duplicate keys, the wrong shapes", () => {
    refused(
      "session_name: !!python/object:os.system x\nwindows: [{panes: [x]}]\n",
      "tmuxp",
      /Unresolved tag|tag/,
    );
    refused("session_name: a\n---\nsession_name: b\n", "tmuxp", /multiple documents/);
    refused("session_name: s\nwindows: {a: 1}\n", "tmuxp", /windows is missing or empty/);
    refused("session_name: s\nwindows: [[1]]\n", "tmuxp", /windows\[0\]: a window is a mapping/);
    refused("name: n\nwindows: [x]\n", "tmuxinator", /windows\[0\]: a window is a one-key mapping/);
    refused(
      'session_name: s\nbefore_script: "a \'b"\nwindows: [{panes: [x]}]\n',
      "tmuxp",
      /before_script: no closing quotation/,
    );
  });
  it("a key given twice is the last one, as PyYAML and Psych read it, and said with where (review H32-18)", () => {
    const r = fromText(
      "session_name: a\nsession_name: b\nwindows:\n  - window_name: w\n    window_name: v\n    panes: [x]\n",
      "tmuxp",
    );
    expect(r.file.layouts[0]!.layoutName).toBe("b");
    expect(tabs(r)[0]!.tabName).toBe("v");
    expect(r.warnings.slice(0, 2)).toEqual([
      {
        at: "session_name",
        line: 2,
        column: 1,
        message: "given twice in one mapping: the last one is used, as tmuxp does",
      },
      {
        at: "windows[0].window_name",
        line: 5,
        column: 5,
        message: "given twice in one mapping: the last one is used, as tmuxp does",
      },
    ]);
    // The file once, as every warning names its place (review H56-6: `f.yaml: f.yaml:2:1: …`).
    expect(warningText("f.yaml", r.warnings[0]!)).toBe(
      "f.yaml:2:1: session_name: given twice in one mapping: the last one is used, as tmuxp does",
    );
    const t = fromText("name: a\nname: b\nwindows:\n  - w: x\n", "tmuxinator", "f.yml");
    expect(t.file.layouts[0]!.layoutName).toBe("b");
    expect(t.warnings[0]!.message).toMatch(/as tmuxinator does/);
  });
  it("tmuxinator files are read as Psych reads them, not PyYAML (review H32-12)", () => {
    const t = fromText("name: 12:30\nwindows:\n  - oFF: echo a\n  - 1,000: echo b\n", "tmuxinator", "f.yml");
    expect(t.file.layouts[0]!.layoutName).toBe("45000");
    expect(tabs(t).map((x) => x.tabName)).toEqual(["false", "1000"]);
    // ~user directories are that user's home, as File.expand_path makes them (review H47-4).
    const u = fromText(
      "name: u\nroot: ~root/x\nwindows:\n  - a: echo a\n  - b:\n      root: ~root/y\n      panes: [echo b]\n",
      "tmuxinator",
      "f.yml",
    );
    expect(tabs(u).map((x) => x.startDir)).toEqual(["/root/x", "/root/y"]);
    // A window whose value is not text: tmuxinator sends nothing (review H47-2).
    const n = fromText("name: n\nwindows:\n  - a: oFF\n  - b: 12:30\n  - c: [1, x]\n", "tmuxinator", "f.yml");
    expect(tabs(n).map((x) => x.command)).toEqual([
      'exec "${SHELL:-/bin/sh}"',
      'exec "${SHELL:-/bin/sh}"',
      "1\nx",
    ]);
    expect(n.warnings.filter((w) => /sends no command/.test(w.message))).toHaveLength(2);
  });
  it("a window with more panes than an mc tab holds", () => {
    refused(
      `session_name: s\nwindows: [{panes: [${Array(17).fill("x").join(",")}]}]\n`,
      "tmuxp",
      /17 panes; an mc tab has at most 16/,
    );
  });
  it("what it writes is always a valid layouts file", async () => {
    for (const f of [
      "tmuxp/full.yaml",
      "tmuxp/shorthand.json",
      "tmuxinator/full.yml",
      "zellij/full.kdl",
      "zellij/no-tabs.kdl",
    ]) {
      const r = await load(f);
      expect(parseLayouts(JSON.stringify(r.file)).ok).toBe(true);
    }
  });
});

describe("a __proto__ key is an ordinary unknown key, as to tmuxp and tmuxinator (outside review H5-5)", () => {
  const evil = {
    start_directory: "/evil",
    root: "/evil",
    shell_command_before: ["touch /tmp/pwned"],
    pre_window: "touch /tmp/pwned",
    env: { X: "1" },
    panes: ["touch /tmp/pwned"],
  };
  const places: [string, Format, (e: object) => string][] = [
    [
      "top tmuxp",
      "tmuxp",
      (e) =>
        JSON.stringify({
          session_name: "s",
          __proto__x: 1,
          windows: [{ window_name: "w", panes: ["echo hi"] }],
        }).replace('"__proto__x":1', `"__proto__":${JSON.stringify(e)}`),
    ],
    [
      "window tmuxp",
      "tmuxp",
      (e) =>
        JSON.stringify({
          session_name: "s",
          windows: [{ window_name: "w", __proto__x: 1, panes: ["echo hi"] }],
        }).replace('"__proto__x":1', `"__proto__":${JSON.stringify(e)}`),
    ],
    [
      "pane tmuxp",
      "tmuxp",
      (e) =>
        JSON.stringify({
          session_name: "s",
          windows: [{ window_name: "w", panes: [{ shell_command: ["echo hi"], __proto__x: 1 }] }],
        }).replace('"__proto__x":1', `"__proto__":${JSON.stringify(e)}`),
    ],
    [
      "top tmuxinator",
      "tmuxinator",
      (e) =>
        JSON.stringify({ name: "s", __proto__x: 1, windows: [{ w: "echo hi" }] }).replace(
          '"__proto__x":1',
          `"__proto__":${JSON.stringify(e)}`,
        ),
    ],
  ];
  for (const [where, format, text] of places) {
    it(where, () => {
      // JSON is YAML: the same text reads through the YAML loader too.
      for (const name of ["f.yaml", "f.json"]) {
        if (format === "tmuxinator" && name === "f.json") continue;
        const r = fromText(text(evil), format, name);
        const out = JSON.stringify(r.file);
        expect(out).not.toContain("/evil");
        expect(out).not.toContain("pwned");
        expect(r.warnings.some((w) => w.message.includes("__proto__") || w.at?.includes("__proto__"))).toBe(
          true,
        );
      }
    });
  }
});

describe("which tool a file is for (review H32-1)", () => {
  it("a YAML file whose window has a custom layout line is tmuxp's or tmuxinator's, not KDL", async () => {
    const { detectFormat } = await import("../src/convert/source.js");
    const line = "    layout: c9e0,80x24,0,0{40x24,0,0,0,39x24,41,0,1}";
    expect(
      detectFormat("t.yaml", `session_name: x\nwindows:\n  - window_name: w\n${line}\n    panes: [a, b]\n`),
    ).toBe("tmuxp");
    expect(detectFormat("t.yml", `name: x\nwindows:\n  - w:\n${line}\n        panes: [a, b]\n`)).toBe(
      "tmuxinator",
    );
    expect(detectFormat("t", 'layout {\n  tab name="a" { pane; }\n}\n')).toBe("zellij");
  });
});
