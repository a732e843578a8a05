/**
 * Rows of one result, built in one shape. V8 keeps an object whose properties arrive one by one
 * under computed names (`row[name] = cell`, a keyed store) in its fast form only up to a dozen
 * of them; past that it turns the object into a hash table of its own ("dictionary mode"),
 * unless an earlier object of the same names in the same order already made the path of hidden
 * classes (which made the figures below vary from run to run).
 * A 47-column raw line then takes 3.5 KB of heap against 0.7 KB in the fast form (20,000 rows:
 * 66 MB against 14 MB, node 20). A heap snapshot of the commit-gate process near its cap in a
 * 1,700-date cascade held 16,700 such lines: phases 3–5 read thousands of rows at once.
 *
 * A copy of a template holding every column keeps the template's fast shape, and storing a
 * cell under a name the object already has adds no property, so the rows of a result share a
 * few hidden classes (a new one each time a column's first cell of another kind, a number after
 * NULLs, widens the field), not one each.
 */
import type { Cell, Row } from '../processors/types.ts';

/** Makes empty rows (every column null) of one result's columns, all of the template's shape. */
export function rowMaker(names: readonly string[]): () => Row {
  const template: Row = Object.fromEntries(names.map((name): [string, Cell] => [name, null]));
  return () => ({ ...template });
}

/** Distinct texts one column of a read keeps one string of; past it, further new texts come as they are. */
const SHARED_TEXTS = 8192;

/**
 * One string per distinct text of one column of a read. DuckDB's binding hands a new string per
 * cell, although a read repeats few texts — a game id on each of its ~25 player lines, a
 * player's name on each of his games, a team's code: a heap snapshot of the commit-gate process
 * in a 1,700-date cascade held 711,000 strings, 25 MB, nearly all cells of read rows. The copies
 * are garbage at once; the rows keep the first. (BigQuery's answers need none: V8's JSON.parse
 * already makes equal texts of one page — 10,000 rows — one string; measured with node 20.)
 */
export function textKeeper(): (text: string) => string {
  const kept = new Map<string, string>();
  return (text) => {
    const same = kept.get(text);
    if (same !== undefined) return same;
    if (kept.size < SHARED_TEXTS) kept.set(text, text);
    return text;
  };
}
