/**
 * Text that has to fit a terminal line: width without colour codes, truncation, wrapping, and
 * processor names shortened so that two of them stay told apart.
 */
export { clipAtWord, stripAnsi, truncate, visibleWidth, wrap } from '../../terminal-text.ts';

import { truncate } from '../../terminal-text.ts';

/**
 * A processor name in at most `width` columns, shortened so that it still says which processor
 * it is: the start (source and subject) and the last word (its kind: `_scraper`, `_summary`)
 * are kept and the cut between them is marked, `nbac_player_boxscore_scraper` →
 * `nbac_player…_scraper` — never a made-up name like `nbac_pla_box_scraper` that reads as one
 * `--processors` might take. Only the end is cut when the last word leaves too little room.
 */
export function abbreviate(name: string, width: number, keepLast = true): string {
  if (name.length <= width) return name;
  const last = name.lastIndexOf('_');
  const tail = keepLast && last > 0 ? name.slice(last) : '';
  const head = width - 1 - tail.length;
  // The start must carry at least as much as the kind, or it no longer names a processor.
  if (tail && head >= Math.max(4, tail.length)) return `${name.slice(0, head)}…${tail}`;
  return truncate(name, width);
}

/**
 * Shortened names of every processor in at most `width` columns, told apart within a group
 * (the bar lines' phase column tells two groups apart): two that would meet keep more of their
 * start instead of their kind, then a trailing index.
 */
export function abbreviateAll(names: readonly string[], width: number, groups: readonly (string | number)[] = []): string[] {
  const key = (s: string, i: number) => `${groups[i] ?? ''}\u0000${s}`;
  const count = (list: readonly string[]) => list.reduce((m, s, i) => m.set(key(s, i), (m.get(key(s, i)) ?? 0) + 1), new Map<string, number>());
  let short = names.map((n) => abbreviate(n, width));
  const first = count(short);
  short = short.map((s, i) => ((first.get(key(s, i)) ?? 0) > 1 ? abbreviate(names[i] as string, width, false) : s));
  const seen = new Map<string, number>();
  const second = count(short);
  return short.map((s, i) => {
    if ((second.get(key(s, i)) ?? 0) < 2) return s;
    const n = (seen.get(key(s, i)) ?? 0) + 1;
    seen.set(key(s, i), n);
    return `${truncate(s, width - String(n).length)}${n}`;
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
