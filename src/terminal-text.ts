/**
 * Text that has to fit a terminal line: width without colour codes, truncation and wrapping.
 * Below the CLI so that the logger's terminal format can wrap too (src/log.ts).
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
 * Lines of at most `width` columns, broken at spaces where possible; continuation lines — and
 * the later lines of a text of several (a notification's bullets) — are indented by `indent`
 * spaces, so they read as part of the first. A log line that does not fit is wrapped, never
 * cut: it may name the file a person needs.
 */
export function wrap(s: string, width: number, indent = 2): string[] {
  // A coloured line that fits keeps its colours.
  if (!s.includes('\n') && visibleWidth(s) <= width) return [s];
  const plain = stripAnsi(s);
  const out: string[] = [];
  let first = true;
  for (const paragraph of plain.split('\n')) {
    let rest = paragraph;
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
    first = false;
  }
  return out;
}

/**
 * At most `max` characters, cut at the last space before the limit (or mid-word when the
 * text has no space in its second half), ending in `…`: a cut reads as a cut, never as a word
 * that happens to end there.
 */
export function clipAtWord(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  if (max <= 1) return '…'.slice(0, max);
  const head = chars.slice(0, max - 1);
  const space = head.lastIndexOf(' ');
  const cut = space >= (max - 1) / 2 ? head.slice(0, space) : head;
  return `${cut.join('').trimEnd()}…`;
}
