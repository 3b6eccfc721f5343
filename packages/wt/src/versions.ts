import { McError } from "@mc/core";

/**
 * The Windows, Windows Terminal and PowerShell versions mc generates for, and the rules that differ
 * between them. Every rule names the source it was read from (microsoft/terminal tags, CLI11 tags,
 * PowerShell tags); none of them could be run here.
 */

/** A dotted version as numbers (`1.22.11751.0` → `[1, 22, 11751, 0]`). */
export type Version = readonly number[];

/** Oldest Windows Terminal mc supports (named windows, `--suppressApplicationTitle`, ConPTY fixes). */
export const MIN_WT: Version = [1, 18];
/** Oldest PowerShell: Windows PowerShell 5.1 (every launch goes through `Process.Start`, so 5.1 works). */
export const MIN_POWERSHELL: Version = [5, 1];
/** Oldest Windows: 10 1809 (build 17763), the first with ConPTY, which Windows Terminal needs. */
export const MIN_WINDOWS: Version = [10, 0, 17763];

/** What mc learnt of a host's tools (the probe in `checkAvailable`); a missing field is unknown. */
export interface WtPlatform {
  /** `$PSVersionTable.PSVersion` of the PowerShell mc runs. */
  powershell?: Version;
  /** Windows Terminal's package or file version. */
  wt?: Version;
  /** `[Environment]::OSVersion.Version`, on Windows. */
  windows?: Version;
  /** Where `wt` resolves (undefined: not found). */
  wtPath?: string;
}

/** Parse `1.22.11751.0`, `7.4.6`, `5.1.22621.4391`, `7.5.0-preview.3` into numbers; undefined when not a version. */
export function parseVersion(s: unknown): Version | undefined {
  if (typeof s !== "string") return undefined;
  const m = /^\s*v?(\d+(?:\.\d+)*)/.exec(s);
  return m ? m[1]!.split(".").map(Number) : undefined;
}

/** `v >= min`, comparing missing parts as 0. */
export function atLeast(v: Version, min: Version): boolean {
  for (let i = 0; i < Math.max(v.length, min.length); i++) {
    const a = v[i] ?? 0;
    const b = min[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

/** `1.22.11751.0` for messages. */
export const showVersion = (v: Version) => v.join(".");

/**
 * Whether this wt's CLI11 collapses `[[`+doubled chars+`]]` option values to `[…]`: CLI11 2.6.1's escape
 * clause (Option_inl.hpp `_add_result`, "this is an escape clause for odd strings") is pinned from wt
 * v1.25.622.0 on (vcpkg.json); v1.22–v1.24 pin CLI11 2.4.2, which has no such clause. Undefined: unknown.
 */
export function cli11EscapeClause(p: WtPlatform): boolean | undefined {
  return p.wt === undefined ? undefined : atLeast(p.wt, [1, 25]);
}

/** Windows PowerShell (5.x, .NET Framework) rather than PowerShell 7. */
export function isWindowsPowerShell(p: WtPlatform, pwsh: string): boolean {
  if (p.powershell) return !atLeast(p.powershell, [6]);
  return /(^|[\\/])powershell(\.exe)?$/i.test(pwsh);
}

function unsupported(what: string, have: Version, min: Version, hint: string): McError {
  return new McError(
    "VERSION_UNSUPPORTED",
    `${what} ${showVersion(have)} is too old; mc needs ${showVersion(min)} or newer`,
    {
      backend: "wt",
      op: "start",
      hint,
    },
  );
}

/** Refuse tools older than mc's minimums, and a missing wt, before anything starts. */
export function checkPlatform(p: WtPlatform, o: { wt: string; windowsHost: boolean }): void {
  if (p.powershell && !atLeast(p.powershell, MIN_POWERSHELL)) {
    throw unsupported(
      "PowerShell",
      p.powershell,
      MIN_POWERSHELL,
      "install PowerShell 7 (winget install Microsoft.PowerShell)",
    );
  }
  if (o.windowsHost && p.windows && !atLeast(p.windows, MIN_WINDOWS)) {
    throw unsupported("Windows", p.windows, MIN_WINDOWS, "Windows Terminal needs Windows 10 1809 or newer");
  }
  if (p.wtPath === undefined) {
    throw new McError("BINARY_NOT_FOUND", `"${o.wt}" was not found by PowerShell`, {
      backend: "wt",
      op: "start",
      hint: "install Windows Terminal (winget install Microsoft.WindowsTerminal): mc runs wt.exe from PATH",
    });
  }
  if (p.wt && !atLeast(p.wt, MIN_WT)) {
    throw unsupported(
      "Windows Terminal",
      p.wt,
      MIN_WT,
      "update Windows Terminal (winget upgrade Microsoft.WindowsTerminal)",
    );
  }
}
