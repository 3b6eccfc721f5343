import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMcError } from "@mc/core";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { ABSENT, batchScript, type Op, parseDirListing, parseFrames, parseTar } from "../src/index.js";

/** Run a batch the way the remote side does (`/bin/sh -s` reading the script on stdin), here, without ssh. */
function runBatch(ops: Op[], env: Record<string, string> = {}, noise = "") {
  const boundary = `MCB${Math.random().toString(16).slice(2)}`;
  const r = spawnSync("/bin/sh", ["-c", `printf %s "$1"; exec /bin/sh -s`, "sh", noise], {
    input: batchScript(ops, boundary, env),
  });
  return parseFrames(r.stdout, boundary);
}

const dir = mkdtempSync(join(tmpdir(), "mc-remote-batch-"));
let scripts = 0;
/** A batch script in a file (for a shell started by another). */
const writeScript = (text: string) => {
  const f = join(dir, `batch-${scripts++}.sh`);
  writeFileSync(f, text);
  return f;
};
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const text = fc.string({
  unit: fc.constantFrom(
    "a",
    "'",
    '"',
    "\\",
    "$",
    "`",
    "\n",
    "%",
    "é",
    "😀",
    "\t",
    " ",
    "-",
    "*",
    "\r",
    "MCB",
    "!",
  ),
});

