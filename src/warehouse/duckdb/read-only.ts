/**
 * The first gate of `query()`: only statements that read. The statement's planned type and a
 * read-only transaction back this up in the warehouse; this check gives the caller a clear
 * InputError before any SQL reaches DuckDB.
 */
import { InputError } from '../../errors/input-error.ts';

const READ_KEYWORDS = new Set(['SELECT', 'WITH', 'DESCRIBE', 'SHOW', 'SUMMARIZE', 'EXPLAIN', 'PRAGMA']);

/** Drops leading whitespace, comments and opening parentheses, e.g. `/* x *\/ (SELECT …)`. */
function stripLead(sql: string): string {
  let rest = sql;
  for (;;) {
    const next = rest
      .replace(/^\s+/, '')
      .replace(/^--[^\n]*(\n|$)/, '')
      .replace(/^\/\*[\s\S]*?\*\//, '')
      .replace(/^\(/, '');
    if (next === rest) return rest;
    rest = next;
  }
}

function firstWord(sql: string): string {
  return (/^[A-Za-z_]+/.exec(sql)?.[0] ?? '').toUpperCase();
}

export function checkReadOnlySql(sql: string): void {
  const body = stripLead(sql);
  const word = firstWord(body);
  const refuse = (): never => {
    throw new InputError(
      `query accepts read-only statements only (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN, PRAGMA table_info), got ${JSON.stringify(word || sql.slice(0, 20))}`,
    );
  };
  if (!READ_KEYWORDS.has(word)) refuse();
  if (word === 'PRAGMA' && !/^PRAGMA\s+table_info\s*\(/i.test(body)) refuse();
  if (word === 'EXPLAIN') {
    // EXPLAIN ANALYZE runs its statement: only over a read.
    const inner = stripLead(body.replace(/^EXPLAIN(\s+ANALYZE)?/i, ''));
    if (!['SELECT', 'WITH'].includes(firstWord(inner))) refuse();
  }
}
