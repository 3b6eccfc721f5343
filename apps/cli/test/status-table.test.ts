import { makeReport, summarizeSession, type TabStatus } from "@mc/core";
import { describe, expect, it } from "vitest";
import { colors, render } from "../src/display.js";
import { statusTable } from "../src/output.js";

const tab = (over: Partial<TabStatus>): TabStatus => ({
  index: 0,
  tabName: "t",
  command: "sleep 60",
  state: "running",
  processes: [],
  ...over,
});

describe("the status table's EXIT column", () => {
  it("a killed tab shows its signal, whether a hang-up or its exit status said it (review H50-6)", () => {
    const tabs = [
      tab({ index: 0, tabName: "a", state: "killed", exitCode: 137, signal: "SIGKILL" }),
      tab({ index: 1, tabName: "b", state: "killed", signal: "SIGHUP" }),
      tab({ index: 2, tabName: "c", state: "exited", exitCode: 3 }),
    ];
    const report = makeReport([
      {
        session: "s",
        machine: "local",
        backend: "tmux",
        host: "local",
        exists: true,
        tabs,
        summary: summarizeSession(tabs, true),
      },
    ]);
    const lines = statusTable(report, { c: colors, tty: false, columns: 200 }).map((l) => render(l, false));
    const row = (name: string) => lines.find((l) => l.split(/\s+/)[1] === name)!.split(/\s+/);
    expect(row("a").slice(2, 4)).toEqual(["killed", "SIGKILL"]);
    expect(row("b").slice(2, 4)).toEqual(["killed", "SIGHUP"]);
    expect(row("c").slice(2, 4)).toEqual(["exited", "3"]);
  });
});

describe("the status table's error lines", () => {
  const session = (name: string, error?: string, socket?: string) => {
    const tabs = [tab({ state: "unknown" })];
    return {
      session: name,
      machine: "local",
      backend: "tmux",
      host: "local",
      exists: true,
      tabs,
      summary: summarizeSession(tabs, true),
      ...(error ? { error } : {}),
      ...(socket ? { socket } : {}),
    };
  };
  const errorLines = (sessions: ReturnType<typeof session>[]) =>
    statusTable(makeReport(sessions), { c: colors, tty: false, columns: 200 })
      .map((l) => render(l, false))
      .filter((l) => l.includes("PATH") || l.includes("refused"));

  it("one line per error, naming its sessions, not one per session (review H50-12: 33 lines)", () => {
    const missing = '"tmux" was not found on PATH';
    const many = Array.from({ length: 33 }, (_, i) => session(`job${i}`, missing));
    expect(errorLines(many)).toEqual([`job0, job1, job2 and 30 more: ${missing}`]);
    expect(
      errorLines([session("a", missing), session("b"), session("c", "refused"), session("d", missing)]),
    ).toEqual([`a, d: ${missing}`, "c: refused"]);
  });

  it("sessions on two tmux servers that did not answer get a line each, naming the server (review H54-2)", () => {
    const late = "tmux did not answer within 1 s";
    const on3 = ["c1", "c2", "c3", "c4"].map((n) => session(n, late, "/tmp/x/s3"));
    expect(
      statusTable(makeReport([...on3, session("a1", late, "/tmp/x/s1")]), {
        c: colors,
        tty: false,
        columns: 200,
      })
        .map((l) => render(l, false))
        .filter((l) => l.includes("did not answer")),
    ).toEqual([
      `c1, c2, c3 and 1 more (tmux server /tmp/x/s3): ${late}`,
      `a1 (tmux server /tmp/x/s1): ${late}`,
    ]);
  });

  it("a session name with control characters is escaped there too", () => {
    const [line] = errorLines([session("x\u001b[2Jy", "refused")]);
    expect(line).not.toContain("\u001b");
    expect(line).toMatch(/^x.*y: refused$/);
  });
});