describe("batch script (run by a real /bin/sh)", () => {
  it("carries any argv, input and environment value exactly (property)", () => {
    fc.assert(
      fc.property(fc.array(text, { maxLength: 5 }), text, text, (args, input, value) => {
        const { frames, complete } = runBatch([
          { kind: "run", cmd: { file: "printf", args: ["%s|", ...args] } },
          { kind: "run", cmd: { file: "cat", args: [], input } },
          { kind: "run", cmd: { file: "sh", args: ["-c", 'printf %s "$MC_X"'], env: { MC_X: value } } },
        ]);
        expect(complete).toBe(true);
        expect(frames.get(0)!.out.toString()).toBe(args.map((a) => `${a}|`).join("") || "|");
        expect(frames.get(1)!.out.toString()).toBe(input);
        expect(frames.get(2)!.out.toString()).toBe(value);
      }),
      { numRuns: 60 },
    );
  });

  it("writes files atomically with their mode and reads them back exactly, NUL and % included (property)", () => {
    let n = 0;
    const content = fc.string({
      unit: fc.oneof(fc.constantFrom("\0", "%", "%s", "\\0", "\\n", "\\"), fc.string({ maxLength: 1 })),
    });
    fc.assert(
      fc.property(fc.oneof(text, content), fc.constantFrom(0o644, 0o755, 0o600), (data, mode) => {
        const path = join(dir, `w ${n++}`, "-f'ile$");
        const { frames } = runBatch([
          { kind: "writeFile", path, data, mode, tmp: `${path}.tmp-x` },
          { kind: "readFile", path },
          { kind: "stat", path },
        ]);
        expect(frames.get(0)!.status).toBe(0);
        expect(readFileSync(path, "utf8")).toBe(data);
        expect(statSync(path).mode & 0o777).toBe(mode);
        expect(frames.get(1)!.out.toString()).toBe(data);
        expect(frames.get(2)!.out.toString().trim()).toBe("file");
      }),
      { numRuns: 40 },
    );
  });

  it("lists a directory with odd names (newline, quote, leading dash, dotfile) and skips subdirectories", () => {
    const d = mkdtempSync(join(dir, "ls-"));
    const names = ["tab-0.json", "a\nb", "-x", ".hidden", "it's", "sp ace", "MCB end"];
    for (const n of names) writeFileSync(join(d, n), `content of ${n}\n`);
    execFileSync("mkdir", [join(d, "sub")]);
    const { frames } = runBatch([
      { kind: "readDir", dir: d },
      { kind: "readDir", dir: join(d, "none") },
    ]);
    expect(frames.get(0)!.flags).toBe("tar");
    const files = parseDirListing(frames.get(0)!.out, frames.get(0)!.flags);
    expect([...files.keys()].sort()).toEqual([...names].sort());
    for (const n of names) expect(files.get(n)).toBe(`content of ${n}\n`);
    expect(frames.get(1)!.status).toBe(ABSENT);
  });

  it("reads long names from GNU tar (././@LongLink) and pax (bsdtar) archives", () => {
    const d = mkdtempSync(join(dir, "tar-"));
    const long = `${"n".repeat(150)}.json`;
    writeFileSync(join(d, long), "long\n");
    writeFileSync(join(d, "short"), "");
    for (const format of ["gnu", "pax"]) {
      const archive = execFileSync("tar", [
        "-c",
        "-f",
        "-",
        `--format=${format}`,
        "-C",
        d,
        `./${long}`,
        "./short",
      ]);
      const files = parseTar(archive);
      expect([...files.entries()].sort()).toEqual([
        [long, "long\n"],
        ["short", ""],
      ]);
    }
  });

  it("marks a missing executable apart from a command that exits 127", () => {
    const { frames } = runBatch([
      { kind: "run", cmd: { file: "mc-no-such-binary", args: [] } },
      { kind: "run", cmd: { file: "sh", args: ["-c", "exit 127"] } },
      { kind: "which", file: "sh" },
      { kind: "which", file: "mc-no-such-binary" },
      { kind: "readFile", path: join(dir, "absent") },
    ]);
    expect(frames.get(0)).toMatchObject({ status: 127, flags: "nf" });
    expect(frames.get(1)).toMatchObject({ status: 127, flags: "-" });
    expect(frames.get(2)!.out.toString()).toMatch(/\/sh\n$/);
    expect(frames.get(3)!.status).not.toBe(0);
    expect(frames.get(4)!.status).toBe(ABSENT);
  });

  it("never waits on a FIFO swapped in at a path it reads (review H19-3)", async () => {
    // A tab that keeps renaming a FIFO and a file over one path: between the batch's check and its open the
    // path may name the FIFO, whose read-only open waits for a writer for ever.
    const path = join(dir, "swapped.log");
    writeFileSync(path, "a\n");
    const swapper = spawn(
      "/bin/sh",
      [
        "-c",
        'cd "$(dirname "$1")" || exit 1; while :; do mkfifo f.$$; mv -f f.$$ "$1"; echo a > r.$$; mv -f r.$$ "$1"; done',
        "sh",
        path,
      ],
      { stdio: "ignore", detached: true },
    );
    try {
      const ops: Op[] = Array.from({ length: 300 }, () => ({ kind: "readFile", path }));
      const boundary = `MCB${Math.random().toString(16).slice(2)}`;
      // In its own process group, so a read that waits is ended with everything it started.
      const batch = spawn("/bin/sh", ["-s"], { stdio: ["pipe", "pipe", "ignore"], detached: true });
      const chunks: Buffer[] = [];
      batch.stdout.on("data", (c: Buffer) => chunks.push(c));
      batch.stdin.end(batchScript(ops, boundary, {}));
      const ended = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          process.kill(-batch.pid!, "SIGKILL");
          resolve(false);
        }, 20_000);
        batch.stdout.on("close", () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      expect(ended, "the batch waited on the FIFO").toBe(true);
      const { frames, complete } = parseFrames(Buffer.concat(chunks), boundary);
      expect(complete).toBe(true);
      for (const f of frames.values()) {
        if (f.status === 0) expect(f.out.toString()).toBe("a\n");
        else expect(f.status).toBe(ABSENT);
      }
    } finally {
      process.kill(-swapper.pid!, "SIGKILL");
    }
  });

  it("a read never creates the file it reads, even when it is removed as it is opened (review H24-5)", () => {
    const path = join(dir, "vanishing.json");
    const script = batchScript([{ kind: "readFile", path }], "MCBX", {});
    let recreated = 0;
    for (let i = 0; i < 150; i++) {
      writeFileSync(path, "data\n");
      // The batch and a remover at once: whatever the order, the path ends up removed.
      spawnSync("/bin/sh", [
        "-c",
        '/bin/sh -s < "$1" > /dev/null & rm -f "$2"; wait',
        "sh",
        writeScript(script),
        path,
      ]);
      if (existsSync(path)) {
        recreated++;
        rmSync(path);
      }
    }
    expect(recreated).toBe(0);
  });

  it("skips login noise before the first frame and reports a cut-off batch as incomplete", () => {
    const { frames, complete } = runBatch(
      [{ kind: "run", cmd: { file: "echo", args: ["hi"] } }],
      {},
      "Welcome!\nMCB fake 0 0 9 9 -\n",
    );
    expect(complete).toBe(true);
    expect(frames.get(0)!.out.toString()).toBe("hi\n");
    const cut = runBatch([{ kind: "run", cmd: { file: "sh", args: ["-c", "kill -9 $PPID"] } }]);
    expect(cut.complete).toBe(false);
  });

  it("takes the remote environment and refuses names that are not identifiers", () => {
    const { frames } = runBatch([{ kind: "run", cmd: { file: "sh", args: ["-c", 'printf %s "$SHELL"'] } }], {
      SHELL: "/bin/sh",
    });
    expect(frames.get(0)!.out.toString()).toBe("/bin/sh");
    for (const bad of ["A B", "1X", "X;rm", ""]) {
      const e = (() => {
        try {
          batchScript([{ kind: "run", cmd: { file: "true", args: [], env: { [bad]: "v" } } }], "B");
        } catch (err) {
          return err;
        }
      })();
      expect(isMcError(e, "USAGE")).toBe(true);
    }
    expect(() => batchScript([{ kind: "run", cmd: { file: "-oProxyCommand=x", args: [] } }], "B")).toThrow(
      /not valid/,
    );
    expect(() => batchScript([{ kind: "remove", path: "/" }], "B")).toThrow(/refusing/);
    expect(() =>
      batchScript([{ kind: "writeFile", path: "/x\0y", data: "ab", mode: 0o644, tmp: "/x.t" }], "B"),
    ).toThrow(/NUL/);
  });
});
