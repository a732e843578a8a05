/**
 * One progress line per processor, laid out for a terminal width: every row uses the same
 * layout so the columns line up, and as the width shrinks the labels shorten, the bar
 * narrows, the names are shortened and fields are dropped, in that order (`LAYOUTS`). The
 * layout depends on the terminal's width and the run's size, not on its progress (unless
 * failures or waits run into two digits).
 *
 * The bar says how the dates ended, not only how many did: `█` ok, `▓` incomplete, `✗` failed,
 * `▒` waiting, `░` still to come — in colour too when the terminal has it — and a finished
 * row with a failure ends in `failed`, never in `done`.
 */
import { abbreviateAll, formatDuration, truncate, visibleWidth } from './text.ts';

export interface BarRow {
  phase: number;
  processor: string;
  /** Slices (dates) the processor runs in this backfill. */
  total: number;
  committed: number;
  incomplete: number;
  /** Nothing scheduled: ended well, counted with the committed as `ok`. */
  empty: number;
  waiting: number;
  /** Failed, deferred, upstream_failed and cancelled. */
  failed: number;
  /** Milliseconds left: 0 when the bar is full, undefined while unknown. */
  etaMs: number | undefined;
}

export interface BarOptions {
  /** ANSI colours (the caller decides: a terminal with colour, `NO_COLOR` unset). @defaultValue false */
  colour?: boolean;
}

/**
 * The bar's fields. `empty` (a date with no games) is counted in `ok`: a field of its own
 * would appear in some runs' layouts and not others'; the summary names empties.
 */
type Field = 'ok' | 'waiting' | 'incomplete' | 'failed';

