/**
 * `phasegate sql` as a user runs it (a child process): the DuckDB file opens read-only with
 * external access off, so a query cannot read the machine's files, and a path with no
 * database is bad input (exit 2, one line) instead of a new empty file.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { defaultRegistry } from '../src/runtime.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { DuckDBWarehouse } from '../src/warehouse/duckdb/duckdb-warehouse.ts';
import { runCli, TEST_REDIS_URL } from './helpers.ts';

describe('phasegate sql (CLI)', () => {
  let dir: string;
  let file: string;
  const env = () => ({ REDIS_URL: TEST_REDIS_URL, PHASEGATE_DATA_DIR: dir, PHASEGATE_DUCKDB_PATH: file, PHASEGATE_LOG_LEVEL: 'error' });

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'phasegate-sql-'));
    file = path.join(dir, 'warehouse.duckdb');
    const wh = await DuckDBWarehouse.open({ path: file, store: new LocalObjectStore(path.join(dir, 'store')) });
    await wh.ensureTable(defaultRegistry().tableSpec('nba_raw.nbac_team_boxscore'));
    await wh.close();
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reads the warehouse', async () => {
    const r = await runCli(['sql', 'SELECT count(*) AS n FROM nba_raw.nbac_team_boxscore', '--json'], env());
    expect(r.stderr).to.equal('');
    expect(r.code).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal([{ n: 0 }]);
  });

  for (const query of ["SELECT * FROM read_csv('/etc/passwd')", "SELECT content FROM read_text('/etc/passwd')", "SELECT * FROM glob('/etc/*')"]) {
    it(`cannot read the machine's files: ${query}`, async () => {
      const r = await runCli(['sql', query], env());
      // Bad input: exit 2 with one line, as through a worker's read relay.
      expect(r.code).to.equal(2);
      expect(r.stdout).not.to.include('root');
      expect(r.stderr).to.match(/^phasegate: .*file system operations are disabled by configuration\n$/);
    });
  }

  it('cannot switch external access back on', async () => {
    const r = await runCli(['sql', "SELECT * FROM read_csv('/etc/passwd'); SET enable_external_access = true"], env());
    expect(r.code).not.to.equal(0);
    expect(r.stdout).not.to.include('root');
  });

  // Issue 22, point 2: opening the file itself, sql had no deadline and held the file past 90 s
  // (a commit worker started meanwhile died on the lock); now the relay's bounds apply.
  describe('opening the file itself, bounded as the read relay is', () => {
    const bounded = () => ({
      ...env(),
      PHASEGATE_READ_RELAY_TIMEOUT_SECONDS: '2',
      PHASEGATE_READ_RELAY_MAX_ROWS: '10',
      PHASEGATE_READ_RELAY_MAX_BYTES: '4096',
    });

    it('a cartesian query is interrupted at the deadline: exit 1, one line naming the limit, and the file is free again', async () => {
      const started = Date.now();
      const r = await runCli(['sql', 'SELECT count(*) AS n FROM range(1000000) a(i), range(1000000) b(j) WHERE (i * j) % 7 = 3'], bounded());
      const elapsed = Date.now() - started;
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.equal('phasegate: the read ran past its deadline and was stopped (at most 2 s: PHASEGATE_READ_RELAY_TIMEOUT_SECONDS)\n');
      expect(elapsed).to.be.below(12_000);
      // Nothing holds the file: a writer opens it.
      const wh = await DuckDBWarehouse.open({ path: file, store: new LocalObjectStore(path.join(dir, 'store')) });
      await wh.close();
    });

    it('more rows than PHASEGATE_READ_RELAY_MAX_ROWS: exit 2, one line naming it', async () => {
      const within = await runCli(['sql', 'SELECT i FROM range(10) t(i)', '--json'], bounded());
      expect(within.code, within.stderr).to.equal(0);
      expect(JSON.parse(within.stdout)).to.have.length(10);
      const r = await runCli(['sql', 'SELECT i FROM range(11) t(i)'], bounded());
      expect(r.code).to.equal(2);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.match(/^phasegate: the result has more than 10 rows, .*\(PHASEGATE_READ_RELAY_MAX_ROWS\): add a LIMIT or aggregate\n$/);
    });

    it('a reply larger than PHASEGATE_READ_RELAY_MAX_BYTES: exit 2, one line naming it', async () => {
      const r = await runCli(['sql', "SELECT repeat('x', 5000) AS s"], bounded());
      expect(r.code).to.equal(2);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.match(/^phasegate: the reply is \d+ bytes, more than the 4096 .*\(PHASEGATE_READ_RELAY_MAX_BYTES\): select fewer rows or columns\n$/);
    });
  });

  it('a path with no database: exit 2 with one line, and no file is created', async () => {
    const missing = path.join(dir, 'nowhere', 'warehouse.duckdb');
    const r = await runCli(['sql', 'SELECT 1 AS x'], { ...env(), PHASEGATE_DUCKDB_PATH: missing });
    expect(r.code).to.equal(2);
    expect(r.stdout).to.equal('');
    expect(r.stderr.trimEnd().split('\n')).to.have.length(1);
    expect(r.stderr).to.include(`phasegate: no DuckDB warehouse at ${missing}`);
    expect(existsSync(missing)).to.equal(false);
    expect(existsSync(path.dirname(missing))).to.equal(false);
  });
});
