import { psEncodedArgs, psQuote } from "@mc/core";
import { windowsCommandLine } from "./generate.js";

/**
 * Pure generators for `@mc/remote`'s WTRemoteManager (issue #19), prototyped here next to the scripts
 * they run. Two facts about Windows' OpenSSH server decide their shape:
 * - It runs every session in the service session (session 0): a window started from it never reaches the
 *   user's desktop (PowerShell/Win32-OpenSSH#998, "by design"). The launch must run in the user's
 *   interactive session: a scheduled task with an interactive logon, run once and removed.
 * - Without a DefaultShell it runs commands as `cmd.exe /c "<line>"` (openssh-portable w32-doexec.c),
 *   and cmd.exe refuses lines over 8,191 characters. So no script travels on the command line: the line
 *   is a constant stub, the script comes base64-encoded on stdin.
 */

/** The script the stub reads from stdin: base64 of its UTF-8 (stdin's code page never matters). */
export function stdinScriptInput(script: string): string {
  return `${Buffer.from(script, "utf8").toString("base64")}\n`;
}

/**
 * PowerShell arguments that run the script given on stdin ({@link stdinScriptInput}). Their length never
 * depends on the script (about 420 characters), and they are base64 only, so they pass unchanged through
 * cmd.exe, Windows PowerShell 5.1 or pwsh as the remote default shell.
 */
export function stdinScriptArgs(): string[] {
  return psEncodedArgs(
    "& ([scriptblock]::Create([System.Text.Encoding]::UTF8.GetString([Convert]::FromBase64String([Console]::In.ReadToEnd().Trim()))))",
  );
}

/** Input of {@link interactiveLaunchScript}. */
export interface InteractiveLaunch {
  /** The launch script on the remote machine (written there first). */
  launchPath: string;
  /** PowerShell on the remote machine. */
  pwsh: string;
  /** A name unique to this launch (`mc-launch-<run>-<index>`). */
  taskName: string;
  /** How long the launch may take (s). */
  timeoutSeconds?: number;
}

/**
 * A script that runs `launchPath` in the remote user's interactive desktop session: it refuses with exit
 * code 3 when that user has no desktop session (nobody logged on at the machine), registers a scheduled
 * task with `-LogonType Interactive` ("run only when the user is logged on", which runs in that user's
 * session), starts it, waits for it, removes it, and exits with the launch's exit code (LastTaskResult).
 * Run over ssh with {@link stdinScriptArgs}.
 */
export function interactiveLaunchScript(l: InteractiveLaunch): string {
  const args = windowsCommandLine([
    "-NoLogo",
    "-NoProfile",
    "-NonInteractive",
    "-ExecutionPolicy",
    "Bypass",
    "-WindowStyle",
    "Hidden",
    "-File",
    l.launchPath,
  ]);
  return `# mc:interactive-launch v1
$ErrorActionPreference = 'Stop'
$mcTask = ${psQuote(l.taskName)}
$mcUser = [System.Security.Principal.WindowsIdentity]::GetCurrent().Name
$mcDesktop = @(Get-CimInstance -ClassName Win32_Process -Filter "Name = 'explorer.exe'" | Where-Object {
  $o = Invoke-CimMethod -InputObject $_ -MethodName GetOwner
  ('{0}\\{1}' -f $o.Domain, $o.User) -eq $mcUser
})
if ($mcDesktop.Count -eq 0) {
  [Console]::Error.WriteLine("mc: $mcUser has no desktop session on this machine: log on there (a locked screen is fine), then start again")
  exit 3
}
$mcAction = New-ScheduledTaskAction -Execute ${psQuote(l.pwsh)} -Argument ${psQuote(args)}
$mcPrincipal = New-ScheduledTaskPrincipal -UserId $mcUser -LogonType Interactive -RunLevel Limited
$mcSettings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -ExecutionTimeLimit (New-TimeSpan -Seconds ${l.timeoutSeconds ?? 120})
Register-ScheduledTask -TaskName $mcTask -Action $mcAction -Principal $mcPrincipal -Settings $mcSettings -Force | Out-Null
try {
  $mcBefore = (Get-ScheduledTaskInfo -TaskName $mcTask).LastRunTime
  Start-ScheduledTask -TaskName $mcTask
  $mcUntil = [DateTime]::UtcNow.AddSeconds(${l.timeoutSeconds ?? 120})
  do {
    Start-Sleep -Milliseconds 200
    $mcInfo = Get-ScheduledTaskInfo -TaskName $mcTask
    $mcState = (Get-ScheduledTask -TaskName $mcTask).State
  } while (($mcState -eq 'Running' -or $mcInfo.LastRunTime -eq $mcBefore) -and [DateTime]::UtcNow -lt $mcUntil)
  if ($mcState -eq 'Running') { [Console]::Error.WriteLine('mc: the launch did not finish in time'); exit 4 }
  exit $mcInfo.LastTaskResult
} finally {
  Unregister-ScheduledTask -TaskName $mcTask -Confirm:$false
}
`;
}
