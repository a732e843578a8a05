/**
 * `backfill --dry-run` is a plan that holds: with `--cascade` it lists every processor the run
 * reaches with its jobs, and per table the DML statements the run then takes, within a quarter.
 * The dry run and the run are the same command with and without `--dry-run` (real Redis, real
 * DuckDB behind the BigQuery rules, workers in the CLI's process).
 */
import { rm } from 'node:fs/promises';
import { expect } from 'chai';
import { deleteKeys, runCli, TEST_REDIS_URL, testConfig } from './helpers.ts';

interface DryRun {
  dryRun: true;
  dates: number;
  jobs: number;
  processors: { processor: string; phase: number; jobs: number; queuedNow: boolean }[];
  tables: { table: string; slices: number; operations: number; minOperations: number }[];
  assumptions: string;
}

interface RunSummary {
  tables: { table: string; rows: number; operations: number }[];
}

/** Every processor a cascade from the NBA.com scrapers reaches, phases 1–5. */
const REACHED = [
  'nbac_player_boxscore_scraper',
  'nbac_team_boxscore_scraper',
  'nbac_player_boxscore',
  'nbac_team_boxscore',
  'player_game_summary',
  'team_offense_game_summary',
  'team_defense_game_summary',
  'player_rolling_features',
  'player_points_predictions',
];

describe('backfill --dry-run: a plan that holds', function () {
  this.timeout(180_000);
  // The plan models an otherwise idle machine: a run that shares two cores with other work takes
  // more, smaller commits than planned. A loaded attempt is run again (fresh prefix and data)
  // before it counts as a miss; the demo season's figures are in the closing note of issue 18.
  this.retries(2);
  let env: Record<string, string>;
  let dir: string;
  let prefix: string;

  beforeEach(async () => {
    // ×1: MERGEs of 2–5 s real, so the gates' batching — not the machine's speed — sets the
    // count, and 28 dates through five phases take ~35–45 s. At ×2 a machine running several
    // times slower than usual (a throttled VM) split the raw player table's commits 3 against 2
    // on every attempt.
    const t = await testConfig({ PHASEGATE_TIME_SCALE: '1' });
    dir = t.dir;
    prefix = t.config.prefix;
    env = { REDIS_URL: TEST_REDIS_URL, PHASEGATE_PREFIX: prefix, PHASEGATE_DATA_DIR: dir, PHASEGATE_TIME_SCALE: '1', PHASEGATE_LOG_LEVEL: 'error' };
  });
  afterEach(async () => {
    await deleteKeys(TEST_REDIS_URL, `${prefix}:*`);
    await rm(dir, { recursive: true, force: true });
  });

  it('lists every reached processor with its jobs, and each table lands within ±25 % of its estimated DML statements', async () => {
    const args = [
      'backfill',
      '--processors',
      'nbac_player_boxscore_scraper,nbac_team_boxscore_scraper',
      '--start',
      '2023-10-24',
      '--end',
      '2023-11-30',
      '--cascade',
    ];
    const dry = await runCli([...args, '--dry-run', '--workers', '2', '--json'], env);
    expect(dry.code, dry.stderr).to.equal(0);
    const plan = JSON.parse(dry.stdout) as DryRun;
    expect(plan.dates).to.be.greaterThan(20);
    expect(plan.processors.map((p) => p.processor)).to.deep.equal(REACHED);
    for (const p of plan.processors) expect(p.jobs, p.processor).to.equal(plan.dates);
    expect(plan.jobs).to.equal(REACHED.length * plan.dates);
    expect(plan.assumptions).to.match(/^assumes: 2 phase jobs at once per phase.*time scale ×1/);
    // Nothing was enqueued by the dry run.
    const status = JSON.parse((await runCli(['status', '--json'], env)).stdout) as { backfills: unknown[] };
    expect(status.backfills).to.have.length(0);

    const run = await runCli([...args, '--workers', '2', '--json'], env);
    expect(run.code, run.stderr).to.equal(0);
    // A line saying what was enqueued, then the summary as JSON (and the cascade's per phase).
    const summary = JSON.parse(run.stdout.split('\n').find((l) => l.includes('"tables"')) ?? '') as RunSummary;
    const measured = new Map(summary.tables.map((t) => [t.table, t.operations]));
    expect([...measured.keys()]).to.have.members(plan.tables.map((t) => t.table));
    const report = plan.tables.map((t) => `${t.table}: estimated ${t.operations}, took ${measured.get(t.table)}`).join('; ');
    for (const t of plan.tables) {
      const took = measured.get(t.table) ?? 0;
      expect(took, report).to.be.greaterThan(0);
      expect(Math.abs(took - t.operations), report).to.be.at.most(0.25 * t.operations);
    }
  });
});
