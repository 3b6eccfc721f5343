import { McError, psQuote } from "@mc/core";
import type { PaneAction } from "./pane-splits.js";
import { cli11EscapeClause, isWindowsPowerShell, type WtPlatform } from "./versions.js";

/**
 * Pure generators for the wt.exe launch: the window name, wt's argument list, the exact command line
 * wt.exe receives, and the PowerShell script that starts it. Escaping layers, outermost first:
 * 1. PowerShell: the command line is ONE single-quoted literal ({@link psQuote}), handed to
 *    `System.Diagnostics.Process.Start` as `ProcessStartInfo.Arguments`. No PowerShell version's
 *    native-argument passing touches it (Windows PowerShell 5.1 and pwsh 7.0–7.2 "Legacy" mangle `"` and
 *    trailing backslashes; NativeCommandParameterBinder.cs), so one form works on 5.1 and every 7.x.
 * 2. The command line: each argument quoted with .NET's `PasteArguments.AppendArgument` rules
 *    ({@link quoteWindowsArg}), which `CommandLineToArgvW` undoes exactly: wt.exe forwards the tail verbatim
 *    (src/cascadia/wt/shim.cpp) and WindowEmperor.cpp `commandlineToArgArray` splits it.
 * 3. wt's own splitter: `;` anywhere in any argument starts a new subcommand unless written `\;`
 *    (AppCommandlineArgs.cpp `_commandDelimiterRegex` `^;|[^\\];`, Commandline.cpp `AddArg`).
 * 4. CLI11: from wt 1.25 (CLI11 2.6.1) an option value written `[[` + doubled characters + `]]`
 *    collapses to `[…]` (Option_inl.hpp `_add_result`), so such values are pre-encoded there, and only there.
 *
 * Newlines never travel in wt's argv (microsoft/terminal#4619): commands live in files the wrapper reads.
 */

/** Marker lines the generated scripts carry (the test fakes dispatch on them). */
export const MARKERS = {
  launch: "# mc:launch v2",
  wrapper: "# mc:tab-wrapper v3",
  kill: "# mc:kill v3",
  probe: "# mc:probe v1",
  attach: "# mc:attach v1",
} as const;

/** UTF-8 byte order mark: Windows PowerShell 5.1 reads a .ps1 without it in the ANSI code page. */
export const BOM = "\uFEFF";

/** Re-exported from @mc/core, where the other PowerShell user (@mc/remote) finds it too. */
export { psQuote };

/** CreateProcess takes at most 32,767 characters of command line, program path included. */
export const MAX_COMMAND_LINE = 32_767;
/** What mc allows itself for wt's arguments, leaving room for the path of wt.exe. */
export const MAX_WT_ARGUMENTS = 32_000;

/** Text safe inside a PowerShell `#` comment (one line). */
export function psComment(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]/g, " ");
}

function invalid(reason: string, hint?: string): McError {
  return new McError("LAYOUT_INVALID", reason, { backend: "wt", op: "prepare", hint });
}

/** True when CLI11 2.6.1 would rewrite this option value: `[[` + every character doubled + `]]`. */
export function cli11Collapses(v: string): boolean {
  if (v.length < 4 || !v.startsWith("[[") || !v.endsWith("]]")) return false;
  for (let i = 2; i < v.length - 2; i += 2) if (v[i] !== v[i + 1]) return false;
  return true;
}

/** Encode an option value so CLI11 2.6.1's `[[…]]` escape clause gives it back unchanged. */
export function cli11Encode(v: string): string {
  if (!cli11Collapses(v)) return v;
  return `[[${[...v.slice(1, -1)].map((c) => c + c).join("")}]]`;
}

/** Escape every `;` as `\;` so wt's splitter keeps it in the argument (Commandline.cpp `AddArg` undoes it). */
export function wtEscapeDelimiters(v: string): string {
  return v.replace(/;/g, "\\;");
}

/**
 * An option value for this wt: `;`-escaped, and CLI11-encoded where CLI11 2.6.1 (wt ≥ 1.25) would
 * collapse it. A value CLI11 may or may not collapse, for a wt of unknown version, is refused.
 */
export function wtValue(v: string, p: WtPlatform, what = "value"): string {
  if (cli11Collapses(v)) {
    const clause = cli11EscapeClause(p);
    if (clause === undefined) {
      throw invalid(
        `${what} ${JSON.stringify(v)} reads differently in Windows Terminal ≥ 1.25 (CLI11 2.6.1 turns [[xx]] into [x]) and older releases, and this wt's version is unknown`,
        "let mc detect the Windows Terminal version (checkAvailable), or rename it",
      );
    }
    if (clause) return wtEscapeDelimiters(cli11Encode(v));
  }
  return wtEscapeDelimiters(v);
}

