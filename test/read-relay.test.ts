/**
 * Inspecting tables while a worker holds the DuckDB file: a real `phasegate worker` child
 * process holds it read-write, and `phasegate sql`, `conflicts`, `coverage` (other child
 * processes) and a dashboard in this process read through the worker's read relay on Redis —
 * behind `phasegate sql`'s fence (no writes, no files), bounded in rows and bytes. A file held
 * by a process that serves no reads, or one that does not answer in time, fails with one line
 * naming the holder; a worker that stops, stops serving.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/load-config.ts';
import type { DateCoverage } from '../src/coverage/report.ts';
import { startDashboard } from '../src/dashboard/start-dashboard.ts';
import type { Row } from '../src/processors/types.ts';
import { keysFor } from '../src/redis/keys.ts';
import { defaultRegistry, openRuntime } from '../src/runtime.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { DuckDBWarehouse } from '../src/warehouse/duckdb/duckdb-warehouse.ts';
import { relayReader } from '../src/warehouse/read-relay/client.ts';
import { PROTOCOL_VERSION } from '../src/warehouse/read-relay/protocol.ts';
import { deleteKeys, openRuntimes, runCli, spawnCli, TEST_REDIS_URL, until } from './helpers.ts';

const DATE = '2023-11-01';
const TOKEN = 'read-relay-token-0123456789';
const TIMEOUT_SECONDS = 5;
const MAX_ROWS = 50;
const MAX_BYTES = 65_536;
const PLAYERS = defaultRegistry().tableSpec('nba_raw.nbac_player_boxscores');

describe('read relay: inspecting tables while a worker holds the DuckDB file', function () {
  this.timeout(180_000);
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  const keys = keysFor(prefix);
  let dir: string;
  let file: string;
  let worker: ChildProcess | undefined;
  let redis: Redis;
  /** Rows and games the warehouse holds for DATE, read before the worker took the file. */
  let rows: number;
  let games: number;
  /** The night's player rows as the pipeline reads them, read before the worker took the file. */
  let direct: Row[];

  const env = (more: Record<string, string> = {}) => ({
    REDIS_URL: TEST_REDIS_URL,
    PHASEGATE_PREFIX: prefix,
    PHASEGATE_DATA_DIR: dir,
    PHASEGATE_LOG_LEVEL: 'error',
    PHASEGATE_TIME_SCALE: '200',
    PHASEGATE_READ_RELAY_TIMEOUT_SECONDS: String(TIMEOUT_SECONDS),
    PHASEGATE_READ_RELAY_MAX_ROWS: String(MAX_ROWS),
    PHASEGATE_READ_RELAY_MAX_BYTES: String(MAX_BYTES),
    ...more,
  });
  const sql = (query: string, more: Record<string, string> = {}) => runCli(['sql', query, '--json'], env(more));
  const oneLine = (stderr: string) => {
    const lines = stderr.trimEnd().split('\n');
    expect(lines, stderr).to.have.length(1);
    return lines[0] ?? '';
  };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'phasegate-read-relay-'));
    file = path.join(dir, 'warehouse.duckdb');
    redis = new Redis(TEST_REDIS_URL);
    // One real night of NBA.com player box scores in the warehouse, by the CLI.
    const backfill = await runCli(
      ['backfill', '--processors', 'nbac_player_boxscore_scraper,nbac_player_boxscore', '--start', DATE, '--end', DATE, '--workers', '1'],
      env(),
    );
    expect(backfill.code, backfill.stderr).to.equal(0);
    const counted = await sql(`SELECT count(*) AS n, count(DISTINCT game_id) AS games FROM nba_raw.nbac_player_boxscores WHERE game_date = DATE '${DATE}'`);
    expect(counted.code, counted.stderr).to.equal(0);
    [{ n: rows, games }] = JSON.parse(counted.stdout) as [{ n: number; games: number }];
    expect(rows).to.be.greaterThan(0);
    const duck = await DuckDBWarehouse.open({ path: file, store: new LocalObjectStore(dir), readOnly: true });
    try {
      direct = await duck.readSlices(PLAYERS, [DATE]);
    } finally {
      await duck.close();
    }
    // Larger than the byte bound: through the holder it can only come in parts.
    expect(Buffer.byteLength(JSON.stringify(direct))).to.be.above(MAX_BYTES);
    // A worker holding the file read-write (its table gates), serving reads once it has opened it.
    const started = spawnCli(['worker', '--phases', 'commit'], env());
    worker = started.proc;
    const workerOut = started.out;
    await until(
      async () => (worker?.exitCode === null ? redis.get(keys.readRelayServer(file)) : Promise.reject(new Error(workerOut.stderr))),
      'the worker serving reads',
      60_000,
    );
  });

  after(async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((r) => worker?.once('exit', r));
      worker.kill('SIGTERM');
      await exited;
    }
    await redis?.quit();
    await deleteKeys(TEST_REDIS_URL, `${prefix}:*`);
    await rm(dir, { recursive: true, force: true });
  });

  it('`phasegate sql` gets its rows from the worker holding the file', async () => {
    const opened = await DuckDBWarehouse.open({ path: file, store: new LocalObjectStore(dir), readOnly: true }).then(
      () => 'opened',
      (err: Error) => err.message,
    );
    expect(opened).to.match(/Conflicting lock is held in .* \(PID \d+\)/);
    const r = await sql(`SELECT count(*) AS n, count(DISTINCT game_id) AS games FROM nba_raw.nbac_player_boxscores WHERE game_date = DATE '${DATE}'`);
    expect(r.stderr).to.equal('');
    expect(r.code).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal([{ n: rows, games }]);
  });

  it('`phasegate conflicts` and `phasegate coverage` answer', async () => {
    const conflicts = await runCli(['conflicts', '--json'], env());
    expect(conflicts.code, conflicts.stderr).to.equal(0);
    const report = JSON.parse(conflicts.stdout) as { logged: boolean; logError?: string; tables: { table: string }[] };
    expect(report.logError).to.equal(undefined);
    // No conflict was ever logged: the worker answered that its log table does not exist.
    expect(report.logged).to.equal(false);
    expect(report.tables.map((t) => t.table)).to.include('nba_raw.nbac_player_boxscores');

    const coverage = await runCli(['coverage', '--start', DATE, '--end', DATE, '--json'], env());
    expect(coverage.code, coverage.stderr).to.equal(0);
    expect(coverage.stderr).to.equal('');
    const out = JSON.parse(coverage.stdout) as { from: string; dates: DateCoverage[] };
    expect(out.from).to.equal('warehouse');
    expect(out.dates).to.have.length(1);
    expect(out.dates[0]).to.deep.include({ date: DATE, scheduledGames: games, found: { nbac: games, bdl: 0 }, analyticsGames: 0, missing: [] });
  });

  for (const query of [
    'DELETE FROM nba_raw.nbac_player_boxscores',
    'CREATE TABLE nba_raw.stolen AS SELECT 1 AS x',
    'WITH doomed AS (SELECT 1) DELETE FROM nba_raw.nbac_player_boxscores',
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT content FROM read_text('/etc/passwd')",
    "SELECT * FROM glob('/etc/*')",
  ]) {
    it(`refuses through the relay, exit 2 with one line: ${query}`, async () => {
      const r = await sql(query);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stdout).to.equal('');
      expect(oneLine(r.stderr)).to.match(
        /^phasegate: (query accepts read-only statements only|Permission Error: .*file system operations are disabled by configuration)/,
      );
    });
  }

  it('nothing was written by the refused statements', async () => {
    const r = await sql(
      "SELECT (SELECT count(*) FROM nba_raw.nbac_player_boxscores) AS n, (SELECT count(*) FROM information_schema.tables WHERE table_name = 'stolen') AS stolen",
    );
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal([{ n: rows, stolen: 0 }]);
  });

  it('a result beyond the bounds is refused, naming the limit', async () => {
    const within = await sql(`SELECT i FROM range(${MAX_ROWS}) t(i)`);
    expect(within.code, within.stderr).to.equal(0);
    expect(JSON.parse(within.stdout)).to.have.length(MAX_ROWS);
    const tooMany = await sql(`SELECT i FROM range(${MAX_ROWS + 1}) t(i)`);
    expect(tooMany.code).to.equal(2);
    expect(tooMany.stdout).to.equal('');
    expect(oneLine(tooMany.stderr)).to.match(new RegExp(`more than ${MAX_ROWS} rows.*PHASEGATE_READ_RELAY_MAX_ROWS`));
    const tooBig = await sql(`SELECT repeat('x', ${MAX_BYTES}) AS s`);
    expect(tooBig.code).to.equal(2);
    expect(oneLine(tooBig.stderr)).to.match(new RegExp(`more than the ${MAX_BYTES} .*PHASEGATE_READ_RELAY_MAX_BYTES`));
  });

  it('a query running past the timeout is stopped, and the worker goes on answering', async () => {
    const started = Date.now();
    const slow = await sql('SELECT count(*) AS n FROM range(10000000000000) t(i) WHERE i % 7 = 3');
    expect(slow.code).to.equal(1);
    expect(oneLine(slow.stderr)).to.match(/^phasegate: the read ran past its deadline and was stopped .*PHASEGATE_READ_RELAY_TIMEOUT_SECONDS/);
    expect(Date.now() - started).to.be.below(TIMEOUT_SECONDS * 1000 + 5000);
    const next = await sql('SELECT 42 AS x');
    expect(next.code, next.stderr).to.equal(0);
    expect(JSON.parse(next.stdout)).to.deep.equal([{ x: 42 }]);
  });

  it('a hand-written request naming what the registry does not give is refused, and answered on its own key', async () => {
    const blocking = redis.duplicate();
    const ask = async (op: string, args: unknown) => {
      const id = randomUUID();
      await redis.rpush(keys.readRelayRequests(file), JSON.stringify({ v: PROTOCOL_VERSION, id, deadline: Date.now() + 10_000, op, args }));
      const popped = await blocking.blpop(keys.readRelayReply(file, id), 10);
      expect(popped, `a reply to ${op}`).to.not.equal(null);
      return JSON.parse(popped?.[1] ?? '{}') as { ok: boolean; value?: unknown; error?: { kind: string; message: string } };
    };
    try {
      const table = 'nba_raw.nbac_player_boxscores';
      expect(await ask('presentSlices', { table, slices: [DATE, '2023-11-02'] })).to.deep.include({ ok: true, value: [DATE] });
      expect((await ask('presentSlices', { table: 'nba_raw.secrets', slices: [DATE] })).error).to.deep.include({ kind: 'input' });
      const column = await ask('slicesWithRowsSince', { table, slices: [DATE], since: new Date(0).toISOString(), column: 'processed_at' });
      expect(column).to.deep.include({ ok: true, value: [DATE] });
      const unknown = await ask('slicesWithRowsSince', { table, slices: [DATE], since: new Date(0).toISOString(), column: 'password' });
      expect(unknown.error).to.deep.equal({ kind: 'input', message: `read relay: ${table} has no column password` });
      const injected = await ask('slicesWithRowsSince', { table, slices: [DATE], since: new Date(0).toISOString(), column: 'pts; DROP TABLE x' });
      expect(injected.error?.message).to.match(/^read relay: slicesWithRowsSince: column: an identifier/);
      const op = await ask('dropTable', { table });
      expect(op.ok).to.equal(false);
      expect(op.error?.message).to.match(/^read relay: a malformed request \(op: /);
    } finally {
      await blocking.quit();
    }
  });

  it('a pipeline read larger than the byte bound streams in parts, never more than the bound in Redis, and equals the direct read', async () => {
    const config = loadConfig(env());
    const reader = relayReader({ config, redis, keys });
    const through = await reader.readSlices(PLAYERS, [DATE]);
    const byKey = (r: Row) => `${String(r.game_id)}/${String(r.player_id)}`;
    expect(through.map(byKey).sort()).to.deep.equal(direct.map(byKey).sort());
    expect(through).to.have.length(rows);
    // The same read by hand: parts in order, each a fraction of the bound, the last saying so.
    const blocking = redis.duplicate();
    const id = randomUUID();
    const reply = keys.readRelayReply(file, id);
    try {
      await redis.rpush(
        keys.readRelayRequests(file),
        JSON.stringify({
          v: PROTOCOL_VERSION,
          id,
          deadline: Date.now() + 10_000,
          op: 'readSlices',
          args: { table: 'nba_raw.nbac_player_boxscores', slices: [DATE] },
        }),
      );
      const parts: { more: boolean; rows: unknown[] }[] = [];
      let waiting = 0;
      for (;;) {
        const popped = await blocking.blpop(reply, 10);
        expect(popped, 'a part').to.not.equal(null);
        expect(Buffer.byteLength(popped?.[1] ?? '')).to.be.below(MAX_BYTES / 4);
        const part = JSON.parse(popped?.[1] ?? '{}') as { more: boolean; rows: unknown[] };
        parts.push(part);
        if (!part.more) break;
        // The holder waits for the reader: what Redis holds stays within the bound.
        await new Promise((r) => setTimeout(r, 20));
        const held = await redis.lrange(reply, 0, -1);
        waiting = Math.max(waiting, held.length);
        expect(held.reduce((n, m) => n + Buffer.byteLength(m), 0)).to.be.at.most(MAX_BYTES);
      }
      expect(parts.length).to.be.above(8);
      expect(waiting).to.be.above(1);
      expect(parts.reduce((n, p) => n + p.rows.length, 0)).to.equal(rows);
    } finally {
      await blocking.quit();
    }
  });

  it('a request of another relay version is refused by name', async () => {
    const blocking = redis.duplicate();
    const id = randomUUID();
    try {
      await redis.rpush(keys.readRelayRequests(file), JSON.stringify({ v: 1, id, deadline: Date.now() + 10_000, op: 'query', args: { sql: 'SELECT 1' } }));
      const popped = await blocking.blpop(keys.readRelayReply(file, id), 10);
      expect(JSON.parse(popped?.[1] ?? '{}')).to.deep.include({
        ok: false,
        error: {
          kind: 'input',
          message: `read relay: the reader speaks version 1 of the relay, this holder version ${PROTOCOL_VERSION}: run the same phasegate release on every machine`,
        },
      });
    } finally {
      await blocking.quit();
    }
  });

  it('the dashboard draws coverage from the worker’s relay without taking the file', async () => {
    const config = loadConfig(env());
    const rt = await openRuntime(config, { redisExplicit: true });
    openRuntimes.set(rt, 'read-relay.test.ts dashboard');
    const d = await startDashboard(rt, { port: 0, credentials: { token: TOKEN, generated: false }, announce: () => undefined, readOnly: true });
    try {
      const res = await fetch(`${d.url}/coverage?start=${DATE}&end=${DATE}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const body = await res.text();
      expect(res.status).to.equal(200);
      expect(body).to.include('read from the warehouse now');
      const cell = new RegExp(`<td class="cov-[a-z]+" data-d="${DATE}" title="([^"]*)"`).exec(body);
      expect(cell?.[1]).to.include(`found: nbac ${games}, bdl 0`);
      expect(rt.openedWarehouse()).to.equal(undefined);
    } finally {
      await d.close();
      openRuntimes.delete(rt);
      await rt.close();
    }
  });

  describe('a holder that does not answer', () => {
    let other: string;
    let holder: DuckDBWarehouse;

    before(async () => {
      // This process holds another file read-write and serves no reads of it.
      other = path.join(dir, 'held.duckdb');
      holder = await DuckDBWarehouse.open({ path: other, store: new LocalObjectStore(dir) });
      await holder.ensureTable(defaultRegistry().tableSpec('nba_raw.nbac_team_boxscore'));
    });
    after(() => holder?.close());

    it('no relay serves the file: exit 1 at once, one line naming the holder', async () => {
      const started = Date.now();
      const r = await sql('SELECT 1 AS x', { PHASEGATE_DUCKDB_PATH: other });
      expect(r.code).to.equal(1);
      expect(r.stdout).to.equal('');
      expect(oneLine(r.stderr)).to.equal(
        `phasegate: the DuckDB file ${other} is held by another process (PID ${process.pid}, ${process.execPath}) that does not answer queries (no phasegate worker with this PHASEGATE_PREFIX serves its reads)`,
      );
      expect(Date.now() - started).to.be.below(TIMEOUT_SECONDS * 1000);
    });

    it('a relay advertised but silent: exit 1 after the timeout, one line', async () => {
      // A holder that advertised itself and then hung: its presence key is still there.
      await redis.set(keys.readRelayServer(other), JSON.stringify({ pid: process.pid, since: new Date().toISOString() }), 'PX', 30_000);
      const started = Date.now();
      const r = await sql('SELECT 1 AS x', { PHASEGATE_DUCKDB_PATH: other, PHASEGATE_READ_RELAY_TIMEOUT_SECONDS: '2' });
      const took = Date.now() - started;
      expect(r.code).to.equal(1);
      expect(oneLine(r.stderr)).to.equal(
        `phasegate: the process holding the DuckDB file ${other} (PID ${process.pid}) did not answer within 2 s (PHASEGATE_READ_RELAY_TIMEOUT_SECONDS)`,
      );
      expect(took).to.be.within(2000, 2000 + 8000);
      await redis.del(keys.readRelayServer(other), keys.readRelayRequests(other));
    });
  });

  it('a worker that stops stops serving, and lets go of the file', async () => {
    const exited = new Promise<number | null>((r) => worker?.once('exit', (code) => r(code)));
    worker?.kill('SIGTERM');
    expect(await exited).to.equal(0);
    expect(await redis.get(keys.readRelayServer(file))).to.equal(null);
    // Read directly now: the file is free.
    const r = await sql('SELECT count(*) AS n FROM nba_raw.nbac_player_boxscores');
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal([{ n: rows }]);
  });
});
