import { win32 } from "node:path";
import { McError, normaliseStartDir, psQuote, type TabConfig } from "@mc/core";
import { type CommandShell, MAX_CMD_COMMAND } from "./wrapper.js";

/**
 * Which shell reads a tab's `command` on Windows, and the commands mc refuses before anything starts
 * because that shell would not run them as written.
 *
 * mc's decision: `command` is PowerShell by default (the PowerShell that runs the wrapper, with the
 * user's profile), so a layout written for Windows Terminal's own shell keeps working; a tab's
 * `shell: "cmd"` (or WtBackendOptions.shell for every tab without one) runs it with `cmd.exe /s /c`,
 * which is how machineconfig's Windows layouts (`"C:\…\node.exe" x.js`, `%APPDATA%\…`) were meant:
 * machineconfig handed them to wt as a CreateProcess command line, which wt expanded `%VAR%` in
 * (ConptyConnection.cpp:55). A command that cannot be PowerShell is refused with that hint instead of
 * failing later in its tab.
 */

function refuse(tab: string, reason: string, hint: string): McError {
  return new McError("LAYOUT_INVALID", `tab "${tab}": ${reason}`, { backend: "wt", op: "prepare", hint });
}

/**
 * Statement starts of a PowerShell text at brace depth 0, outside strings and comments (a light scanner:
 * '…' with '', "…" with backtick escapes, # and <# #> comments, here-strings). Returns the index of
 * each statement's first non-blank character.
 */
export function statementStarts(text: string): number[] {
  const out: number[] = [];
  let depth = 0;
  let atStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === " " || c === "\t" || c === "\r") continue;
    if (c === "\n" || c === ";") {
      if (depth === 0) atStart = true;
      continue;
    }
    if (atStart && depth === 0) out.push(i);
    atStart = false;
    if (c === "#") i = endOf(text, i, "\n") - 1;
    else if (c === "<" && text[i + 1] === "#") i = endOf(text, i + 2, "#>") + 1;
    else if (c === "@" && (text[i + 1] === "'" || text[i + 1] === '"') && text[i + 2] === "\n") {
      i = endOf(text, i + 3, `\n${text[i + 1]}@`) + 2;
    } else if (c === "'") {
      for (i++; i < text.length && !(text[i] === "'" && text[i + 1] !== "'"); i++) if (text[i] === "'") i++;
    } else if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "`") i++;
    } else if (c === "{" || c === "(") depth++;
    else if ((c === "}" || c === ")") && depth > 0) depth--;
  }
  return out;
}

function endOf(text: string, from: number, what: string): number {
  const k = text.indexOf(what, from);
  return k < 0 ? text.length : k;
}

/** Options of {@link checkTabCommand}. */
export interface CommandCheck {
  shell: CommandShell;
  /** The tab shell is Windows PowerShell 5.1 (no `&&`/`||`). */
  windowsPowerShell: boolean;
}

