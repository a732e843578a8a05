/**
 * `npm run bench:reads`: what turning a DuckDB read into rows costs the process — the part of a
 * phase 3–5 read that runs on the JS thread. An in-memory table shaped like a read of
 * `player_game_summary` (texts short and long, BIGINTs with NULLs, doubles, a date, a
 * timestamp; 44 columns) is read whole, repeatedly, two ways, side by side:
 *
 * - `streamedRows` (src/warehouse/duckdb/values.ts): each chunk's cells straight from its
 *   vectors, as the warehouse's reads do;
 * - `resultRows` over `runAndReadAll`: the binding's own `getItem` per cell (its `getColumns`)
 *   over the whole result, as bounded reads and the reports still do (the streamed reads did it a
 *   chunk at a time until 2026-12-07).
 *
 * Both give the same rows (checked each run). Prints one JSON line on stdout and a summary on stderr.
 */
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { resultRows, streamedRows } from '../../src/warehouse/duckdb/values.ts';
import { quantile, round } from './measure.ts';
import { parseFlags, progressLog, wholeFlag } from './options.ts';

const USAGE = `usage: npm run bench:reads -- [flags]
  --rows N     rows of the table read (default 200000)
  --reads N    reads measured per way, alternating (default 5)
  --quiet      no progress lines`;

interface Options {
  rows: number;
  reads: number;
  verbose: boolean;
}

function parse(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { rows: { type: 'string' }, reads: { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean' } },
  });
  if (values.help) throw new Error(USAGE);
  const int = wholeFlag(USAGE);
  return { rows: int('rows', values.rows, 200_000), reads: int('reads', values.reads, 5), verbose: !values.quiet };
}

/** The table's columns as `expression AS name` over `range(rows) r(i)`. */
function columns(): string[] {
  const cols: string[] = [];
  for (let c = 0; c < 8; c++) cols.push(`'team' || (i % 30)::VARCHAR AS text_${c}`);
  cols.push(`'Player Number ' || (i % 500)::VARCHAR || ' Jokić' AS player_name`, `'00223' || lpad((i % 1230)::VARCHAR, 5, '0') AS game_id`);
  for (let c = 0; c < 20; c++) cols.push(`CASE WHEN i % 17 = ${c} THEN NULL ELSE (i * ${c + 1}) % 1000 END::BIGINT AS stat_${c}`);
  for (let c = 0; c < 10; c++) cols.push(`(i * 0.37 + ${c})::DOUBLE AS rate_${c}`);
  cols.push(
    'i::INTEGER AS n',
    'i % 2 = 0 AS flag',
    `DATE '2023-10-24' + (i % 170)::INTEGER AS game_date`,
    `TIMESTAMPTZ '2026-12-01 10:00:00+00' AS processed_at`,
  );
  return cols;
}

async function main(): Promise<number> {
  const flags = parseFlags(parse);
  if ('exitCode' in flags) return flags.exitCode;
  const opts = flags.opts;
  const log = progressLog('reads', opts.verbose);
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    await conn.run("SET TimeZone = 'UTC'");
    await conn.run(`CREATE TABLE t AS SELECT ${columns().join(', ')} FROM range(${opts.rows}) r(i)`);
    const sql = 'SELECT * FROM t';
    const vectors: number[] = [];
    const perCell: number[] = [];
    for (let k = 0; k < opts.reads; k++) {
      log(`read ${k + 1} of ${opts.reads}, both ways`);
      let t0 = performance.now();
      const streamed = await streamedRows(await conn.stream(sql));
      vectors.push(performance.now() - t0);
      t0 = performance.now();
      const whole = resultRows(await conn.runAndReadAll(sql));
      perCell.push(performance.now() - t0);
      if (k === 0 && JSON.stringify(streamed) !== JSON.stringify(whole)) throw new Error('the two ways gave different rows');
    }
    const median = (ms: number[]) =>
      round(
        quantile(
          [...ms].sort((a, b) => a - b),
          0.5,
        ) ?? 0,
        0,
      );
    const result = {
      rows: opts.rows,
      columns: columns().length,
      reads: opts.reads,
      vectorsMs: vectors.map((m) => round(m, 0)),
      perCellMs: perCell.map((m) => round(m, 0)),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    const us = (ms: number) => round((ms * 1000) / opts.rows, 2);
    process.stderr.write(
      `INFO    ${opts.rows.toLocaleString('en-US')} rows × ${result.columns} columns into rows: from the vectors median ${median(vectors)} ms (${us(median(vectors))} µs a row), the binding's getItem per cell ${median(perCell)} ms (${us(median(perCell))} µs a row)\n`,
    );
    return 0;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:reads: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
