#!/usr/bin/env node
// Fake wt.exe for the tests (no Windows Terminal here). It reads its argv with Windows Terminal's rules
// (lib.mjs: `;` splitting with `\;`, the CLI11 options mc uses, the tab command line rebuilt and split
// again with CommandLineToArgvW) and starts each tab's command line as a detached process in the tab's
// directory, recording "window name → tab pids" under $FAKE_WT_STATE so the test can see which windows
// are open. Like wt.exe (src/cascadia/wt/shim.cpp) it returns as soon as the tabs are handed over.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import {
  joinCommandline,
  listWindows,
  parseCommand,
  registerTab,
  splitCommands,
  windowsArgv,
} from "./lib.mjs";

const state = process.env.FAKE_WT_STATE;
if (!state) {
  process.stderr.write("fake wt: FAKE_WT_STATE is not set\n");
  process.exit(2);
}
let window;
const actions = [];
try {
  for (const cmd of splitCommands(process.argv.slice(2))) {
    const r = parseCommand(cmd);
    if (r.window !== undefined) window = r.window;
    actions.push(r.action);
  }
} catch (e) {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
}
if (window === undefined || /^-?\d+$/.test(window) || window === "new" || window === "last") {
  process.stderr.write("fake wt: only named windows are modelled\n");
  process.exit(1);
}
for (const a of actions) {
  if (a.kind === "focus-tab") {
    process.stdout.write(listWindows(state).has(window) ? `focused ${window}\n` : `no window ${window}\n`);
    continue;
  }
  const [file, ...args] = windowsArgv(joinCommandline(a.command));
  const child = spawn(file, args, {
    cwd: a.dir,
    detached: true,
    stdio: "ignore",
    env: { ...process.env, WT_SESSION: randomUUID() },
  });
  child.on("error", (e) => process.stderr.write(`fake wt: tab "${a.title}": ${e.message}\n`));
  if (child.pid !== undefined) registerTab(state, window, child.pid);
  child.unref();
}