/** Refuse a command its shell would not run as written (see the module comment). */
export function checkTabCommand(tab: TabConfig, o: CommandCheck): void {
  const c = tab.command;
  if (o.shell === "cmd") {
    if (/[\r\n]/.test(c)) {
      throw refuse(
        tab.tabName,
        "a cmd command must be one line (cmd /c runs only the first)",
        'join the lines with &&, or use shell "powershell"',
      );
    }
    if (c.length > MAX_CMD_COMMAND) {
      throw refuse(
        tab.tabName,
        `the command is ${c.length} characters; cmd.exe takes at most 8,191 (mc allows ${MAX_CMD_COMMAND})`,
        'put it in a .cmd file and run that, or use shell "powershell" (no length limit)',
      );
    }
    return;
  }
  const cmdHint =
    'this is a cmd.exe command line: give the tab "shell": "cmd" (or WtBackendOptions shell "cmd" for every tab)';
  // @mc/core balance.ts merges tabs with a POSIX sh driver: `/bin/sh -c '<driver>' mc-merged <parts…>`.
  if (/^\s*\/bin\/sh -c '/.test(c) && / mc-merged /.test(c)) {
    throw refuse(
      tab.tabName,
      "balance-load -b combineTabs merged these tabs with a POSIX sh driver (/bin/sh), which Windows does not have",
      "merge the tabs for PowerShell (mergeTabsPowerShell), or use -b moreLayouts",
    );
  }
  for (const at of statementStarts(c)) {
    const rest = c.slice(at);
    if (/^(?:"[^"\r\n]*"|'(?:[^'\r\n]|'')*')[ \t]+(?!\d*>)[^\s|;)\]},.=+*/<>&-]/.test(rest)) {
      throw refuse(
        tab.tabName,
        `PowerShell cannot run ${JSON.stringify(rest.split(/\r?\n/)[0])}: a quoted program path followed by arguments is "Unexpected token" there`,
        cmdHint,
      );
    }
    if (/^%[A-Za-z_][\w()]*%/.test(rest)) {
      throw refuse(
        tab.tabName,
        "%NAME% is cmd's syntax: PowerShell reads % as ForEach-Object and runs nothing",
        cmdHint,
      );
    }
    if (rest.startsWith("{")) {
      throw refuse(
        tab.tabName,
        "a statement starting with { is a script block that PowerShell prints instead of running (balance-load -b combineTabs merges tabs in POSIX syntax)",
        "merge the tabs for PowerShell, or use -b moreLayouts",
      );
    }
  }
  if (c.includes("'\\''")) {
    throw refuse(
      tab.tabName,
      "'\\'' is POSIX quoting; in PowerShell it ends the string",
      "write the command for PowerShell ('' stands for ')",
    );
  }
  if (o.windowsPowerShell && /&&|\|\|/.test(c.replace(/'[^']*'|"[^"]*"/g, ""))) {
    throw refuse(
      tab.tabName,
      "&& and || are parse errors in Windows PowerShell 5.1 (pipeline chains came in PowerShell 7)",
      "use PowerShell 7 (pwsh), or if ($?) { … }",
    );
  }
}

/** Stands for the home directory in core's normaliseStartDir: a path never holds NUL. */
const HOME_MARK = "\u0000";

/** The startDir under the home directory (`~`, `~/…`, `$HOME`, `${HOME}…`, as core's normaliseStartDir reads it), or undefined. */
function underHome(dir: string): string | undefined {
  const d = normaliseStartDir(dir, HOME_MARK);
  return d === dir ? undefined : d.slice(HOME_MARK.length).replace(/^[\\/]+/, "");
}

/** A start directory as a PowerShell expression: a leading `~`, `$HOME` or `${HOME}` is the home directory (review H43-4). */
function dirExpression(dir: string): string {
  const rest = underHome(dir);
  if (rest === undefined) return psQuote(dir);
  return rest === "" ? "$HOME" : `(Join-Path $HOME ${psQuote(rest)})`;
}

/** First line of the PowerShell merge driver (the test fakes dispatch on it). */
export const MERGED_MARKER = "# mc:merged v1";

/**
 * Tabs merged into one PowerShell command: what `balance-load -b combineTabs` must emit for Windows
 * Terminal, a reference for `@mc/core` balance.ts (whose driver is POSIX sh: `/bin/sh -c … mc-merged …`).
 * The same rules as that driver: parts run one after the other, each in its own start directory and its
 * own scope; a part that fails is named and the others still run; the merged tab exits with the first
 * failure's status (a part's status as mc's wrapper reads it: a native program's own exit code). One
 * difference PowerShell imposes: `exit` in a part ends the merged tab (there is no subshell).
 */
export function mergeTabsPowerShell(tabs: readonly TabConfig[], tabName: string): TabConfig {
  const first = tabs[0];
  if (!first) throw new RangeError("no tabs to merge");
  const parts = tabs
    .map(
      (t) =>
        `  @{ name = ${psQuote(t.tabName)}; dir = ${dirExpression(t.startDir)}; code = ${psQuote(t.command)} }`,
    )
    .join(",\n");
  const command = `${MERGED_MARKER}
# Each part in its own directory and scope; a failing part is named, the others still run, and the tab
# ends with the first failure's status.
$mcFirst = 0
foreach ($mcPart in @(
${parts}
)) {
  $global:mcPartCode = 1
  try {
    Push-Location -LiteralPath $mcPart.dir -ErrorAction Stop
    try {
      & ([scriptblock]::Create($mcPart.code + "\`n\`n" + '$global:mcPartCode = if ($?) { 0 } elseif ($LASTEXITCODE) { $LASTEXITCODE } else { 1 }'))
    } finally {
      Pop-Location
    }
  } catch {
    [Console]::Error.WriteLine($_.Exception.Message)
  }
  if ($global:mcPartCode -ne 0) {
    [Console]::Error.WriteLine(('mc: part "{0}" failed (exit {1})' -f $mcPart.name, $global:mcPartCode))
    if ($mcFirst -eq 0) { $mcFirst = $global:mcPartCode }
  }
}
exit $mcFirst`;
  const weight = tabs.reduce((s, t) => s + (t.tabWeight ?? 1), 0);
  // A relative startDir is relative to the directory sessions runs in (core resolveStartDir): the merged
  // tab then starts there, so each part's Push-Location finds it as the unmerged tab would have (as core's
  // mergeTabs does).
  const relative = tabs.some((t) => underHome(t.startDir) === undefined && !win32.isAbsolute(t.startDir));
  return { tabName, startDir: relative ? "." : first.startDir, command, tabWeight: weight };
}
