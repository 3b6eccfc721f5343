import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import {
  formatWarnings,
  type LayoutConfig,
  type LayoutsFile,
  loadLayoutsFile,
  MAX_LAYOUTS_FILE_BYTES,
  McError,
  tabOrigins,
  unwrapLayouts,
} from "@mc/core";
import { type Imported, warningText } from "./convert/types.js";
import { display } from "./display.js";
import type { Output } from "./output.js";

const usage = (reason: string, hint?: string) =>
  new McError("USAGE", reason, { backend: "cli", op: "select", hint });

/** Whether a prompt can be shown: both ends are a terminal. */
export const interactive = () => Boolean(process.stdin.isTTY && process.stdout.isTTY);

/** Directories never searched for layouts files (machineconfig skips the same kind). */
const SKIP = new Set([
  ".git",
  "node_modules",
  ".venv",
  "venv",
  "__pycache__",
  ".mypy_cache",
  ".idea",
  ".vscode",
  "dist",
  ".turbo",
]);

/** `*.json` and `*.jsonc` below `root` (at most `depth` levels, 2,000 files). */
function layoutCandidates(root: string, depth = 6): string[] {
  const out: string[] = [];
  const walk = (dir: string, d: number) => {
    if (d > depth || out.length >= 2000) return;
    let entries: import("node:fs").Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory() && !SKIP.has(e.name) && !e.name.startsWith(".")) walk(join(dir, e.name), d + 1);
      else if (e.isFile() && /\.jsonc?$/i.test(e.name)) out.push(join(dir, e.name));
    }
  };
  walk(root, 0);
  return out;
}

/**
 * The layouts file a user meant: `~` expanded (also in `--layouts-file=~/x`, which no shell expands), and
 * a name that does not exist matched like machineconfig does, as a case-insensitive substring of the
 * `*.json`/`*.jsonc` files below the current directory. A match is never run without asking: on a
 * terminal the user confirms it, elsewhere the error says "did you mean".
 */
let stdinCopy: string | undefined;

/**
 * The file to read for a layouts file argument: `-` is standard input (shown as `-` in messages), read
 * once (at most a layouts file's limit and one byte) into a private file that every reader then reads
 * (a pipe, a file or a socket: /dev/stdin cannot be opened on a socket) and that goes when mc exits.
 */
export function readablePath(given: string): string {
  if (given !== "-") return given;
  if (stdinCopy) return stdinCopy;
  const chunks: Buffer[] = [];
  let total = 0;
  const buf = Buffer.alloc(1 << 16);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") continue;
      if ((e as NodeJS.ErrnoException).code === "EOF") break;
      throw e;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    total += n;
    if (total > MAX_LAYOUTS_FILE_BYTES) break;
  }
  const dir = mkdtempSync(join(tmpdir(), "mc-stdin-"));
  stdinCopy = join(dir, "stdin");
  writeFileSync(stdinCopy, Buffer.concat(chunks), { mode: 0o600 });
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return stdinCopy;
}

export async function resolveLayoutsPath(given: string, out: Output): Promise<string> {
  // An empty name (a script's unset variable) matches every file: never a search.
  if (given.trim() === "")
    throw new McError("USAGE", "the layouts file name is empty", {
      backend: "cli",
      op: "load",
      hint: "name a file",
    });
  // `-` is standard input, as for most tools (a file named "-" is ./-).
  if (given === "-") return readablePath(given);
  const path = given.replace(/^~(?=$|[/\\])/, homedir());
  if (existsSync(path)) return path;
  // Singular or plural alike: `create-template` writes layout.json, READMEs say layouts.json (review H61-6).
  const stem = (name: string) =>
    name
      .replace(/\.jsonc?$/i, "")
      .toLowerCase()
      .replace(/s$/, "");
  const want = stem(basename(given));
  const all = layoutCandidates(process.cwd());
  const byName = all.filter((f) => stem(basename(f)).includes(want));
  const matches = (byName.length ? byName : all.filter((f) => f.toLowerCase().includes(want))).sort();
  const shown = matches.map((m) => `./${relative(process.cwd(), m)}`);
  if (matches.length > 0 && interactive() && !out.json) {
    const { default: select } = await import("@inquirer/select");
    const choice = await select({
      message: display(`${given} does not exist; run which layouts file?`, { oneLine: true }),
      choices: [
        ...matches.slice(0, 20).map((m, i) => ({ name: display(shown[i]!, { oneLine: true }), value: m })),
        { name: "none of these", value: "" },
      ],
    });
    if (choice) return choice;
  }
  throw new McError("LAYOUT_NOT_FOUND", `${given}: no such layouts file`, {
    backend: "cli",
    op: "load",
    hint: matches.length
      ? `did you mean ${shown.slice(0, 5).join(", ")}${shown.length > 5 ? ", …" : ""}?`
      : "sessions create-template writes a starter file",
  });
}

