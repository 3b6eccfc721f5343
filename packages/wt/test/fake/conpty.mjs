#!/usr/bin/env node
// One tab of the fake Windows Terminal (see wt.mjs): starts the tab's command line in a process group
// of its own (its console: Ctrl+C is SIGINT to the group), records its pid and exit code, and closes the
// tab when the exit code is 0 (closeOnExit "automatic": ConptyConnection.cpp:548, TerminalPaneContent.cpp
// closes only on Closed). From wt 1.26, the last tab of a named window closing saves a workspace under the
// name (TabManagement.cpp:479 `_SaveWorkspaceIfNeeded`).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { expandEnv, getJson, hex, putJson, readExitCode, version, windowsArgv, windowTabs } from "./lib.mjs";

const [state, window, cwd, cmdline] = process.argv.slice(2);
process.on("SIGINT", () => {});
const file = join(state, "windows", hex(window), `${process.pid}.json`);
const update = (o) => putJson(file, { ...getJson(file, { host: process.pid, cmdline }), ...o });
const line = expandEnv(cmdline);
const [program, ...args] = windowsArgv(line);
function finish(code) {
  update({ exit: code, closed: code === 0 });
  const wtVersion = version(process.env.FAKE_WT_VERSION ?? "1.25.1912.0");
  const named = !window.startsWith("#");
  if (named && wtVersion[1] >= 26 && windowTabs(state, window).every((t) => t.closed)) {
    const ws = getJson(join(state, "workspaces.json"), {});
    ws[window] = windowTabs(state, window).map((t) => ({ cwd: t.cwd, cmdline: t.cmdline, title: t.title }));
    putJson(join(state, "workspaces.json"), ws);
  }
  process.exit(0);
}
// CreateProcess takes at most 32,767 characters (ERROR_FILENAME_EXCED_RANGE, 206).
if (line.length > 32_767) finish(206);
else {
  const child = spawn(program, args, { cwd, detached: true, stdio: "ignore" });
  child.on("error", () => finish(2));
  if (child.pid !== undefined) update({ pid: child.pid });
  child.on("exit", (code, signal) =>
    finish(readExitCode(child.pid, code ?? (signal === "SIGINT" ? -1073741510 : -1))),
  );
}
