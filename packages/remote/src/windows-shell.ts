import { McError, psEncodedArgs } from "@mc/core";

/**
 * How mc's PowerShell reaches a Windows host through OpenSSH for Windows, whatever its default shell.
 * Pure. Facts (PowerShell/openssh-portable at a915f06c, contrib/win32/win32compat):
 * - Without `HKLM\SOFTWARE\OpenSSH\DefaultShell`, sshd's shell is `%SystemRoot%\System32\cmd.exe`
 *   (pwd.c:95-99) and a command runs as `"…\cmd.exe" /c "<line>"` (w32-doexec.c:384-387, 462-464). cmd.exe
 *   refuses a line over 8,191 characters ("The command line is too long."; Microsoft Learn, "Command
 *   prompt line string limitation").
 * - With a PowerShell DefaultShell (powershell.exe or pwsh.exe) it runs `[shell, "-c", line]`
 *   (w32-doexec.c:434-441): the line is PowerShell; the user's profile loads; the exit code is the script's
 *   `exit N`, else 0 or 1 from `$?` (ConsoleHost.cs:1611-1628, PowerShell#13501).
 * So the line is a constant stub of ~430 characters (base64 only, so cmd.exe reads nothing in it), and the
 * script comes base64-encoded on stdin. Under a PowerShell shell the stub runs in that shell itself: the
 * host reads stdin only for a command that uses `$input` (ConsoleHost.cs:2073), and the stub uses
 * `[Console]::In`. Output may be preceded by what a profile or cmd's AutoRun prints: each script first
 * writes a boundary, and only what follows it counts.
 */

/** The remote default shell: cmd.exe, Windows PowerShell 5.1 or PowerShell 7. */
export type WindowsShell = "cmd" | "powershell" | "pwsh";

/** The stub that runs the script given base64 (UTF-8) on stdin: the same text as @mc/wt's stdinScriptArgs. */
export const STDIN_STUB =
  "& ([scriptblock]::Create([System.Text.Encoding]::UTF8.GetString([Convert]::FromBase64String([Console]::In.ReadToEnd().Trim()))))";

/**
 * The line that tells the shells apart: cmd.exe expands `%COMSPEC%` and prints `$(…)` as it is;
 * PowerShell leaves `%COMSPEC%` and expands the subexpression in the bare word to its version.
 */
export const SHELL_PROBE = "echo mc-shell:%COMSPEC%:$($PSVersionTable.PSVersion)";

/** Which shell answered {@link SHELL_PROBE} (undefined: neither cmd.exe nor PowerShell). */
export function parseShellProbe(stdout: string): WindowsShell | undefined {
  const m = /^mc-shell:(.*):(.*?)\s*$/m.exec(stdout.replace(/\r/g, ""));
  if (!m) return undefined;
  // cmd.exe prints an undefined variable as it is, so only the subexpression left as text says "cmd".
  if (m[2] === "$($PSVersionTable.PSVersion)") return "cmd";
  const major = Number(/^(\d+)\./.exec(m[2] ?? "")?.[1]);
  if (!Number.isFinite(major)) return undefined;
  return major >= 6 ? "pwsh" : "powershell";
}

/** The ssh command line that runs a stdin script under `shell` (never longer than ~430 characters). */
export function stubLine(shell: WindowsShell): string {
  return shell === "cmd" ? ["powershell", ...psEncodedArgs(STDIN_STUB)].join(" ") : STDIN_STUB;
}

/** What goes on stdin: the script (behind its boundary preamble), base64 of its UTF-8, one line. */
export function stubInput(script: string, boundary: string): string {
  const full = `$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'
[Console]::Out.Write('${boundary}' + [char]10); [Console]::Error.Write('${boundary}' + [char]10)
${script}
`;
  return `${Buffer.from(full, "utf8").toString("base64")}\n`;
}

/** What one stdin script produced, from its boundary on; undefined when the script never ran. */
export function afterBoundary(
  stdout: Buffer,
  stderr: string,
  boundary: string,
): { out: Buffer; err: string } | undefined {
  const mark = Buffer.from(`${boundary}\n`);
  const at = stdout.indexOf(mark);
  if (at < 0) return undefined;
  const e = stderr.indexOf(`${boundary}\n`);
  return {
    out: stdout.subarray(at + mark.length),
    err: e < 0 ? stderr : stderr.slice(e + boundary.length + 1),
  };
}

/** A Windows host whose script never started: the shell refused the line, or PowerShell is missing. */
export function scriptNotRun(
  id: string,
  op: string,
  shell: WindowsShell,
  r: { exitCode: number; stderr: string; stdout: string },
): McError {
  const said = `${r.stderr}\n${r.stdout}`.trim().split(/\r?\n/).slice(-3).join(" | ");
  return new McError(
    "COMMAND_FAILED",
    `${id}: ${op}: the remote shell (${shell}) did not run mc's script: ${said || `exit ${r.exitCode}`}`,
    {
      backend: "remote",
      op,
      hint:
        shell === "cmd"
          ? "mc runs `powershell` there: check that Windows PowerShell is on that user's PATH"
          : "check the OpenSSH DefaultShell setting there (HKLM\\SOFTWARE\\OpenSSH) and that the user's PowerShell profile does not exit or fail",
    },
  );
}

/** The remote default shell is none of those mc can drive. */
export function unknownShell(id: string, stdout: string, stderr: string): McError {
  return new McError("COMMAND_FAILED", `${id}: the remote default shell is neither cmd.exe nor PowerShell`, {
    backend: "remote",
    op: "connect",
    hint: 'set OpenSSH\'s DefaultShell there to cmd.exe, powershell.exe or pwsh.exe (HKLM\\SOFTWARE\\OpenSSH), or use platform: "posix" for a POSIX shell',
    details: { stdout: stdout.slice(0, 500), stderr: stderr.slice(0, 500) },
  });
}

/**
 * The line for an interactive command (`ssh -t`), which cannot come on stdin (stdin is the terminal).
 * Under PowerShell the program's exit code is passed on explicitly (`$?` alone would make it 0 or 1).
 */
export function interactiveLine(script: string, shell: WindowsShell): string {
  const line = ["powershell", ...psEncodedArgs(script)].join(" ");
  return shell === "cmd" ? line : `${line}; exit $LASTEXITCODE`;
}
