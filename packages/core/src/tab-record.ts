/**
 * The per-tab outcome record, the same for every backend. A tab's wrapper writes
 * `<runDir>/tab-<index>.json` twice (the run directory exists: the backend writes its artefacts there):
 *
 * - when the command starts: `{"v":1,"pid":<wrapper pid>,"start":<epoch s>}`, in place (a reader that
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
}

/** File name of tab `index`'s record inside a run directory. */
export function tabRecordName(index: number): string {
  return `tab-${index}.json`;
}

/** Name of the file that says when tab `index`'s readiness probe succeeded (`{"t": epoch seconds}`). */
export function readyMarkerName(index: number): string {
  return `ready-${index}.json`;
}

/** Parse a record; undefined for a missing or damaged file (a torn write can never be read: writes are renames). */
export function parseTabRecord(text: string | undefined): TabRecord | undefined {
  if (!text) return undefined;
  try {
    const r = JSON.parse(text) as Partial<TabRecord>;
    if (r.v !== 1 || typeof r.pid !== "number" || typeof r.start !== "number") return undefined;
    return r as TabRecord;
  } catch {
    return undefined;
  }
}
