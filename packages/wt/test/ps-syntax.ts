import { createRequire } from "node:module";
import { Language, type Node, Parser } from "web-tree-sitter";

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
