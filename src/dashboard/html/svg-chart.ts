/**
 * Charts as inline SVG rendered on the server: no client script, no chart library, nothing
 * fetched at run time, and the pages keep a Content-Security-Policy without scripts. Hover
 * text comes from SVG <title> elements. Only attributes are used (no style=""), so the CSP
 * needs no 'unsafe-inline'.
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
  from: number;
  to: number;
  series: readonly Series[];
  /** Draw bars (one per point) instead of lines; bars suit per-interval totals. @defaultValue false */
  bars?: boolean;
  /** The interval one bar stands for, in x units. @defaultValue one sixtieth of the range */
  barSpan?: number;
  width?: number;
  height?: number;
  /** Text shown when no series has a point. */
  empty?: string;
}

const PAD = { left: 56, right: 24, top: 12, bottom: 28 };

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
  return new Date(ms).toISOString().slice(11, 16);
}

export function chart(opts: ChartOptions): SafeHtml {
  const width = opts.width ?? 640;
  const height = opts.height ?? 200;
  const w = width - PAD.left - PAD.right;
  const h = height - PAD.top - PAD.bottom;
  const all = opts.series.flatMap((s) => s.points);
  const maxY = niceMax(Math.max(0, ...all.map((p) => p.y)));
  const span = Math.max(1, opts.to - opts.from);
  const x = (v: number) => PAD.left + ((v - opts.from) / span) * w;
  const y = (v: number) => PAD.top + h - (v / maxY) * h;
  const r = (v: number) => v.toFixed(1);

  const grid = [0, 0.25, 0.5, 0.75, 1].map(
    (f) =>
      html`<line x1="${r(PAD.left)}" x2="${r(PAD.left + w)}" y1="${r(y(maxY * f))}" y2="${r(y(maxY * f))}" stroke="#d8dee4" stroke-width="1"/><text x="${r(PAD.left - 6)}" y="${r(y(maxY * f) + 4)}" text-anchor="end" font-size="11" fill="#57606a">${fmt(maxY * f)}</text>`,
  );
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const t = opts.from + span * f;
    return html`<text x="${r(x(t))}" y="${r(height - 8)}" text-anchor="${f === 1 ? 'end' : f === 0 ? 'start' : 'middle'}" font-size="11" fill="#57606a">${clock(t)}</text>`;
  });

  let marks: SafeHtml[];
  if (opts.bars) {
    const slot = (((opts.barSpan ?? span / 60) / span) * w) / Math.max(1, opts.series.length);
    marks = opts.series.flatMap((s, si) =>
      s.points.map((p) => {
        const top = y(p.y);
        return html`<rect x="${r(x(p.x) + si * slot)}" y="${r(top)}" width="${r(Math.max(1, slot - 1))}" height="${r(PAD.top + h - top)}" fill="${s.color}"><title>${p.label ?? `${clock(p.x)} ${s.name}: ${fmt(p.y)} ${opts.unit}`}</title></rect>`;
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
  const legend = opts.series.map(
    (s, i) =>
      html`<g transform="translate(${r(PAD.left + 8 + (i % 4) * 150)},${r(PAD.top + 4 + Math.floor(i / 4) * 14)})"><rect width="10" height="10" fill="${s.color}"/><text x="14" y="9" font-size="11" fill="#24292f">${s.name}</text></g>`,
  );
  const emptyText =
    all.length === 0
      ? html`<text x="${r(PAD.left + w / 2)}" y="${r(PAD.top + h / 2)}" text-anchor="middle" font-size="12" fill="#57606a">${opts.empty ?? 'no data yet'}</text>`
      : '';
  return html`<figure class="chart"><figcaption>${opts.title} <span class="muted">(${opts.unit})</span></figcaption><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${opts.title}">${grid}${ticks}${marks}${legend}${emptyText}</svg></figure>`;
}

/** Colours for series, chosen to stay apart for colour-blind readers (Okabe–Ito). */
export const PALETTE = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#f0e442', '#000000'] as const;
