import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { INFO_SCRIPT, parseInfo } from "../src/parse.js";
import { remoteStateExposure } from "../src/state-owner.js";

const dir = mkdtempSync(join(tmpdir(), "mc-exposure-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The info operation as a machine runs it (a real sh and find), with `shims` first on its PATH. */
function probe(stateDir: string, shims: Record<string, string> = {}): ReturnType<typeof parseInfo> {
  const bin = mkdtempSync(join(dir, "bin-"));
  for (const [name, body] of Object.entries(shims)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  const r = spawnSync("sh", ["-c", INFO_SCRIPT], {
    encoding: "utf8",
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir, MC_STATE_DIR: stateDir, TMPDIR: join(dir, "none") },
  });
  expect(r.status, r.stderr).toBe(0);
  return parseInfo(r.stdout);
}

/** A find as some machines have it: one that refuses the given primary or option, real otherwise. */
const findWithout = (flag: string) =>
  `for a in "$@"; do [ "$a" = '${flag}' ] && { echo "find: unknown predicate '${flag}'" >&2; exit 1; }; done\nexec /usr/bin/find "$@"`;

describe("the remote state directory's exposure probe", () => {
  const state = join(dir, "state");
  mkdirSync(state, { mode: 0o700 });

  it("finds a private directory private, and a world-writable one exposed", () => {
    expect(probe(state).facts?.stateExposure).toBeUndefined();
    const open = join(dir, "open");
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(probe(open).facts?.stateExposure).toEqual({ kind: "world", path: open });
  });

  it("says so, never 'private', where the machine's find or id cannot make the checks", () => {
    const open = join(dir, "open-unchecked");
    mkdirSync(open);
    chmodSync(open, 0o777);
    for (const shims of [
      { find: findWithout("-L") },
      { find: findWithout("-H") },
      { find: findWithout("-perm") },
      { find: findWithout("-user") },
      { find: findWithout("-mindepth") },
      { find: "exit 127" },
      { id: "exit 1" },
    ]) {
      for (const d of [state, open]) {
        const x = probe(d, shims).facts?.stateExposure;
        expect(x, JSON.stringify(shims)).toEqual({ kind: "unchecked", path: d });
        expect(remoteStateExposure("ssh:m", d, { stateExposure: x } as never)).toMatch(
          /cannot check that no other user can write the state directory .* there: its find lacks/,
        );
      }
    }
  });
});
