import { type LayoutConfig, McError, sessionSlots, type TabConfig } from "@mc/core";
import { checkTabCommand } from "./commands.js";
import type { CommandShell, WrapperTab } from "./wrapper.js";

/**
 * What a layout asks of each tab beyond its command, made exact for the PowerShell wrapper or refused
 * before anything starts (LAYOUT_INVALID naming the field): the tab's `shell`, the layout's and the
 * tab's `env`, `retry`; and the layout's `onStart` / `onStop`, which this backend cannot run yet. No
 * field is ever dropped silently.
 */

/** Windows holds at most 32,767 characters in one environment variable (SetEnvironmentVariable). */
export const MAX_ENV_VALUE = 32_767;
/** The longest backoff the wrapper waits: Start-Sleep's and Thread.Sleep's Int32 milliseconds. */
export const MAX_BACKOFF_SECONDS = 2_147_483;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The shells a tab's `shell` may name (by file name, any case, with or without a directory). */
const SHELLS = new Map<string, CommandShell>([
  ["cmd", "cmd"],
  ["cmd.exe", "cmd"],
  ["powershell", "powershell"],
  ["powershell.exe", "powershell"],
  ["pwsh", "powershell"],
  ["pwsh.exe", "powershell"],
]);

function invalid(where: string, reason: string, hint?: string): McError {
  return new McError("LAYOUT_INVALID", `${where}: ${reason}`, { backend: "wt", op: "prepare", hint });
}

/** The file name of a Windows or POSIX path. */
const baseName = (p: string) => p.slice(Math.max(p.lastIndexOf("\\"), p.lastIndexOf("/")) + 1);

/**
 * The shell that reads a tab's command: `cmd` / `cmd.exe` → cmd, `powershell`, `pwsh` (`.exe`) →
 * PowerShell, also as a full path; anything else is refused. A bare `cmd` is `%ComSpec%`; any other
 * value is the program started (a PowerShell named is the one the command runs in).
 */
