/**
 * The one way HTML is produced: a tagged template that escapes every interpolated value.
 * Job data, slice errors and warehouse messages are untrusted text (a scraped file name or an
 * error can carry `<script>`), so nothing reaches a page unescaped unless it is SafeHtml —
 * which only this module's `html` and `trusted` create.
 */

/** Markup that has already been escaped (or is a trusted constant). */
export class SafeHtml {
  constructor(readonly value: string) {}

  toString(): string {
    return this.value;
  }
}

/** What may be interpolated: text is escaped; false/null/undefined render nothing. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for element content and for quoted attribute values alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.value;
  if (value === null || value === undefined || value === false || value === true) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}

/**
 * Marks a string as markup without escaping. Only for text phasegate itself generated from
 * numbers and constants (an SVG path, a joined list of SafeHtml); never for data read from Redis.
 */
export function trusted(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** A path segment or query value inside an href: percent-encoded, then escaped by `html`. */
export function urlPart(value: string): string {
  return encodeURIComponent(value);
}
