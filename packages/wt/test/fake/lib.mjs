// Shared code of the fake `wt`, `pwsh` and `cmd` used by the tests. Written independently of src/ from
// the same sources (microsoft/terminal at 20588130 and its release tags, CLI11 2.4.2 / 2.6.1,
// CommandLineToArgvW, the PowerShell tokenizer's single-quoted strings), so the end-to-end suites check two
// readings of them. Line references are to those sources.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";

const Q = /['\u2018\u2019\u201A\u201B]/;

/** Value of a PowerShell '…' literal at text[i]; returns [value, indexAfter]. */
export function psLiteral(text, i) {
  if (!Q.test(text[i] ?? "")) throw new Error(`expected '…' at ${i}: ${text.slice(0, 80)}`);
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

/** `$name = @(\n  '…',\n  '…'\n)` string literals. */
export function stringArray(script, name) {
  const lines = script.split(/\r?\n/);
  let k = lines.indexOf(`$${name} = @(`);
  if (k < 0) throw new Error(`no $${name} array`);
  const out = [];
  for (k++; lines[k] !== ")"; k++) {
    if (lines[k] === undefined) throw new Error(`unterminated $${name}`);
    const [v, end] = psLiteral(lines[k], lines[k].indexOf("'"));
    if (!/^,?$/.test(lines[k].slice(end))) throw new Error(`bad element: ${lines[k]}`);
    out.push(v);
  }
  return out;
}

/**
 * The value of `$name = <data>` in a script, in the restricted data forms mc's wrapper uses: '…'
 * literals (across lines), integers, `@( … )` arrays (elements after `,` or a newline) and `@{ key = … }`
 * hashtables (entries after `;` or a newline). Anything else throws: it is not mc's data.
 */
export function psData(script, name) {
  const head = `\n$${name} = `;
  let i = script.indexOf(head);
  if (i < 0) throw new Error(`no $${name}`);
  i += head.length;
  const blank = () => {
    while (i < script.length && /[ \t\r\n]/.test(script[i])) i++;
  };
  const value = () => {
    blank();
    if (Q.test(script[i] ?? "")) {
      const [v, end] = psLiteral(script, i);
      i = end;
      return v;
    }
    const open = script.slice(i, i + 2);
    if (open === "@(" || open === "@{") {
      i += 2;
      const list = open === "@(" ? [] : {};
      for (;;) {
        blank();
        if (script[i] === (open === "@(" ? ")" : "}")) {
          i++;
          return list;
        }
        if (Array.isArray(list)) list.push(value());
        else {
          const key = /^[A-Za-z]\w*/.exec(script.slice(i, i + 64))?.[0];
          if (!key) throw new Error(`not a hashtable key at ${i}`);
          i += key.length;
          blank();
          if (script[i++] !== "=") throw new Error(`no = after ${key}`);
          list[key] = value();
        }
        while (script[i] === " " || script[i] === "\t") i++;
        if (script[i] === (Array.isArray(list) ? "," : ";")) i++;
      }
    }
    const n = /^-?\d+/.exec(script.slice(i, i + 32))?.[0];
    if (n === undefined) throw new Error(`not mc's data at ${i}: ${script.slice(i, i + 40)}`);
    i += n.length;
    return Number(n);
  };
  return value();
}

/**
 * The restricted launch form (launch v2): `$mcWt = (Get-Command -Name '<wt>' …).Path`, `$mcCommandLine =
 * '<line>'` and the fixed Process.Start lines. Returns `{ name, commandLine }`; anything else throws.
 */
export function launchFacts(script) {
  const fixed = [
    "$ErrorActionPreference = 'Stop'",
    "$mcInfo = New-Object System.Diagnostics.ProcessStartInfo",
    "$mcInfo.FileName = $mcWt",
    "$mcInfo.Arguments = $mcCommandLine",
    "$mcInfo.UseShellExecute = $false",
    "$mcProcess = [System.Diagnostics.Process]::Start($mcInfo)",
    "$mcProcess.WaitForExit()",
    "exit $mcProcess.ExitCode",
  ];
  let name;
  let commandLine;
  for (const l of script.replace(/^\uFEFF/, "").split(/\r?\n/)) {
    if (l.trim() === "" || l.startsWith("#") || fixed.includes(l)) continue;
    if (l.startsWith("$mcWt = (Get-Command -Name ")) {
      const [v, end] = psLiteral(l, 27);
      if (l.slice(end) !== " -CommandType Application | Select-Object -First 1).Path")
        throw new Error(`bad line: ${l}`);
      name = v;
    } else if (l.startsWith("$mcCommandLine = ")) {
      const [v, end] = psLiteral(l, 17);
      if (end !== l.length) throw new Error(`bad line: ${l}`);
      commandLine = v;
    } else throw new Error(`fake pwsh cannot evaluate: ${l}`);
  }
  if (name === undefined || commandLine === undefined) throw new Error("no invocation");
  return { name, commandLine };
}

/** Windows exit codes are 32-bit, Linux ones 8-bit: the fakes leave the full code beside the process. */
export function writeExitCode(pid, code) {
  const dir = process.env.FAKE_EXIT_DIR;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, String(pid)), String(code));
  }
}
export function readExitCode(pid, fallback) {
  const dir = process.env.FAKE_EXIT_DIR;
  try {
    return dir ? Number(readFileSync(join(dir, String(pid)), "utf8")) : fallback;
  } catch {
    return fallback;
  }
}
/** Leave with a 32-bit exit code (see writeExitCode). */
export function exitWith(code) {
  writeExitCode(process.pid, code);
  process.exit(code & 0xff);
}

