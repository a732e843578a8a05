/**
 * `/metrics` follows Prometheus' naming conventions (prometheus.io/docs/practices/naming), so
 * alerts written against it read as they would for any exporter: every name prefixed and
 * snake_case, counters and only counters ending in `_total`, durations in `_seconds`, ratios
 * in `_ratio` between 0 and 1, and only bounded labels — never a date, a slice or a run id,
 * each of which adds series that never go away.
 */
import { expect } from 'chai';
import { DashboardMetrics } from '../src/dashboard/metrics/dashboard-metrics.ts';
import type { BackfillRecord } from '../src/queues/backfill/backfill.ts';
import { publishCommitted } from '../src/queues/events/stream.ts';
import { openTestRuntime, type TestEnv } from './helpers.ts';

/** Labels whose values come from a fixed set: queues, states, tables, processors, conflict types, run kinds and outcomes. */
const BOUNDED_LABELS = new Set(['queue', 'state', 'table', 'processor', 'type', 'kind', 'outcome']);
const DATES = ['2023-11-01', '2023-11-02'];

describe('/metrics names follow Prometheus conventions', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let metrics: DashboardMetrics;
  let text: string;

  before(async () => {
    env = await openTestRuntime();
    const { rt } = env;
    // A run in progress (one date done, one pending) and a commit's events: every metric has series.
    const record: BackfillRecord = {
      id: 'bf-20231101-000000-name',
      createdAt: new Date().toISOString(),
      processors: ['nbac_team_boxscore'],
      dates: DATES,
      priority: 10,
      cascade: false,
    };
    await rt.redis
      .multi()
      .hset(rt.keys.backfill(record.id), { definition: JSON.stringify(record) })
      .zadd(rt.keys.backfills(), Date.now(), record.id)
      .exec();
    await rt.statuses.set('nbac_team_boxscore', DATES[0] as string, { status: 'committed', rows: 2, backfillId: record.id });
    await rt.statuses.set('nbac_team_boxscore', DATES[1] as string, { status: 'pending', backfillId: record.id });
    metrics = new DashboardMetrics(rt, Date.now() - 1000);
    await publishCommitted(rt.redis, rt.keys, [
      {
        type: 'committed',
        processor: 'nbac_team_boxscore',
        table: 'nba_raw.nbac_team_boxscore',
        slice: DATES[0] as string,
        rows: 2,
        batchId: 'c0-a0',
        committedAt: new Date().toISOString(),
        backfillId: record.id,
      },
    ]);
    text = await metrics.render();
  });
  after(async () => env.cleanup());

  it('names: prefixed snake_case; _total exactly on counters; units on durations; ratios between 0 and 1', async () => {
    const all = await metrics.registry.getMetricsAsJSON();
    expect(all.length).to.be.greaterThan(15);
    for (const m of all) {
      expect(m.name, m.name).to.match(/^phasegate_[a-z][a-z0-9_]*[a-z0-9]$/);
      expect(m.name.endsWith('_total'), `${m.name} is a ${m.type}`).to.equal(String(m.type) === 'counter');
      if (/duration|latency|_age|elapsed|wait/.test(m.name) || String(m.type) === 'histogram') expect(m.name, m.name).to.match(/_(seconds|bytes)(_total)?$/);
      // A unit goes last: `_seconds_total`, not `_total_seconds`; and never milliseconds.
      expect(m.name, m.name).to.not.match(/_total_|_ms\b|_millis|_milliseconds/);
      if (m.name.endsWith('_ratio')) for (const v of m.values) expect(Number(v.value), `${m.name} ${JSON.stringify(v.labels)}`).to.be.within(0, 1);
    }
  });

  it('labels: only bounded ones, and no value that is a date or a run id', async () => {
    for (const m of await metrics.registry.getMetricsAsJSON())
      for (const v of m.values)
        for (const label of Object.keys(v.labels)) if (label !== 'le') expect(BOUNDED_LABELS.has(label), `${m.name}{${label}}`).to.equal(true);
    expect(text).to.match(/^phasegate_rows_committed_total\{table="nba_raw.nbac_team_boxscore",processor="nbac_team_boxscore"\} 2$/m);
    expect(text).to.match(/^phasegate_run_slices\{processor="nbac_team_boxscore",state="pending"\} 1$/m);
    expect(text).to.not.match(/="\d{4}-\d{2}-\d{2}/);
    expect(text).to.not.include('bf-20231101-000000-name');
  });
});
