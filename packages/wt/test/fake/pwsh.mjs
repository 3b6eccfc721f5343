#!/usr/bin/env node
// Fake pwsh for the tests (no PowerShell here). It evaluates ONLY the restricted script forms mc
// generates, recognised by their marker line, and fails on anything else:
// - `-File launch.ps1` (# mc:launch v1): single-quoted literals in `$mcArgs = @( … )`, then
//   `& '<wt>' @mcArgs` runs that program with exactly those arguments (Standard argument passing).
// - `-File wrapper.ps1 <i>` (# mc:tab-wrapper v1): does what the wrapper does — writes the core tab record
//   (temp file + rename), runs the command from tab-<i>.command.txt, writes the end record — except that
//   the command runs with /bin/sh -c instead of PowerShell. With -NoExit it then stays alive like the tab's
//   interactive PowerShell would.
// - `-EncodedCommand` (# mc:processes v1 / # mc:kill v1): reads `$mcRoots`/`$mcStarts` and walks /proc the
//   way the generated script walks Win32_Process (same root check, same child-not-older-than-parent rule).
import { spawn } from "node:child_process";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { assigned, evaluateLaunch, intArray, treeRows } from "./lib.mjs";

const argv = process.argv.slice(2);
let noExit = false;
let file;
let fileArgs = [];
let encoded;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (["-NoLogo", "-NoProfile", "-NonInteractive"].includes(a)) continue;
  if (a === "-NoExit") noExit = true;
  else if (a === "-ExecutionPolicy") i++;
  else if (a === "-EncodedCommand") encoded = Buffer.from(argv[++i], "base64").toString("utf16le");
  else if (a === "-File") {
    file = argv[i + 1];
    fileArgs = argv.slice(i + 2);
    break;
  } else fail(`fake pwsh: unsupported argument ${a}`);
}

function fail(msg) {
  process.stderr.write(`${msg}\n`);
  process.exit(1);
}

const script = file !== undefined ? readFileSync(file, "utf8").replace(/^\uFEFF/, "") : encoded;
if (script === undefined) fail("fake pwsh: nothing to run");

if (script.includes("\n# mc:launch v1\n")) {
  let call;
  try {
    call = evaluateLaunch(script);
  } catch (e) {
    fail(e.message);
  }
  const child = spawn(call.file, call.args, { stdio: "inherit" });
  child.on("error", () =>
    fail(
      `The term '${call.file}' is not recognized as a name of a cmdlet, function, script file, or executable program.`,
    ),
  );
  child.on("exit", (code) => process.exit(code ?? 1));
} else if (script.includes("\n# mc:tab-wrapper v1\n")) {
  const runDir = assigned(script, "mcRunDir");
  const tab = Number(fileArgs[0]);
  if (!Number.isInteger(tab)) fail("fake pwsh: missing tab index");
  const rec = join(runDir, `tab-${tab}.json`);
  const put = (o) => {
    const tmp = `${rec}.tmp.${process.pid}`;
    writeFileSync(tmp, JSON.stringify(o));
    renameSync(tmp, rec);
  };
  const start = Math.floor(Date.now() / 1000);
  put({ v: 1, pid: process.pid, start });
  const command = readFileSync(join(runDir, `tab-${tab}.command.txt`), "utf8");
  process.on("SIGINT", () => {});
  const child = spawn("/bin/sh", ["-c", command], { stdio: "ignore" });
  child.on("exit", (code) => {
    const end = Math.floor(Date.now() / 1000);
    put(
      code === null
        ? { v: 1, pid: process.pid, start, end, signal: "INT" }
        : { v: 1, pid: process.pid, start, end, exit: code },
    );
    if (noExit) setInterval(() => {}, 1 << 30);
    else process.exit(code ?? 1);
  });
} else if (script.startsWith("# mc:processes v1\n")) {
  const rows = treeRows(intArray(script, "mcRoots"), () => true);
  process.stdout.write(`${JSON.stringify(rows)}\n`);
} else if (script.startsWith("# mc:kill v1\n")) {
  const starts = intArray(script, "mcStarts");
  const rows = treeRows(intArray(script, "mcRoots"), (p, i) => p.start <= (starts[i] + 1) * 1000);
  for (const p of rows) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {}
  }
  process.stdout.write(`${JSON.stringify(rows.map((p) => p.pid))}\n`);
} else fail("fake pwsh: not an mc script form");
