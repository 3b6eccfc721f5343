import { createRequire } from "node:module";
import { Language, type Node, Parser } from "web-tree-sitter";
import { readPsSingleQuoted } from "../src/testing/index.js";

let parser: Parser | undefined;

/** A parser for the real PowerShell grammar (tree-sitter-powershell 0.26.4 wasm via web-tree-sitter 0.27.2). */
export async function powershellParser(): Promise<Parser> {
  if (parser) return parser;
  await Parser.init();
  const wasm = createRequire(import.meta.url).resolve("tree-sitter-powershell/tree-sitter-powershell.wasm");
  const p = new Parser();
  p.setLanguage(await Language.load(wasm));
  parser = p;
  return p;
}

/**
 * Syntax errors in a PowerShell script: ERROR and missing nodes, with their positions. The UTF-8 byte
 * order mark mc writes for Windows PowerShell 5.1 is an encoding marker, so it is removed first.
 */
export async function powershellSyntaxErrors(script: string): Promise<string[]> {
  const p = await powershellParser();
  const tree = p.parse(script.replace(/^\uFEFF/, ""));
  if (!tree) return ["no tree"];
  // The root says whether any node below is an error or a missing one (tree-sitter's ts_node_has_error):
  // a clean script needs no walk, which was most of the cost of a thousand generated scripts.
  if (!tree.rootNode.hasError) {
    tree.delete();
    return [];
  }
  const out: string[] = [];
  const walk = (n: Node) => {
    if (n.type === "ERROR" || n.isError)
      out.push(`ERROR at ${n.startPosition.row + 1}:${n.startPosition.column + 1}: ${n.text.slice(0, 40)}`);
    else if (n.isMissing)
      out.push(`MISSING ${n.type} at ${n.startPosition.row + 1}:${n.startPosition.column + 1}`);
    for (const c of n.children) if (c) walk(c);
  };
  walk(tree.rootNode);
  if (tree.rootNode.hasError && out.length === 0) out.push("rootNode.hasError");
  tree.delete();
  return out;
}

/**
 * What each top-level statement of a script is to PowerShell's grammar: `command` (something is run) or
 * `assignment`, `expression` (a value, which PowerShell outputs: a `{ … }` there is a script block that is printed,
 * never invoked), or the statement's own node type for anything else (`if_statement`, …).
 */
export async function statementKinds(script: string): Promise<string[]> {
  const p = await powershellParser();
  const tree = p.parse(script);
  if (!tree) return [];
  const list = tree.rootNode.children.find((c) => c?.type === "statement_list");
  const out = (list?.children ?? []).flatMap((st) => {
    if (!st || st.type === ";" || st.type === "comment" || st.type === "empty_statement") return [];
    if (st.type !== "pipeline") return [st.type];
    if (st.children.some((c) => c?.type === "assignment_expression")) return ["assignment"];
    const chain = st.children.find((c) => c?.type === "pipeline_chain");
    const first = chain?.children[0];
    return [first?.type === "command" ? "command" : "expression"];
  });
  tree.delete();
  return out;
}

/** Node types that would make PowerShell run or expand something inside data. */
const CODE_NODES = new Set([
  "command",
  "sub_expression",
  "variable",
  "expandable_string_literal",
  "expandable_here_string_literal",
  "script_block_expression",
  "invokation_expression",
  "member_access",
]);

/** What the real grammar reads in the value of `$<name> = …`: its string literals per hashtable key, and any code. */
export interface DataReading {
  /** Per hashtable (in order): each key's string literals, as PowerShell reads them, in order. */
  tables: Record<string, string[]>[];
  /** Node types found in the value that run or expand something (must be empty for data). */
  code: string[];
}

/**
 * Read the data assigned to `$<name>` with tree-sitter-powershell: every `'…'` literal under each hashtable
 * key, decoded by PowerShell's single-quote rules ({@link readPsSingleQuoted}), and the node types that
 * are not plain data.
 */
export async function readData(script: string, name: string): Promise<DataReading> {
  const p = await powershellParser();
  const tree = p.parse(script.replace(/^\uFEFF/, ""));
  if (!tree) throw new Error("no tree");
  const tables: Record<string, string[]>[] = [];
  const code = new Set<string>();
  let found = false;
  const walkValue = (n: Node, table: Record<string, string[]> | undefined, key: string | undefined) => {
    if (CODE_NODES.has(n.type)) code.add(n.type);
    if (n.type === "hash_literal_expression") {
      const t: Record<string, string[]> = {};
      tables.push(t);
      for (const c of n.children) if (c) walkValue(c, t, undefined);
      return;
    }
    if (n.type === "hash_entry" && table) {
      const k = n.children.find((c) => c?.type === "key_expression")?.text ?? "?";
      table[k] = [];
      for (const c of n.children) if (c && c.type !== "key_expression") walkValue(c, table, k);
      return;
    }
    if (n.type === "string_literal" && table && key) {
      const kind = n.children[0]?.type;
      if (kind === "verbatim_string_characters") {
        const { value, end } = readPsSingleQuoted(n.text, 0);
        if (end !== n.text.length) code.add("string_literal with a tail");
        table[key]!.push(value);
        return;
      }
      code.add(kind ?? "string_literal");
    }
    for (const c of n.children) if (c) walkValue(c, table, key);
  };
  const walk = (n: Node) => {
    if (n.type === "assignment_expression" && n.children[0]?.text === `$${name}`) {
      found = true;
      for (const c of n.children.slice(1)) if (c) walkValue(c, undefined, undefined);
      return;
    }
    for (const c of n.children) if (c) walk(c);
  };
  walk(tree.rootNode);
  tree.delete();
  if (!found) throw new Error(`no $${name} assignment`);
  return { tables, code: [...code] };
}