/** The text of a regular file of at most 4 MiB, to tell its format; undefined for anything else. */
function smallText(path: string): string | undefined {
  try {
    const st = statSync(path);
    // Only a regular file: a device or a pipe has no size to check, and a pipe was read once already.
    if (!st.isFile() || st.size > 4 * 1024 * 1024) return undefined;
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** What another tool's file looks like, to say so instead of "invalid JSON". */
export function otherToolFormat(path: string): string | undefined {
  const text = smallText(path);
  if (text === undefined) return undefined;
  if (/\.kdl$/i.test(path) || /^\s*layout\s*\{/m.test(text)) return "a zellij KDL layout";
  if (/^\s*session_name\s*:/m.test(text) || /"session_name"\s*:/.test(text)) return "a tmuxp configuration";
  if (/^\s*(name|project_name)\s*:/m.test(text) && /^\s*(windows|tabs)\s*:/m.test(text))
    return "a tmuxinator project";
  return undefined;
}

/**
 * Why a file that is not JSON but YAML (a mapping or a list in block style, not a tmuxp or tmuxinator file)
 * cannot be read, instead of "invalid JSON: unexpected character" at 1:1 (review H61-4). mc's own format
 * is not read from YAML: the layouts file is machineconfig's, which reads JSON only, so a YAML one would
 * run here and nowhere else; its checks stand on the JSONC syntax tree (line:column, duplicate keys,
 * --lenient), which YAML would need a second of; and YAML reads the commonest startDir, `~`, as null.
 * A document starting with `{` or `[` was meant as JSON: its syntax error is the answer.
 */
export async function yamlNotLayouts(
  path: string,
  issues: readonly { message: string }[],
): Promise<{ what: string; hint: string } | undefined> {
  if (!issues[0]?.message.startsWith("invalid JSON")) return undefined;
  const text = smallText(readablePath(path))?.replace(/^\uFEFF/, "");
  if (text === undefined || /^\s*[{[]/.test(text.replace(/^\s*#.*$/gm, ""))) return undefined;
  const { isMap, isSeq, parseDocument } = await import("yaml");
  const doc = parseDocument(text, { uniqueKeys: false });
  if (doc.errors.length || !(isMap(doc.contents) || isSeq(doc.contents))) return undefined;
  return {
    what: "is YAML: a layouts file is JSON (or JSONC); YAML is read as a tmuxp or tmuxinator file (session_name/windows, name/windows)",
    hint:
      isMap(doc.contents) && doc.contents.has("layouts")
        ? 'write the same keys as JSON: {"version": "0.1", "layouts": [{"layoutName": …, "layoutTabs": [ … ]}]}'
        : "write it as JSON (sessions create-template writes a starter file), or give a tmuxp or tmuxinator file",
  };
}

/**
 * A tmuxp, tmuxinator or zellij file read as mc layouts, the way `sessions import` converts it (in
 * memory), with what could not be carried over printed (stderr; one JSON line under --json). Undefined
 * for a file that is none of them; LAYOUT_INVALID when it is one that cannot be converted.
 */
export async function importedLayouts(path: string, out: Output): Promise<Imported | undefined> {
  if (!otherToolFormat(path)) return undefined;
  const { importFile } = await import("./convert/read.js");
  const imported = await importFile(path);
  if (out.json) out.errJson({ source: path, format: imported.format, warnings: imported.warnings });
  else for (const w of imported.warnings) out.err(out.c.yellow(`warning: ${warningText(path, w)}`));
  return imported;
}

/** Read a layouts file (strict, or `--lenient`), or another tool's file it recognises, printing the warnings for humans. */
export async function readLayouts(
  path: string,
  o: { lenient?: boolean | undefined },
  out: Output,
): Promise<LayoutsFile> {
  const r = await loadLayoutsFile(readablePath(path), { lenient: Boolean(o.lenient) });
  if (!r.ok) {
    const imported = await importedLayouts(path, out);
    // Another tool's file has no layouts[i].layoutTabs[j]: errors name the layout and tab only (H36-4).
    if (imported) return withOrigins(imported.file, () => "");
    const yaml = await yamlNotLayouts(path, r.issues);
    if (yaml) {
      const shown = path === stdinCopy ? "standard input" : display(path, { oneLine: true });
      throw new McError("LAYOUT_INVALID", `${shown} ${yaml.what}`, {
        backend: "cli",
        op: "load",
        hint: `${yaml.hint}; nothing was started`,
      });
    }
  }
  if (r.ok && r.warnings.length && !out.json)
    out.err(out.c.yellow(formatWarnings(r.warnings, display(path, { oneLine: true }))));
  // Errors about a tab name its field in the file, whatever -c, -t or -p choose (review H31-10).
  return withOrigins(unwrapLayouts(r, path), (li, ti) => `layouts[${li}].layoutTabs[${ti}]`);
}

/** Each tab of a file read, known by its field in the file (core `tabOrigins`). */
function withOrigins(file: LayoutsFile, at: (li: number, ti: number) => string): LayoutsFile {
  file.layouts.forEach((l, li) => {
    l.layoutTabs.forEach((t, ti) => {
      tabOrigins.set(t, at(li, ti));
    });
  });
  return file;
}

const preview = (value: unknown) =>
  display(JSON.stringify(value, null, 2))
    .split("\n")
    .slice(0, 24)
    .join("\n");

/** machineconfig's `-c ""`: pick layouts on a terminal, each previewed as JSON. */
export async function pickLayouts(layouts: readonly LayoutConfig[]): Promise<LayoutConfig[]> {
  if (!interactive())
    throw usage('--choose-layouts "" opens a picker, which needs a terminal', "name the layouts: -c api,web");
  const { default: checkbox } = await import("@inquirer/checkbox");
  return checkbox({
    message: "Layouts to run (space to select, enter to run)",
    choices: layouts.map((l) => ({
      name: display(`${l.layoutName} (${l.layoutTabs.length} tab${l.layoutTabs.length === 1 ? "" : "s"})`, {
        oneLine: true,
      }),
      value: l,
      description: preview(l),
    })),
    required: true,
    pageSize: 12,
  });
}

/** machineconfig's `-t ""`: pick tabs of the chosen layouts on a terminal; they run as `custom-tabs`. */
export async function pickTabs(layouts: readonly LayoutConfig[]): Promise<LayoutConfig> {
  if (!interactive())
    throw usage('--choose-tabs "" opens a picker, which needs a terminal', "name the tabs: -t Layout::Tab");
  const { default: checkbox } = await import("@inquirer/checkbox");
  const entries = layouts.flatMap((l) => l.layoutTabs.map((t, i) => ({ l, t, i })));
  const tabs = await checkbox({
    message: "Tabs to run (space to select, enter to run)",
    choices: entries.map(({ l, t, i }) => ({
      name: display(`${l.layoutName}::${t.tabName}[${i}]`, { oneLine: true }),
      value: t,
      description: preview({ layoutName: l.layoutName, tabIndex: i, tab: t }),
    })),
    required: true,
    pageSize: 12,
  });
  return { layoutName: "custom-tabs", layoutTabs: tabs };
}
