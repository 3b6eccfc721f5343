#!/usr/bin/env node
// Fake pwsh / powershell for the tests (no PowerShell here). Version: FAKE_PWSH_VERSION (default 7.4.6).
// Every invocation is logged to FAKE_PWSH_LOG (argv, whether the profile was loaded). What it runs:
// - user text (`-Command`, a plain `-EncodedCommand`, or mc's command stub that reads the command file
//   and appends mc's exit epilogue): through psmodel.mjs, PowerShell's exit-code behaviour included;
// - mc's script forms, recognised by their marker line, doing what the script does with the PowerShell
//   behaviour that decides the outcome modelled (see each handler): launch v2, tab-wrapper v3, kill v3,
//   probe v1, attach v1; the run-a-file stub (`& ([scriptblock]::Create([IO.File]::ReadAllText('…')))`)
//   and the run-stdin stub (base64 of the script on stdin, src/remote.ts);
// - no command at all: the interactive shell kept in a tab. It records its state in FAKE_PWSH_STATE
//   (profile loaded or not, $ErrorActionPreference, the variables and functions it has) and waits.
// - `-NoExit -File x.ps1`: the script runs dot-sourced into the interactive session (ConsoleHost.cs:1975
//   `new Command(filePath, false, false)`, useLocalScope false; about_Pwsh), so the recorded state keeps
//   the script's top-level variables, functions and $ErrorActionPreference.
import { spawn } from "node:child_process";
import {
  appendFileSync,
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import {
  alive,
  assigned,
  elevated,
  exitWith,
  intArray,
  launchFacts,
  processTable,
  psData,
  psLiteral,
  readExitCode,
  version,
  which,
  windowsArgv,
} from "./lib.mjs";
import { profileFunctions, runPowerShell } from "./psmodel.mjs";

const SELF = process.argv[1];
const psVersion = version(process.env.FAKE_PWSH_VERSION ?? "7.4.6");
const argv = process.argv.slice(2);
const o = {
  noExit: false,
  noProfile: false,
  file: undefined,
  fileArgs: [],
  encoded: undefined,
  command: undefined,
};
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === "-NoLogo" || a === "-NonInteractive") continue;
  if (a === "-NoProfile") o.noProfile = true;
  else if (a === "-NoExit") o.noExit = true;
  // The Process-scope policy is kept in $env:PSExecutionPolicyPreference, which children inherit
  // (about_Execution_Policies; SecuritySupport.cs SetExecutionPolicy, Process case).
  else if (a === "-ExecutionPolicy") process.env.PSExecutionPolicyPreference = argv[++i];
  else if (a === "-EncodedCommand") o.encoded = Buffer.from(argv[++i], "base64").toString("utf16le");
  else if (a === "-Command") {
    o.command = argv.slice(i + 1).join(" ");
    break;
  } else if (a === "-File") {
    o.file = argv[i + 1];
    o.fileArgs = argv.slice(i + 2);
    break;
  } else fail(`fake pwsh: unsupported argument ${a}`);
}
if (process.env.FAKE_PWSH_LOG) {
  writeFileSync(
    process.env.FAKE_PWSH_LOG,
    `${JSON.stringify({ pid: process.pid, argv, profile: !o.noProfile })}\n`,
    { flag: "a" },
  );
}

function fail(msg, code = 1) {
  process.stderr.write(`${msg}\n`);
  exitWith(code);
}

let interrupted = false;
const model = () => ({
  profileLoaded: !o.noProfile,
  profileFunctions: profileFunctions(),
  windowsPowerShell: psVersion[0] < 6,
  interrupted: () => interrupted,
});

const STDIN =
  "& ([scriptblock]::Create([System.Text.Encoding]::UTF8.GetString([Convert]::FromBase64String([Console]::In.ReadToEnd().Trim()))))";
