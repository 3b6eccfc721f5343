import type { Command, HostInfo } from "@mc/core";
import { McError } from "@mc/core";
import { psEncodedArgs, psQuote } from "./quote.js";

/**
 * Windows hosts (OpenSSH for Windows, whose DefaultShell is cmd.exe or PowerShell): each operation is one
 * `powershell -EncodedCommand <base64 UTF-16LE>` invocation, so the remote command line holds only
 * `[A-Za-z0-9+/=-]` and no shell ever parses a path, name or argument. File content travels on stdin as
 * base64. Not batched: one ssh invocation per operation.
 */
export interface PsCall {
  /** The remote command line (cmd.exe and PowerShell both run it unchanged). */
  line: string;
  /** What to send on stdin. */
  input?: string;
}

function call(script: string, input?: string): PsCall {
  const pre = "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'\n";
  return {
    line: ["powershell", ...psEncodedArgs(pre + script)].join(" "),
    ...(input === undefined ? {} : { input }),
  };
}

/** Marker written to stderr when a command's executable does not exist. */
export const PS_NOT_FOUND = "mc-remote: executable not found";

/** Home, state dir (`$env:MC_STATE_DIR`, else `$env:XDG_STATE_HOME\mc`, else `~\.local\state\mc`, as core's localStateDir). */
export function psInfo(): PsCall {
  return call(`$h = $HOME
$s = if ($env:MC_STATE_DIR) { $env:MC_STATE_DIR } elseif ($env:XDG_STATE_HOME) { Join-Path $env:XDG_STATE_HOME 'mc' } else { Join-Path $h '.local\\state\\mc' }
[Console]::Out.Write("win32\`n$h\`n$s\`npowershell\`n")`);
}

/** Run a command: cwd, env, input, exit code of the executable. */
export function psRun(cmd: Command, env: Readonly<Record<string, string>> = {}): PsCall {
  const envLines = Object.entries({ ...env, ...cmd.env })
    .map(([k, v]) => `[Environment]::SetEnvironmentVariable(${psQuote(k)}, ${psQuote(v)})`)
    .join("\n");
  const argv = cmd.args.map(psQuote).join(" ");
  const input = cmd.input === undefined ? "" : "[Console]::In.ReadToEnd() | ";
  return call(
    `${envLines}
${cmd.cwd === undefined ? "" : `Set-Location -LiteralPath ${psQuote(cmd.cwd)}`}
if (-not (Get-Command -Name ${psQuote(cmd.file)} -CommandType Application -ErrorAction SilentlyContinue)) { [Console]::Error.Write(${psQuote(PS_NOT_FOUND)}); exit 127 }
$ErrorActionPreference = 'Continue'
${input}& ${psQuote(cmd.file)} ${argv}
exit $LASTEXITCODE`,
    cmd.input,
  );
}

/** Exit 3 when absent, else the file's text. */
export function psReadFile(path: string): PsCall {
  return call(`$p = ${psQuote(path)}
if (-not (Test-Path -LiteralPath $p -PathType Leaf)) { exit 3 }
[Console]::Out.Write([Convert]::ToBase64String([IO.File]::ReadAllBytes($p)))`);
}

/** Every regular file in a directory: one `<base64 name> <base64 content>` line each; exit 3 when absent. */
export function psReadDir(dir: string): PsCall {
  return call(`$d = ${psQuote(dir)}
if (-not (Test-Path -LiteralPath $d -PathType Container)) { exit 3 }
foreach ($f in Get-ChildItem -LiteralPath $d -File -Force) {
  try { $b = [IO.File]::ReadAllBytes($f.FullName) } catch { continue }
  [Console]::Out.Write([Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($f.Name)) + ' ' + [Convert]::ToBase64String($b) + "\`n")
}`);
}

/** Write atomically: temp file in the same directory, then move over; content arrives on stdin (base64). */
export function psWriteFile(path: string, tmp: string, data: string): PsCall {
  return call(
    `$p = ${psQuote(path)}; $t = ${psQuote(tmp)}
$null = New-Item -ItemType Directory -Force -Path ([IO.Path]::GetDirectoryName($p))
[IO.File]::WriteAllBytes($t, [Convert]::FromBase64String([Console]::In.ReadToEnd().Trim()))
Move-Item -LiteralPath $t -Destination $p -Force`,
    Buffer.from(data, "utf8").toString("base64"),
  );
}

/** `dir`, `file` or nothing. */
export function psStat(path: string): PsCall {
  return call(`$p = ${psQuote(path)}
if (Test-Path -LiteralPath $p -PathType Container) { 'dir' } elseif (Test-Path -LiteralPath $p) { 'file' }`);
}

/** Remove a file or tree; missing is fine. */
export function psRemove(path: string): PsCall {
  return call(`$p = ${psQuote(path)}
if (Test-Path -LiteralPath $p) { Remove-Item -LiteralPath $p -Recurse -Force }`);
}

/** Path of an executable on PATH, or nothing. */
export function psWhich(file: string): PsCall {
  return call(`$c = Get-Command -Name ${psQuote(file)} -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
if ($c) { $c.Source }`);
}

/** The process table: `pid ppid rssBytes startEpochMs cpuSeconds<TAB>commandLine` per process. */
export function psProcessTable(): PsCall {
  return call(`$now = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
[Console]::Out.Write("$now\`n")
foreach ($p in Get-CimInstance Win32_Process) {
  $start = if ($p.CreationDate) { ([DateTimeOffset]$p.CreationDate).ToUnixTimeMilliseconds() } else { 0 }
  $cpu = [double]($p.KernelModeTime + $p.UserModeTime) / 1e7
  $cmd = if ($p.CommandLine) { $p.CommandLine } else { $p.Name }
  [Console]::Out.Write("$($p.ProcessId) $($p.ParentProcessId) $($p.WorkingSetSize) $start $cpu\`t$($cmd -replace '[\\r\\n]', ' ')\`n")
}`);
}

/** Parse {@link psProcessTable}'s output. */
export function parsePsWinTable(out: string): import("@mc/core").ProcessNode[] {
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

/** Parse {@link psInfo}'s output. */
export function parsePsInfo(out: string): HostInfo {
  const [, home = "", stateDir = "", shell = ""] = out.replace(/\r/g, "").split("\n");
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

/** Whether a failed POSIX batch means the remote shell is cmd.exe or PowerShell. */
export function looksLikeWindowsShell(stderr: string): boolean {
  return /is not recognized as (an internal or external command|the name of a cmdlet)|CommandNotFoundException/i.test(
    stderr,
  );
}

/** Refuse paths a PowerShell literal cannot carry. */
export function checkWinPath(path: string): void {
  if (path.includes("\0")) throw new McError("USAGE", "a path holds a NUL character", { backend: "remote" });
}
