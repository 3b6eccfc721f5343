import { describe, expect, it } from "vitest";
import {
  paneTabIndex,
  parsePaneList,
  parseSessionList,
  parseZellijVersion,
  stripAnsi,
} from "../src/index.js";
import { fixture, VERSIONS } from "./fixtures.js";

describe.each(VERSIONS)("zellij %s output", (version) => {
  it("parses zellij --version", () => {
    expect(parseZellijVersion(fixture(version, "version.txt")!)).toEqual(version.split(".").map(Number));
  });

  it("parses list-sessions --no-formatting: exact names, EXITED and current flags", () => {
    const rows = parseSessionList(fixture(version, "list-sessions-no-formatting.txt")!);
    expect(rows).toEqual([
      { name: "LocalJobMgr_ab", exited: false, current: false, created: "1h 2m 3s" },
      { name: "LocalJobMgr_a", exited: true, current: false, created: "4m 5s" },
      { name: "my [Created x ago] name", exited: false, current: true, created: "0s" },
      { name: 'build 🚀 "q"', exited: false, current: false, created: "2days 3h 4m 5s" },
    ]);
  });

  it("reads the coloured list-sessions the same once ANSI is stripped", () => {
    const coloured = fixture(version, "list-sessions-coloured.txt")!;
    expect(coloured).toContain("\u001b[");
    expect(parseSessionList(coloured)).toEqual(
      parseSessionList(fixture(version, "list-sessions-no-formatting.txt")!),
    );
  });

  const panes = fixture(version, "list-panes.json");
  it.skipIf(panes === undefined)("parses list-panes --json (0.44.0+)", () => {
    const rows = parsePaneList(panes!);
    expect(rows.map((r) => [r.id, r.exited, r.exitStatus, r.tabName])).toEqual([
      [0, false, undefined, "ok"],
      [1, true, 3, "fail"],
      [2, true, undefined, "dollar"],
      [3, false, undefined, "ok"],
    ]);
    const script = "/state/runs/r1/s0/tabs.sh";
    expect(rows.map((r) => paneTabIndex(r.terminalCommand, script))).toEqual([0, 1, 2, undefined]);
  });
});

describe("parse helpers", () => {
  it("takes --short listings and unknown lines as bare names", () => {
    expect(parseSessionList("a\nb c\n\n").map((r) => r.name)).toEqual(["a", "b c"]);
  });

  it("strips ANSI colour and style sequences only", () => {
    expect(stripAnsi("\u001b[32;1mname\u001b[m [x]")).toBe("name [x]");
  });

  it("matches a tab only by the exact script path and a whole index", () => {
    expect(paneTabIndex("/bin/sh /a/tabs.sh 12", "/a/tabs.sh")).toBe(12);
    expect(paneTabIndex("/bin/sh /b/a/tabs.sh 1", "/a/tabs.sh")).toBeUndefined();
    expect(paneTabIndex("/bin/sh /a/tabs.sh 1 x", "/a/tabs.sh")).toBeUndefined();
    expect(paneTabIndex(undefined, "/a/tabs.sh")).toBeUndefined();
  });

  it("rejects list-panes output that is not a JSON array", () => {
    expect(() => parsePaneList("{}")).toThrow();
    expect(() => parsePaneList("There is no active session!")).toThrow();
  });

  it("reads versions with suffixes", () => {
    expect(parseZellijVersion("zellij 0.46.0-dev")).toEqual([0, 46, 0]);
    expect(parseZellijVersion("zellij")).toBeUndefined();
  });
});
