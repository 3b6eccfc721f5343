import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMcError } from "@mc/core";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { ALL_HOSTILE, armed, HOSTILE, hostile } from "./corpus.js";
import { ROOT, recordFigures } from "./support.js";

// @mc/remote is written alongside this suite; it is imported from source when present (no dependency).
const REMOTE = join(ROOT, "packages", "remote", "src", "index.ts");
const present = existsSync(REMOTE);
if (!present) console.warn(`remote-hosts: ${REMOTE} does not exist yet; the ssh host checks are skipped`);

type SshHostFn = (
  target: string,
  opts?: Record<string, unknown>,
) => { run(cmd: { file: string; args: string[] }): Promise<unknown> };

const figures: Record<string, unknown> = {};
const dir = mkdtempSync(join(tmpdir(), "mc-rel-ssh-"));
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (present) await recordFigures("remoteHosts", figures);
});

describe.skipIf(!present)("remote: hostile ssh targets are refused by sshHost before any ssh runs", () => {
  const log = join(dir, "ssh-calls");
  const fakeSsh = join(dir, "ssh");
  writeFileSync(fakeSsh, `#!/bin/sh\nprintf '%s\\n' "$#" >> '${log}'\nexit 255\n`);
  chmodSync(fakeSsh, 0o755);
  writeFileSync(log, "");
  const load = async () => ((await import(/* @vite-ignore */ REMOTE)) as { sshHost: SshHostFn }).sshHost;
  const unsafe = (h: string) => h === "" || h.startsWith("-") || /[\s\u0000-\u001f\u007f]/.test(h);

  it("option-like and multi-line hosts from the corpus: USAGE naming the host, ssh never started", async () => {
    const sshHost = await load();
    const marker = join(dir, "PWNED");
    const hosts = [...HOSTILE.ssh, "-oProxyCommand=touch MARKER", "host -p 1", "a\nb", "\t-x", "-", ""].map(
      (h) => armed(h, marker),
    );
    for (const h of hosts.filter(unsafe)) {
      let err: unknown;
      try {
        sshHost(h, { ssh: fakeSsh, controlDir: join(dir, "ctl") });
      } catch (e) {
        err = e;
      }
      expect(isMcError(err, "USAGE"), JSON.stringify(h)).toBe(true);
      expect((err as Error).message).toContain(JSON.stringify(h));
    }
    expect(readFileSync(log, "utf8")).toBe("");
    expect(existsSync(marker)).toBe(false);
    figures.optionLikeRefused = hosts.filter(unsafe).length;
  });

  it("1000 hostile targets: whatever sshHost accepts cannot be read as an option or split into words", async () => {
    const sshHost = await load();
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.oneof(hostile(), fc.constantFrom(...ALL_HOSTILE)), (h) => {
        try {
          sshHost(h, { ssh: fakeSsh, controlDir: join(dir, "ctl") });
          accepted++;
          expect(unsafe(h), JSON.stringify(h)).toBe(false);
        } catch (e) {
          refused++;
          expect(isMcError(e, "USAGE"), String(e)).toBe(true);
        }
      }),
      { numRuns: 1000, seed: 9 },
    );
    expect(readFileSync(log, "utf8")).toBe("");
    figures.property = { cases: accepted + refused, accepted, refused };
  });
});
