import { expect } from 'chai';
import { loadConfig, scaledMs } from '../src/config/load-config.ts';
import { ConfigError } from '../src/errors/config-error.ts';

describe('config', () => {
  it('has defaults that keep local state under one data folder', () => {
    const c = loadConfig({}, {});
    expect(c.redisUrl).to.equal('redis://127.0.0.1:6379');
    expect(c.warehouse).to.equal('duckdb');
    expect(c.store).to.equal('local');
    expect(c.bigqueryRules).to.equal(true);
    expect(c.duckdbPath.startsWith(c.dataDir)).to.equal(true);
    expect(c.storeDir.startsWith(c.dataDir)).to.equal(true);
    expect(c.table).to.include({ concurrency: 1, opsMax: 4, opsWindowSeconds: 10, dailyBudget: 1500 });
  });

  it('lets flags override environment variables', () => {
    const c = loadConfig({ PHASEGATE_PREFIX: 'env' }, { PHASEGATE_PREFIX: 'flag', PHASEGATE_TIME_SCALE: 60 });
    expect(c.prefix).to.equal('flag');
    expect(c.timeScale).to.equal(60);
    expect(scaledMs(c, 30 * 60)).to.equal(30_000);
  });

  const bad: [Record<string, string>, RegExp][] = [
    [{ PHASEGATE_WAREHOUSE: 'postgres' }, /^PHASEGATE_WAREHOUSE: /],
    [{ PHASEGATE_TIME_SCALE: '-3' }, /^PHASEGATE_TIME_SCALE: /],
    [{ PHASEGATE_TABLE_CONCURRENCY: '3' }, /^PHASEGATE_TABLE_CONCURRENCY: /],
    [{ REDIS_URL: 'not a url' }, /^REDIS_URL: /],
    [{ PHASEGATE_PREFIX: 'a:b' }, /^PHASEGATE_PREFIX: /],
    [{ PHASEGATE_STORE: 'gcs' }, /^PHASEGATE_GCS_BUCKET: required/],
    [{ PHASEGATE_WAREHOUSE: 'bigquery', PHASEGATE_STORE: 'gcs', PHASEGATE_GCS_BUCKET: 'my-bucket' }, /^PHASEGATE_BQ_PROJECT: required/],
  ];
  for (const [env, message] of bad) {
    it(`rejects ${JSON.stringify(env)} with one line naming the variable`, () => {
      expect(() => loadConfig(env)).to.throw(ConfigError, message);
      try {
        loadConfig(env);
      } catch (err) {
        expect((err as Error).message).to.not.include('\n');
      }
    });
  }
});
