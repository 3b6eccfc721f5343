import { EVENTS_FILE, psQuote } from "@mc/core";
import { BOM, MARKERS, psComment } from "./generate.js";

/**
 * The per-session tab wrapper (`<pwsh> -NoLogo -NoProfile -ExecutionPolicy Bypass -File wrapper.ps1 <i>`)
 * and the command stub it starts. What each part answers in PowerShell/PowerShell#13501 and friends:
 *
 * - The wrapper is mc's own script: no profile, `-File` without `-NoExit`, so nothing of it is
 *   dot-sourced into an interactive session (ConsoleHost.cs runs a `-File` script with useLocalScope
 *   false, about_Pwsh). The shell kept in the tab is a NEW process started after the command: the user's
 *   PowerShell (or cmd) with the user's profile and nothing of mc's, not even the execution policy
 *   `-ExecutionPolicy Bypass` gave the wrapper (PSExecutionPolicyPreference is removed).
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
 * - Per tab, as data (every string a single-quoted literal, never expanded): the shell that reads the
 *   command (the layout's `shell`), its environment (the layout's `env` under the tab's), set on the
 *   command's and the kept shell's `ProcessStartInfo` (not `$env:`, which drops an empty value), and
 *   `retry`: a failing command runs again up to `max` more times, `backoffSeconds` apart, as core's
 *   posixTabScript does; the record carries the attempt.
 * - Each start, retry and end is appended to the session's `events.ndjson` with the same lines as
 *   posixTabScript writes (`tab-started`, `tab-retried`, `tab-exited`, `tab-killed` with `SIGINT` or
 *   `SIGKILL`), times as epoch seconds with milliseconds.
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

/** One tab of the wrapper: its command file and what the layout says about running it. */
export interface WrapperTab {
  tabName: string;
  /** The tab's position in its layout (in its events). */
  index: number;
  /** Which pane of the tab, for a further pane (core `sessionSlots`; in its events). */
  pane?: number | undefined;
  /** Stay as a shell after the command whatever `keepShell` says (a pane without a command). */
  keep?: boolean | undefined;
  /** The file its command is read from. */
  commandFile: string;
  /** Which shell reads the command. */
  shell: CommandShell;
  /** The shell's program (a name without a directory is looked up on PATH only); default: the wrapper's own PowerShell, or `%ComSpec%` for cmd. */
  program?: string | undefined;
  /** Environment of the command and of the kept shell, over the wrapper's own: `[name, value]` pairs. */
  env?: readonly (readonly [string, string])[] | undefined;
  /** Run a failing command up to this many more times (`retry.max`). */
  retry?: number | undefined;
  /** Wait this long before each new attempt (`retry.backoffSeconds`, in ms). */
  backoffMs?: number | undefined;
}

/** Input of {@link wrapperScript}. */
export interface WrapperInput {
  window: string;
  /** The session's name (in the events the tabs write). */
  session: string;
  /** Directory of the records, the events and the command files (as the Windows host spells it). */
  runDir: string;
  tabs: readonly WrapperTab[];
  keepShell: boolean;
}

const bool = (b: boolean) => (b ? "$true" : "$false");

/** The time now as epoch seconds with milliseconds, as `posixTabScript` writes it (culture-independent). */
const NOW =
  "([decimal]([DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()) / 1000).ToString([System.Globalization.CultureInfo]::InvariantCulture)";

/**
 * Append `$mcLine` to the session's events file. .NET calls and operators only (it runs in a `finally`
 * too). `AppendAllText` opens the file for writing with FileShare.Read, so two tabs never write at once:
 * the one that finds it open retries, and each line lands whole.
 */
const APPEND_EVENT = `for ($mcW = 0; $mcW -lt 100; $mcW++) { try { [System.IO.File]::AppendAllText($mcEvents, $mcLine, $mcUtf8); break } catch { [System.Threading.Thread]::Sleep(20) } }`;

/** An event line: `{"type":…,"t":…,<the tab's fields>…}` as in core's posixTabScript. */
const eventLine = (type: string, t: string, extra: string) =>
  `$mcLine = '{"type":"${type}","t":' + ${t} + ',' + $mcT.event${extra ? ` + ${extra}` : ""} + "}\`n"`;

