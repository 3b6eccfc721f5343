// What the fake Windows machine's PowerShell does with the scripts mc sends it. PowerShell does not run on
// Linux here, so each script form mc generates is recognised by its marker line and done the way the
// script says, on this machine's files and processes; a form it does not know fails loudly (exit 1), so a
// changed script cannot pass unnoticed. Modelled:
// - the stdin stub's preamble (boundary lines) and @mc/remote's operations (`# mc:remote-<op> v1`);
// - @mc/wt's interactive launch (`# mc:interactive-launch v1`) as the Task Scheduler runs it: no desktop
//   session → the script's exit 3; a task whose principal has `-LogonType Interactive` runs in the user's
//   desktop session (1), any other in session 0 (PowerShell/Win32-OpenSSH#998); the action runs detached
//   from the ssh session with its `-Argument` split by CommandLineToArgvW; the task is removed after;
// - @mc/core's Windows scripts that reach a host through `run` (the lock, dirAccess, makeDir).
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import {
  assigned,
  control,
  findApplication,
  logTo,
  posixPath,
  psLiteral,
  readExitCode,
  win32ProcessLines,
  windowsArgv,
} from "./win-lib.mjs";

const b64 = (s) => Buffer.from(s, "utf8").toString("base64");
const out = (s) => process.stdout.write(s);
const err = (s) => process.stderr.write(s);

const PREAMBLE = "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'";
const BOUNDARY =
  /^\[Console\]::Out\.Write\('(MCW[0-9a-f]+)' \+ \[char\]10\); \[Console\]::Error\.Write\('\1' \+ \[char\]10\)$/;

/** Run a script the stdin stub decoded (preamble, then one form mc generates); resolves to its exit code. */
export async function runStdinScript(text) {
  const [first, second, ...rest] = text.split("\n");
  if (first !== PREAMBLE) return fail("fake powershell: a stdin script without mc's preamble");
  const m = BOUNDARY.exec(second ?? "");
  if (!m) return fail("fake powershell: no boundary line");
  out(`${m[1]}\n`);
  err(`${m[1]}\n`);
  return (await runScript(rest.join("\n"))) ?? fail("fake powershell: not a script form it models");
}

function fail(message, code = 1) {
  err(`${message}\n`);
  return code;
}

/** One script mc generates, by its marker; undefined when it is none of them. */
export async function runScript(script) {
  const marker = /^# mc:([\w-]+) v1$/m.exec(script.split("\n")[0] ?? "")?.[1];
  const p = () => posixPath(assigned(script, "mcPath"));
  switch (marker) {
    case "remote-info":
      return info();
    case "remote-run":
      return run(script);
    case "remote-readFile":
      return readFileOp(p());
    case "remote-readDir":
      return readDirOp(p());
    case "remote-writeFile":
      return writeFileOp(p(), posixPath(assigned(script, "mcTmp")), assigned(script, "mcData"));
    case "remote-stat":
      return statOp(p());
    case "remote-remove":
      rmSync(p(), { recursive: true, force: true });
      return 0;
    case "remote-which": {
      const f = findApplication(assigned(script, "mcFile"));
      if (f) out(f);
      return 0;
    }
    case "remote-ps":
      out(`${Date.now()}\n${win32ProcessLines().join("\n")}\n`);
      return 0;
    case "interactive-launch":
      return interactiveLaunch(script);
    default:
      return coreScript(script);
  }
}

/** $HOME, and the state dir as Join-Path builds it (a `\` separator). */
function info() {
  const home = process.env.HOME ?? "";
  const state =
    process.env.MC_STATE_DIR ||
    (process.env.XDG_STATE_HOME ? `${process.env.XDG_STATE_HOME}\\mc` : `${home}\\.local\\state\\mc`);
  out(`${b64(home)}\n${b64(state)}\n`);
  return 0;
}

