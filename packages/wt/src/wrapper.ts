import { psQuote } from "@mc/core";
import { BOM, MARKERS, psComment } from "./generate.js";

/**
 * The per-session tab wrapper (`<pwsh> -NoLogo -NoProfile -ExecutionPolicy Bypass -File wrapper.ps1 <i>`)
 * and the command stub it starts. What each part answers in PowerShell/PowerShell#13501 and friends:
 *
 * - The wrapper is mc's own script: no profile, `-File` without `-NoExit`, so nothing of it is
 *   dot-sourced into an interactive session (ConsoleHost.cs runs a `-File` script with useLocalScope
 *   false, about_Pwsh). The shell kept in the tab is a NEW process started after the command: the user's
 *   PowerShell (or cmd) with the user's profile and nothing of mc's.
 * - The command runs in a child process started by `Process.Start` (not PowerShell's native-command
 *   binder), whose exit code is read exactly from `Process.ExitCode`.
 * - PowerShell commands: the child is `<same PowerShell> -NoLogo -EncodedCommand <stub>`, profile loaded.
 *   The stub reads the command file (its length does not depend on the command: CreateProcess' 32,767
 *   characters are never at stake) and runs `command + epilogue` as ONE script block, so the epilogue's
 *   `$?` is the command's last statement: success → 0, a failed native program → its `$LASTEXITCODE`,
 *   any other failure → 1. Without it, `-Command` exits with `$global:?` as 0/1 (ConsoleHost.cs
 *   DoRunspaceLoop; PowerShell#13501), so `python -c "import sys; sys.exit(3)"` would read 1.
 * - cmd commands (machineconfig's `"C:\…\node.exe" x.js`, `%VAR%`): `%ComSpec% /s /c "<line>"`, the line
 *   exactly as written (`/s` strips only the outer quotes; cmd /?).
 * - The end record replaces the start record atomically (`File.Replace`, ReplaceFileW), never by
 *   `Move-Item -Force` (FileSystemProvider.cs: delete, then move: the record is missing in between).
 * - The end record is written with .NET calls and operators only (no cmdlet, no function): after Ctrl+C,
 *   commands in a `finally` may not run (PowerShell#21552, #23786). If even that fails, the wrapper
 *   process is gone without an end record, which core reads as `missing` (a wrapper is never alive
 *   without its command: nothing of it runs after the end record but the kept shell).
 * - A record already present means Windows Terminal is re-running an old tab (a restored window layout,
 *   a reopened tab): the command is never run twice.
 * - `tab-<i>.kill` (written by mc's kill): the wrapper records `KILL` and exits 0, so Windows Terminal
 *   closes the tab (closeOnExit: exit code 0 → Closed, ConptyConnection.cpp:548) instead of leaving a
 *   dead tab in the window.
 */

/** Which shell interprets a tab's `command` on Windows. */
export type CommandShell = "powershell" | "cmd";

/** The commands mc refuses for cmd: one line only, and cmd's 8,191-character limit (KB830473) with room for `/s /c "…"`. */
export const MAX_CMD_COMMAND = 8_000;

/** Name of tab `index`'s command file inside the run directory. */
export function commandFileName(index: number): string {
  return `tab-${index}.command.txt`;
}

/**
 * The epilogue appended to every PowerShell command (inside the same script block, so `$?` is the
 * command's last statement).
 */
export const EXIT_EPILOGUE =
  "if ($?) { exit 0 } elseif ($LASTEXITCODE) { exit $LASTEXITCODE } else { exit 1 }";

/** The script a PowerShell command child runs (`-EncodedCommand`): read the command file, run it, exit with its real status. */
export function commandStub(commandFile: string): string {
  return `. ([scriptblock]::Create([System.IO.File]::ReadAllText(${psQuote(commandFile)}, [System.Text.Encoding]::UTF8) + "\`n\`n" + ${psQuote(EXIT_EPILOGUE)}))`;
}

/** base64 of UTF-16LE, as `-EncodedCommand` takes it. */
export function encodeCommand(script: string): string {
  return Buffer.from(script, "utf16le").toString("base64");
}

/** Input of {@link wrapperScript}. */
export interface WrapperInput {
  window: string;
  /** Directory of the records and the command files (as the Windows host spells it). */
  runDir: string;
  /** The command files of the tabs, in order. */
  commandFiles: readonly string[];
  keepShell: boolean;
  shell: CommandShell;
}

const bool = (b: boolean) => (b ? "$true" : "$false");

