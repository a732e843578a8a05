/**
 * DuckDB gives the memory it frees back to the system at once (src/warehouse/duckdb/database.ts,
 * `DUCKDB_ALLOCATOR_CONF`): with jemalloc's own default it keeps freed pages for about ten
 * seconds, and a commit-gate process held up to 275 MB it no longer used.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { DUCKDB_ALLOCATOR_CONF } from '../src/warehouse/duckdb/allocator.ts';
import { childEnv } from './helpers.ts';

const MB = 1024 * 1024;

interface Held {
  /** RSS after the warehouse opened, at the end of a sort of ~300 MB, and 1.5 s after it, MB. */
  before: number;
  after: number;
  /** What DuckDB's jemalloc was told. */
  conf: string;
}

/** A child opens an in-memory warehouse, runs a read that sorts ~300 MB in DuckDB, and reports its RSS. */
async function heldAfterRead(env: NodeJS.ProcessEnv): Promise<Held> {
  const script = [
    "const { readFileSync } = await import('node:fs');",
    "const { DuckDBWarehouse } = await import('./src/warehouse/duckdb/duckdb-warehouse.ts');",
    "const { LocalObjectStore } = await import('./src/storage/local-store.ts');",
    "const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;",
    "const wh = await DuckDBWarehouse.open({ path: ':memory:', store: new LocalObjectStore('/tmp/phasegate-allocator-test'), memoryLimit: '2GB', threads: 1 });",
    'const before = rss();',
    'const [row] = await wh.query("SELECT count(*) AS n, max(s) AS m FROM (SELECT repeat(\'x\', 120) || i AS s FROM range(1500000) t(i) ORDER BY s DESC LIMIT 1000000)");',
    'await new Promise((r) => setTimeout(r, 1500));',
    'const after = rss();',
    'console.log(JSON.stringify({ n: Number(row.n), before, after, conf: process.env.DUCKDB_JE_MALLOC_CONF ?? null }));',
    'await wh.close();',
  ].join('\n');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: path.resolve(import.meta.dirname, '..'),
    env,
  });
  const out = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Held & { n: number };
  expect(out.n).to.equal(1_000_000);
  return out;
}

describe('DuckDB gives the memory it frees back at once', function () {
  this.timeout(120_000);

  it('a process that opened the warehouse holds tens of MB less after a large read than with jemalloc keeping freed pages', async () => {
    const base = childEnv({});
    delete base.DUCKDB_JE_MALLOC_CONF;
    const ours = await heldAfterRead(base);
    // jemalloc's own decay (10 s): what DuckDB did before.
    const kept = await heldAfterRead({ ...base, DUCKDB_JE_MALLOC_CONF: 'dirty_decay_ms:10000,muzzy_decay_ms:10000' });
    const grown = (h: Held) => Math.round((h.after - h.before) / MB);
    console.log(`      RSS grown after the read: ${grown(kept)} MB with freed pages kept, ${grown(ours)} MB returned at once`);
    expect(ours.conf).to.equal(DUCKDB_ALLOCATOR_CONF);
    expect(kept.conf).to.equal('dirty_decay_ms:10000,muzzy_decay_ms:10000');
    expect(grown(kept), `kept ${grown(kept)} MB, ours ${grown(ours)} MB`).to.be.above(grown(ours) + 50);
  });
});
