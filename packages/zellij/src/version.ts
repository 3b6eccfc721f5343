/**
 * zellij versions and the features mc uses from each. Every threshold below was read from the zellij
 * repository (github.com/zellij-org/zellij, tags v0.40.0 … v0.45.0, snapshot bf8d23a4f of 2026-08-20).
 */

/** A zellij version as `[major, minor, patch]`. */
export type ZellijVersion = readonly [number, number, number];

/**
 * Oldest zellij mc supports: `attach --create-background` arrived in 0.40.0 (commit 954bdcb1a, #3265,
 * renamed from `--background`); `list-sessions --no-formatting/--short` and `delete-session` are older
 * (0.39.0, #2801/#2857).
 */
export const MIN_ZELLIJ_VERSION: ZellijVersion = [0, 40, 0];

/**
 * From 0.41.0 (#3650, commit 203fbf7a4) `--layout` adds tabs to the *current* session when run inside
 * zellij (`ZELLIJ_SESSION_NAME` set, src/main.rs), and `--new-session-with-layout` keeps the old meaning
 * "always start a new session". Before 0.41.0 only `--layout` exists and it always starts a new session.
 */
export const NEW_SESSION_WITH_LAYOUT_SINCE: ZellijVersion = [0, 41, 0];

/**
 * `zellij action list-panes --json` (PaneListEntry with `exited`/`exit_status`) and
 * `zellij action switch-session` arrived in 0.44.0 (#4690, commit 860e8e323).
 */
export const LIST_PANES_SINCE: ZellijVersion = [0, 44, 0];

/** Parse `zellij --version` (`zellij 0.45.0`); undefined when there is no version in it. */
export function parseZellijVersion(out: string): ZellijVersion | undefined {
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(out);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** True when `v` is `min` or newer. */
export function atLeast(v: ZellijVersion, min: ZellijVersion): boolean {
  for (let i = 0; i < 3; i++) {
    if (v[i]! !== min[i]!) return v[i]! > min[i]!;
  }
  return true;
}

/** `0.45.0`. */
export function formatVersion(v: ZellijVersion): string {
  return v.join(".");
}
