import { stat } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { isMcError, McError, readBounded } from "@mc/core";
import {
  detectFormat,
  erbTag,
  MAX_KDL_BYTES,
  MAX_YAML_BYTES,
  parseJson,
  parseKdlText,
  parseYaml,
  yamlPlace,
  yamlPlacer,
} from "./source.js";
import { importTmuxinator } from "./tmuxinator-import.js";
import { importTmuxp } from "./tmuxp-import.js";
import {
  type ConvertWarning,
  convertError,
  type Format,
  type ImportContext,
  type Imported,
} from "./types.js";
import { importZellij } from "./zellij-import.js";

/** A field of a tmuxp or tmuxinator file named by its path: `windows[1].panes[0].shell_command`. */
const FIELD_PATH = String.raw`[A-Za-z_][\w-]*(?:\[\d+\]|\.[^\s.:[\]]+)*`;
const FIELD = new RegExp(`^${FIELD_PATH}$`);

/** Options of {@link importFile}. */
export interface ImportOptions {
  /** The format, when the file's name and content do not tell. */
  from?: Format | undefined;
  /** The layout's name for a zellij layout (default: the file's name without `.kdl`). */
  name?: string | undefined;
  cwd?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

/** The text of a source file: a regular file, not too large, valid UTF-8. */
export async function readSourceText(path: string, max: number): Promise<string> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw convertError("import", `${path} is not a regular file`);
    size = st.size;
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT")
      throw new McError("LAYOUT_NOT_FOUND", `${path}: no such file`, { backend: "cli", op: "import" });
    if (e instanceof McError) throw e;
    throw convertError("import", `${path}: cannot read it: ${(e as { code?: string }).code ?? String(e)}`);
  }
  if (size > max)
    throw convertError(
      "import",
      `${path} is ${size} bytes; files to import are limited to ${max} bytes`,
      // The bound is fixed (review H78-5: the message said no way through).
      "split it into several files and import each (a session or a few per file)",
    );
  const bytes = await readBounded(path, max).catch((e: NodeJS.ErrnoException) => {
    throw convertError(
      "import",
      `${path}: cannot read it: ${e.code === "EACCES" ? "permission denied" : (e.code ?? e.message)}`,
    );
  });
  if (bytes === undefined)
    throw convertError(
      "import",
      `${path} grew past ${max} bytes while it was read; files to import are limited to that`,
    );
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes).replace(/^\uFEFF/, "");
  } catch {
    throw convertError("import", `${path} is not valid UTF-8 text`);
  }
}

/** Which tool's file this is, or why it cannot be told. */
export function formatOf(path: string, text: string, from: Format | undefined): Format {
  const f = from ?? detectFormat(path, text);
  if (f) return f;
  const mc = /(^|[{,])\s*"layouts"\s*:/m.test(text);
  // mc's keys in YAML: a layouts file is JSON, so validate would not read it either (review H61-4).
  const mcYaml = !mc && /^layouts\s*:/m.test(text);
  throw convertError(
    "import",
    `${path} is not a tmuxp, tmuxinator or zellij file that mc recognises`,
    mc
      ? "it looks like an mc layouts file already: sessions validate checks it"
      : mcYaml
        ? 'it is an mc layouts file written in YAML: a layouts file is JSON (or JSONC); write the same keys as JSON: {"version": "0.1", "layouts": [ … ]}'
        : "name the format: --from tmuxp|tmuxinator|zellij",
  );
}

/** Convert text of a known format (pure apart from nothing: the context carries cwd and env). */
export function importText(
  text: string,
  format: Format,
  ctx: ImportContext,
  source: string,
  name?: string,
): Imported {
  if (format === "zellij") {
    const layoutName = name ?? basename(source).replace(/\.kdl$/i, "");
    return importZellij(parseKdlText(text, source), ctx, source, layoutName);
  }
  if (format === "tmuxinator") {
    // `<%%` is ERB's own escape for a literal `<%` (mc's exporter writes it); any other tag is refused.
    const erb = erbTag(text);
    if (erb)
      throw convertError(
        "import",
        `${source}:${erb.line}:${erb.column}: an ERB tag; tmuxinator runs every project through ERB (Ruby templates) before reading it, mc does not`,
        `render it first, for example: erb ${source} > rendered.yml (Ruby's erb: @args and @settings are empty there), then import rendered.yml`,
      );
  }
  // ERB turns `<%%` into `<%` (the only ERB left in a file that got this far).
  const yaml = format === "tmuxinator" ? text.replaceAll("<%%", "<%") : text;
  const twice: ConvertWarning[] = [];
  const data =
    format === "tmuxp" && /\.json$/i.test(source)
      ? parseJson(text, source)
      : parseYaml(
          yaml,
          source,
          (path, line, col) =>
            // Placed as the other warnings are, by key path, line and column: the file is said once, by
            // whoever prints it (review H56-6: `dup.yaml: dup.yaml:6:9: …`).
            twice.push({
              at: path,
              line,
              column: col,
              message: `given twice in one mapping: the last one is used, as ${format} does`,
            }),
          format === "tmuxinator" ? "psych" : "pyyaml",
        );
  let imported: Imported;
  try {
    imported = format === "tmuxp" ? importTmuxp(data, ctx, source) : importTmuxinator(data, ctx, source);
  } catch (e) {
    if (!isMcError(e, "LAYOUT_INVALID")) throw e;
    // A field's problem, named by its path: said with the file and where in it the field is; every
    // window's problem so (review H39-7).
    const problems = (e.details as { problems?: string[] } | undefined)?.problems ?? [e.reason];
    const placed = problems.map((reason) => {
      const field = new RegExp(`^(${FIELD_PATH}): `).exec(reason);
      if (!field || reason.startsWith(`${source}:`) || /\.json$/i.test(source)) return reason;
      return `${source}${yamlPlace(yaml, field[1]!)}: ${reason}`;
    });
    if (placed.length === 1 && placed[0] === e.reason) throw e;
    throw new McError("LAYOUT_INVALID", placed.join("\n"), {
      backend: "cli",
      op: "import",
      hint: e.hint,
      ...(placed.length > 1 ? { details: { problems: placed } } : {}),
    });
  }
  if (name !== undefined) imported.file.layouts[0]!.layoutName = name;
  // A warning about a field says where it is, as the errors above do (review H50-3: a typo'd key was only
  // "unknown key", with no line to look at).
  if (!/\.json$/i.test(source) && imported.warnings.some((w) => FIELD.test(w.at))) {
    const place = yamlPlacer(yaml);
    for (const w of imported.warnings) {
      // The field's key: an unknown key's place is the key, not the value under it.
      const at = FIELD.test(w.at) ? place(w.at, true) : undefined;
      if (at) Object.assign(w, { line: at.line, column: at.col });
    }
  }
  imported.warnings.unshift(...twice);
  return imported;
}

/** Read another tool's file and convert it. */
export async function importFile(path: string, o: ImportOptions = {}): Promise<Imported> {
  const kdl = o.from === "zellij" || (o.from === undefined && /\.kdl$/i.test(path));
  const text = await readSourceText(path, kdl ? MAX_KDL_BYTES : MAX_YAML_BYTES);
  const format = formatOf(path, text, o.from);
  if (format === "zellij" && text.length > MAX_KDL_BYTES)
    throw convertError("import", `${path} is too large for a zellij layout (over ${MAX_KDL_BYTES} bytes)`);
  const ctx: ImportContext = { file: resolve(path), cwd: o.cwd ?? process.cwd(), env: o.env ?? process.env };
  return importText(text, format, ctx, path, o.name);
}