/**
 * The name of the window mc opens for a session: `mc-<run>-<index> <session>`. It is new for every start,
 * so nothing of an earlier start is ever reused: not a window left open by a killed or failed tab
 * (closeOnExit keeps those, ConptyConnection.cpp:548), nor a layout Windows Terminal saved under the
 * name (workspaces, #20314 on main: WindowEmperor.cpp `_createWindowMaybeRestoringWorkspace` restores it
 * and drops the new command line), nor a same-named window of the user's. Starting with `mc-` it is
 * never a window id or keyword: not on wt ≥ 1.23 (`til::parse_signed`, `new`, `last`, WindowEmperor.cpp
 * `_dispatchCommandline`), not on wt ≤ 1.22 (`std::stoi` reads a prefix, so `2fa` is window 2:
 * v1.22.11751.0 AppLogic.cpp), not `_quake` (TerminalWindow.cpp `IsQuakeWindow`), and never `[[…]]`.
 */
export function wtWindowName(session: string, runId: string, index: number): string {
  const tag = runId.replace(/[^0-9A-Za-z]/g, "").slice(-6) || "run";
  return `mc-${tag}-${index} ${session}`;
}

/**
 * How .NET quotes one argument for a Windows command line (System.PasteArguments.AppendArgument):
 * unchanged unless empty or containing whitespace or `"`, else `"…"` with backslashes doubled before a
 * `"` and at the end. `CommandLineToArgvW` reads it back exactly.
 */
