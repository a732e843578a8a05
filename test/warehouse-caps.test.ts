/**
 * Each warehouse backend declares its per-table caps, read without loading its client: the
 * table gates stay within the configured backend's caps, and `status` (which reads them) loads
 * neither BigQuery's client nor DuckDB.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import type { Config } from '../src/config/load-config.ts';
import { BIGQUERY_LIMITS } from '../src/limits/bigquery.ts';
import { QueueSet } from '../src/queues/queue-set.ts';
import { warehouseCaps, warehouseDeclaration } from '../src/warehouse/index.ts';
import { deleteKeys, runNode, TEST_REDIS_URL, testConfig } from './helpers.ts';

const WAREHOUSES: readonly Config['warehouse'][] = ['duckdb', 'bigquery'];
const BIGQUERY_ENV = {
  PHASEGATE_WAREHOUSE: 'bigquery',
  PHASEGATE_BQ_PROJECT: 'phasegate-test',
  PHASEGATE_STORE: 'gcs',
  PHASEGATE_GCS_BUCKET: 'phasegate-test',
};
const ENV_OF: Record<Config['warehouse'], Record<string, string>> = { duckdb: {}, bigquery: BIGQUERY_ENV };

const BIN = path.resolve(import.meta.dirname, '..', 'bin', 'phasegate.js');
// Loaded before the CLI: on exit, prints the CommonJS modules the process loaded (both clients are CommonJS).
const LOADED_ON_EXIT =
  'data:text/javascript,import { createRequire } from "node:module"; const r = createRequire(process.cwd() + "/"); ' +
  'process.on("exit", () => process.stderr.write("\\nLOADED " + JSON.stringify(Object.keys(r.cache)) + "\\n"));';

async function statusLoads(env: Record<string, string>): Promise<{ code: number; loaded: string[]; stderr: string }> {
  const { code, stderr } = await runNode(['--import', LOADED_ON_EXIT, BIN, 'status', '--json'], env);
  const line = stderr.split('\n').find((l) => l.startsWith('LOADED '));
  return { code, loaded: line ? (JSON.parse(line.slice(7)) as string[]) : [], stderr };
}

describe('warehouse caps: each backend declares them, the gates keep them', function () {
  this.timeout(60_000);

  for (const name of WAREHOUSES) {
    it(`${name} declares BigQuery's caps (the embedded DuckDB enforces BigQuery's rules)`, () => {
      const caps = warehouseCaps({ warehouse: name });
      expect(caps.runningDmlPerTable).to.equal(BIGQUERY_LIMITS.runningMutatingDmlPerTable);
      expect(caps.queuedDmlPerTable).to.equal(BIGQUERY_LIMITS.queuedMutatingDmlPerTable);
      expect(caps.dmlPerWindow).to.deep.equal(BIGQUERY_LIMITS.dmlStatementsPerTableWindow);
      expect(caps.tableUpdatesPerWindow).to.deep.equal(BIGQUERY_LIMITS.tableMetadataUpdatesPerWindow);
      expect(caps.partitionsPerStatement).to.equal(BIGQUERY_LIMITS.partitionsModifiedPerJob);
      expect(caps.dailyModifications).to.equal(BIGQUERY_LIMITS.tableModificationsPerDay);
      expect(caps.summary).to.match(/^BigQuery runs at most 2 mutating DML per table/);
    });

    it(`${name}: the commit queue's global concurrency is the backend's cap, or the table's lower setting`, async () => {
      for (const [own, expected] of [
        // The highest setting config accepts (BigQuery's limit): the backend's cap binds.
        [{ PHASEGATE_TABLE_CONCURRENCY: String(BIGQUERY_LIMITS.runningMutatingDmlPerTable) }, warehouseCaps({ warehouse: name }).runningDmlPerTable],
        [{ PHASEGATE_TABLE_CONCURRENCY: '1' }, 1],
      ] as const) {
        const { config, dir } = await testConfig({ ...ENV_OF[name], ...own });
        const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
        const queues = new QueueSet(redis, config);
        try {
          await queues.applyTableCaps('nba_raw.nbac_team_boxscore');
          expect(await queues.commit('nba_raw.nbac_team_boxscore').getGlobalConcurrency()).to.equal(expected);
        } finally {
          await queues.close();
          await redis.quit();
          await deleteKeys(TEST_REDIS_URL, `${config.prefix}:*`);
          await rm(dir, { recursive: true, force: true });
        }
      }
    });
  }

  it('only the embedded DuckDB is a file one process holds', async () => {
    const { config, dir } = await testConfig();
    try {
      expect(warehouseDeclaration({ warehouse: 'duckdb' }).heldFile?.(config)).to.equal(config.duckdbPath);
      expect(warehouseDeclaration({ warehouse: 'bigquery' }).heldFile).to.equal(undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  for (const name of WAREHOUSES) {
    it(`status on ${name} reads the caps without loading BigQuery's client or DuckDB`, async () => {
      const prefix = `test-${randomUUID().slice(0, 8)}`;
      try {
        const r = await statusLoads({ REDIS_URL: TEST_REDIS_URL, PHASEGATE_PREFIX: prefix, PHASEGATE_LOG_LEVEL: 'error', ...ENV_OF[name] });
        expect(r.code, r.stderr).to.equal(0);
        // The check itself works: the process loaded CommonJS modules (ioredis, bullmq's deps).
        expect(r.loaded.some((m) => m.includes(`${path.sep}ioredis${path.sep}`))).to.equal(true);
        expect(r.loaded.filter((m) => m.includes('@google-cloud/bigquery') || m.includes('@duckdb'))).to.deep.equal([]);
      } finally {
        await deleteKeys(TEST_REDIS_URL, `${prefix}:*`);
      }
    });
  }
});
