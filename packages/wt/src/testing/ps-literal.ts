import { BOM } from "../generate.js";
import { WtParseError } from "../parse.js";

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

/** Values of a line made only of single-quoted literals separated by commas. */
function literalList(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    while (line[i] === " ") i++;
    const { value, end } = readPsSingleQuoted(line, i);
    out.push(value);
    i = end;
    while (line[i] === " ") i++;
    if (i >= line.length) return out;
    if (line[i] !== ",") throw new WtParseError(`unexpected ${JSON.stringify(line.slice(i))}`);
    i++;
  }
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

/** What a launch script runs, and the PowerShell settings it makes. */
export interface LaunchEvaluation {
  file: string;
  args: string[];
  /** `$PSNativeCommandArgumentPassing`, when set. */
  argumentPassing?: string;
}

/**
 * Evaluate a launch script in the restricted form mc generates (comments, `$X = '…'` settings, one
 * `$mcArgs = @( … )` of single-quoted literals, `& '<file>' @mcArgs`, `exit $LASTEXITCODE`), giving the
 * program and argv PowerShell passes. Anything else throws: it would not be mc's script.
 */
export function evaluateLaunchScript(text: string): LaunchEvaluation {
  const lines = (text.startsWith(BOM) ? text.slice(1) : text).split(/\r?\n/);
  let args: string[] | undefined;
  let call: { file: string } | undefined;
  let argumentPassing: string | undefined;
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k]!;
    if (line.trim() === "" || line.startsWith("#")) continue;
    const setting = /^\$(ErrorActionPreference|PSNativeCommandArgumentPassing) = (?=')/.exec(line);
    if (setting) {
      const v = readPsSingleQuoted(line, setting[0].length);
      if (v.end !== line.length) throw new WtParseError(`line ${k + 1}: trailing text`);
      if (setting[1] === "PSNativeCommandArgumentPassing") argumentPassing = v.value;
      continue;
    }
    if (line === "$mcArgs = @(") {
      args = [];
      for (k++; k < lines.length && lines[k] !== ")"; k++) args.push(...literalList(lines[k]!));
      if (k >= lines.length) throw new WtParseError("unterminated @( … )");
      continue;
    }
    if (line.startsWith("& ") && line.endsWith(" @mcArgs")) {
      const { value, end } = readPsSingleQuoted(line, 2);
      if (line.slice(end) !== " @mcArgs") throw new WtParseError(`line ${k + 1}: unexpected call form`);
      call = { file: value };
      continue;
    }
    if (line === "exit $LASTEXITCODE") continue;
    throw new WtParseError(`line ${k + 1}: not an mc launch form: ${JSON.stringify(line)}`);
  }
  if (!args || !call) throw new WtParseError("no wt invocation");
  return { file: call.file, args, ...(argumentPassing === undefined ? {} : { argumentPassing }) };
}