/** Process.Start with UseShellExecute false: the app Get-Command found, its argv from CommandLineToArgvW. */
function run(script) {
  const file = assigned(script, "mcFile");
  const app = findApplication(file);
  if (!app) return fail("mc-remote: executable not found", 127);
  const commandLine = assigned(script, "mcCommandLine");
  const cwd = assigned(script, "mcCwd");
  const input = assigned(script, "mcInput");
  const env = { ...process.env };
  const SET = "\n$mcInfo.EnvironmentVariables[";
  for (let i = script.indexOf(SET); i >= 0; ) {
    const [k, kEnd] = psLiteral(script, i + SET.length);
    if (script.slice(kEnd, kEnd + 4) !== "] = ") throw new Error("bad environment line");
    const [v, vEnd] = psLiteral(script, kEnd + 4);
    env[k] = v;
    i = script.indexOf(SET, vEnd - 1);
  }
  // CreateProcess takes at most 32,767 characters (ERROR_FILENAME_EXCED_RANGE): Process.Start throws.
  if (commandLine.length + app.length + 3 > 32_767) return fail("The filename or extension is too long.");
  // The program's own C runtime splits its command line (argv[0] is the program itself).
  const args = windowsArgv(`x ${commandLine}`).slice(1);
  return new Promise((resolve) => {
    const child = spawn(app, args, {
      cwd: cwd === "" ? undefined : posixPath(cwd),
      env,
      stdio: [input === "" ? "inherit" : "pipe", "inherit", "inherit"],
    });
    child.on("error", (e) => resolve(fail(`Exception calling "Start": ${e.message}`)));
    child.on("exit", (code, signal) => resolve(readExitCode(child.pid, code ?? (signal ? 1 : 0))));
    if (input !== "") child.stdin.end(Buffer.from(input, "base64"));
  });
}

function readFileOp(path) {
  if (!existsSync(path) || !statSync(path).isFile()) return 3;
  out(readFileSync(path).toString("base64"));
  return 0;
}

function readDirOp(dir) {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return 3;
  for (const name of readdirSync(dir)) {
    try {
      if (!statSync(join(dir, name)).isFile()) continue;
      out(`${b64(name)} ${readFileSync(join(dir, name)).toString("base64")}\n`);
    } catch {}
  }
  return 0;
}

/** WriteAllBytes to the temp file, then File.Replace / File.Move (one rename here). */
function writeFileOp(path, tmp, data) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(tmp, Buffer.from(data, "base64"));
  renameSync(tmp, path);
  return 0;
}

function statOp(path) {
  if (!existsSync(path)) return 0;
  out(statSync(path).isDirectory() ? "dir" : "file");
  return 0;
}

/** The Task Scheduler running @mc/wt's one-shot interactive task (see the header). */
async function interactiveLaunch(script) {
  const user = process.env.USER ?? "user";
  if (control("no-desktop")) {
    return fail(
      `mc: ${user} has no desktop session on this machine: log on there (a locked screen is fine), then start again`,
      3,
    );
  }
  const task = assigned(script, "mcTask");
  // Task Scheduler refuses a user that may not create tasks (0x80070005, E_ACCESSDENIED); -ErrorAction Stop.
  if (control("tasks-denied"))
    return fail("Register-ScheduledTask : Access is denied.\r\nHRESULT 0x80070005");
  const action =
    /^\$mcAction = New-ScheduledTaskAction -Execute ('(?:[^']|'')*') -Argument ('(?:[^']|'')*')$/m.exec(
      script,
    );
  if (!action) return fail("fake powershell: no task action");
  const execute = psLiteral(action[1], 0)[0];
  const argument = psLiteral(action[2], 0)[0];
  const session = /New-ScheduledTaskPrincipal [^\n]*-LogonType Interactive\b/.test(script) ? "1" : "0";
  const seconds = Number(/-ExecutionTimeLimit \(New-TimeSpan -Seconds (\d+)\)/.exec(script)?.[1] ?? 120);
  logTo("tasks", { event: "register", task, execute, argument, session });
  const app = findApplication(execute);
  let code;
  try {
    if (!app)
      code = 0x80070002; // ERROR_FILE_NOT_FOUND as LastTaskResult
    else {
      const child = spawn(app, windowsArgv(`x ${argument}`).slice(1), {
        detached: true,
        stdio: "ignore",
        env: { ...process.env, FAKE_WIN_SESSION: session },
      });
      code = await new Promise((resolve) => {
        const timer = setTimeout(() => resolve(undefined), seconds * 1000);
        child.on("exit", (c) => {
          clearTimeout(timer);
          resolve(readExitCode(child.pid, c ?? 1));
        });
      });
    }
    logTo("tasks", { event: "ran", task, code: code ?? "timeout" });
    if (code === undefined) return fail("mc: the launch did not finish in time", 4);
    return code;
  } finally {
    logTo("tasks", { event: "unregister", task });
  }
}