/** Where a program name resolves, as Get-Command / CreateProcess would find it (PATH, or a path). */
export function which(name, env = process.env) {
  if (name.includes("/")) return existsSync(name) ? name : undefined;
  for (const d of (env.PATH ?? "").split(delimiter)) if (d && existsSync(join(d, name))) return join(d, name);
  return undefined;
}

/** wt: split argv at unescaped `;` (AppCommandlineArgs.cpp:13 `^;|[^\\];`), de-escaping `\;` (Commandline.cpp AddArg). */
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

/** A dotted version as numbers. */
export const version = (s) =>
  String(s)
    .split(/[^0-9]+/)
    .filter(Boolean)
    .map(Number);
export function atLeast(v, min) {
  for (let i = 0; i < Math.max(v.length, min.length); i++)
    if ((v[i] ?? 0) !== (min[i] ?? 0)) return (v[i] ?? 0) > (min[i] ?? 0);
  return true;
}

/** CLI11 2.6.1 Option_inl.hpp:698 escape clause ("[[" + doubled chars + "]]" → "[…]"); CLI11 2.4.2 has none. */
export function collapse(v, wtVersion) {
  if (!atLeast(wtVersion, [1, 25])) return v;
  if (v.length < 4 || !v.startsWith("[[") || !v.endsWith("]]")) return v;
  let o = "[";
  for (let i = 2; i < v.length - 2; i += 2) {
    if (v[i] !== v[i + 1]) return v;
    o += v[i];
  }
  return `${o}]`;
}

