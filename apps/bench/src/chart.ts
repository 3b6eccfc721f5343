import type { BenchResults } from "./model.js";

/** The contenders the chart draws, with their colours. */
const SERIES = [
  { id: "floor", label: "floor: tmux source-file", color: "#555555" },
  { id: "sessions", label: "sessions run", color: "#1f77b4" },
  { id: "tmuxp", label: "tmuxp load", color: "#d62728" },
  { id: "tmuxinator", label: "tmuxinator start", color: "#ff7f0e" },
] as const;

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * Launch time against number of tabs (warm server), both axes logarithmic, as a standalone SVG written by
 * the bench itself. Undefined when fewer than two sizes were measured.
 */
export function launchChart(r: BenchResults): string | undefined {
  const sizes = r.launch.filter((l) => !l.cold).sort((a, b) => a.tabs - b.tabs);
  if (sizes.length < 2) return undefined;
  const points = SERIES.map((s) => ({
    ...s,
    pts: sizes
      .map((l) => {
        const row = l.rows.find((x) => x.id === s.id);
        return row && !row.skipped && Number.isFinite(row.stats.median)
          ? { tabs: l.tabs, ms: row.stats.median }
          : undefined;
      })
      .filter((p): p is { tabs: number; ms: number } => p !== undefined),
  })).filter((s) => s.pts.length > 0);
  const all = points.flatMap((s) => s.pts);
  const [W, H, L, R, T, B] = [720, 420, 70, 200, 30, 50];
  const lx = (v: number) => Math.log10(v);
  const [x0, x1] = [lx(Math.min(...sizes.map((l) => l.tabs))), lx(Math.max(...sizes.map((l) => l.tabs)))];
  const [y0, y1] = [
    Math.floor(lx(Math.min(...all.map((p) => p.ms)))),
    Math.ceil(lx(Math.max(...all.map((p) => p.ms)))),
  ];
  const px = (tabs: number) => L + ((lx(tabs) - x0) / (x1 - x0 || 1)) * (W - L - R);
  const py = (ms: number) => H - B - ((lx(ms) - y0) / (y1 - y0 || 1)) * (H - T - B);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12" role="img" aria-labelledby="title">`,
    `<title id="title">Launch time against number of tabs: ${esc(points.map((s) => s.label).join(", "))}</title>`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${L}" y="18" font-size="14" font-weight="bold">Launch time against tabs (warm tmux server, median; log–log)</text>`,
  ];
  for (let e = y0; e <= y1; e++) {
    const y = py(10 ** e).toFixed(1);
    const label = 10 ** e >= 1000 ? `${10 ** (e - 3)} s` : `${10 ** e} ms`;
    out.push(
      `<line x1="${L}" y1="${y}" x2="${W - R}" y2="${y}" stroke="#dddddd"/>`,
      `<text x="${L - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${label}</text>`,
    );
  }
  for (const l of sizes) {
    const x = px(l.tabs).toFixed(1);
    out.push(
      `<line x1="${x}" y1="${T}" x2="${x}" y2="${H - B}" stroke="#eeeeee"/>`,
      `<text x="${x}" y="${H - B + 16}" text-anchor="middle">${l.tabs}</text>`,
    );
  }
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">tabs</text>`);
  for (const [k, s] of points.entries()) {
    const path = s.pts.map((p) => `${px(p.tabs).toFixed(1)},${py(p.ms).toFixed(1)}`).join(" ");
    out.push(`<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const p of s.pts)
      out.push(
        `<circle cx="${px(p.tabs).toFixed(1)}" cy="${py(p.ms).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(s.label)}: ${p.tabs} tabs, ${Math.round(p.ms)} ms</title></circle>`,
      );
    const ly = T + 20 + k * 20;
    out.push(
      `<line x1="${W - R + 15}" y1="${ly}" x2="${W - R + 40}" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`,
      `<text x="${W - R + 46}" y="${ly}" dominant-baseline="middle">${esc(s.label)}</text>`,
    );
  }
  out.push("</svg>", "");
  return out.join("\n");
}
