import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, cliSandbox, type Ran, removeSandbox, runCli } from "./cli.js";

let dir: string;
let sock: string;
let env: NodeJS.ProcessEnv;

const sessions = (args: string[]): Promise<Ran> => runCli(args, { env, cwd: dir });

const tmuxAt = (socket: string, ...args: string[]) =>
  execFileSync("tmux", ["-u", "-S", socket, ...args], { env, encoding: "utf8" });
const liveSessions = (socket = sock) => tmuxAt(socket, "list-sessions", "-F", "#{session_name}").split("\n");

function layoutsFile(name: string, layouts: unknown[]): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify({ version: "0.1", layouts }));
  return path;
}
const tab = (tabName: string, command: string, more: object = {}) => ({
  tabName,
  command,
  startDir: dir,
  ...more,
});

beforeAll(() => {
  ({ dir, sock, env } = cliSandbox("mc-hostile-"));
});

afterAll(() => {
  for (const s of [
    sock,
    join(dir, "so\x1b[31mck2"),
    join(dir, "sock-full"),
    join(dir, "sock-norun"),
    join(dir, "sock-h50"),
    join(dir, "sock-h50-2"),
  ])
    try {
      tmuxAt(s, "kill-server");
    } catch {}
  removeSandbox(dir);
});

