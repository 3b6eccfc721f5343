import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { formatIssues, loadLayoutsFile, MAX_LAYOUTS_FILE_BYTES } from "@mc/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { filesUnder, pool, ROOT, recordFigures, requireCli, sessions, tmuxSessions } from "./support.js";

const MALFORMED = join(ROOT, "packages", "core", "test", "fixtures", "malformed");
const figures: Record<string, unknown> = {};
let dir: string;
let sock: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  requireCli();
  dir = mkdtempSync(join(tmpdir(), "mc-rel-bad-"));
  sock = join(dir, "sock");
  env = {
    ...process.env,
    SHELL: "/bin/sh",
    MC_STATE_DIR: join(dir, "state"),
    NO_COLOR: "1",
    LANG: "C.UTF-8",
  };
  delete env.TMUX;
  execFileSync("tmux", ["-S", sock, "-f", "/dev/null", "new-session", "-d", "-s", "keeper", "sleep 100000"], {
    env,
  });
});

afterAll(async () => {
  try {
    execFileSync("tmux", ["-S", sock, "kill-server"], { stdio: "ignore" });
  } catch {}
  rmSync(dir, { recursive: true, force: true });
  await recordFigures("badInput", figures);
});

/** Hostile files made at test time (too big to commit, or demonstrating a finding). */
function generated(): string[] {
  const huge = join(dir, "huge.json");
  // Valid JSON that is simply too big: one layout with a 9 MiB command.
  const command = "x".repeat(MAX_LAYOUTS_FILE_BYTES + 1024 * 1024);
  writeFileSync(
    huge,
    JSON.stringify({
      version: "0.1",
      layouts: [{ layoutName: "big", layoutTabs: [{ tabName: "t", startDir: "~", command }] }],
    }),
  );
  const surrogate = join(dir, "utf8-encoded-surrogate.json");
  writeFileSync(
    surrogate,
    Buffer.concat([
      Buffer.from('{"version": "0.1", "layouts": [{"layoutName": "a'),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from('", "layoutTabs": [{"tabName": "t", "startDir": "~", "command": "ls"}]}]}\n'),
    ]),
  );
  const proto = join(dir, "proto-at-root.json");
  writeFileSync(
    proto,
    '{\n  "version": "0.1",\n  "__proto__": {"x": 1},\n  "layouts": [{"layoutName": "a", "layoutTabs": [{"tabName": "t", "startDir": "~", "command": "ls"}]}]\n}\n',
  );
  return [huge, surrogate, proto];
}

describe("bad input: malformed layouts files", () => {
  it("the malformed corpus has at least 50 files, each with its expected message", () => {
    const files = readdirSync(MALFORMED).filter((f) => f.endsWith(".json"));
    figures.malformedCorpusFiles = files.length;
    expect(files.length).toBeGreaterThanOrEqual(50);
    for (const f of files) expect(readdirSync(MALFORMED)).toContain(f.replace(/\.json$/, ".expected"));
  });

  it("a file over the 8 MiB limit is refused before it is read, with its size", async () => {
    const [huge] = generated();
    const r = await loadLayoutsFile(huge!);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(formatIssues(r.issues, "huge.json")).toMatch(
        /^huge\.json:1:1: the file is \d+ bytes; layouts files are limited to 8388608 bytes \(a fixed bound: split it into several files\)$/,
      );
    }
  });

  it("the built CLI: every malformed file exits 3, starts nothing, writes no state", async () => {
    const started = performance.now();
    const files = [
      ...readdirSync(MALFORMED)
        .filter((f) => f.endsWith(".json"))
        .sort()
        .map((f) => join(MALFORMED, f)),
      ...generated(),
    ];
    const before = tmuxSessions(sock, env);
    const results = await pool(files, 3, async (f) => {
      const r = await sessions(["run", f, "--socket", sock], env, dir);
      return { file: basename(f), code: r.code, stderr: r.stderr };
    });
    const wrongCode = results.filter((r) => r.code !== 3);
    figures.cliMalformedRuns = results.length;
    figures.cliMalformedMs = Math.round(performance.now() - started);
    figures.cliMalformedWrongExit = wrongCode.map((r) => `${r.file}: ${r.code} ${r.stderr.split("\n")[0]}`);
    // Each error names the file and says nothing was started.
    const unclear = results.filter(
      (r) => !r.stderr.includes(r.file) || !r.stderr.includes("nothing was started"),
    );
    expect(unclear.map((r) => `${r.file}: ${r.stderr.slice(0, 200)}`)).toEqual([]);
    expect(wrongCode.map((r) => `${r.file}: ${r.code} ${r.stderr.split("\n")[0]}`)).toEqual([]);
    expect(tmuxSessions(sock, env)).toEqual(before);
    expect(filesUnder(join(dir, "state")).filter((f) => !f.startsWith("locks/"))).toEqual([]);
  }, 120_000);

  it("finding (validate.ts firstBadUtf8Byte): a UTF-8-encoded surrogate is reported at its byte, not as 0xundefined", async () => {
    const [, surrogate] = generated();
    const r = await loadLayoutsFile(surrogate!);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]!.message).toBe("the file is not valid UTF-8 (bad byte 0xed at offset 48)");
  });

  it('finding (validate.ts nodeToValue): a root "__proto__" key is reported at its line as unknown, not as "x" at 1:1', async () => {
    const [, , proto] = generated();
    const r = await loadLayoutsFile(proto!);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(formatIssues(r.issues, "p.json")).toBe('p.json:3:3 __proto__: unknown key "__proto__"');
  });
});