const LABELS: Record<Field, { full: string; short: string }> = {
  ok: { full: 'ok', short: 'ok' },
  waiting: { full: 'waiting', short: 'wait' },
  incomplete: { full: 'incomplete', short: 'inc' },
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

const ALL: readonly Field[] = ['ok', 'waiting', 'incomplete', 'failed'];
const NO_WAITING: readonly Field[] = ['ok', 'incomplete', 'failed'];

/**
 * Richest first; the first whose widest row fits is used. Every field stays until the bar and
 * the names have given up their room; `failed` is the last field to go.
 */
const LAYOUTS: readonly Layout[] = [
  { short: false, fields: ALL, eta: true, minBar: 12, nameMax: 40 },
  { short: true, fields: ALL, eta: true, minBar: 10, nameMax: 40 },
  { short: true, fields: ALL, eta: true, minBar: 6, nameMax: 40 },
  { short: true, fields: ALL, eta: true, minBar: 6, nameMax: 20 },
  { short: true, fields: ALL, eta: true, minBar: 0, nameMax: 20 },
  { short: true, fields: NO_WAITING, eta: true, minBar: 0, nameMax: 20 },
  { short: true, fields: ['incomplete', 'failed'], eta: true, minBar: 0, nameMax: 16 },
  { short: true, fields: ['failed'], eta: true, minBar: 0, nameMax: 12 },
  { short: true, fields: ['failed'], eta: false, minBar: 0, nameMax: 12 },
];

const MAX_BAR = 30;

/** Bar segments in order, each with its glyph (readable without colour) and its colour. */
const SEGMENTS = [
  { key: 'ok', glyph: '█', colour: 32 },
  { key: 'incomplete', glyph: '▓', colour: 33 },
  { key: 'failed', glyph: '✗', colour: 31 },
  { key: 'waiting', glyph: '▒', colour: 36 },
] as const;
const REST = { glyph: '░', colour: 90 };

const paint = (text: string, code: number, on: boolean) => (on && text !== '' ? `\x1b[${code}m${text}\x1b[39m` : text);

export function doneOf(r: Pick<BarRow, 'committed' | 'incomplete' | 'empty' | 'failed'>): number {
  return r.committed + r.incomplete + r.empty + r.failed;
}

function value(r: BarRow, f: Field): number {
  return f === 'ok' ? r.committed + r.empty : r[f];
}

/** `failed` or `done` once every date ended, else the ETA (`–` while unknown). */
function stateText(r: BarRow, short: boolean): { text: string; colour?: number } {
  if (r.etaMs === 0 || (r.total > 0 && doneOf(r) >= r.total)) {
    if (r.failed > 0) return { text: 'failed', colour: 31 };
    // Done, but some dates landed only part of their games: yellow, as their segment.
    return { text: 'done', colour: r.incomplete > 0 ? 33 : 32 };
  }
  const v = r.etaMs === undefined ? '–' : formatDuration(r.etaMs);
  return { text: short ? v : `ETA ${v}` };
}

/**
 * Cells per segment: proportional, at least one for any state that has a date (a single
 * failure among 160 still shows), and at least one `░` while dates are still to come — so the
 * bar is full only when every date ended.
 */
function cells(r: BarRow, width: number): number[] {
  const counts = SEGMENTS.map((s) => value(r, s.key));
  const rest = Math.max(0, r.total - counts.reduce((a, b) => a + b, 0));
  const all = [...counts, rest];
  if (r.total <= 0) return [...counts.map(() => 0), width];
  const out = all.map((c) => (c > 0 ? Math.max(1, Math.floor((c / r.total) * width)) : 0));
  const sum = () => out.reduce((a, b) => a + b, 0);
  // Too many (the minimum of one cell): take from the largest that can spare one.
  while (sum() > width) {
    const i = out.indexOf(Math.max(...out));
    if ((out[i] ?? 0) <= 1) break;
    out[i] = (out[i] ?? 0) - 1;
  }
  // Too few (rounding down): the remainder goes to the largest state, or to what is still to come.
  while (sum() < width) {
    const i = rest > 0 ? out.length - 1 : counts.indexOf(Math.max(...counts));
    out[i] = (out[i] ?? 0) + 1;
  }
  return out;
}

function bar(r: BarRow, width: number, colour: boolean): string {
  const n = cells(r, width);
  const parts = SEGMENTS.map((s, i) => paint(s.glyph.repeat(n[i] ?? 0), s.colour, colour));
  return parts.join('') + paint(REST.glyph.repeat(n[SEGMENTS.length] ?? 0), REST.colour, colour);
}

/** A field's colour when it counts something: a failure red, an incomplete date yellow. */
const FIELD_COLOUR: Partial<Record<Field, number>> = { failed: 31, incomplete: 33, waiting: 36 };

function render(rows: readonly BarRow[], layout: Layout, width: number, colour: boolean): string[] | undefined {
  const names = abbreviateAll(
    rows.map((r) => r.processor),
    layout.nameMax,
    rows.map((r) => r.phase),
  );
  const nameW = Math.max(...names.map((n) => n.length));
  // The count and `ok` take the width of the totals, not of the counts so far: they grow to
  // the total in every run, and a layout chosen at the start must fit the end too, so the
  // columns and names do not change mid-run. The other fields stay small unless things go wrong.
  const counts = rows.map((r) => `${doneOf(r)}/${r.total}`);
  const countW = Math.max(...rows.map((r) => `${r.total}/${r.total}`.length));
  const widthOf = (f: Field) => Math.max(...rows.map((x) => String(f === 'ok' ? x.total : value(x, f)).length));
  const sep = layout.short ? ' ' : ' · ';
  const fieldText = (r: BarRow, f: Field, on: boolean) => {
    const label = layout.short ? LABELS[f].short : LABELS[f].full;
    const text = `${label} ${String(value(r, f)).padStart(widthOf(f))}`;
    const c = FIELD_COLOUR[f];
    return c !== undefined && value(r, f) > 0 ? paint(text, c, on) : text;
  };
  const states = rows.map((r) => stateText(r, layout.short));
  // `ETA 4m05s`: a duration takes at most six columns; `failed` six.
  const etaW = layout.short ? 6 : 10;
  const tail = (i: number, on: boolean) => {
    const r = rows[i] as BarRow;
    const state = states[i] as { text: string; colour?: number };
    return [
      counts[i]?.padStart(countW),
      layout.fields.map((f) => fieldText(r, f, on)).join(sep),
      layout.eta ? paint(state.text, state.colour ?? 0, on && state.colour !== undefined) + ' '.repeat(etaW - state.text.length) : undefined,
    ]
      .filter((s) => s !== undefined && s !== '')
      .join('  ');
  };
  const head = (i: number) => `${rows[i]?.phase ?? ''} ${(names[i] ?? '').padEnd(nameW)}`;
  const widest = Math.max(...rows.map((_, i) => visibleWidth(`${head(i)}  ${tail(i, false)}`)));
  // The bar sits between the name and the count, with two spaces on each side.
  const room = width - widest - 2;
  const barW = layout.minBar === 0 ? 0 : Math.min(MAX_BAR, room);
  if (layout.minBar > 0 ? barW < layout.minBar : widest > width) return undefined;
  return rows.map((r, i) => {
    const line = barW > 0 ? `${head(i)}  ${bar(r, barW, colour)}  ${tail(i, colour)}` : `${head(i)}  ${tail(i, colour)}`;
    return line.trimEnd();
  });
}

/** The bar block's rows for `width` columns: no line is wider. */
export function barLines(rows: readonly BarRow[], width: number, opts: BarOptions = {}): string[] {
  if (rows.length === 0) return [];
  const colour = opts.colour ?? false;
  for (const layout of LAYOUTS) {
    const lines = render(rows, layout, width, colour);
    if (lines) return lines;
  }
  // Narrower than any layout: the leanest one, cut (without colour: a cut drops the codes).
  const last = LAYOUTS.at(-1) as Layout;
  return (render(rows, { ...last, nameMax: 8 }, Number.MAX_SAFE_INTEGER, false) ?? []).map((l) => truncate(l, width));
}
