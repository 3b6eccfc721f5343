import { parseEtime, parsePsTable, treesFromTable } from "@mc/core";
import { describe, expect, it } from "vitest";
import {
  machineIdentity,
  parseClock,
  parseDirListing,
  parseFrames,
  parseInfo,
  parsePsWinTable,
} from "../src/index.js";

describe("parsers", () => {
  it("reads POSIX etime", () => {
    expect(parseEtime("00:05")).toBe(5);
    expect(parseEtime("01:02:03")).toBe(3723);
    expect(parseEtime("2-01:00:00")).toBe(176400);
    expect(parseEtime("x")).toBeUndefined();
  });
  it("reads a procps ps table (core's parser, which the ssh host uses) and builds trees breadth-first", () => {
    const out = [
      "1000",
      "    1     0  0.1 13452    16:40 /sbin/init",
      "  100     1  0.0  2000    00:10 sh /state/tabs.sh 0",
      "  101   100 50.0  4096    00:09 sleep 30",
      "  102   100  0.0  1024    00:08 sh -c echo  two  spaces",
      "  103   101  0.0   512    00:01 child",
      "",
    ].join("\n");
    const table = parsePsTable(out);
    expect(table[2]).toEqual({
      pid: 101,
      ppid: 100,
      cpuPercent: 50,
      rssBytes: 4096 * 1024,
      command: "sleep 30",
      startedAt: 991_000,
    });
    expect(table[3]!.command).toBe("sh -c echo  two  spaces");
    const trees = treesFromTable(table, [100, 999]);
    expect(trees.get(100)!.map((n) => n.pid)).toEqual([100, 101, 102, 103]);
    expect(trees.has(999)).toBe(false);
  });
  it("reads the info lines and the Windows process table", () => {
    expect(parseInfo("Linux\n/root\n/root/.local/state/mc\n/bin/bash\n")).toEqual({
      platform: "linux",
      home: "/root",
      stateDir: "/root/.local/state/mc",
      shell: "/bin/bash",
    });
    expect(parseInfo("Darwin\n/Users/a\n/s\n\n").platform).toBe("darwin");
    const full = parseInfo(
      [
        "Linux",
        "/home/u",
        "/home/u/.local/state/mc",
        "/usr/bin/fish",
        "0123abcd",
        "boot-1",
        "1000",
        "u",
        "gpu-1",
        "1700000000123456789",
        "TMUX_TMPDIR=/run/t",
        "XDG_RUNTIME_DIR=",
        "ZELLIJ_SOCKET_DIR=",
        "owner=root",
        "",
      ].join("\n"),
    );
    expect(full).toMatchObject({
      platform: "linux",
      shell: "/usr/bin/fish",
      facts: {
        machineId: "0123abcd",
        bootId: "boot-1",
        uid: "1000",
        user: "u",
        hostname: "gpu-1",
        clockMs: 1700000000123,
        serverEnv: { TMUX_TMPDIR: "/run/t" },
        stateForeignOwner: "root",
      },
    });
    expect(full.facts?.stateExposure).toBeUndefined();
    // The exposure probe's findings come last; the first is kept, a path may hold a newline.
    const head = "Linux\n/h\n/h/s\n/bin/sh\nid\nboot\n0\nroot\nhost\n1700000000\nA=\nB=\nC=\nowner=\n";
    expect(
      parseInfo(`${head}exposed=world /h/s/managers\nexposed=world /h/s/managers\n`).facts?.stateExposure,
    ).toEqual({
      kind: "world",
      path: "/h/s/managers",
    });
    expect(parseInfo(`${head}exposed=above-world /a\nb\nexposed=group /x\n`).facts?.stateExposure).toEqual({
      kind: "above-world",
      path: "/a\nb",
    });
    expect(parseInfo(`${head}exposed=sideways /a\n`).facts?.stateExposure).toBeUndefined();
    // BSD date prints %N literally: the clock falls back to whole seconds.
    expect(parseClock("1700000000N")).toBe(1700000000000);
    expect(parseClock("1700000000%N")).toBe(1700000000000);
    const win = parsePsWinTable(
      "10000\r\n4 0 1000 0 1.5\tSystem\r\n200 4 2048 9000 0.5\tpowershell -File C:\\a b.ps1\r\n",
    );
    expect(win[1]).toMatchObject({
      pid: 200,
      ppid: 4,
      rssBytes: 2048,
      startedAt: 9000,
      command: "powershell -File C:\\a b.ps1",
    });
    expect(win[1]!.cpuPercent).toBe(50);
  });
  it("splits frames by byte length, even when an output holds the boundary or invalid UTF-8", () => {
    const b = "MCBx";
    const out0 = Buffer.concat([Buffer.from(`\n${b} 1 0 0 0 -\n`), Buffer.from([0xff, 0xfe])]);
    const stdout = Buffer.concat([
      Buffer.from(`noise\n${b} 0 0 ${out0.length} 2 -\n`),
      out0,
      Buffer.from("e!"),
      Buffer.from(`\n${b} 1 7 3 0 nf\nabc\n${b} end\n`),
    ]);
    const { frames, complete } = parseFrames(stdout, b);
    expect(complete).toBe(true);
    expect(frames.get(0)!.out.equals(out0)).toBe(true);
    expect(frames.get(0)!.err.toString()).toBe("e!");
    expect(frames.get(1)).toMatchObject({ status: 7, flags: "nf" });
    expect(parseFrames(stdout.subarray(0, 40), b).complete).toBe(false);
  });
  it("decodes a directory listing", () => {
    const l = Buffer.from("3 2\na\nbhi1 0\nz");
    expect([...parseDirListing(l)]).toEqual([
      ["a\nb", "hi"],
      ["z", ""],
    ]);
  });
});

describe("machineIdentity: one machine, user and server under two names", () => {
  const facts = (tmp: string) => ({
    machineId: "m1",
    bootId: "b1",
    uid: "0",
    user: "root",
    hostname: "h",
    clockMs: 0,
    serverEnv: { TMUX_TMPDIR: tmp },
  });
  it("TMUX_TMPDIR tells servers apart for a socket given by name, not for one given as a path", () => {
    const byName = { socket: { name: "mc" } };
    expect(machineIdentity(facts("/a"), byName)).not.toBe(machineIdentity(facts("/b"), byName));
    const byPath = { socket: { path: "/tmp/x/sock" } };
    expect(machineIdentity(facts("/a"), byPath)).toBe(machineIdentity(facts("/b"), byPath));
    expect(machineIdentity(facts("/a"), { socket: "/tmp/x/sock" })).toBe(
      machineIdentity(facts("/b"), { socket: "/tmp/x/sock" }),
    );
    expect(machineIdentity(facts("/a"), byPath)).not.toBe(
      machineIdentity(facts("/a"), { socket: { path: "/tmp/y/sock" } }),
    );
  });
});
