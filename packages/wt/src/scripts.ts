import { psEncodedArgs, psQuote } from "@mc/core";
import { BOM, MARKERS, psComment, windowsCommandLine, wtEscapeDelimiters } from "./generate.js";

/**
 * Pure generators for the PowerShell mc runs besides the launch and the wrapper: the version probe, the
 * kill, the attach guard, and the short stub that runs a script file. Process trees are not here: they
 * come from the Host (`@mc/core` process-table.ts on Windows).
 */

/**
 * Arguments that make PowerShell run the script file at `path` without a profile. The file is read and
 * run as a script block, so the command line is short whatever the script holds (Windows OpenSSH's
 * cmd.exe refuses lines over 8,191 characters) and Windows PowerShell 5.1 never reads the path as a
 * wildcard, as its `-File` does (PowerShell/PowerShell#4726).
 */
export function scriptFileArgs(path: string): string[] {
  return psEncodedArgs(`& ([scriptblock]::Create([System.IO.File]::ReadAllText(${psQuote(path)})))`);
}

/**
 * The probe `checkAvailable` runs once: PowerShell's version, Windows' version, where `wt` resolves and
 * Windows Terminal's version, as JSON (parsed by `parseProbe`). An App Execution Alias (the usual
 * `wt.exe` under WindowsApps) is an empty reparse point without version resources, so the version then
 * comes from the user's package repository in the registry (`Microsoft.WindowsTerminal_<version>_…`).
 */
export function probeScript(wt: string): string {
  return `${MARKERS.probe}
$ErrorActionPreference = 'Stop'
$r = [ordered]@{ powershell = [string]$PSVersionTable.PSVersion; windows = [string][Environment]::OSVersion.Version; wtPath = $null; wt = $null }
$c = Get-Command -Name ${psQuote(wt)} -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
if ($c) {
  $r.wtPath = $c.Path
  try { $r.wt = [System.Diagnostics.FileVersionInfo]::GetVersionInfo($c.Path).ProductVersion } catch { }
  if (-not $r.wt) {
    $k = 'HKCU:\\Software\\Classes\\Local Settings\\Software\\Microsoft\\Windows\\CurrentVersion\\AppModel\\Repository\\Packages'
    $n = @(Get-ChildItem -LiteralPath $k -Name -ErrorAction SilentlyContinue | Where-Object { $_ -like 'Microsoft.WindowsTerminal_*' } | ForEach-Object { ($_ -split '_')[1] } | Sort-Object { [version]$_ } -Descending)
    if ($n.Count -gt 0) { $r.wt = $n[0] }
  }
}
ConvertTo-Json -InputObject $r -Compress
`;
}

function intList(xs: readonly number[]): string {
  for (const x of xs) if (!Number.isSafeInteger(x) || x < -1) throw new Error(`not a pid/time: ${x}`);
  return `@(${xs.join(", ")})`;
}

/** A process to stop: its pid and its start time (epoch ms) in the process table, or -1 when unknown. */
export interface KillTarget {
  pid: number;
  startedAt: number;
}

/**
 * The kill of one session, after mc wrote every tab's `tab-<i>.kill` file: stop the processes under
 * the wrappers (the command or the kept shell); each wrapper then records KILL and exits 0, so Windows
 * Terminal closes its tab. A wrapper still running after 5 s is stopped too. A pid counts only while its
 * process started when the table said (a reused pid is another process). Prints which processes really
 * stopped and which survived (an elevated one: its StartTime cannot be read and Kill() is denied).
 */
