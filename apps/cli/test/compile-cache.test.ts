import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BUNDLE_HEAD, BUNDLE_TAIL } from "../src/bundle-wrapper.js";
import { COMMAND_ALIASES, cacheDir, commandOf } from "../src/compile-cache.js";
import { buildProgram } from "../src/main.js";
import { makeOutput } from "../src/output.js";
import { BIN, requireBuilt } from "./cli.js";

const root = mkdtempSync(join(tmpdir(), "mc-ccache-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A small CommonJS bundle and a private cache directory for it. */
function fixture(body = "exports.main = async () => 7; exports.sum = [1, 2, 3].reduce((a, b) => a + b);") {
  const d = join(root, `f${n++}`);
  mkdirSync(d);
  const bundle = join(d, "main.cjs");
  // Enough functions for V8 to have something to cache.
  // Built as main.cjs is: the body of a function expression (src/bundle-wrapper.ts).
  writeFileSync(
    bundle,
    `${BUNDLE_HEAD}\n${body}\n${Array.from({ length: 50 }, (_, i) => `exports.f${i} = (x) => x * ${i} + ${i};`).join("\n")}\n${BUNDLE_TAIL}\n`,
  );
  const cache = join(d, "cache");
  return { bundle, cache, env: { MC_CACHE_DIR: cache } as NodeJS.ProcessEnv };
}

const CHILD = join(import.meta.dirname, "fixtures", "compile-cache-child.ts");
const REPO = join(import.meta.dirname, "..", "..", "..");

/** One start of the bundle in a fresh node process (see the child's note): its cache state and result. */
function load(
  f: { bundle: string; env: NodeJS.ProcessEnv },
  command: string,
  o: { env?: NodeJS.ProcessEnv; euid?: number; node?: string[] } = {},
): { state: string; sum: number; result: unknown; at?: string; saved: string } {
  const out = execFileSync(
    process.execPath,
    [
      ...(o.node ?? []),
      "--import",
      "tsx",
      CHILD,
      f.bundle,
      command,
      ...(o.euid === undefined ? [] : [String(o.euid)]),
    ],
    { cwd: REPO, env: { PATH: process.env.PATH, ...f.env, ...o.env }, encoding: "utf8" },
  );
  return JSON.parse(out);
}

const cacheFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".v8"));

