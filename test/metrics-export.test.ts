/**
 * OpenTelemetry metrics: with `OTEL_*` asking for them, the process running the table gates
 * pushes `/metrics`' own registry over OTLP/HTTP to a real receiver on a loopback port
 * (test/otlp-receiver.ts) at every interval, and once more when it closes — the committed
 * slices of a small cascade, its commits' and its run's durations, with their units.
 */
import { expect } from 'chai';
import { Counter, Histogram, Registry } from 'prom-client';
import { DashboardMetrics } from '../src/dashboard/metrics/dashboard-metrics.ts';
import { startCascadingBackfill, waitForCascade } from '../src/queues/backfill/cascade.ts';
import { metricExportIntervalMs, metricsEndpoint, startMetrics, stopMetrics } from '../src/telemetry/metrics.ts';
import { toMetricData } from '../src/telemetry/metrics-sdk.ts';
import { openTestRuntime, type TestEnv, until } from './helpers.ts';
import { OtlpReceiver } from './otlp-receiver.ts';

const DATE = '2023-11-01';
const ROOTS = ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper', 'nbac_player_boxscore', 'nbac_team_boxscore'];
const PLAYER_TABLE = 'nba_raw.nbac_player_boxscores';

describe('metrics: /metrics exported over OTLP/HTTP when OTEL_* asks', function () {
  this.timeout(120_000);
  let receiver: OtlpReceiver;
  let env: TestEnv | undefined;

  before(async () => {
    receiver = new OtlpReceiver();
    const url = await receiver.start();
    expect(await startMetrics({ OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_METRIC_EXPORT_INTERVAL: '300' })).to.equal(true);
  });
  after(async () => {
    await env?.cleanup();
    await stopMetrics();
    await receiver.close();
  });

  it('is off unless an OTEL_* variable asks for it, and follows the specification', () => {
    expect(metricsEndpoint({})).to.equal(undefined);
    expect(metricsEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' })).to.equal('http://c:4318/v1/metrics');
    expect(metricsEndpoint({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://c:4318/m', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://d' })).to.equal('http://c:4318/m');
    expect(metricsEndpoint({ OTEL_METRICS_EXPORTER: 'otlp' })).to.equal('http://localhost:4318/v1/metrics');
    expect(metricsEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_METRICS_EXPORTER: 'none' })).to.equal(undefined);
    expect(metricsEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_METRICS_EXPORTER: 'console' })).to.equal(undefined);
    expect(metricsEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })).to.equal(undefined);
    expect(metricExportIntervalMs({})).to.equal(60_000);
    expect(metricExportIntervalMs({ OTEL_METRIC_EXPORT_INTERVAL: '5000' })).to.equal(5000);
    expect(metricExportIntervalMs({ OTEL_METRIC_EXPORT_INTERVAL: 'soon' })).to.equal(60_000);
  });

  it("reads prom-client's values as OTLP's: Prometheus' cumulative buckets become per-bucket counts", async () => {
    const registry = new Registry();
    const h = new Histogram({ name: 'x_duration_seconds', help: 'h', labelNames: ['table'], buckets: [1, 5], registers: [registry] });
    const c = new Counter({ name: 'x_total', help: 'c', labelNames: ['table'], registers: [registry] });
    for (const v of [0.5, 2, 3, 10]) h.observe({ table: 'a' }, v);
    c.inc({ table: 'a' }, 3);
    const json = (await registry.getMetricsAsJSON()).map((m) => ({ ...m, type: String(m.type) }));
    const [hist, sum] = toMetricData(json, 1_000, 2_000);
    expect(hist?.descriptor).to.include({ name: 'x_duration_seconds', unit: 's' });
    expect(hist?.dataPoints).to.deep.equal([
      { startTime: [1, 0], endTime: [2, 0], attributes: { table: 'a' }, value: { buckets: { boundaries: [1, 5], counts: [1, 2, 1] }, sum: 15.5, count: 4 } },
    ]);
    expect(sum).to.include({ isMonotonic: true });
    expect(sum?.dataPoints[0]).to.include({ value: 3 });
  });

  it("exports a cascade's committed slices, commit and run durations, periodically and once more at close", async () => {
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '100', PHASEGATE_COMMIT_GATHER_SECONDS: '5' }, { metrics: async (rt) => new DashboardMetrics(rt) });
    const { rt } = env;
    await rt.startWorkers({ phases: [1, 2, 3, 4, 5], commit: true, concurrency: 4, scheduler: false });
    const record = await startCascadingBackfill(rt, { processors: ROOTS.map((p) => rt.registry.get(p)), dates: [DATE], cascade: true });
    const progress = await waitForCascade(rt, record, { pollMs: 100, timeoutMs: 90_000 });
    expect(progress.done).to.equal(true);
    // Periodic: exports arrive while the workers run, not only at the end.
    await until(async () => (receiver.metrics.filter((m) => m.name === 'phasegate_queue_jobs').length >= 2 ? true : undefined), 'two periodic exports', 10_000);
    // Closing sends the last values (the run's end is in them whatever the interval).
    const exported = receiver.metrics.length;
    await env.cleanup();
    expect(receiver.metrics.length, 'an export at close').to.be.greaterThan(exported);
    env = undefined;

    const names = new Set(receiver.metrics.map((m) => m.name));
    for (const name of [
      'phasegate_slices_committed_total',
      'phasegate_rows_committed_total',
      'phasegate_commit_duration_seconds',
      'phasegate_run_duration_seconds',
      'phasegate_table_held_slices',
      'phasegate_table_oldest_held_slice_age_seconds',
      'phasegate_run_oldest_in_progress_age_seconds',
    ])
      expect(names.has(name), name).to.equal(true);

    const slices = receiver.latest('phasegate_slices_committed_total');
    expect(slices?.type).to.equal('sum');
    expect(slices?.points.find((p) => p.attributes.table === PLAYER_TABLE)?.value).to.equal(1);
    // Every phase of the cascade committed its one date.
    expect(slices?.points.reduce((n, p) => n + p.value, 0)).to.be.at.least(5);

    const commits = receiver.latest('phasegate_commit_duration_seconds');
    expect(commits).to.include({ type: 'histogram', unit: 's' });
    expect(commits?.points.find((p) => p.attributes.table === PLAYER_TABLE)?.count).to.be.greaterThan(0);

    const runs = receiver.latest('phasegate_run_duration_seconds');
    expect(runs).to.include({ type: 'histogram', unit: 's' });
    expect(runs?.points).to.have.length(1);
    expect(runs?.points[0]?.attributes).to.deep.equal({ kind: 'cascade', outcome: 'ok' });
    expect(runs?.points[0]?.count).to.equal(1);
    expect(runs?.points[0]?.sum).to.be.greaterThan(0);

    const held = receiver.latest('phasegate_table_held_slices');
    expect(held?.type).to.equal('gauge');
    expect(held?.points.find((p) => p.attributes.table === PLAYER_TABLE && p.attributes.state === 'deferred')?.value).to.equal(0);
    // Only bounded labels travel: no run id, no date.
    for (const m of receiver.metrics) for (const p of m.points) expect(JSON.stringify(p.attributes), m.name).to.not.match(/bf-|\d{4}-\d{2}-\d{2}/);
    process.stdout.write(`      OTLP metrics received: ${[...names].sort().join(', ')}\n`);
  });
});
