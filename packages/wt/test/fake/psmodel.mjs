// A small model of how PowerShell runs a `-Command` / `-EncodedCommand` text, for the fake pwsh. Only
// what decides a tab's outcome is modelled, each from PowerShell v7.6.5 (and 5.1 where it differs):
// - The whole text is parsed before anything runs; a parse error runs nothing and exits 1
//   (ConsoleHost.cs: the ParseException is reported, `$?` is false).
// - Parse errors modelled: a string followed by a bare word ("Unexpected token", e.g. cmd's
//   `"C:\…\node.exe" x.js`); `&&` / `||` in Windows PowerShell 5.1 (pipeline chains are PowerShell 7).
// - Statements run in turn; `$?` is each statement's success: a native program's is exit code == 0 and it
//   sets `$LASTEXITCODE` (NativeCommandProcessor.cs); a cmdlet's is whether it wrote an error.
// - `exit N` ends the process with N. Without it, the process ends with `$global:?` mapped to 0 or 1
//   (ConsoleHost.cs DoRunspaceLoop `ExecuteCommandAndGetResultAsBool("$global:?")`; PowerShell#13501):
//   the native program's own code is lost.
// - A statement starting with `{` is a script block literal: it is output (printed), not run.
// - Commands the profile defines (FAKE_PWSH_PROFILE: one `function Name` per line, standing for
//   $PROFILE) exist only when the profile was loaded; otherwise "not recognized", `$?` false.
// Natives run through /bin/sh (the stand-in for CreateProcess); `echo`/`Write-Output`, `Start-Sleep`,
// `Set-Location`, `Get-Item`, `throw`, `if/elseif/else` on `$?` / `$LASTEXITCODE` are interpreted.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { psLiteral } from "./lib.mjs";

