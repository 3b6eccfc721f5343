import { McError, psEncodedArgs, psQuote } from "@mc/core";

/**
 * Pure generators for the Windows Terminal backend: the wt.exe argument list, the PowerShell launch
 * script, the per-tab wrapper and the process query/kill scripts.
 *
 * Escaping layers, outermost first (each is undone in the reverse order on the way in):
 * 1. PowerShell: every value is one single-quoted literal ({@link psQuote}); the `;` between wt
 *    subcommands is the literal `';'` (a bare `;` would end the PowerShell statement).
 * 2. PowerShell → wt.exe command line: `$PSNativeCommandArgumentPassing = 'Standard'` (PowerShell 7.3+,
 *    ProcessStartInfo.ArgumentList) quotes each argument with the C runtime rules that wt's
 *    `CommandLineToArgvW` undoes exactly (microsoft/terminal src/cascadia/WindowsTerminal/WindowEmperor.cpp
 *    `commandlineToArgArray`; src/cascadia/wt/shim.cpp forwards the command line verbatim).
 * 3. wt's own splitter: `;` anywhere in any argument starts a new subcommand unless written `\;`
 *    (AppCommandlineArgs.cpp `_commandDelimiterRegex` `^;|[^\\];`, Commandline.cpp `AddArg`).
 * 4. CLI11 2.6.1 (wt's vcpkg.json): an option value written `[[` + doubled characters + `]]` collapses to
 *    `[…]` (CLI11 Option_inl.hpp `_add_result`), so such values are pre-encoded.
 *
 * Newlines never travel in wt's argv (microsoft/terminal#4619): commands live in files the wrapper reads.
 */

/** Marker lines the generated scripts carry (the test fakes dispatch on them). */
export const MARKERS = {
  launch: "# mc:launch v1",
  wrapper: "# mc:tab-wrapper v1",
  kill: "# mc:kill v2",
} as const;

/** UTF-8 byte order mark: Windows PowerShell 5.1 reads a .ps1 without it in the ANSI code page. */
export const BOM = "\uFEFF";

/** Re-exported from @mc/core, where the other PowerShell user (@mc/remote) finds it too. */
export { psQuote };

/** Text safe inside a PowerShell `#` comment (one line). */
export function psComment(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]/g, " ");
}

/** True when CLI11 would rewrite this option value: `[[` + every character doubled + `]]`. */
export function cli11Collapses(v: string): boolean {
  if (v.length < 4 || !v.startsWith("[[") || !v.endsWith("]]")) return false;
  for (let i = 2; i < v.length - 2; i += 2) if (v[i] !== v[i + 1]) return false;
  return true;
}

/** Encode an option value so CLI11's `[[…]]` escape clause gives it back unchanged. */
export function cli11Encode(v: string): string {
  if (!cli11Collapses(v)) return v;
  const inner = [...v.slice(1, -1)].map((c) => c + c).join("");
  return `[[${inner}]]`;
}

/** Escape every `;` as `\;` so wt's splitter keeps it in the argument (Commandline.cpp `AddArg` undoes it). */
export function wtEscapeDelimiters(v: string): string {
  return v.replace(/;/g, "\\;");
}

/** An option value for wt: CLI11-encoded, then `;`-escaped. */
export function wtValue(v: string): string {
  return wtEscapeDelimiters(cli11Encode(v));
}

/**
 * Window names wt does not treat as names (WindowEmperor.cpp `_dispatchCommandline`): an integer
 * (`til::parse_signed`, so `0`, `-1`, `42`) is a window id or "current/new", and `new` / `last` are keywords.
 */
export function reservedWindowName(name: string): boolean {
  return /^-?[0-9]+$/.test(name) || name === "new" || name === "last";
}

/** True when the launcher is Windows PowerShell 5.1, whose native-argument passing is the legacy one. */
export function isLegacyPowerShell(pwsh: string): boolean {
  return /(^|[\\/])powershell(\.exe)?$/i.test(pwsh);
}

