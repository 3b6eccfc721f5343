import { join } from "node:path";
import { type Artefact, type Command, HOOK_SCRIPT, type Host, shQuote } from "@mc/core";

/**
 * A layout's onStop on zellij. zellij has no hook for a session's end, but every session is one server
 * process, `zellij --server <socket dir>/<contract>/<name>`, that exits however the session ends:
 * `kill-session` / `delete-session` (mc's or the user's), or its last pane exiting. A watcher started with
 * the session, in its own process group (setsid, not a pane), waits on that process and then runs the
 * onStop; mc's own kill runs it too once the session is gone. Both claim it first with one atomic
 * `mkdir`, so it runs once.
 */

/** The watcher script, in the session's run directory. */
export const STOP_WATCHER = "onStop-watch.sh";
/** The claim: made by whoever runs the onStop first (mkdir is atomic). */
export const STOP_CLAIM = "onStop.claimed";

/**
 * The watcher (POSIX sh). `sh onStop-watch.sh` finds the session's server (this user's process whose
 * argv is `… --server SOCKET`; SOCKET exactly when the host's socket directory is known, else any socket
 * of that session name), waits until it exits (`tail --pid`, else `kill -0` every 2 s) and runs the
 * onStop once. `sh onStop-watch.sh now` only claims and runs it (mc's kill, after the session is gone).
 * A server not found means the session already ended: it was verified running just before.
 */
export function zellijStopWatcher(o: {
  name: string;
  runDir: string;
  socketPath?: string | undefined;
}): string {
  const match = o.socketPath
    ? `[ "$mc_a" = "$mc_sock" ]`
    : `case "$mc_a" in */"$mc_name") true ;; *) false ;; esac`;
  return [
    "#!/bin/sh",
    `# mc: runs the onStop of zellij session ${JSON.stringify(o.name).replace(/[\r\n]/g, " ")} once it ends`,
    `mc_run=${shQuote(o.runDir)}`,
    `mc_name=${shQuote(o.name)}`,
    `mc_sock=${shQuote(o.socketPath ?? "")}`,
    "mc_claim() {",
    `  mkdir -- "$mc_run/${STOP_CLAIM}" 2>/dev/null || exit 0`,
    `  exec /bin/sh "$mc_run/${HOOK_SCRIPT}" onStop`,
    "}",
    '[ "$1" = now ] && mc_claim',
    "mc_server() {",
    "  if [ -d /proc/self ]; then",
    "    for mc_d in /proc/[0-9]*; do",
    '      [ -O "$mc_d" ] || continue',
    `      mc_f=$(tr '\\000' '\\n' <"$mc_d/cmdline" 2>/dev/null | sed -n 2p) || continue`,
    '      [ "$mc_f" = --server ] || continue',
    `      mc_a=$(tr '\\000' '\\n' <"$mc_d/cmdline" 2>/dev/null | sed -n 3p) || continue`,
    `      if ${match}; then echo "\${mc_d#/proc/}"; return 0; fi`,
    "    done",
    "    return 1",
    "  fi",
    '  ps -U "$(id -u)" -o pid= -o args= | while read -r mc_p mc_x; do',
    "    mc_a=${mc_x##* --server }",
    '    [ "$mc_a" != "$mc_x" ] || continue',
    `    if ${match}; then echo "$mc_p"; exit 0; fi`,
    "  done | sed -n 1p | grep .",
    "}",
    "mc_pid=$(mc_server) || mc_claim",
    'tail --pid="$mc_pid" -f /dev/null 2>/dev/null ||',
    '  while kill -0 "$mc_pid" 2>/dev/null; do sleep 2; done',
    "mc_claim",
    "",
  ].join("\n");
}

/** The watcher as a run artefact. */
export function stopWatcherArtefact(o: Parameters<typeof zellijStopWatcher>[0]): Artefact {
  return {
    path: join(o.runDir, STOP_WATCHER),
    content: zellijStopWatcher(o),
    mode: 0o700,
    description: "onStop watcher (POSIX sh)",
  };
}

/** The watcher of a session whose layout has an onStop (none otherwise); socketDir when known. */
export function stopArtefacts(
  spec: { name: string; runDir: string; layout: { onStop?: string | undefined } },
  socketDir: string | null | undefined,
): Artefact[] {
  if (spec.layout.onStop === undefined) return [];
  const socketPath = socketDir ? join(socketDir, spec.name) : undefined;
  return [stopWatcherArtefact({ name: spec.name, runDir: spec.runDir, socketPath })];
}

/** Start the watcher detached from mc (its own session, no terminal, no output): it outlives mc's CLI. */
export function startWatcherCommand(runDir: string): Command {
  const detach =
    'if command -v setsid >/dev/null 2>&1; then setsid -f /bin/sh "$0" </dev/null >/dev/null 2>&1; ' +
    'else nohup /bin/sh "$0" </dev/null >/dev/null 2>&1 & fi';
  return { file: "/bin/sh", args: ["-c", detach, join(runDir, STOP_WATCHER)] };
}

/** Start a session's onStop watcher (the session runs: start verified it). */
export async function startStopWatcher(host: Host, runDir: string): Promise<void> {
  const r = await host.run(startWatcherCommand(runDir));
  if (r.exitCode !== 0) throw new Error(`the onStop watcher did not start: ${r.stderr.trim()}`);
}

/** Run a session's onStop now unless it already ran (mc's kill, once the session is gone). */
export async function runStopNow(host: Host, runDir: string): Promise<void> {
  await host.run({ file: "/bin/sh", args: [join(runDir, STOP_WATCHER), "now"] });
}