/** The wrapper's fixed part, after its settings (see the module comment). */
const WRAPPER_BODY = `$mcRecord = [System.IO.Path]::Combine($mcRunDir, ('tab-{0}.json' -f $McTab))
$mcKill = [System.IO.Path]::Combine($mcRunDir, ('tab-{0}.kill' -f $McTab))
$mcTmp = '{0}.tmp.{1}' -f $mcRecord, $PID
$mcShell = (Get-Process -Id $PID).Path
if ([System.IO.File]::Exists($mcRecord)) {
  [Console]::Error.WriteLine('mc: this tab belongs to an earlier start; its command is not run again')
  exit 2
}
$mcHead = '{{"v":1,"pid":{0},"start":{1}' -f $PID, [DateTimeOffset]::UtcNow.ToUnixTimeSeconds()
[System.IO.File]::WriteAllText($mcTmp, $mcHead + '}')
[System.IO.File]::Move($mcTmp, $mcRecord)
$mcCode = 1
$mcSignal = ''
$mcDone = $false
$mcChild = $null
try {
  if ([System.IO.File]::Exists($mcKill)) {
    $mcSignal = 'KILL'
  } else {
    $mcInfo = New-Object System.Diagnostics.ProcessStartInfo
    $mcInfo.UseShellExecute = $false
    if ($mcShellKind -eq 'cmd') {
      $mcInfo.FileName = $env:ComSpec
      $mcInfo.Arguments = '/s /c "' + [System.IO.File]::ReadAllText($mcCommandFiles[$McTab], [System.Text.Encoding]::UTF8) + '"'
    } else {
      $mcInfo.FileName = $mcShell
      $mcInfo.Arguments = '-NoLogo -EncodedCommand ' + $mcStubs[$McTab]
    }
    $mcChild = [System.Diagnostics.Process]::Start($mcInfo)
    $mcChild.WaitForExit()
    $mcCode = $mcChild.ExitCode
  }
  $mcDone = $true
} catch {
  $mcDone = $true
  [Console]::Error.WriteLine('mc: the command could not be started: ' + $_.Exception.Message)
} finally {
  # .NET calls and operators only: PowerShell may skip commands in a finally after Ctrl+C (PowerShell#21552).
  if ($null -ne $mcChild -and $mcChild.HasExited) { $mcCode = $mcChild.ExitCode }
  # Interrupted: Ctrl+C stopped this script while it waited. 0xC000013A: STATUS_CONTROL_C_EXIT.
  if ((-not $mcDone) -or $mcCode -eq -1073741510) { $mcSignal = 'INT' }
  if ([System.IO.File]::Exists($mcKill)) { $mcSignal = 'KILL' }
  if ($mcSignal) { $mcTail = '"signal":"' + $mcSignal + '"' } else { $mcTail = '"exit":' + $mcCode }
  [System.IO.File]::WriteAllText($mcTmp, $mcHead + ',"end":' + [DateTimeOffset]::UtcNow.ToUnixTimeSeconds() + ',' + $mcTail + '}')
  for ($mcTry = 0; $mcTry -lt 100; $mcTry++) {
    # ReplaceFileW swaps the name atomically; a reader holding the file open without FILE_SHARE_DELETE makes it fail: retry.
    try { [System.IO.File]::Replace($mcTmp, $mcRecord, [NullString]::Value); break } catch { [System.Threading.Thread]::Sleep(20) }
  }
}
if ([System.IO.File]::Exists($mcKill)) { exit 0 }
if ($mcKeepShell) {
  $mcKept = New-Object System.Diagnostics.ProcessStartInfo
  $mcKept.UseShellExecute = $false
  if ($mcShellKind -eq 'cmd') { $mcKept.FileName = $env:ComSpec } else { $mcKept.FileName = $mcShell; $mcKept.Arguments = '-NoLogo' }
  $ErrorActionPreference = 'Continue'
  try { [System.Diagnostics.Process]::Start($mcKept).WaitForExit() } catch { }
  exit 0
}
exit $mcCode
`;

/** The wrapper each tab runs; see the module comment. */
export function wrapperScript(w: WrapperInput): string {
  const stubs = w.commandFiles.map((f) => `  ${psQuote(encodeCommand(commandStub(f)))}`).join(",\n");
  const files = w.commandFiles.map((f) => `  ${psQuote(f)}`).join(",\n");
  return `${BOM}# mc tab wrapper for Windows Terminal window ${psComment(JSON.stringify(w.window))}
# Generated by mc. Each tab runs: <PowerShell> -NoLogo -NoProfile -ExecutionPolicy Bypass -File <this file> <tab index>
${MARKERS.wrapper}
param([Parameter(Mandatory = $true)][int]$McTab)
$ErrorActionPreference = 'Stop'
$mcRunDir = ${psQuote(w.runDir)}
$mcKeepShell = ${bool(w.keepShell)}
$mcShellKind = ${psQuote(w.shell)}
$mcCommandFiles = @(
${files}
)
$mcStubs = @(
${stubs}
)
${WRAPPER_BODY}`;
}
