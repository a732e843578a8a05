/**
 * `phasegate doctor` and `phasegate migrate`: BigQuery and GCS through nock (a good project, a
 * US dataset with an EU bucket, a table missing a column that migrate then adds, the GCE
 * default scopes), the embedded DuckDB file (an older file missing a column, migrate,
 * ensureTable adding it itself) and a worker refusing to start on a table every commit would fail.
 * Set DOCTOR_PRINT=1 to see the reports.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CRC32C } from '@google-cloud/storage';
import { expect } from 'chai';
import nock from 'nock';
import { loadConfig } from '../src/config/load-config.ts';
import { type Check, exitCodeOf, formatCheck, formatChecks } from '../src/doctor/check.ts';
import { BUCKET_PERMISSIONS } from '../src/doctor/cloud-checks.ts';
import { migrate } from '../src/doctor/migrate.ts';
import { openForDoctor } from '../src/doctor/open.ts';
import { gatedSpecs, runDoctor } from '../src/doctor/run-doctor.ts';
import { ConfigError } from '../src/errors/config-error.ts';
import { QUALITY_ISSUES_COLUMN, type TableSpec } from '../src/processors/types.ts';
import { defaultRegistry } from '../src/runtime.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { tableResource } from '../src/warehouse/bigquery/schema.ts';
import { DuckDBWarehouse } from '../src/warehouse/duckdb/duckdb-warehouse.ts';
import { API, BASE, Bodies, type Body, BUCKET, GCS_API, notFound, PROJECT, testStore, testWarehouse, useNock } from './bigquery-nock.ts';
import { openTestRuntime, TEST_REDIS_URL } from './helpers.ts';

const registry = defaultRegistry();
const specs = gatedSpecs(registry);
const datasets = [...new Set(specs.map((s) => s.dataset))].sort();
const PLAYER = 'nba_raw.nbac_player_boxscores';
const playerSpec = registry.tableSpec(PLAYER);

const print = (title: string, checks: readonly Check[]) => {
  if (process.env.DOCTOR_PRINT) process.stdout.write(`\n--- ${title} ---\n${formatChecks(checks)}\n`);
};

/** `tables.get` as BigQuery answers it for a table phasegate created: legacy type names, partitioning, clustering. */
function tableAnswer(spec: TableSpec, drop: readonly string[] = []): Body {
  const resource = tableResource(spec) as Body;
  const legacy: Record<string, string> = { INT64: 'INTEGER', FLOAT64: 'FLOAT', BOOL: 'BOOLEAN' };
  return {
    kind: 'bigquery#table',
    tableReference: { projectId: PROJECT, datasetId: spec.dataset, tableId: spec.table },
    schema: { fields: (resource.schema.fields as Body[]).filter((f) => !drop.includes(f.name)).map((f) => ({ ...f, type: legacy[f.type] ?? f.type })) },
    timePartitioning: resource.timePartitioning,
    clustering: resource.clustering,
    location: 'US',
  };
}

const RESOURCE_MANAGER = 'https://cloudresourcemanager.googleapis.com';
const tablePath = (spec: TableSpec) => `${BASE}/datasets/${spec.dataset}/tables/${spec.table}`;

/** The probe object the first-commit dry runs read: uploaded (empty), then read and deleted. */
function probeObject(): { names: string[] } {
  const names: string[] = [];
  const empty = Buffer.alloc(0);
  const crc = new CRC32C();
  crc.update(empty);
  const resource = (name: string) => ({
    kind: 'storage#object',
    bucket: BUCKET,
    name,
    size: '0',
    generation: '1',
    contentType: 'application/x-ndjson',
    crc32c: crc.toString(),
    md5Hash: createHash('md5').update(empty).digest('base64'),
  });
  const gcs = nock(GCS_API);
  gcs
    .post(`/upload/storage/v1/b/${BUCKET}/o`)
    .query((q) => {
      names.push(String(q.name));
      return q.ifGenerationMatch === '0';
    })
    .reply(200, () => resource(names[0] ?? ''));
  gcs
    .get((p) => p.startsWith(`/storage/v1/b/${BUCKET}/o/`))
    .query(true)
    .reply(200, () => resource(names[0] ?? ''));
  gcs
    .delete((p) => p.startsWith(`/storage/v1/b/${BUCKET}/o/`))
    .query(true)
    .reply(204);
  return { names };
}

