import { type Node as KdlNode, parse as parseKdl } from "kdljs";
import {
  isPair,
  isScalar,
  isSeq,
  isMap as isYamlMap,
  LineCounter,
  type Pair,
  parseDocument,
  type Tags,
  visit,
  type YAMLMap,
} from "yaml";
import { convertError, type Format, isMap, type Plain } from "./types.js";

/** Largest tmuxp or tmuxinator file read (real ones are a few KiB). */
export const MAX_YAML_BYTES = 1024 * 1024;
/** Largest KDL layout read: kdljs 0.2.0 needs seconds for a few hundred KiB of values. */
export const MAX_KDL_BYTES = 256 * 1024;
/** Deepest nesting accepted in any of these files (real ones nest a few levels). */
export const MAX_DEPTH = 64;

const fail = (reason: string, hint?: string) => convertError("import", reason, hint);

// PyYAML (tmuxp) and Ruby's Psych (tmuxinator) read YAML 1.1, where yes/no/on/off are booleans, but
// neither reads y/n as one, nor a date as anything but text here: those two tags are adjusted. So are
// floats: both want digits before or after the dot, and a dot and a signed exponent in the exponent
// form, so `1e3`, `1.0e3`, `.` and `._5` are text to them (review H32-5: mc read 1000, null, 0.5).
const FLOAT_BASE = String.raw`(?:[-+]?[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)`;
const FLOAT = { plain: new RegExp(`^${FLOAT_BASE}$`), exp: new RegExp(`^${FLOAT_BASE}[eE][-+][0-9]+$`) };
const yaml11Tags = (tags: Tags): Tags =>
  tags
    .filter((t) => !(typeof t === "object" && t.tag === "tag:yaml.org,2002:timestamp"))
    .map((t) => {
      if (typeof t === "object" && t.tag === "tag:yaml.org,2002:float" && "test" in t) {
        const f = t as { format?: string; test?: RegExp };
        if (f.format === "EXP") return { ...t, test: FLOAT.exp } as typeof t;
        if (f.format === undefined && f.test?.test("1.5")) return { ...t, test: FLOAT.plain } as typeof t;
        return t;
      }
      if (typeof t !== "object" || t.tag !== "tag:yaml.org,2002:bool" || !("test" in t)) return t;
      const truthy = (t as { default?: unknown; identify?: (v: unknown) => boolean }).identify?.(true);
      return {
        ...t,
        test: truthy
          ? /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/
          : /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/,
      } as typeof t;
    });

/**
 * What Ruby's Psych (tmuxinator's YAML loader) makes of a plain scalar: its ScalarScanner#tokenize, which
 * differs from PyYAML's resolvers in places (review H32-12: `12:30` is 45000 to Psych, 750 to PyYAML;
 * `oFF`, `nULL`, `.iNF` in any case, `1,000` is 1000). A date, a time or a `:symbol`, which tmuxinator's
 * safe load refuses, stays text.
 */
