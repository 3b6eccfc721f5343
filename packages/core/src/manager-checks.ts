import { McError } from "./errors.js";
import type { LayoutConfig } from "./schema.js";
import type { BackendFactory, ExitMode } from "./session-backend.js";
import { hasPanes } from "./slots.js";

/**
 * What a run asks of a backend, checked against its capabilities before anything starts: a request it
 * cannot honour fails naming the capability, never silently ignored.
 */
export function checkRequest(
  factory: Pick<BackendFactory, "name" | "capabilities">,
  layouts: readonly LayoutConfig[],
  exitMode: ExitMode,
  initialTabs: number | undefined,
): void {
  if (exitMode === "keep" && !factory.capabilities.keepPane) {
    throw new McError(
      "USAGE",
      `${factory.name} cannot keep a finished pane on screen (capability "keepPane")`,
      {
        backend: factory.name,
        op: "start",
        hint: "use --exit shell or --exit close with this backend",
      },
    );
  }
  const withPanes = layouts.filter(hasPanes);
  if (withPanes.length && !factory.capabilities.panes) {
    throw new McError(
      "USAGE",
      `${factory.name} cannot split a tab into panes (capability "panes"): layout "${withPanes[0]!.layoutName}" has panes`,
      {
        backend: factory.name,
        op: "start",
        hint: "run it with --backend tmux, or give each pane a tab of its own",
      },
    );
  }
  const withStop = layouts.filter((l) => l.onStop !== undefined);
  if (withStop.length && !factory.capabilities.stopHook) {
    throw new McError(
      "USAGE",
      `${factory.name} cannot run onStop when a session ends (capability "stopHook"): layout "${withStop[0]!.layoutName}" has one`,
      { backend: factory.name, op: "start", hint: "run it with --backend tmux, or drop onStop" },
    );
  }
  if (factory.capabilities.addTabsLater) return;
  const deps = layouts.some((l) => l.layoutTabs.some((t) => t.dependsOn?.length));
  if (initialTabs === undefined && !deps) return;
  throw new McError(
    "USAGE",
    `${factory.name} cannot add tabs to a running session (capability "addTabsLater")`,
    {
      backend: factory.name,
      op: "start",
      hint:
        initialTabs === undefined
          ? "dependsOn needs a backend that can open tabs later (tmux); drop dependsOn for this one"
          : "drop --max-parallel-tabs for this backend, or split the layout with sessions balance-load",
    },
  );
}