/** How the command child is started, for attempt after attempt (see the module comment). */
const RUN_ATTEMPTS = `    ${eventLine("tab-started", "$mcStart", `',"attempt":' + $mcTry`)}
    ${APPEND_EVENT}
    # A bare name is resolved on PATH alone: Get-Command searches only PATH's directories (CommandDiscovery.cs
    # GetLookupDirectoryPaths; about_Command_Precedence), while Process.Start passes no application name
    # and CreateProcess searches the current directory, the tab's startDir, before PATH (CreateProcessW,
    # lpCommandLine): a powershell.exe in a cloned repository would run the command and be the kept shell.
    if ($null -eq $mcProgram) {
      try { $mcProgram = (Get-Command -CommandType Application -Name $mcT.program -ErrorAction Stop | Select-Object -First 1).Path }
      catch { throw ('no program "' + $mcT.program + '" on PATH (a shell named without a directory is looked up on PATH only)') }
    }
    $mcN = 1
    while ($true) {
      $mcInfo = New-Object System.Diagnostics.ProcessStartInfo
      $mcInfo.UseShellExecute = $false
      $mcInfo.FileName = $mcProgram
      if ($mcT.shell -eq 'cmd') {
        $mcInfo.Arguments = '/s /c "' + [System.IO.File]::ReadAllText($mcT.file, [System.Text.Encoding]::UTF8) + '"'
      } else {
        $mcInfo.Arguments = '-NoLogo -EncodedCommand ' + $mcT.stub
      }
      # The user's command runs under the user's execution policy, as in their own shell and in a tmux or
      # zellij tab: the wrapper's -ExecutionPolicy Bypass is in this variable (about_Execution_Policies,
      # Process scope), which every child would inherit. The stub needs no policy (it is a command, not a
      # script file); a layout's env may still set the variable. (review H43-2)
      [void]$mcInfo.EnvironmentVariables.Remove('PSExecutionPolicyPreference')
      for ($mcE = 0; $mcE + 1 -lt $mcT.env.Count; $mcE += 2) { $mcInfo.EnvironmentVariables[$mcT.env[$mcE]] = $mcT.env[$mcE + 1] }
      $mcChild = [System.Diagnostics.Process]::Start($mcInfo)
      $mcChild.WaitForExit()
      $mcCode = $mcChild.ExitCode
      if ($mcCode -eq 0 -or $mcN -gt $mcT.retry -or $mcCode -eq -1073741510 -or [System.IO.File]::Exists($mcKill)) { break }
      $mcTry++
      $mcN++
      ${eventLine("tab-retried", NOW, `',"attempt":' + $mcTry + ',"exitCode":' + $mcCode`)}
      ${APPEND_EVENT}
      # The backoff, cut short by a kill (mc's kill waits 5 s for a wrapper to leave by itself).
      $mcUntil = [DateTime]::UtcNow.AddMilliseconds($mcT.backoffMs)
      while ([DateTime]::UtcNow -lt $mcUntil -and -not [System.IO.File]::Exists($mcKill)) { Start-Sleep -Milliseconds 50 }
      if ([System.IO.File]::Exists($mcKill)) { break }
    }`;

