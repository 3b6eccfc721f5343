import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isNoServer, isNoSession } from "../src/errors.js";
import { paneTabIndex, parsePanes, parseSessions } from "../src/parse.js";

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
      { key: "a_b_c", name: "a.b:c", id: "$0", runId: "20261204-230000-abc123" },
      { key: "plain", name: "plain", id: "$1", runId: "" },
    ]);
  });

  it("recognises 'no server' and 'no session' stderr", () => {
    expect(isNoServer(fx("no-server.stderr.txt"))).toBe(true);
    expect(isNoServer("no server running on /tmp/s")).toBe(true);
    expect(isNoServer("error connecting to /tmp/nonexist/sock (No such file or directory)")).toBe(true);
    expect(isNoServer("error connecting to /tmp/tmux-1000/default (Permission denied)")).toBe(false);
    expect(isNoSession(fx("no-session.stderr.txt"))).toBe(true);
    expect(isNoSession("duplicate session: x")).toBe(false);
  });
});