/** Split a text into top-level statements (newlines and `;` outside quotes, braces and comments). */
export function statements(text) {
  const out = [];
  let cur = "";
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'" || c === "\u2018" || c === "\u2019") {
      const [, end] = psLiteral(text, i);
      cur += text.slice(i, end);
      i = end - 1;
    } else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "`" ? 2 : 1;
      cur += text.slice(i, j + 1);
      i = j;
    } else if (c === "#" && !/\S/.test(cur.slice(-1))) {
      while (i < text.length && text[i] !== "\n") i++;
      i--;
    } else if (c === "`" && text[i + 1] === "\n") i++;
    else if ((c === "\n" || c === ";") && depth === 0) {
      if (cur.trim()) out.push(cur.trim());
      cur = "";
    } else {
      if (c === "{" || c === "(") depth++;
      if (c === "}" || c === ")") depth--;
      cur += c;
    }
  }
  if (depth !== 0) throw new Error("Missing closing '}' in statement block or type definition.");
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function parseCheck(stmts, o) {
  for (const s of stmts) {
    if (/^(?:"[^"]*"|'(?:[^']|'')*')[ \t]+(?!\d*>)[^\s|;)\]},.=+*/<>&-]/.test(s))
      throw new Error(`Unexpected token in expression or statement: ${s}`);
    if (o.windowsPowerShell && /&&|\|\|/.test(s.replace(/'[^']*'|"[^"]*"/g, ""))) {
      throw new Error("The token '&&' is not a valid statement separator in this version.");
    }
  }
}

const literal = (s) => (/^'/.test(s) ? psLiteral(s, 0)[0] : s.replace(/^"|"$/g, ""));

/** Parse `if (c) { b } elseif (c) { b } else { b }` into branches. */
function ifChain(s) {
  const branches = [];
  let rest = s;
  for (;;) {
    const m = /^(if|elseif)\s*\(([^)]*)\)\s*\{/.exec(rest) ?? /^(else)\s*()\{/.exec(rest);
    if (!m) return rest.trim() === "" ? branches : undefined;
    let depth = 1;
    let j = m[0].length;
    while (j < rest.length && depth > 0) {
      if (rest[j] === "{") depth++;
      if (rest[j] === "}") depth--;
      j++;
    }
    branches.push({ cond: m[1] === "else" ? undefined : m[2].trim(), body: rest.slice(m[0].length, j - 1) });
    rest = rest.slice(j).trim();
  }
}

function cond(c, st) {
  if (c === "$?") return st.ok;
  if (c === "-not $?") return !st.ok;
  if (c === "$LASTEXITCODE") return Boolean(st.lastExit);
  throw new Error(`fake pwsh: condition not modelled: ${c}`);
}

function sh(line, cwd) {
  return new Promise((res) => {
    const child = spawn("/bin/sh", ["-c", line], { cwd, stdio: ["inherit", "ignore", "ignore"] });
    child.on("exit", (code, signal) => res(code ?? (signal === "SIGINT" ? -1073741510 : -1)));
  });
}

/** The cmdlets and keywords the model interprets: [pattern, handler(match, state) → { exit } | undefined]. */
const BUILTINS = [
  [
    /^exit(?:\s+(.+))?$/i,
    (m, st) => {
      const v = m[1]?.trim();
      return { exit: v === undefined ? 0 : v === "$LASTEXITCODE" ? (st.lastExit ?? 0) : Number(v) };
    },
  ],
  [
    /^(?:Start-Sleep|sleep)\s+(?:-Seconds\s+)?(\d+(?:\.\d+)?)$/i,
    async (m, st) => {
      await new Promise((r) => setTimeout(r, Number(m[1]) * 1000));
      st.ok = true;
    },
  ],
  [
    /^(?:Write-Output|Write-Host|echo)\s+('(?:[^']|'')*'|"[^"]*"|\S+)(?:\s*>\s*(\S+))?$/i,
    (m, st) => {
      if (m[2]) writeFileSync(resolve(st.cwd, literal(m[2])), `${literal(m[1])}\n`);
      st.ok = true;
    },
  ],
  [/^throw\b/i, () => ({ exit: 1 })],
  [
    /^Set-Location\s+-LiteralPath\s+('(?:[^']|'')*')(\s+-ErrorAction\s+Stop)?$/i,
    (m, st) => {
      const dir = resolve(st.cwd, literal(m[1]));
      if (existsSync(dir)) {
        st.cwd = dir;
        st.ok = true;
      } else if (m[2]) return { exit: 1 };
      else st.ok = false;
      return undefined;
    },
  ],
  [
    /^Get-Item\s+(\S+)$/i,
    (m, st) => {
      st.ok = existsSync(resolve(st.cwd, literal(m[1])));
    },
  ],
];

/** Run statements; returns `{ exit }` when the process must end. */
async function run(stmts, st, o) {
  for (const s of stmts) {
    if (o.interrupted()) return { exit: 1 };
    const builtin = BUILTINS.map(([re, f]) => [re.exec(s), f]).find(([m]) => m);
    if (s.startsWith("{")) {
      st.ok = true;
      st.output.push(s);
    } else if (builtin) {
      const r = await builtin[1](builtin[0], st);
      if (r) return r;
    } else if (/^if\s*\(/.test(s)) {
      const chain = ifChain(s);
      if (!chain) throw new Error(`fake pwsh: if not modelled: ${s}`);
      const hit = chain.find((b) => b.cond === undefined || cond(b.cond, st));
      const r = hit ? await run(statements(hit.body), st, o) : undefined;
      if (r) return r;
    } else if (o.profileFunctions.has(s.split(/\s+/)[0])) {
      st.ok = o.profileLoaded;
      if (!o.profileLoaded) process.stderr.write(`The term '${s.split(/\s+/)[0]}' is not recognized\n`);
    } else {
      const code = await sh(s, st.cwd);
      st.ok = code === 0;
      st.lastExit = code;
      if (o.interrupted()) return { exit: 1 };
    }
  }
  return undefined;
}

/** Functions the fake profile defines (see the header). */
export function profileFunctions() {
  const p = process.env.FAKE_PWSH_PROFILE;
  if (!p || !existsSync(p)) return new Set();
  return new Set([...readFileSync(p, "utf8").matchAll(/^function\s+([\w-]+)/gm)].map((m) => m[1]));
}

const PART =
  /^ {2}@\{ name = ('(?:[^']|'')*'); dir = (\$HOME|\(Join-Path \$HOME '(?:[^']|'')*'\)|'(?:[^']|'')*'); code = ('(?:[^']|'')*') \},?$/gm;

/**
 * mc's PowerShell merge driver (src/commands.ts mergeTabsPowerShell), doing what it does: each part in its
 * own directory (Push-Location -ErrorAction Stop: a missing one fails the part), its status read as mc's
 * epilogue reads it, a failing part named, the first failure's status at the end; `exit` in a part ends all.
 */
async function runMerged(text, o) {
  const home = process.env.HOME ?? "/";
  let first = 0;
  for (const m of text.matchAll(PART)) {
    const dir =
      m[2] === "$HOME"
        ? home
        : m[2].startsWith("(Join-Path")
          ? resolve(home, literal(m[2].slice(17, -1)))
          : literal(m[2]);
    let status = 1;
    if (existsSync(dir)) {
      const st = { ok: true, lastExit: undefined, cwd: dir, output: [] };
      let stmts;
      try {
        stmts = statements(literal(m[3]));
        parseCheck(stmts, o);
      } catch (e) {
        process.stderr.write(`ParserError: ${e.message}\n`);
      }
      if (stmts) {
        const r = await run(stmts, st, o);
        if (r) return r.exit;
        status = st.ok ? 0 : st.lastExit || 1;
      }
    } else process.stderr.write(`Cannot find path '${dir}' because it does not exist.\n`);
    if (status !== 0) {
      process.stderr.write(`mc: part "${literal(m[1])}" failed (exit ${status})\n`);
      if (first === 0) first = status;
    }
  }
  return first;
}

/** Run a PowerShell text as `-Command` would; resolves with the process exit code. */
export async function runPowerShell(text, o) {
  if (text.startsWith("# mc:merged v1\n")) return runMerged(text, o);
  let stmts;
  try {
    stmts = statements(text);
    parseCheck(stmts, o);
  } catch (e) {
    process.stderr.write(`ParserError: ${e.message}\n`);
    return 1;
  }
  const st = { ok: true, lastExit: undefined, cwd: process.cwd(), output: [] };
  try {
    const r = await run(stmts, st, o);
    if (r) return r.exit;
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    return 1;
  }
  return st.ok ? 0 : 1;
}
