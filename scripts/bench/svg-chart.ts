/**
 * Small line charts as SVG text, for the benchmark docs: no dependency, no script, fixed
 * sizes, every number written out. A chart is a grid of panels; each panel has its own axes.
 */

export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
  /** A reference line (a bound or a target), drawn dashed. */
  dashed?: boolean;
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
}

const COLORS = ['#1f6feb', '#d9480f', '#2f9e44', '#862e9c', '#495057'];
const PANEL = { width: 440, height: 260, left: 56, right: 16, top: 34, bottom: 44 } as const;

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** 1, 2 or 5 × 10^k steps, about `count` of them up to `max`. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if ((ticks.at(-1) ?? 0) < max) ticks.push(Number(((ticks.at(-1) ?? 0) + step).toPrecision(12)));
  return ticks;
}

function fmt(n: number): string {
  if (Math.abs(n) >= 1000) return n.toLocaleString('en-US', { maximumFractionDigits: 0 });
  return String(Number(n.toPrecision(3)));
}

function panelSvg(p: Panel, ox: number, oy: number): string {
  const w = PANEL.width - PANEL.left - PANEL.right;
  const h = PANEL.height - PANEL.top - PANEL.bottom;
  const all = p.series.flatMap((s) => s.points);
  const xMax = Math.max(1, ...all.map(([x]) => x));
  const xs = niceTicks(xMax, 4);
  const ys = niceTicks(Math.max(0, ...all.map(([, y]) => y)), 4);
  const xTop = xs.at(-1) ?? 1;
  const yTop = ys.at(-1) ?? 1;
  const X = (x: number) => ox + PANEL.left + (x / xTop) * w;
  const Y = (y: number) => oy + PANEL.top + h - (y / yTop) * h;
  const out: string[] = [];
  out.push(`<text x="${ox + PANEL.left}" y="${oy + 20}" font-size="13" font-weight="bold">${esc(p.title)}</text>`);
  for (const t of ys) {
    out.push(`<line x1="${X(0)}" y1="${Y(t)}" x2="${X(xTop)}" y2="${Y(t)}" stroke="#e9ecef"/>`);
    out.push(`<text x="${X(0) - 6}" y="${Y(t) + 4}" font-size="10" text-anchor="end" fill="#495057">${fmt(t)}</text>`);
  }
  for (const t of xs) out.push(`<text x="${X(t)}" y="${Y(0) + 14}" font-size="10" text-anchor="middle" fill="#495057">${fmt(t)}</text>`);
  out.push(`<line x1="${X(0)}" y1="${Y(0)}" x2="${X(xTop)}" y2="${Y(0)}" stroke="#adb5bd"/>`);
  out.push(`<line x1="${X(0)}" y1="${Y(0)}" x2="${X(0)}" y2="${Y(yTop)}" stroke="#adb5bd"/>`);
  out.push(`<text x="${X(xTop / 2)}" y="${oy + PANEL.height - 10}" font-size="11" text-anchor="middle">${esc(p.xLabel)}</text>`);
  out.push(
    `<text x="${ox + 14}" y="${Y(yTop / 2)}" font-size="11" text-anchor="middle" transform="rotate(-90 ${ox + 14} ${Y(yTop / 2)})">${esc(p.yLabel)}</text>`,
  );
  p.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] as string;
    const path = s.points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ');
    out.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5,4"' : ''}/>`);
    if (!s.dashed)
      for (const [x, y] of s.points)
        out.push(
          `<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="3" fill="${color}"><title>${esc(`${s.name}: ${fmt(x)} → ${fmt(y)}`)}</title></circle>`,
        );
    const ly = oy + PANEL.top + 4 + i * 14;
    const lx = ox + PANEL.left + 10;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 16}" y2="${ly}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5,4"' : ''}/>`);
    out.push(`<text x="${lx + 22}" y="${ly + 4}" font-size="10">${esc(s.name)}</text>`);
  });
  return out.join('\n');
}

/** Panels in a grid `columns` wide, under a title and above a footnote. */
export function chartSvg(title: string, panels: readonly Panel[], opts: { columns?: number; note?: string } = {}): string {
  const columns = opts.columns ?? 2;
  const rows = Math.ceil(panels.length / columns);
  const width = columns * PANEL.width;
  const height = 36 + rows * PANEL.height + (opts.note ? 24 : 0);
  const body = panels.map((p, i) => panelSvg(p, (i % columns) * PANEL.width, 36 + Math.floor(i / columns) * PANEL.height));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="24" font-size="15" font-weight="bold">${esc(title)}</text>`,
    ...body,
    opts.note ? `<text x="12" y="${height - 8}" font-size="10" fill="#495057">${esc(opts.note)}</text>` : '',
    '</svg>',
    '',
  ].join('\n');
}
