import { parse } from "kdljs";

/** A tab of a generated layout, read back with the real KDL v1 parser (kdljs 0.2.0). */
export interface ParsedTab {
  name: unknown;
  cwd: unknown;
  command: unknown;
  /** The pane's name (mc's marker, `<tab> (mc run <id>)`). */
  paneName: unknown;
  closeOnExit: unknown;
  args: unknown[];
}

/** Parse a generated layout; throws on any KDL error. */
export function readLayout(text: string): { tabs: ParsedTab[]; template: boolean } {
  const { output, errors } = parse(text);
  if (errors.length > 0 || !output) throw new Error(`KDL errors: ${errors.map((e) => e.message).join("; ")}`);
  const roots = output.filter((n) => n.name === "layout");
  if (roots.length !== 1 || output.length !== 1) throw new Error("expected exactly one layout node");
  const root = roots[0]!;
  const tabs = root.children
    .filter((n) => n.name === "tab")
    .map((tab): ParsedTab => {
      const panes = tab.children.filter((n) => n.name === "pane");
      if (panes.length !== 1) throw new Error("expected one pane per tab");
      const pane = panes[0]!;
      const args = pane.children.filter((n) => n.name === "args");
      if (args.length !== 1) throw new Error("expected one args node");
      return {
        name: tab.properties.name,
        cwd: tab.properties.cwd,
        command: pane.properties.command,
        paneName: pane.properties.name,
        closeOnExit: pane.properties.close_on_exit,
        args: args[0]!.values,
      };
    });
  return { tabs, template: root.children.some((n) => n.name === "default_tab_template") };
}
