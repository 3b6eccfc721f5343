import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isNoServer, isNoSession } from "../src/errors.js";
import { paneCommand, tmuxQuote } from "../src/generate.js";
import { paneTabIndex, parsePanes, parseSessions, startArgv } from "../src/parse.js";

const fx = (f: string) => readFileSync(join(import.meta.dirname, "fixtures", "tmux-3.3a", f), "utf8");

describe("parsers on recorded tmux 3.3a output", () => {
  it("list-panes: names with spaces and emoji, dead panes with status, quoted start commands", () => {
    const rows = parsePanes(fx("list-panes.txt"));
    expect(
      rows.map((r) => [
        r.session,
        r.sessionId,
        r.mcName,
        r.runId,
        r.windowName,
        r.paneId,
        r.dead,
        r.deadStatus,
        r.exit,
      ]),
    ).toEqual([
      ["a_b_c", "$0", "a.b:c", "RUN1", "w 1", "%0", false, undefined, undefined],
      ["a_b_c", "$0", "a.b:c", "RUN1", "déploiement 🚀", "%1", false, undefined, 3],
      ["plain", "$1", "", "", "sh", "%2", false, undefined, undefined],
      ["plain", "$1", "", "", "exit", "%3", true, 3, undefined],
    ]);
    expect(paneTabIndex(rows[0]!.startCommand, "/tmp/x/tabs.sh")).toBe(0);
    expect(paneTabIndex(rows[1]!.startCommand, "/tmp/it's/tabs.sh")).toBe(1);
    expect(paneTabIndex(rows[1]!.startCommand, "/tmp/x/tabs.sh")).toBeUndefined();
    expect(paneTabIndex(rows[2]!.startCommand, "/tmp/x/tabs.sh")).toBeUndefined();
  });

  it("list-sessions: mc's name wins over tmux's rewritten one", () => {
    expect(parseSessions(fx("list-sessions.txt"))).toEqual([
      { key: "a_b_c", name: "a.b:c", id: "$0", runId: "20261204-230000-abc123", named: true },
      { key: "plain", name: "plain", id: "$1", runId: "", named: false },
    ]);
  });

  it("recognises 'no server' and 'no session' stderr", () => {
    expect(isNoServer(fx("no-server.stderr.txt"))).toBe(true);
    expect(isNoServer("no server running on /tmp/s")).toBe(true);
    expect(isNoServer("error connecting to /tmp/nonexist/sock (No such file or directory)")).toBe(true);
    expect(isNoServer("error connecting to /tmp/tmux-1000/default (Permission denied)")).toBe(false);
    expect(isNoSession(fx("no-session.stderr.txt"))).toBe(true);
    expect(isNoSession("duplicate session: x")).toBe(false);
    // A server whose last session just ended has no target left (review H46-2: two kills at once).
    expect(isNoSession("no current target")).toBe(true);
  });
});

describe("a pane's start command read back (real tmux 3.3a)", () => {
  it("property: the wrapper's argv, under any run directory, is read back exactly and names its tab", () => {
    const dir = mkdtempSync(join(tmpdir(), "mc-argv-"));
    const sock = join(dir, "s");
    const env = { ...process.env, SHELL: "/bin/sh" };
    const tmux = (...a: string[]) =>
      execFileSync("tmux", ["-u", "-S", sock, ...a], { env, encoding: "utf8" });
    try {
      tmux("-f", "/dev/null", "new-session", "-d", "-s", "q", "sleep 1000");
      // The panes' scripts do not exist: each pane ends at once and stays (remain-on-exit) to be read.
      tmux("set-option", "-g", "remain-on-exit", "on");
      const word = fc.oneof(
        fc.string({ unit: "grapheme", maxLength: 12 }),
        fc.string({ unit: "binary", maxLength: 12 }),
        fc.constantFrom(
          "it's",
          'a "b"',
          "$HOME",
          "#{pane_id}",
          "#(id)",
          "~x",
          "a\\b",
          "%1",
          "{}",
          ";",
          " ",
          "é~",
        ),
      );
      const dirs = fc.sample(
        fc
          .tuple(fc.boolean(), fc.array(word, { minLength: 1, maxLength: 3 }))
          .map(([tilde, parts]) => `${tilde ? "~" : "/"}${parts.join("/")}/tabs.sh`)
          .filter((p) => !/[\0\r\n]/.test(p)),
        { numRuns: 80, seed: 11 },
      );
      const argvs = dirs.map((d, i) => paneCommand(d, i, i % 3 === 0 ? 2 : undefined));
      const conf = join(dir, "w.conf");
      writeFileSync(
        conf,
        argvs.map((a) => `new-window -d -t '=q:' ${a.map(tmuxQuote).join(" ")}`).join("\n"),
      );
      tmux("source-file", conf);
      const shown = tmux("list-panes", "-s", "-t", "=q:", "-F", "#{pane_start_command}")
        .split("\n")
        .slice(1, -1);
      expect(shown).toHaveLength(argvs.length);
      expect(shown.map(startArgv)).toEqual(argvs);
      expect(shown.map((c, i) => paneTabIndex(c, dirs[i]!))).toEqual(dirs.map((_, i) => i));
      expect(shown.map((c, i) => paneTabIndex(c, `${dirs[i]!}x`))).toEqual(dirs.map(() => undefined));
    } finally {
      try {
        tmux("kill-server");
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads the one-string form earlier releases started, with and without an attempt", () => {
    // As tmux 3.3a shows it (list-panes -F '#{pane_start_command}'): vis doubles the backslash.
    expect(paneTabIndex(String.raw`"exec /bin/sh '/tmp/it'\\''s/tabs.sh' 4"`, "/tmp/it's/tabs.sh")).toBe(4);
    expect(paneTabIndex(`"exec /bin/sh /a/tabs.sh 0 2"`, "/a/tabs.sh")).toBe(0);
    expect(paneTabIndex(`"exec /bin/sh /a/tabs.sh x"`, "/a/tabs.sh")).toBeUndefined();
    expect(paneTabIndex("/bin/sh /a/tabs.sh 1 2 3", "/a/tabs.sh")).toBeUndefined();
    expect(paneTabIndex("/bin/bash /a/tabs.sh 1", "/a/tabs.sh")).toBeUndefined();
  });
});