export function tabShell(
  value: string | undefined,
  fallback: CommandShell,
  where: string,
): Pick<WrapperTab, "shell" | "program"> {
  if (value === undefined) return { shell: fallback };
  const kind = SHELLS.get(baseName(value).toLowerCase());
  if (kind === undefined || /[\u0000-\u001f"]/.test(value)) {
    throw invalid(
      where,
      `the Windows Terminal backend runs commands with cmd or PowerShell, not ${JSON.stringify(value)}`,
      'use "cmd" (machineconfig\'s Windows layouts), "powershell" (5.1), "pwsh" (7), or a full path to one of them',
    );
  }
  if (kind === "cmd" && !/[\\/]/.test(value)) return { shell: "cmd" };
  return { shell: kind, program: value };
}

/** The tab reads its command with Windows PowerShell 5.1 (no `&&` / `||`). */
function windowsPowerShellFor(t: Pick<WrapperTab, "shell" | "program">, wrapperIs51: boolean): boolean {
  if (t.shell !== "powershell") return false;
  if (t.program === undefined) return wrapperIs51;
  return /^powershell(\.exe)?$/i.test(baseName(t.program));
}

/** One `env` object: checked, keyed case-insensitively (Windows' environment is). */
function envEntries(env: Readonly<Record<string, string>> | undefined, where: string) {
  const out = new Map<string, [string, string]>();
  for (const [name, value] of Object.entries(env ?? {})) {
    const at = `${where}.${name}`;
    if (!ENV_NAME.test(name)) {
      throw invalid(at, "environment variable names are letters, digits and _ (not starting with a digit)");
    }
    const twin = out.get(name.toUpperCase());
    if (twin) {
      throw invalid(
        at,
        `"${name}" and "${twin[0]}" are the same variable on Windows (names are case-insensitive)`,
        "keep one of them",
      );
    }
    if (typeof value !== "string" || value.includes("\u0000") || LONE_SURROGATE.test(value)) {
      throw invalid(at, "the value must be text without NUL or a lone UTF-16 surrogate");
    }
    if (name.length + 1 + value.length > MAX_ENV_VALUE) {
      throw invalid(
        at,
        `the variable is ${name.length + 1 + value.length} characters; Windows holds at most ${MAX_ENV_VALUE.toLocaleString("en-US")}`,
        "put the value in a file and pass its path",
      );
    }
    out.set(name.toUpperCase(), [name, value]);
  }
  return out;
}

/** The layout's environment under the tab's: a tab's variable replaces the layout's of any spelling. */
export function tabEnv(
  layout: LayoutConfig,
  tab: TabConfig,
  layoutAt: string,
  tabAt: string,
): [string, string][] {
  const merged = envEntries(layout.env, `${layoutAt}.env`);
  for (const [key, entry] of envEntries(tab.env, `${tabAt}.env`)) merged.set(key, entry);
  return [...merged.values()];
}

/** `retry` as the wrapper takes it: more attempts, and the backoff in milliseconds. */
export function tabRetry(tab: TabConfig, tabAt: string): Pick<WrapperTab, "retry" | "backoffMs"> {
  if (tab.retry === undefined) return {};
  const { max, backoffSeconds = 0 } = tab.retry;
  if (!Number.isSafeInteger(max) || max < 0)
    throw invalid(`${tabAt}.retry.max`, "must be a non-negative integer");
  if (!Number.isFinite(backoffSeconds) || backoffSeconds < 0 || backoffSeconds > MAX_BACKOFF_SECONDS) {
    throw invalid(
      `${tabAt}.retry.backoffSeconds`,
      `must be a number of seconds from 0 to ${MAX_BACKOFF_SECONDS.toLocaleString("en-US")}`,
    );
  }
  return { retry: max, backoffMs: Math.round(backoffSeconds * 1000) };
}

/** Refuse the layout's hooks: nothing in Windows Terminal runs them yet (capability `stopHook` is false). */
function refuseHooks(layout: LayoutConfig, layoutAt: string): void {
  for (const hook of ["onStart", "onStop"] as const) {
    if (layout[hook] === undefined) continue;
    throw invalid(
      `${layoutAt}.${hook}`,
      `the Windows Terminal backend does not support ${hook} yet (layout "${layout.layoutName}")`,
      hook === "onStart"
        ? "make it the first command of the tab that needs it, or run the layout with --backend tmux"
        : "run the layout with --backend tmux, or drop onStop",
    );
  }
}

/** Options of {@link tabSettings}. */
export interface TabSettingsOptions {
  /** The layout's position in the run, for the field paths in errors. */
  layoutIndex: number;
  /** The backend's default shell (WtBackendOptions.shell). */
  shell: CommandShell;
  /** The wrapper's PowerShell is Windows PowerShell 5.1. */
  windowsPowerShell: boolean;
}

/**
 * Each slot's wrapper settings (all but its command file), in slot order (core `sessionSlots`: the tabs'
 * own panes, then every further pane), after checking every field of the layout and each command against
 * the shell that will read it. A pane without a command runs nothing and stays as a shell.
 */
export function tabSettings(layout: LayoutConfig, o: TabSettingsOptions): Omit<WrapperTab, "commandFile">[] {
  const layoutAt = `layouts[${o.layoutIndex}]`;
  refuseHooks(layout, layoutAt);
  return sessionSlots(layout).map(({ tab: index, pane }) => {
    const tab = layout.layoutTabs[index]!;
    const tabAt = `${layoutAt}.layoutTabs[${index}]`;
    const p = pane ? tab.panes![pane - 1]! : undefined;
    const shell = tabShell(tab.shell, o.shell, `${tabAt}.shell`);
    const command = p ? (p.command ?? "") : tab.command;
    checkTabCommand(
      { ...tab, command },
      { shell: shell.shell, windowsPowerShell: windowsPowerShellFor(shell, o.windowsPowerShell) },
    );
    const env = p?.env
      ? tabEnv(layout, { ...tab, env: { ...tab.env, ...p.env } }, layoutAt, `${tabAt}.panes[${pane - 1}]`)
      : tabEnv(layout, tab, layoutAt, tabAt);
    return {
      tabName: tab.tabName,
      index,
      ...(pane ? { pane } : {}),
      ...(p && p.command === undefined ? { keep: true } : {}),
      ...shell,
      env,
      // Retries are the tab's command's: a further pane runs once (core `wrappedTabs`).
      ...(p ? {} : tabRetry(tab, tabAt)),
    };
  });
}

/** The text of each slot's command file, in slot order (a pane without a command: empty). */
export function slotCommands(layout: LayoutConfig): string[] {
  return sessionSlots(layout).map(({ tab, pane }) => {
    const t = layout.layoutTabs[tab]!;
    return pane ? (t.panes![pane - 1]!.command ?? "") : t.command;
  });
}