export function psychScalar(s: string): unknown {
  if (s === "") return null;
  if (/^[^\d.:-]?[\p{L}_\s!@#$%^&*(){}<>|/\\~;=]+/u.test(s) || s.includes("\n")) {
    if (s.length > 5 || /^[^ytonf~]/i.test(s)) return s;
    if (s === "~" || /^null$/i.test(s)) return null;
    if (/^(yes|true|on)$/i.test(s)) return true;
    if (/^(no|false|off)$/i.test(s)) return false;
    return s;
  }
  if (/^\+?\.inf$/i.test(s)) return Number.POSITIVE_INFINITY;
  if (/^-\.inf$/i.test(s)) return Number.NEGATIVE_INFINITY;
  if (/^\.nan$/i.test(s)) return Number.NaN;
  const sexagesimal = (parse: (n: string) => number) =>
    s.split(":").reduce((sum, n, e) => sum + parse(n) * 60 ** Math.abs(e - 2), 0);
  if (/^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}$/.test(s))
    return sexagesimal((n) => Number.parseInt(n.replace(/_/g, ""), 10));
  if (/^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}\.[0-9_]*$/.test(s))
    return sexagesimal((n) => Number.parseFloat(n.replace(/_/g, "")));
  if (/^[-+]?([0-9][0-9_,]*)?\.[0-9]*([eE][-+][0-9]+)?$/.test(s))
    return /^[-+]?\.$/.test(s) ? s : Number(s.replace(/[,_]/g, "").replace(/\.([Ee]|$)/, "$1"));
  const int =
    /^(?:([-+]?)0b([0-1_,]+)|([-+]?)0([0-7_,]+)|([-+]?(?:0|[1-9](?:[0-9]|,[0-9]|_[0-9])*))|([-+]?)0x([0-9a-fA-F_,]+))$/.exec(
      s,
    );
  if (int) {
    const digits = (d: string) => d.replace(/[,_]/g, "");
    const sign = (x: string | undefined) => (x === "-" ? -1 : 1);
    if (int[2] !== undefined) return sign(int[1]) * Number.parseInt(digits(int[2]), 2);
    if (int[4] !== undefined) return sign(int[3]) * Number.parseInt(digits(int[4]), 8);
    if (int[5] !== undefined) return Number(digits(int[5]));
    return sign(int[6]) * Number.parseInt(digits(int[7]!), 16);
  }
  return s;
}

