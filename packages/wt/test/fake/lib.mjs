// Shared code of the fake `wt` and `pwsh` used by the tests. Written independently of src/ from the same
// sources (microsoft/terminal AppCommandlineArgs.cpp + Commandline.cpp, CLI11 2.6.1, CommandLineToArgvW,
// the PowerShell tokenizer's single-quoted strings), so the end-to-end suite checks two readings of them.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const Q = /['\u2018\u2019\u201A\u201B]/;

/** Value of a PowerShell '…' literal at text[i]; returns [value, indexAfter]. */
export function psLiteral(text, i) {
  if (!Q.test(text[i] ?? "")) throw new Error(`expected '…' at ${i}: ${text}`);
  let v = "";
  for (let j = i + 1; j < text.length; j++) {
    if (Q.test(text[j])) {
      if (!Q.test(text[j + 1] ?? "")) return [v, j + 1];
      v += text[++j];
    } else v += text[j];
  }
  throw new Error("unterminated literal");
}

/** `$name = '…'` in a script. */
export function assigned(script, name) {
  const line = script.split(/\r?\n/).find((l) => l.startsWith(`$${name} = `));
  if (!line) throw new Error(`no $${name}`);
  return psLiteral(line, name.length + 4)[0];
}

/** `$name = @(1, 2, 3)` integers. */
export function intArray(script, name) {
  const m = new RegExp(`^\\$${name} = @\\(([0-9, -]*)\\)$`, "m").exec(script);
  if (!m) throw new Error(`no $${name} array`);
  return m[1]
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
}

/** The restricted launch form: returns { file, args } or throws. */
export function evaluateLaunch(script) {
  const lines = script.replace(/^\uFEFF/, "").split(/\r?\n/);
  let args;
  let file;
  for (let k = 0; k < lines.length; k++) {
    const l = lines[k];
    if (
      l.trim() === "" ||
      l.startsWith("#") ||
      /^\$(ErrorActionPreference|PSNativeCommandArgumentPassing) = '[A-Za-z]+'$/.test(l)
    )
      continue;
    if (l === "$mcArgs = @(") {
      args = [];
      for (k++; lines[k] !== ")"; k++) {
        const l2 = lines[k];
        if (l2 === undefined) throw new Error("unterminated @(");
        let i = 0;
        for (;;) {
          while (l2[i] === " ") i++;
          const [v, end] = psLiteral(l2, i);
          args.push(v);
          i = end;
          while (l2[i] === " ") i++;
          if (i >= l2.length) break;
          if (l2[i++] !== ",") throw new Error(`bad element line: ${l2}`);
        }
      }
      continue;
    }
    if (l.startsWith("& ")) {
      const [v, end] = psLiteral(l, 2);
      if (l.slice(end) !== " @mcArgs") throw new Error(`bad call: ${l}`);
      file = v;
      continue;
    }
    if (l === "exit $LASTEXITCODE") continue;
    throw new Error(`fake pwsh cannot evaluate: ${l}`);
  }
  if (!args || file === undefined) throw new Error("no invocation");
  return { file, args };
}

/** wt: split argv at unescaped `;` (regex `^;|[^\\];`), de-escaping `\;`. */
export function splitCommands(argv) {
  const out = [[]];
  const deEscape = (s) => s.replaceAll("\\;", ";");
  for (const arg of argv) {
    let rest = arg;
    while (rest !== "") {
      const m = /^;|[^\\];/.exec(rest);
      if (!m) {
        out.at(-1).push(deEscape(rest));
        break;
      }
      const cut = m[0].length === 1 ? m.index : m.index + 1;
      if (cut > 0) out.at(-1).push(deEscape(rest.slice(0, cut)));
      out.push([]);
      rest = rest.slice(m.index + m[0].length);
    }
  }
  return out;
}

export function collapse(v) {
  if (v.length < 4 || !v.startsWith("[[") || !v.endsWith("]]")) return v;
  let o = "[";
  for (let i = 2; i < v.length - 2; i += 2) {
    if (v[i] !== v[i + 1]) return v;
    o += v[i];
  }
  return `${o}]`;
}

/** The subset of wt's CLI mc uses: `--window=`, `new-tab` (`--title=`, `--startingDirectory=`, flag, `--`), `focus-tab`. */
export function parseCommand(args) {
  const out = {};
  let i = 0;
  const val = (a, name) => (a.startsWith(`${name}=`) ? collapse(a.slice(name.length + 1)) : undefined);
  if (args[i] !== undefined && val(args[i], "--window") !== undefined)
    out.window = val(args[i++], "--window");
  const sub = args[i] === "focus-tab" || args[i] === "new-tab" ? args[i++] : "new-tab";
  if (sub === "focus-tab") {
    if (i !== args.length) throw new Error(`unexpected after focus-tab: ${args.slice(i)}`);
    out.action = { kind: "focus-tab" };
    return out;
  }
  const tab = { kind: "new-tab", command: [] };
  for (; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      i++;
      break;
    }
    if (val(a, "--title") !== undefined) tab.title = val(a, "--title");
    else if (val(a, "--startingDirectory") !== undefined) tab.dir = val(a, "--startingDirectory");
    else if (a === "--suppressApplicationTitle") tab.suppress = true;
    else throw new Error(`fake wt: unsupported argument ${a}`);
  }
  tab.command = args.slice(i).map(collapse);
  out.action = tab;
  return out;
}

/** wt rebuilds the tab command line: join by spaces, "…" around arguments with a space. */
export const joinCommandline = (args) => args.map((a) => (a.includes(" ") ? `"${a}"` : a)).join(" ");

/** CommandLineToArgvW. */
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

/** Linux process table: pid → { pid, ppid, start (epoch ms), rss, cmd }, zombies left out (they are dead). */
export function processTable() {
  const btime = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))[1]) * 1000;
  const table = new Map();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = readFileSync(`/proc/${e}/stat`, "utf8");
      const rest = st.slice(st.lastIndexOf(")") + 2).split(" ");
      if (rest[0] === "Z" || rest[0] === "X") continue;
      const cmd = readFileSync(`/proc/${e}/cmdline`, "utf8").replace(/\0+$/, "").split("\0").join(" ");
      table.set(Number(e), {
        pid: Number(e),
        ppid: Number(rest[1]),
        start: btime + Number(rest[19]) * 10,
        rss: Number(rest[21]) * 4096,
        cmd,
      });
    } catch {}
  }
  return table;
}

/** A process that stands for an elevated one (see pwsh.mjs): FAKE_ELEVATED=1 in its environment. */
export function elevated(pid) {
  try {
    return readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes("FAKE_ELEVATED=1");
  } catch {
    return false;
  }
}

export function alive(pid) {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = st.slice(st.lastIndexOf(")") + 2)[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

const hex = (s) => Buffer.from(s, "utf8").toString("hex");

/** The fake terminal's own state: which window each tab process belongs to. */
export function registerTab(stateDir, window, pid) {
  const dir = join(stateDir, "windows", hex(window));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, String(pid)), "");
}

/** Windows with at least one live tab process, and their pids. */
export function listWindows(stateDir) {
  const root = join(stateDir, "windows");
  const out = new Map();
  if (!existsSync(root)) return out;
  for (const h of readdirSync(root)) {
    const pids = readdirSync(join(root, h)).map(Number).filter(alive);
    if (pids.length) out.set(Buffer.from(h, "hex").toString("utf8"), pids);
  }
  return out;
}
