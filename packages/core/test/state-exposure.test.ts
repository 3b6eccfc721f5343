import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, lchownSync, mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  deleteRun,
  isMcError,
  listRuns,
  loadRun,
  localHost,
  localStateExposure,
  saveRun,
  updateRun,
} from "../src/index.js";
import { RunStore } from "../src/run-store.js";

// mc writes the scripts its tabs run into the state directory: one that others can write lets them run
// commands as this user. Every way in is refused before anything starts, an explicit directory too.
const fresh = () => mkdtempSync(join(tmpdir(), "mc-expose-"));
/** A run record with no sessions: what the readers and writers are tried on. */
const RUN = {
  v: 2,
  id: "20260101-000000-abcdef",
  kind: "TmuxLocalManager",
  backend: "tmux",
  createdAt: 1,
  machines: { local: { host: "local", backendOptions: {} } },
  sessions: [],
} as never;

describe("a state directory others could write", () => {
  it("is refused when it, or runs/, managers/ or locks/ in it, is world-writable (sticky or not)", () => {
    for (const [sub, mode] of [
      ["", 0o777],
      ["", 0o1777],
      ["runs", 0o777],
      ["managers", 0o1777],
      ["locks", 0o757],
    ] as const) {
      const dir = fresh();
      const d = join(dir, sub);
      mkdirSync(d, { recursive: true });
      chmodSync(d, mode);
      expect(localStateExposure(dir), `${sub || "."} ${mode.toString(8)}`).toMatch(/writable by every user/);
    }
  });

  it("is refused below a world-writable directory without the sticky bit, not below /tmp's kind", () => {
    const open = fresh();
    chmodSync(open, 0o777);
    const state = join(open, "state");
    mkdirSync(state, { mode: 0o700 });
    expect(localStateExposure(state)).toMatch(/without the sticky bit/);
    chmodSync(open, 0o1777);
    expect(localStateExposure(state)).toBeUndefined();
  });

  it("is accepted when private, or missing (mc creates it 0700)", () => {
    const dir = fresh();
    expect(localStateExposure(dir)).toBeUndefined();
    expect(localStateExposure(join(dir, "not", "yet"))).toBeUndefined();
    chmodSync(dir, 0o750);
    expect(localStateExposure(dir)).toBeUndefined();
  });

  it.skipIf(process.getuid?.() !== 0)("is refused when another user owns it", () => {
    const dir = fresh();
    chownSync(dir, 65534, 65534);
    expect(localStateExposure(dir)).toMatch(/belongs to uid 65534/);
    const sub = fresh();
    mkdirSync(join(sub, "runs"));
    chownSync(join(sub, "runs"), 65534, 65534);
    expect(localStateExposure(sub)).toMatch(/runs belongs to uid 65534/);
  });

  it("stops a run before anything is written, with the state exit code, an explicit directory too", async () => {
    const dir = fresh();
    chmodSync(dir, 0o777);
    const store = new RunStore(localHost({ stateDir: dir }), "TmuxLocalManager", true);
    const err = await store.checkWritable().catch((e: unknown) => e);
    expect(isMcError(err, "STATE_IO")).toBe(true);
    expect((err as Error).message).toMatch(/writable by every user/);
  });

  it("a full disk is found before anything happens: the probe writes bytes, where an empty file still fits (review H14-3)", async () => {
    const dir = fresh();
    const base = localHost({ stateDir: dir });
    // A full disk: a new inode is fine, a block is not.
    const full = {
      ...base,
      writeFile: async (path: string, data: string, o?: { mode?: number; durable?: boolean }) => {
        if (data.length > 0)
          throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
        return base.writeFile(path, data, o);
      },
    };
    const store = new RunStore(full, "TmuxLocalManager", true);
    const err = await store.checkWritable().catch((e: unknown) => e);
    expect(isMcError(err, "STATE_IO")).toBe(true);
    expect((err as Error).message).toMatch(/ENOSPC/);
  });

  it("is refused through a symlink whose target lies under a world-writable directory without the sticky bit", () => {
    const open = fresh();
    chmodSync(open, 0o777);
    mkdirSync(join(open, "st"), { mode: 0o700 });
    const link = join(fresh(), "link");
    symlinkSync(join(open, "st"), link);
    expect(localStateExposure(link)).toMatch(/without the sticky bit/);
    // The same through a symlinked runs/ whose target is below it.
    const dir = fresh();
    symlinkSync(join(open, "st"), join(dir, "runs"));
    expect(localStateExposure(dir)).toMatch(/without the sticky bit/);
  });

  it("is refused when a kind's directory in managers/ is world-writable", () => {
    const dir = fresh();
    mkdirSync(join(dir, "managers", "TmuxLocalManager"), { recursive: true });
    chmodSync(join(dir, "managers", "TmuxLocalManager"), 0o777);
    expect(localStateExposure(dir)).toMatch(/TmuxLocalManager is writable by every user/);
  });

  it.skipIf(process.getuid?.() !== 0)("is refused below a directory another user owns", () => {
    const theirs = fresh();
    chownSync(theirs, 65534, 65534);
    mkdirSync(join(theirs, "st"), { mode: 0o700 });
    expect(localStateExposure(join(theirs, "st"))).toMatch(/belongs to uid 65534/);
  });

  it.skipIf(process.getuid?.() !== 0)(
    "is refused through a symlink another user owns: as the path, inside it, or where a link of ours points",
    () => {
      const base = fresh();
      const real = join(base, "real");
      mkdirSync(join(real, "runs"), { recursive: true, mode: 0o700 });
      const link = (target: string, at: string) => {
        symlinkSync(target, at);
        lchownSync(at, 65534, 65534);
      };
      // The state directory itself a link of theirs (in sticky /tmp only they can repoint it).
      link(real, join(base, "theirs"));
      expect(localStateExposure(join(base, "theirs"))).toMatch(
        /theirs \(a symlink of uid 65534\) is on the way/,
      );
      // A directory on the way.
      expect(localStateExposure(join(base, "theirs", "runs"))).toMatch(/a symlink of uid 65534/);
      // A link of ours that points at a link of theirs.
      symlinkSync(join(base, "theirs"), join(base, "ours"));
      expect(localStateExposure(join(base, "ours"))).toMatch(/theirs \(a symlink of uid 65534\)/);
      // A directory in the state directory that is a link of theirs.
      const st = join(base, "st");
      mkdirSync(st, { mode: 0o700 });
      link(join(real, "runs"), join(st, "runs"));
      expect(localStateExposure(st)).toMatch(/runs \(a symlink of uid 65534\)/);
      // A link of ours to a private directory is fine.
      const fine = join(base, "fine");
      symlinkSync(real, fine);
      expect(localStateExposure(fine)).toBeUndefined();
    },
  );

  it("is refused by every reader and writer of run records, not only by run and kill", async () => {
    const dir = fresh();
    const host = localHost({ stateDir: dir });
    const run = RUN;
    await saveRun(host, dir, run);
    chmodSync(dir, 0o777);
    const refused = async (p: Promise<unknown>) => {
      const e = await p.then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(isMcError(e, "STATE_IO"), String(e)).toBe(true);
    };
    await refused(listRuns(host, dir, "TmuxLocalManager"));
    await refused(loadRun(host, dir, "TmuxLocalManager", "20260101-000000-abcdef"));
    await refused(saveRun(host, dir, run));
    await refused(updateRun(host, dir, "TmuxLocalManager", "20260101-000000-abcdef", (r) => r));
    await refused(deleteRun(host, dir, "TmuxLocalManager", "20260101-000000-abcdef"));
  });

  it("a record written after the listing read the directory is no damaged file; a FIFO is (review H25-6)", async () => {
    const dir = fresh();
    const local = localHost({ stateDir: dir });
    await saveRun(local, dir, RUN);
    const runs = join(dir, "managers", "TmuxLocalManager");
    // The listing read the directory a moment before this run's record was there.
    const host = { ...local, readDir: async () => new Map<string, string>() } as typeof local;
    const listed = await listRuns(host, dir, "TmuxLocalManager");
    expect(listed.corrupt).toEqual([]);
    execFileSync("mkfifo", [join(runs, "20260101-000000-fifo00.json")]);
    const again = await listRuns(host, dir, "TmuxLocalManager");
    expect(again.corrupt.map((c) => c.error)).toEqual(["not a regular file"]);
  });

  it("does not trust a record others may write, in a private directory", async () => {
    const dir = fresh();
    const host = localHost({ stateDir: dir });
    await saveRun(host, dir, RUN);
    const file = join(dir, "managers", "TmuxLocalManager", "20260101-000000-abcdef.json");
    chmodSync(file, 0o666);
    const listed = await listRuns(host, dir, "TmuxLocalManager");
    expect(listed.runs).toEqual([]);
    expect(listed.corrupt[0]!.error).toMatch(/writable by other users/);
  });
});