/** @mc/core's Windows scripts (define-host.ts, lock.ts) that arrive as `powershell -EncodedCommand`. */
function coreScript(script) {
  const lock =
    /^\$ErrorActionPreference = 'Stop'\n\$op = ('(?:[^']|'')*'); \$d = ('(?:[^']|'')*'); \$tok = ('(?:[^']|'')*'); \$lease = (\d+); \$hp = ('(?:[^']|'')*')\n/.exec(
      script,
    );
  if (lock) {
    const v = (s) => psLiteral(s, 0)[0];
    return coreLock(v(lock[1]), posixPath(v(lock[2])), v(lock[3]), Number(lock[4]), v(lock[5]));
  }
  const make =
    /^\$ErrorActionPreference = 'Stop'\n\[void\]\[IO\.Directory\]::CreateDirectory\(('(?:[^']|'')*')\)$/.exec(
      script,
    );
  if (make) {
    mkdirSync(posixPath(psLiteral(make[1], 0)[0]), { recursive: true });
    return 0;
  }
  const access =
    /^\$ErrorActionPreference = 'Stop'\n\$p = ('(?:[^']|'')*'); if \(Test-Path -LiteralPath \$p -PathType Container\) \{ try \{ \[void\]\[IO\.Directory\]::GetFileSystemEntries/.exec(
      script,
    );
  if (access) {
    const p = posixPath(psLiteral(access[1], 0)[0]);
    if (!existsSync(p)) out("missing\n");
    else if (!statSync(p).isDirectory()) out("not-dir\n");
    else {
      try {
        readdirSync(p);
        out("ok\n");
      } catch {
        out("denied\n");
      }
    }
    return 0;
  }
  return undefined;
}

/** lock.ts windowsLockScript: New-Item -ItemType Directory takes it; owner "<until> <hp> <start> <tok>". */
function coreLock(op, d, tok, lease, hp) {
  const f = join(d, "owner");
  const now = Math.floor(Date.now() / 1000);
  const owner = () => (existsSync(f) ? readFileSync(f, "utf8").trim().split(" ") : undefined);
  const mine = () => owner()?.[3] === tok;
  const write = () => writeFileSync(f, `${now + lease} ${hp} - ${tok}`);
  if (op === "release") {
    if (mine()) rmSync(d, { recursive: true, force: true });
    return 0;
  }
  if (op === "renew") {
    if (mine()) write();
    return 0;
  }
  mkdirSync(dirname(d), { recursive: true });
  try {
    mkdirSync(d);
    write();
    out("got\n");
    return 0;
  } catch {
    // Released between New-Item and this look: lock.ts answers "stale released" and tries again.
    if (!existsSync(d)) {
      out("stale released\n");
      return 0;
    }
  }
  const o = owner();
  if (o && now > Number(o[0])) {
    rmSync(d, { recursive: true, force: true });
    out("stale its lease ended\n");
    return 0;
  }
  out(`held ${o?.[0] ?? 0} ${o?.[1] ?? "-"} ${now}\n`);
  return 0;
}
