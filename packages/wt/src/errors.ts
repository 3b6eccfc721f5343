import { type CommandResult, McError } from "@mc/core";

/** Last non-empty lines of a tool's output, for messages. */
function tail(text: string, lines = 3): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-lines)
    .join(" | ");
}

/**
 * Map a failed PowerShell run (launch script, process query or kill) to an McError. PowerShell reports a
 * missing program as "The term 'wt' is not recognized as … cmdlet, function, script file, or operable
 * program" (CommandNotFoundException) and exits 1 under `$ErrorActionPreference = 'Stop'`.
 */
export function pwshError(r: CommandResult, op: string, ctx: { pwsh: string; wt: string }): McError {
  const out = `${r.stderr}\n${r.stdout}`;
  if (r.timedOut) {
    return new McError("TIMEOUT", `${ctx.pwsh} did not finish within ${Math.round(r.durationMs)} ms`, {
      backend: "wt",
      op,
      hint: "PowerShell may be blocked by a prompt or a slow profile; mc runs it with -NoProfile -NonInteractive",
    });
  }
  if (/is not recognized as (the |a )?name of a cmdlet|CommandNotFoundException/i.test(out)) {
    const wt = /The term '([^']*)' is not recognized/i.exec(out)?.[1] ?? ctx.wt;
    return new McError("BINARY_NOT_FOUND", `"${wt}" was not found by PowerShell`, {
      backend: "wt",
      op,
      hint: "install Windows Terminal (winget install Microsoft.WindowsTerminal): mc runs wt.exe from PATH",
    });
  }
  if (/running scripts is disabled|UnauthorizedAccess/i.test(out)) {
    return new McError("COMMAND_FAILED", `PowerShell refused to run the script: ${tail(out)}`, {
      backend: "wt",
      op,
      hint: "a Group Policy execution policy overrides -ExecutionPolicy Bypass; allow RemoteSigned for this user",
    });
  }
  return new McError("COMMAND_FAILED", `${ctx.pwsh} exited ${r.exitCode}: ${tail(out) || "no output"}`, {
    backend: "wt",
    op,
  });
}
