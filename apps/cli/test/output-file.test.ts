import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMcError } from "@mc/core";
import { afterAll, describe, expect, it } from "vitest";
import { writeOutputFile } from "../src/output-file.js";

const dir = mkdtempSync(join(tmpdir(), "mc-out-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("-o FILE is written as a redirection would, never worse (outside review H5-1)", () => {
  it("a device is written through, never replaced by a file", async () => {
    await writeOutputFile("/dev/null", "x\n");
    expect(statSync("/dev/null").isCharacterDevice()).toBe(true);
  });

  it("a link to a file writes the file and stays a link; a file keeps its mode", async () => {
    const real = join(dir, "real.json");
    const link = join(dir, "link.json");
    writeFileSync(real, "old", { mode: 0o600 });
    symlinkSync(real, link);
    await writeOutputFile(link, "new\n");
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, "utf8")).toBe("new\n");
    expect(statSync(real).mode & 0o777).toBe(0o600);
    await writeOutputFile(real, "again\n");
    expect(statSync(real).mode & 0o777).toBe(0o600);
    const fresh = join(dir, "fresh.json");
    await writeOutputFile(fresh, "{}\n");
    expect(readFileSync(fresh, "utf8")).toBe("{}\n");
  });

  it("a directory, an empty name and a link to nothing are usage errors, and nothing is written", async () => {
    const d = join(dir, "d");
    mkdirSync(d);
    const dangling = join(dir, "dangling");
    symlinkSync(join(dir, "nowhere"), dangling);
    for (const [path, why] of [
      [d, /is a directory/],
      ["", /needs a file name/],
      [dangling, /does not exist/],
      ["-", /a file named "-"/],
    ] as const) {
      const e = await writeOutputFile(path, "x").catch((x: unknown) => x);
      expect(isMcError(e, "USAGE")).toBe(true);
      expect((e as Error).message).toMatch(why);
    }
    expect(lstatSync(dangling).isSymbolicLink()).toBe(true);
    expect(() => statSync(join(dir, "nowhere"))).toThrow();
  });

  it("a file in a directory that does not exist is a usage error naming it; nothing is made", async () => {
    const missing = join(dir, "no", "such", "x.json");
    const e = await writeOutputFile(missing, "{}\n").catch((err: unknown) => err);
    expect(isMcError(e, "USAGE")).toBe(true);
    expect((e as Error).message).toContain(`directory "${join(dir, "no", "such")}" does not exist`);
    expect(existsSync(join(dir, "no"))).toBe(false);
  });

  // Root writes through any mode, as its shell redirections do: only a user's mc can be refused here.
  it.skipIf(process.getuid?.() === 0)(
    "a read-only file is refused, as a redirection into it fails",
    async () => {
      const ro = join(dir, "ro.json");
      writeFileSync(ro, "keep", { mode: 0o444 });
      const e = await writeOutputFile(ro, "x").catch((x: unknown) => x);
      expect(isMcError(e, "USAGE")).toBe(true);
      expect((e as Error).message).toMatch(/read-only/);
      expect(readFileSync(ro, "utf8")).toBe("keep");
    },
  );
});
