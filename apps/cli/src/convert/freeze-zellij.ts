import type { Host } from "@mc/core";
import type { Node as KdlNode } from "kdljs";
import { mcScriptCommand } from "./freeze-tmux.js";
import { parseKdlText } from "./source.js";
import type { Imported } from "./types.js";
import { importZellij } from "./zellij-import.js";

/** The name mc gives a tab's pane (`<tab> (mc run <id>)`, with ` [exit N]` once its command ended). */
const MC_PANE_NAME = / \(mc run [^)]*\)( \[exit -?\d+\])?$/;

/** What `dump-layout` adds that is not the session: zellij's defaults for tabs opened later. */
const ARTEFACTS = new Set(["new_tab_template", "swap_tiled_layout", "swap_floating_layout"]);

/**
 * A pane running mc's tab wrapper (`/bin/sh …/tabs.sh N`, possibly behind `sh -c 'cd …'`) stands for
 * the tab's own command; and `dump-layout` marks every command pane `start_suspended`, which the
 * session's panes were not.
 */
function rewrite(n: KdlNode, mine: { panes: number; foreign: number }): KdlNode {
  const children = n.children.filter((k) => k.name !== "start_suspended").map((k) => rewrite(k, mine));
  const { start_suspended: _, ...properties } = n.properties;
  const args = children.find((k) => k.name === "args")?.values.map(String) ?? [];
  const [script, index] = args.slice(-2);
  const command = script && index ? mcScriptCommand(script, index) : undefined;
  if (
    n.name === "pane" &&
    command === undefined &&
    (properties.command !== undefined || children.some((k) => k.name === "command"))
  )
    mine.foreign++;
  if (n.name !== "pane" || command === undefined) return { ...n, properties, children };
  mine.panes++;
  // mc's own marker in the pane's name (`<tab> (mc run ID)`, `… [exit N]`) is not the user's.
  if (typeof properties.name === "string" && MC_PANE_NAME.test(properties.name)) delete properties.name;
  // A pane the layout gave no command: a plain pane (a shell), as it was written.
  if (command === "") {
    const { command: _, ...plain } = properties;
    return { ...n, properties: plain, children: children.filter((k) => k.name !== "args") };
  }
  const argsNode: KdlNode = {
    name: "args",
    values: ["-c", command],
    properties: {},
    children: [],
    tags: { name: "", values: [], properties: {} },
  };
  return {
    ...n,
    properties: { ...properties, command: "$SHELL" },
    children: [...children.filter((k) => k.name !== "args" && k.name !== "command"), argsNode],
  };
}

/** A running zellij session, from the KDL `zellij --session S action dump-layout` printed. */
export function freezeZellij(session: string, dump: string, prefix?: string): Imported {
  const source = `zellij session ${session}`;
  const mine = { panes: 0, foreign: 0 };
  const doc = parseKdlText(dump, source).map((root) =>
    root.name === "layout"
      ? rewrite({ ...root, children: root.children.filter((k) => !ARTEFACTS.has(k.name)) }, mine)
      : root,
  );
  // A session mc started is `<prefix>_<layout>`: its layout's name, so running the file gives it back.
  const name =
    mine.panes > 0 && prefix && session.startsWith(`${prefix}_`) && session.length > prefix.length + 1
      ? session.slice(prefix.length + 1)
      : session;
  const r = importZellij(doc, { file: "/", cwd: "/", env: {} }, source, name);
  r.warnings.push({
    at: "focus",
    message: "zellij's dump-layout does not say which pane has the focus; not captured",
  });
  r.warnings.push({ at: "environment", message: "the panes' environment variables are not captured" });
  // zellij 0.45's dump-layout leaves out a running command's empty arguments (`--prefix ""`), so the
  // command frozen can mean another (review H39-4); mc's own tabs are read from mc's files, not from it.
  if (mine.foreign > 0)
    r.warnings.push({
      at: "commands",
      message: `zellij's dump-layout leaves out empty arguments ("") of the ${mine.foreign === 1 ? "command" : `${mine.foreign} commands`} it lists: check ${mine.foreign === 1 ? "it" : "them"} if ${mine.foreign === 1 ? "it takes" : "they take"} one`,
    });
  return { ...r, format: "zellij" };
}

/**
 * A session zellij lists EXITED (its server gone, resurrectable with `zellij attach`): the layout zellij
 * keeps to resurrect it, the one `dump-layout` would print (both are zellij's session serialization), with
 * where it is; `layout` absent when zellij kept none. Undefined when zellij does not list it EXITED.
 */
export async function exitedZellijSession(
  host: Host,
  zellij: string,
  session: string,
): Promise<{ layout?: string; path?: string } | undefined> {
  const z = await import("@mc/zellij").catch(() => undefined);
  if (!z) return undefined;
  const q = new z.ZellijQueries(host, zellij);
  await q.detectVersion().catch(() => undefined);
  const rows = await q.sessionRows("freeze").catch(() => []);
  if (!rows.some((r) => r.name === session && r.exited)) return undefined;
  const facts = await q.hostFacts();
  const layout = await q.resurrectionLayout(session);
  return {
    ...(layout && /\blayout\b/.test(layout) ? { layout } : {}),
    ...(facts ? { path: z.resurrectionLayoutPath(facts, q.version, session) } : {}),
  };
}
