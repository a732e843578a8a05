/**
 * OpenTelemetry traces of one date through the five phases, exported over OTLP/HTTP to a real
 * receiver on a loopback port (test/otlp-receiver.ts) by the SDK the `OTEL_*` variables
 * configure: the span tree is asserted — phase job → staging → the table gate's commit (linked
 * to each slice's staging) → a `committed` span per slice → the downstream jobs it unlocked.
 */
import { expect } from 'chai';
import { startCascadingBackfill, waitForCascade } from '../src/queues/backfill/cascade.ts';
import { flushTracing, startTracing, stopTracing, tracesEndpoint } from '../src/telemetry/tracing.ts';
import { openTestRuntime, type TestEnv, until } from './helpers.ts';
import { OtlpReceiver, type ReceivedSpan } from './otlp-receiver.ts';

const DATE = '2023-11-01';
const ROOTS = ['nbac_player_boxscore_scraper', 'nbac_team_boxscore_scraper', 'nbac_player_boxscore', 'nbac_team_boxscore'];

describe('tracing: a date through the five phases as OpenTelemetry spans', function () {
  this.timeout(120_000);
  let receiver: OtlpReceiver;
  let env: TestEnv | undefined;

  before(async () => {
    receiver = new OtlpReceiver();
    const url = await receiver.start();
    expect(await startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: url })).to.equal(true);
  });
  after(async () => {
    await env?.cleanup();
    await stopTracing();
    await receiver.close();
  });

  it('is off unless an OTEL_* variable asks for it', () => {
    expect(tracesEndpoint({})).to.equal(undefined);
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' })).to.equal('http://c:4318/v1/traces');
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/t' })).to.equal('http://c:4318/t');
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })).to.equal(undefined);
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' })).to.equal(undefined);
    // The same rule as metrics': an exporter named with no endpoint sends to the default one.
    expect(tracesEndpoint({ OTEL_TRACES_EXPORTER: 'otlp' })).to.equal('http://localhost:4318/v1/traces');
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'console' })).to.equal(undefined);
  });

  it('follows the slice from its phase job to the commit, the committed event and the downstream jobs it unlocked', async () => {
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '100', PHASEGATE_COMMIT_GATHER_SECONDS: '5' });
    const { rt } = env;
    await rt.startWorkers({ phases: [1, 2, 3, 4, 5], commit: true, concurrency: 4, scheduler: false });
    const record = await startCascadingBackfill(rt, { processors: ROOTS.map((p) => rt.registry.get(p)), dates: [DATE], cascade: true });
    const progress = await waitForCascade(rt, record, { pollMs: 100, timeoutMs: 90_000 });
    expect(progress.done).to.equal(true);
    expect(progress.perProcessor.player_points_predictions?.committed).to.equal(1);
    await flushTracing();
    const spans = receiver.spans;
    const job = (processor: string) =>
      until(
        async () => spans.find((s) => s.attributes['phasegate.processor'] === processor && s.name.startsWith('process ')),
        `the ${processor} job's span`,
        10_000,
      );

    // Phase 2: the job's span, its staging as a child.
    const raw = await job('nbac_player_boxscore');
    expect(raw.attributes).to.include({ 'phasegate.slice': DATE, 'phasegate.attempt': 1, 'phasegate.run': record.id });
    const stage = spans.find((s) => s.name === 'stage nba_raw.nbac_player_boxscores' && s.parentSpanId === raw.spanId) as ReceivedSpan;
    expect(stage, 'the staging span under the phase job').to.not.equal(undefined);
    // The table gate's commit job, linked to the slice's staging.
    const commit = spans.find((s) => s.attributes['phasegate.table'] === 'nba_raw.nbac_player_boxscores' && s.name.startsWith('process ')) as ReceivedSpan;
    expect(commit, 'the commit job span').to.not.equal(undefined);
    expect(commit.attributes).to.include({ 'phasegate.slices': 1 });
    expect(Number(commit.attributes['phasegate.rows'])).to.be.greaterThan(0);
    expect(commit.links.map((l) => l.spanId)).to.include(stage.spanId);
    // One `committed` span per slice, a child of the commit, linked to the staging.
    const committed = spans.find((s) => s.name === 'committed nbac_player_boxscore' && s.parentSpanId === commit.spanId) as ReceivedSpan;
    expect(committed, 'the committed span under the commit').to.not.equal(undefined);
    expect(committed.links.map((l) => l.spanId)).to.include(stage.spanId);

    // Downstream: each phase's job descends from a `committed` span of its inputs, down to phase 5.
    const chain: [string, string[]][] = [
      ['player_game_summary', ['committed nbac_player_boxscore', 'committed nbac_team_boxscore']],
      ['player_rolling_features', ['committed player_game_summary']],
      ['player_points_predictions', ['committed player_rolling_features']],
    ];
    for (const [processor, parents] of chain) {
      const span = await job(processor);
      const names = receiver.ancestry(span).map((s) => s.name);
      expect(
        names.some((n) => parents.includes(n)),
        `${processor}: ${names.join(' ← ')}`,
      ).to.equal(true);
    }
    const prediction = await job('player_points_predictions');
    const lineage = receiver.ancestry(prediction);
    // A prediction's trace leads back to the raw box score's commit.
    expect(lineage.map((s) => s.name)).to.include.members(['committed player_rolling_features', 'committed player_game_summary']);
    expect(lineage.some((s) => s.name === 'committed nbac_player_boxscore' || s.name === 'committed nbac_team_boxscore')).to.equal(true);
    expect(new Set(lineage.map((s) => s.traceId)).size).to.equal(1);
    // Printed for the record: the trace as the receiver got it.
    process.stdout.write(`      trace of ${DATE}: ${lineage.map((s) => s.name).join(' ← ')}\n`);
  });
});
