/**
 * The per-tab outcome record, the same for every backend. A tab's wrapper writes
 * `<runDir>/tab-<index>.json` twice (the run directory exists: the backend writes its artefacts there):
 *
 * - when the command starts: `{"v":1,"pid":<wrapper pid>,"up":<uptime, 1/100 s>,"start":<epoch s>}` (`up`
 *   where the machine has /proc), in place (a reader that
 *   catches it half-written sees no record, i.e. the tab is still pending);
 * - when it ends: the same plus `"end":<epoch s>` and either `"exit":<status>` or `"signal":"<NAME>"`
 *   (the wrapper itself was sent SIGHUP/SIGTERM, for example because its tab was closed), atomically
 *   (temp file + rename), so the final outcome is never read torn.
 *
 * The PowerShell wrapper used for Windows Terminal writes the same file with the same keys
 * (`pid` = `$PID`, times from `[DateTimeOffset]::UtcNow.ToUnixTimeSeconds()`, `exit` = `$LASTEXITCODE`).
 */
export interface TabRecord {
  v: 1;
  pid: number;
  start: number;
  end?: number;
  exit?: number;
  signal?: string;
  /** Why the command never ran (`startDir`: the wrapper could not enter the tab's directory). */
  error?: string;
  /** Which run of the command this is (1, or more with `retry`). */
  attempt?: number;
  /**
   * The machine's uptime in 1/100 s when the wrapper wrote its start, where it has /proc: a process that
   * holds `pid` now and started later (its start in ticks since boot) is another one, whatever the wall
   * clock did since (review H77-2).
   */
  up?: number;
}

/** File name of tab `index`'s record inside a run directory. */
export function tabRecordName(index: number): string {
  return `tab-${index}.json`;
}

/** Name of the file that says when tab `index`'s readiness probe succeeded (`{"t": epoch seconds}`). */
export function readyMarkerName(index: number): string {
  return `ready-${index}.json`;
}

/**
 * Parse a record; undefined for a missing or damaged file (a torn write can never be read: writes are
 * renames). Every field mc reads must have the type mc writes (review H72-5: a record whose `exit` was a
 * string was taken as one, and its exit shown as text): one that does not is damaged, not half-believed.
 */
export function parseTabRecord(text: string | undefined): TabRecord | undefined {
  if (!text) return undefined;
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof r !== "object" || r === null || Array.isArray(r)) return undefined;
  const int = (v: unknown) => Number.isSafeInteger(v);
  const time = (v: unknown) => typeof v === "number" && Number.isFinite(v);
  const opt = (k: string, ok: (v: unknown) => boolean) => r[k] === undefined || ok(r[k]);
  const name = (v: unknown) => typeof v === "string" && v.length <= 64;
  const whole =
    r.v === 1 &&
    int(r.pid) &&
    (r.pid as number) >= 0 &&
    time(r.start) &&
    opt("end", time) &&
    opt("exit", int) &&
    opt("signal", name) &&
    opt("error", name) &&
    opt("attempt", (v) => int(v) && (v as number) > 0) &&
    opt("up", (v) => int(v) && (v as number) >= 0);
  return whole ? (r as unknown as TabRecord) : undefined;
}