/** BigQuery's answer to a dry run it refuses: HTTP 400 with the statement's error, as the REST API sends it. */
const invalidQuery = (message: string) => ({ error: { code: 400, message, errors: [{ reason: 'invalidQuery', location: 'query', message }] } });

interface ProjectOptions {
  bucket: string;
  dataset: string;
  /** Columns absent from the player table. */
  missing?: readonly string[];
  /** No table exists yet. */
  tables?: 'absent';
  /** No dataset exists yet (nor any table). */
  datasets?: 'absent';
  /** What projects.testIamPermissions answers for bigquery.datasets.create. @defaultValue 'granted' */
  createDatasets?: 'granted' | 'denied' | 'api-disabled';
  /** The player table's tables.get answer, replaced. */
  player?: Body;
  /** The permissions the player table grants (tables.testIamPermissions). @defaultValue both */
  playerPermissions?: readonly string[];
  /** The player table's dry-run commit is refused with this text. */
  playerDryRunError?: string;
  /** The doctor predicts no commit (a dataset or the bucket failed already). @defaultValue true */
  firstCommit?: boolean;
}

/**
 * A project as the doctor meets it: the bucket and datasets in the given locations, each table
 * answered by tables.get and, when it exists, by tables.testIamPermissions and a dry run of its
 * commit statement (all accepted unless the options say otherwise).
 */
function project(opts: ProjectOptions) {
  const storage = nock(GCS_API);
  storage.get(`/storage/v1/b/${BUCKET}`).query(true).reply(200, { kind: 'storage#bucket', name: BUCKET, location: opts.bucket, locationType: 'multi-region' });
  storage
    .get(`/storage/v1/b/${BUCKET}/iam/testPermissions`)
    .query(true)
    .reply(200, {
      kind: 'storage#testIamPermissionsResponse',
      permissions: [...BUCKET_PERMISSIONS],
    });
  const bq = nock(API);
  for (const d of datasets) {
    const get = bq.get(`${BASE}/datasets/${d}`).query(true);
    if (opts.datasets === 'absent') get.reply(404, notFound(`Dataset ${PROJECT}:${d}`));
    else get.reply(200, { datasetReference: { projectId: PROJECT, datasetId: d }, location: opts.dataset });
  }
  const crm = new Bodies();
  if (opts.datasets === 'absent') {
    const ask = nock(RESOURCE_MANAGER).post(`/v1/projects/${PROJECT}:testIamPermissions`, crm.match);
    if (opts.createDatasets === 'api-disabled') {
      ask.reply(403, {
        error: {
          code: 403,
          message: `Cloud Resource Manager API has not been used in project ${PROJECT} before or it is disabled.`,
          status: 'PERMISSION_DENIED',
        },
      });
    } else ask.reply(200, opts.createDatasets === 'denied' ? {} : { permissions: ['bigquery.datasets.create'] });
  }
  const dryRuns = new Bodies();
  bq.post(`${BASE}/jobs`, (b: Body) => b.configuration?.dryRun === true && b.configuration.query.query === 'SELECT 1' && dryRuns.match(b))
    .query(true)
    .reply(200, () => ({
      jobReference: dryRuns.last.jobReference,
      status: { state: 'DONE' },
      statistics: { totalBytesProcessed: '0', query: { totalBytesProcessed: '0' } },
    }));
  const absent = opts.tables === 'absent' || opts.datasets === 'absent';
  const predicted = !absent && opts.firstCommit !== false;
  const commits = new Bodies();
  const permissionAsks = new Bodies();
  for (const spec of specs) {
    const get = bq.get(tablePath(spec)).query(true);
    if (absent) {
      get.reply(404, notFound(`Table ${PROJECT}:${spec.dataset}.${spec.table}`));
      continue;
    }
    const player = spec === playerSpec;
    get.reply(200, player && opts.player ? opts.player : tableAnswer(spec, player ? (opts.missing ?? []) : []));
    if (!predicted) continue;
    const granted = player && opts.playerPermissions ? opts.playerPermissions : ['bigquery.tables.getData', 'bigquery.tables.updateData'];
    bq.post(`${tablePath(spec)}:testIamPermissions`, permissionAsks.match)
      .query(true)
      .reply(200, { permissions: granted });
    if (granted.length < 2) continue;
    bq.post(
      `${BASE}/jobs`,
      (b: Body) => b.configuration?.dryRun === true && String(b.configuration.query.query).includes(`.${spec.dataset}.${spec.table}\``) && commits.match(b),
    )
      .query(true)
      // A table requiring a partition filter gets its gate read dry-run too.
      .times(player && opts.player?.requirePartitionFilter ? 2 : 1)
      .reply((_uri, body) =>
        player && opts.playerDryRunError
          ? [400, invalidQuery(opts.playerDryRunError)]
          : [200, { jobReference: (body as Body).jobReference, status: { state: 'DONE' }, statistics: { totalBytesProcessed: '0' } }],
      );
  }
  const probe = predicted ? probeObject() : { names: [] };
  return { dryRuns, commits, permissionAsks, crm, probe };
}

