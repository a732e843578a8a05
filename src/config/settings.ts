/**
 * Every setting, declared once: where it sits in `Config`, its variable, its default, how its
 * text is parsed, one line for the README and the README section it is listed under. The zod
 * schema, the `Config` type, the variable list and the README's table (`npm run docs:config`)
 * are derived from this tree; nothing else spells a setting.
 *
 * Durations are BigQuery/real-world seconds; the rules layer and the queue timings divide them
 * by `PHASEGATE_TIME_SCALE` unless a line says real.
 */
import path from 'node:path';
import { z } from 'zod';
import { BIGQUERY_LIMITS as BQ, MAX_COMMIT_JOBS_PER_WINDOW } from '../limits/bigquery.ts';
import { parseAllowedHosts, parseTrustProxy } from './dashboard-settings.ts';
import { group, setting } from './define-setting.ts';
import {
  atLeast0,
  bool,
  clusterNodes,
  duckdbSize,
  gameIds,
  int,
  positive,
  prefixText,
  resolvedPath,
  share,
  TOO_MANY_SLICES,
  tableLimitsJson,
} from './parsers.ts';

export const SETTINGS = {
  ...group('Redis and local state', {
    redisUrl: setting('REDIS_URL', z.string().url(), { default: 'redis://127.0.0.1:6379', location: true, doc: 'Redis for queues, statuses and events' }),
    /** The Redis key prefix of queues and phasegate's keys; lets several pipelines or test runs share one Redis. */
    /**
     * Seed nodes of a Redis Cluster; set, phasegate connects as a cluster client (ioredis
     * `Cluster` finds the other nodes) and REDIS_URL lends only its user, password and TLS.
     */
    redisCluster: setting('PHASEGATE_REDIS_CLUSTER', clusterNodes, {
      location: true,
      doc: 'Redis Cluster seed nodes `host:port,host:port` (credentials and `rediss:` TLS from REDIS_URL); the prefix must then be a hash tag',
    }),
    prefix: setting('PHASEGATE_PREFIX', prefixText, {
      default: 'phasegate',
      location: true,
      doc: 'BullMQ key prefix (several pipelines can share a Redis); on a Redis Cluster a hash tag such as `{phasegate}`',
    }),
    /** Resolved: where the embedded warehouse and the local store live. */
    dataDir: setting('PHASEGATE_DATA_DIR', resolvedPath, { default: '.phasegate', location: true, doc: 'local state folder' }),
    /**
     * Real seconds. A stopping process waits for its active jobs, but a job cannot finish while
     * Redis does not answer: past this, the process lets go of them and exits (src/runtime.ts).
     */
    shutdownRedisWaitSeconds: setting('PHASEGATE_SHUTDOWN_REDIS_WAIT_SECONDS', z.coerce.number().min(0).max(3600), {
      default: 10,
      doc: 'how long a stopping process waits for a Redis that does not answer before it lets go of its active jobs (BullMQ gives them to the next worker once their locks expire)',
    }),
  }),
  ...group('Warehouse and object store', {
    warehouse: setting('PHASEGATE_WAREHOUSE', z.enum(['duckdb', 'bigquery']), { default: 'duckdb', location: true, doc: '`duckdb` (embedded) or `bigquery`' }),
    duckdbPath: setting('PHASEGATE_DUCKDB_PATH', resolvedPath, {
      default: { shown: '`<data>/warehouse.duckdb`', text: (t) => path.join(t.PHASEGATE_DATA_DIR ?? '', 'warehouse.duckdb') },
      location: true,
      doc: 'DuckDB file',
    }),
    /**
     * DuckDB's buffer manager takes 80 % of the machine's RAM unless told (18.8 GiB on a 23 GiB
     * machine); past its limit it evicts cached blocks and spills to a temporary folder beside
     * the file. Its buffers share the commit-gate process with Node's heap. In a 1,700-date
     * cascade they are mostly rows appended and not yet checkpointed (DuckDB's IN_MEMORY_TABLE,
     * a 256 KB block per column of each table's open row group): 101–215 MB under 256 MB.
     * 128 MB since 2026-12-05: it stays at its limit there, spilling the rest, and the cascade
     * took no longer (183.6 s against 133–241 s for 256 MB, the spread of single runs on this
     * machine; bench:scale --cascade --sizes 1700, × 5). 96 MB also ran
     * (two runs, 0 failed, no failed checkpoint). Not lower: under 64 MB a checkpoint could not
     * pin a block ("Failed to create checkpoint because of error: failed to pin block of size
     * 256.0 KiB (60.8 MiB/61.0 MiB used)"), DuckDB's fatal error, in two cascades of ten. The
     * run survives that — the file is reopened and the commit tried again
     * (src/warehouse/duckdb/database.ts) — but a limit that makes checkpoints fail is no default.
     */
    duckdbMemoryLimit: setting('PHASEGATE_DUCKDB_MEMORY_LIMIT', duckdbSize, {
      default: '128MB',
      doc: "DuckDB's `memory_limit` in the process holding the file (beyond it DuckDB evicts and spills to disk), e.g. `256MB`, `1GiB`",
    }),
    /**
     * DuckDB writes the rows its log holds into the file once the log passes this size. Until
     * then a table's appended rows stay in memory (a 256 KB block per column of its open row
     * group). A checkpoint that cannot write the file (a full disk) is DuckDB's fatal error: the
     * warehouse reopens the file and the commit is tried again (src/warehouse/duckdb/database.ts).
     */
    duckdbCheckpointThreshold: setting('PHASEGATE_DUCKDB_CHECKPOINT_THRESHOLD', duckdbSize, {
      doc: "DuckDB's `checkpoint_threshold`: the log size at which it writes its tables into the file (unset: DuckDB's own, 16MB)",
    }),
    duckdbThreads: setting('PHASEGATE_DUCKDB_THREADS', int(1, 1024), { doc: "DuckDB's `threads` (unset: DuckDB's own, one per core)" }),
    bigqueryRules: setting('PHASEGATE_BQ_RULES', bool, { default: true, doc: "enforce BigQuery's per-table limits (and latency) on DuckDB" }),
    /** How many times faster than real time BigQuery's clock runs: 60 turns the 30-min streaming buffer into 30 s (tests, benchmarks). */
    timeScale: setting('PHASEGATE_TIME_SCALE', z.coerce.number().positive().max(100_000), {
      default: 1,
      shared: true,
      doc: 'run BigQuery-clock windows, latencies and queue timings N× faster',
    }),
    store: setting('PHASEGATE_STORE', z.enum(['local', 'gcs']), {
      default: 'local',
      location: true,
      doc: '`local` folder or `gcs`: where raw files and staged rows go',
    }),
    storeDir: setting('PHASEGATE_STORE_DIR', resolvedPath, {
      default: { shown: '`<data>/store`', text: (t) => path.join(t.PHASEGATE_DATA_DIR ?? '', 'store') },
      location: true,
      doc: 'local object store',
    }),
    gcsBucket: setting('PHASEGATE_GCS_BUCKET', z.string().regex(/^[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]$/, 'not a valid bucket name'), {
      location: true,
      doc: 'bucket for raw files and staged rows (required with `gcs`)',
    }),
    bigquery: {
      projectId: setting('PHASEGATE_BQ_PROJECT', z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'not a valid project id'), {
        location: true,
        doc: 'BigQuery project (required with `bigquery`)',
      }),
      location: setting('PHASEGATE_BQ_LOCATION', z.string().min(2), { default: 'US', location: true, doc: 'BigQuery location' }),
      datasetPrefix: setting('PHASEGATE_DATASET_PREFIX', z.string().regex(/^[A-Za-z0-9_]*$/, 'letters, digits and _ only'), {
        default: '',
        location: true,
        doc: 'prefix added to every dataset name, e.g. `dev_` → `dev_nba_raw`',
      }),
    },
  }),
  ...group('Table gates', {
    /** Every table's caps; `tableLimits` applies the per-table overrides. */
    table: {
      concurrency: setting('PHASEGATE_TABLE_CONCURRENCY', int(1, BQ.runningMutatingDmlPerTable), {
        default: 1,
        shared: true,
        doc: `commits running at once per table (at most ${BQ.runningMutatingDmlPerTable}: BigQuery runs ${BQ.runningMutatingDmlPerTable} mutating DML per table)`,
      }),
      /**
       * Every commit is a DML statement, which counts toward BigQuery's table metadata updates
       * and its DML statements per table per window, so the cap is the lower of the two
       * (`MAX_COMMIT_JOBS_PER_WINDOW`, limits/bigquery.ts).
       */
      opsMax: setting('PHASEGATE_TABLE_OPS_MAX', int(1, MAX_COMMIT_JOBS_PER_WINDOW), {
        default: 4,
        shared: true,
        doc: `statements a table's gate starts in any window, sliding as BigQuery counts (BigQuery: ${BQ.tableMetadataUpdatesPerWindow.operations} per ${BQ.tableMetadataUpdatesPerWindow.windowSeconds} s); also the rate limit of its commit jobs`,
      }),
      opsWindowSeconds: setting(
        'PHASEGATE_TABLE_OPS_WINDOW_SECONDS',
        z.coerce.number().min(BQ.tableMetadataUpdatesPerWindow.windowSeconds, `at least BigQuery's ${BQ.tableMetadataUpdatesPerWindow.windowSeconds} s window`),
        { default: BQ.tableMetadataUpdatesPerWindow.windowSeconds, shared: true, doc: "the gate's rate window; never shorter than BigQuery's own" },
      ),
      /**
       * phasegate's commits are DML and spend none of BigQuery's daily table modifications (load,
       * copy and query-append jobs): only a path that loads (the benchmark's per-job mode) counts.
       */
      dailyBudget: setting('PHASEGATE_TABLE_DAILY_BUDGET', int(1, BQ.tableModificationsPerDay), {
        default: BQ.tableModificationsPerDay,
        shared: true,
        doc: 'table modifications (load jobs) per table per day',
      }),
      commitMaxSlices: setting('PHASEGATE_COMMIT_MAX_SLICES', int(1).max(BQ.partitionsModifiedPerJob, TOO_MANY_SLICES), {
        default: 64,
        shared: true,
        doc: "most slices one group commit lands (one partition each, within BigQuery's partitions per job)",
      }),
      commitMaxRows: setting('PHASEGATE_COMMIT_MAX_ROWS', int(1), { default: 200_000, shared: true, doc: 'most rows one group commit lands' }),
      /** A short gather window turns a burst of phase jobs into one statement. */
      gatherSeconds: setting('PHASEGATE_COMMIT_GATHER_SECONDS', atLeast0, {
        default: 2,
        shared: true,
        doc: "how long a commit waits to gather more slices, times the share of the table's caps in use (an idle table commits at once); a raw table with more of its phase's jobs coming waits it whole",
      }),
      /**
       * Phases 3–5 are fed in waves (each upstream commit unlocks its dates at once) and run
       * slower than a MERGE lands: with headroom their tables would commit each few slices.
       */
      backlogGatherSeconds: setting('PHASEGATE_COMMIT_BACKLOG_GATHER_SECONDS', atLeast0, {
        default: 60,
        shared: true,
        doc: 'a phase 3–5 table with jobs of its phase waiting or running gathers up to this long; a full batch, or its phase running dry, starts the commit at once',
      }),
      /**
       * A wave's last partial batch, when the phase runs dry between waves (a cascade's rolling
       * features come a season at a time): while an upstream phase is still at work, the next
       * wave is coming.
       */
      upstreamGatherSeconds: setting('PHASEGATE_COMMIT_UPSTREAM_GATHER_SECONDS', atLeast0, {
        default: 60,
        shared: true,
        doc: "a phase 3–5 table with work still under way upstream (an earlier phase's jobs, their tables' commits, commit events the tracker has not handled) gathers up to this long, so a wave's last partial batch joins the next wave; a full batch, or its phase and everything upstream running dry, starts the commit at once",
      }),
    },
    /**
     * Staging a slice as an object costs three object-store calls (put, read by the commit,
     * delete); Redis holds an inline slice only until its commit lands.
     */
    staging: {
      inlineMaxBytes: setting('PHASEGATE_STAGING_INLINE_MAX_BYTES', int(0, 1024 * 1024), {
        default: 16_384,
        doc: "a staged slice up to this many bytes of NDJSON stays inline in its pending entry in Redis (no object of its own); a commit writes its batch's inline rows as one object; `0` = every slice an object",
      }),
    },
    /** Per-table overrides of `table`; read them through `tableLimits`. */
    tableOverrides: setting('PHASEGATE_TABLE_LIMITS', tableLimitsJson, {
      default: '{}',
      shared: true,
      doc: 'per-table overrides, JSON keyed by `dataset.table`, e.g. `{"nba_raw.nbac_player_boxscores":{"concurrency":2,"commitMaxSlices":128}}`',
    }),
  }),
  ...group('Phase jobs', {
    /** The rest of BullMQ's settings: src/queues/defaults.ts. */
    jobs: {
      attempts: setting('PHASEGATE_JOB_ATTEMPTS', int(1, 100), { default: 5, doc: 'attempts of a phase job before it fails' }),
      backoffSeconds: setting('PHASEGATE_JOB_BACKOFF_SECONDS', positive, { default: 5, doc: 'first retry delay of a phase job (exponential)' }),
      /**
       * Real seconds, not scaled: it measures a dead process, not BigQuery. A worker killed
       * mid-job leaves its job active until its lock expires; the next stalled check hands it back.
       */
      stalledSeconds: setting('PHASEGATE_STALLED_SECONDS', z.coerce.number().min(1).max(3600), {
        default: 30,
        doc: "lock duration / stalled check: a killed worker's job is handed back after this (real seconds)",
      }),
    },
  }),
  ...group('Group reads (phases 3–5)', {
    /**
     * Phase 3–5 jobs running at once in one process read their inputs together: reads of one
     * table within the window are one query over the union of their slices (src/warehouse/read-batch.ts).
     * Real milliseconds: the window waits for jobs being picked up, not for BigQuery.
     */
    reads: {
      /**
       * A query job on BigQuery takes a second or more, so a quarter second spent gathering
       * costs little; measured at 853 dates (bench:scale --cascade), 50 ms gathered a third as
       * many slices per read as 250 ms did, the jobs of a group commit starting over a few hundred ms.
       */
      gatherMs: setting('PHASEGATE_READ_GATHER_MS', int(0, 10_000), {
        default: 250,
        doc: "how long a gathered read of a table waits for one more phase 3–5 job's read of it (each read that joins restarts the wait, up to 20 times this); one query serves them all (real ms; 0: each job reads alone)",
      }),
      /** Phase 3 runs three processors on the same inputs: 3 × a group commit's 64 slices fit in one batch. */
      batchJobs: setting('PHASEGATE_READ_BATCH_JOBS', int(1, 4096), {
        default: 256,
        doc: 'most phase 3–5 jobs one gathered read serves; a process running phases 3–5 runs at least this many jobs of each at once (they wait on reads, not on the CPU), in BullMQ workers of at most 64 that take a burst of jobs in parallel',
      }),
    },
  }),
  ...group('Streaming-buffer conflicts', {
    conflict: {
      retryBaseSeconds: setting('PHASEGATE_CONFLICT_RETRY_BASE_SECONDS', positive, {
        default: 300,
        doc: 'first wait before a slice that met the streaming buffer is tried again; each later try waits twice as long',
      }),
      retryCapSeconds: setting('PHASEGATE_CONFLICT_RETRY_CAP_SECONDS', positive, {
        default: 1200,
        doc: 'longest wait between two tries (5, 10, 20, 20, … min)',
      }),
      jitter: setting('PHASEGATE_CONFLICT_RETRY_JITTER', share, { default: 0.2, doc: 'relative jitter of a conflict retry: 0.2 turns 10 min into 8–12 min' }),
      /** BigQuery keeps streamed rows ~30 min, rarely 90. */
      maxWaitSeconds: setting('PHASEGATE_CONFLICT_MAX_WAIT_SECONDS', positive, {
        default: 7200,
        doc: 'after this a waiting slice becomes `deferred` (kept, announced once, `phasegate retry --deferred`)',
      }),
      /** A streamed row's `processed_at` may precede its arrival in the buffer by this much. */
      processedAtSlackSeconds: setting('PHASEGATE_CONFLICT_PROCESSED_AT_SLACK_SECONDS', atLeast0, {
        default: 300,
        doc: "slack when matching `processed_at` against the buffer's `oldestEntryTime`",
      }),
      /**
       * When the buffer's oldest entry (`tables.get` streamingBuffer.oldestEntryTime) is due to
       * flush before a held slice's backoff would try it again, the slice is tried right after
       * that flush instead.
       */
      bufferSeconds: setting('PHASEGATE_CONFLICT_BUFFER_SECONDS', positive, {
        default: 1800,
        doc: 'how long BigQuery usually keeps streamed rows buffered (~30 min, rarely 90)',
      }),
      flushPollSeconds: setting('PHASEGATE_CONFLICT_FLUSH_POLL_SECONDS', positive, {
        default: 60,
        doc: "the shortest wait of a try timed by the buffer's expected flush",
      }),
    },
  }),
  ...group('Circuit breaker', {
    breaker: {
      commits: setting('PHASEGATE_BREAKER_COMMITS', int(3, 1000), { default: 6, doc: 'commits per table the breaker judges (the last N within the window)' }),
      windowSeconds: setting('PHASEGATE_BREAKER_WINDOW_SECONDS', positive, { default: 1800, doc: 'only commits this recent count for the breaker' }),
      cooldownSeconds: setting('PHASEGATE_BREAKER_COOLDOWN_SECONDS', positive, {
        default: 1800,
        doc: "how long a tripped breaker holds back retries of a table's held slices (clean slices keep landing)",
      }),
      probeTimeoutSeconds: setting('PHASEGATE_BREAKER_PROBE_TIMEOUT_SECONDS', positive, {
        default: 600,
        doc: 'a half-open probe commit that has not reported back after this long is presumed dead',
      }),
      /** Fresh slices are those not held before; a split that landed the rest is not a conflicting commit. */
      conflictShare: setting('PHASEGATE_BREAKER_CONFLICT_SHARE', share, {
        default: 0.5,
        doc: 'a commit is conflicting when the streaming buffer held back more than this share of its fresh slices',
      }),
      tripShare: setting('PHASEGATE_BREAKER_TRIP_SHARE', share, {
        default: 0.5,
        doc: 'the breaker trips when more than this share of the judged commits conflicted (open, it pauses only retries of held slices)',
      }),
      /** Seed 002: fewer than 3 never trip. */
      minCommits: setting('PHASEGATE_BREAKER_MIN_COMMITS', int(1, 1000), { default: 3, doc: 'the breaker judges no fewer than this many recent commits' }),
    },
  }),
  ...group('Busy tables', {
    busy: {
      retryBaseSeconds: setting('PHASEGATE_BUSY_RETRY_BASE_SECONDS', positive, {
        default: 10,
        doc: 'first wait of a commit whose table is busy (DML queue, rate limit; doubling, not counted as an attempt)',
      }),
      retryCapSeconds: setting('PHASEGATE_BUSY_RETRY_CAP_SECONDS', positive, { default: 300, doc: 'longest wait of a busy commit' }),
      restoreAfter: setting('PHASEGATE_THROTTLE_RESTORE_AFTER', int(1, 10_000), {
        default: 5,
        doc: 'after "Too many DML statements outstanding" a table commits one at a time until this many commits in a row succeeded…',
      }),
      minThrottleSeconds: setting('PHASEGATE_THROTTLE_MIN_SECONDS', atLeast0, { default: 300, doc: '…and at least this long passed' }),
    },
  }),
  ...group('Notifications', {
    notify: {
      webhookUrl: setting('PHASEGATE_WEBHOOK_URL', z.string().url(), {
        secret: true,
        location: true,
        doc: 'Slack-compatible webhook (breaker tripped, slices deferred, run failures; unset: log only); upstream text is escaped for mrkdwn (`&`, `<`, `>`: no `<!channel>`, no disguised links)',
      }),
      windowSeconds: setting('PHASEGATE_NOTIFY_WINDOW_SECONDS', positive, {
        default: 3600,
        doc: 'one message per table per kind per window; the rest fold into a digest',
      }),
    },
    pubsub: {
      topic: setting(
        'PHASEGATE_PUBSUB_TOPIC',
        z.string().regex(/^(projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/topics\/)?[A-Za-z][A-Za-z0-9._~%+-]{2,254}$/, 'a topic name or projects/P/topics/T'),
        {
          location: true,
          doc: "Google Pub/Sub topic that receives every `committed` event and every run's end (`projects/P/topics/T`, or a name in `PHASEGATE_BQ_PROJECT`); unset: no relay",
        },
      ),
    },
  }),
  ...group('Completion events and the dependency tracker', {
    /** The `committed` stream's trim. */
    events: {
      /** `XADD MAXLEN ~`: a tracker that falls further behind than this loses events, so keep it far above a day's commits. */
      maxLen: setting('PHASEGATE_EVENTS_MAX_LEN', int(1000), { default: 1_000_000, doc: 'cap of the `committed` event stream, by length (approximate)' }),
      maxAgeSeconds: setting(
        'PHASEGATE_EVENTS_MAX_AGE_HOURS',
        positive.transform((hours) => hours * 3600),
        { default: 168, doc: 'completion events older than this many hours are trimmed' },
      ),
    },
    tracker: {
      debounceSeconds: setting('PHASEGATE_TRACKER_DEBOUNCE_SECONDS', atLeast0, {
        default: 1,
        doc: "a live downstream job waits this long, so a burst of commits for one date becomes one run (a backfill's jobs start at once: they wait for every input to land)",
      }),
      claimIdleSeconds: setting('PHASEGATE_TRACKER_CLAIM_IDLE_SECONDS', positive, {
        default: 60,
        doc: 'an event unacknowledged this long is claimed by another tracker (the first is presumed dead)',
      }),
      /** Long enough that a busy backfill does not hit it; the processor runs again when that date lands. */
      windowWaitSeconds: setting('PHASEGATE_TRACKER_WINDOW_WAIT_SECONDS', positive, {
        default: 3600,
        doc: 'a look-back processor waits this long for earlier dates still in progress, then runs anyway',
      }),
    },
  }),
  ...group('Dashboard', {
    dashboard: {
      port: setting('PHASEGATE_DASHBOARD_PORT', int(0, 65_535), { default: 3000, location: true, doc: 'dashboard port' }),
      host: setting('PHASEGATE_DASHBOARD_HOST', z.string().min(1), {
        default: '127.0.0.1',
        location: true,
        doc: 'bind address (non-loopback needs credentials)',
      }),
      token: setting('PHASEGATE_DASHBOARD_TOKEN', z.string().min(16, 'at least 16 characters'), {
        shown: 'random token printed at start',
        secret: true,
        location: true,
        doc: 'bearer token; the printed sign-in link carries it in its `#fragment`; sessions live in Redis and sign-out revokes them; 10 failed sign-ins a minute per client, then 429',
      }),
      user: setting('PHASEGATE_DASHBOARD_USER', z.string().regex(/^[^:\s]{1,64}$/, '1–64 characters, no colon or space'), {
        location: true,
        doc: 'basic-auth user, instead of a token; goes with `PHASEGATE_DASHBOARD_PASSWORD`',
      }),
      password: setting('PHASEGATE_DASHBOARD_PASSWORD', z.string().min(12, 'at least 12 characters'), {
        secret: true,
        location: true,
        doc: 'basic-auth password (at least 12 characters)',
      }),
      readOnly: setting('PHASEGATE_DASHBOARD_READ_ONLY', bool, { default: false, doc: "Bull Board and the dashboard's own actions refuse to change anything" }),
      /** Decides the cookie's `Secure`, the Host checked and the client a failed sign-in is counted against. */
      trustProxy: setting(
        'PHASEGATE_DASHBOARD_TRUST_PROXY',
        z.string().transform((v) => parseTrustProxy(v)),
        {
          default: false,
          location: true,
          doc: 'believe `X-Forwarded-*` (`true` = one hop, a hop count, or proxy addresses/subnets): `Secure` cookies behind an https proxy',
        },
      ),
      allowedHosts: setting(
        'PHASEGATE_DASHBOARD_ALLOWED_HOSTS',
        z.string().transform((v) => parseAllowedHosts(v)),
        {
          default: '',
          location: true,
          doc: 'host names the dashboard answers to besides loopback and its bind address (others get 421)',
        },
      ),
    },
  }),
  ...group('Read relay', {
    /** Reads of the DuckDB file answered over Redis by the process holding it (src/warehouse/read-relay). Real seconds: a person waits, not BigQuery. */
    readRelay: {
      timeoutSeconds: setting('PHASEGATE_READ_RELAY_TIMEOUT_SECONDS', z.coerce.number().positive().max(3600), {
        default: 30,
        doc: "how long a person's read of the DuckDB file may take — answered by the process holding it (`sql`, `conflicts`, `coverage`, the dashboard) or by `sql` opening the file itself — before it is stopped (real seconds)",
      }),
      maxRows: setting('PHASEGATE_READ_RELAY_MAX_ROWS', int(1, 1_000_000), {
        default: 10_000,
        doc: 'most rows one read of the DuckDB file answers (through the holder or `sql` itself)',
      }),
      /** Redis holds the reply until the reader takes it. */
      maxBytes: setting('PHASEGATE_READ_RELAY_MAX_BYTES', int(1024, 512 * 1024 * 1024), {
        default: 8 * 1024 * 1024,
        doc: "largest answer (JSON bytes) of a person's read of the DuckDB file (`sql` and the reports, through the holder or opening the file); the pipeline's reads through the holder have no size limit — they stream in parts, at most this much of a reply in Redis at once",
      }),
    },
  }),
  ...group('Sources', {
    source: setting('PHASEGATE_SOURCE', z.enum(['fixture', 'service']), {
      default: 'fixture',
      location: true,
      doc: '`fixture` (real data, embedded) or `service` (HTTP scraper service)',
    }),
    scraper: {
      url: setting('PHASEGATE_SCRAPER_URL', z.string().url(), {
        location: true,
        doc: 'scraper service (POST; required with `service`); http(s), no `user:password@` (fetch will not send it: exit 2) — a key goes in the query',
      }),
      timeoutSeconds: setting('PHASEGATE_SCRAPER_TIMEOUT_SECONDS', positive, { default: 180, doc: 'how long a scraper request may take (real seconds)' }),
    },
    bdl: {
      apiKey: setting('PHASEGATE_BDL_API_KEY', z.string().min(1), {
        secret: true,
        location: true,
        doc: 'balldontlie API key, for the fallback source outside the fixture (a 401 names this variable)',
      }),
      /** Free 5, ALL-STAR 60, GOAT 600. */
      requestsPerMinute: setting('PHASEGATE_BDL_REQUESTS_PER_MINUTE', int(1, 100_000), {
        default: 60,
        doc: "your balldontlie plan's request budget: the BullMQ rate limiter of its scraper queue (`scrape-balldontlie`)",
      }),
    },
    /** Seed 004: the demo sets the six 2024-25 Play-In games NBA.com has no box score for. */
    fixtureMissingGames: setting('PHASEGATE_FIXTURE_MISSING_GAMES', gameIds, {
      default: '',
      doc: "comma-separated game ids the fixture's NBA.com has no box score for (the demo: the six 2024-25 Play-In games)",
    }),
    fixtureBdlMissingGames: setting('PHASEGATE_FIXTURE_BDL_MISSING_GAMES', gameIds, {
      default: '',
      doc: "comma-separated game ids the fixture's balldontlie has nothing for either (a game no source has)",
    }),
  }),
  ...group('Process', {
    logLevel: setting('PHASEGATE_LOG_LEVEL', z.enum(['error', 'warn', 'info', 'debug']), { default: 'info', doc: '`error`, `warn`, `info`, `debug`' }),
    /**
     * Node sizes a heap from the machine's RAM and lets garbage grow toward it: a phase-2
     * worker at concurrency 12 holding ~40 MB peaked at 302 MB RSS on a 23 GiB machine, 152 MB
     * capped (bench:scale). `phasegate worker` starts its work in a child node with
     * `--max-old-space-size` (src/cli/worker-heap.ts) unless node was given one.
     */
    workerHeapMb: setting('PHASEGATE_WORKER_HEAP_MB', int(0, 1_048_576), {
      shown: 'auto',
      doc: "`phasegate worker`'s JS heap cap in MB (node `--max-old-space-size`); unset: 64 + 3 × `--concurrency`, plus 64 + `PHASEGATE_READ_BATCH_JOBS` ÷ 4 for a worker running phases 3–5 or the table gates; 0: Node's own; a `--max-old-space-size` given to node wins",
    }),
    workerDoctor: setting('PHASEGATE_WORKER_DOCTOR', bool, {
      default: true,
      doc: "a worker runs `phasegate doctor`'s checks quietly first and refuses to start on one that would make every commit fail",
    }),
    gce: {
      enabled: setting('PHASEGATE_ON_GCE', bool, {
        default: false,
        location: true,
        doc: "on Compute Engine: `doctor` asks the metadata server for the default service account's scopes (the default ones give read-only storage)",
      }),
      metadataHost: setting('GCE_METADATA_HOST', z.string().regex(/^[A-Za-z0-9.-]+(:\d+)?$/, 'a host name or host:port'), {
        default: 'metadata.google.internal',
        doc: "the metadata server's host, as google-auth-library reads it",
      }),
    },
  }),
};
