import type { LayoutConfig } from "@mc/core";
import { type Flat, unflatten } from "@mc/core";
import {
  checkTyped,
  type Exported,
  fieldOf,
  layoutNotes,
  newNotes,
  type OutPane,
  tabPanes,
  tmuxDir,
  tmuxName,
  tmuxSessionName,
  typedItems,
} from "./export-common.js";
import { exportLine, shPath } from "./shell.js";
import { formatTmuxLayout } from "./tmux-layout.js";
import { yamlText } from "./yaml-out.js";

const SIZE = [800, 600] as const;

/** What a pane types: `cd` when it starts elsewhere than its window, its variables, its command's lines. */
function paneValue(
  f: Flat<OutPane>,
  layoutEnv: Record<string, string>,
  windowDir: string,
  at: string,
): unknown {
  const p = f.pane;
  const own = Object.fromEntries(
    Object.entries(p.env).filter(([k, v]) => layoutEnv[k] !== v || !(k in layoutEnv)),
  );
  // tmuxinator starts every pane of a window in its root: a pane elsewhere types `cd` first, as
  // `tmuxinator new` itself writes it (and sessions import reads it back as the pane's startDir).
  const lines = [
    ...(p.dir !== windowDir ? [`cd -- ${shPath(p.dir)}`] : []),
    ...(Object.keys(own).length ? [exportLine(own)] : []),
    ...(p.command === undefined ? [] : typedItems(p.command, false)),
  ];
  checkTyped(lines, at, "tmuxinator");
  if (lines.length === 0) return null;
  return lines.length === 1 ? lines[0] : lines;
}

/**
 * A window's name as its key: Psych (tmuxinator's reader) takes a `<<` key for a merge key however it is
 * quoted, so the window's settings became the window (named `root`, typing its directory as a command:
 * review H39-1). Written `<<_`, with a warning.
 */
function windowKey(name: string, at: string, notes: ReturnType<typeof newNotes>): string {
  if (name !== "<<") return name;
  notes.add(
    at,
    'written as "<<_": tmuxinator\'s YAML reader takes a "<<" key for a merge key, quoted or not',
  );
  return "<<_";
}

/** An mc layout as a tmuxinator project (YAML) that `tmuxinator start -p FILE` builds. */
export function exportTmuxinator(layout: LayoutConfig, cwd: string): Exported {
  const notes = newNotes();
  layoutNotes(layout, notes, { onStart: true, onStop: true });
  const tabs = layout.layoutTabs.map((t) => ({ t, panes: tabPanes(t, cwd) }));
  const doc: Record<string, unknown> = {
    name: tmuxSessionName(layout.layoutName, notes),
    root: tmuxDir(tabs[0]!.panes[0]!.pane.dir, `tab ${JSON.stringify(tabs[0]!.t.tabName)}`),
  };
  if (layout.onStart) doc.on_project_first_start = layout.onStart;
  if (layout.onStop) {
    doc.on_project_stop = layout.onStop;
    notes.add("onStop", "becomes on_project_stop, which tmuxinator runs only on `tmuxinator stop`");
  }
  const env = { ...layout.env };
  if (Object.keys(env).length) {
    doc.pre_window = exportLine(env);
    checkTyped([doc.pre_window as string], "env", "tmuxinator");
  }
  doc.windows = tabs.map(({ t, panes }, ti) => {
    const at = `tab ${JSON.stringify(t.tabName)}`;
    const dir = panes[0]!.pane.dir;
    const w: Record<string, unknown> = { root: tmuxDir(dir, at) };
    if (t.layout) w.layout = t.layout;
    else if (panes.length > 1) w.layout = formatTmuxLayout(unflatten(panes), ...SIZE);
    if (t.shell)
      notes.add(`${at} shell`, "tmuxinator types commands into the default shell; not carried over");
    w.panes = panes.map((f, i) => paneValue(f, env, dir, fieldOf(at, ti, i)));
    const focus = panes.findIndex((f) => f.pane.focus);
    if (focus > 0 && ti === 0) doc.startup_pane = focus;
    else if (focus > 0) {
      w.focused_pane = focus;
      notes.add(`${at} focus`, "becomes focused_pane, which tmuxinator reads from 3.4 on");
    }
    return { [windowKey(tmuxName(t.tabName, at, notes), at, notes)]: w };
  });
  const header = `tmuxinator project written by mc (sessions export --to tmuxinator) from layout ${JSON.stringify(layout.layoutName)}.\nStart it with: tmuxinator start -p <this file>`;
  // tmuxinator runs the file through Erubis first: no `<%` is written (see yamlText's `erb`).
  const text = yamlText(doc, header, { erb: true });
  return { format: "tmuxinator", text, warnings: notes.list };
}
