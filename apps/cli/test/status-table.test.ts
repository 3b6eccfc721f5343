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