describe("kill refuses what it would misread, and says what it did not do", () => {
  it("names with --all are a usage error; a missing name kills nothing and says so", async () => {
    const f = layoutsFile("kill.json", [
      { layoutName: "x", layoutTabs: [tab("t", "sleep 300")] },
      { layoutName: "y", layoutTabs: [tab("t", "sleep 300")] },
    ]);
    expect((await sessions(["run", f, "--socket", sock])).code).toBe(0);

    const both = await sessions(["kill", "x", "--all"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("give session names or --all, not both");
    expect(liveSessions()).toEqual(expect.arrayContaining(["x", "y"]));

    const missing = await sessions(["kill", "x", "nope"]);
    expect(missing.code).toBe(5);
    expect(missing.stderr).toContain('no managed session "nope"');
    expect(missing.stderr).toContain("nothing was killed");
    expect(liveSessions()).toEqual(expect.arrayContaining(["x", "y"]));

    expect((await sessions(["kill", "--all"])).code).toBe(0);
    expect(liveSessions()).not.toContain("x");
  });
});

describe("a file name with a newline or escapes stays on its line (review H62-5)", () => {
  it("validate's FILE:LINE:COL lines, its ok line and the YAML refusal are one line each, nothing raw", async () => {
    const name = "ev\u001b]0;PWN\u0007\nil";
    const cases: [string, string][] = [
      [
        `${name}.json`,
        '{"version":"0.1","layouts":[{"layoutName":"a","layoutTabs":[{"tabName":"t","startDir":"/tmp","command":"x","bogus":1}]}]}',
      ],
      [`${name}.yaml`, 'version: "0.1"\nlayouts:\n  - layoutName: a\n'],
      [
        `${name}-ok.json`,
        '{"version":"0.1","layouts":[{"layoutName":"a","layoutTabs":[{"tabName":"t","startDir":"/tmp","command":"x"}]}]}',
      ],
    ];
    for (const [file, text] of cases) {
      writeFileSync(join(dir, file), text);
      const r = await sessions(["validate", file]);
      const all = r.stdout + r.stderr;
      expect(all, file).not.toMatch(/[\u001b\u0007]/);
      // Every line that names the file has all of it: none starts with the name's second half.
      for (const line of all.split("\n").filter(Boolean)) expect(line, file).not.toMatch(/^il/);
    }
  });
});

describe("-V after a command is never a silent success", () => {
  it("--host -V, --socket -V and a late --version are usage errors; -V first and after -- are as before", async () => {
    for (const args of [
      ["run", "x.json", "--host", "-V"],
      ["status", "--socket", "-V"],
      ["ls", "--version"],
    ]) {
      const r = await sessions(args);
      expect(r.code, `${args.join(" ")}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/after a command: the version is `sessions --version`/);
      expect(r.stdout).toBe("");
    }
    expect((await sessions(["-V"])).code).toBe(0);
    const dashed = await sessions([
      "create-from-command",
      "-n",
      "1",
      "-o",
      join(dir, "cfc.json"),
      "--",
      "tool",
      "-V",
    ]);
    expect(dashed.code, dashed.stderr).toBe(0);
  });
});

describe("-o into a directory that does not exist: a usage error naming it, nothing made", () => {
  it("balance-load, export, import, freeze, create-from-command and create-template agree", async () => {
    const f = layoutsFile("out.json", [
      { layoutName: "W", layoutTabs: [tab("a", "true"), tab("b", "true"), tab("c", "true")] },
    ]);
    const tmuxp = join(dir, "tmuxp.yaml");
    writeFileSync(tmuxp, "session_name: s\nwindows:\n  - window_name: w\n    panes:\n      - echo hi\n");
    const target = join(dir, "missing", "deeper", "x.json");
    const runs: [string, string[]][] = [
      ["balance-load", ["balance-load", f, "-m", "1", "-o", target]],
      ["export", ["export", f, "--to", "tmuxp", "-o", target]],
      ["import", ["import", tmuxp, "-o", target]],
      ["freeze", ["freeze", "keeper", "--socket", sock, "-o", target]],
      ["create-from-command", ["create-from-command", "-n", "2", "-o", target, "--", "true"]],
      ["create-template", ["create-template", join(dir, "missing", "deeper", "tpl")]],
    ];
    for (const [what, args] of runs) {
      const r = await sessions(args);
      expect({ what, code: r.code }).toEqual({ what, code: 2 });
      expect(r.stderr).toContain(`directory "${join(dir, "missing", "deeper")}" does not exist`);
      expect(existsSync(join(dir, "missing"))).toBe(false);
    }
  });
});

describe("-o never replaces the file being converted, also through a link (review H17-1)", () => {
  it("a link to the source, or a path through a linked directory, is refused and the source kept", async () => {
    const sub = join(dir, "h17-1");
    mkdirSync(join(sub, "d"), { recursive: true });
    const f = layoutsFile("h17-1/src.json", [{ layoutName: "W", layoutTabs: [tab("a", "true")] }]);
    const before = readFileSync(f, "utf8");
    const tmuxp = join(sub, "t.yaml");
    const yaml = "session_name: s\nwindows:\n  - window_name: w\n    panes:\n      - echo hi\n";
    writeFileSync(tmuxp, yaml);
    symlinkSync("src.json", join(sub, "out.yaml"));
    symlinkSync("..", join(sub, "d", "up"));
    for (const args of [
      ["export", f, "--to", "tmuxp", "-o", join(sub, "out.yaml")],
      ["export", f, "--to", "tmuxp", "-o", join(sub, "d", "up", "src.json")],
      ["import", tmuxp, "-o", join(sub, "d", "up", "t.yaml")],
      // balance-load's result replaced the layouts it was made from (review H20-17).
      ["balance-load", f, "-m", "1", "-o", f],
      ["balance-load", f, "-m", "1", "-o", join(sub, "out.yaml")],
    ]) {
      const r = await sessions(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain("is the file being converted");
    }
    expect(readFileSync(f, "utf8")).toBe(before);
    expect(readFileSync(tmuxp, "utf8")).toBe(yaml);
  });
});

describe("a typo'd key of a tmuxp file: warned with file:line:col and a suggestion, by validate and run (review H50-3)", () => {
  it("validate and run print the warning and still take the file, as tmuxp does", async () => {
    const file = join(dir, "h50-3.yaml");
    writeFileSync(
      file,
      `session_name: h50typo\nwindows:\n  - window_nmae: ed\n    start_directory: ${dir}\n    panes:\n      - shell_comand: echo hi\n`,
    );
    const warning = `warning: ${file}:3:5: windows[0].window_nmae: unknown key, not carried over (tmuxp ignores it too; did you mean window_name?)`;
    const validate = await sessions(["validate", file]);
    expect(validate.code, validate.stderr).toBe(0);
    expect(validate.stderr).toContain(warning);
    expect(validate.stderr).toContain(`${file}:6:9: windows[0].panes[0].shell_comand: unknown key`);
    const run = await sessions(["run", file, "--socket", sock]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(warning);
    expect((await sessions(["kill", "h50typo"])).code).toBe(0);
  });
});

describe("-o onto a file that is there needs --force, as create-template (review H50-11)", () => {
  it("import, export and freeze refuse it and keep it; --force replaces it", async () => {
    const f = layoutsFile("h50-11.json", [{ layoutName: "W", layoutTabs: [tab("a", "true")] }]);
    const tmuxp = join(dir, "h50-11.yaml");
    writeFileSync(tmuxp, "session_name: s\nwindows:\n  - window_name: w\n    panes:\n      - echo hi\n");
    const precious = join(dir, "h50-11-precious.json");
    const runs = [
      ["import", tmuxp, "-o", precious],
      ["export", f, "--to", "tmuxp", "-o", precious],
      ["freeze", "keeper", "--socket", sock, "-o", precious],
      // And balance-load and create-from-command (review H52-13).
      ["balance-load", f, "-m", "1", "-o", precious],
      ["create-from-command", "-n", "2", "-o", precious, "--", "echo {idx}"],
    ];
    for (const args of runs) {
      writeFileSync(precious, '{"precious":1}\n');
      const r = await sessions(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain(`${precious} already exists`);
      expect(r.stderr).toContain("pass --force to overwrite it");
      expect(readFileSync(precious, "utf8")).toBe('{"precious":1}\n');
      // Before a `--` (create-from-command's command follows it).
      const forced = await sessions([args[0]!, "--force", ...args.slice(1)]);
      expect({ args, code: forced.code }).toEqual({ args, code: 0 });
      expect(readFileSync(precious, "utf8")).not.toContain("precious");
    }
    // A device is written through (nothing there to lose); --force alone has no file to act on.
    expect((await sessions(["import", tmuxp, "-o", "/dev/null"])).code).toBe(0);
    const alone = await sessions(["import", tmuxp, "--force"]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain("--force goes with -o FILE");
  });
});

describe("ls tells apart sessions of one name on two tmux servers", () => {
  it("a SOCKET column (control characters made visible) and a socket field in --json", async () => {
    const f = layoutsFile("twin.json", [{ layoutName: "twin", layoutTabs: [tab("t", "sleep 300")] }]);
    const other = join(dir, "so\x1b[31mck2");
    expect((await sessions(["run", f, "--socket", sock])).code).toBe(0);
    expect((await sessions(["run", f, "--socket", other])).code).toBe(0);

    const ls = await sessions(["ls"]);
    expect(ls.code).toBe(0);
    const lines = ls.stdout.split("\n");
    expect(lines[0]).toMatch(/^SESSION\s+HOST\s+BACKEND\s+SOCKET\s+TABS\s+STATE/);
    const twins = lines.filter((l) => l.startsWith("twin "));
    expect(twins).toHaveLength(2);
    expect(twins.some((l) => l.includes(` ${sock} `))).toBe(true);
    expect(twins.some((l) => l.includes(`${join(dir, "so")}\\e[31mck2`))).toBe(true);
    expect(ls.stdout).not.toContain("\x1b");

    const json = JSON.parse((await sessions(["ls", "--json"])).stdout);
    const sockets = json.runs
      .filter((r: { session: string }) => r.session === "twin")
      .map((r: { socket?: string }) => r.socket)
      .sort();
    expect(sockets).toEqual([sock, other].sort());

    // Killing by name needs the socket now; each server keeps its own.
    expect((await sessions(["kill", "twin"])).code).toBe(2);
    expect((await sessions(["kill", "twin", "--socket", other])).code).toBe(0);
    expect((await sessions(["kill", "twin", "--socket", sock])).code).toBe(0);
  });
});

describe("status tells apart sessions of one name on two tmux servers, as ls (review H50-7)", () => {
  it("a SOCKET column in the table and a socket per session in --json", async () => {
    const f = layoutsFile("twin50.json", [
      { layoutName: "twin50", layoutTabs: [tab("ok", "true"), tab("bad", "exit 7")] },
    ]);
    const other = join(dir, "sock-h50");
    expect((await sessions(["run", f, "--socket", sock])).code).toBe(0);
    expect((await sessions(["run", f, "--socket", other])).code).toBe(0);

    const st = await sessions(["status", "twin50"]);
    expect(st.code, st.stderr).toBe(0);
    const lines = st.stdout.split("\n");
    expect(lines[0]).toMatch(/^SESSION\s+SOCKET\s+TAB\s+STATE\s+EXIT/);
    const rows = lines.filter((l) => l.startsWith("twin50 "));
    expect(rows).toHaveLength(4);
    for (const [path, count] of [
      [sock, 2],
      [other, 2],
    ] as const)
      expect(rows.filter((l) => l.includes(` ${path} `))).toHaveLength(count);

    const json = JSON.parse((await sessions(["status", "twin50", "--json"])).stdout);
    expect(json.sessions.map((s: { socket?: string }) => s.socket).sort()).toEqual([other, sock].sort());

    expect((await sessions(["kill", "twin50", "--socket", other])).code).toBe(0);
    expect((await sessions(["kill", "twin50", "--socket", sock])).code).toBe(0);
  });
});

describe("two sessions tmux names alike on two servers (review H50-2)", () => {
  it("run shows tmux's name; every name the ambiguity hint offers finds one session, no loop", async () => {
    const f = layoutsFile("h50-2.json", [
      { layoutName: "g 2.x:y", layoutTabs: [tab("t.1:z", "sleep 60")] },
      { layoutName: "g_2_x_y", layoutTabs: [tab("t", "sleep 60")] },
    ]);
    const other = join(dir, "sock-h50-2");
    expect((await sessions(["run", f, "--socket", sock, "-c", "g_2_x_y"])).code).toBe(0);
    const started = await sessions(["run", f, "--socket", other, "-c", "g 2.x:y"]);
    expect(started.code, started.stderr).toBe(0);
    expect(liveSessions(other)).toContain("g_2_x_y");
    // What tmux calls it: neither mc's g_2.x:y nor anything else tmux would not attach to.
    expect(started.stderr).toContain("✓ g_2_x_y 1 tab on tmux");
    expect(started.stderr).toContain(`attach with: sessions attach --socket ${other} g_2_x_y`);
    expect(started.stderr).not.toMatch(/✓ g_2\.x:y|attach g_2\.x:y/);

    for (const name of ["g_2.x:y", "g_2_x_y"]) {
      const r = await sessions(["attach", name, "--print"]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`"g_2_x_y" of layout "g 2.x:y" on this machine (tmux, tmux socket ${other}`);
      const hint = /hint: name one: (.*)/.exec(r.stderr)?.[1];
      expect(hint).toBe(`'g 2.x:y', --socket ${sock} g_2_x_y`);
    }
    // Each way offered names one session, on the server it says.
    for (const [args, server] of [
      [["g 2.x:y"], other],
      [["g_2_x_y", "--socket", sock], sock],
      [["g_2_x_y", "--socket", other], other],
    ] as const) {
      const r = await sessions(["attach", ...args, "--print"]);
      expect({ args, code: r.code }).toEqual({ args, code: 0 });
      expect(r.stdout).toContain(`-S ${server} attach-session`);
    }
    expect((await sessions(["kill", "g_2_x_y", "--socket", sock])).code).toBe(0);
    // The other gone, the name alone finds the one left.
    expect((await sessions(["kill", "g_2_x_y"])).code).toBe(0);
  });
});

describe("hints name sessions as the shell takes them back (review H57-1, H57-2)", () => {
  it("every choice of 'name one', pasted after the command, names one session and runs nothing of the name", async () => {
    const marker = join(dir, "h57-pwned");
    const names = [`$(touch ${marker})`, "-dash", "it's `id` $HOME"];
    const f = layoutsFile(
      "h57-1.json",
      names.map((n) => ({ layoutName: n, layoutTabs: [tab("t", "echo hello; sleep 60")] })),
    );
    const other = join(dir, "sock-h57-1");
    try {
      for (const s of [sock, other]) expect((await sessions(["run", f, "--socket", s])).code).toBe(0);
      for (const name of names) {
        const r = await sessions(["attach", "--print", "--", name]);
        expect(r.code, r.stderr).toBe(2);
        const choices = /hint: name one: (.*)/.exec(r.stderr)?.[1]?.split(", ") ?? [];
        expect(choices, r.stderr).toHaveLength(2);
        for (const c of choices) {
          // As a user pastes it: read by a shell.
          const p = spawnSync("sh", ["-c", `node ${BIN} attach --print ${c}`], {
            env,
            cwd: dir,
            encoding: "utf8",
          });
          expect({ c, code: p.status, err: p.stderr }).toMatchObject({ c, code: 0 });
          expect(p.stdout).toContain(`attach-session`);
        }
      }
      expect(existsSync(marker)).toBe(false);
      for (const s of [sock, other]) expect((await sessions(["kill", "--all", "--socket", s])).code).toBe(0);
      // The hint for a session that ended, of a name that starts with -: pasted, it names the session.
      const solo = layoutsFile("h57-2.json", [
        { layoutName: "-solo", layoutTabs: [tab("t", "echo hello; sleep 60")] },
      ]);
      expect((await sessions(["run", solo, "--socket", sock])).code).toBe(0);
      await new Promise((r) => setTimeout(r, 300));
      expect((await sessions(["kill", "--", "-solo"])).code).toBe(0);
      const ended = await sessions(["status", "--", "-solo"]);
      const hint = /hint: sessions (logs .*) shows/.exec(ended.stderr)?.[1];
      expect(hint, ended.stderr).toBe("logs -- -solo");
      const p = spawnSync("sh", ["-c", `node ${BIN} ${hint}`], { env, cwd: dir, encoding: "utf8" });
      expect(p.status, p.stderr).toBe(0);
      expect(p.stdout).toContain("hello");
    } finally {
      for (const s of [sock, other]) await sessions(["kill", "--all", "--socket", s]);
      spawnSync("tmux", ["-S", other, "kill-server"]);
    }
  });
});

describe("a state directory other users could write is refused by every command that reads it (hr6 F1, F2, F10)", () => {
  it("run, status, ls, rerun, logs, events, wait, attach --print and kill all exit 9 and start nothing", async () => {
    const state = join(dir, "open-state");
    const env2 = { ...env, MC_STATE_DIR: state };
    const f = layoutsFile("open.json", [{ layoutName: "op", layoutTabs: [tab("t", "exit 3")] }]);
    // Made while private, then opened to everyone (chmod -R 777, a umask 000 copy, a shared /srv dir…).
    expect((await runCli(["run", f, "--socket", sock], { env: env2, cwd: dir })).code).toBe(0);
    execFileSync("chmod", ["-R", "777", state]);
    const before = liveSessions().sort();
    for (const args of [
      ["run", f, "--socket", sock, "--on-conflict", "rename"],
      ["status"],
      ["status", "--json"],
      ["ls"],
      ["ls", "--prune"],
      ["rerun", "op/t"],
      ["logs", "op/t"],
      ["events", "op"],
      ["wait", "op", "--timeout", "1"],
      ["attach", "op", "--print"],
      ["kill", "op"],
    ]) {
      const r = await runCli(args, { env: env2, cwd: dir });
      expect(r.code, `${args.join(" ")}: ${r.stdout}${r.stderr}`).toBe(9);
      expect(r.stderr).toMatch(/writable by every user/);
    }
    expect(liveSessions().sort()).toEqual(before);
    execFileSync("chmod", ["-R", "go-w", state]);
    expect((await runCli(["kill", "op"], { env: env2, cwd: dir })).code).toBe(0);
  });
});

describe("a path from the user stays on its own line (hr6 F12)", () => {
  it("a newline in an -o path or a template name is shown, never printed raw; a dangling link is 'already exists'", async () => {
    const src = layoutsFile("nl-src.json", [
      { layoutName: "nl", layoutTabs: [tab("a", "true"), tab("b", "true"), tab("c", "true")] },
    ]);
    const outs = [
      await sessions(["balance-load", src, "-m", "1", "-o", join(dir, "o\nut.json")]),
      await sessions(["export", src, "--to", "tmuxp", "-o", join(dir, "x\ny.yaml")]),
      await sessions(["create-template", join(dir, "n\nl")]),
    ];
    for (const r of outs) {
      expect(r.code, r.stderr).toBe(0);
      expect(`${r.stdout}${r.stderr}`).toContain(" ⏎ ");
      expect(`${r.stdout}${r.stderr}`).not.toMatch(/o\nut|x\ny|n\nl/);
    }
    execFileSync("ln", ["-s", join(dir, "nowhere", "x"), join(dir, "dangling.json")]);
    const r = await sessions(["create-template", join(dir, "dangling")]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/already exists/);
    // --force never follows a link to nothing into another directory (it made the file there).
    mkdirSync(join(dir, "elsewhere"));
    execFileSync("ln", ["-s", join(dir, "elsewhere", "made.json"), join(dir, "dangling2.json")]);
    const forced = await sessions(["create-template", join(dir, "dangling2"), "--force"]);
    expect(forced.code, forced.stderr).toBe(2);
    expect(forced.stderr).toMatch(/link to a file that does not exist/);
    expect(readdirSync(join(dir, "elsewhere"))).toEqual([]);
    // Never a file mc refuses to read (over 8 MiB).
    const big = await sessions(["create-template", join(dir, "big"), "-t", "100000"]);
    expect(big.code, big.stderr).toBe(2);
    expect(big.stderr).toMatch(/over 8 MiB, more than mc reads/);
    expect(existsSync(join(dir, "big.json"))).toBe(false);
  });
});

describe("a newline in a startDir never begins a line of mc's (review H22-1)", () => {
  it("the missing, skipped, created and pane directories are quoted on their line", async () => {
    const forged = join(dir, "nope\nhint: forged by the file");
    const f = layoutsFile("nl-dir.json", [
      {
        layoutName: "nd",
        layoutTabs: [
          tab("a", "true", { startDir: forged }),
          tab("b", "true", { panes: [{ command: "true", startDir: `${forged}2` }] }),
        ],
      },
    ]);
    const outs = [
      await sessions(["run", f, "--dry-run", "--socket", sock]),
      await sessions(["run", f, "--dry-run", "--socket", sock, "--missing-dirs", "skip"]),
      await sessions(["run", f, "--dry-run", "--socket", sock, "--missing-dirs", "create"]),
    ];
    expect(outs[0]!.code).toBe(3);
    for (const r of outs) {
      const text = `${r.stdout}${r.stderr}`;
      expect(text).toContain("nope\\nhint: forged by the file");
      expect(text).not.toMatch(/^hint: forged/m);
    }
    expect(existsSync(forged)).toBe(false);
  });
});

describe("--dry-run shows each generated file exactly as it runs (review H64-4)", () => {
  it("a line of a multi-line startDir or command is shown as written after the gutter, never indented into the value", async () => {
    const nl = join(dir, "d\nnl");
    mkdirSync(nl, { recursive: true });
    const f = layoutsFile("h644.json", [
      {
        layoutName: "dn",
        layoutTabs: [tab("t", "pwd > o4\necho second-line >> o4", { startDir: nl })],
      },
    ]);
    const r = await sessions(["run", f, "--dry-run", "--socket", sock]);
    expect(r.code, r.stderr).toBe(0);
    const j = await sessions(["run", f, "--dry-run", "--socket", sock, "--json"]);
    const artefacts = JSON.parse(j.stdout).batches[0][0].artefacts as {
      description: string;
      content: string;
    }[];
    const text = r.stdout.split("\n");
    // Each run has its own run id (so paths): the k-th header is the k-th artefact.
    const headers = text.flatMap((l, k) => (l.startsWith("# --- ") ? [k] : []));
    expect(headers).toHaveLength(artefacts.length);
    for (const [n, a] of artefacts.entries()) {
      // The lines after its header, up to the next line of the plan's own, with the gutter taken off.
      const at = headers[n]!;
      expect(text[at], a.description).toContain(`# --- ${a.description}: `);
      const body: string[] = [];
      for (let k = at + 1; k < text.length && text[k]!.startsWith("  │ "); k++) body.push(text[k]!.slice(4));
      const runId = (t: string) => t.replace(/\d{8}-\d{6}-[0-9a-f]{6}/g, "RUN");
      expect(runId(body.join("\n")), a.description).toBe(runId(a.content.replace(/\n$/, "")));
    }
    // The quoted cwd's second line is `nl'` after the gutter, as in the script.
    expect(r.stdout).toMatch(/^ {2}│ nl'/m);
    expect(r.stdout).toMatch(/^ {2}│ echo second-line >> o4$/m);
    // No line of a generated file can pass for a header of the plan.
    expect(text.filter((l) => l.startsWith("#") && !/^# (session|---|start:|tab )/.test(l))).toEqual([]);
  });
});

/** A 256 KiB tmpfs of our own (root only: skipped where mount is not allowed). */
function smallDisk(): string | undefined {
  const at = join(dir, "small-disk");
  mkdirSync(at, { recursive: true });
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", at], { stdio: "ignore" });
    return at;
  } catch {
    return undefined;
  }
}

describe("a record without its run id (edited by hand, review H23-5)", () => {
  it("kill refuses it and kills nothing; ls --prune forgets it, killing nothing either (review H24-6)", async () => {
    const f = layoutsFile("norun.json", [
      { layoutName: "norun-x", layoutTabs: [tab("t", "sleep 60")] },
      { layoutName: "norun-y", layoutTabs: [tab("t", "sleep 60")] },
    ]);
    const sock6 = join(dir, "sock-norun");
    expect((await sessions(["run", f, "--socket", sock6])).code).toBe(0);
    const runs = join(String(env.MC_STATE_DIR), "managers", "TmuxLocalManager");
    const file = join(
      runs,
      readdirSync(runs).find(
        (n) => n.endsWith(".json") && readFileSync(join(runs, n), "utf8").includes("norun-x"),
      )!,
    );
    const run = JSON.parse(readFileSync(file, "utf8"));
    for (const s of run.sessions) {
      delete s.data.runId;
      delete s.data.sessionId;
    }
    writeFileSync(file, JSON.stringify(run));
    const k = await sessions(["kill", "norun-x", "--socket", sock6]);
    expect(k.code).toBe(9);
    expect(tmuxAt(sock6, "list-sessions", "-F", "#{session_name}")).toContain("norun-x");
    const p = await sessions(["ls", "--prune"]);
    expect(p.code, p.stderr).toBe(0);
    expect(existsSync(file)).toBe(false);
    // The sessions may be running on their run directories (logs, records): those stay (review H26-5).
    expect(existsSync(join(String(env.MC_STATE_DIR), "runs", run.id))).toBe(true);
    // Both sessions run on: pruning a record kills nothing it cannot tell is its own.
    expect(tmuxAt(sock6, "list-sessions", "-F", "#{session_name}").split("\n")).toEqual(
      expect.arrayContaining(["norun-x", "norun-y"]),
    );
    tmuxAt(sock6, "kill-server");
  });
});

describe("a full state disk (review H23-3)", () => {
  it("a start that failed for want of room leaves no record; ls --prune clears gone runs on a full disk", async (ctx) => {
    const disk = smallDisk();
    if (!disk) return ctx.skip();
    const stateEnv = { ...env, MC_STATE_DIR: join(disk, "state") };
    const on = (args: string[]) => runCli(args, { env: stateEnv, cwd: dir });
    const fill = (leaveKiB: number) => {
      rmSync(join(disk, "filler"), { force: true });
      const avail = Number(
        execFileSync("df", ["-k", "--output=avail", disk], { encoding: "utf8" }).split("\n")[1],
      );
      const count = Math.max(0, avail - leaveKiB);
      try {
        execFileSync("dd", ["if=/dev/zero", `of=${join(disk, "filler")}`, "bs=1k", `count=${count}`], {
          stdio: "ignore",
        });
      } catch {}
    };
    try {
      const sock2 = join(dir, "sock-full");
      const one = layoutsFile("full-one.json", [{ layoutName: "gone1", layoutTabs: [tab("t", "sleep 60")] }]);
      expect((await on(["run", one, "--socket", sock2])).code).toBe(0);
      // A run of many tabs meets a disk with a little room: it fails and rolls back, leaving nothing.
      const many = layoutsFile(
        "full-many.json",
        ["r0", "r1", "r2", "r3"].map((n) => ({
          layoutName: n,
          layoutTabs: Array.from({ length: 6 }, (_, i) => tab(`t${i}`, "sleep 60")),
        })),
      );
      for (const leave of [16, 32, 48]) {
        fill(leave);
        const r = await on(["run", many, "--socket", sock2]);
        if (r.code === 0) await on(["kill", "r0", "r1", "r2", "r3", "--socket", sock2]);
      }
      rmSync(join(disk, "filler"), { force: true });
      const ls = await on(["ls", "--json"]);
      const rows = JSON.parse(ls.stdout) as { runs: { session: string }[] };
      expect(rows.runs.map((r) => r.session)).toEqual(["gone1"]);
      // The one live session goes (its server with it), the disk fills up: ls --prune still forgets it.
      tmuxAt(sock2, "kill-server");
      fill(0);
      const pruned = await on(["ls", "--prune"]);
      expect(pruned.code, pruned.stderr).toBe(0);
      rmSync(join(disk, "filler"), { force: true });
      expect(JSON.parse((await on(["ls", "--json"])).stdout).runs).toEqual([]);
    } finally {
      execFileSync("umount", ["-l", disk]);
    }
  });
});

describe("rerun decides before it starts anything, and one tab reruns once at a time (hr6 F5–F7)", () => {
  it("concurrent reruns of one tab start it once; the others are told it has not finished", async () => {
    const again = join(dir, "rerun-again");
    const f = layoutsFile("rr.json", [
      { layoutName: "rr", layoutTabs: [tab("t", `[ -e '${again}' ] && sleep 30; exit 3`)] },
    ]);
    expect((await sessions(["run", f, "--socket", sock, "-m"])).code).toBe(10);
    writeFileSync(again, "");
    const rs = await Promise.all([1, 2, 3].map(() => sessions(["rerun", "rr/t"])));
    expect(rs.map((r) => r.code).sort(), rs.map((r) => r.stderr).join("\n")).toEqual([0, 2, 2]);
    for (const r of rs.filter((x) => x.code === 2)) expect(r.stderr).toMatch(/has not finished/);
    const windows = tmuxAt(sock, "list-windows", "-t", "=rr", "-F", "#{window_name}").trim().split("\n");
    expect(windows).toEqual(["t"]);
    expect((await sessions(["kill", "rr"])).code).toBe(0);
  });

  it("--failed leaves a dependent of a failed tab, and a tab of several panes, out and says so", async () => {
    const f = layoutsFile("rf.json", [
      {
        layoutName: "rf",
        layoutTabs: [
          tab("a", "exit 7"),
          tab("b", "true", { dependsOn: ["a"] }),
          tab("p", "true", { panes: [{ command: "exit 4" }] }),
          tab("x", "exit 5"),
        ],
      },
    ]);
    expect((await sessions(["run", f, "--socket", sock, "--max-parallel-tabs", "1", "-m"])).code).toBe(10);
    const r = await sessions(["rerun", "rf", "--failed", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.rerun.map((x: { tab: string }) => x.tab).sort()).toEqual(["a", "x"]);
    expect(j.notRerun.join("\n")).toMatch(/b depends on a/);
    expect(j.notRerun.join("\n")).toMatch(/p has several panes/);
    expect((await sessions(["kill", "rf"])).code).toBe(0);
  });
});

describe("--choose-tabs keeps each tab as its layout had it", () => {
  it("a chosen tab keeps its layout's env; a dependency never binds to another layout's tab of that name", async () => {
    const f = layoutsFile("choose.json", [
      {
        layoutName: "L",
        env: { DB_URL: "postgres://from-L" },
        onStart: "true",
        layoutTabs: [tab("db", "echo L-db"), tab("api", 'echo "DB_URL=$DB_URL"', { dependsOn: ["db"] })],
      },
      { layoutName: "M", layoutTabs: [tab("db", "echo M-db; exit 1"), tab("web", "echo web")] },
    ]);
    // Both db tabs chosen: each keeps its layout's name for it, and L's api waits for L's db (M's fails).
    const both = await sessions(["run", f, "-t", "M::db,L::api,L::db", "--socket", sock, "-k"]);
    expect(both.code, both.stderr).toBe(10);
    expect(both.stderr).toContain('the onStart/onStop of "L" do not run');
    const events = await sessions(["events", "custom-tabs", "--socket", sock]);
    const exits = events.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((e) => e.type === "tab-exited")
      .map((e) => [e.tab, e.exitCode]);
    expect(exits.sort()).toEqual([
      ["L.db", 0],
      ["M.db", 1],
      ["api", 0],
    ]);
    const api = await sessions(["logs", "custom-tabs/api", "--socket", sock]);
    expect(api.stdout).toContain("DB_URL=postgres://from-L");
    // L's db not chosen: M's db is not taken for it; the run is refused, naming L's.
    const wrong = await sessions(["run", f, "-t", "M::db,L::api", "--socket", sock, "--dry-run"]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('depends on "L::db", which this run leaves out');
  });
});

describe("-t LAYOUT::TAB that splits two ways (review H17-6)", () => {
  it("is refused, naming both, not resolved silently", async () => {
    const f = layoutsFile("sel2.json", [
      { layoutName: "A::B", layoutTabs: [tab("C", "echo AB-C")] },
      { layoutName: "A", layoutTabs: [tab("B::C", "echo A-BC")] },
    ]);
    const r = await sessions(["run", f, "-t", "A::B::C", "--socket", sock, "--dry-run"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('tab "C" of layout "A::B"');
    expect(r.stderr).toContain('tab "B::C" of layout "A"');
  });
});

describe.skipIf(process.platform !== "linux")("a file that cannot be read (review H20-1)", () => {
  it("is exit 3 with the reason for validate, run and import, never 'a bug in mc'", async () => {
    // /proc/self/mem opens, then its read fails (EIO), as another user's file fails to open.
    for (const args of [
      ["validate", "/proc/self/mem"],
      ["run", "/proc/self/mem", "--dry-run"],
      ["import", "/proc/self/mem"],
    ]) {
      const r = await sessions(args);
      expect({ args, code: r.code }).toEqual({ args, code: 3 });
      expect(r.stderr).toContain("cannot read it");
      expect(r.stderr).not.toContain("bug in mc");
    }
  });
});

describe("first-day answers (review H20)", () => {
  it("tmuxp's and tmuxinator's verbs name mc's; a name starting with - is attached after --; schema --help lists every schema", async () => {
    for (const [verb, want] of [
      ["load", "sessions run FILE"],
      ["start", "sessions run FILE"],
      ["stop", "sessions kill SESSION"],
    ] as const) {
      const r = await sessions([verb, "x"]);
      expect({ verb, code: r.code }).toEqual({ verb, code: 2 });
      expect(r.stderr).toContain(want);
    }
    // help of no command is a usage error, as the command itself is (review H57-11: exit 0).
    const bogus = await sessions(["help", "bogus"]);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain("unknown command 'bogus'");
    expect(bogus.stdout).toBe("");
    const known = await sessions(["help", "kill"]);
    expect(known.code).toBe(0);
    expect(known.stdout).toContain("Usage: sessions kill");
    expect((await sessions(["help", "k"])).code).toBe(2);
    expect((await sessions(["help"])).code).toBe(0);
    expect((await sessions(["help", "r"])).stdout).toContain("Usage: sessions run|r");
    // - as the layouts file is standard input, and run --help says so (review H57-11).
    expect((await sessions(["run", "--help"])).stdout).toContain("layouts file, - for standard input");
    const f = layoutsFile("dash.json", [{ layoutName: "-rf", layoutTabs: [tab("t", "true")] }]);
    const r = await sessions(["run", "--socket", sock, "--", f]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`attach with: sessions attach --socket ${sock} -- -rf`);
    expect((await sessions(["kill", "--", "-rf"])).code).toBe(0);
    // Empty values from a script's unset variables are usage errors, not a search of every file or a no-op.
    expect((await sessions(["run", ""])).code).toBe(2);
    expect((await sessions(["run", f, "--notify", ""])).code).toBe(2);
    const help = (await sessions(["schema", "--help"])).stdout;
    for (const name of ["log-line", "wait", "rerun", "convert", "export"]) expect(help).toContain(name);
  });

  it("bash completion: after global options and aliases, --json, session names, schema names, option values (review H20-8)", async () => {
    const f = layoutsFile("cmp.json", [{ layoutName: "cmp-live", layoutTabs: [tab("t", "sleep 30")] }]);
    expect((await sessions(["run", f, "--socket", sock])).code).toBe(0);
    const bin = join(dir, "cbin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, "sessions"),
      `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`,
      {
        mode: 0o755,
      },
    );
    const script = join(dir, "comp.bash");
    writeFileSync(script, (await sessions(["completion", "bash"])).stdout);
    const complete = (...words: string[]) =>
      execFileSync(
        "bash",
        [
          // Not root's ~/.bashrc (bash reads it when its stdin is a socket, as node's pipes are).
          "--norc",
          "-c",
          `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _sessions_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
          "bash",
          script,
          join(bin, "sessions"),
          ...words,
        ],
        { env, cwd: dir, encoding: "utf8" },
      )
        .split("\n")
        .filter(Boolean);
    expect(complete("--json", "status", "--w")).toEqual(["--watch"]);
    expect(complete("r", "--dry")).toEqual(["--dry-run"]);
    expect(complete("--j")).toEqual(["--json"]);
    expect(complete("status", "cmp")).toEqual(["cmp-live"]);
    expect(complete("--state-dir", join(dir, "state"), "kill", "")).toContain("cmp-live");
    expect(complete("schema", "lo")).toEqual(["log-line"]);
    expect(complete("completion", "")).toEqual(["bash", "zsh", "fish"]);
    // The value of an option is a file, not a session name.
    expect(complete("status", "--socket", "cmp.j")).toEqual(["cmp.json"]);
    // A file name is one word as it is: never split at a space, never a glob (review H39-8).
    writeFileSync(join(dir, "my cmp layouts.json"), "{}");
    writeFileSync(join(dir, "[c]mp*.json"), "{}");
    expect(complete("validate", "my")).toEqual(["my cmp layouts.json"]);
    expect(complete("validate", "[c]")).toEqual(["[c]mp*.json"]);
    expect(complete("--state-dir", "my")).toEqual([]);
    // A name holding a newline is never offered as its pieces (review H42-7).
    writeFileSync(join(dir, "nlq\nfakeq.json"), "{}");
    writeFileSync(join(dir, "nlqx\n"), "{}");
    expect(complete("validate", "nlq")).toEqual([]);
    expect(complete("validate", "fakeq")).toEqual([]);
    // Another user's home is offered as compgen finds it, not dropped (review H45-4).
    if (existsSync("/root/.bashrc")) expect(complete("validate", "~root/.bashr")).toEqual(["~root/.bashrc"]);
    expect((await sessions(["kill", "cmp-live"])).code).toBe(0);
    // Names are offered, never run (review H26-1: compgen -W ran a $(…) in a name).
    const marker = join(dir, "completion-ran");
    const evil = [`cmx $(touch ${marker})`, `cmx \`touch ${marker}\``, "cmx ${HOME}"];
    const g = layoutsFile(
      "cmx.json",
      evil.map((n) => ({ layoutName: n, layoutTabs: [tab("t", "sleep 30")] })),
    );
    expect((await sessions(["run", g, "--socket", sock])).code).toBe(0);
    const offered = complete("status", "cmx");
    expect(existsSync(marker)).toBe(false);
    // Each offered word, read back by the shell, is one of the sessions' names exactly (a space is _ there).
    const back = offered.map((w) =>
      execFileSync("bash", ["--norc", "-c", `printf '%s' ${w}`], { encoding: "utf8" }),
    );
    expect(back.sort()).toEqual(evil.map((n) => n.replaceAll(" ", "_")).sort());
    expect(existsSync(marker)).toBe(false);
    for (const n of evil) expect((await sessions(["kill", "--", n])).code).toBe(0);

    // Only what works, and what works is offered (review H57-7). -V/--version is refused after a command.
    expect(complete("--ver")).toEqual(["--version"]);
    expect(complete("run", "--ver")).toEqual([]);
    expect(complete("status", "-V")).toEqual([]);
    // help, -h and --help.
    expect(complete("he")).toEqual(["help"]);
    expect(complete("--he")).toEqual(["--help"]);
    expect(complete("kill", "--he")).toEqual(["--help"]);
    expect(complete("help", "create-")).toEqual(["create-template", "create-from-command"]);
    // An option of fixed values completes to them, not to file names.
    expect(complete("export", f, "--to", "")).toEqual(["tmuxp", "tmuxinator", "zellij"]);
    expect(complete("r", f, "--on-conflict", "re")).toEqual(["restart", "rename"]);
    expect(complete("run", "--exit", "c")).toEqual(["close"]);
    expect(complete("freeze", "x", "-b", "z")).toEqual(["zellij", "z"]);
    // A name that starts with - is offered after --, and a name on two servers once.
    const two = join(dir, "sock-h57-7");
    const h = layoutsFile("h57-7.json", [
      { layoutName: "-cmdash", layoutTabs: [tab("t", "sleep 30")] },
      { layoutName: "cmdup", layoutTabs: [tab("t", "sleep 30")] },
    ]);
    expect((await sessions(["run", h, "--socket", sock])).code).toBe(0);
    expect((await sessions(["run", h, "--socket", two])).code).toBe(0);
    try {
      expect(complete("kill", "cmdu")).toEqual(["cmdup"]);
      expect(complete("kill", "-cmd")).toEqual(["-- -cmdash"]);
      expect(complete("kill", "")).toEqual(expect.arrayContaining(["-- -cmdash", "cmdup"]));
      expect(complete("kill", "--", "-cmd")).toEqual(["-cmdash"]);
      expect(complete("logs", "--", "")).toEqual(expect.arrayContaining(["-cmdash", "cmdup"]));
      // Each offered word, pasted after the command, is the name.
      const [word] = complete("status", "-cmd");
      const pasted = spawnSync(
        "bash",
        ["--norc", "-c", `exec node "$0" status --socket "$1" ${word}`, BIN, two],
        {
          env,
          cwd: dir,
          encoding: "utf8",
        },
      );
      expect(pasted.status, pasted.stderr).toBe(0);
      expect(pasted.stdout).toContain("-cmdash");
    } finally {
      for (const s of [sock, two]) await sessions(["kill", "--socket", s, "--", "-cmdash", "cmdup"]);
      try {
        tmuxAt(two, "kill-server");
      } catch {}
    }
  });

  it("NO_COLOR with FORCE_COLOR: FORCE_COLOR wins, as --help says, and Node's own warning is not shown (review H57-10)", async () => {
    const r = await runCli(["status", "nosuch-h57-10"], {
      env: { ...env, NO_COLOR: "1", FORCE_COLOR: "1" },
      cwd: dir,
    });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("\x1b[31merror:");
    expect(r.stderr).not.toContain("NO_COLOR");
    expect(r.stderr).not.toMatch(/\(node:\d+\)|Warning:|--trace-warnings/);
    expect((await sessions(["--help"])).stdout).toContain("FORCE_COLOR=0/1 turns it off/on, over NO_COLOR");
  });

  it("completion --help's example works as printed in a fresh HOME (review H57-8)", async () => {
    const help = (await sessions(["completion", "--help"])).stdout;
    const lines = help
      .slice(help.indexOf("Example:"))
      .split("\n")
      .slice(1)
      .map((l) => l.trim())
      .filter(Boolean);
    const home = join(dir, "fresh-home-h57-8");
    const bin = join(dir, "bin-h57-8");
    mkdirSync(home);
    mkdirSync(bin);
    writeFileSync(
      join(bin, "sessions"),
      `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`,
      {
        mode: 0o755,
      },
    );
    const r = spawnSync("bash", ["--norc", "-e", "-c", lines.join("\n")], {
      env: { ...env, HOME: home, PATH: `${bin}:${env.PATH}` },
      cwd: dir,
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(home, ".local/share/bash-completion/completions/sessions"), "utf8")).toContain(
      "complete -F _sessions_complete sessions",
    );
  });

  it("fish completion: short options, fixed values, help, and no -V after a command (review H57-7)", async (ctx) => {
    if (spawnSync("fish", ["--version"]).error) ctx.skip("fish is not installed");
    const script = join(dir, "comp.fish");
    writeFileSync(script, (await sessions(["completion", "fish"])).stdout);
    const complete = (line: string) =>
      execFileSync("fish", ["--no-config", "-c", `source $argv[1]; complete -C $argv[2]`, script, line], {
        env,
        cwd: dir,
        encoding: "utf8",
      })
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split("\t")[0]!);
    const run = complete("sessions run -");
    expect(run).toEqual(expect.arrayContaining(["-m", "-k", "--monitor", "-h", "--help"]));
    expect(run).not.toContain("-V");
    expect(complete("sessions run --ver")).toEqual([]);
    expect(complete("sessions --ver")).toEqual(["--version"]);
    expect(complete("sessions export x.json --to ").sort()).toEqual(["tmuxinator", "tmuxp", "zellij"]);
    expect(complete("sessions he")).toEqual(["help"]);
    expect(complete("sessions help create-").sort()).toEqual(["create-from-command", "create-template"]);

    // Session names (review H66-6): after --, a name that starts with - whole (it was offered as "-"); a
    // name JSON escapes (", \) left out, as bash does (it was offered JSON-escaped, which names no session).
    const bin = join(dir, "fbin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, "sessions"),
      `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`,
      { mode: 0o755 },
    );
    const names = ["-fsdash", "fsq'x", `fsq'"x`, "fsb\\s", "fs plain"];
    const f = layoutsFile(
      "h66-6.json",
      names.map((n) => ({ layoutName: n, layoutTabs: [tab("t", "sleep 30")] })),
    );
    expect((await sessions(["run", f, "--socket", sock])).code).toBe(0);
    const withNames = (line: string) =>
      execFileSync("fish", ["--no-config", "-c", `source $argv[1]; complete -C $argv[2]`, script, line], {
        env: { ...env, PATH: `${bin}:${env.PATH}` },
        cwd: dir,
        encoding: "utf8",
      })
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split("\t")[0]!);
    try {
      expect(withNames("sessions kill -- -fs")).toEqual(["-fsdash"]);
      expect(
        withNames("sessions logs -- ")
          .filter((n) => n.includes("fs"))
          .sort(),
      ).toEqual(["-fsdash", "fs_plain", "fsq'x"].sort());
      expect(withNames("sessions status fs").sort()).toEqual(["fs_plain", "fsq'x"]);
      expect(withNames("sessions attach fs").join("\n")).not.toMatch(/\\/);
    } finally {
      await sessions(["kill", "--socket", sock, "--", ...names.map((n) => n.replaceAll(" ", "_"))]);
    }
  });

  it("- is standard input for a layouts file; freeze does not name a zellij that is not there (review H20-16)", async () => {
    const text = JSON.stringify({
      version: "0.1",
      layouts: [{ layoutName: "fromstdin", layoutTabs: [tab("t", "true")] }],
    });
    const stdin = (...args: string[]) =>
      spawnSync(process.execPath, [BIN, ...args], { env, cwd: dir, input: text, encoding: "utf8" });
    const v = stdin("validate", "-");
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout).toContain("-: ok (1 layout, 1 tab)");
    const d = stdin("run", "-", "--dry-run", "--socket", sock);
    expect(d.status, d.stderr).toBe(0);
    expect(d.stdout).toContain('session "fromstdin"');
    expect(stdin("balance-load", "-", "-m", "1").status).toBe(2);
    const f = spawnSync(process.execPath, [BIN, "freeze", "nosuch", "--socket", join(dir, "no-server")], {
      env: { ...env, PATH: "/usr/bin:/bin" },
      cwd: dir,
      encoding: "utf8",
    });
    expect(f.status).toBe(5);
    expect(f.stderr).toMatch(/zellij is not installed/);
  });

  it("every --help fits 80 columns (review H20-6), whatever HOME and the cwd are (review H57-9)", async () => {
    // A HOME and cwd longer than /root: the default file and --start-dir printed them (86 columns).
    const deep = join(dir, "a-home-directory-whose-path-is-much-longer-than-slash-root", "and-deeper");
    mkdirSync(deep, { recursive: true });
    const help = (args: string[]) => runCli(args, { env: { ...env, HOME: deep }, cwd: deep });
    const top = (await help(["--help"])).stdout;
    const commands = [...top.matchAll(/^ {2}([a-z-]+)(?:\|\w+)? {2,}/gm)].map((m) => m[1]!);
    expect(commands).toContain("create-from-command");
    for (const args of [["--help"], ...commands.map((c) => [c, "--help"])]) {
      const long = (await help(args)).stdout.split("\n").filter((l) => [...l].length > 80);
      expect({ args, long }).toEqual({ args, long: [] });
    }
  });
});

describe("a session killed outside mc is not one of two live sessions of its name (review H20-3)", () => {
  it("wait, logs and kill of the name reach the session that is there", async () => {
    const f = layoutsFile("twice.json", [
      { layoutName: "twice", layoutTabs: [tab("t", "echo hi; sleep 30")] },
    ]);
    const other = join(dir, "sock-twice");
    // First on a server of its own: killing its only session ends the server too (review H21-1).
    const first = join(dir, "sock-twice-first");
    expect((await sessions(["run", f, "--socket", first])).code).toBe(0);
    execFileSync("tmux", ["-S", first, "kill-session", "-t", "=twice"]);
    expect((await sessions(["run", f, "--socket", other])).code).toBe(0);
    try {
      const w = await sessions(["wait", "twice", "--timeout", "0.5"]);
      expect(w.code, w.stderr).toBe(7);
      expect((await sessions(["logs", "twice"])).code).toBe(0);
      const k = await sessions(["kill", "twice"]);
      expect(k.code, k.stderr).toBe(0);
      expect(() =>
        execFileSync("tmux", ["-S", other, "has-session", "-t", "=twice"], { stdio: "ignore" }),
      ).toThrow();
    } finally {
      try {
        execFileSync("tmux", ["-S", other, "kill-server"], { stdio: "ignore" });
      } catch {}
    }
  });
});

describe("--socket", () => {
  it("a path that is a file or directory, not a socket, is refused before tmux replaces it (review H20-2)", async () => {
    const f = layoutsFile("sock-file.json", [{ layoutName: "sf", layoutTabs: [tab("t", "true")] }]);
    const before = readFileSync(f, "utf8");
    for (const target of [f, dir]) {
      const r = await sessions(["run", f, "--socket", target]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/is a (regular file|directory), not a socket/);
    }
    expect(readFileSync(f, "utf8")).toBe(before);
  });

  it("an empty --socket is a usage error on every command that takes one (it named tmux's socket directory)", async () => {
    const f = layoutsFile("sock-empty.json", [{ layoutName: "se", layoutTabs: [tab("t", "true")] }]);
    for (const args of [
      ["run", f, "--dry-run"],
      ["status"],
      ["kill", "se"],
      ["ls"],
      ["attach", "se", "--print"],
      ["logs", "se"],
      ["events"],
      ["wait"],
      ["rerun", "se/t"],
      ["freeze", "se"],
    ]) {
      const r = await sessions([...args, "--socket", ""]);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain("give a tmux socket name or path");
    }
  });

  it("with another tool's --backend is a usage error on every command that takes both, nothing started (review H61-12)", async () => {
    const f = layoutsFile("sock-zellij.json", [{ layoutName: "sz", layoutTabs: [tab("t", "true")] }]);
    const before = liveSessions();
    const other = join(dir, "sock-h61");
    for (const args of [
      ["run", f],
      ["run-all", f, "-t", "1"],
      ["create-from-command", "-n", "1", "true"],
      ["status"],
      ["attach", "sz", "--print"],
      ["kill", "sz"],
      ["ls"],
      ["logs", "sz"],
      ["events"],
      ["wait"],
      ["rerun", "sz/t"],
      ["freeze", "sz"],
    ])
      for (const backend of ["zellij", "z", ...(args[0] === "freeze" ? [] : ["wt"])]) {
        const r = await sessions([...args, "--backend", backend, "--socket", other]);
        expect(r.code, `${args[0]} ${backend}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toContain(`error: --socket names a tmux server; --backend ${backend} has none`);
        expect(r.stderr).toContain("hint: drop --socket, or use --backend tmux");
      }
    // auto that finds zellij and no tmux: refused once the tool is known, before anything starts.
    const bin = join(dir, "h61bin");
    mkdirSync(bin, { recursive: true });
    for (const [name, target] of [
      ["node", process.execPath],
      ["sh", "/bin/sh"],
    ] as const)
      if (!existsSync(join(bin, name))) symlinkSync(target, join(bin, name));
    const ran = join(dir, "h61-zellij-ran");
    writeFileSync(join(bin, "zellij"), `#!/bin/sh\necho "$@" >> '${ran}'\nexit 1\n`, { mode: 0o755 });
    const auto = await runCli(["run", f, "--socket", other], { env: { ...env, PATH: bin }, cwd: dir });
    expect(auto.code, auto.stderr).toBe(2);
    expect(auto.stderr).toContain("error: --socket names a tmux server; --backend auto chose zellij here");
    expect(existsSync(ran)).toBe(false);
    expect(existsSync(other)).toBe(false);
    expect(liveSessions()).toEqual(before);
  });
});

describe("validate", () => {
  it("marks a warning as one: the file is ok, exit 0, and no line reads like an error", async () => {
    const f = layoutsFile("warn.json", [
      { layoutName: "a.b", layoutTabs: [tab("t", "true")] },
      { layoutName: "a:b", layoutTabs: [tab("t", "true")] },
    ]);
    const r = await sessions(["validate", f]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("ok (2 layouts, 2 tabs)");
    const lines = r.stderr.trim().split("\n");
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(/^warning: /);
    expect(r.stderr).toContain('"a:b" and "a.b"');
  });

  it("a YAML file that is no tmuxp or tmuxinator file is said to be YAML, not 'invalid JSON' at 1:1 (review H61-4)", async () => {
    const mcYaml =
      'version: "0.1"\nlayouts:\n  - layoutName: a\n    layoutTabs:\n      - tabName: t\n        startDir: ~/code\n        command: echo hi\n';
    const said =
      "is YAML: a layouts file is JSON (or JSONC); YAML is read as a tmuxp or tmuxinator file (session_name/windows, name/windows)";
    for (const [name, text, hint] of [
      ["lay.yaml", mcYaml, 'write the same keys as JSON: {"version": "0.1", "layouts": ['],
      ["lay-as.json", mcYaml, 'write the same keys as JSON: {"version": "0.1", "layouts": ['],
      [
        "other.yml",
        "foo: 1\nbar:\n  - x\n",
        "write it as JSON (sessions create-template writes a starter file)",
      ],
    ] as const) {
      const f = join(dir, name);
      writeFileSync(f, text);
      const v = await sessions(["validate", f]);
      expect(v.code, v.stderr).toBe(3);
      expect(v.stderr).toContain(`${f}:1:1: this ${said} (${hint}`);
      const r = await sessions(["run", f, "--dry-run"]);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain(`error: ${f} ${said}\nhint: ${hint}`);
      expect(r.stderr).toContain("; nothing was started");
      for (const out of [v.stderr, r.stderr]) {
        expect(out).not.toContain("invalid JSON");
        expect(out).not.toContain("fix the fields above");
      }
    }
    const imp = await sessions(["import", join(dir, "lay.yaml")]);
    expect(imp.code).toBe(3);
    expect(imp.stderr).toContain(
      "hint: it is an mc layouts file written in YAML: a layouts file is JSON (or JSONC)",
    );
    // Meant as JSON (it starts with {): the syntax error at its place is the answer.
    const broken = join(dir, "broken.json");
    writeFileSync(broken, '{"version": "0.1" "layouts": []}');
    expect((await sessions(["validate", broken])).stderr).toContain(
      `${broken}:1:19: invalid JSON: expected ',' or a closing bracket`,
    );
  });
});

describe("-t of tabs whose <layout>.<tab> name another chosen tab already has (review H74-3)", () => {
  it("renames it NAME_1, as sessions are renamed, and says so", async () => {
    const f = layoutsFile("clash.json", [
      { layoutName: "A", layoutTabs: [tab("x", "echo A")] },
      { layoutName: "B", layoutTabs: [tab("x", "echo B"), tab("A.x", "echo clash")] },
    ]);
    const r = await sessions(["--json", "run", f, "--socket", sock, "--dry-run", "-t", "A::x,B::x,B::A.x"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('tab "x" of layout "A" is "A.x_1": another chosen tab is named "A.x"');
  });
});

describe("-c and -t reach names that hold , or ::", () => {
  it("every layout and tab the hint can list is selectable by what the hint shows", async () => {
    const f = layoutsFile("comma.json", [
      { layoutName: "a,b", layoutTabs: [tab("x,y", "true"), tab("p::q", "true")] },
      { layoutName: "l::m", layoutTabs: [tab("z", "true")] },
      { layoutName: "a", layoutTabs: [tab("t", "true")] },
    ]);
    const plan = async (...args: string[]) => {
      const r = await sessions(["--json", "run", f, "--socket", sock, "--dry-run", ...args]);
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout);
      return j.batches.flat().map((s: { name: string; tabs: number }) => [s.name, s.tabs]);
    };
    expect(await plan("-c", "a,b")).toEqual([["a,b", 2]]);
    expect(await plan("-c", "a,b,a")).toEqual([
      ["a,b", 2],
      ["a", 1],
    ]);
    expect(await plan("-t", "l::m::z")).toEqual([["custom-tabs", 1]]);
    expect(await plan("-t", "a,b::x,y,p::q,a::t")).toEqual([["custom-tabs", 3]]);
    const none = await sessions(["run", f, "--socket", sock, "--dry-run", "-c", "a,c"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no layout named "c"');
    // export's choice of layout is a usage error too, not an invalid file (review H48-6: exit 3).
    const several = await sessions(["export", f, "--to", "tmuxp"]);
    expect(several.code, several.stderr).toBe(2);
    expect(several.stderr).toMatch(/choose one with --layout/);
    expect((await sessions(["export", f, "--to", "tmuxp", "-l", "nosuch"])).code).toBe(2);
  });
});

describe("an argument that is not UTF-8 is refused, not passed on altered (review H37-9)", () => {
  // node reads argv as UTF-8 with U+FFFD for each byte that is not: the socket was made at another path.
  const viaShell = (args: string) =>
    spawnSync("sh", ["-c", `exec node "$0" ${args}`, BIN], { env, cwd: dir, encoding: "utf8" });

  it("--socket, a command, --json: exit 2, nothing made", () => {
    const f = layoutsFile("utf8.json", [{ layoutName: "u8", layoutTabs: [tab("t", "sleep 60")] }]);
    const before = readdirSync(dir);
    for (const bytes of ["\\377", "\\233", "\\303", "\\355\\240\\200"]) {
      const r = viaShell(`run ${f} --socket "$(printf '${dir}/s${bytes}x')"`);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain("an argument is not UTF-8");
      expect(r.stderr).toContain("nothing was done");
      expect(readdirSync(dir).filter((n) => !before.includes(n))).toEqual([]);
    }
    const c = viaShell(`--json create-from-command "$(printf 'echo \\377')" --dry-run`);
    expect(c.status).toBe(2);
    expect(JSON.parse(c.stderr).error.code).toBe("USAGE");
  });

  it("so is a path variable that is not UTF-8: the state went to another directory (review H41-4)", () => {
    const before = readdirSync(dir);
    const r = spawnSync("sh", ["-c", `MC_STATE_DIR="$(printf '${dir}/st\\377')" exec node "$0" ls`, BIN], {
      env,
      cwd: dir,
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain("MC_STATE_DIR is not UTF-8");
    expect(readdirSync(dir).filter((n) => !before.includes(n))).toEqual([]);
  });

  it("U+FFFD written as UTF-8 is an ordinary character", () => {
    const f = layoutsFile("utf8ok.json", [{ layoutName: "u8ok", layoutTabs: [tab("t", "sleep 60")] }]);
    const r = viaShell(`run ${f} --socket "$(printf '${dir}/s\\357\\277\\275')" --dry-run`);
    expect(r.status, r.stderr).toBe(0);
  });
});

describe("a tool that is not there, or not for this system, is said as such (review H50-12)", () => {
  it("status without tmux on PATH: the tabs read unknown, exit 6, not running and 0", async () => {
    const f = layoutsFile("nobin.json", [{ layoutName: "nobin", layoutTabs: [tab("t", "sleep 60")] }]);
    expect((await sessions(["run", f, "--socket", sock])).code).toBe(0);
    try {
      const bin = join(dir, "nobin-path");
      mkdirSync(bin);
      symlinkSync(process.execPath, join(bin, "node"));
      symlinkSync("/bin/sh", join(bin, "sh"));
      const without = { env: { ...env, PATH: bin }, cwd: dir };
      const table = await runCli(["status", "nobin"], without);
      expect(table.code, table.stderr).toBe(6);
      expect(table.stdout).toMatch(/nobin\s+\S+\s+t\s+unknown/);
      expect(table.stdout + table.stderr).toContain('"tmux" was not found on PATH');
      const json = await runCli(["status", "nobin", "--json"], without);
      expect(json.code).toBe(6);
      const report = JSON.parse(json.stdout);
      expect(report.sessions[0].tabs[0].state).toBe("unknown");
      expect(report.machines).toEqual([
        expect.objectContaining({ reachable: false, code: "BINARY_NOT_FOUND" }),
      ]);
      // wait ends at once (it waited, saying "did not answer", and a timeout said 8), and kill says 6 (it said 1).
      const waited = await runCli(["wait", "nobin", "--timeout", "60"], without);
      expect(waited.code, waited.stderr).toBe(6);
      expect(waited.stderr).toContain('cannot wait for the sessions on local: "tmux" was not found on PATH');
      const killed = await runCli(["kill", "nobin"], without);
      expect(killed.code, killed.stderr).toBe(6);
      // attach, rerun and freeze say the same (review H57-5: 8, 1, and 5 "tmux does not have it").
      const attach = await runCli(["attach", "--print", "nobin"], without);
      expect(attach.code, attach.stderr).toBe(6);
      expect(attach.stderr).toContain('"tmux" was not found on PATH');
      const rerun = await runCli(["rerun", "nobin/t"], without);
      expect(rerun.code, rerun.stderr).toBe(6);
      expect(rerun.stderr).toContain('"tmux" was not found on PATH');
      const freeze = await runCli(["freeze", "nobin", "--socket", sock], without);
      expect(freeze.code, freeze.stderr).toBe(6);
      expect(freeze.stderr).toContain('"tmux" was not found on PATH, and zellij is not installed');
      expect(freeze.stderr).not.toContain("does not have it");
      // With tmux there, the same session reads running, exit 0.
      const there = await sessions(["status", "nobin", "--json"]);
      expect(there.code).toBe(0);
      expect(JSON.parse(there.stdout).sessions[0].tabs[0].state).toBe("running");
    } finally {
      await sessions(["kill", "nobin"]);
    }
  });

  it("run -b wt outside Windows and WSL says Windows Terminal runs there only, not 'winget install'", async (ctx) => {
    const release = existsSync("/proc/sys/kernel/osrelease")
      ? readFileSync("/proc/sys/kernel/osrelease", "utf8")
      : "";
    if (process.platform !== "linux" || /microsoft|wsl/i.test(release)) {
      console.warn("[mc] run -b wt on a system that cannot run it: SKIPPED (this is Windows or WSL)");
      ctx.skip();
    }
    const f = layoutsFile("wt-here.json", [{ layoutName: "wth", layoutTabs: [tab("t", "true")] }]);
    const r = await sessions(["run", f, "-b", "wt"]);
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toContain("Windows Terminal runs on Windows (or WSL) only; this machine runs linux");
    expect(r.stderr).not.toContain("winget");
  });

  it("attach -k (machineconfig's kill-all) is refused with where that went, nothing killed", async () => {
    for (const flag of ["-k", "--kill-all"]) {
      const r = await sessions(["attach", flag]);
      expect(r.code).toBe(2);
      expect(r.stderr).not.toContain("unknown option");
      expect(r.stderr).toContain("attach has no -k/--kill-all");
      expect(r.stderr).toMatch(/hint: sessions kill --all/);
    }
    expect((await sessions(["attach", "--help"])).stdout).not.toContain("kill");
    expect((await sessions(["completion", "bash"])).stdout).not.toContain("--kill-all");
  });

  it("a low open-files limit is said as that, with what to do: no crash, no stack trace, nothing started (review H77-3)", () => {
    const f = layoutsFile("fd.json", [{ layoutName: "fdlow", layoutTabs: [tab("t", "sleep 30")] }]);
    const fdSock = join(dir, "fd-sock");
    // Enough for node to load the CLI, too few for a command's pipes besides.
    for (const args of [["run", f, "--socket", fdSock], ["status"], ["ls"], ["kill", "fdlow"]]) {
      const r = spawnSync(
        "/bin/sh",
        ["-c", 'ulimit -n 24 && exec "$@"', "sh", process.execPath, BIN, ...args],
        {
          env,
          cwd: dir,
          encoding: "utf8",
        },
      );
      expect(r.stderr, args.join(" ")).not.toMatch(/^\s+at /m);
      expect(r.stderr).not.toContain("bug in mc");
      if (args[0] === "run") {
        // Where it runs out first: starting tmux (1), or reading mc's records (9).
        expect([1, 9]).toContain(r.status);
        expect(r.stderr).toMatch(/too many open files/i);
        expect(r.stderr).toContain("ulimit -n");
      }
    }
    expect(spawnSync("tmux", ["-S", fdSock, "has-session", "-t", "=fdlow"]).status).not.toBe(0);
  });

  it("under a low open-files limit, status and ls answer for every run or say they cannot: never fewer, silently (review H79-2)", async () => {
    const fdSock = join(dir, "fd-sock2");
    const names = ["fa", "fb", "fc", "fd", "fe", "ff"];
    for (const n of names) {
      const f = layoutsFile(`${n}.json`, [{ layoutName: n, layoutTabs: [tab("t", "sleep 60")] }]);
      expect((await sessions(["run", f, "--socket", fdSock])).code).toBe(0);
    }
    try {
      for (const limit of [24, 28, 32, 40]) {
        for (const args of [["status"], ["ls"]]) {
          const r = spawnSync(
            "/bin/sh",
            ["-c", `ulimit -n ${limit} && exec "$@"`, "sh", process.execPath, BIN, ...args],
            {
              env,
              cwd: dir,
              encoding: "utf8",
            },
          );
          const what = `ulimit -n ${limit}: ${args.join(" ")}`;
          expect(r.stderr, what).not.toMatch(/^\s+at /m);
          const word = args[0] === "ls" ? "live" : "running";
          const shown = names.filter((n) => new RegExp(`^${n} .* ${word} `, "m").test(r.stdout));
          if (r.status === 0) expect(shown, what).toEqual(names);
          else {
            expect([8, 9], what).toContain(r.status);
            expect(`${r.stdout}${r.stderr}`, what).toMatch(/too many open files|unreachable/);
          }
        }
      }
    } finally {
      for (const n of names) await sessions(["kill", n]);
    }
  });
});