function invalid(reason: string, hint?: string): McError {
  return new McError("LAYOUT_INVALID", reason, { backend: "wt", op: "prepare", hint });
}

/** Reject a session (window) name wt cannot hold; see {@link reservedWindowName}. */
export function checkWindowName(name: string, pwsh = "pwsh"): void {
  if (name.trim() === "") throw invalid("session name must not be blank");
  if (/[\u0000-\u001f\u007f]/.test(name))
    throw invalid(`session name ${JSON.stringify(name)} has control characters`);
  if (reservedWindowName(name)) {
    throw invalid(
      `session name "${name}" is a wt window id or keyword, not a window name`,
      "use --prefix or rename the layout (wt treats integers, `new` and `last` specially)",
    );
  }
  if (isLegacyPowerShell(pwsh) && name.includes('"')) {
    throw invalid(
      `session name ${JSON.stringify(name)} contains '"', which Windows PowerShell 5.1 cannot pass to wt.exe`,
      "use pwsh 7.3 or newer",
    );
  }
}

/** One tab of a launch. */
export interface LaunchTab {
  title: string;
  /** Absolute start directory (after `~` expansion). */
  startDir: string;
}

/** Input of {@link wtArgs} and {@link launchScript}. */
export interface LaunchInput {
  /** Window name (`--window`). */
  window: string;
  tabs: readonly LaunchTab[];
  /** PowerShell executable each tab runs its wrapper with. */
  pwsh: string;
  /** Path of the session's wrapper script. */
  wrapperPath: string;
  /** Keep the tab's PowerShell open after the command (`-NoExit`). */
  keepShell: boolean;
}

/**
 * Check an argument of a tab's command line. wt rebuilds the command line by joining its arguments with
 * spaces and wrapping those containing a space in `"…"` with no escaping (AppCommandlineArgs.cpp
 * `_getNewTerminalArgs`), then expands `%VAR%` (ConptyConnection.cpp `ExpandEnvironmentStringsW`).
 */
