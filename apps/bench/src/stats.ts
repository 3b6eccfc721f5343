/** Summary of repeated measurements of one contender. */
export interface Stats {
  /** Number of successful samples. */
  n: number;
  median: number;
  min: number;
  max: number;
  /** Samples that failed (timeout, error); never counted as zero. */
  failed: number;
}

/** Median of a list of numbers (mean of the two middle values for an even count); NaN when empty. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median, min and max of the finite samples; NaN samples count as failures. */
export function summarize(samples: readonly number[]): Stats {
  const ok = samples.filter((x) => Number.isFinite(x));
  return {
    n: ok.length,
    median: median(ok),
    min: ok.length ? Math.min(...ok) : Number.NaN,
    max: ok.length ? Math.max(...ok) : Number.NaN,
    failed: samples.length - ok.length,
  };
}

/** `value / baseline`; NaN when either is missing or the baseline is not positive. */
export function ratio(value: number, baseline: number): number {
  if (!Number.isFinite(value) || !Number.isFinite(baseline) || baseline <= 0) return Number.NaN;
  return value / baseline;
}

/** Share of one core: CPU milliseconds over wall milliseconds, in percent. */
export function cpuPercent(cpuMs: number, wallMs: number): number {
  if (!Number.isFinite(cpuMs) || !Number.isFinite(wallMs) || wallMs <= 0) return Number.NaN;
  return (cpuMs / wallMs) * 100;
}

/**
 * CPU time of a process in milliseconds from the text of `/proc/<pid>/stat`: utime + stime, plus cutime
 * + cstime (children it has waited for, e.g. every `tmux list-panes` it ran) when `withChildren`.
 * `comm` (field 2) may hold spaces and `)`, so fields are counted from the last `)` (proc(5)).
 */
export function procCpuMs(statText: string, withChildren = true, clockTicks = 100): number {
  const close = statText.lastIndexOf(")");
  if (close < 0) return Number.NaN;
  // After ") ": state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17); index 0 here is field 3.
  const f = statText
    .slice(close + 2)
    .trim()
    .split(/\s+/)
    .map(Number);
  const [ut, st, cut, cst] = [f[11], f[12], f[13], f[14]];
  if ([ut, st, cut, cst].some((x) => x === undefined || !Number.isFinite(x))) return Number.NaN;
  const ticks = ut! + st! + (withChildren ? cut! + cst! : 0);
  return (ticks * 1000) / clockTicks;
}

/** Format milliseconds for tables: `850 ms`, `2.41 s`; `—` for a missing value. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Format a ratio: `1.07×`; `—` when missing. */
export function fmtRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : "—";
}
