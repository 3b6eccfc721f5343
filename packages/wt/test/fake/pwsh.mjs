#!/usr/bin/env node
// Fake pwsh for the tests (no PowerShell here). It evaluates ONLY the restricted script forms mc
// generates, recognised by their marker line, and fails on anything else:
// - `-File launch.ps1` (# mc:launch v1): single-quoted literals in `$mcArgs = @( … )`, then
//   `& '<wt>' @mcArgs` runs that program with exactly those arguments (Standard argument passing).
// - `-File wrapper.ps1 <i>` (# mc:tab-wrapper v1): does what the wrapper does — writes the core tab record
//   (temp file + rename), runs the command from tab-<i>.command.txt, writes the end record — except that
//   the command runs with /bin/sh -c instead of PowerShell. With -NoExit it then stays alive like the tab's
//   interactive PowerShell would.
// - `-EncodedCommand` (# mc:kill v2): stops the listed processes whose start time still matches, the way
//   the generated script does with Get-Process / Process.Kill / WaitForExit, and reports only what really
//   stopped. A process started with FAKE_ELEVATED=1 in its environment stands for an elevated one: its
//   StartTime cannot be read and Kill() is denied (Win32Exception "Access is denied"), so it survives.
import { spawn } from "node:child_process";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { alive, assigned, elevated, evaluateLaunch, intArray, processTable } from "./lib.mjs";

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
} else if (script.startsWith("# mc:kill v2\n")) {
  await killTargets(intArray(script, "mcPids"), intArray(script, "mcStarts"));
} else fail("fake pwsh: not an mc script form");

/** The kill script's behaviour on the /proc process table (see the header). */
async function killTargets(pids, starts) {
  const table = processTable();
  const targets = [];
  const survivors = [];
  pids.forEach((pid, i) => {
    const p = table.get(pid);
    if (!p) return;
    if (elevated(pid)) {
      survivors.push(pid);
      return;
    }
    if (starts[i] >= 0 && Math.abs(p.start - starts[i]) > 2000) return;
    targets.push(pid);
  });
  for (const pid of targets) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  const stopped = [];
  for (const pid of targets) {
    const until = Date.now() + 3000;
    while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    (alive(pid) ? survivors : stopped).push(pid);
  }
  process.stdout.write(`${JSON.stringify({ stopped, survivors })}\n`);
}
