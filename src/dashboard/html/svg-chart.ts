/**
 * Charts as inline SVG rendered on the server: no client script, no chart library, nothing
 * fetched at run time, and the pages keep a Content-Security-Policy without scripts. Hover
 * text comes from SVG <title> elements. Only attributes are used (no style=""), so the CSP
 * needs no 'unsafe-inline'.
 *
 * The time axis fits the data (a two-minute run fills the chart, it is not a sliver at the
 * edge of a fixed hour); the legend is HTML below the drawing, so it wraps instead of
 * overlapping; the SVG scales to the width it is given (the pages work at 800 px).
 */
import { html, type SafeHtml, trusted } from './escape.ts';

export interface Series {
  name: string;
  /** A CSS colour constant from this codebase (never user data). */
  color: string;
  points: readonly { x: number; y: number; label?: string }[];
}

export interface ChartOptions {
  title: string;
  /** Unit shown on the y axis, e.g. "rows / min". */
  unit: string;
  /** The window (epoch ms) the data may come from; the axis shows the part the data covers (see `fitRange`). */
  from: number;
  to: number;
  series: readonly Series[];
  /** Draw bars (one per interval, stacked by series) instead of lines; bars suit per-interval totals. @defaultValue false */
  bars?: boolean;
  /** The interval one bar stands for, in x units. @defaultValue one fortieth of the fitted range */
  barSpan?: number;
  /** The drawing's own coordinate size; it scales to the page. @defaultValue 640 × 200 */
  width?: number | undefined;
  height?: number | undefined;
  /** Text shown when no series has a point. */
  empty?: string;
}

const PAD = { left: 56, right: 16, top: 12, bottom: 28 };

/** The shortest axis: a single point (or a run of a few seconds, as in the demo) still gets ten seconds around it. */
export const MIN_SPAN_MS = 10_000;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
/** Steps a time axis (or a bucket) may use: round clock values. */
const STEPS = [1, 2, 5, 10, 15, 30].map((s) => s * SECOND).concat([1, 2, 5, 10, 15, 30, 60, 120].map((m) => m * MINUTE));

/**
 * The part of [from, to] the data covers, with a little room either side: from the first
 * point to the last (plus `endPad`, a bar's width), at least MIN_SPAN_MS, clamped to the window.
 * No data: the whole window.
 */
export function fitRange(xs: readonly number[], from: number, to: number, endPad = 0): { from: number; to: number } {
  const inside = xs.filter((x) => x >= from && x <= to);
  if (inside.length === 0) return { from, to };
  const lo = Math.min(...inside);
  const hi = Math.max(...inside) + endPad;
  const pad = Math.max(MIN_SPAN_MS, hi - lo) * 0.04;
  let a = Math.max(from, lo - pad);
  let b = Math.min(to, hi + pad);
  // Too short: widen around the data, kept inside the window.
  if (b - a < MIN_SPAN_MS) {
    const mid = (lo + hi) / 2;
    a = Math.max(from, Math.min(mid - MIN_SPAN_MS / 2, to - MIN_SPAN_MS));
    b = Math.min(to, a + MIN_SPAN_MS);
  }
  return { from: a, to: b };
}

/** The smallest round step that cuts `spanMs` into at most `parts` pieces. */
export function niceStep(spanMs: number, parts: number): number {
  for (const s of STEPS) if (spanMs / s <= parts) return s;
  return STEPS.at(-1) as number;
}

