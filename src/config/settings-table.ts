/**
 * The README's configuration table, written from the declarations (settings.ts) between two
 * markers by `npm run docs:config`; test/config.test.ts fails when the README's copy differs.
 */
import type { DeclaredSetting, Setting } from './define-setting.ts';

export const TABLE_START = '<!-- settings:start — written by `npm run docs:config` from src/config/settings.ts; do not edit -->';
export const TABLE_END = '<!-- settings:end -->';

function defaultCell(s: Setting): string {
  if (s.shown !== undefined) return s.shown;
  if (s.default === undefined) return '—';
  if (typeof s.default === 'object') return s.default.shown;
  const text = String(s.default);
  return text === '' ? 'none' : `\`${text}\``;
}

/** A table cell's text: a `|` would end the cell. */
const cell = (text: string) => text.replaceAll('|', '\\|');

/** One row per variable, under a row per group, in declaration order. */
export function settingsTable(settings: readonly DeclaredSetting[]): string {
  const rows = ['| variable | default | meaning |', '| --- | --- | --- |'];
  let group: string | undefined;
  for (const { setting: s } of settings) {
    if (s.group !== group) {
      group = s.group;
      rows.push(`| **${cell(group)}** | | |`);
    }
    const doc = s.shared ? `${s.doc} — one value for every worker (\`phasegate config\`)` : s.doc;
    rows.push(`| \`${s.env}\` | ${cell(defaultCell(s))} | ${cell(doc)} |`);
  }
  return rows.join('\n');
}

/** The table between the markers in `readme`; undefined without both markers. */
export function readmeSettingsTable(readme: string): string | undefined {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start === -1 || end < start) return undefined;
  return readme.slice(start + TABLE_START.length, end).trim();
}

/** `readme` with `table` between the markers; throws when they are missing. */
export function withSettingsTable(readme: string, table: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start === -1 || end < start) throw new Error(`README.md: the markers ${TABLE_START} … ${TABLE_END} are missing`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${table}\n${readme.slice(end)}`;
}