describe("compile cache", () => {
  it("writes a private cache per command once, then compiles from it", () => {
    const f = fixture();
    const first = load(f, "run");
    expect(first.state).toBe("none");
    expect(first.sum).toBe(6);
    expect(first.saved).toBe("written");
    expect(statSync(f.cache).mode & 0o777).toBe(0o700);
    const [file] = cacheFiles(f.cache);
    expect(file).toMatch(/^cli-v[\d.]+-\w+-[0-9a-f]{32}-run\.v8$/);
    expect(statSync(join(f.cache, file!)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(f.cache, file!), "latin1").split("\n")[0]).toMatch(
      /^mc-v8-cache 3 [0-9a-f]{64}$/,
    );

    const second = load(f, "run");
    expect(second.state).toBe("used");
    expect(second.sum).toBe(6);
    expect(second.saved).toBe("kept");

    // Another command has its own (V8 reads a cache whole: one for all would load every command's code).
    const other = load(f, "status");
    expect(other.state).toBe("none");
    expect(other.saved).toBe("written");
    expect(load(f, "status").state).toBe("used");
    expect(
      cacheFiles(f.cache)
        .map((x) => x.replace(/.*-/, ""))
        .sort(),
    ).toEqual(["run.v8", "status.v8"]);
  });

  it("a cache V8 refuses (other V8 flags, another node) is compiled past and written again", () => {
    const f = fixture();
    load(f, "run");
    const again = load(f, "run", { node: ["--stack-size=2000"] });
    expect(again.state).toBe("rejected");
    expect(again.sum).toBe(6);
    expect(again.saved).toBe("written");
    expect(load(f, "run", { node: ["--stack-size=2000"] }).state).toBe("used");
    // Not a cache at all (no header): compiled from source, replaced.
    const path = join(f.cache, cacheFiles(f.cache)[0]!);
    writeFileSync(path, "garbage", { mode: 0o600 });
    const plain = load(f, "run");
    expect(plain.state).toBe("none");
    expect(plain.saved).toBe("written");
  });

  it("one damaged byte anywhere in the cache is caught before V8 sees it (V8 does not check, and crashed)", () => {
    const f = fixture();
    load(f, "run");
    const path = join(f.cache, cacheFiles(f.cache)[0]!);
    const good = readFileSync(path);
    const nl = good.indexOf(10);
    for (const at of [nl + 1, nl + 40, nl + Math.floor((good.length - nl) / 2), good.length - 1]) {
      const bad = Buffer.from(good);
      bad[at] = bad[at]! ^ 0xff;
      writeFileSync(path, bad, { mode: 0o600 });
      const l = load(f, "run");
      expect(l.state, `byte ${at}`).toBe("none");
      expect(l.sum, `byte ${at}`).toBe(6);
      expect(l.saved, `byte ${at}`).toBe("written");
      expect(load(f, "run").state, `byte ${at}`).toBe("used");
    }
  });

  it("a typo or an option's value gets no cache of its own", () => {
    const f = fixture();
    const known = { MC_TEST_COMMANDS: "run,status" };
    expect(load(f, "typo", { env: known }).saved).toBe("skipped");
    expect(load(f, "run", { env: known }).saved).toBe("written");
    expect(load(f, "-", { env: known }).saved).toBe("written");
    expect(
      cacheFiles(f.cache)
        .map((x) => x.replace(/.*[0-9a-f]{32}-/, ""))
        .sort(),
    ).toEqual(["-.v8", "run.v8"]);
  });

  it("a stack trace points where source maps point (the file's own lines and columns, cache or not)", () => {
    const body = 'exports.main = async () => { throw new Error("here"); }; exports.sum = 6;';
    const f = fixture(body);
    const plain = load(f, "run", { env: { MC_NO_COMPILE_CACHE: "1" } });
    const viaCache = [load(f, "run"), load(f, "run")];
    // The body's first line is the file's second (the head is the first, as esbuild's banner writes it).
    expect(plain.at).toMatch(/main\.cjs:2:\d+/);
    expect(viaCache.map((x) => x.state)).toEqual(["none", "used"]);
    for (const x of viaCache)
      expect(x.at?.match(/main\.cjs:\d+:\d+/)?.[0]).toBe(plain.at?.match(/main\.cjs:\d+:\d+/)?.[0]);
  });

  it("removes what a process killed mid-write left, once it is a minute old", () => {
    const f = fixture();
    mkdirSync(f.cache, { mode: 0o700 });
    const hex = "a".repeat(32);
    const old = join(f.cache, `cli-v20.0.0-x64-${hex}-run.v8.tmp-12345`);
    const fresh = join(f.cache, `cli-v20.0.0-x64-${hex}-status.v8.tmp-12346`);
    writeFileSync(old, "x", { mode: 0o600 });
    writeFileSync(fresh, "x", { mode: 0o600 });
    utimesSync(old, new Date(), new Date(Date.now() - 120_000));
    load(f, "run");
    expect(existsSync(old)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
  });

  it("another build of the bundle never gets this build's cache", () => {
    const f = fixture();
    load(f, "run");
    // Same content, another modification time (a reinstall): the same build, its cache.
    utimesSync(f.bundle, new Date(), new Date(Date.now() - 86_400_000));
    expect(load(f, "run").state).toBe("used");
    // Other content of the same length and the same modification time and inode (npm packs every file
    // with one fixed mtime): V8 checks only the length, so only the name can keep the old code out.
    const { mtime } = statSync(f.bundle);
    writeFileSync(f.bundle, readFileSync(f.bundle, "utf8").replace("=> 7", "=> 8"));
    utimesSync(f.bundle, mtime, mtime);
    const other = load(f, "run");
    expect(other.state).toBe("none");
    expect(other.result).toBe(8);
  });

  it("a cache others could have written is never read; in a directory only we can write it is replaced", () => {
    const f = fixture();
    load(f, "run");
    const path = join(f.cache, cacheFiles(f.cache)[0]!);
    const before = readFileSync(path);
    // A directory others can write: neither read nor written.
    for (const [what, mode] of [
      ["group-writable directory", 0o770],
      ["world-writable directory", 0o1777],
    ] as const) {
      chmodSync(f.cache, mode);
      const l = load(f, "run");
      expect(l.state, what).toBe("unsafe");
      expect(l.sum, what).toBe(6);
      expect(l.saved, what).toBe("skipped");
      expect(readFileSync(path).equals(before), what).toBe(true);
      chmodSync(f.cache, 0o700);
    }
    // A file others could have written, in our private directory: not read, replaced by a rename (our
    // own directory: nothing else can be put there meanwhile), then used.
    for (const [what, mode] of [
      ["group-writable file", 0o620],
      ["world-writable file", 0o602],
    ] as const) {
      chmodSync(path, mode);
      const l = load(f, "run");
      expect(l.state, what).toBe("unsafe");
      expect(l.saved, what).toBe("written");
      expect(statSync(path).mode & 0o777, what).toBe(0o600);
      expect(load(f, "run").state, what).toBe("used");
    }
    // Owned by someone else (as this process sees it: another euid).
    const uid = process.geteuid!();
    const foreign = load(f, "run", { euid: uid + 1 });
    expect(foreign.state).toBe("unsafe");
    expect(foreign.saved).toBe("skipped");
    if (uid === 0) {
      chownSync(path, 65534, 65534);
      expect(load(f, "run").state).toBe("unsafe");
      expect(statSync(path).uid).toBe(0);
      chownSync(f.cache, 65534, 65534);
      const l = load(f, "run");
      expect(l.state).toBe("unsafe");
      expect(l.saved).toBe("skipped");
    }
  });

  it.skipIf(process.geteuid?.() !== 0)(
    "root with another user's HOME (sudo -E) makes no directory there",
    () => {
      const f = fixture();
      const home = join(root, `home-${n++}`);
      mkdirSync(home, { mode: 0o755 });
      chownSync(home, 65534, 65534);
      const l = load({ bundle: f.bundle, env: { HOME: home } }, "run");
      expect(l.state).toBe("none");
      expect(l.saved).toBe("skipped");
      expect(readdirSync(home)).toEqual([]);
    },
  );

  it("a symlink in place of the cache file or its directory is not followed", () => {
    const f = fixture();
    load(f, "run");
    const name = cacheFiles(f.cache)[0]!;
    const elsewhere = join(root, `elsewhere-${n++}`);
    mkdirSync(elsewhere, { mode: 0o700 });
    execFileSync("mv", [join(f.cache, name), join(elsewhere, name)]);
    symlinkSync(join(elsewhere, name), join(f.cache, name));
    expect(load(f, "run").state).toBe("unsafe");
    // The directory itself a symlink (to a private directory holding a good cache): not used either.
    const g = fixture();
    symlinkSync(elsewhere, g.cache);
    expect(load(g, "run").state).toBe("unsafe");
  });

  it("is off when asked, and where no absolute cache directory can be named", () => {
    const f = fixture();
    const off = load(f, "run", { env: { MC_NO_COMPILE_CACHE: "1" } });
    expect(off.state).toBe("off");
    expect(off.sum).toBe(6);
    expect(off.saved).toBe("skipped");
    expect(existsSync(f.cache)).toBe(false);
    expect(load({ bundle: f.bundle, env: { HOME: "relative/home" } }, "run").state).toBe("off");
  });

  it("names its directory from MC_CACHE_DIR, XDG_CACHE_HOME or HOME (absolute paths only)", () => {
    expect(cacheDir({ MC_CACHE_DIR: "/a/b", XDG_CACHE_HOME: "/x", HOME: "/h" })).toBe("/a/b");
    expect(cacheDir({ MC_CACHE_DIR: "rel", XDG_CACHE_HOME: "/x", HOME: "/h" })).toBe("/x/mc");
    expect(cacheDir({ XDG_CACHE_HOME: "x", HOME: "/h" })).toBe("/h/.cache/mc");
    expect(cacheDir({ HOME: "h" })).toBeUndefined();
  });

  it("tells the command from the arguments", () => {
    expect(commandOf(["run", "x.json"])).toBe("run");
    expect(commandOf(["--help"])).toBe("-");
    expect(commandOf([])).toBe("-");
    expect(commandOf(["--state-dir", "/x", "status"])).toBe("status");
    // An alias shares its command's cache (review H74-9), and the table is the program's own.
    expect(commandOf(["a", "x"])).toBe("attach");
    expect(commandOf(["R", "f.json", "--dry-run"])).toBe("run-all+dry");
    const program = buildProgram({ out: makeOutput(false), code: 0 });
    const aliases = Object.fromEntries(
      program.commands.flatMap((c) => c.aliases().map((a) => [a, c.name()] as const)),
    );
    expect(aliases).toEqual(COMMAND_ALIASES);
    expect(commandOf(["--state-dir=/x", "status"])).toBe("status");
    expect(commandOf(["R", "x.json"])).toBe("run-all");
    expect(commandOf(["./layouts.json"])).toBe("?");
    expect(commandOf(["-q", "status"])).toBe("status");
    expect(commandOf(["A,B"])).toBe("?");
    expect(commandOf(["run", "x.json", "--help"])).toBe("-");
    expect(commandOf(["run", "x.json", "--dry-run"])).toBe("run+dry");
    expect(commandOf(["run", "x.json", "--", "--dry-run"])).toBe("run");
  });

  it("keeps the caches of this build and the newest three others, removes older builds' and nothing else", () => {
    const f = fixture();
    mkdirSync(f.cache, { mode: 0o700 });
    const build = (i: number) => `v20.0.0-x64-${String(i).repeat(32)}`;
    for (let i = 0; i < 6; i++)
      for (const c of ["run", "status"]) {
        const p = join(f.cache, `cli-${build(i)}-${c}.v8`);
        writeFileSync(p, "x", { mode: 0o600 });
        utimesSync(p, new Date(), new Date(Date.now() - (i + 1) * 60_000));
      }
    // Not mc's (MC_CACHE_DIR may be a directory with other files in it): never removed, however old.
    const others = ["cli-notes.v8", "cli-other-tool.v8", "keep.v8", "notes.txt", "cli-x.v8.tmp-1"];
    for (const o of others) {
      writeFileSync(join(f.cache, o), "x", { mode: 0o600 });
      utimesSync(join(f.cache, o), new Date(), new Date(Date.now() - 86_400_000));
    }
    load(f, "run");
    const left = readdirSync(f.cache).sort();
    const mine = left.find((x) => x.endsWith("-run.v8") && !x.includes("-v20.0.0-"))!;
    expect(left).toEqual(
      [
        mine,
        ...others,
        ...[0, 1, 2].flatMap((i) => [`cli-${build(i)}-run.v8`, `cli-${build(i)}-status.v8`]),
      ].sort(),
    );
  });

  it("a node version with a dash (a pre-release) keeps its own caches", () => {
    const f = fixture();
    const pre = join(root, `pre-${n++}.cjs`);
    writeFileSync(pre, 'Object.defineProperty(process, "version", { value: "v20.20.2-rc.1" });\n');
    const first = load(f, "run", { node: ["--require", pre] });
    expect(first.saved).toBe("written");
    expect(cacheFiles(f.cache)).toEqual([expect.stringMatching(/^cli-v20\.20\.2-rc\.1-/)]);
    expect(load(f, "status", { node: ["--require", pre] }).saved).toBe("written");
    expect(load(f, "run", { node: ["--require", pre] }).state).toBe("used");
    expect(cacheFiles(f.cache)).toHaveLength(2);
  });
});

describe("the built CLI", () => {
  it("its debug line shows a cache path with control characters escaped", () => {
    requireBuilt();
    const dir = mkdtempSync(join(root, "esc-"));
    const cache = join(dir, "c\u001b[31mred\u0007");
    const err = execFileSync("sh", ["-c", 'node "$@" 2>&1 >/dev/null', "sh", BIN, "ls"], {
      env: {
        ...process.env,
        MC_CACHE_DIR: cache,
        MC_STATE_DIR: join(dir, "state"),
        MC_DEBUG_COMPILE_CACHE: "1",
      },
      encoding: "utf8",
    });
    expect(err).toContain("c\\x1b[31mred\\x07");
    expect(err).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
  });

  it("has no dynamic import() left (code compiled from a cache has no callback for it)", () => {
    requireBuilt();
    const main = readFileSync(join(BIN, "..", "main.cjs"), "utf8");
    expect(main.match(/\bimport\(/g) ?? []).toEqual([]);
  });

  it("is ASCII only, the body of a function expression (one character outside ASCII made node hold it twice as big)", () => {
    requireBuilt();
    const main = readFileSync(join(BIN, "..", "main.cjs"), "utf8");
    expect(main.match(/[^\u0000-\u007f]/g) ?? []).toEqual([]);
    expect(main.startsWith(`${BUNDLE_HEAD}\n`)).toBe(true);
    expect(main).toContain(`\n${BUNDLE_TAIL}\n`);
  });

  it("writes its cache on the first run and uses it on the next, with the same output", () => {
    requireBuilt();
    const dir = mkdtempSync(join(root, "cli-"));
    const env = {
      ...process.env,
      MC_CACHE_DIR: join(dir, "cache"),
      MC_STATE_DIR: join(dir, "state"),
      MC_DEBUG_COMPILE_CACHE: "1",
      NO_COLOR: "1",
    };
    const run = () =>
      execFileSync("node", [BIN, "ls", "--json"], {
        env,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
    const errOf = (args: string[]) =>
      execFileSync("sh", ["-c", 'node "$@" 2>&1 >/dev/null', "sh", BIN, ...args], { env, encoding: "utf8" });
    expect(errOf(["ls", "--json"])).toMatch(/^compile cache: none, written \(/m);
    expect(errOf(["ls", "--json"])).toMatch(/^compile cache: used, kept \(/m);
    expect(errOf(["ls", "--prune"])).toMatch(/^compile cache: used, kept \(/m);
    expect(run()).toBe(run());
    expect(
      execFileSync("node", [BIN, "ls", "--json"], {
        env: { ...env, MC_NO_COMPILE_CACHE: "1" },
        encoding: "utf8",
      }),
    ).toBe(run());
  });
});
