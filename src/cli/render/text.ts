/**
 * Text that has to fit a terminal line: width without colour codes, truncation, wrapping, and
 * processor names shortened so that two of them stay told apart.
 */
import { stripVTControlCharacters } from 'node:util';

/** Without colour and cursor sequences: they take no column. */
export function stripAnsi(s: string): string {
  return stripVTControlCharacters(s);
}

/** Columns a string takes (every character we print is one column wide). */
export function visibleWidth(s: string): number {
  return [...stripAnsi(s)].length;
}

/** At most `width` columns; a cut string ends in `…`. Colour codes are dropped from a cut string. */
export function truncate(s: string, width: number): string {
  if (visibleWidth(s) <= width) return s;
  if (width <= 0) return '';
  return `${[...stripAnsi(s)].slice(0, width - 1).join('')}…`;
}

/**
 * Lines of at most `width` columns, broken at spaces where possible; continuation lines are
 * indented by `indent` spaces. A log line that does not fit is wrapped, never cut: it may name
 * the file a person needs.
 */
export function wrap(s: string, width: number, indent = 2): string[] {
  // A coloured line that fits keeps its colours.
  if (!s.includes('\n') && visibleWidth(s) <= width) return [s];
  const plain = stripAnsi(s);
  const out: string[] = [];
  for (const paragraph of plain.split('\n')) {
    let rest = paragraph;
    let first = true;
    while (rest.length > 0) {
      const prefix = first ? '' : ' '.repeat(indent);
      const room = Math.max(1, width - prefix.length);
      if ([...rest].length <= room) {
        out.push(prefix + rest);
        break;
      }
      const chars = [...rest];
      let cut = chars.slice(0, room + 1).lastIndexOf(' ');
      if (cut <= 0) cut = room;
      out.push(prefix + chars.slice(0, cut).join('').trimEnd());
      rest = chars.slice(cut).join('').trimStart();
      first = false;
    }
    if (paragraph.length === 0) out.push('');
  }
  return out;
}

/**
 * A snake_case name in at most `width` columns: the middle words are shortened first
 * (`nbac_player_boxscore_scraper` → `nbac_pla_box_scraper`), then every word, then the name
 * is cut. The first and last words carry the most meaning (source and kind), so they go last.
 */
export function abbreviate(name: string, width: number): string {
  if (name.length <= width) return name;
  const words = name.split('_');
  if (words.length > 2) {
    for (let k = 6; k >= 2; k -= 1) {
      const s = words.map((w, i) => (i === 0 || i === words.length - 1 ? w : w.slice(0, k))).join('_');
      if (s.length <= width) return s;
    }
  }
  for (let k = 6; k >= 3; k -= 1) {
    const s = words.map((w) => w.slice(0, k)).join('_');
    if (s.length <= width) return s;
  }
  return truncate(name, width);
}

/** Abbreviations of every name in at most `width` columns, told apart by a trailing index if two meet. */
export function abbreviateAll(names: readonly string[], width: number): string[] {
  const short = names.map((n) => abbreviate(n, width));
  const seen = new Map<string, number>();
  return short.map((s) => {
    const n = (seen.get(s) ?? 0) + 1;
    seen.set(s, n);
    return n === 1 ? s : `${truncate(s, width - String(n).length)}${n}`;
  });
}

/** `12s`, `4m05s`, `2h03m`: a duration in at most six columns. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** 12,345 */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** `1 slice`, `2 slices`, `1,200 slices`: a count with its noun in the right number. */
export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${formatCount(n)} ${n === 1 ? noun : nouns}`;
}