function checkTabArg(arg: string, what: string): void {
  const bad =
    arg === "" ||
    /[\u0000-\u001f"%]/.test(arg) ||
    (arg.includes(" ") && arg.endsWith("\\")) ||
    (arg.startsWith("[") && arg.endsWith("]"));
  if (bad) {
    throw new McError(
      "USAGE",
      `${what} ${JSON.stringify(arg)} cannot be passed through wt's tab command line`,
      {
        backend: "wt",
        op: "prepare",
        hint: 'choose a state directory (MC_STATE_DIR) and PowerShell path without ", %, control characters or a trailing backslash',
      },
    );
  }
}

/** The argv (after the program name) of a tab: PowerShell running the wrapper for tab `index`. */
export function tabCommandline(
  input: Pick<LaunchInput, "pwsh" | "wrapperPath" | "keepShell">,
  index: number,
) {
  const args = [
    input.pwsh,
    "-NoLogo",
    "-NoProfile",
    "-ExecutionPolicy",
    "Bypass",
    ...(input.keepShell ? ["-NoExit"] : []),
    "-File",
    input.wrapperPath,
    String(index),
  ];
  checkTabArg(input.pwsh, "PowerShell path");
  checkTabArg(input.wrapperPath, "wrapper path");
  return args;
}

/** A directory as wt's `--startingDirectory` value (Windows PowerShell 5.1: a trailing `\` is dropped, same directory). */
function startDirValue(dir: string, legacy: boolean): string {
  if (/[\u0000-\u001f]/.test(dir)) throw invalid(`startDir ${JSON.stringify(dir)} has control characters`);
  if (dir.includes('"'))
    throw invalid(`startDir ${JSON.stringify(dir)} contains '"', which no Windows path can`);
  // Windows PowerShell 5.1 wraps an argument with a space in "…" without doubling a trailing backslash,
  // so `"C:\a b\"` would swallow the quote (microsoft/terminal#4571 shows the same with cmd.exe).
  return legacy && dir.includes(" ") ? dir.replace(/(?<=[^\\:])\\+$/, "") : dir;
}

/**
 * The arguments wt.exe receives for one window with all its tabs: one invocation,
 * `--window=<name> new-tab --title=… --startingDirectory=… --suppressApplicationTitle -- <pwsh wrapper> ; new-tab …`.
 */
export function wtArgs(input: LaunchInput): string[] {
  const legacy = isLegacyPowerShell(input.pwsh);
  checkWindowName(input.window, input.pwsh);
  const out = [`--window=${wtValue(input.window)}`];
  input.tabs.forEach((t, i) => {
    if (legacy && t.title.includes('"')) {
      throw invalid(`tab title ${JSON.stringify(t.title)} contains '"'`, "use pwsh 7.3 or newer");
    }
    if (i > 0) out.push(";");
    out.push(
      "new-tab",
      `--title=${wtValue(t.title.replace(/[\u0000-\u001f\u007f]/g, " "))}`,
      `--startingDirectory=${wtValue(startDirValue(t.startDir, legacy))}`,
      "--suppressApplicationTitle",
      "--",
      ...tabCommandline(input, i).map(wtEscapeDelimiters),
    );
  });
  return out;
}

/** The PowerShell script that opens the window: one wt invocation for every tab. */
export function launchScript(input: LaunchInput & { wt: string }): string {
  const args = wtArgs(input);
  const lines: string[] = [];
  let line: string[] = [];
  for (const a of args) {
    if (a === "new-tab" || a === ";") {
      if (line.length) lines.push(`  ${line.join(", ")}`);
      line = [];
    }
    line.push(psQuote(a));
  }
  if (line.length) lines.push(`  ${line.join(", ")}`);
  return `${BOM}# Windows Terminal window ${psComment(JSON.stringify(input.window))}: ${input.tabs.length} tab(s)
# Generated by mc. Run: pwsh -NoProfile -File <this file>
${MARKERS.launch}
$ErrorActionPreference = 'Stop'
# Pass each argument to wt.exe with the C runtime quoting rules (PowerShell 7.3+, about_Parsing).
$PSNativeCommandArgumentPassing = 'Standard'
$mcArgs = @(
${lines.join("\n")}
)
& ${psQuote(input.wt)} @mcArgs
exit $LASTEXITCODE
`;
}

/** Input of {@link wrapperScript}. */
export interface WrapperInput {
  window: string;
  /** Directory of the records and the command files. */
  runDir: string;
  keepShell: boolean;
}

/** Name of tab `index`'s command file inside the run directory. */
export function commandFileName(index: number): string {
  return `tab-${index}.command.txt`;
}

/**
 * The per-session PowerShell wrapper each tab runs (`-File wrapper.ps1 <index>`). It writes the core
 * record (`@mc/core` outcome.ts) to `<runDir>/tab-<index>.json` atomically (temp file + Move-Item -Force),
 * runs the tab's command, read from its file, in a child PowerShell (`-EncodedCommand`, so no quoting
 * layer touches it), and records the exit code, or `signal: "INT"` when Ctrl+C stopped it.
 */
export function wrapperScript(w: WrapperInput): string {
  return `${BOM}# mc tab wrapper for Windows Terminal window ${psComment(JSON.stringify(w.window))}
# Generated by mc. Each tab runs: pwsh -NoLogo -NoProfile -ExecutionPolicy Bypass${w.keepShell ? " -NoExit" : ""} -File <this file> <tab index>
${MARKERS.wrapper}
param([Parameter(Mandatory = $true)][int]$McTab)
$ErrorActionPreference = 'Stop'
$mcRunDir = ${psQuote(w.runDir)}
$mcRecord = Join-Path $mcRunDir ('tab-{0}.json' -f $McTab)
function Write-McRecord([string]$Json) {
  $tmp = '{0}.tmp.{1}' -f $mcRecord, $PID
  [System.IO.File]::WriteAllText($tmp, $Json)
  Move-Item -LiteralPath $tmp -Destination $mcRecord -Force
}
$mcStart = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds()
Write-McRecord ('{{"v":1,"pid":{0},"start":{1}}}' -f $PID, $mcStart)
$mcCommandFile = Join-Path $mcRunDir ('tab-{0}.command.txt' -f $McTab)
$mcCommand = [System.IO.File]::ReadAllText($mcCommandFile, [System.Text.Encoding]::UTF8)
$mcEncoded = [Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($mcCommand))
$mcShell = (Get-Process -Id $PID).Path
$mcCode = $null
try {
  & $mcShell -NoLogo -NoProfile -EncodedCommand $mcEncoded
  $mcCode = $LASTEXITCODE
} catch {
  $mcCode = 1
  Write-Error -ErrorRecord $_ -ErrorAction Continue
} finally {
  $mcEnd = if ($null -eq $mcCode) { '"signal":"INT"' } else { '"exit":{0}' -f $mcCode }
  Write-McRecord ('{{"v":1,"pid":{0},"start":{1},"end":{2},{3}}}' -f $PID, $mcStart, [DateTimeOffset]::UtcNow.ToUnixTimeSeconds(), $mcEnd)
}
${w.keepShell ? "# -NoExit keeps this PowerShell open in the tab." : "exit $mcCode"}
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
 * One PowerShell script that stops the given processes (the trees core's process table found under the
 * recorded wrappers) and nothing else: a pid counts only while its process started when the table said
 * (a reused pid belongs to another process). It prints which really stopped and which survived
 * (access denied to an elevated process, or one that would not exit), parsed by `parseKillReport`.
 */
export function killScript(targets: readonly KillTarget[]): string {
  return `${MARKERS.kill}
$ErrorActionPreference = 'Stop'
$mcPids = ${intList(targets.map((t) => t.pid))}
$mcStarts = ${intList(targets.map((t) => t.startedAt))}
$mcTargets = [System.Collections.Generic.List[object]]::new()
$mcSurvivors = [System.Collections.Generic.List[int]]::new()
for ($i = 0; $i -lt $mcPids.Count; $i++) {
  $p = Get-Process -Id $mcPids[$i] -ErrorAction SilentlyContinue
  if ($null -eq $p) { continue }
  $s = $null
  try { $s = ([DateTimeOffset]$p.StartTime).ToUnixTimeMilliseconds() } catch { }
  if ($null -eq $s) { $mcSurvivors.Add($p.Id); continue }
  if ([long]$mcStarts[$i] -ge 0 -and [Math]::Abs($s - [long]$mcStarts[$i]) -gt 2000) { continue }
  $mcTargets.Add($p)
}
foreach ($p in $mcTargets) { try { $p.Kill() } catch { } }
$mcStopped = [System.Collections.Generic.List[int]]::new()
foreach ($p in $mcTargets) {
  $gone = $false
  try { $gone = $p.WaitForExit(3000) } catch { }
  if ($gone) { $mcStopped.Add($p.Id) } else { $mcSurvivors.Add($p.Id) }
}
ConvertTo-Json -InputObject @{ stopped = @($mcStopped); survivors = @($mcSurvivors) } -Compress
`;
}

/** Arguments for running a generated script with PowerShell, non-interactively (`-EncodedCommand`). */
export const pwshScriptArgs = psEncodedArgs;

/** Arguments for running a script file with PowerShell, non-interactively. */
export function pwshFileArgs(path: string): string[] {
  return ["-NoLogo", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File", path];
}

/** Arguments that bring window `name` forward (an existing window is summoned; AppHost.cpp `DispatchCommandline`). */
export function attachArgs(name: string): string[] {
  return [`--window=${wtValue(name)}`, "focus-tab"];
}
