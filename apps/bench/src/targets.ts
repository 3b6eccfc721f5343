import type { BenchResults, LaunchResult, MonitorResult, Target } from "./model.js";
import { fmtMs, fmtRatio, ratio } from "./stats.js";

export const isMonitor = (m: BenchResults["monitor"]): m is MonitorResult =>
  m !== undefined && !("skipped" in m);

const verdict = (ok: boolean | undefined): Target["verdict"] =>
  ok === undefined ? "SKIP" : ok ? "PASS" : "MISS";

const median = (l: LaunchResult | undefined, id: string) => {
  const row = l?.rows.find((x) => x.id === id);
  return row && !row.skipped ? row.stats.median : Number.NaN;
};

/** One ratio goal: PASS when `value ≤ goal` (or `≥` with `atLeast`), SKIP when not measured. */
function goal(
  name: string,
  value: number,
  limit: number,
  fmt: (v: number) => string,
  atLeast = false,
): Target {
  const ok = Number.isFinite(value) ? (atLeast ? value >= limit : value <= limit) : undefined;
  return {
    name,
    goal: `${atLeast ? "≥" : "≤"} ${fmt(limit)}`,
    measured: Number.isFinite(value) ? fmt(value) : "not measured",
    verdict: verdict(ok),
  };
}

const asCheck = (t: Target): Target => ({ ...t, check: true });

/**
 * PASS/MISS for each goal of issue 18, and the earlier checks still held (marked `check`: the peers,
 * status subprocesses, CLI start), from figures of the same run.
 */
export function evaluateTargets(r: BenchResults): Target[] {
  const out: Target[] = [];
  const warm = (tabs: number) => r.launch.find((l) => l.tabs === tabs && !l.cold);
  const x = (v: number) => `${v.toFixed(2)}×`;
  for (const [tabs, limit] of [
    [100, 1.5],
    [20, 2.5],
  ] as const) {
    const l = warm(tabs);
    out.push(
      goal(
        `launch, ${tabs} tabs: sessions run vs floor`,
        ratio(median(l, "sessions"), median(l, "floor")),
        limit,
        x,
      ),
    );
  }
  const l100 = warm(100) ?? warm(20);
  if (l100) {
    out.push(
      goal(
        `launch, ${l100.tabs} tabs: floor + mc's tab wrapper vs floor`,
        ratio(median(l100, "floor-wrapped"), median(l100, "floor")),
        1.2,
        x,
      ),
    );
    for (const id of ["tmuxp", "tmuxinator"])
      out.push(
        asCheck(
          goal(
            `launch, ${l100.tabs} tabs: sessions run vs ${id} (times faster)`,
            ratio(median(l100, id), median(l100, "sessions")),
            2,
            x,
            true,
          ),
        ),
      );
  }
  const s500 = [...r.status].sort((a, b) => b.panes - a.panes)[0];
  out.push(
    goal(
      `status of ${s500?.panes ?? 500} panes (the sessions status table) vs bare tmux list-panes -a`,
      s500 ? s500.ratio : Number.NaN,
      2,
      fmtRatio,
    ),
    goal(
      `status of ${s500?.panes ?? 500} panes with process trees (status --json) vs bare list-panes`,
      s500?.withProcessesRatio ?? Number.NaN,
      2,
      fmtRatio,
    ),
  );
  if (r.status.length) {
    const worst = Math.max(...r.status.flatMap((s) => [...s.spawned, ...s.execs]));
    out.push(
      asCheck(
        goal(`status subprocesses (${r.status.map((s) => s.panes).join(", ")} panes)`, worst, 2, String),
      ),
    );
  }
  out.push(
    goal(
      `CLI memory: sessions status --json on ${r.rss?.panes ?? 500} panes (peak RSS, MiB)`,
      r.rss?.peakMiB ?? Number.NaN,
      80,
      // One decimal: a MISS by 0.4 MiB must not read "80 MiB".
      (v) => `${v.toFixed(1)} MiB`,
    ),
  );
  const f = r.follow;
  out.push(
    goal(
      `monitoring ${isMonitor(f) ? f.tabs : 100} running tabs (sessions events --follow), % of one core`,
      isMonitor(f) ? f.percent : Number.NaN,
      0.3,
      (v) => `${v.toFixed(2)}%`,
    ),
  );
  const lat = r.latency && "stats" in r.latency ? r.latency : undefined;
  out.push(
    goal(
      `a tab's exit seen by events --follow (slowest of ${lat?.tabs ?? "N"})`,
      lat ? lat.stats.max : Number.NaN,
      100,
      (v) => fmtMs(v),
    ),
  );
  const remote = r.remote.rows?.find(
    (row) => /^status 10 hosts/.test(row.label) && row.spawned !== undefined,
  );
  out.push(goal("remote status of 10 hosts: ssh round trips", remote?.spawned ?? Number.NaN, 10, String));
  const c = r.cliStart;
  out.push(asCheck(goal("CLI start: sessions --version vs node -e 0", c ? c.ratio : Number.NaN, 1.5, x)));
  return out;
}