/** The subset of wt's CLI mc uses: `--window=`, `new-tab` / `split-pane` (`--title=`, `--startingDirectory=`, flag, `--`; `--horizontal`/`--vertical`, `--size=`), `focus-tab`, `focus-pane --target=`. */
export function parseCommand(args, wtVersion) {
  const out = {};
  let i = 0;
  const val = (a, name) =>
    a.startsWith(`${name}=`) ? collapse(a.slice(name.length + 1), wtVersion) : undefined;
  if (args[i] !== undefined && val(args[i], "--window") !== undefined)
    out.window = val(args[i++], "--window");
  const SUBS = ["focus-tab", "new-tab", "split-pane", "focus-pane"];
  const sub = SUBS.includes(args[i]) ? args[i++] : "new-tab";
  if (sub === "focus-tab") {
    if (i !== args.length) throw new Error(`unexpected after focus-tab: ${args.slice(i)}`);
    out.action = { kind: "focus-tab" };
    return out;
  }
  if (sub === "focus-pane") {
    // AppCommandlineArgs.cpp `_buildFocusPaneParser`: `-t,--target`, a pane id.
    const t = args[i] === undefined ? undefined : val(args[i], "--target");
    if (t === undefined || !/^\d+$/.test(t) || i + 1 !== args.length)
      throw new Error(`focus-pane: expected --target=<id>, got ${args.slice(i)}`);
    out.action = { kind: "focus-pane", target: Number(t) };
    return out;
  }
  // split-pane (AppCommandlineArgs.cpp `_buildSplitPaneParser`): `-H,--horizontal` → SplitDirection::Down,
  // `-V,--vertical` → Right (each excludes the other), `-s,--size` a float in (0,1), then new-tab's options.
  const tab = { kind: sub, command: [] };
  for (; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      i++;
      break;
    }
    if (sub === "split-pane" && (a === "--horizontal" || a === "--vertical")) {
      if (tab.direction) throw new Error("--horizontal excludes --vertical");
      tab.direction = a === "--horizontal" ? "down" : "right";
    } else if (sub === "split-pane" && val(a, "--size") !== undefined) {
      const n = Number(val(a, "--size"));
      if (!(n > 0 && n < 1)) throw new Error(`--size: ${val(a, "--size")} not in (0,1)`);
      tab.size = n;
    } else if (val(a, "--title") !== undefined) tab.title = val(a, "--title");
    else if (val(a, "--startingDirectory") !== undefined) tab.dir = val(a, "--startingDirectory");
    else if (a === "--suppressApplicationTitle") tab.suppress = true;
    else throw new Error(`The following argument was not expected: ${a}`);
  }
  tab.command = args.slice(i).map((a) => collapse(a, wtVersion));
  out.action = tab;
  return out;
}

/**
 * What a `--window` value means. wt ≥ 1.23 (WindowEmperor.cpp:816): a whole base-10 integer is an id
 * (>0), the current window (0) or a new one (<0); `last`, `new` are keywords; anything else is a name.
 * wt ≤ 1.22 (v1.22.11751.0 AppLogic.cpp:557): `std::stoi` reads a PREFIX (leading blanks, `+`/`-`), so
 * `2fa` is window 2 and `0day` the current window. `_quake` is the quake window (TerminalWindow.cpp:1474).
 */
export function windowTarget(value, wtVersion) {
  let n;
  if (atLeast(wtVersion, [1, 23])) n = /^-?\d+$/.test(value) ? Number(value) : undefined;
  else {
    const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(value);
    n = m ? Number(m[1]) : undefined;
  }
  if (n !== undefined) return n > 0 ? { kind: "id", id: n } : n === 0 ? { kind: "current" } : { kind: "new" };
  if (value === "last") return { kind: "current" };
  if (value === "new") return { kind: "new" };
  if (value === "_quake") return { kind: "quake", name: value };
  return { kind: "name", name: value };
}

/** wt rebuilds the tab command line: join by spaces, "…" around arguments with a space (AppCommandlineArgs.cpp:683). */
export const joinCommandline = (args) => args.map((a) => (a.includes(" ") ? `"${a}"` : a)).join(" ");

/** ExpandEnvironmentStringsW (ConptyConnection.cpp:55): %NAME% (case-insensitive) when defined. */
export function expandEnv(s, env = process.env) {
  const lower = new Map(Object.entries(env).map(([k, v]) => [k.toLowerCase(), v]));
  return s.replace(/%([^%]+)%/g, (m, name) => lower.get(name.toLowerCase()) ?? m);
}

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

/**
 * The fake Windows machine's processes: pid → { pid, ppid, start (epoch ms) }, zombies left out (they are
 * dead). Only this fake world's processes (its FAKE_PWSH_STATE in their environment: what its wt, pwsh and
 * tabs started) are on it: a kill script given any pid must never reach a real process of the machine the
 * tests run on (pids 20000-20299 once took another test's sshd down).
 */