export function quoteWindowsArg(arg: string): string {
  if (arg !== "" && !/[\s"]/.test(arg)) return arg;
  let out = '"';
  for (let i = 0; i < arg.length; ) {
    let slashes = 0;
    while (arg[i] === "\\") {
      slashes++;
      i++;
    }
    if (i === arg.length) out += "\\".repeat(slashes * 2);
    else if (arg[i] === '"') {
      out += `${"\\".repeat(slashes * 2 + 1)}"`;
      i++;
    } else {
      out += "\\".repeat(slashes) + arg[i];
      i++;
    }
  }
  return `${out}"`;
}

/** The command line (after the program) that gives a program exactly `args`. */
export function windowsCommandLine(args: readonly string[]): string {
  return args.map(quoteWindowsArg).join(" ");
}

/** One action after a tab's `new-tab`: a further pane (with its absolute start directory) or a focus move. */
export type LaunchPaneAction =
  | (PaneAction & { kind: "focus" })
  | (PaneAction & { kind: "split"; startDir: string });

/** One tab of a launch. */
export interface LaunchTab {
  title: string;
  /** Absolute start directory (after `~` expansion). */
  startDir: string;
  /** The wrapper slot its first pane runs (default: the tab's position). */
  slot?: number | undefined;
  /** Its further panes and focus moves, in order (pane-splits.ts `paneActions`). */
  panes?: readonly LaunchPaneAction[] | undefined;
}

/** Input of {@link wtArgs} and {@link launchScript}. */
export interface LaunchInput {
  /** Window name (`--window`), from {@link wtWindowName}. */
  window: string;
  tabs: readonly LaunchTab[];
  /** PowerShell executable each tab runs its wrapper with. */
  pwsh: string;
  /** Path of the session's wrapper script. */
  wrapperPath: string;
  /** What mc knows of the host's wt and PowerShell versions. */
  platform: WtPlatform;
}

/**
 * Check an argument of a tab's command line. wt rebuilds the command line by joining its arguments with
 * spaces and wrapping those containing a space in `"…"` with no escaping (AppCommandlineArgs.cpp
 * `_getNewTerminalArgs`), then expands `%VAR%` (ConptyConnection.cpp `ExpandEnvironmentStringsW`).
 */
function checkTabArg(arg: string, what: string, windowsPowerShell: boolean): void {
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
  // Windows PowerShell 5.1 reads a -File path as a wildcard pattern (PowerShell/PowerShell#4726).
  if (windowsPowerShell && what === "wrapper path" && /[[\]*?]/.test(arg)) {
    throw new McError(
      "USAGE",
      `wrapper path ${JSON.stringify(arg)} has a wildcard character Windows PowerShell 5.1 cannot run with -File`,
      {
        backend: "wt",
        op: "prepare",
        hint: "choose a state directory (MC_STATE_DIR) without [ ] * ?, or use PowerShell 7",
      },
    );
  }
}

/**
 * The argv (after the program name) a tab starts: PowerShell running the wrapper for tab `index`,
 * without a profile and without -NoExit (the wrapper itself leaves a fresh shell in the tab).
 */
export function tabCommandline(
  input: Pick<LaunchInput, "pwsh" | "wrapperPath" | "platform">,
  index: number,
): string[] {
  const legacy = isWindowsPowerShell(input.platform, input.pwsh);
  checkTabArg(input.pwsh, "PowerShell path", legacy);
  checkTabArg(input.wrapperPath, "wrapper path", legacy);
  return [
    input.pwsh,
    "-NoLogo",
    "-NoProfile",
    "-ExecutionPolicy",
    "Bypass",
    "-File",
    input.wrapperPath,
    String(index),
  ];
}

function startDirValue(dir: string, p: WtPlatform): string {
  if (/[\u0000-\u001f]/.test(dir)) throw invalid(`startDir ${JSON.stringify(dir)} has control characters`);
  if (dir.includes('"'))
    throw invalid(`startDir ${JSON.stringify(dir)} contains '"', which no Windows path can`);
  // wt expands `%NAME%` in a starting directory as it does in a tab's command line (ExpandEnvironmentStringsW):
  // a folder named `%TEMP%` (legal on NTFS) would open another directory (review H56-5).
  if (/%[^%]+%/.test(dir))
    throw invalid(
      `startDir ${JSON.stringify(dir)} holds %…%, which Windows Terminal replaces with an environment variable's value`,
      "rename the folder, or start the tab in its parent and Set-Location -LiteralPath into it in the command",
    );
  return wtValue(dir, p, "startDir");
}

/**
 * One pane action as wt arguments: `split-pane -H|-V [--size=0.3] --title=… --startingDirectory=…
 * --suppressApplicationTitle -- <pwsh wrapper slot>` (see pane-splits.ts for the flags' meaning), or
 * `focus-pane --target=<id>`.
 */
function paneArgs(input: LaunchInput, t: LaunchTab, a: LaunchPaneAction): string[] {
  if (a.kind === "focus") return ["focus-pane", `--target=${a.target}`];
  return [
    "split-pane",
    a.direction === "down" ? "--horizontal" : "--vertical",
    ...(a.size === undefined ? [] : [`--size=${a.size}`]),
    `--title=${wtValue(t.title.replace(/[\u0000-\u001f\u007f]/g, " "), input.platform, "tab title")}`,
    `--startingDirectory=${startDirValue(a.startDir, input.platform)}`,
    "--suppressApplicationTitle",
    "--",
    ...tabCommandline(input, a.slot).map(wtEscapeDelimiters),
  ];
}

/**
 * The arguments wt.exe receives for one window with all its tabs: one invocation,
 * `--window=<name> new-tab --title=… --startingDirectory=… --suppressApplicationTitle -- <pwsh wrapper> ; new-tab …`.
 */
export function wtArgs(input: LaunchInput): string[] {
  if (!input.window.startsWith("mc-") || /[\u0000-\u001f\u007f]/.test(input.window)) {
    throw invalid(`window name ${JSON.stringify(input.window)} is not one mc generates`);
  }
  const out = [`--window=${wtValue(input.window, input.platform, "window name")}`];
  input.tabs.forEach((t, i) => {
    if (i > 0) out.push(";");
    out.push(
      "new-tab",
      `--title=${wtValue(t.title.replace(/[\u0000-\u001f\u007f]/g, " "), input.platform, "tab title")}`,
      `--startingDirectory=${startDirValue(t.startDir, input.platform)}`,
      "--suppressApplicationTitle",
      "--",
      ...tabCommandline(input, t.slot ?? i).map(wtEscapeDelimiters),
    );
    for (const a of t.panes ?? []) out.push(";", ...paneArgs(input, t, a));
  });
  const length = windowsCommandLine(out).length;
  if (length > MAX_WT_ARGUMENTS) {
    throw invalid(
      `the wt command line for ${input.tabs.length} tab(s) is ${length} characters; Windows allows ${MAX_COMMAND_LINE.toLocaleString("en-US")} in all`,
      "split the layout into several (sessions balance-load -b moreLayouts)",
    );
  }
  return out;
}

/**
 * The PowerShell script that opens the window: wt.exe started once, by `Process.Start`, with the exact
 * command line mc computed (see the module comment). wt.exe exits 0 as soon as it handed the command line
 * over, even when Windows Terminal cannot parse it (shim.cpp), so this script's exit code only says that
 * wt.exe ran; the tabs' records say whether the window opened.
 */
export function launchScript(input: LaunchInput & { wt: string }): string {
  const commandLine = windowsCommandLine(wtArgs(input));
  return `${BOM}# Windows Terminal window ${psComment(JSON.stringify(input.window))}: ${input.tabs.length} tab(s)
# Generated by mc.
${MARKERS.launch}
$ErrorActionPreference = 'Stop'
$mcWt = (Get-Command -Name ${psQuote(input.wt)} -CommandType Application | Select-Object -First 1).Path
# The exact command line for wt.exe, quoted by mc for CommandLineToArgvW: no PowerShell version's
# native-argument passing is involved.
$mcCommandLine = ${psQuote(commandLine)}
$mcInfo = New-Object System.Diagnostics.ProcessStartInfo
$mcInfo.FileName = $mcWt
$mcInfo.Arguments = $mcCommandLine
$mcInfo.UseShellExecute = $false
$mcProcess = [System.Diagnostics.Process]::Start($mcInfo)
$mcProcess.WaitForExit()
exit $mcProcess.ExitCode
`;
}
