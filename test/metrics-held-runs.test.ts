/**
 * `/metrics` on held slices and run durations, from a real hold: another writer streams rows
 * into one date, the table gate holds that slice back (`waiting`), then defers it after the
 * maximum wait, which ends its run as failed; meanwhile a run of two other dates commits and
 * ends. The held count per state, the oldest held slice's age, each run's duration (once, by
 * kind and outcome) and the age of a run still in progress are read as Prometheus scrapes them.
 */
import { expect } from 'chai';
import { DashboardMetrics } from '../src/dashboard/metrics/dashboard-metrics.ts';
import type { BackfillRecord } from '../src/queues/backfill/backfill.ts';
import { stageRows } from '../src/queues/commit/staging.ts';
import { BigQueryRulesWarehouse } from '../src/warehouse/rules/bigquery-rules-warehouse.ts';
import { boxRows, PLAYER, PLAYER_TABLE } from './conflict-fixtures.ts';
import { openTestRuntime, type TestEnv, until } from './helpers.ts';

// 60× faster: the buffer's 30 min last 30 s, the first 5-min wait 5 s, the 10-min maximum wait 10 s.
const SCALE = 60;
const [HELD, A, B] = ['2024-01-01', '2024-01-02', '2024-01-03'] as const;

/** A sample's value in the exposition text, or undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('/metrics: held slices and their age, run durations', function () {
  this.timeout(60_000);
  let env: TestEnv;

  before(async () => {
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: String(SCALE), PHASEGATE_COMMIT_GATHER_SECONDS: '60', PHASEGATE_CONFLICT_MAX_WAIT_SECONDS: '600' });
  });
  after(async () => env.cleanup());

  it('counts the held slice waiting then deferred with its age, and a finished run once', async () => {
    const { rt } = env;
    const w = await rt.warehouse();
    expect(w).to.be.instanceOf(BigQueryRulesWarehouse);
    const rules = w as BigQueryRulesWarehouse;
    await rules.ensureTable(PLAYER.table);
    await rules.streamingInsert(PLAYER.table, boxRows(HELD, 2, 1));

    const run: BackfillRecord = {
      id: 'bf-20240102-000000-done',
      createdAt: new Date().toISOString(),
      processors: [PLAYER.name],
      dates: [A, B],
      priority: 10,
      cascade: false,
    };
    const heldRun: BackfillRecord = { ...run, id: 'bf-20240101-000000-held', dates: [HELD] };
    // A run started two minutes ago that is still going (its one slice pending).
    const open: BackfillRecord = {
      id: 'bf-20240101-000000-open',
      createdAt: new Date(Date.now() - 120_000).toISOString(),
      processors: ['nbac_team_boxscore'],
      dates: [HELD],
      priority: 10,
      cascade: false,
    };
    for (const r of [open, run, heldRun])
      await rt.redis
        .multi()
        .hset(rt.keys.backfill(r.id), { definition: JSON.stringify(r) })
        .zadd(rt.keys.backfills(), Date.parse(r.createdAt), r.id)
        .exec();
    await rt.statuses.set('nbac_team_boxscore', HELD, { status: 'pending', backfillId: open.id });
    const metrics = new DashboardMetrics(rt, Date.now() - 1000);

    await stageRows(rt, PLAYER, HELD, boxRows(HELD, 4, 7), heldRun.id);
    for (const d of [A, B]) await stageRows(rt, PLAYER, d, boxRows(d, 4, 7), run.id);
    await rt.startWorkers({ phases: [], commit: true, concurrency: 1, tracker: false });

    const held = (state: string) => `phasegate_table_held_slices{table="${PLAYER_TABLE}",state="${state}"}`;
    const age = `phasegate_table_oldest_held_slice_age_seconds{table="${PLAYER_TABLE}"}`;
    const runs = 'phasegate_run_duration_seconds_count{kind="backfill",outcome="ok"}';

    // The first commit: A and B land (their run ends), HELD waits for its next try.
    await until(async () => {
      const [h, a, b] = await rt.statuses.getMany(PLAYER.name, [HELD, A, B]);
      return h?.status === 'waiting' && a?.status === 'committed' && b?.status === 'committed' ? true : undefined;
    }, 'the first commit');
    const waiting = await until(async () => {
      const text = await metrics.render();
      return sample(text, runs) === 1 ? text : undefined;
    }, "the run's end on /metrics");
    expect(sample(waiting, held('waiting'))).to.equal(1);
    expect(sample(waiting, held('deferred'))).to.equal(0);
    expect(sample(waiting, age)).to.be.within(0, 10);
    expect(sample(waiting, 'phasegate_run_duration_seconds_sum{kind="backfill",outcome="ok"}')).to.be.within(0, 30);
    expect(sample(waiting, 'phasegate_run_duration_seconds_bucket{le="10",kind="backfill",outcome="ok"}')).to.equal(1);
    expect(sample(waiting, 'phasegate_run_oldest_in_progress_age_seconds{kind="backfill"}')).to.be.within(120, 180);
    expect(sample(waiting, 'phasegate_run_oldest_in_progress_age_seconds{kind="cascade"}')).to.equal(0);

    expect(sample(waiting, 'phasegate_run_duration_seconds_count{kind="backfill",outcome="failed"}')).to.equal(undefined);

    // The retry meets the buffer again and the next wait would pass the maximum: deferred, kept
    // — a final state, so HELD's run ends, failed.
    await until(async () => ((await rt.statuses.get(PLAYER.name, HELD))?.status === 'deferred' ? true : undefined), 'the deferral', 30_000);
    const deferred = await until(async () => {
      const text = await metrics.render();
      return sample(text, 'phasegate_run_duration_seconds_count{kind="backfill",outcome="failed"}') === 1 ? text : undefined;
    }, "the held run's end on /metrics");
    expect(sample(deferred, 'phasegate_run_duration_seconds_sum{kind="backfill",outcome="failed"}')).to.be.within(3, 30);
    expect(sample(deferred, held('waiting'))).to.equal(0);
    expect(sample(deferred, held('deferred'))).to.equal(1);
    // Held since its first conflict, before the first wait (5 min scaled: 4–6 s with jitter).
    expect(sample(deferred, age)).to.be.within(3, 30);
    // A run is counted once, however many scrapes follow its end.
    expect(sample(deferred, runs)).to.equal(1);
    process.stdout.write(
      `      /metrics excerpt:\n${deferred
        .split('\n')
        .filter((l) => /^(# (HELP|TYPE) )?phasegate_(table_held|table_oldest_held|run_duration|run_oldest)/.test(l))
        .filter((l) => !l.includes('table=') || l.includes(PLAYER_TABLE))
        .filter((l) => !l.includes('_bucket{') || /le="(10|30|\+Inf)"/.test(l))
        .map((l) => `        ${l}`)
        .join('\n')}\n`,
    );
  });
});