export function processTable() {
  const btime = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))[1]) * 1000;
  const world = process.env.FAKE_PWSH_STATE;
  return {
    get(pid) {
      if (!world || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
      try {
        const env = readFileSync(`/proc/${pid}/environ`, "latin1").split("\0");
        if (!env.includes(`FAKE_PWSH_STATE=${world}`)) return undefined;
        const st = readFileSync(`/proc/${pid}/stat`, "utf8");
        const rest = st.slice(st.lastIndexOf(")") + 2).split(" ");
        if (rest[0] === "Z" || rest[0] === "X") return undefined;
        return { pid, ppid: Number(rest[1]), start: btime + Number(rest[19]) * 10 };
      } catch {
        return undefined;
      }
    },
  };
}

/** A process that stands for an elevated one: FAKE_ELEVATED=1 in its environment. */
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

export const hex = (s) => Buffer.from(s, "utf8").toString("hex");
const unhex = (h) => Buffer.from(h, "hex").toString("utf8");

/** Write JSON atomically (the fakes' own state). */
export function putJson(path, value) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value));
  renameSync(tmp, path);
}
export function getJson(path, fallback) {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return fallback;
  }
}

/** Append one event to the fake terminal's log (message boxes, focus, restored workspaces, targets). */
export function logEvent(stateDir, event) {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, "events.jsonl"), `${JSON.stringify(event)}\n`, { flag: "a" });
}
export function events(stateDir) {
  try {
    return readFileSync(join(stateDir, "events.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

/** The tabs of a window, in the order they were opened: `{ host, opened, pid?, cmdline, exit?, closed? }`. */
export function windowTabs(stateDir, name) {
  const dir = join(stateDir, "windows", hex(name));
  if (!existsSync(dir)) return [];
  const order = (t) => BigInt(t.opened ?? 0);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => ({ file: join(dir, f), ...getJson(join(dir, f), {}) }))
    .sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}

/**
 * A tab is open until its process exits with code 0 (closeOnExit "automatic": ConptyConnection.cpp:548
 * maps exit code 0 to Closed, anything else to Failed, and TerminalPaneContent.cpp closes only on Closed).
 * A process that just ended and whose exit the host has not written yet counts as closing.
 */
export const tabOpen = (t) => !t.closed && (t.exit !== undefined || !t.pid || alive(t.pid));

/** Windows with at least one open tab, and the pids of their live tab processes. */
export function listWindows(stateDir) {
  const root = join(stateDir, "windows");
  const out = new Map();
  if (!existsSync(root)) return out;
  for (const h of readdirSync(root)) {
    const tabs = windowTabs(stateDir, unhex(h)).filter(tabOpen);
    if (tabs.length)
      out.set(
        unhex(h),
        tabs.flatMap((t) => (t.pid && alive(t.pid) ? [t.pid] : [])),
      );
  }
  return out;
}

/** NativeCommandParameterBinder.cs `NeedQuotes` (v7.2.0:522): whitespace outside `"` pairs. */
function needQuotes(s) {
  let quotes = 0;
  let afterBackslash = false;
  for (const c of s) {
    if (c === '"' && !afterBackslash) quotes++;
    else if (/\s/.test(c) && quotes % 2 === 0) return true;
    afterBackslash = c === "\\";
  }
  return false;
}

/**
 * The command line `& program @args` gives a native program under "Legacy" argument passing, the only one
 * of Windows PowerShell 5.1 and the default of pwsh 7.0–7.2 (NativeCommandParameterBinder.cs v7.2.0:293-315):
 * an argument with unquoted whitespace is wrapped in "…" with embedded quotes left raw; pwsh 6+ doubles its
 * trailing backslashes (:308, commit 59311d03e1, PowerShell#4965), 5.1 does not; empty arguments are
 * dropped (:338 adds them only under Standard). mc no longer passes arguments this way: this shows why.
 */
export function legacyCommandLine(args, psVersion) {
  return args
    .filter((a) => a !== "")
    .map((a) => {
      if (!needQuotes(a)) return a;
      const trailing = atLeast(psVersion, [6]) ? (/\\*$/.exec(a)?.[0] ?? "") : "";
      return `"${a}${trailing}"`;
    })
    .join(" ");
}
