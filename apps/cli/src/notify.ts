import { spawn } from "node:child_process";
import type { McEvent } from "@mc/core";
import { display } from "./display.js";
import type { Output } from "./output.js";

/** Events worth a notification: a tab that failed or was killed, and the end of the run. */
export function notable(e: McEvent): boolean {
  return (e.type === "tab-exited" && e.exitCode !== 0) || e.type === "tab-killed" || e.type === "run-done";
}

/** One line saying what happened, for a desktop notification. */
function summary(e: McEvent): { title: string; body: string } {
  const where = `${e.session ?? ""}${e.tab ? ` / ${e.tab}` : ""}`;
  if (e.type === "run-done")
    return {
      title: "mc: run finished",
      body: e.failed ? `${e.failed} tab(s) failed` : "every tab succeeded",
    };
  if (e.type === "tab-killed")
    return { title: "mc: tab killed", body: `${where}${e.signal ? ` (${e.signal})` : ""}` };
  return { title: "mc: tab failed", body: `${where} exited with ${e.exitCode}` };
}

/** notify-send bodies may be read as markup by the notification daemon: text stays text. */
const markupSafe = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * `--notify CMD|desktop`: for each notable event, run the user's command through `sh -c` with the event
 * as one JSON line on stdin (and MC_EVENT_TYPE, MC_SESSION, MC_TAB_NAME, MC_EXIT_CODE in its
 * environment), or show a desktop notification with notify-send. A failing notifier is a warning, never
 * the run's failure. `flush()` waits (at most 5 s) for notifiers still running.
 */
export function notifier(spec: string | undefined, out: Output) {
  const running = new Set<Promise<void>>();
  const children = new Set<ReturnType<typeof spawn>>();
  let missing = false;
  const run = (file: string, args: string[], input: string, env: NodeJS.ProcessEnv) => {
    // A notifier that cannot start (not installed) was said once; it is not tried at every event.
    if (missing) return;
    const p = new Promise<void>((resolve) => {
      const child = spawn(file, args, { stdio: ["pipe", "ignore", "pipe"], env: { ...process.env, ...env } });
      let err = "";
      let failed = false;
      child.stderr.on("data", (d: Buffer) => {
        err = (err + d.toString()).slice(-500);
      });
      child.on("error", (e) => {
        failed = true;
        if (!missing)
          out.err(
            out.c.yellow(
              (e as NodeJS.ErrnoException).code === "ENOENT" && file === "notify-send"
                ? "warning: --notify desktop: notify-send is not installed (Debian/Ubuntu: apt install libnotify-bin); no desktop notifications"
                : `warning: --notify: ${e.message}`,
            ),
          );
        missing = true;
        resolve();
      });
      child.on("close", (code, signal) => {
        // Not started at all (said above): no exit status to speak of.
        if (code !== 0 && !failed)
          out.err(
            out.c.yellow(
              `warning: --notify ${signal ? `was killed by ${signal}` : `exited ${code}`}${err ? `: ${err.trim()}` : ""}`,
            ),
          );
        resolve();
      });
      child.stdin.on("error", () => {});
      child.stdin.end(input);
      children.add(child);
      child.on("close", () => children.delete(child));
    });
    running.add(p);
    void p.then(() => running.delete(p));
  };
  const send = (e: McEvent) => {
    if (!spec || !notable(e)) return;
    const { report: _report, ...event } = e;
    if (spec === "desktop") {
      const { title, body } = summary(e);
      run(
        "notify-send",
        ["--app-name=mc", "--", title, markupSafe(display(body, { oneLine: true }))],
        "",
        {},
      );
      return;
    }
    run("/bin/sh", ["-c", spec], `${JSON.stringify(event)}\n`, {
      MC_EVENT_TYPE: e.type,
      MC_SESSION: e.session ?? "",
      MC_TAB_NAME: e.tab ?? "",
      MC_EXIT_CODE: e.exitCode === undefined ? "" : String(e.exitCode),
    });
  };
  const flush = async () => {
    await Promise.race([Promise.all(running), new Promise((r) => setTimeout(r, 5000).unref())]);
    // A notifier still running after that is left to finish on its own: it no longer holds mc's exit.
    for (const child of children) {
      child.stderr?.destroy();
      child.unref();
    }
  };
  return Object.assign(send, { flush });
}

/** The notifier type. */
export type Notifier = ReturnType<typeof notifier>;
