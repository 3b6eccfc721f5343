import { join } from "node:path";
import { McError } from "./errors.js";
import type { Host } from "./host.js";
import { shQuote } from "./quote.js";
import type { LayoutConfig } from "./schema.js";
import type { Artefact, PreparedSession } from "./session-backend.js";

/** A layout's session hooks. */
export type HookName = "onStart" | "onStop";

/** Name of the script that runs a session's hooks (`sh hooks.sh onStart|onStop`), in its run directory. */
export const HOOK_SCRIPT = "hooks.sh";

/** Where a hook's output goes, in the run directory. */
export function hookLogName(hook: HookName): string {
  return `logs/${hook}.log`;
}

/**
 * The files that run a layout's `onStart` and `onStop`: one POSIX sh script that enters the first tab's
 * directory, sets the layout's environment and runs the hook's command from its own file (mode 0600)
 * through the user's shell, as a tab's command runs, with its output appended to `logs/<hook>.log`.
 * None when the layout has no hooks.
 */
export function hookArtefacts(layout: LayoutConfig, runDir: string): Artefact[] {
  const hooks = (["onStart", "onStop"] as const).filter((h) => layout[h] !== undefined);
  if (hooks.length === 0) return [];
  const dir = layout.layoutTabs[0]!.startDir;
  const env = Object.entries(layout.env ?? {}).map(([k, v]) => `export ${k}=${shQuote(v)}`);
  const script = [
    "#!/bin/sh",
    `# mc: the session hooks of layout ${JSON.stringify(layout.layoutName).replace(/[\r\n]/g, " ")}`,
    "# Run: sh <this file> onStart|onStop",
    `mc_dir=${shQuote(runDir)}`,
    'case "$1" in onStart | onStop) ;; *) echo "mc: no hook \'$1\'" >&2; exit 2 ;; esac',
    // mc's end of the output it reads while it waits for onStart (`command`: a closed stdout is no exit).
    'case "$1" in onStart) command exec 3>&1 || exec 3>/dev/null ;; esac',
    'mkdir -p -m 700 -- "$mc_dir/logs" && exec >>"$mc_dir/logs/$1.log" 2>&1',
    `cd -- ${shQuote(dir)} || { echo "mc: cannot enter the start directory"; exit 126; }`,
    ...env,
    '[ "$1" = onStart ] || exec "${SHELL:-/bin/sh}" "$mc_dir/$1.cmd" 3>&-',
    // mc waits for onStart under its start lock, reading this script's output: once that reader is gone
    // (mc killed outright: SIGKILL, the OOM killer), the hook ends with all it started (this script's process
    // group, its own), rather than run on outside the lock, and beside the next start's (review H68-2). A
    // newline a second, to a pipe. The watcher runs in the background, the hook not: a background command of
    // a non-interactive shell ignores Ctrl-C and Ctrl-\\ (review H72-2: `kill -INT $$` no longer stopped it).
    "(trap '' PIPE; while sleep 1 3>&-; do printf '\\n' >&3 2>/dev/null || break; done; echo \"mc: sessions run is gone: onStart ended\"; trap '' TERM; kill -TERM 0; sleep 2 3>&-; kill -KILL 0) &",
    "mc_w=$!",
    '"${SHELL:-/bin/sh}" "$mc_dir/$1.cmd" 3>&-',
    "mc_c=$?",
    'kill "$mc_w" 2>/dev/null',
    'exit "$mc_c"',
    "",
  ].join("\n");
  return [
    {
      path: join(runDir, HOOK_SCRIPT),
      content: script,
      mode: 0o700,
      description: "session hooks (POSIX sh)",
    },
    ...hooks.map((h) => ({
      path: join(runDir, `${h}.cmd`),
      content: `${layout[h]}\n`,
      mode: 0o600,
      description: `${h} command`,
    })),
  ];
}

/**
 * Run a session's `onStart` on its machine before its tabs start; a failure stops that session's start
 * (and so rolls back what the run started) with the hook's last output in the message.
 */
export async function runOnStart(host: Host, p: PreparedSession, signal?: AbortSignal): Promise<void> {
  if (p.layout.onStart === undefined) return;
  const cmd = { file: "/bin/sh", args: [join(p.runDir, HOOK_SCRIPT), "onStart"] };
  // Its own process group: a stop ends everything the hook started, not only its shell (review H67-3).
  const r = await host.run(cmd, signal ? { signal, group: true } : { group: true });
  if (r.exitCode === 0) return;
  const log = (await host.readFile(join(p.runDir, hookLogName("onStart"))).catch(() => undefined)) ?? "";
  const lines = log.trimEnd().split("\n");
  const tail = lines.slice(-20).join("\n");
  // The message carries the output: the session's files go with its roll-back (review H50-5: the hint
  // named a log the roll-back had removed).
  throw new McError(
    "START_FAILED",
    `onStart of session "${p.name}" exited ${r.exitCode}${tail ? `${lines.length > 20 ? ` (its last 20 lines of ${lines.length})` : ""}:\n${tail}` : " and printed nothing"}`,
    {
      backend: "core",
      op: "start",
      hint: "nothing of the session was started (its files went with it); fix onStart and run again",
    },
  );
}
