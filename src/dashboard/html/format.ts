/** Small text formatting shared by the pages. */
import { redact } from '../../redact.ts';

export function num(n: number | undefined): string {
  return n === undefined ? '—' : n.toLocaleString('en-US');
}

/** `2024-01-02 03:04:05Z` from an ISO string or epoch ms; '—' when missing. */
export function when(value: string | number | undefined): string {
  if (value === undefined || value === '') return '—';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** "in 3m 10s" / "5s ago" relative to now. */
export function relative(value: string | number | undefined, now = Date.now()): string {
  if (value === undefined) return '';
  const t = new Date(value).getTime();
  if (Number.isNaN(t)) return '';
  const s = Math.round((t - now) / 1000);
  const abs = Math.abs(s);
  const text =
    abs < 60
      ? `${abs}s`
      : abs < 3600
        ? `${Math.floor(abs / 60)}m ${abs % 60}s`
        : abs < 86_400
          ? `${Math.floor(abs / 3600)}h ${Math.floor((abs % 3600) / 60)}m`
          : `${Math.floor(abs / 86_400)}d`;
  return s >= 0 ? `in ${text}` : `${text} ago`;
}

/** Shortens long untrusted text (errors) for tooltips and table cells, secrets masked; escaping happens later. */
export function clip(text: string | undefined, max: number): string {
  if (!text) return '';
  const shown = redact(text);
  return shown.length > max ? `${shown.slice(0, max - 1)}…` : shown;
}
