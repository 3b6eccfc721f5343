import { parseVersion, type WtPlatform } from "./versions.js";

/** A command line or script output mc could not read. */
export class WtParseError extends Error {
  override name = "WtParseError";
}

/** What the kill script reports: the pids that really stopped, and those still running after it. */
export interface KillReport {
  stopped: number[];
  survivors: number[];
}

const ints = (x: unknown): number[] =>
  (Array.isArray(x) ? x : x === undefined || x === null ? [] : [x]).filter(
    (n): n is number => typeof n === "number" && Number.isSafeInteger(n),
  );

/** Parse the kill script's JSON (`{"stopped":[…],"survivors":[…]}`; PowerShell may print a lone number for a one-element array). */
export function parseKillReport(stdout: string): KillReport {
  const text = stdout.replace(/^\uFEFF/, "").trim();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new WtParseError(`the kill script printed no report: ${JSON.stringify(text.slice(0, 200))}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new WtParseError("the kill report is not an object");
  }
  const r = parsed as { stopped?: unknown; survivors?: unknown };
  return { stopped: ints(r.stopped), survivors: ints(r.survivors) };
}

/** Parse the probe's JSON (see `probeScript`) into what mc knows of the host's tools. */
export function parseProbe(stdout: string): WtPlatform {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(stdout.replace(/^\uFEFF/, "").trim()) as Record<string, unknown>;
  } catch {
    throw new WtParseError(`the PowerShell probe printed no report: ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  const powershell = parseVersion(r.powershell);
  const wt = parseVersion(r.wt);
  const windows = parseVersion(r.windows);
  return {
    ...(powershell ? { powershell } : {}),
    ...(wt ? { wt } : {}),
    ...(windows ? { windows } : {}),
    ...(typeof r.wtPath === "string" && r.wtPath !== "" ? { wtPath: r.wtPath } : {}),
  };
}
