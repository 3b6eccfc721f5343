#!/usr/bin/env node
// Fake wt.exe + WindowsTerminal.exe for the tests (no Windows Terminal here), version-aware through
// FAKE_WT_VERSION (default 1.25.1912.0). It models, each from the line cited:
// - exit code 0 whatever happens, also when the command line does not parse: wt.exe is a shim that only
//   hands the command line over (src/cascadia/wt/shim.cpp `return !CreateProcessW(...)`) and Windows
//   Terminal shows a parse error in a message box (WindowEmperor.cpp:796 `_showMessageBox`): logged here
//   as a "messagebox" event, nothing opened;
// - the `;` splitter and CLI11 (lib.mjs), with CLI11 2.6.1's `[[…]]` escape only from wt 1.25 (vcpkg.json);
// - `--window` values: ids, keywords and `_quake` per version (lib.mjs windowTarget); a value that is not
//   a name opens tabs in a window keyed `#id:N` / `#current` / `#new` / `_quake` instead of the name;
// - a named window that exists receives the new tabs (WindowEmperor.cpp `GetWindowByName`); `focus-tab`
//   alone on a window that does not exist gets a default new-tab (AppCommandlineArgs.cpp
//   `ValidateStartupCommands`): a stray window with the default profile (FAKE_WT_DEFAULT, `sleep 600`);
// - from wt 1.26 (main, #20314), a named window whose last tab closed leaves a saved workspace under its
//   name (TabManagement.cpp:479), and the next launch under that name restores it and DROPS the new command
//   line (WindowEmperor.cpp:344 `TakeWorkspace`, AppHost.cpp:138);
// - each tab is a process in its own process group (its console), started by conpty.mjs with the tab's
//   command line rebuilt (AppCommandlineArgs.cpp:683) and %VAR%-expanded (ConptyConnection.cpp:55).
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  getJson,
  hex,
  joinCommandline,
  listWindows,
  logEvent,
  parseCommand,
  putJson,
  splitCommands,
  version,
  windowTarget,
} from "./lib.mjs";

const CONPTY = fileURLToPath(new URL("./conpty.mjs", import.meta.url));
const state = process.env.FAKE_WT_STATE;
if (!state) {
  process.stderr.write("fake wt: FAKE_WT_STATE is not set\n");
  process.exit(2);
}
const wtVersion = version(process.env.FAKE_WT_VERSION ?? "1.25.1912.0");
let windowValue;
const actions = [];
try {
  // FAKE_WT_PARSE_ERROR stands for any command line this build rejects (an option it does not know).
  if (process.env.FAKE_WT_PARSE_ERROR) throw new Error(process.env.FAKE_WT_PARSE_ERROR);
  for (const cmd of splitCommands(process.argv.slice(2))) {
    const r = parseCommand(cmd, wtVersion);
    if (r.window !== undefined) windowValue = r.window;
    actions.push(r.action);
  }
} catch (e) {
  logEvent(state, { kind: "messagebox", message: e.message });
  process.exit(0);
}
const target = windowValue === undefined ? { kind: "new" } : windowTarget(windowValue, wtVersion);
const key =
  target.kind === "name" || target.kind === "quake"
    ? target.name
    : target.kind === "id"
      ? `#id:${target.id}`
      : `#${target.kind}`;
if (target.kind !== "name") logEvent(state, { kind: "target", value: windowValue, target });

function openTab(cwd, cmdline, title, pane) {
  const dir = join(state, "windows", hex(key));
  mkdirSync(dir, { recursive: true });
  const child = spawn(process.execPath, [CONPTY, state, key, cwd ?? process.cwd(), cmdline], {
    detached: true,
    stdio: "ignore",
    env: { ...process.env, WT_SESSION: randomUUID() },
  });
  // `opened` orders a window's tabs as Windows Terminal does, by when they were opened: pids are no order
  // (they wrap at pid_max, 32768 on the CI machine, and a wrap between two tabs swapped them once in CI).
  const opened = String(process.hrtime.bigint());
  putJson(join(dir, `${child.pid}.json`), { host: child.pid, opened, cmdline, title, cwd, ...(pane ?? {}) });
  child.unref();
}

const exists = listWindows(state).has(key);
const workspaces = getJson(join(state, "workspaces.json"), {});
if (!exists && target.kind === "name" && workspaces[key] && wtVersion[0] === 1 && wtVersion[1] >= 26) {
  const saved = workspaces[key];
  delete workspaces[key];
  putJson(join(state, "workspaces.json"), workspaces);
  logEvent(state, { kind: "restored", window: key, dropped: actions.length });
  for (const t of saved) openTab(t.cwd, t.cmdline, t.title);
  process.exit(0);
}
const tabs = actions.filter((a) => a.kind === "new-tab");
if (!exists && tabs.length === 0) {
  logEvent(state, { kind: "default-tab", window: key });
  openTab(undefined, process.env.FAKE_WT_DEFAULT ?? "sleep 600");
}
// Panes of the tab being built (TerminalTab.cpp): ids from 0 in creation order; split-pane splits the
// focused pane and focuses the new one (Pane.cpp `_Split`); focus-pane with an id the tab lacks does nothing.
let tabNo = -1;
let panes = [];
let focused = 0;
for (const a of actions) {
  if (a.kind === "focus-tab") logEvent(state, { kind: "focus", window: key, existed: exists });
  else if (a.kind === "focus-pane") {
    if (panes.includes(a.target)) focused = a.target;
    else logEvent(state, { kind: "focus-pane-missing", window: key, tab: tabNo, target: a.target });
  } else if (a.kind === "split-pane") {
    if (tabNo < 0) {
      tabNo = 0;
      panes = [0];
      focused = 0;
      openTab(undefined, process.env.FAKE_WT_DEFAULT ?? "sleep 600");
    }
    const id = panes.length;
    logEvent(state, {
      kind: "split",
      window: key,
      tab: tabNo,
      of: focused,
      id,
      direction: a.direction ?? "auto",
      size: a.size ?? 0.5,
    });
    panes.push(id);
    focused = id;
    openTab(a.dir, joinCommandline(a.command), a.title, { tab: tabNo, pane: id });
  } else {
    tabNo++;
    panes = [0];
    focused = 0;
    openTab(a.dir, joinCommandline(a.command), a.title, { tab: tabNo, pane: 0 });
  }
}