const RUN_FILE = /^& \(\[scriptblock\]::Create\(\[System\.IO\.File\]::ReadAllText\(('(?:[^']|'')*')\)\)\)$/;
const STUB =
  /^\. \(\[scriptblock\]::Create\(\[System\.IO\.File\]::ReadAllText\(('(?:[^']|'')*'), \[System\.Text\.Encoding\]::UTF8\) \+ "`n`n" \+ ('(?:[^']|'')*')\)\)$/;

async function main() {
  if (o.file !== undefined) return runScript(readFileSync(o.file, "utf8").replace(/^\uFEFF/, ""), o.fileArgs);
  if (o.encoded !== undefined) {
    const file = RUN_FILE.exec(o.encoded);
    if (file) return runScript(readFileSync(psLiteral(file[1], 0)[0], "utf8").replace(/^\uFEFF/, ""), []);
    const stub = STUB.exec(o.encoded);
    if (stub) {
      const text = `${readFileSync(psLiteral(stub[1], 0)[0], "utf8")}\n\n${psLiteral(stub[2], 0)[0]}`;
      process.on("SIGINT", () => (interrupted = true));
      return exitWith(await runPowerShell(text, model()));
    }
    if (o.encoded === STDIN) {
      const script = Buffer.from(readFileSync(0, "utf8").trim(), "base64").toString("utf8");
      return script.startsWith("# mc:")
        ? runScript(script, [])
        : exitWith(await runPowerShell(script, model()));
    }
    if (o.encoded.startsWith("# mc:")) return runScript(o.encoded, []);
    return exitWith(await runPowerShell(o.encoded, model()));
  }
  if (o.command !== undefined) return exitWith(await runPowerShell(o.command, model()));
  return interactive({});
}

/** The execution policy this process inherited from its parent's Process scope, if any. */
const policy = () =>
  process.env.PSExecutionPolicyPreference === undefined
    ? {}
    : { executionPolicy: process.env.PSExecutionPolicyPreference };

/** The interactive shell kept in a tab: records what it has, survives Ctrl+C at its prompt, waits. */
function interactive(dotSourced) {
  const dir = process.env.FAKE_PWSH_STATE;
  if (dir) {
    const s = {
      shell: "powershell",
      profile: !o.noProfile,
      eap: "Continue",
      variables: [],
      functions: [],
      ...policy(),
      ...dotSourced,
    };
    writeFileSync(join(dir, `shell-${process.pid}.json`), JSON.stringify(s));
  }
  process.on("SIGINT", () => {});
  setInterval(() => {}, 1 << 30);
}

/** What a script leaves in the session when dot-sourced: its top-level variables, functions and EAP. */
function dotSourcedState(script) {
  const top = script.split(/\r?\n/).filter((l) => /^\S/.test(l));
  const eap = top
    .map((l) => /^\$ErrorActionPreference = '(\w+)'/.exec(l)?.[1])
    .filter(Boolean)
    .at(-1);
  return {
    eap: eap ?? "Continue",
    variables: [...new Set(top.flatMap((l) => /^\$(\w+) = /.exec(l)?.[1] ?? []))].filter(
      (v) => v !== "ErrorActionPreference",
    ),
    functions: top.flatMap((l) => /^function ([\w-]+)/.exec(l)?.[1] ?? []),
  };
}

async function runScript(script, args) {
  let code;
  if (script.includes("# mc:launch v2\n")) code = await launch(script);
  else if (script.includes("# mc:tab-wrapper v3\n")) code = await wrapper(script, Number(args[0]));
  else if (script.startsWith("# mc:kill v3\n")) code = await kill(script);
  else if (script.startsWith("# mc:probe v1\n")) code = probe(script);
  else if (script.includes("# mc:attach v1\n")) code = await attach(script, args[0]);
  else return fail("fake pwsh: not an mc script form");
  if (o.noExit) return interactive(dotSourcedState(script));
  exitWith(code);
}

/**
 * Where CreateProcess finds a program Process.Start names: .NET passes no application name, only the
 * command line (Process.Windows.cs), so a name without a directory is searched in the directory of the
 * starting program's image, then the current directory, then (System32, Windows, modelled as absent) PATH
 * (CreateProcessW, lpCommandLine).
 */
function createProcessSearch(program, env) {
  if (/[\\/]/.test(program)) return existsSync(program) ? program : undefined;
  for (const d of [dirname(SELF), process.cwd()]) if (existsSync(join(d, program))) return join(d, program);
  return which(program, env);
}

/** Run a program the way `Process.Start` with `Arguments` does: one CreateProcess command line. */
function startProgram(program, commandLine, extra = {}) {
  const line = `"${program}" ${commandLine}`;
  // CreateProcess refuses a command line over 32,767 characters (error 206): Process.Start throws.
  if (line.length > 32_767) throw new Error("The filename or extension is too long.");
  // A program that does not resolve (UseShellExecute false): Process.Start throws Win32Exception.
  const found = createProcessSearch(program, extra.env);
  if (!found)
    throw new Error("An error occurred trying to start process: The system cannot find the file specified.");
  return spawn(found, windowsArgv(line).slice(1), extra);
}
const exited = (child) =>
  new Promise((res) =>
    child.on("exit", (c, s) => res(readExitCode(child.pid, c ?? (s === "SIGINT" ? -1073741510 : -1)))),
  );

/** launch v2: Get-Command resolves wt (CommandNotFoundException if absent), Process.Start, exit code. */
async function launch(script) {
  const { name, commandLine } = launchFacts(script);
  const wt = which(name);
  if (!wt)
    return fail(
      `The term '${name}' is not recognized as a name of a cmdlet, function, script file, or executable program.`,
    );
  return exited(startProgram(wt, commandLine, { stdio: "inherit" }));
}

/** probe v1: versions from FAKE_PWSH_VERSION / FAKE_WT_VERSION / FAKE_WINDOWS_VERSION, wt from PATH. */
function probe(script) {
  const name = psLiteral(script, script.indexOf("Get-Command -Name ") + "Get-Command -Name ".length)[0];
  const wtPath = which(name) ?? null;
  const out = {
    powershell: psVersion.join("."),
    windows: process.env.FAKE_WINDOWS_VERSION ?? "10.0.22631.0",
    wtPath,
    wt: wtPath ? (process.env.FAKE_WT_VERSION ?? "1.25.1912.0") : null,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  return 0;
}

/** The same process (pid and start time within 2 s, as the script compares) that is alive. */
function targets(pids, starts, survivors) {
  const table = processTable();
  return pids.flatMap((pid, i) => {
    const p = table.get(pid);
    if (!p) return [];
    // An elevated process: StartTime throws "Access is denied" for a non-elevated caller.
    if (elevated(pid)) {
      survivors.push(pid);
      return [];
    }
    return starts[i] < 0 || Math.abs(p.start - starts[i]) <= 2000 ? [pid] : [];
  });
}
const waitGone = async (pids, ms) => {
  const until = Date.now() + ms;
  while (pids.some(alive) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
};

/** kill v3: stop the others, let the wrappers leave (5 s), stop those that did not, report. */
async function kill(script) {
  const survivors = [];
  const wrappers = targets(intArray(script, "mcWrapperPids"), intArray(script, "mcWrapperStarts"), survivors);
  const others = targets(intArray(script, "mcOtherPids"), intArray(script, "mcOtherStarts"), survivors);
  for (const pid of others) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  await waitGone(wrappers, 5000);
  for (const pid of wrappers.filter(alive)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  await waitGone([...wrappers, ...others], 3000);
  const all = [...wrappers, ...others];
  const report = { stopped: all.filter((p) => !alive(p)), survivors: [...survivors, ...all.filter(alive)] };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  return 0;
}

/** attach v1: bring the window forward only while a recorded wrapper lives. */
async function attach(script, window) {
  if (window !== assigned(script, "mcWindow")) return fail("mc: this attach script is for another window", 2);
  const runDir = assigned(script, "mcRunDir");
  const tabs = Number(/for \(\$i = 0; \$i -lt (\d+);/.exec(script)[1]);
  const table = processTable();
  let live = false;
  for (let i = 0; i < tabs; i++) {
    const f = join(runDir, `tab-${i}.json`);
    if (!existsSync(f)) continue;
    const r = JSON.parse(readFileSync(f, "utf8"));
    const p = table.get(r.pid);
    if (p && p.start <= (r.start + 2) * 1000 + 999) live = true;
  }
  if (!live) {
    const msg = /\[Console\]::Error\.WriteLine\(('(?:[^']|'')*')\)\n {2}exit 1/.exec(script);
    return fail(msg ? psLiteral(msg[1], 0)[0] : "gone");
  }
  const name = psLiteral(script, script.indexOf("(Get-Command -Name ") + "(Get-Command -Name ".length)[0];
  const args = /\$mcInfo\.Arguments = ('(?:[^']|'')*')/.exec(script);
  return exited(startProgram(which(name), psLiteral(args[1], 0)[0], { stdio: "inherit" }));
}

/**
 * Whether this tab's console had a Ctrl+C (the test's `ctrlC` notes it before the SIGINT). Node can run a
 * child's exit before its own SIGINT handler (each signal lands on whichever thread takes it), and then
 * the wrapper would record an end it does not get to record on Windows (seen once in a CI run): the
 * model asks the console, not the order of two signals.
 */
const consoleHadCtrlC = () =>
  interrupted ||
  (process.env.FAKE_WT_STATE !== undefined &&
    existsSync(join(process.env.FAKE_WT_STATE, "ctrl-c", String(process.pid))));

/**
 * tab-wrapper v3: what the wrapper does, with the PowerShell and .NET behaviour that decides its outcome:
 * - the end record replaces the start record the way the script does it: `[System.IO.File]::Replace`
 *   swaps the name atomically (ReplaceFileW); `Move-Item -Force` onto an existing file deletes it, then
 *   moves (FileSystemProvider.cs:6020 `destfile.Delete(); file.MoveTo(destination)`): a reader can find
 *   no record in between (modelled with a 30 ms gap);
 * - Ctrl+C (SIGINT to the tab's process group) reaches the wrapper and the command; the wrapper waits in a
 *   .NET call, so its script stops only after the command ended, then runs its `finally` (and, unless the
 *   script has its own handling, records nothing else). A `finally` that calls cmdlets or functions does
 *   not get to run them after Ctrl+C (PowerShell#21552, #23786): modelled by skipping the end record;
 * - each attempt's child is `Process.Start` of the tab's program (its `program`, else the same
 *   PowerShell, or %ComSpec% for cmd) with the script's arguments and the tab's `env` pairs over this
 *   process's environment (ProcessStartInfo.EnvironmentVariables); its exit code is read exactly. A
 *   failing one runs again up to `retry` more times, `backoffMs` apart, unless it was Ctrl+C or a kill;
 * - events are appended with `File.AppendAllText`, which opens the file FileMode.Append,
 *   FileAccess.Write, FileShare.Read (File.cs `AppendAllText` → StreamWriter.cs `ValidateArgsAndOpenPath`):
 *   while anyone else has it open (another tab appending, mc reading it with `ReadAllText`, FileShare.Read),
 *   the open fails with a sharing violation. Modelled by `<events>.open`: the script's own loop retries
 *   (as many times as it says); without one, the line is lost.
 */
async function wrapper(script, tab) {
  const runDir = assigned(script, "mcRunDir");
  const t = psData(script, "mcTabs")[tab];
  if (!t) return fail(`mc: no tab ${tab} in this wrapper`, 2);
  const keep = /^\$mcKeepShell = \$true$/m.test(script) || t.keep === 1;
  const fin = /\} finally \{\n([\s\S]*?)\n\}\n/.exec(script)?.[1] ?? "";
  const atomic = /\[System\.IO\.File\]::Replace\(/.test(fin) && !/Move-Item/.test(fin);
  const finallyCallsCommands = fin
    .split("\n")
    .some((l) => /^\s*(?:[A-Z][a-z]+-[A-Z]\w+|Write-Mc\w+)\b/.test(l));
  const appendTries = Number(
    /for \(\$mcW = 0; \$mcW -lt (\d+); \$mcW\+\+\) \{ try \{ \[System\.IO\.File\]::AppendAllText\(/.exec(
      script,
    )?.[1] ?? 1,
  );
  const rec = join(runDir, `tab-${tab}.json`);
  const killFile = join(runDir, `tab-${tab}.kill`);
  const eventsFile = join(runDir, "events.ndjson");
  const tmp = `${rec}.tmp.${process.pid}`;
  // ProcessStartInfo.EnvironmentVariables: this process's environment, less what the script removes
  // from the command's (`$mcInfo`) or the kept shell's (`$mcKept`), then the tab's pairs.
  const envFor = (psi) => {
    const e = { ...process.env };
    const removed = new RegExp(`\\$${psi}\\.EnvironmentVariables\\.Remove\\('(\\w+)'\\)`, "g");
    for (const [, name] of script.matchAll(removed)) delete e[name];
    for (let k = 0; k + 1 < t.env.length; k += 2) e[t.env[k]] = t.env[k + 1];
    return e;
  };
  const env = envFor("mcInfo");
  const keptEnv = envFor("mcKept");
  let program = t.program || (t.shell === "cmd" ? process.env.ComSpec : SELF);
  // A bare name the script resolves with `Get-Command -CommandType Application` before starting it: PATH
  // only (CommandDiscovery.cs GetLookupDirectoryPaths), with this process's PATH; not found: it throws.
  const lookedUp = /Get-Command -CommandType Application -Name \$mcT\.program\b/.test(script);
  const bare = t.program && !/[\\/]/.test(t.program);
  const lookUp = () => {
    if (!lookedUp || !bare || program !== t.program) return;
    const found = which(t.program);
    if (!found) throw new Error(`no program "${t.program}" on PATH`);
    program = found;
  };
  const now = () => String(Date.now() / 1000);
  const field = JSON.parse(`{${t.event}}`);
  const event = async (type, time, extra) => {
    const line = `${JSON.stringify({ type, t: Number(time), ...field, ...extra })}\n`;
    for (let k = 0; k < appendTries; k++) {
      try {
        const fd = openSync(`${eventsFile}.open`, "wx");
        try {
          appendFileSync(eventsFile, line);
        } finally {
          closeSync(fd);
          unlinkSync(`${eventsFile}.open`);
        }
        return;
      } catch (e) {
        if (e.code !== "EEXIST") throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  if (existsSync(rec))
    return fail("mc: this tab belongs to an earlier start; its command is not run again", 2);
  const start = now();
  let attempt = 1;
  const head = { v: 1, pid: process.pid, start: Number(start) };
  writeFileSync(tmp, JSON.stringify({ ...head, attempt }));
  renameSync(tmp, rec);
  process.on("SIGINT", () => (interrupted = true));
  let code = 1;
  let signal = "";
  let reason;
  let done = false;
  if (existsSync(killFile)) {
    signal = "KILL";
    done = true;
  } else {
    try {
      await event("tab-started", start, { attempt });
      lookUp();
      for (let n = 1; ; n++) {
        // A Ctrl+C before the command started stops the script there (PowerShell ends the pipeline it
        // interrupts): no command is started after it. The fake started it anyway, so the command never
        // got the Ctrl+C and ran its 30 s (a CI run under load: the test's Ctrl+C came between the start
        // record and the command's start).
        if (consoleHadCtrlC()) {
          interrupted = true;
          break;
        }
        const child =
          t.shell === "cmd"
            ? startProgram(program, "", {
                stdio: "ignore",
                env: { ...env, FAKE_CMDLINE: `/s /c "${readFileSync(t.file, "utf8")}"` },
              })
            : startProgram(program, `-NoLogo -EncodedCommand ${t.stub}`, { stdio: "ignore", env });
        code = await exited(child);
        if (consoleHadCtrlC()) interrupted = true;
        if (interrupted || code === 0 || n > t.retry || code === -1073741510 || existsSync(killFile)) break;
        attempt++;
        await event("tab-retried", now(), { attempt, exitCode: code });
        const until = Date.now() + t.backoffMs;
        while (Date.now() < until && !existsSync(killFile) && !interrupted)
          await new Promise((r) => setTimeout(r, 50));
        if (existsSync(killFile) || interrupted) break;
      }
      done = !interrupted;
    } catch (e) {
      process.stderr.write(`mc: the command could not be started: ${e.message}\n`);
      reason = "the command could not be started";
      done = true;
    }
  }
  if (!done || code === -1073741510) signal = "INT";
  if (existsSync(killFile)) signal = "KILL";
  if (!(interrupted && finallyCallsCommands)) {
    const end = now();
    const last = { ...head, end: Number(end), attempt, ...(signal ? { signal } : { exit: code }) };
    writeFileSync(tmp, JSON.stringify(last));
    if (!atomic) {
      unlinkSync(rec);
      await new Promise((r) => setTimeout(r, 30));
    }
    renameSync(tmp, rec);
    if (signal) await event("tab-killed", end, { signal: `SIG${signal}` });
    else await event("tab-exited", end, { exitCode: code, ...(reason ? { reason } : {}) });
  }
  if (existsSync(killFile)) return 0;
  if (interrupted) return 1;
  if (keep) {
    // The script keeps no shell whose name it could not resolve.
    if (lookedUp && bare && program === t.program) return 1;
    const shell =
      t.shell === "cmd"
        ? startProgram(program, "", { stdio: "ignore", env: { ...keptEnv, FAKE_CMDLINE: "" } })
        : startProgram(program, "-NoLogo", { stdio: "ignore", env: keptEnv });
    await exited(shell);
    return 0;
  }
  // The script's last statement: `exit 0` (the code is in the record) or the command's code.
  return /\nexit 0\n$/.test(script) ? 0 : code;
}

await main();