/** Ticks at round clock times inside [from, to]; seconds shown when the step is under a minute. */
export function timeTicks(from: number, to: number, maxTicks = 6): { at: number; label: string }[] {
  const step = niceStep(to - from, maxTicks);
  const out: { at: number; label: string }[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) {
    const iso = new Date(t).toISOString();
    out.push({ at: t, label: step < MINUTE ? iso.slice(11, 19) : iso.slice(11, 16) });
  }
  return out;
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(n: number): string {
  if (n >= 1_000_000) return `${+(n / 1_000_000).toFixed(1)}M`;
  if (n >= 10_000) return `${+(n / 1000).toFixed(0)}k`;
  if (n >= 1000) return `${+(n / 1000).toFixed(1)}k`;
  return String(+n.toFixed(2));
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

export function chart(opts: ChartOptions): SafeHtml {
  const width = opts.width ?? 640;
  const height = opts.height ?? 200;
  const w = width - PAD.left - PAD.right;
  const h = height - PAD.top - PAD.bottom;
  const all = opts.series.flatMap((s) => s.points);
  const window = fitRange(
    all.map((p) => p.x),
    opts.from,
    opts.to,
    opts.bars ? (opts.barSpan ?? 0) : 0,
  );
  const span = Math.max(1, window.to - window.from);
  // Bars stack: one bar per interval, a segment per series (side by side, seven tables make
  // bars a pixel wide); the axis reaches the tallest stack.
  const stackTop = new Map<number, number>();
  if (opts.bars) for (const p of all) stackTop.set(p.x, (stackTop.get(p.x) ?? 0) + Math.max(0, p.y));
  const maxY = niceMax(Math.max(0, ...(opts.bars ? [...stackTop.values()] : all.map((p) => p.y))));
  const x = (v: number) => PAD.left + ((v - window.from) / span) * w;
  const y = (v: number) => PAD.top + h - (v / maxY) * h;
  const r = (v: number) => v.toFixed(1);

  // Gridlines at round values: quarters of 2.5·10ⁿ, fifths of 1, 2 or 5·10ⁿ.
  const mantissa = maxY / 10 ** Math.floor(Math.log10(maxY));
  const fractions = Math.abs(mantissa - 2.5) < 1e-9 ? [0, 0.25, 0.5, 0.75, 1] : [0, 0.2, 0.4, 0.6, 0.8, 1];
  const grid = fractions.map(
    (f) =>
      html`<line x1="${r(PAD.left)}" x2="${r(PAD.left + w)}" y1="${r(y(maxY * f))}" y2="${r(y(maxY * f))}" stroke="#d8dee4" stroke-width="1"/><text x="${r(PAD.left - 6)}" y="${r(y(maxY * f) + 4)}" text-anchor="end" font-size="11" fill="#57606a">${fmt(maxY * f)}</text>`,
  );
  // A label needs about 26 units either side of its tick; ticks too near an edge go without one.
  const ticks = timeTicks(window.from, window.to)
    .filter((t) => x(t.at) >= PAD.left + 20 && x(t.at) <= width - 26)
    .map(
      (t) =>
        html`<line x1="${r(x(t.at))}" x2="${r(x(t.at))}" y1="${r(PAD.top + h)}" y2="${r(PAD.top + h + 4)}" stroke="#8c959f" stroke-width="1"/><text x="${r(x(t.at))}" y="${r(height - 8)}" text-anchor="middle" font-size="11" fill="#57606a">${t.label}</text>`,
    );

  let marks: SafeHtml[];
  if (opts.bars) {
    const slot = ((opts.barSpan ?? span / 40) / span) * w;
    const base = new Map<number, number>();
    marks = opts.series.flatMap((s) =>
      s.points.map((p) => {
        const below = base.get(p.x) ?? 0;
        base.set(p.x, below + Math.max(0, p.y));
        const top = y(below + Math.max(0, p.y));
        return html`<rect x="${r(x(p.x))}" y="${r(top)}" width="${r(Math.max(1, slot - 1))}" height="${r(y(below) - top)}" fill="${s.color}"><title>${p.label ?? `${clock(p.x)} ${s.name}: ${fmt(p.y)} ${opts.unit}`}</title></rect>`;
      }),
    );
  } else {
    marks = opts.series.map((s) => {
      if (s.points.length === 0) return html``;
      const d = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${r(x(p.x))},${r(y(p.y))}`).join(' ');
      const dots = s.points.map(
        (p) =>
          html`<circle cx="${r(x(p.x))}" cy="${r(y(p.y))}" r="2" fill="${s.color}"><title>${p.label ?? `${clock(p.x)} ${s.name}: ${fmt(p.y)} ${opts.unit}`}</title></circle>`,
      );
      return html`<path d="${trusted(d)}" fill="none" stroke="${s.color}" stroke-width="2"/>${dots}`;
    });
  }
  const emptyText =
    all.length === 0
      ? html`<text x="${r(PAD.left + w / 2)}" y="${r(PAD.top + h / 2)}" text-anchor="middle" font-size="12" fill="#57606a">${opts.empty ?? 'no data yet'}</text>`
      : '';
  const legend =
    opts.series.length > 0
      ? html`<ul class="chart-legend">${opts.series.map(
          (s) =>
            html`<li><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" viewBox="0 0 10 10" aria-hidden="true"><rect width="10" height="10" fill="${s.color}"/></svg>${s.name}</li>`,
        )}</ul>`
      : '';
  const range = all.length > 0 ? html` <span class="muted range">${clock(window.from)}–${clock(window.to)} UTC</span>` : '';
  return html`<figure class="chart"><figcaption>${opts.title} <span class="muted">(${opts.unit})</span>${range}</figcaption><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" preserveAspectRatio="xMinYMin meet" role="img" aria-label="${opts.title}" data-from="${Math.round(window.from)}" data-to="${Math.round(window.to)}">${grid}${ticks}${marks}${emptyText}</svg>${legend}</figure>`;
}

/** Colours for series, chosen to stay apart for colour-blind readers (Okabe–Ito). */
export const PALETTE = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#f0e442', '#000000'] as const;
