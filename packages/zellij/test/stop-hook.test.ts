import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { STOP_WATCHER, startWatcherCommand, stopArtefacts, zellijStopWatcher } from "../src/stop-hook.js";

/** The value sh gives a variable the watcher sets (runs only its assignments). */
function shValue(script: string, v: string): string {
  const assigns = script.slice(0, script.indexOf("\nmc_claim() {"));
  return execFileSync("/bin/sh", ["-c", `${assigns}\nprintf %s "$${v}"`], { encoding: "utf8" });
}

describe("zellij onStop watcher (stop-hook.ts)", () => {
  it("carries any session name, run directory and socket path exactly, and parses as sh", () => {
    const text = fc.string({ unit: "binary", minLength: 1 }).filter((s) => !s.includes("\0"));
    fc.assert(
      fc.property(text, text, fc.option(text, { nil: undefined }), (name, runDir, socketPath) => {
        const s = zellijStopWatcher({ name, runDir, socketPath });
        execFileSync("/bin/sh", ["-n", "-c", s]);
        expect(shValue(s, "mc_name")).toBe(name);
        expect(shValue(s, "mc_run")).toBe(runDir);
        expect(shValue(s, "mc_sock")).toBe(socketPath ?? "");
        // The comment line never lets a name start a command.
        expect(s.split("\n")[1]!.startsWith("# mc: ")).toBe(true);
        expect(s.split("\n")[1]).not.toMatch(/[\r\n]/);
      }),
      { numRuns: 60 },
    );
  });

  it("matches the exact socket when known, else any socket of that name", () => {
    expect(zellijStopWatcher({ name: "a", runDir: "/r", socketPath: "/s/a" })).toContain(
      '[ "$mc_a" = "$mc_sock" ]',
    );
    expect(zellijStopWatcher({ name: "a", runDir: "/r" })).toContain('*/"$mc_name") true');
  });

  it("only a layout with onStop gets a watcher; it starts detached in its own session", () => {
    const spec = { name: "n", runDir: "/run/x", layout: {} };
    expect(stopArtefacts(spec, "/s")).toEqual([]);
    const [a] = stopArtefacts({ ...spec, layout: { onStop: "echo" } }, "/s/contract_version_1");
    expect(a!.path).toBe(join("/run/x", STOP_WATCHER));
    expect(a!.content).toContain("mc_sock=/s/contract_version_1/n\n");
    const c = startWatcherCommand("/run/x");
    expect(c.args.at(-1)).toBe("/run/x/onStop-watch.sh");
    expect(c.args[1]).toMatch(/setsid -f .*<\/dev\/null >\/dev\/null 2>&1/);
  });

  it("`now` runs the onStop once however many claim it at the same time", async () => {
    const dir = mkdtempSync("/tmp/mzs-");
    try {
      writeFileSync(join(dir, "hooks.sh"), `echo "$1" >> '${dir}/ran'\n`);
      const script = join(dir, STOP_WATCHER);
      writeFileSync(script, zellijStopWatcher({ name: "n", runDir: dir, socketPath: "/nowhere/n" }));
      await Promise.all(
        Array.from({ length: 8 }, () => new Promise((r) => spawn("/bin/sh", [script, "now"]).on("exit", r))),
      );
      expect(readFileSync(join(dir, "ran"), "utf8")).toBe("onStop\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
