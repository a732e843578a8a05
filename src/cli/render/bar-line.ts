/**
 * One progress line per processor, laid out for a terminal width: every row uses the same
 * layout so the columns line up, and as the width shrinks the labels shorten, the bar
 * narrows, the names are abbreviated and fields are dropped, in that order (`LAYOUTS`).
 */
import { abbreviateAll, formatDuration, truncate, visibleWidth } from './text.ts';

export interface BarRow {
  phase: number;
  processor: string;
  /** Slices (dates) the processor runs in this backfill. */
  total: number;
  committed: number;
  incomplete: number;
  empty: number;
  waiting: number;
  /** Failed and deferred. */
  failed: number;
  /** Milliseconds left: 0 when the bar is full, undefined while unknown. */
  etaMs: number | undefined;
}

type Field = 'committed' | 'waiting' | 'incomplete' | 'empty' | 'failed';

const LABELS: Record<Field, { full: string; short: string }> = {
  committed: { full: 'committed', short: 'ok' },
  waiting: { full: 'waiting', short: 'wait' },
  incomplete: { full: 'incomplete', short: 'inc' },
  empty: { full: 'empty', short: 'emp' },
  failed: { full: 'failed', short: 'fail' },
};

interface Layout {
  short: boolean;
  fields: readonly Field[];
  eta: boolean;
  /** Narrowest bar this layout accepts; 0 = no bar. */
  minBar: number;
  nameMax: number;
}

const ALL: readonly Field[] = ['committed', 'waiting', 'incomplete', 'empty', 'failed'];
const NO_EMPTY: readonly Field[] = ['committed', 'waiting', 'incomplete', 'failed'];
const NO_WAITING: readonly Field[] = ['committed', 'incomplete', 'failed'];

/** Richest first; the first whose widest row fits is used. `failed` is the last field to go. */
const LAYOUTS: readonly Layout[] = [
  { short: false, fields: ALL, eta: true, minBar: 12, nameMax: 40 },
  { short: true, fields: ALL, eta: true, minBar: 10, nameMax: 40 },
  { short: true, fields: NO_EMPTY, eta: true, minBar: 10, nameMax: 40 },
  { short: true, fields: NO_EMPTY, eta: true, minBar: 6, nameMax: 40 },
  { short: true, fields: NO_EMPTY, eta: true, minBar: 6, nameMax: 20 },
  { short: true, fields: NO_WAITING, eta: true, minBar: 6, nameMax: 20 },
  { short: true, fields: NO_WAITING, eta: true, minBar: 0, nameMax: 20 },
  { short: true, fields: ['incomplete', 'failed'], eta: true, minBar: 0, nameMax: 16 },
  { short: true, fields: ['failed'], eta: true, minBar: 0, nameMax: 12 },
  { short: true, fields: ['failed'], eta: false, minBar: 0, nameMax: 12 },
];

const MAX_BAR = 30;
const FULL = '█';
const EMPTY = '░';

export function doneOf(r: Pick<BarRow, 'committed' | 'incomplete' | 'empty' | 'failed'>): number {
  return r.committed + r.incomplete + r.empty + r.failed;
}

function etaText(ms: number | undefined, short: boolean): string {
  const value = ms === undefined ? '–' : ms === 0 ? 'done' : formatDuration(ms);
  return short || ms === 0 ? value : `ETA ${value}`;
}

function bar(done: number, total: number, width: number): string {
  const filled = total > 0 ? Math.min(width, Math.floor((done / total) * width)) : width;
  return FULL.repeat(filled) + EMPTY.repeat(width - filled);
}

function render(rows: readonly BarRow[], layout: Layout, width: number): string[] | undefined {
  const names = abbreviateAll(
    rows.map((r) => r.processor),
    layout.nameMax,
  );
  const nameW = Math.max(...names.map((n) => n.length));
  const counts = rows.map((r) => `${doneOf(r)}/${r.total}`);
  const countW = Math.max(...counts.map((c) => c.length));
  const sep = layout.short ? ' ' : ' · ';
  const cells = rows.map((r) =>
    layout.fields.map((f) => {
      const label = layout.short ? LABELS[f].short : LABELS[f].full;
      const valueW = Math.max(...rows.map((x) => String(x[f]).length));
      return `${label} ${String(r[f]).padStart(valueW)}`;
    }),
  );
  const etas = rows.map((r) => (layout.eta ? etaText(r.etaMs, layout.short) : ''));
  const etaW = Math.max(...etas.map((e) => e.length));
  const fixed = (i: number) => {
    const fields = (cells[i] ?? []).join(sep);
    return [
      `${rows[i]?.phase ?? ''} ${(names[i] ?? '').padEnd(nameW)}`,
      counts[i]?.padStart(countW),
      fields,
      layout.eta ? (etas[i] ?? '').padEnd(etaW) : undefined,
    ]
      .filter((s) => s !== undefined && s !== '')
      .join('  ');
  };
  const widest = Math.max(...rows.map((_, i) => visibleWidth(fixed(i))));
  // The bar sits between the name and the count, with two spaces on each side.
  const room = width - widest - 2;
  const barW = layout.minBar === 0 ? 0 : Math.min(MAX_BAR, room);
  if (layout.minBar > 0 ? barW < layout.minBar : widest > width) return undefined;
  return rows.map((r, i) => {
    const head = `${r.phase} ${(names[i] ?? '').padEnd(nameW)}`;
    const rest = fixed(i).slice(head.length + 2);
    return (barW > 0 ? `${head}  ${bar(doneOf(r), r.total, barW)}  ${rest}` : `${head}  ${rest}`).trimEnd();
  });
}

/** The bar block's rows for `width` columns: no line is wider. */
export function barLines(rows: readonly BarRow[], width: number): string[] {
  if (rows.length === 0) return [];
  for (const layout of LAYOUTS) {
    const lines = render(rows, layout, width);
    if (lines) return lines;
  }
  // Narrower than any layout: the leanest one, cut.
  const last = LAYOUTS.at(-1) as Layout;
  return (render(rows, { ...last, nameMax: 8 }, Number.MAX_SAFE_INTEGER) ?? []).map((l) => truncate(l, width));
}
