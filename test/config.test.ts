import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { DECLARED_SETTINGS, loadConfig, productSettings, scaledMs } from '../src/config/load-config.ts';
import { readmeSettingsTable, settingsTable } from '../src/config/settings-table.ts';
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

  it('takes a hash-tagged prefix and a cluster of seed nodes', () => {
    const c = loadConfig({ PHASEGATE_PREFIX: '{pg}', PHASEGATE_REDIS_CLUSTER: '127.0.0.1:7000,redis-b.internal:7001' });
    expect(c.prefix).to.equal('{pg}');
    expect(c.redisCluster).to.deep.equal([
      { host: '127.0.0.1', port: 7000 },
      { host: 'redis-b.internal', port: 7001 },
    ]);
    expect(loadConfig({ PHASEGATE_PREFIX: 'team-{pg}' }).redisCluster).to.equal(undefined);
  });

  const bad: [Record<string, string>, RegExp][] = [
    [{ PHASEGATE_WAREHOUSE: 'postgres' }, /^PHASEGATE_WAREHOUSE: /],
    [{ PHASEGATE_TIME_SCALE: '-3' }, /^PHASEGATE_TIME_SCALE: /],
    [{ PHASEGATE_TABLE_CONCURRENCY: '3' }, /^PHASEGATE_TABLE_CONCURRENCY: /],
    [{ REDIS_URL: 'not a url' }, /^REDIS_URL: /],
    [{ PHASEGATE_PREFIX: 'a:b' }, /^PHASEGATE_PREFIX: /],
    [{ PHASEGATE_PREFIX: '{a}{b}' }, /^PHASEGATE_PREFIX: /],
    [{ PHASEGATE_REDIS_CLUSTER: '127.0.0.1:7000,127.0.0.1:7001' }, /^PHASEGATE_PREFIX: on a Redis Cluster .* \{phasegate\}/],
    [{ PHASEGATE_REDIS_CLUSTER: 'redis://127.0.0.1:7000' }, /^PHASEGATE_REDIS_CLUSTER: /],
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

  describe('declarations', () => {
    it("the README's configuration table is the one derived from the declarations (npm run docs:config)", async () => {
      const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
      expect(readmeSettingsTable(readme), 'run npm run docs:config').to.equal(settingsTable(DECLARED_SETTINGS));
    });

    it('declares each variable once, each with a group and a one-line doc', () => {
      const variables = DECLARED_SETTINGS.map(({ setting: s }) => s.env);
      expect(new Set(variables).size).to.equal(variables.length);
      for (const { setting: s } of DECLARED_SETTINGS) {
        expect(s.group, s.env).to.not.equal('');
        expect(s.doc, s.env).to.match(/^[^\n]+$/);
      }
    });

    it('never shows a value whose variable names a secret', () => {
      for (const { setting: s } of DECLARED_SETTINGS.filter(({ setting: s }) => /PASSWORD|TOKEN|API_KEY|SECRET|WEBHOOK/.test(s.env))) {
        expect(s.secret, `${s.env}: declare it secret`).to.equal(true);
      }
      expect(() => loadConfig({ PHASEGATE_DASHBOARD_PASSWORD: 'short' })).to.throw(ConfigError, /^PHASEGATE_DASHBOARD_PASSWORD: .*not shown/);
    });

    it('takes the default text when a variable is empty, and a derived default from the data folder', () => {
      const c = loadConfig({ PHASEGATE_DATA_DIR: '/tmp/pg-data', PHASEGATE_EVENTS_MAX_AGE_HOURS: '', PHASEGATE_TABLE_OPS_MAX: '' });
      expect(c.duckdbPath).to.equal('/tmp/pg-data/warehouse.duckdb');
      expect(c.storeDir).to.equal('/tmp/pg-data/store');
      expect(c.events.maxAgeSeconds).to.equal(168 * 3600);
      expect(c.table.opsMax).to.equal(4);
    });

    it('keeps locations out of the product settings a harness passes on', () => {
      const env = { PHASEGATE_PREFIX: 'p', PHASEGATE_DASHBOARD_TOKEN: 't', PHASEGATE_TIME_SCALE: '60', PHASEGATE_BREAKER_COMMITS: '8' };
      expect(productSettings(env)).to.deep.equal({ PHASEGATE_TIME_SCALE: '60', PHASEGATE_BREAKER_COMMITS: '8' });
    });
  });
});
