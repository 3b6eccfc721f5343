import { type LayoutConfig, McError } from "@mc/core";
import { display } from "./display.js";

const usage = (reason: string, hint?: string) =>
  new McError("USAGE", reason, { backend: "cli", op: "select", hint });

/** `--choose-layouts a,b`: exact names first, then case-insensitive; unknown names are an error listing the choices. */
export function chooseLayouts(layouts: readonly LayoutConfig[], names: string[]): LayoutConfig[] {
  const picked: LayoutConfig[] = [];
  const unknown: string[] = [];
  for (const raw of names.map((n) => n.trim()).filter(Boolean)) {
    const hit =
      layouts.find((l) => l.layoutName === raw) ??
      layouts.find((l) => l.layoutName.toLowerCase() === raw.toLowerCase());
    if (!hit) unknown.push(raw);
    else if (!picked.includes(hit)) picked.push(hit);
  }
  if (unknown.length) {
    throw usage(
      `no layout named ${unknown.map((u) => `"${u}"`).join(", ")}`,
      `layouts in the file: ${layouts.map((l) => l.layoutName).join(", ")}`,
    );
  }
  return picked;
}

/**
 * `--choose-tabs Tab,Layout::Tab`: the chosen tabs (from the chosen layouts) merged into one layout
 * named `custom-tabs`, as machineconfig does. A token that matches nothing is an error.
 */
export function chooseTabs(layouts: readonly LayoutConfig[], tokens: string[]): LayoutConfig {
  const tabs: LayoutConfig["layoutTabs"] = [];
  const unknown: string[] = [];
  for (const token of tokens.map((t) => t.trim()).filter(Boolean)) {
    const sep = token.indexOf("::");
    const [layoutName, tabName] = sep >= 0 ? [token.slice(0, sep), token.slice(sep + 2)] : [undefined, token];
    const hits = layouts
      .filter((l) => layoutName === undefined || l.layoutName === layoutName)
      .flatMap((l) => l.layoutTabs.filter((t) => t.tabName === tabName));
    if (hits.length === 0) unknown.push(token);
    for (const h of hits) if (!tabs.includes(h)) tabs.push(h);
  }
  if (unknown.length) {
    const all = layouts.flatMap((l) => l.layoutTabs.map((t) => `${l.layoutName}::${t.tabName}`));
    throw usage(
      `no tab matches ${unknown.map((u) => `"${u}"`).join(", ")}`,
      `tabs: ${all.slice(0, 20).join(", ")}${all.length > 20 ? ", …" : ""}`,
    );
  }
  return { layoutName: "custom-tabs", layoutTabs: tabs };
}

/** Interactive choice of layouts on a terminal (a checkbox list). */
export async function chooseInteractively(layouts: readonly LayoutConfig[]): Promise<LayoutConfig[]> {
  if (!process.stdin.isTTY)
    throw usage("-i needs a terminal", "use --choose-layouts or --choose-tabs instead");
  const { default: checkbox } = await import("@inquirer/checkbox");
  const picked = await checkbox({
    message: "Layouts to run",
    choices: layouts.map((l) => ({
      name: display(
        `${l.layoutName} (${l.layoutTabs.length} tab${l.layoutTabs.length === 1 ? "" : "s"}: ${l.layoutTabs.map((t) => t.tabName).join(", ")})`,
        { oneLine: true },
      ),
      value: l,
      checked: true,
    })),
    required: true,
  });
  return picked;
}
