// Shared code of the fake Windows machine behind the private sshd (win-shell.mjs, win-powershell.mjs,
// win-wt.mjs). Written from the sources they model, independently of src/: the PowerShell tokenizer's
// single-quoted strings, CommandLineToArgvW's splitting, Get-Command's application lookup, and
// Win32_Process from /proc. test/fake-windows.test.ts checks these readers against @mc/wt/testing's.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";

const Q = /['\u2018\u2019\u201A\u201B]/;

/** Value of a PowerShell '…' literal at text[i]; returns [value, indexAfter]. */
export function psLiteral(text, i) {
  if (!Q.test(text[i] ?? "")) throw new Error(`expected '…' at ${i}: ${text.slice(i, i + 60)}`);
  let v = "";
  for (let j = i + 1; j < text.length; j++) {
    if (Q.test(text[j])) {
      if (!Q.test(text[j + 1] ?? "")) return [v, j + 1];
      v += text[++j];
    } else v += text[j];
  }
  throw new Error("unterminated literal");
}

/** `$name = '…'` at the start of a line, the literal running to the end of its (last) line. */
export function assigned(script, name) {
  const prefix = `$${name} = `;
  const at = script.startsWith(prefix) ? 0 : script.indexOf(`\n${prefix}`) + 1;
  if (at <= 0 && !script.startsWith(prefix)) throw new Error(`no $${name}`);
  const [v, end] = psLiteral(script, at + prefix.length);
  if (!/^\r?(\n|$)/.test(script.slice(end))) throw new Error(`trailing text after $${name}`);
  return v;
}

/** CommandLineToArgvW: argv[0] up to the first space or quoted; then the 2n / 2n+1 backslash rules. */
export function windowsArgv(s) {
  const out = [];
  let i = 0;
  if (s[0] === '"') {
    const c = s.indexOf('"', 1);
    out.push(s.slice(1, c < 0 ? s.length : c));
    i = c < 0 ? s.length : c + 1;
  } else {
    const m = /^[^ \t]*/.exec(s)[0];
    out.push(m);
    i = m.length;
  }
  const ws = (c) => c === " " || c === "\t";
  for (;;) {
    while (ws(s[i])) i++;
    if (i >= s.length) return out;
    let cur = "";
    let q = false;
    while (i < s.length && (q || !ws(s[i]))) {
      let b = 0;
      while (s[i] === "\\") {
        b++;
        i++;
      }
      if (s[i] === '"') {
        cur += "\\".repeat(b >> 1);
        if (b & 1) cur += '"';
        else q = !q;
        i++;
      } else {
        cur += "\\".repeat(b);
        if (i < s.length && (q || !ws(s[i]))) cur += s[i++];
      }
    }
    out.push(cur);
  }
}

/** Windows takes `\` and `/` alike as separators: on this Linux-backed machine every path is POSIX. */
export const posixPath = (p) => p.replaceAll("\\", "/");

/** An application as Get-Command -CommandType Application finds it: a path, or the first on PATH. */
export function findApplication(name, env = process.env) {
  const isFile = (p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (/[\\/]/.test(name)) return isFile(posixPath(name)) ? posixPath(name) : undefined;
  for (const d of (env.PATH ?? "").split(delimiter)) if (d && isFile(join(d, name))) return join(d, name);
  return undefined;
}

/** The fake wt machinery keeps 32-bit exit codes beside the process (FAKE_EXIT_DIR, @mc/wt's fakes). */
export function readExitCode(pid, fallback) {
  const dir = process.env.FAKE_EXIT_DIR;
  try {
    return dir ? Number(readFileSync(join(dir, String(pid)), "utf8")) : fallback;
  } catch {
    return fallback;
  }
}
export function exitWith(code) {
  const dir = process.env.FAKE_EXIT_DIR;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, String(process.pid)), String(code));
  }
  // stdout is a pipe (the ssh channel): its writes are asynchronous, and process.exit would cut them off.
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code & 0xff);
  };
  process.stdout.write("", done);
  process.stderr.write("", done);
}

/**
 * Win32_Process as the `ps` operation prints it, from /proc: ProcessId, ParentProcessId, WorkingSetSize
 * (bytes), CreationDate (epoch ms), KernelModeTime + UserModeTime (s), CommandLine (else Name).
 */
export function win32ProcessLines() {
  const btime = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))[1]) * 1000;
  const lines = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = readFileSync(`/proc/${e}/stat`, "utf8");
      const name = st.slice(st.indexOf("(") + 1, st.lastIndexOf(")"));
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      if (f[0] === "Z" || f[0] === "X") continue;
      const cmd = readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
      const cpu = (Number(f[11]) + Number(f[12])) / 100;
      const start = btime + Number(f[19]) * 10;
      lines.push(
        `${e} ${f[1]} ${Number(f[21]) * 4096} ${start} ${cpu}\t${(cmd || name).replace(/[\r\n]/g, " ")}`,
      );
    } catch {}
  }
  return lines;
}

/** Append one JSON line to a log of the fake machine (FAKE_WIN_LOG/<name>.jsonl). */
export function logTo(name, value) {
  const dir = process.env.FAKE_WIN_LOG;
  if (!dir) return;
  writeFileSync(join(dir, `${name}.jsonl`), `${JSON.stringify(value)}\n`, { flag: "a" });
}

/** A switch the test flips at run time: FAKE_WIN_CONTROL/<name> exists. */
export const control = (name) =>
  Boolean(process.env.FAKE_WIN_CONTROL && existsSync(join(process.env.FAKE_WIN_CONTROL, name)));
export const controlText = (name) =>
  control(name) ? readFileSync(join(process.env.FAKE_WIN_CONTROL, name), "utf8") : undefined;
