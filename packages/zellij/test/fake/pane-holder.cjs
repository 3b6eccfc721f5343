// Stands in for a zellij pane's pty: runs the pane program and records how it ended, like zellij's
// `quit_cb(pane_id, exit_status, …)` (zellij-server/src/os_input_output_unix.rs). Usage:
//   node pane-holder.cjs <exit-file> <command> [args…]
// stdin stays an open pipe, so an interactive shell left in the pane waits as it would on a terminal.
const { spawn } = require("node:child_process");
const { writeFileSync, renameSync } = require("node:fs");

const [exitFile, command, ...args] = process.argv.slice(2);
const put = (o) => {
  writeFileSync(`${exitFile}.tmp`, JSON.stringify(o));
  renameSync(`${exitFile}.tmp`, exitFile);
};
// Closing a zellij session hangs up the pane's process group; the holder outlives that to record the end.
process.on("SIGHUP", () => {});
process.on("SIGTERM", () => {});
let child;
try {
  child = spawn(command, args, { stdio: ["pipe", "ignore", "ignore"] });
} catch {
  put({ exit: 127 });
  process.exit(0);
}
child.on("error", () => {
  put({ exit: 127 });
  process.exit(0);
});
child.on("exit", (code, signal) => {
  // zellij has no exit status for a death by signal (status.code() is None).
  put(code === null ? { signal } : { exit: code });
  process.exit(0);
});