/** The wrapper's fixed part, after its settings (see the module comment). */
const WRAPPER_BODY = `if ($McTab -lt 0 -or $McTab -ge $mcTabs.Count) {
  [Console]::Error.WriteLine('mc: no tab ' + $McTab + ' in this wrapper')
  exit 2
}
$mcT = $mcTabs[$McTab]
$mcUtf8 = New-Object System.Text.UTF8Encoding -ArgumentList $false
$mcRecord = [System.IO.Path]::Combine($mcRunDir, ('tab-{0}.json' -f $McTab))
$mcKill = [System.IO.Path]::Combine($mcRunDir, ('tab-{0}.kill' -f $McTab))
$mcEvents = [System.IO.Path]::Combine($mcRunDir, '${EVENTS_FILE}')
$mcTmp = '{0}.tmp.{1}' -f $mcRecord, $PID
# A shell named without a directory (\`pwsh\`, \`powershell\`) is looked up when the command starts (see RUN_ATTEMPTS).
$mcProgram = $null
if (-not $mcT.program) { if ($mcT.shell -eq 'cmd') { $mcProgram = $env:ComSpec } else { $mcProgram = (Get-Process -Id $PID).Path } } elseif ($mcT.program -match '[\\\\/]') { $mcProgram = $mcT.program }
if ([System.IO.File]::Exists($mcRecord)) {
  [Console]::Error.WriteLine('mc: this tab belongs to an earlier start; its command is not run again')
  exit 2
}
$mcStart = ${NOW}
$mcTry = 1
$mcHead = '{"v":1,"pid":' + $PID + ',"start":' + $mcStart
[System.IO.File]::WriteAllText($mcTmp, $mcHead + ',"attempt":' + $mcTry + '}')
[System.IO.File]::Move($mcTmp, $mcRecord)
$mcCode = 1
$mcSignal = ''
$mcReason = ''
$mcDone = $false
$mcChild = $null
try {
  if ([System.IO.File]::Exists($mcKill)) {
    $mcSignal = 'KILL'
  } else {
${RUN_ATTEMPTS}
  }
  $mcDone = $true
} catch {
  $mcDone = $true
  $mcReason = ',"reason":"the command could not be started"'
  [Console]::Error.WriteLine('mc: the command could not be started: ' + $_.Exception.Message)
} finally {
  # .NET calls and operators only: PowerShell may skip commands in a finally after Ctrl+C (PowerShell#21552).
  if ($null -ne $mcChild -and $mcChild.HasExited) { $mcCode = $mcChild.ExitCode }
  # Interrupted: Ctrl+C stopped this script while it waited. 0xC000013A: STATUS_CONTROL_C_EXIT.
  if ((-not $mcDone) -or $mcCode -eq -1073741510) { $mcSignal = 'INT' }
  if ([System.IO.File]::Exists($mcKill)) { $mcSignal = 'KILL' }
  $mcEnd = ${NOW}
  if ($mcSignal) {
    $mcTail = '"signal":"' + $mcSignal + '"'
    ${eventLine("tab-killed", "$mcEnd", `',"signal":"SIG' + $mcSignal + '"'`)}
  } else {
    $mcTail = '"exit":' + $mcCode
    ${eventLine("tab-exited", "$mcEnd", `',"exitCode":' + $mcCode + $mcReason`)}
  }
  [System.IO.File]::WriteAllText($mcTmp, $mcHead + ',"end":' + $mcEnd + ',"attempt":' + $mcTry + ',' + $mcTail + '}')
  for ($mcR = 0; $mcR -lt 100; $mcR++) {
    # ReplaceFileW swaps the name atomically; a reader holding the file open without FILE_SHARE_DELETE makes it fail: retry.
    try { [System.IO.File]::Replace($mcTmp, $mcRecord, [NullString]::Value); break } catch { [System.Threading.Thread]::Sleep(20) }
  }
  ${APPEND_EVENT}
}
if ([System.IO.File]::Exists($mcKill)) { exit 0 }
if ($mcKeepShell -or $mcT.keep) {
  # A shell that was not found is not kept (its bare name would be looked up in the tab's directory): the
  # tab ends failed, with the message on screen.
  if ($null -eq $mcProgram) { exit 1 }
  $mcKept = New-Object System.Diagnostics.ProcessStartInfo
  $mcKept.UseShellExecute = $false
  $mcKept.FileName = $mcProgram
  if ($mcT.shell -ne 'cmd') { $mcKept.Arguments = '-NoLogo' }
  # The user's shell under the user's execution policy, not the wrapper's Bypass (review H43-2).
  [void]$mcKept.EnvironmentVariables.Remove('PSExecutionPolicyPreference')
  for ($mcE = 0; $mcE + 1 -lt $mcT.env.Count; $mcE += 2) { $mcKept.EnvironmentVariables[$mcT.env[$mcE]] = $mcT.env[$mcE + 1] }
  $ErrorActionPreference = 'Continue'
  try { [System.Diagnostics.Process]::Start($mcKept).WaitForExit() } catch { }
  exit 0
}
# The record holds the command's exit code; 0 here makes Windows Terminal close the tab, as --exit close
# asks, also after a failure (closeOnExit: only 0 is Closed, ConptyConnection.cpp:548).
exit 0
`;

/** A number the wrapper compares with (a safe non-negative integer, as the layout checks make it). */
function count(n: number | undefined): string {
  const v = n ?? 0;
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`not a count: ${v}`);
  return String(v);
}

/** One tab's data: every string a '…' literal, every number an integer literal. */
function tabData(t: WrapperTab, session: string): string {
  const event = JSON.stringify({
    session,
    tab: t.tabName,
    index: t.index,
    ...(t.pane ? { pane: t.pane } : {}),
  }).slice(1, -1);
  const env = (t.env ?? []).map(
    ([k, v], i, all) => `      ${psQuote(k)}, ${psQuote(v)}${i < all.length - 1 ? "," : ""}`,
  );
  return [
    "  @{",
    `    shell = ${psQuote(t.shell)}`,
    `    program = ${psQuote(t.program ?? "")}`,
    `    file = ${psQuote(t.commandFile)}`,
    `    stub = ${psQuote(encodeCommand(commandStub(t.commandFile)))}`,
    `    retry = ${count(t.retry)}`,
    `    backoffMs = ${count(t.backoffMs)}`,
    `    keep = ${t.keep ? 1 : 0}`,
    `    event = ${psQuote(event)}`,
    env.length ? `    env = @(\n${env.join("\n")}\n    )` : "    env = @()",
    "  }",
  ].join("\n");
}

/** The wrapper each tab runs; see the module comment. */
export function wrapperScript(w: WrapperInput): string {
  const tabs = w.tabs.map((t) => tabData(t, w.session)).join(",\n");
  return `${BOM}# mc tab wrapper for Windows Terminal window ${psComment(JSON.stringify(w.window))}
# Generated by mc. Each tab runs: <PowerShell> -NoLogo -NoProfile -ExecutionPolicy Bypass -File <this file> <tab index>
${MARKERS.wrapper}
param([Parameter(Mandatory = $true)][int]$McTab)
$ErrorActionPreference = 'Stop'
$mcRunDir = ${psQuote(w.runDir)}
$mcKeepShell = ${bool(w.keepShell)}
# Per tab, data only: the shell that reads its command and its program, the command file (cmd) and the
# stub that reads it (PowerShell), retries, the fields of its events, its environment (name, value, …).
$mcTabs = @(
${tabs}
)
${WRAPPER_BODY}`;
}