describe('phasegate doctor: BigQuery and GCS (nock)', () => {
  const creds = useNock();
  const config = { warehouse: 'bigquery' as const, duckdbPath: '/nonexistent', gce: { enabled: false, metadataHost: 'metadata.google.internal' } };

  it('a good project: every check ✓ (Redis, credentials, bucket, each dataset, permissions, a dry run, each table)', async () => {
    const { dryRuns } = project({ bucket: 'US', dataset: 'US' });
    const checks = await runDoctor({ config, registry, warehouse: testWarehouse(creds), store: testStore(creds), redisUrl: TEST_REDIS_URL });
    print('good project', checks);
    expect(checks.filter((c) => c.status === 'fail')).to.deep.equal([]);
    expect(exitCodeOf(checks)).to.equal(0);
    const lines = formatChecks(checks);
    expect(lines).to.include(`✓ credentials: service account tests@${PROJECT}.iam.gserviceaccount.com`);
    expect(lines).to.include('✓ redis maxmemory-policy: noeviction');
    expect(lines).to.include(`✓ bucket gs://${BUCKET}: in US`);
    for (const d of datasets) expect(lines).to.include(`✓ dataset ${d}: in US, colocated with the bucket`);
    expect(lines).to.include(
      '✓ bucket permissions: storage.objects.create, storage.objects.get, storage.objects.delete, storage.objects.list, storage.buckets.get',
    );
    for (const s of specs) expect(lines).to.include(`✓ table ${s.dataset}.${s.table}: matches the registry`);
    expect(dryRuns.last.configuration).to.deep.equal({ dryRun: true, query: { query: 'SELECT 1', useLegacySql: false } });
    expect(dryRuns.last.jobReference.location).to.equal('US');
  });

  it('predicts each table’s first commit: write access, then a dry run of the exact commit statement over a staged object', async () => {
    const { commits, permissionAsks, probe } = project({ bucket: 'US', dataset: 'US' });
    const checks = await runDoctor({ config, registry, warehouse: testWarehouse(creds), store: testStore(creds) });
    print('first commit, all good', checks);
    expect(exitCodeOf(checks)).to.equal(0);
    const lines = formatChecks(checks);
    for (const s of specs) {
      const statement = s.writeMode === 'append' ? 'INSERT … SELECT' : 'MERGE';
      expect(lines).to.include(`✓ first commit ${s.dataset}.${s.table}: a dry run of its ${statement} from a staged object passes`);
    }
    // tables.testIamPermissions asked for what a MERGE needs, once per table.
    expect(permissionAsks.all).to.have.length(specs.length);
    expect(permissionAsks.last.permissions).to.deep.equal(['bigquery.tables.getData', 'bigquery.tables.updateData']);
    // The player table's dry run is the commit's own job: its MERGE, the staged object as the
    // external table, the slices as ARRAY<DATE>, and dryRun set.
    const player = commits.all.find((b) => String(b.configuration.query.query).startsWith(`MERGE \`${PROJECT}.${PLAYER}\` AS T`));
    expect(player, 'the player table’s dry-run MERGE').to.not.equal(undefined);
    const q = player?.configuration.query;
    expect(player?.configuration.dryRun).to.equal(true);
    expect(q.query).to.include('WHEN NOT MATCHED BY SOURCE AND');
    expect(q.tableDefinitions.staging.sourceUris).to.deep.equal([`gs://${BUCKET}/${probe.names[0]}`]);
    expect(q.tableDefinitions.staging.sourceFormat).to.equal('NEWLINE_DELIMITED_JSON');
    expect(q.queryParameters.find((p: Body) => p.name === 'slices')?.parameterType).to.deep.equal({ type: 'ARRAY', arrayType: { type: 'DATE' } });
    expect(probe.names).to.have.length(1);
    expect(probe.names[0]).to.match(/^staging\/doctor\/[0-9a-f-]{36}\.ndjson$/);
  });

  it('datasets missing, and these credentials may create them: ✓ each, nothing else asked of the tables', async () => {
    const { crm } = project({ bucket: 'US', dataset: 'US', datasets: 'absent' });
    const checks = await runDoctor({ config, registry, warehouse: testWarehouse(creds), store: testStore(creds) });
    print('datasets missing, may create', checks);
    expect(exitCodeOf(checks)).to.equal(0);
    expect(crm.all).to.deep.equal([{ permissions: ['bigquery.datasets.create'] }]);
    expect(formatChecks(checks)).to.include(
      `✓ dataset nba_raw: not there yet: created in US at the first commit (tests@${PROJECT}.iam.gserviceaccount.com holds bigquery.datasets.create)`,
    );
  });

  it('datasets missing, and these credentials may not create them: ✗ per dataset with BigQuery’s 403 text and the fix', async () => {
    project({ bucket: 'US', dataset: 'US', datasets: 'absent', createDatasets: 'denied' });
    const checks = await runDoctor({ config, registry, warehouse: testWarehouse(creds), store: testStore(creds) });
    print('datasets missing, may not create', checks);
    expect(exitCodeOf(checks)).to.equal(1);
    const raw = checks.find((c) => c.subject === 'dataset nba_raw');
    expect(raw).to.deep.include({ status: 'fail', blocksCommits: true });
    expect(formatCheck(raw as Check)).to.equal(
      `✗ dataset nba_raw: not there yet, and the first commit cannot create it: Access Denied: Project ${PROJECT}: User does not have bigquery.datasets.create permission in project ${PROJECT} — fix: create it (bq mk --location=US --dataset ${PROJECT}:nba_raw), or grant tests@${PROJECT}.iam.gserviceaccount.com roles/bigquery.user (or roles/bigquery.dataEditor) on the project`,
    );
    expect(checks.filter((c) => c.subject.startsWith('dataset ') && c.status === 'fail')).to.have.length(datasets.length);
  });

  it('datasets missing and the permission cannot be checked (Resource Manager answers 403): a warning with its text', async () => {
    project({ bucket: 'US', dataset: 'US', datasets: 'absent', createDatasets: 'api-disabled' });
    const checks = await runDoctor({ config, registry, warehouse: testWarehouse(creds), store: testStore(creds) });
    print('datasets missing, API disabled', checks);
    const raw = checks.find((c) => c.subject === 'dataset nba_raw');
    expect(raw?.status).to.equal('warn');
    expect(raw?.detail).to.include('Cloud Resource Manager API has not been used in project');
    expect(raw?.fix).to.include(`bq mk --location=US --dataset ${PROJECT}:nba_raw`);
    expect(exitCodeOf(checks)).to.equal(0);
  });

  it('a dry-run MERGE BigQuery refuses (a column type mismatch): ✗ naming the table, BigQuery’s text and the fix', async () => {
    const text = 'Query column 6 has type STRING which cannot be inserted into column minutes, which has type FLOAT64 at [4:43]';
    project({ bucket: 'US', dataset: 'US', playerDryRunError: text });
    const checks = await runDoctor({ config, registry, warehouse: testWarehouse(creds), store: testStore(creds) });
    print('dry-run MERGE refused', checks);
    expect(exitCodeOf(checks)).to.equal(1);
    const line = checks.find((c) => c.subject === `first commit ${PLAYER}`);
    expect(line).to.deep.include({ status: 'fail', blocksCommits: true, detail: `a dry run of its MERGE fails: ${text}` });
    expect(line?.fix).to.include('the table and the registry disagree');
    // The other tables' predictions stand.
    expect(checks.filter((c) => c.subject.startsWith('first commit ') && c.status === 'fail')).to.have.length(1);
  });

  it('a table these credentials may read but not write: ✗ before any dry run, with the role to grant', async () => {
    project({ bucket: 'US', dataset: 'US', playerPermissions: ['bigquery.tables.getData'] });
    const checks = await runDoctor({ config, registry, warehouse: testWarehouse(creds), store: testStore(creds) });
    const line = checks.find((c) => c.subject === `first commit ${PLAYER}`);
    expect(formatCheck(line as Check)).to.equal(
      `✗ first commit ${PLAYER}: the credentials lack bigquery.tables.updateData on the table: the commit fails with Access Denied — fix: grant roles/bigquery.dataEditor on dataset nba_raw`,
    );
    expect(exitCodeOf(checks)).to.equal(1);
  });

  it('a table with requirePartitionFilter: ✓ (every commit statement and read filters on the slice), its dry-run MERGE passes', async () => {
    const { commits } = project({ bucket: 'US', dataset: 'US', player: { ...tableAnswer(playerSpec), requirePartitionFilter: true } });
    const checks = await runDoctor({ config, registry, warehouse: testWarehouse(creds), store: testStore(creds) });
    print('requirePartitionFilter', checks);
    expect(exitCodeOf(checks)).to.equal(0);
    expect(checks.find((c) => c.subject === `table ${PLAYER}`)?.detail).to.include(
      'requires a partition filter, which every commit statement and read carries (game_date)',
    );
    expect(checks.find((c) => c.subject === `first commit ${PLAYER}`)?.detail).to.equal(
      'a dry run of its MERGE from a staged object and of the gate’s read (partition filter required) passes',
    );
    const merge = commits.all.find((b) => String(b.configuration.query.query).startsWith(`MERGE \`${PROJECT}.${PLAYER}\``));
    // The only clause reading the target filters on its partitioning column.
    expect(merge?.configuration.query.query).to.include('WHEN NOT MATCHED BY SOURCE AND T.`game_date` IN UNNEST(@scope)');
    // The dry run carries the integrity guard a clean batch's MERGE carries, its look at other dates bounded too.
    expect(merge?.configuration.query.query).to.include("`game_date` NOT IN UNNEST(@guard_slices) AND `game_date` >= DATE '0001-01-01'");
    expect(merge?.configuration.query.queryParameters.map((p: Body) => p.name)).to.include.members(['guard_staged', 'guard_slices', 'guard_units']);
    // The gate's read when a commit's guard refuses a batch, with a unit so its other-dates branch is asked too:
    // that branch filters on game_date with a bound that keeps every date.
    const read = commits.all.find((b) => String(b.configuration.query.query).startsWith('SELECT slice, unit, COUNT(*)'));
    expect(read?.configuration.dryRun).to.equal(true);
    expect(read?.configuration.query.query).to.include("`game_date` NOT IN UNNEST(@slices) AND `game_date` >= DATE '0001-01-01'");
    expect(read?.configuration.query.queryParameters.map((p: Body) => p.name)).to.deep.equal(['slices', 'units']);
  });

  it('a US dataset with an EU bucket: ✗ naming both locations, a failure that stops every commit', async () => {
    project({ bucket: 'EU', dataset: 'US', firstCommit: false });
    const checks = await runDoctor({ config, registry, warehouse: testWarehouse(creds), store: testStore(creds) });
    print('US datasets, EU bucket', checks);
    // Every dataset's line says why its commits fail: no dry run says it again per table.
    expect(checks.filter((c) => c.subject.startsWith('first commit'))).to.deep.equal([]);
    expect(exitCodeOf(checks)).to.equal(1);
    const raw = checks.find((c) => c.subject === 'dataset nba_raw');
    expect(raw?.status).to.equal('fail');
    expect(raw?.blocksCommits).to.equal(true);
    expect(raw?.detail).to.include('is in US').and.include(`bucket gs://${BUCKET} is in EU`).and.include('notFound');
    expect(raw?.fix).to.include('use a bucket in US');
  });

  it('a dataset in another location than PHASEGATE_BQ_LOCATION: ✗ naming both', async () => {
    project({ bucket: 'EU', dataset: 'EU', firstCommit: false });
    const checks = await runDoctor({ config, registry, warehouse: testWarehouse(creds), store: testStore(creds) });
    const raw = checks.find((c) => c.subject === 'dataset nba_raw');
    expect(raw?.detail).to.include('is in EU, but PHASEGATE_BQ_LOCATION is US');
  });

  it('a table missing one column: ✗ with the fix; migrate adds it NULLABLE with tables.patch; then ✓', async () => {
    project({ bucket: 'US', dataset: 'US', missing: [QUALITY_ISSUES_COLUMN] });
    const before = await runDoctor({ config, registry, warehouse: testWarehouse(creds), store: testStore(creds) });
    print('missing column', before);
    const line = before.find((c) => c.subject === `table ${PLAYER}` && c.status === 'fail');
    expect(line?.detail).to.equal(`missing column ${QUALITY_ISSUES_COLUMN} (JSON): every commit writing it fails`);
    expect(line?.fix).to.equal('phasegate migrate (adds it as NULLABLE)');
    expect(line?.blocksCommits).to.equal(true);

    // migrate: tables.get (the diff), tables.get (fresh schema), tables.patch, then the re-check.
    const patches = new Bodies();
    const bq = nock(API);
    for (const spec of specs) {
      const path = `${BASE}/datasets/${spec.dataset}/tables/${spec.table}`;
      if (spec === playerSpec) {
        bq.get(path)
          .query(true)
          .times(2)
          .reply(200, tableAnswer(spec, [QUALITY_ISSUES_COLUMN]));
        bq.patch(path, patches.match)
          .query(true)
          .reply(200, () => ({ ...tableAnswer(spec), schema: patches.last.schema }));
        bq.get(path).query(true).reply(200, tableAnswer(spec));
      } else bq.get(path).query(true).times(2).reply(200, tableAnswer(spec));
    }
    const migrated = await migrate(testWarehouse(creds), registry);
    print('migrate', migrated);
    expect(exitCodeOf(migrated)).to.equal(0);
    expect(formatChecks(migrated)).to.equal(`✓ table ${PLAYER}: added ${QUALITY_ISSUES_COLUMN} (JSON, NULLABLE)`);
    const fields = patches.last.schema.fields as Body[];
    // Every existing field is sent back unchanged, the new one last and NULLABLE.
    expect(fields.slice(0, -1)).to.deep.equal(tableAnswer(playerSpec, [QUALITY_ISSUES_COLUMN]).schema.fields);
    expect(fields.at(-1)).to.deep.include({ name: QUALITY_ISSUES_COLUMN, type: 'JSON', mode: 'NULLABLE' });

    project({ bucket: 'US', dataset: 'US' });
    const after = await runDoctor({ config, registry, warehouse: testWarehouse(creds), store: testStore(creds) });
    expect(after.find((c) => c.subject === `table ${PLAYER}`)?.status).to.equal('ok');
    expect(exitCodeOf(after)).to.equal(0);
  });

  it('tables not created yet are fine; other partitioning and clustering are each a line', async () => {
    project({ bucket: 'US', dataset: 'US', tables: 'absent' });
    const fresh = await runDoctor({ config, registry, warehouse: testWarehouse(creds), store: testStore(creds) });
    expect(fresh.find((c) => c.subject === `table ${PLAYER}`)?.detail).to.equal('not there yet: the first commit creates it');
    expect(exitCodeOf(fresh)).to.equal(0);

    const odd = {
      ...tableAnswer(playerSpec),
      timePartitioning: { type: 'MONTH', field: 'game_date' },
      clustering: { fields: ['player_id'] },
      requirePartitionFilter: true,
    };
    nock(API).get(`${BASE}/datasets/nba_raw/tables/nbac_player_boxscores`).query(true).reply(200, odd);
    const lines = await (await import('../src/doctor/table-checks.ts')).tableChecks(testWarehouse(creds), [playerSpec]);
    print('odd table', lines);
    // requirePartitionFilter is no difference: phasegate's statements carry the filter.
    expect(lines.map((c) => [c.status, c.detail.split(':')[0]])).to.deep.equal([
      ['fail', 'partitioned MONTH(game_date), the registry expects DAY(game_date)'],
      ['warn', `clustered by player_id, the registry expects ${playerSpec.primaryKey.slice(0, 4).join(', ')}`],
    ]);
  });

  it('no usable credentials: one ✗ line, and nothing else is asked of the APIs', async () => {
    const warehouse = testWarehouse(creds);
    nock.cleanAll();
    nock('https://oauth2.googleapis.com').post('/token').reply(400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
    const checks = await runDoctor({ config, registry, warehouse, store: testStore(creds) });
    print('bad credentials', checks);
    expect(checks).to.have.length(1);
    expect(checks[0]).to.deep.include({ subject: 'credentials', status: 'fail', blocksCommits: true });
    expect(checks[0]?.fix).to.include('gcloud auth application-default login');
  });

  it('on Compute Engine with the default scopes: a warning that storage is read-only (metadata server via nock)', async () => {
    project({ bucket: 'US', dataset: 'US' });
    const scopes = [
      'https://www.googleapis.com/auth/devstorage.read_only',
      'https://www.googleapis.com/auth/logging.write',
      'https://www.googleapis.com/auth/monitoring.write',
      'https://www.googleapis.com/auth/servicecontrol',
      'https://www.googleapis.com/auth/service.management.readonly',
      'https://www.googleapis.com/auth/trace.append',
    ];
    nock('http://metadata.google.internal')
      .get('/computeMetadata/v1/instance/service-accounts/default/scopes')
      .matchHeader('Metadata-Flavor', 'Google')
      .reply(200, `${scopes.join('\n')}\n`);
    const checks = await runDoctor({
      config: { ...config, gce: { enabled: true, metadataHost: 'metadata.google.internal' } },
      registry,
      warehouse: testWarehouse(creds),
      store: testStore(creds),
    });
    print('GCE default scopes', checks);
    const gce = checks.find((c) => c.subject === 'compute engine scopes');
    expect(gce?.status).to.equal('warn');
    expect(gce?.detail).to.include('bigquery and storage read-write scopes').and.include('read-only storage');
    expect(gce?.fix).to.include('--scopes=cloud-platform');
    // A warning is not a failure.
    expect(exitCodeOf(checks)).to.equal(0);
  });
});

describe('phasegate doctor and migrate: the embedded DuckDB file', () => {
  let dir: string;
  let store: LocalObjectStore;
  const withoutQuality = { ...playerSpec, columns: playerSpec.columns.filter((c) => c.name !== QUALITY_ISSUES_COLUMN) };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'phasegate-doctor-'));
    store = new LocalObjectStore(path.join(dir, 'store'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** A DuckDB file from before `quality_issues`: the player table without it. */
  async function olderFile(): Promise<string> {
    const file = path.join(dir, 'warehouse.duckdb');
    const wh = await DuckDBWarehouse.open({ path: file, store });
    await wh.ensureTable(withoutQuality);
    await wh.close();
    return file;
  }

  async function doctorOn(file: string): Promise<Check[]> {
    const config = loadConfig({ PHASEGATE_DATA_DIR: dir, PHASEGATE_DUCKDB_PATH: file, PHASEGATE_LOG_LEVEL: 'error' });
    const opened = await openForDoctor(config, store);
    try {
      return [...opened.checks, ...(await runDoctor({ config, registry, warehouse: opened.warehouse, store }))];
    } finally {
      await opened.warehouse?.close();
    }
  }

  it('no file yet: ✓, and the doctor creates nothing', async () => {
    const file = path.join(dir, 'none.duckdb');
    const checks = await doctorOn(file);
    const disk = checks.filter((c) => c.subject.startsWith('disk ('));
    expect(formatChecks(checks.filter((c) => !disk.includes(c)))).to.equal(
      `✓ warehouse duckdb: no database at ${file} yet: the first commit creates it with every table`,
    );
    // Where it will write, each with this machine's free space (its verdict is this machine's too).
    expect(disk.map((c) => c.subject)).to.deep.equal(['disk (warehouse file)', 'disk (object store)']);
    expect(disk[0]?.detail).to.include(`GB free of`).and.to.include(`at ${dir}`);
    expect(disk[1]?.detail).to.include(`at ${store.root}`);
  });

  it('an older file missing quality_issues: ✗ missing column (not a worker stopper: ensureTable adds it); migrate → ✓', async () => {
    const file = await olderFile();
    const before = await doctorOn(file);
    print('duckdb, older file', before);
    const line = before.find((c) => c.subject === `table ${PLAYER}`);
    expect(line).to.deep.include({ status: 'fail', blocksCommits: false });
    expect(line?.detail).to.include(`missing column ${QUALITY_ISSUES_COLUMN} (JSON)`);

    const wh = await DuckDBWarehouse.open({ path: file, store });
    let migrated: Check[];
    try {
      migrated = await migrate(wh, registry);
    } finally {
      await wh.close();
    }
    print('duckdb migrate', migrated);
    expect(migrated.find((c) => c.subject === `table ${PLAYER}`)?.detail).to.equal(`added ${QUALITY_ISSUES_COLUMN} (JSON, NULLABLE)`);
    const after = await doctorOn(file);
    print('duckdb after migrate', after);
    expect(after.find((c) => c.subject === `table ${PLAYER}`)?.status).to.equal('ok');
  });

  it('ensureTable adds a missing nullable column to an existing table itself, keeping its rows', async () => {
    const file = await olderFile();
    const wh = await DuckDBWarehouse.open({ path: file, store });
    try {
      await wh.ensureTable(playerSpec);
      const described = await wh.describeTable(playerSpec);
      expect(described?.columns.find((c) => c.name === QUALITY_ISSUES_COLUMN)).to.deep.equal({ name: QUALITY_ISSUES_COLUMN, type: 'JSON', nullable: true });
      expect(described?.columns.map((c) => c.name)).to.have.members(playerSpec.columns.map((c) => c.name));
    } finally {
      await wh.close();
    }
  });

  it('a worker refuses to start its table gates on a table every commit would fail (an incompatible column type)', async () => {
    const env = await openTestRuntime();
    try {
      // The player table as some other tool left it: game_id a number.
      const wh = await DuckDBWarehouse.open({ path: env.config.duckdbPath, store });
      await wh.ensureTable({ ...playerSpec, columns: playerSpec.columns.map((c) => (c.name === 'game_id' ? { ...c, type: 'INT64' as const } : c)) });
      await wh.close();
      const err = await env.rt.startWorkers({ phases: [], commit: true, concurrency: 1 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      // By name: mocha's loader and the runtime's may each hold their own copy of the class.
      expect((err as Error).name).to.equal(ConfigError.name);
      expect((err as Error).message)
        .to.include('refusing to start the table gates')
        .and.include(`✗ table ${PLAYER}: column game_id is INT64, the registry says STRING`);
      expect(env.rt.workers).to.have.length(0);
    } finally {
      await env.cleanup();
    }
  });
});
