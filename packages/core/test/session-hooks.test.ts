import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HOOK_SCRIPT, hookArtefacts } from "../src/session-hooks.js";

const root = mkdtempSync(join(tmpdir(), "mc-hooks-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The hooks of a layout written to a run directory of their own; that directory. */
function hooks(name: string, onStart: string, onStop = "true"): string {
  const runDir = join(root, name);
  mkdirSync(runDir, { recursive: true });
  const layout = {
    layoutName: name,
    env: { MARK: runDir },
    onStart,
    onStop,
    layoutTabs: [{ tabName: "t", startDir: runDir, command: "true" }],
  };
  for (const a of hookArtefacts(layout, runDir)) writeFileSync(a.path, a.content, { mode: a.mode });
  return runDir;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(ok: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return ok();
}

describe("session hooks", () => {
  it("onStart ends with all it started once the sessions run waiting for it is gone (review H68-2)", async () => {
    const dir = hooks("gone", 'echo $$ > "$MARK/hook.pid"; sleep 30; echo late > "$MARK/late"');
    // As mc runs it: its own process group, its output read by mc. mc killed outright closes its end.
    const child = spawn("/bin/sh", [join(dir, HOOK_SCRIPT), "onStart"], {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, SHELL: "/bin/sh" },
    });
    const exited = new Promise<number | null>((r) =>
      child.on("exit", (code, signal) => r(code ?? (signal ? -1 : null))),
    );
    expect(await until(() => existsSync(join(dir, "hook.pid")), 10_000)).toBe(true);
    const hook = Number(readFileSync(join(dir, "hook.pid"), "utf8"));
    expect(alive(hook)).toBe(true);
    child.stdout.destroy();
    child.stderr.destroy();
    try {
      expect(await until(() => !alive(hook), 8000)).toBe(true);
      await exited;
      // Nothing of its process group runs on (the `sleep` too).
      const group = () => spawnSync("pgrep", ["-g", String(child.pid)]).stdout.toString();
      expect(await until(() => group() === "", 5000), group()).toBe(true);
      expect(existsSync(join(dir, "late"))).toBe(false);
      expect(readFileSync(join(dir, "logs", "onStart.log"), "utf8")).toContain(
        "mc: sessions run is gone: onStart ended",
      );
    } finally {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {}
    }
  });

  it("onStart's own exit status comes back at once while mc waits; onStop runs with its output closed", async () => {
    for (const [cmd, want] of [
      ["exit 3", 3],
      ["true", 0],
      ["sleep 1.5; exit 4", 4],
      // Ctrl-C reaches the hook (review H72-2: run in the background, it ignored SIGINT).
      ["kill -INT $$; exit 0", 130],
    ] as const) {
      const dir = hooks(`st${want}`, cmd);
      const t0 = Date.now();
      const r = spawnSync("/bin/sh", [join(dir, HOOK_SCRIPT), "onStart"], {
        env: { ...process.env, SHELL: "/bin/sh" },
      });
      expect(r.status, cmd).toBe(want);
      expect(Date.now() - t0).toBeLessThan(want === 4 ? 4000 : 900);
    }
    const dir = hooks("stop", "true", 'echo stopped > "$MARK/stopped"');
    const r = spawnSync("/bin/sh", ["-c", `sh ${join(dir, HOOK_SCRIPT)} onStop >&-`], {
      env: { ...process.env, SHELL: "/bin/sh" },
    });
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, "stopped"), "utf8")).toBe("stopped\n");
  });
});