export function killScript(wrappers: readonly KillTarget[], others: readonly KillTarget[]): string {
  return `${MARKERS.kill}
$ErrorActionPreference = 'Stop'
$mcWrapperPids = ${intList(wrappers.map((t) => t.pid))}
$mcWrapperStarts = ${intList(wrappers.map((t) => t.startedAt))}
$mcOtherPids = ${intList(others.map((t) => t.pid))}
$mcOtherStarts = ${intList(others.map((t) => t.startedAt))}
$mcStopped = [System.Collections.Generic.List[int]]::new()
$mcSurvivors = [System.Collections.Generic.List[int]]::new()
function Get-McTargets($Pids, $Starts) {
  for ($i = 0; $i -lt $Pids.Count; $i++) {
    $p = Get-Process -Id $Pids[$i] -ErrorAction SilentlyContinue
    if ($null -eq $p) { continue }
    $s = $null
    try { $s = ([DateTimeOffset]$p.StartTime).ToUnixTimeMilliseconds() } catch { }
    if ($null -eq $s) { $mcSurvivors.Add($p.Id); continue }
    if ([long]$Starts[$i] -lt 0 -or [Math]::Abs($s - [long]$Starts[$i]) -le 2000) { $p }
  }
}
function Wait-McExit($Processes, [int]$Ms) {
  $until = [DateTime]::UtcNow.AddMilliseconds($Ms)
  foreach ($p in $Processes) {
    $left = [int][Math]::Max(0, ($until - [DateTime]::UtcNow).TotalMilliseconds)
    try { [void]$p.WaitForExit($left) } catch { }
  }
}
$mcWrappers = @(Get-McTargets $mcWrapperPids $mcWrapperStarts)
$mcOthers = @(Get-McTargets $mcOtherPids $mcOtherStarts)
foreach ($p in $mcOthers) { try { $p.Kill() } catch { } }
Wait-McExit $mcWrappers 5000
foreach ($p in $mcWrappers) { try { if (-not $p.HasExited) { $p.Kill() } } catch { } }
Wait-McExit ($mcWrappers + $mcOthers) 3000
foreach ($p in ($mcWrappers + $mcOthers)) {
  $gone = $false
  try { $gone = $p.HasExited } catch { }
  if ($gone) { $mcStopped.Add($p.Id) } else { $mcSurvivors.Add($p.Id) }
}
ConvertTo-Json -InputObject @{ stopped = @($mcStopped); survivors = @($mcSurvivors) } -Compress
`;
}

/** Input of {@link attachScript}. */
export interface AttachInput {
  /** The session (for messages). */
  session: string;
  /** The window mc opened for it. */
  window: string;
  runDir: string;
  tabs: number;
  wt: string;
}

/**
 * The attach command's script (`-File attach.ps1 <window>`): bring the session's window forward, but only
 * while one of its wrappers still runs. `wt --window <name> focus-tab` for a window that no longer exists
 * opens a NEW window with the default profile (focus-tab alone adds no action, and
 * `ValidateStartupCommands` then adds a default new-tab: AppCommandlineArgs.cpp, TerminalWindow.cpp).
 */
export function attachScript(a: AttachInput): string {
  const commandLine = windowsCommandLine([`--window=${wtEscapeDelimiters(a.window)}`, "focus-tab"]);
  return `${BOM}# mc attach: bring Windows Terminal window ${psComment(JSON.stringify(a.window))} forward
${MARKERS.attach}
param([Parameter(Mandatory = $true)][string]$Window)
$ErrorActionPreference = 'Stop'
$mcWindow = ${psQuote(a.window)}
$mcRunDir = ${psQuote(a.runDir)}
if ($Window -cne $mcWindow) { [Console]::Error.WriteLine('mc: this attach script is for another window'); exit 2 }
$mcAlive = $false
for ($i = 0; $i -lt ${a.tabs}; $i++) {
  $f = [System.IO.Path]::Combine($mcRunDir, ('tab-{0}.json' -f $i))
  if (-not [System.IO.File]::Exists($f)) { continue }
  $r = [System.IO.File]::ReadAllText($f) | ConvertFrom-Json
  $p = Get-Process -Id ([int]$r.pid) -ErrorAction SilentlyContinue
  if ($null -eq $p) { continue }
  try { if (([DateTimeOffset]$p.StartTime).ToUnixTimeSeconds() -le [long]$r.start + 2) { $mcAlive = $true } } catch { $mcAlive = $true }
}
if (-not $mcAlive) {
  [Console]::Error.WriteLine(${psQuote(`mc: session "${a.session}" is gone: no tab of its window is running; nothing was opened`)})
  exit 1
}
$mcInfo = New-Object System.Diagnostics.ProcessStartInfo
$mcInfo.FileName = (Get-Command -Name ${psQuote(a.wt)} -CommandType Application | Select-Object -First 1).Path
$mcInfo.Arguments = ${psQuote(commandLine)}
$mcInfo.UseShellExecute = $false
$mcProcess = [System.Diagnostics.Process]::Start($mcInfo)
$mcProcess.WaitForExit()
exit $mcProcess.ExitCode
`;
}
