#!/usr/bin/env node
// The fake Windows machine's OpenSSH default shell, run by the private sshd as its ForceCommand with the
// client's line in SSH_ORIGINAL_COMMAND. FAKE_WIN_SHELL says which (PowerShell/openssh-portable a915f06c,
// contrib/win32/win32compat):
// - `cmd`: no DefaultShell in the registry → `%SystemRoot%\System32\cmd.exe` (pwd.c:95-99), run as
//   `"cmd.exe" /c "<line>"` (w32-doexec.c:384-387, 462-464). A line over 8,191 characters is refused with
//   "The command line is too long." (Microsoft Learn, "Command prompt line string limitation"); `echo`
//   expands %VAR%; a program runs with the line as its command line (its C runtime splits it), stdin and
//   exit code passed through; an unknown one is "not recognized as an internal or external command"
//   (errorlevel 9009). cmd's operators (& | < > ^ %) are not modelled: a line with them fails loudly.
// - `powershell` (Windows PowerShell 5.1) / `pwsh` (7.4): `[shell, "-c", line]` (w32-doexec.c:434-441).
//   The user's profile runs first (no -NoProfile; its output: FAKE_WIN_CONTROL/profile-output); the line is
//   PowerShell: mc's stdin stub runs in this shell (it reads [Console]::In, which the host leaves alone when
//   the command does not use $input: ConsoleHost.cs:2073); `echo` expands `$(…)` in a bare word; a native
//   program's exit code survives only through `exit $LASTEXITCODE`, else the host exits 0 or 1 from `$?`
//   (ConsoleHost.cs:1611-1628, PowerShell#13501); an unknown command is CommandNotFoundException with
//   each version's message (DiscoveryExceptions.resx).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { controlText, exitWith, findApplication, logTo, readExitCode, windowsArgv } from "./win-lib.mjs";
import { runStdinScript } from "./win-ps-model.mjs";

const shell = process.env.FAKE_WIN_SHELL ?? "cmd";
const line = process.env.SSH_ORIGINAL_COMMAND;
const env = {
  ...process.env,
  PATH: `${process.env.FAKE_WIN_BIN}:${process.env.PATH}`,
  COMSPEC: "C:\\Windows\\system32\\cmd.exe",
  FAKE_WIN_SESSION: "0",
};
delete env.SSH_ORIGINAL_COMMAND;
process.env = env;
const STDIN_STUB =
  "& ([scriptblock]::Create([System.Text.Encoding]::UTF8.GetString([Convert]::FromBase64String([Console]::In.ReadToEnd().Trim()))))";
const PS_VERSION = shell === "pwsh" ? "7.4.6" : "5.1.22621.4391";

function native(argv) {
  const app = findApplication(argv[0] ?? "");
  if (!app) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const child = spawn(app, argv.slice(1), { stdio: "inherit" });
    child.on("error", () => resolve(1));
    child.on("exit", (code, signal) => resolve(readExitCode(child.pid, code ?? (signal ? 1 : 0))));
  });
}

async function cmd() {
  if (line.length > 8191) {
    process.stderr.write("The command line is too long.\r\n");
    return 1;
  }
  if (/^echo /i.test(line)) {
    const lower = new Map(Object.entries(env).map(([k, v]) => [k.toLowerCase(), v]));
    process.stdout.write(
      `${line.slice(5).replace(/%([^%]+)%/g, (m, n) => lower.get(n.toLowerCase()) ?? m)}\r\n`,
    );
    return 0;
  }
  if (/[&|<>^%]/.test(line)) {
    process.stderr.write("fake cmd: cmd.exe operators are not modelled\n");
    return 2;
  }
  const argv = windowsArgv(line);
  const code = await native(argv);
  if (code !== undefined) return code;
  process.stderr.write(
    `'${argv[0]}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n`,
  );
  return 9009;
}

async function powershell() {
  const profile = controlText("profile-output");
  if (profile !== undefined) process.stdout.write(`${profile}\r\n`);
  if (line === STDIN_STUB) {
    const text = Buffer.from(readFileSync(0, "utf8").trim(), "base64").toString("utf8");
    return runStdinScript(text);
  }
  if (/^echo /i.test(line)) {
    process.stdout.write(`${line.slice(5).replaceAll("$($PSVersionTable.PSVersion)", PS_VERSION)}\r\n`);
    return 0;
  }
  const m = /^([^;'"$`(){}]+?)(; exit \$LASTEXITCODE)?$/.exec(line);
  if (!m) {
    process.stderr.write("fake powershell: this PowerShell line is not modelled\n");
    return 1;
  }
  const argv = m[1].trim().split(/\s+/);
  const code = await native(argv);
  if (code === undefined) {
    const what =
      shell === "pwsh"
        ? `${argv[0]}: The term '${argv[0]}' is not recognized as a name of a cmdlet, function, script file, or executable program.`
        : `The term '${argv[0]}' is not recognized as the name of a cmdlet, function, script file, or operable program.`;
    process.stderr.write(
      `${what}\r\nCheck the spelling of the name, or if a path was included, verify that the path is correct and try again.\r\n`,
    );
    return 1;
  }
  return m[2] ? code : code === 0 ? 0 : 1;
}

if (line === undefined) {
  process.stderr.write("fake Windows shell: interactive sessions are not modelled\n");
  exitWith(1);
}
logTo("lines", { shell, length: line.length, line: line.slice(0, 200) });
exitWith(shell === "cmd" ? await cmd() : await powershell());
