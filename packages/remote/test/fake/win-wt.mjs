#!/usr/bin/env node
// `wt` on the fake Windows machine's PATH: @mc/wt's fake Windows Terminal (FAKE_WT_REAL), and a log of the
// session each launch came from. sshd runs every session in session 0, whose windows never reach the
// desktop (PowerShell/Win32-OpenSSH#998 "By Design"; openssh-portable#448); only a process of the user's
// interactive session (FAKE_WIN_SESSION=1, set by the Task Scheduler model) shows a window.
import { spawn } from "node:child_process";
import { exitWith, logTo, readExitCode } from "./win-lib.mjs";

const session = process.env.FAKE_WIN_SESSION ?? "0";
logTo("wt", { session, visible: session !== "0", argv: process.argv.slice(2) });
const child = spawn(process.execPath, [process.env.FAKE_WT_REAL, ...process.argv.slice(2)], {
  stdio: "inherit",
});
child.on("exit", (code, signal) => exitWith(readExitCode(child.pid, code ?? (signal ? 1 : 0))));
