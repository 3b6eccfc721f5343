import { BOM } from "../generate.js";
import { WtParseError } from "../parse.js";
import { windowsArgv } from "./wt-argv.js";

/**
 * A reader for the restricted PowerShell forms mc generates (single-quoted literals, the launch script's
 * argument array), so tests can go from script text to the argv PowerShell passes to wt. It follows the
 * PowerShell tokenizer's rules for '…' strings; anything outside mc's forms is rejected, never guessed.
 */

const SINGLE_QUOTE = /['\u2018\u2019\u201A\u201B]/;

/**
 * Read one PowerShell single-quoted literal starting at `text[start]`: its value and the index after it.
 * Inside, a quote (any of `'` U+2018–U+201B) followed by another stands for the second one; a lone one ends it.
 */
export function readPsSingleQuoted(text: string, start: number): { value: string; end: number } {
  if (!SINGLE_QUOTE.test(text[start] ?? "")) throw new WtParseError(`expected a '…' literal at ${start}`);
  let value = "";
  for (let j = start + 1; j < text.length; j++) {
    const c = text[j]!;
    if (SINGLE_QUOTE.test(c)) {
      if (!SINGLE_QUOTE.test(text[j + 1] ?? "")) return { value, end: j + 1 };
      value += text[j + 1];
      j++;
    } else value += c;
  }
  throw new WtParseError("unterminated '…' literal");
}

/** The value of `$<name> = '<literal>'` in a generated script. */
export function psAssignedLiteral(script: string, name: string): string {
  const prefix = `$${name} = `;
  const line = script.split(/\r?\n/).find((l) => l.startsWith(prefix));
  if (line === undefined) throw new WtParseError(`no $${name} assignment`);
  const { value, end } = readPsSingleQuoted(line, prefix.length);
  if (end !== line.length) throw new WtParseError(`trailing text after $${name}`);
  return value;
}

/** What a launch script runs. */
export interface LaunchEvaluation {
  /** The program name `Get-Command` resolves (`wt`, or a path). */
  file: string;
  /** The exact command line `Process.Start` passes (`ProcessStartInfo.Arguments`). */
  commandLine: string;
  /** That command line split as the program reads it (CommandLineToArgvW). */
  args: string[];
}

const FIXED = new Set([
  "$mcInfo = New-Object System.Diagnostics.ProcessStartInfo",
  "$mcInfo.FileName = $mcWt",
  "$mcInfo.Arguments = $mcCommandLine",
  "$mcInfo.UseShellExecute = $false",
  "$mcProcess = [System.Diagnostics.Process]::Start($mcInfo)",
  "$mcProcess.WaitForExit()",
  "exit $mcProcess.ExitCode",
]);
const GET = "$mcWt = (Get-Command -Name ";
const GET_TAIL = " -CommandType Application | Select-Object -First 1).Path";

/**
 * Evaluate a launch script in the restricted form mc generates (comments, `$ErrorActionPreference`, the
 * `Get-Command` of wt, one `$mcCommandLine = '…'`, the fixed `Process.Start` lines), giving the program and
 * the command line it is started with. Anything else throws: it would not be mc's script.
 */
export function evaluateLaunchScript(text: string): LaunchEvaluation {
  const lines = (text.startsWith(BOM) ? text.slice(1) : text).split(/\r?\n/);
  let file: string | undefined;
  let commandLine: string | undefined;
  const seen = new Set<string>();
  for (const [k, line] of lines.entries()) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    if (FIXED.has(line)) {
      seen.add(line);
      continue;
    }
    const lit = (prefix: string, tail = "") => {
      const v = readPsSingleQuoted(line, prefix.length);
      if (line.slice(v.end) !== tail) throw new WtParseError(`line ${k + 1}: trailing text`);
      return v.value;
    };
    if (line.startsWith("$ErrorActionPreference = ")) lit("$ErrorActionPreference = ");
    else if (line.startsWith(GET)) file = lit(GET, GET_TAIL);
    else if (line.startsWith("$mcCommandLine = ")) commandLine = lit("$mcCommandLine = ");
    else throw new WtParseError(`line ${k + 1}: not an mc launch form: ${JSON.stringify(line)}`);
  }
  if (file === undefined || commandLine === undefined || seen.size !== FIXED.size) {
    throw new WtParseError("no complete wt invocation");
  }
  return { file, commandLine, args: windowsArgv(`wt.exe ${commandLine}`).slice(1) };
}
