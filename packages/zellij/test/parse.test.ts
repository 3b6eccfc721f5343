import { describe, expect, it } from "vitest";
import {
  isRemains,
  joinSplitNames,
  paneEvidence,
  paneTabIndex,
  parsePaneList,
  parseSessionList,
  parseZellijVersion,
  runIdOfCommand,
  runIdOfPaneName,
  runIdsInLayout,
  stripAnsi,
} from "../src/index.js";
import { fixture, RECORDED_VERSIONS, recorded, SOURCE_VERSIONS } from "./fixtures.js";

describe.each(SOURCE_VERSIONS)("zellij %s output (rendered from its source)", (version) => {
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

  it("keeps a name that holds an escape sequence as it is: \\e[1mzz is not zz (review H53-4)", () => {
    const listing = "\u001b[1mzz [Created 0s ago] \nev\u001b]0;PWNED\u0007\u001b[31mil [Created 1s ago] \n";
    expect(parseSessionList(listing).map((x) => x.name)).toEqual([
      "\u001b[1mzz",
      "ev\u001b]0;PWNED\u0007\u001b[31mil",
    ]);
  });

  it("a name with a newline is one row again, from the socket directory's exact names (review H64-3)", () => {
    // zellij 0.45.0's own output for sessions `plain` and `nl⏎x` (recorded: list-sessions --no-formatting).
    const listing = "plain [Created 1s ago] \nnl\nx [Created 1s ago] \n";
    const rows = parseSessionList(listing);
    expect(rows.map((x) => x.name)).toEqual(["plain", "nl", "x"]);
    expect(joinSplitNames(rows, ["nl\nx", "plain"])).toEqual([
      { name: "plain", exited: false, current: false, created: "1s" },
      { name: "nl\nx", exited: false, current: false, created: "1s" },
    ]);
    // A real session named like one line of it is kept.
    const both = parseSessionList(`x [Created 2s ago] \n${listing}`);
    expect(joinSplitNames(both, ["x", "nl\nx", "plain"]).map((x) => x.name)).toEqual(["x", "plain", "nl\nx"]);
    // Not listed (zellij left it out): nothing is joined; the caller adds it from its socket.
    expect(joinSplitNames(parseSessionList("plain [Created 1s ago] \n"), ["nl\nx"])).toHaveLength(1);
  });

  it("reads the coloured list-sessions the same once ANSI is stripped", () => {
    const coloured = fixture(version, "list-sessions-coloured.txt")!;
    expect(coloured).toContain("\u001b[");
    expect(parseSessionList(coloured, { coloured: true })).toEqual(
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

describe.each(RECORDED_VERSIONS)("zellij %s output (recorded from the real binary)", (version) => {
  const r = (key: string) => recorded(version, key)!;

  it("parses zellij --version", () => {
    expect(parseZellijVersion(r("version").stdout)).toEqual(version.split(".").map(Number));
  });

  it("parses list-sessions: plain, coloured and --short give the same names; EXITED is flagged", () => {
    const plain = parseSessionList(r("ls-several-n").stdout);
    expect(plain.map((x) => x.name).sort()).toEqual(["alpha", "beta b"]);
    expect(plain.every((x) => !x.exited && !x.current && /^\d+s$/.test(x.created))).toBe(true);
    expect(r("ls-several").stdout).toContain("\u001b[");
    expect(
      parseSessionList(r("ls-several").stdout, { coloured: true })
        .map((x) => x.name)
        .sort(),
    ).toEqual(plain.map((x) => x.name).sort());
    expect(
      parseSessionList(r("ls-several-s").stdout)
        .map((x) => x.name)
        .sort(),
    ).toEqual(["alpha", "beta b"]);
    const exited = parseSessionList(r("ls-exited-n").stdout);
    expect(exited.map((x) => [x.name, x.exited]).sort()).toEqual([
      ["alpha", true],
      ["beta b", false],
    ]);
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    // Sessions created in the same second come in either order.
    expect(parseSessionList(r("ls-exited").stdout, { coloured: true }).sort(byName)).toEqual(
      exited.sort(byName),
    );
  });

  it("an empty listing is an error message, exit 1, that mc reads as no sessions", () => {
    for (const k of ["ls-none", "ls-none-n"]) {
      expect(r(k).rc).toBe(1);
      expect(r(k).stdout).toBe("");
      expect(r(k).stderr).toBe("No active zellij sessions found.\n");
    }
  });

  it("parses list-panes --json of an mc session: a running, an exited (3) and a held-back tab", () => {
    const rows = parsePaneList(r("lp-mc").stdout);
    const terms = rows.filter((x) => !x.isPlugin);
    expect(rows[0]).toMatchObject({ isPlugin: true, id: 0 });
    expect(terms.map((x) => [x.tabName, x.exited, x.exitStatus, x.held])).toEqual([
      ["ok", false, undefined, false],
      ["fail", true, 3, true],
      ["later", false, undefined, true],
    ]);
    const script = terms[0]!.terminalCommand!.split(" ")[1]!;
    expect(terms.map((x) => paneTabIndex(x.terminalCommand, script))).toEqual([0, 1, 2]);
    const runId = /runs\/([^/]+)\//.exec(script)![1]!;
    expect(terms.map((x) => runIdOfPaneName(x.title))).toEqual([runId, runId, runId]);
    expect(runIdOfCommand(terms[0]!.terminalCommand, "$ROOT/state")).toBe(runId);
    // …and what a poll makes of it.
    expect([...paneEvidence("mcs", rows, script)]).toEqual([
      [0, { ref: "zellij:0:0:mcs", alive: true }],
      [1, { ref: "zellij:1:1:mcs", alive: false, exitStatus: 3 }],
      [2, { ref: "zellij:2:2:mcs", alive: false }],
    ]);
  });

  it("a resurrected session's panes are held and suspended, never exited", () => {
    const terms = parsePaneList(r("lp-resurrected").stdout).filter((x) => !x.isPlugin);
    expect(terms.length).toBeGreaterThan(0);
    expect(terms.every((x) => x.held && !x.exited && x.exitStatus === undefined)).toBe(true);
  });

  it("the saved layout of an EXITED mc session names its run (the ownership marker survives)", () => {
    const runId = /runs\/([^/]+)\//.exec(r("lp-mc").stdout)![1]!;
    expect([...runIdsInLayout(fixture(version, "recorded/session-layout-mc.kdl")!)]).toEqual([runId]);
    expect([...runIdsInLayout(r("dump-layout-mc").stdout)]).toEqual([runId]);
  });

  it("a plain session (the user's) carries no mc marker", () => {
    const rows = parsePaneList(r("lp-plain").stdout);
    expect(rows.flatMap((x) => (runIdOfPaneName(x.title) ? [x] : []))).toEqual([]);
    expect(rows.filter((x) => !x.isPlugin).every((x) => x.terminalCommand === undefined)).toBe(true);
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

  it("takes a session holding only plugin panes in its own tabs as what is left of it", () => {
    const plugin = {
      id: 0,
      isPlugin: true,
      exited: false,
      held: false,
      tabPosition: 0,
      tabId: 1,
      tabName: "b",
      title: "",
    };
    expect(isRemains([plugin], ["a", "b"])).toBe(true);
    expect(isRemains([plugin], ["a"])).toBe(false);
    expect(isRemains([plugin, { ...plugin, isPlugin: false }], ["a", "b"])).toBe(false);
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