/** Ruby's Float#to_s: the shortest digits, `.0` on a whole number, `e+20`/`e-07` past 1e-4 and 1e16. */
export function rubyFloat(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mant, e] = Math.abs(x).toExponential().split("e");
  const digits = mant!.replace(".", "");
  const exp = Number(e);
  const decpt = exp + 1;
  const sign = x < 0 ? "-" : "";
  // (Ruby's flo_to_s, as measured: 1e15 → 1.0e+15, 1234567890123456.8 as it is, 123456789012345.0 too.)
  if (decpt < -3 || decpt > 16 || (decpt === 16 && digits.length <= 16))
    return `${sign}${digits[0]}.${digits.slice(1) || "0"}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  if (decpt <= 0) return `${sign}0.${"0".repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${"0".repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

/**
 * What tmuxinator writes for a plain scalar Psych reads as a number (a window's name: Ruby's `to_s`):
 * `1.0`, `5430.0`, `1.0e+20`, a big integer's every digit (review H47-1: JS wrote `1`, `5430`, and lost
 * digits). Undefined for what is not a number.
 */
export function psychText(s: string): string | undefined {
  const v = psychScalar(s);
  if (typeof v !== "number") return undefined;
  const float =
    !Number.isFinite(v) ||
    /^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}\.[0-9_]*$/.test(s) ||
    /^[-+]?([0-9][0-9_,]*)?\.[0-9]*([eE][-+][0-9]+)?$/.test(s);
  if (float) return rubyFloat(v);
  const t = s.replace(/[,_]/g, "");
  const m = /^([-+]?)(0b|0x|0(?=[0-7]))?(.*)$/.exec(t)!;
  if (/:/.test(t)) return String(v);
  const base = m[2] === "0b" ? "0b" : m[2] === "0x" ? "0x" : m[2] === "0" ? "0o" : "";
  const n = BigInt(`${base}${m[3]}`);
  return (m[1] === "-" ? -n : n).toString();
}

/** A value as JSON-like data, refusing what none of the tools could read (binary, sets) and deep nesting. */
function plain(v: unknown, where: string, depth = 0): Plain {
  if (depth > MAX_DEPTH) throw fail(`${where}: nested deeper than ${MAX_DEPTH} levels`);
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map((x) => plain(x, where, depth + 1));
  if (isMap(v) && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, Plain> = {};
    // `__proto__` is an ordinary key to PyYAML, Psych and Python's json (so an unknown one, reported as
    // such): kept as an own property, never assigned, which would make its value this object's prototype
    // and every key in it read as if the file had it (review H5-5).
    for (const [k, x] of Object.entries(v))
      Object.defineProperty(out, k, {
        value: plain(x, where, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  throw fail(
    `${where}: a value of a kind tmuxp and tmuxinator do not read (${Object.prototype.toString.call(v)})`,
  );
}

/** The key path (`windows[0].panes`) of the last of `chain`, a node and its ancestors from yaml's visit. */
function keyPath(chain: readonly unknown[]): string {
  let out = "";
  chain.forEach((p, i) => {
    if (isPair(p) && isScalar(p.key)) out += `${out ? "." : ""}${String(p.key.value)}`;
    else if (isSeq(p)) out += `[${p.items.indexOf(chain[i + 1] as never)}]`;
  });
  return out;
}

/**
 * Parse YAML the way PyYAML's and Psych's safe loaders do (YAML 1.1, merge keys, ≤100 aliases). A key
 * given twice in one mapping is the last one, as both take it (review H32-18: mc refused such a file);
 * each is told to `onDuplicate` with its key path, line and column.
 */
export function parseYaml(
  text: string,
  source: string,
  /** A key given twice in one mapping: its path (`windows[0].window_name`), where it is the second time. */
  onDuplicate?: (path: string, line: number, col: number) => void,
  /** Whose reading of plain scalars: PyYAML's (tmuxp) or Psych's (tmuxinator). */
  reader: "pyyaml" | "psych" = "pyyaml",
): Plain {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    version: "1.1",
    customTags: yaml11Tags,
    merge: true,
    uniqueKeys: false,
    prettyErrors: true,
    lineCounter,
  });
  if (reader === "psych")
    visit(doc, {
      Scalar(key, node) {
        if (node.type === "PLAIN" && node.tag === undefined && typeof node.source === "string")
          // A key is a name (tmuxinator's window names): written as Ruby writes the number.
          node.value = (key === "key" ? psychText(node.source) : undefined) ?? psychScalar(node.source);
      },
    });
  if (onDuplicate)
    visit(doc, {
      Map(_, map, ancestors) {
        const seen = new Set<string>();
        for (const pair of map.items) {
          if (!isScalar(pair.key)) continue;
          const key = String(pair.key.value);
          if (key === "<<") continue;
          if (seen.has(key)) {
            const at = lineCounter.linePos(pair.key.range?.[0] ?? 0);
            const parent = keyPath([...ancestors, map]);
            onDuplicate(parent ? `${parent}.${key}` : key, at.line, at.col);
          }
          seen.add(key);
        }
      },
    });
  const first = doc.errors[0];
  if (first) {
    const at = first.linePos?.[0];
    const why = /call stack/i.test(first.message)
      ? "it is nested too deeply"
      : first.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    throw fail(`${source}${at ? `:${at.line}:${at.col}` : ""}: not valid YAML: ${why}`);
  }
  const tag = doc.warnings.find((w) => w.code === "TAG_RESOLVE_FAILED");
  if (tag) {
    const at = tag.linePos?.[0];
    throw fail(
      `${source}${at ? `:${at.line}:${at.col}` : ""}: ${tag.message.split("\n")[0]!.replace(/ at line.*$/, "")}`,
      "tmuxp and tmuxinator load YAML safely: remove the tag",
    );
  }
  // An alias whose anchor is not set before it (a typo of the anchor's name, most often) is said as such,
  // with its place: it was taken for a "billion laughs" file (review HR81-2).
  let unresolved: { name: string; at: number } | undefined;
  visit(doc, {
    Alias(_, node) {
      if (node.resolve(doc) !== undefined) return;
      unresolved = { name: node.source, at: node.range?.[0] ?? 0 };
      return visit.BREAK;
    },
  });
  if (unresolved) {
    const at = lineCounter.linePos(unresolved.at);
    throw fail(
      `${source}:${at.line}:${at.col}: not valid YAML: alias *${unresolved.name} has no anchor &${unresolved.name} before it`,
      "set the anchor (&name) on a value above the alias, or write the value out",
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    const msg = (e as Error).message;
    throw fail(
      /alias/i.test(msg)
        ? `${source}: too many YAML aliases (a "billion laughs" file?)`
        : `${source}: ${msg}`,
      /alias/i.test(msg) ? "expand the aliases, or use fewer than 100" : undefined,
    );
  }
  return plain(value, source);
}

/**
 * Where a field of a YAML file is, as `:line:col` (empty when it cannot be found): for an importer's error
 * that names the field by its path (`windows[1].panes[0].shell_command: …`), so it points into the file
 * as a layouts file's errors do (review H39-7). The nearest enclosing field that exists when it does not.
 */
export function yamlPlace(text: string, path: string): string {
  const at = yamlPlacer(text)(path);
  return at ? `:${at.line}:${at.col}` : "";
}

/**
 * {@link yamlPlace} for many fields of one file (an importer's warnings): the file is parsed once. With
 * `key`, a field's key rather than its value (an unknown key `windows[0].window_nmae` is the key's place).
 */
export function yamlPlacer(
  text: string,
): (path: string, key?: boolean) => { line: number; col: number } | undefined {
  const counter = new LineCounter();
  const doc = parseDocument(text, {
    version: "1.1",
    customTags: yaml11Tags,
    merge: true,
    lineCounter: counter,
  });
  type Ranged = { range?: [number, number, number] | null } | null | undefined;
  const findPair = (map: YAMLMap, k: string) =>
    map.items.find((p) => isScalar(p.key) && String(p.key.value) === k);
  return (path, key = false) => {
    const keys: (string | number)[] = [];
    for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g))
      keys.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
    let node: unknown = doc.contents;
    let found: [number, number, number] | undefined;
    for (const [i, k] of keys.entries()) {
      let pair: Pair | undefined;
      if (typeof k === "number") {
        if (!isSeq(node) || node.items[k] === undefined) break;
        node = node.items[k];
      } else {
        if (!isYamlMap(node)) break;
        pair = findPair(node, k);
        // A tmuxinator window (`- name: settings`) is named by its index alone: its settings are the value
        // of its one key.
        const only = node.items.length === 1 ? node.items[0]!.value : undefined;
        if (!pair && isYamlMap(only)) pair = findPair(only, k);
        if (!pair) break;
        node = pair.value;
      }
      const keyRange = isScalar(pair?.key) ? pair.key.range : undefined;
      const range = (key && i === keys.length - 1 && keyRange) || (node as Ranged)?.range || keyRange;
      if (range) found = range;
    }
    return found ? counter.linePos(found[0]) : undefined;
  };
}

/** Parse JSON (tmuxp reads `.json` workspaces with Python's json module). */
export function parseJson(text: string, source: string): Plain {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    // YAML saved as .json (a tmuxp example copied under the wrong name): said, with what to do.
    const yaml = /^\s*(#[^\n]*\n\s*)*[A-Za-z_][\w-]*:(\s|$)/.test(text.replace(/^\uFEFF/, ""));
    throw fail(
      `${source}: not valid JSON${yaml ? " (it looks like YAML)" : ""}: ${(e as Error).message}`,
      yaml ? "a tmuxp file in YAML is named .yaml, a tmuxinator one .yml: rename it" : undefined,
    );
  }
  return plain(value, source);
}

/** Braces nest at most this deep before kdljs's recursive parser would run out of stack. */
function kdlDepth(text: string): number {
  let depth = 0;
  let max = 0;
  for (const c of text.replace(/"(?:[^"\\]|\\.)*"/gs, '""')) {
    if (c === "{") max = Math.max(max, ++depth);
    else if (c === "}") depth--;
  }
  return max;
}

/**
 * KDL text with each `\u{…}` escape of a character past U+FFFF written as the character itself: kdljs
 * 0.2.0 cuts such a code point to 16 bits (review H32-6: `\u{1F600}` read as U+F600, zellij shows 😀).
 * Only inside quoted strings; comments and raw strings (`r#"…"#`) are copied as they are.
 */
export function astralEscapes(text: string): string {
  if (!text.includes("\\u{")) return text;
  let out = "";
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === "/" && text[i + 1] === "/") {
      const end = text.indexOf("\n", i);
      const stop = end < 0 ? n : end;
      out += text.slice(i, stop);
      i = stop;
    } else if (c === "/" && text[i + 1] === "*") {
      // Block comments nest in KDL v1.
      let depth = 0;
      let j = i;
      while (j < n) {
        if (text[j] === "/" && text[j + 1] === "*") {
          depth++;
          j += 2;
        } else if (text[j] === "*" && text[j + 1] === "/") {
          depth--;
          j += 2;
          if (depth === 0) break;
        } else j++;
      }
      out += text.slice(i, j);
      i = j;
    } else if (c === "r" && /^r#*"/.test(text.slice(i, i + 300)) && !/[\w-]/.test(text[i - 1] ?? "")) {
      const hashes = /^r(#*)"/.exec(text.slice(i))![1]!;
      const close = `"${hashes}`;
      const start = i + 2 + hashes.length;
      const end = text.indexOf(close, start);
      const stop = end < 0 ? n : end + close.length;
      out += text.slice(i, stop);
      i = stop;
    } else if (c === '"') {
      let j = i + 1;
      out += c;
      while (j < n && text[j] !== '"') {
        if (text[j] === "\\") {
          const m = /^\\u\{([0-9a-fA-F]{1,6})\}/.exec(text.slice(j, j + 10));
          const cp = m ? Number.parseInt(m[1]!, 16) : 0;
          if (m && cp > 0xffff && cp <= 0x10ffff) {
            out += String.fromCodePoint(cp);
            j += m[0].length;
            continue;
          }
          out += text.slice(j, j + 2);
          j += 2;
          continue;
        }
        out += text[j];
        j++;
      }
      if (j < n) out += '"';
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Parse a KDL v1 document (zellij's layout language) with kdljs 0.2.0. */
export function parseKdlText(text: string, source: string): KdlNode[] {
  if (kdlDepth(text) > MAX_DEPTH) throw fail(`${source}: braces nested deeper than ${MAX_DEPTH} levels`);
  let r: ReturnType<typeof parseKdl>;
  try {
    r = parseKdl(astralEscapes(text));
  } catch (e) {
    throw fail(
      `${source}: not valid KDL (${e instanceof RangeError ? "nested too deeply" : (e as Error).message})`,
    );
  }
  const err = r.errors[0];
  if (err || !r.output) {
    const tok = (err as { token?: { startLine?: number; startColumn?: number } } | undefined)?.token;
    const at = tok?.startLine && Number.isFinite(tok.startLine) ? `:${tok.startLine}:${tok.startColumn}` : "";
    throw fail(`${source}${at}: not valid KDL v1: ${(err?.message ?? "no document").split("\n")[0]}`);
  }
  return r.output;
}

/** Where an ERB tag is (tmuxinator runs every project through ERB first, comments included). */
export function erbTag(text: string): { line: number; column: number } | undefined {
  // `<%%` is ERB's escape for a literal `<%`, not a tag.
  const m = /<%(?!%)/.exec(text);
  if (!m) return undefined;
  const before = text.slice(0, m.index).split("\n");
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

/**
 * Which tool a file is for, from its name and content, or undefined when it is none of them (an mc
 * layouts file, or anything else). YAML/JSON is told apart by its keys: tmuxp has `session_name`,
 * tmuxinator `name`/`project_name` with `windows`/`tabs` of one-key maps.
 */
export function detectFormat(path: string, text: string): Format | undefined {
  if (/\.kdl$/i.test(path)) return "zellij";
  const code = text.replace(/^\s*(\/\/|#).*$/gm, "");
  // A YAML or JSON file is never KDL, whatever a line of it looks like: a tmuxp window's custom
  // `layout: c9e0,…{…}` read as a KDL layout node broke the import of every export with splits (review H32-1).
  const yamlOrJson = /\.(ya?ml|json)$/i.test(path);
  if (!yamlOrJson && /^\s*layout\b[^\n{]*\{/m.test(code) && !/^\s*[{[]/.test(code)) return "zellij";
  const key = (name: string) => new RegExp(`(^|[{,])\\s*"?(${name})"?\\s*:`, "m").test(text);
  if (key("session_name")) return "tmuxp";
  if (key("name|project_name") && key("windows|tabs")) return "tmuxinator";
  if (key("windows") && /(^|[{,])\s*-?\s*"?(window_name|panes)"?\s*:/m.test(text)) return "tmuxp";
  return undefined;
}
