import type { Command, HostInfo, ProcessNode } from "@mc/core";
import { McError, psQuote } from "@mc/core";

/**
 * The PowerShell of each operation on a Windows host (OpenSSH for Windows). Pure: every function returns
 * the script; how it reaches the host (on stdin, behind a short constant command line) is
 * windows-shell.ts. Each script starts with a marker line (`# mc:remote-<op> v1`) and its parameters as
 * `$mcX = '<literal>'` lines, and carries its data inside itself (base64), so stdin holds the script only.
 */

/** Marker written to stderr when a command's executable does not exist. */
export const PS_NOT_FOUND = "mc-remote: executable not found";

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/**
 * A Windows command line that CommandLineToArgvW (and the C runtime of the program started) splits back
 * into exactly `args`: .NET's PasteArguments rules (dotnet/runtime PasteArguments.cs), written here so the
 * argv never depends on the PowerShell version's native-argument passing (5.1 drops empty arguments and
 * mangles embedded quotes; PowerShell#1995, about_Parsing "Passing arguments that contain quote characters").
 */
export function windowsCommandLine(args: readonly string[]): string {
  return args
    .map((a) => {
      if (a !== "" && !/[\s"]/.test(a)) return a;
      let out = '"';
      let slashes = 0;
      for (const c of a) {
        if (c === "\\") slashes++;
        else if (c === '"') {
          out += `${"\\".repeat(slashes * 2 + 1)}"`;
          slashes = 0;
        } else {
          out += `${"\\".repeat(slashes)}${c}`;
          slashes = 0;
        }
      }
      return `${out}${"\\".repeat(slashes * 2)}"`;
    })
    .join(" ");
}

/** Home and state dir (`$env:MC_STATE_DIR`, else `$env:XDG_STATE_HOME\mc`, else `~\.local\state\mc`, as core's localStateDir), base64 each. */
export function psInfo(): string {
  return `# mc:remote-info v1
$mcHome = $HOME
$mcState = if ($env:MC_STATE_DIR) { $env:MC_STATE_DIR } elseif ($env:XDG_STATE_HOME) { Join-Path $env:XDG_STATE_HOME 'mc' } else { Join-Path $mcHome '.local\\state\\mc' }
foreach ($v in @($mcHome, $mcState)) { [Console]::Out.Write([Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes([string]$v)) + "\`n") }
exit 0`;
}

/**
 * Run a command: the executable is found as PowerShell finds applications, then started with
 * `Process.Start` and a command line built by {@link windowsCommandLine}, so every PowerShell version passes
 * the same argv. stdout and stderr are inherited (the program's bytes, unconverted); input goes in as bytes.
 */
export function psRun(cmd: Command, env: Readonly<Record<string, string>> = {}): string {
  const envLines = Object.entries({ ...env, ...cmd.env })
    .map(([k, v]) => `$mcInfo.EnvironmentVariables[${psQuote(k)}] = ${psQuote(v)}`)
    .join("\n");
  return `# mc:remote-run v1
$mcFile = ${psQuote(cmd.file)}
$mcCommandLine = ${psQuote(windowsCommandLine(cmd.args))}
$mcCwd = ${psQuote(cmd.cwd ?? "")}
$mcInput = ${psQuote(cmd.input === undefined ? "" : b64(cmd.input))}
$mcApp = Get-Command -Name $mcFile -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
if (-not $mcApp) { [Console]::Error.Write(${psQuote(PS_NOT_FOUND)}); exit 127 }
$mcInfo = New-Object System.Diagnostics.ProcessStartInfo
$mcInfo.FileName = $mcApp.Source
$mcInfo.Arguments = $mcCommandLine
$mcInfo.UseShellExecute = $false
$mcInfo.RedirectStandardInput = ($mcInput -ne '')
if ($mcCwd -ne '') { $mcInfo.WorkingDirectory = $mcCwd }
${envLines}
$mcProcess = [System.Diagnostics.Process]::Start($mcInfo)
if ($mcInput -ne '') {
  $mcBytes = [Convert]::FromBase64String($mcInput)
  $mcProcess.StandardInput.BaseStream.Write($mcBytes, 0, $mcBytes.Length)
  $mcProcess.StandardInput.Close()
}
$mcProcess.WaitForExit()
exit $mcProcess.ExitCode`;
}

/** Exit 3 when absent, else the file's bytes in base64. */
export function psReadFile(path: string): string {
  return `# mc:remote-readFile v1
$mcPath = ${psQuote(path)}
if (-not (Test-Path -LiteralPath $mcPath -PathType Leaf)) { exit 3 }
[Console]::Out.Write([Convert]::ToBase64String([IO.File]::ReadAllBytes($mcPath)))
exit 0`;
}

/** Every regular file in a directory: one `<base64 name> <base64 content>` line each; exit 3 when absent. */
export function psReadDir(dir: string): string {
  return `# mc:remote-readDir v1
$mcPath = ${psQuote(dir)}
if (-not (Test-Path -LiteralPath $mcPath -PathType Container)) { exit 3 }
foreach ($f in Get-ChildItem -LiteralPath $mcPath -File -Force) {
  try { $b = [IO.File]::ReadAllBytes($f.FullName) } catch { continue }
  [Console]::Out.Write([Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($f.Name)) + ' ' + [Convert]::ToBase64String($b) + "\`n")
}
exit 0`;
}

/**
 * Write atomically: a temp file in the same directory, then `File.Replace` (ReplaceFileW swaps the names)
 * or `File.Move` when there is nothing to replace. Not `Move-Item -Force`, which deletes the target first
 * (FileSystemProvider.cs `destfile.Delete(); file.MoveTo(…)`), so a reader could find no file (#19).
 */
export function psWriteFile(path: string, tmp: string, data: string): string {
  return `# mc:remote-writeFile v1
$mcPath = ${psQuote(path)}
$mcTmp = ${psQuote(tmp)}
$mcData = ${psQuote(b64(data))}
[void][IO.Directory]::CreateDirectory([IO.Path]::GetDirectoryName($mcPath))
[IO.File]::WriteAllBytes($mcTmp, [Convert]::FromBase64String($mcData))
if ([IO.File]::Exists($mcPath)) { [IO.File]::Replace($mcTmp, $mcPath, $null) } else { [IO.File]::Move($mcTmp, $mcPath) }
exit 0`;
}

/** `dir`, `file` or nothing. */
export function psStat(path: string): string {
  return `# mc:remote-stat v1
$mcPath = ${psQuote(path)}
if (Test-Path -LiteralPath $mcPath -PathType Container) { [Console]::Out.Write('dir') } elseif (Test-Path -LiteralPath $mcPath) { [Console]::Out.Write('file') }
exit 0`;
}

/** Remove a file or tree; missing is fine. */
export function psRemove(path: string): string {
  return `# mc:remote-remove v1
$mcPath = ${psQuote(path)}
if (Test-Path -LiteralPath $mcPath) { Remove-Item -LiteralPath $mcPath -Recurse -Force }
exit 0`;
}

/** Path of an executable on PATH, or nothing. */
export function psWhich(file: string): string {
  return `# mc:remote-which v1
$mcFile = ${psQuote(file)}
$c = Get-Command -Name $mcFile -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
if ($c) { [Console]::Out.Write($c.Source) }
exit 0`;
}

/** The process table: the time, then `pid ppid rssBytes startEpochMs cpuSeconds<TAB>commandLine` per process. */
export function psProcessTable(): string {
  return `# mc:remote-ps v1
$now = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
[Console]::Out.Write("$now\`n")
foreach ($p in Get-CimInstance Win32_Process) {
  $start = if ($p.CreationDate) { ([DateTimeOffset]$p.CreationDate).ToUnixTimeMilliseconds() } else { 0 }
  $cpu = [double]($p.KernelModeTime + $p.UserModeTime) / 1e7
  $cmd = if ($p.CommandLine) { $p.CommandLine } else { $p.Name }
  [Console]::Out.Write("$($p.ProcessId) $($p.ParentProcessId) $($p.WorkingSetSize) $start $cpu\`t$($cmd -replace '[\\r\\n]', ' ')\`n")
}
exit 0`;
}

/** Parse {@link psProcessTable}'s output. */
export function parsePsWinTable(out: string): ProcessNode[] {
  const [first = "", ...rest] = out.split("\n");
  const now = Number(first.trim());
  return rest.flatMap((line) => {
    const m = /^(\d+) (\d+) (\d+) (\d+) ([\d.,E+-]+)\t(.*)$/.exec(line.replace(/\r$/, ""));
    if (!m) return [];
    const start = Number(m[4]);
    const cpu = Number(m[5]!.replace(",", "."));
    const alive = Math.max(1, now - start);
    return [
      {
        pid: Number(m[1]),
        ppid: Number(m[2]),
        rssBytes: Number(m[3]),
        command: m[6]!,
        cpuPercent: start > 0 ? Math.round(((cpu * 1000) / alive) * 1000) / 10 : 0,
        ...(start > 0 ? { startedAt: start } : {}),
      },
    ];
  });
}

/** Parse {@link psInfo}'s output (`shell` is the remote default shell, found apart). */
export function parsePsInfo(out: string, shell?: string): HostInfo {
  const [home = "", stateDir = ""] = out
    .replace(/\r/g, "")
    .split("\n")
    .map((l) => Buffer.from(l.trim(), "base64").toString("utf8"));
  return { platform: "win32", home, stateDir, ...(shell ? { shell } : {}) };
}

/** Decode {@link psReadDir}'s output. */
export function parsePsDir(out: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const line of out.split("\n")) {
    const [n, c] = line.trim().split(" ");
    if (!n) continue;
    files.set(Buffer.from(n, "base64").toString("utf8"), Buffer.from(c ?? "", "base64").toString("utf8"));
  }
  return files;
}

/**
 * Whether a failed POSIX batch means the remote shell is cmd.exe or PowerShell: cmd's "is not recognized
 * as an internal or external command", Windows PowerShell 5.1's "…as the name of a cmdlet", pwsh 7's
 * "…as a name of a cmdlet" (DiscoveryExceptions.resx; its ConciseView prints no exception type).
 */
export function looksLikeWindowsShell(stderr: string): boolean {
  return /is not recognized as (an internal or external command|(the|a) name of a cmdlet)|CommandNotFoundException/i.test(
    stderr,
  );
}

/** Refuse paths a PowerShell literal cannot carry. */
export function checkWinPath(path: string): void {
  if (path.includes("\0")) throw new McError("USAGE", "a path holds a NUL character", { backend: "remote" });
}
