/** Aligned columns for the CLI's reports: each column as wide as its widest cell, numbers right. */

export interface Column<T> {
  head: string;
  value: (row: T) => string;
  /** Text columns align left; numbers right. @defaultValue false */
  left?: boolean;
}

export function tableLines<T>(rows: readonly T[], columns: readonly Column<T>[], indent = '  '): string[] {
  const cells = rows.map((r) => columns.map((c) => c.value(r)));
  const widths = columns.map((c, i) => Math.max(c.head.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (values: readonly string[]) =>
    indent +
    values
      .map((v, i) => (columns[i]?.left ? v.padEnd(widths[i] ?? 0) : v.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.head)), ...cells.map(line)];
}
