import { createRequire } from "node:module";
import { Language, type Node, Parser } from "web-tree-sitter";

let parser: Parser | undefined;

/**
 * Syntax errors in a PowerShell script (ERROR and missing nodes), from the real PowerShell grammar
 * (tree-sitter-powershell 0.26.4 via web-tree-sitter 0.27.2), as @mc/wt's tests check theirs.
 */
export async function powershellSyntaxErrors(script: string): Promise<string[]> {
  if (!parser) {
    await Parser.init();
    const wasm = createRequire(import.meta.url).resolve("tree-sitter-powershell/tree-sitter-powershell.wasm");
    parser = new Parser();
    parser.setLanguage(await Language.load(wasm));
  }
  const tree = parser.parse(script.replace(/^\uFEFF/, ""));
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
