import { execFileSync, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { localHost } from "../src/local-host.js";
import { shQuote } from "../src/quote.js";
import {
  joinLog,
  LOG_CHUNK_BYTES,
  LOG_READ_BYTES,
  LOG_WRITER_PROBE,
  LogFollower,
  type LogWriterMode,
  lastLines,
  logWriterCommand,
  logWriterScript,
  parseLogWriterProbe,
  readLogFrom,
  readTabLog,
} from "../src/tab-log.js";

const dir = mkdtempSync(join(tmpdir(), "mc-log-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The writers this machine can run: perl and awk (with -W interactive where awk takes it), and the probe. */
const awkTakesW =
  spawnSync("/bin/sh", ["-c", "awk -W interactive 'BEGIN {}' </dev/null >/dev/null 2>&1"]).status === 0;
const hasPerl = spawnSync("/bin/sh", ["-c", "command -v perl"]).status === 0;
const MODES = (
  [
    ["probe", true],
    ["perl", hasPerl],
    [awkTakesW ? "interactive" : "plain", true],
  ] as const
)
  .filter(([, ok]) => ok)
  .map(([m]) => m as LogWriterMode);

/** Feed `input` to the real log writer as tmux's pipe-pane would (sh -c, stdin). */
function feed(log: string, input: string | Buffer, cap?: number, mode: LogWriterMode = "probe") {
  execFileSync("/bin/sh", ["-c", logWriterScript(shQuote(log), cap, mode).join("; ")], { input });
}

describe("tab log writer (real perl and awk)", () => {
  it("this machine's probe names its writer: perl where there is perl", () => {
    const out = execFileSync(LOG_WRITER_PROBE[0], LOG_WRITER_PROBE.slice(1), { encoding: "utf8" });
    expect(parseLogWriterProbe(out)).toBe(hasPerl ? "perl" : awkTakesW ? "interactive" : "plain");
    expect(parseLogWriterProbe("garbage\n")).toBe("probe");
  });

  it("the command of logWriterCommand is the probing writer", () => {
    const log = join(dir, "cmd.log");
    execFileSync("/bin/sh", ["-c", logWriterCommand(log)], { input: "x\n" });
    expect(readFileSync(log, "utf8")).toBe("x\n");
  });

  describe.each(MODES)("writer %s", (mode) => {
    it("appends what it is fed, and a second writer appends rather than truncates", () => {
      const log = join(dir, `a-${mode}.log`);
      feed(log, "one\ntwo\n", undefined, mode);
      feed(log, "three\n", undefined, mode);
      expect(readFileSync(log, "utf8")).toBe("one\ntwo\nthree\n");
    });

    it("rotates at the cap into <log>.1 and keeps the newest output; never more than twice the cap", () => {
      const log = join(dir, `b-${mode}.log`);
      const lines = Array.from({ length: 100 }, (_, i) => `line ${String(i).padStart(3, "0")}`);
      feed(log, `${lines.join("\n")}\n`, 200, mode);
      const cur = readFileSync(log, "utf8");
      const prev = readFileSync(`${log}.1`, "utf8");
      expect(Buffer.byteLength(cur)).toBeLessThanOrEqual(200);
      expect(Buffer.byteLength(prev)).toBeLessThanOrEqual(200);
      const joined = joinLog(cur, prev);
      expect(joined.endsWith("line 099\n")).toBe(true);
      expect(lastLines(joined, 2)).toBe("line 098\nline 099\n");
      // Rotation is between lines: each file starts at a line's start.
      expect(cur).toMatch(/^line \d{3}\n/);
      expect(prev).toMatch(/^line \d{3}\n/);
    });

    it("a hostile log path is a path: quotes, $(), spaces, newlines", () => {
      for (const name of ["it's $(touch pwned) `x`.log", 'a"b\n;c.log']) {
        const log = join(dir, `${mode}-${name}`);
        feed(log, "ok\n", 3, mode);
        feed(log, "again\n", 3, mode);
        expect(readFileSync(`${log}.1`, "utf8")).toBe("ok\n");
        expect(readFileSync(log, "utf8")).toBe("again\n");
      }
      expect(existsSync(join(process.cwd(), "pwned"))).toBe(false);
      expect(existsSync(join(dir, "pwned"))).toBe(false);
    });

    it("writes each line as it comes, not when the pipe closes (mawk buffers unless told)", async () => {
      const log = join(dir, `live-${mode}.log`);
      const cmd = logWriterScript(shQuote(log), undefined, mode).join("; ");
      const child = spawn("/bin/sh", ["-c", cmd], { stdio: ["pipe", "ignore", "ignore"] });
      try {
        child.stdin.write("first\n");
        const deadline = Date.now() + 5000;
        let seen = "";
        while (Date.now() < deadline && !seen.includes("first")) {
          await new Promise((r) => setTimeout(r, 50));
          seen = existsSync(log) ? readFileSync(log, "utf8") : "";
        }
        expect(seen).toBe("first\n");
      } finally {
        child.stdin.end();
        await once(child, "exit");
      }
    });
  });

  it("a writer told perl falls back to awk where the pane's PATH has no perl (the tmux server's PATH is not mc's) (review H15-9)", () => {
    const bin = join(dir, "noperl-bin");
    mkdirSync(bin, { recursive: true });
    for (const tool of ["awk", "mkdir", "mv"]) {
      const at = execFileSync("/bin/sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim();
      if (!existsSync(join(bin, tool))) symlinkSync(at, join(bin, tool));
    }
    const log = join(dir, "noperl", "x.log");
    execFileSync("/bin/sh", ["-c", logWriterScript(shQuote(log), undefined, "perl").join("; ")], {
      input: "one\ntwo\n",
      env: { PATH: bin },
    });
    expect(readFileSync(log, "utf8")).toBe("one\ntwo\n");
  });

  it.runIf(hasPerl)(
    "perl writes what comes as it comes: a prompt, a \\r progress bar, a last line without its end (review H15-12)",
    async () => {
      const log = join(dir, "partial.log");
      const child = spawn("/bin/sh", ["-c", logWriterScript(shQuote(log), undefined, "perl").join("; ")], {
        stdio: ["pipe", "ignore", "ignore"],
      });
      try {
        child.stdin.write("Password: ");
        child.stdin.write("\r 10%\r 20%");
        const deadline = Date.now() + 5000;
        let seen = "";
        while (Date.now() < deadline && !seen.includes("20%")) {
          await new Promise((r) => setTimeout(r, 50));
          seen = existsSync(log) ? readFileSync(log, "utf8") : "";
        }
        expect(seen).toBe("Password: \r 10%\r 20%");
        // Its program is not on its command line (every tab's writer shows in ps).
        expect(readFileSync(`/proc/${child.pid}/cmdline`, "utf8").length).toBeLessThan(100);
      } finally {
        child.stdin.end();
        await once(child, "exit");
      }
    },
  );

  it.runIf(hasPerl)(
    "a 10 MB line (a \\r progress bar) is written in linear time, every byte kept, NULs too (review H12-4)",
    () => {
      const log = join(dir, "long.log");
      const bar = Array.from({ length: 400_000 }, (_, i) => `\rdownloading ${i}/400000`).join("");
      const input = Buffer.concat([Buffer.from(`${bar}\n`), Buffer.from("a\0b\0c\nFATAL: checksum\n")]);
      const t0 = Date.now();
      feed(log, input, undefined, "probe");
      // mawk -W interactive took 5 s for this line (quadratic in its length); perl takes milliseconds.
      expect(Date.now() - t0).toBeLessThan(3000);
      const out = Buffer.concat([readFileSync(`${log}.1`), readFileSync(log)]);
      expect(out.equals(input)).toBe(true);
    },
  );

  it.runIf(hasPerl)(
    "perl, any lines in any chunks: the two files are the input's newest part, each from a line's start, none past the cap",
    () => {
      for (let k = 0; k < 5; k++) {
        const log = join(dir, `chunks-${k}.log`);
        const lines = Array.from({ length: 3000 }, (_, i) => `${i} ${"x".repeat((i * 7919 + k) % 120)}`);
        const input = `${lines.join("\n")}\n`;
        feed(log, input, 4096, "perl");
        const cur = readFileSync(log, "utf8");
        const prev = readFileSync(`${log}.1`, "utf8");
        expect(input.endsWith(prev + cur)).toBe(true);
        for (const part of [cur, prev]) {
          expect(Buffer.byteLength(part)).toBeLessThanOrEqual(4096);
          expect(part).toMatch(/^\d+ x*\n/);
        }
      }
    },
  );

  it("lastLines", () => {
    expect(lastLines("", 3)).toBe("");
    expect(lastLines("a\nb\nc\n", 2)).toBe("b\nc\n");
    expect(lastLines("a\nb", 5)).toBe("a\nb\n");
    expect(lastLines("a\n", 0)).toBe("");
  });
});

describe("readiness by log pattern", () => {
  it("matches in a worker: a pattern that backtracks for minutes answers false within its limit, others still match", async () => {
    const { logMatches, LOG_MATCH_LIMIT_MS } = await import("../src/readiness.js");
    expect(await logMatches("^listening on \\d+$", "booting\nlistening on 8080\n")).toBe(true);
    expect(await logMatches("^ready$", "not yet\n")).toBe(false);
    const t0 = Date.now();
    const evil = await logMatches("^(a+)+$", `${"a".repeat(40)}b`);
    expect(evil).toBe(false);
    expect(Date.now() - t0).toBeLessThan(LOG_MATCH_LIMIT_MS + 2000);
    // This thread stayed free meanwhile, and the next pattern gets a fresh worker.
    expect(await logMatches("server (up|ready)", "server up\n")).toBe(true);
    expect(await logMatches("^(a+)+$", "aaa")).toBe(false);
  });
  it("many tabs' patterns at once are each judged on their own time, not on the queue before them (review H76-2)", async () => {
    const { logMatches } = await import("../src/readiness.js");
    // ~4 MB of log, then the line: a pattern that takes a few tens of ms on it, asked for 24 tabs at once
    // (over a second queued in the one worker: each was given up as too slow, for good).
    const log = `${"progress line 0123456789 abcdefghij\n".repeat(110_000)}server Ready\n`;
    const answers = await Promise.all(Array.from({ length: 24 }, () => logMatches("\\w+ Ready$", log)));
    expect(answers).toEqual(Array(24).fill(true));
    expect(await logMatches("\\w+ Ready$", log)).toBe(true);
  });

  it("a pattern given up on says so when its tab fails, not just 'not ready' (review H67-4)", async () => {
    const { logMatches, notReadyReason } = await import("../src/readiness.js");
    // A progress bar's long line: `.*ready` backtracks quadratically on it (300 kB: over a minute).
    const pattern = ".*ready(?:H674)?";
    expect(await logMatches(pattern, `${"x".repeat(300_000)}\nserver ready\n`)).toBe(false);
    expect(notReadyReason({ logMatches: pattern }, 8)).toMatch(
      /^logMatches pattern gave up: too slow on the log .*not ready within 8 s$/,
    );
    expect(notReadyReason({ logMatches: "^READY" }, 8)).toBe("not ready within 8 s");
    expect(notReadyReason({ port: 1 }, 2.5)).toBe("not ready within 2.5 s");
  });
  it("a log pattern counts only what the current attempt printed: after the wrapper's last retry line (review H37-6)", async () => {
    const { probeReadiness } = await import("../src/readiness.js");
    const { RETRY_MARK } = await import("../src/tab-wrapper.js");
    const logPath = join(tmpdir(), `mc-h376-${process.pid}.log`);
    const tab = { startDir: tmpdir(), logPath };
    const probe = () => probeReadiness(localHost(), { logMatches: "^READY" }, tab);
    try {
      writeFileSync(logPath, "booting\r\nREADY\r\n");
      expect(await probe()).toBe(true);
      // That attempt failed: while the next waits (its backoff) and until it prints READY, not ready.
      writeFileSync(logPath, `booting\r\nREADY\r\n${RETRY_MARK}2 (exit 1)\r\n`, { flag: "w" });
      expect(await probe()).toBe(false);
      writeFileSync(logPath, `booting\r\nREADY\r\n${RETRY_MARK}2 (exit 1)\r\nbooting\r\n`);
      expect(await probe()).toBe(false);
      writeFileSync(logPath, `booting\r\nREADY\r\n${RETRY_MARK}2 (exit 1)\r\nbooting\r\nREADY\r\n`);
      expect(await probe()).toBe(true);
    } finally {
      rmSync(logPath, { force: true });
    }
  });

  it("a port counts as open on ::1 as well as on 127.0.0.1, here and in the probe run on another machine (review H67-7)", async (ctx) => {
    const { createServer } = await import("node:net");
    const { probeReadiness } = await import("../src/readiness.js");
    const server = createServer((c) => c.destroy());
    const listening = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(0, "::1", () => resolve(true));
    });
    if (!listening) ctx.skip("this machine has no IPv6 loopback (::1)");
    try {
      const port = (server.address() as import("node:net").AddressInfo).port;
      const tab = { startDir: tmpdir(), logPath: join(tmpdir(), "none.log") };
      const local = localHost();
      expect(await probeReadiness(local, { port }, tab)).toBe(true);
      // The remote probe's script, run here by a host that is not "local" (nc, or bash's /dev/tcp).
      const remote = { ...local, id: "elsewhere" } as typeof local;
      expect(await probeReadiness(remote, { port }, tab)).toBe(true);
      server.close();
      await once(server, "close");
      expect(await probeReadiness(local, { port }, tab)).toBe(false);
      expect(await probeReadiness(remote, { port }, tab)).toBe(false);
    } finally {
      server.close();
    }
  });

  it("a readiness file given as ~/x, $HOME/x or ${HOME}/x is looked for in the home directory of the tab's machine, as a startDir is (review H67-8)", async () => {
    const { probeReadiness } = await import("../src/readiness.js");
    const home = mkdtempSync(join(tmpdir(), "mc-h678-home-"));
    const start = mkdtempSync(join(tmpdir(), "mc-h678-start-"));
    try {
      const local = localHost();
      const info = await local.info();
      const host = { ...local, info: async () => ({ ...info, home }) } as typeof local;
      const tab = { startDir: start, logPath: join(start, "none.log") };
      const forms = ["~/flag", "$HOME/flag", "${HOME}/flag"];
      for (const file of forms) expect(await probeReadiness(host, { file }, tab), file).toBe(false);
      writeFileSync(join(home, "flag"), "");
      for (const file of forms) expect(await probeReadiness(host, { file }, tab), file).toBe(true);
      // Only at the start, and only those forms: elsewhere a ~ or $HOME is part of a name.
      expect(await probeReadiness(host, { file: "x~/flag" }, tab)).toBe(false);
      mkdirSync(join(start, "~"));
      writeFileSync(join(start, "~", "other"), "");
      expect(await probeReadiness(host, { file: "~/other" }, tab)).toBe(false);
    } finally {
      rmSync(home, { recursive: true, force: true });
      rmSync(start, { recursive: true, force: true });
    }
  });

  it("a readiness command is judged by its exit status alone: a child it leaves holding the output does not hold mc (outside review H5-4)", async () => {
    const { probeReadiness } = await import("../src/readiness.js");
    const { localHost } = await import("../src/local-host.js");
    const host = localHost();
    const tab = { startDir: tmpdir(), logPath: join(tmpdir(), "none.log") };
    try {
      for (const [command, ready] of [
        ["sleep 23.25 & exit 0", true],
        ["sleep 23.25 & exit 1", false],
      ] as const) {
        const t0 = Date.now();
        expect(await probeReadiness(host, { command }, tab)).toBe(ready);
        expect(Date.now() - t0).toBeLessThan(8000);
      }
    } finally {
      spawnSync("pkill", ["-f", "sleep 23.25"]);
    }
  });

  it("an idle matcher never keeps the process alive (a run with logMatches readiness used to hang at its end)", () => {
    // Node 20 refs a worker again when a message listener is added: the process must still end by itself.
    const src = new URL("../src/readiness.ts", import.meta.url).pathname;
    const dir = mkdtempSync(join(tmpdir(), "mc-matcher-"));
    const file = join(dir, "idle.mjs");
    writeFileSync(
      file,
      `import { logMatches } from ${JSON.stringify(src)};\nconsole.log(await logMatches("ready", "x\\nready\\n"), await logMatches("nope", "x"));\n`,
    );
    const r = spawnSync(process.execPath, ["--import", "tsx", file], { encoding: "utf8", timeout: 20_000 });
    rmSync(dir, { recursive: true, force: true });
    expect(r.error).toBeUndefined();
    expect(r.stdout.trim()).toBe("true false");
    expect(r.status).toBe(0);
  });
});

describe("reading a tab's log (review H9-5)", () => {
  it("reads at most the last LOG_READ_BYTES of a file a line longer than the cap made huge, from a line's start", async () => {
    const runDir = join(dir, "huge");
    execFileSync("mkdir", ["-p", join(runDir, "logs")]);
    // One line of 1.5 × the read limit (the writer rotates only between lines), then the last lines.
    writeFileSync(join(runDir, "logs", "tab-0.log"), `${"y".repeat(LOG_READ_BYTES * 1.5)}\nlast line\n`);
    writeFileSync(join(runDir, "logs", "tab-0.log.1"), "older\n");
    const text = await readTabLog(localHost(), runDir, 0);
    expect(text.length).toBeLessThan(1024);
    expect(text).toMatch(
      /^older\n\[mc: the first \d+ bytes of .*tab-0\.log are not shown: a line longer than the log's 8 MiB cap\]\nlast line\n$/,
    );
  });
});

describe("following a log (logs -f, review H15-4)", () => {
  /** Lines `from`..`to`, each its own number. */
  const lines = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => `${from + i}\n`).join("");

  it("gives every byte once across rotations, whatever the new file's size when it looks again", async () => {
    const logs = join(dir, "follow");
    mkdirSync(logs, { recursive: true });
    const path = join(logs, "tab-0.log");
    writeFileSync(path, lines(1, 10));
    const f = new LogFollower(localHost(), path);
    let seen = await f.start();
    let written = lines(1, 10);
    let n = 10;
    // A seeded sequence of appends and rotations, read after each step; the new file often grows past
    // the follower's offset in the old one before it looks (what made it skip megabytes).
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let step = 0; step < 60; step++) {
      const more = lines(n + 1, n + 1 + Math.floor(rnd() * 400));
      n += more.split("\n").length - 1;
      appendFileSync(path, more);
      written += more;
      if (rnd() < 0.4) {
        renameSync(path, `${path}.1`);
        const fresh = lines(n + 1, n + 1 + Math.floor(rnd() * 800));
        n += fresh.split("\n").length - 1;
        writeFileSync(path, fresh);
        written += fresh;
      }
      seen += await f.next(false);
    }
    seen += await f.next(true);
    expect(seen.length).toBe(written.length);
    expect(seen === written).toBe(true);
  });

  it("reads the whole rest of a rotated file, and says so when it rotated twice unread", async () => {
    const path = join(dir, "follow2.log");
    const big = "z".repeat(1023) + "\n";
    writeFileSync(path, "first\n");
    const f = new LogFollower(localHost(), path);
    expect(await f.start()).toBe("first\n");
    // More than one read's worth left in the old file when it rotates.
    const rest = big.repeat(Math.ceil((LOG_CHUNK_BYTES * 1.5) / big.length));
    appendFileSync(path, rest);
    renameSync(path, `${path}.1`);
    writeFileSync(path, "new\n");
    expect(await f.next(false)).toBe(`${rest}new\n`);
    // Twice: the file it was reading is gone, and a line says so; the file after it is there.
    appendFileSync(path, "lost\n");
    renameSync(path, `${path}.1`);
    writeFileSync(path, "kept\n");
    renameSync(path, `${path}.1`);
    writeFileSync(path, "latest\n");
    expect(await f.next(false)).toBe(
      "[mc: the log rotated twice before it was read: some output may be missing here]\nkept\nlatest\n",
    );
    // A partial last line waits for its end, unless the tab has finished.
    appendFileSync(path, "part");
    expect(await f.next(false)).toBe("");
    expect(await f.next(true)).toBe("part");
  });

  /** This machine as a remote host (readLogFrom then sends its sh script), rotating the log on a given read. */
  const asRemote = (rotateOn: Map<number, () => void> = new Map()) => {
    const local = localHost();
    let reads = 0;
    return {
      ...local,
      id: "ssh:test",
      run: async (cmd: Parameters<typeof local.run>[0]) => {
        reads++;
        rotateOn.get(reads)?.();
        return local.run(cmd);
      },
    } as unknown as ReturnType<typeof localHost>;
  };

  it("a rotation between the two reads of one look prints no file twice (review H19-1), here and over ssh", async () => {
    for (const remote of [false, true]) {
      const path = join(dir, `h19-1-${remote}.log`);
      const rotate = (text: string) => () => {
        renameSync(path, `${path}.1`);
        writeFileSync(path, text);
      };
      const hooks = new Map<number, () => void>();
      const host = remote ? asRemote(hooks) : localHost();
      writeFileSync(path, lines(1, 10));
      const f = new LogFollower(host, path);
      let seen = await f.start();
      appendFileSync(path, lines(11, 20));
      seen += await f.next(false);
      appendFileSync(path, lines(21, 30));
      rotate(lines(31, 40))();
      if (remote) {
        // The next look reads the current file (one read), then .1: the writer rotates again in between.
        hooks.set(4, rotate(lines(41, 50)));
        seen += await f.next(false);
      } else {
        // Locally there is no hook: the same order of events by hand.
        renameSync(path, `${path}.1`);
        writeFileSync(path, lines(41, 50));
        seen += await f.next(false);
      }
      seen += await f.next(false);
      seen += await f.next(true);
      const numbers = seen.split("\n").filter((l) => /^\d+$/.test(l));
      expect(new Set(numbers).size, `remote ${remote}: ${seen}`).toBe(numbers.length);
      expect(numbers.at(-1)).toBe("50");
    }
  });

  it("over ssh, a third file that got the first one's inode is still a new file (review H19-2)", async () => {
    const path = join(dir, "h19-2.log");
    const host = asRemote();
    writeFileSync(path, lines(1, 5));
    const f = new LogFollower(host, path);
    let seen = await f.start();
    appendFileSync(path, lines(6, 10));
    renameSync(path, `${path}.1`);
    writeFileSync(path, lines(11, 20));
    renameSync(path, `${path}.1`);
    writeFileSync(path, lines(21, 60));
    seen += await f.next(false);
    seen += await f.next(true);
    // Lines 6-10 went with the first file (rotated twice unread): said, and nothing else skipped.
    expect(seen).toContain("[mc: the log rotated twice");
    expect(seen.endsWith(lines(11, 60))).toBe(true);
  });

  it("never gives part of a line while it catches up on a rotated file (review H21-2)", async () => {
    const path = join(dir, "h21-2.log");
    writeFileSync(path, "first\n");
    // Over the ssh script, so that a hook can act between two reads of one look.
    const hooks = new Map<number, () => void>();
    const f = new LogFollower(asRemote(hooks), path);
    expect(await f.start()).toBe("first\n");
    // Lines of odd lengths, so that a 4 MiB read ends inside one.
    const line = (i: number) => `line ${String(i).padStart(6, "0")} ${"x".repeat(97 + (i % 13))}\n`;
    let body = "";
    for (let i = 0; body.length < LOG_CHUNK_BYTES * 1.7; i++) body += line(i);
    appendFileSync(path, body);
    renameSync(path, `${path}.1`);
    writeFileSync(path, "");
    // The next look reads the current file (read 2), .1's first 4 MiB (3), then the current file again
    // (4): the writer is between its rename and its open of the next file (the current file is missing).
    hooks.set(4, () => renameSync(path, `${path}.1`));
    let seen = "";
    for (let n = 0; n < 10 && !seen.endsWith("after\n"); n++) {
      const piece = await f.next(false);
      if (piece) expect(piece.endsWith("\n"), `look ${n}`).toBe(true);
      seen += piece;
      if (n === 0) writeFileSync(path, "after\n");
    }
    // Whole lines only: the rest of the first file went with the second rotation, and a line says so.
    for (const l of seen.replace(/\n$/, "").split("\n")) {
      const m = /^line (\d{6}) (x+)$/.exec(l);
      if (m) expect(m[2]!.length).toBe(97 + (Number(m[1]) % 13));
      else expect(l).toMatch(/^(\[mc: .*\]|after)$/);
    }
    expect(seen).toContain("[mc: the log rotated twice");
  });

  it("starts at the end of a log larger than one read, from a line's start", async () => {
    const path = join(dir, "follow3.log");
    writeFileSync(path, `${"a".repeat(100)}\n`.repeat(Math.ceil((LOG_CHUNK_BYTES * 2) / 101)) + "the end\n");
    const start = await new LogFollower(localHost(), path).start();
    expect(start.endsWith("the end\n")).toBe(true);
    expect(start.startsWith(`${"a".repeat(100)}\n`)).toBe(true);
  });
});

describe("a log path that is not a regular file (review H15-8)", () => {
  it("is skipped at once: a FIFO never blocks a read, a directory is no error", async () => {
    const runDir = join(dir, "fifo");
    mkdirSync(join(runDir, "logs"), { recursive: true });
    writeFileSync(join(runDir, "logs", "tab-0.log"), "kept\n");
    execFileSync("mkfifo", [join(runDir, "logs", "tab-0.log.1")]);
    mkdirSync(join(runDir, "logs", "tab-1.log"));
    const h = localHost();
    const t0 = Date.now();
    expect(await readTabLog(h, runDir, 0)).toBe("kept\n");
    expect(await readTabLog(h, runDir, 1)).toBe("");
    expect((await readLogFrom(h, join(runDir, "logs", "tab-0.log.1"), 0)).data.length).toBe(0);
    const f = new LogFollower(h, join(runDir, "logs", "tab-1.log"));
    expect(await f.start()).toBe("");
    expect(await f.next(true)).toBe("");
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe("over ssh, a FIFO swapped in at the log path after its check (review H19-3)", () => {
  it("is never waited on: the file checked is the file read", async () => {
    const path = join(dir, "h19-3", "tab-0.log");
    const shim = join(dir, "h19-3", "bin");
    mkdirSync(shim, { recursive: true });
    writeFileSync(path, "one\ntwo\n");
    // The first stat the read script runs (after its check) swaps a FIFO in at the path.
    const done = join(dir, "h19-3", "swapped");
    const real = execFileSync("sh", ["-c", "command -v stat"]).toString().trim();
    writeFileSync(
      join(shim, "stat"),
      `#!/bin/sh\n[ -e ${shQuote(done)} ] || { : > ${shQuote(done)}; rm -f ${shQuote(path)}; mkfifo ${shQuote(path)}; }\nexec ${shQuote(real)} "$@"\n`,
      { mode: 0o755 },
    );
    const local = localHost();
    const host = {
      ...local,
      id: "ssh:test",
      run: (cmd: Parameters<typeof local.run>[0]) =>
        local.run({ ...cmd, env: { ...cmd.env, PATH: `${shim}:${process.env.PATH}` } }),
    } as unknown as ReturnType<typeof localHost>;
    const read = readLogFrom(host, path, 0);
    const waited = new Promise<"waited">((r) => setTimeout(() => r("waited"), 10_000));
    const got = await Promise.race([read, waited]);
    // Whatever happened, nothing stays blocked on the FIFO: a writer's open lets a waiting reader go.
    if (got === "waited") writeFileSync(path, "");
    expect(got).not.toBe("waited");
    expect(got === "waited" ? "" : got.data.toString()).toBe("one\ntwo\n");
  });
});
