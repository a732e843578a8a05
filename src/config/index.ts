/**
 * One typed, validated configuration, resolved by a pure function of environment variables
 * and CLI flags (flags win). An invalid value stops the program with one line naming the
 * variable and what is wrong.
 */
import path from 'node:path';
import { z } from 'zod';
import { parseAllowedHosts, parseTrustProxy, type TrustProxy } from '../dashboard/settings.ts';
import { ConfigError } from '../errors/config-error.ts';
import { BIGQUERY_LIMITS as BQ, formatLimit, MAX_COMMIT_JOBS_PER_WINDOW } from '../warehouse/bigquery/limits.ts';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
// A group commit modifies one partition per slice; BigQuery fails a job that modifies more.
const TOO_MANY_SLICES = `at most ${formatLimit(BQ.partitionsModifiedPerJob)}: BigQuery lets one job modify at most that many partitions (one per slice)`;
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * Every setting, by environment variable. Defaults keep all local state under `./.phasegate`.
 * Durations are BigQuery/real-world seconds; the rules layer and the queue timings divide
 * them by `PHASEGATE_TIME_SCALE`.
 */
const schema = z.object({
  /** @defaultValue redis://127.0.0.1:6379 */
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /** BullMQ key prefix; lets several pipelines or test runs share one Redis. @defaultValue phasegate */
  PHASEGATE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only (1–64)')
    .default('phasegate'),
  /** @defaultValue ./.phasegate */
  PHASEGATE_DATA_DIR: z.string().min(1).default('.phasegate'),
  /** @defaultValue duckdb */
  PHASEGATE_WAREHOUSE: z.enum(['duckdb', 'bigquery']).default('duckdb'),
  /** @defaultValue <data dir>/warehouse.duckdb */
  PHASEGATE_DUCKDB_PATH: z.string().min(1).optional(),
  /** Enforce BigQuery's per-table limits on the DuckDB warehouse. @defaultValue true */
  PHASEGATE_BQ_RULES: bool.default(true),
  /**
   * How many times faster than real time the rules layer's windows and latencies and the
   * queue timings run: 60 turns BigQuery's 30-min streaming buffer into 30 s. @defaultValue 1
   */
  PHASEGATE_TIME_SCALE: z.coerce.number().positive().max(100_000).default(1),
  /** @defaultValue local */
  PHASEGATE_STORE: z.enum(['local', 'gcs']).default('local'),
  /** @defaultValue <data dir>/store */
  PHASEGATE_STORE_DIR: z.string().min(1).optional(),
  PHASEGATE_GCS_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]$/, 'not a valid bucket name')
    .optional(),
  PHASEGATE_BQ_PROJECT: z
    .string()
    .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'not a valid project id')
    .optional(),
  /** @defaultValue US */
  PHASEGATE_BQ_LOCATION: z.string().min(2).default('US'),
  /** Prefix added to every dataset name, e.g. `dev_` → `dev_nba_raw`. @defaultValue '' */
  PHASEGATE_DATASET_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_]*$/, 'letters, digits and _ only')
    .default(''),
  /** Commits running at once per table; at most BigQuery's running mutating DML per table (limits.ts). @defaultValue 1 */
  PHASEGATE_TABLE_CONCURRENCY: int(1, BQ.runningMutatingDmlPerTable).default(1),
  /**
   * Commit jobs a table's gate starts per window. Every commit is a DML statement, which counts
   * toward BigQuery's table metadata updates and its DML statements per table per window, so
   * the cap is the lower of the two (`MAX_COMMIT_JOBS_PER_WINDOW`, limits.ts). @defaultValue 4
   */
  PHASEGATE_TABLE_OPS_MAX: int(1, MAX_COMMIT_JOBS_PER_WINDOW).default(4),
  /** The gate's rate window, in seconds; never shorter than BigQuery's own window. @defaultValue 10 */
  PHASEGATE_TABLE_OPS_WINDOW_SECONDS: z.coerce
    .number()
    .min(BQ.tableMetadataUpdatesPerWindow.windowSeconds, `at least BigQuery's ${BQ.tableMetadataUpdatesPerWindow.windowSeconds} s window`)
    .default(BQ.tableMetadataUpdatesPerWindow.windowSeconds),
  /**
   * Table modifications (load, copy and query-append jobs) a table may spend per day; BigQuery
   * stops a table at its daily limit (limits.ts). phasegate's commits are DML and spend none:
   * only a path that loads (the benchmark's per-job mode) counts here.
   * @defaultValue BigQuery's `tableModificationsPerDay` (limits.ts)
   */
  PHASEGATE_TABLE_DAILY_BUDGET: int(1, BQ.tableModificationsPerDay).default(BQ.tableModificationsPerDay),
  /** Most slices one group commit lands: one partition each, within BigQuery's partitions per job. @defaultValue 64 */
  PHASEGATE_COMMIT_MAX_SLICES: int(1).max(BQ.partitionsModifiedPerJob, TOO_MANY_SLICES).default(64),
  /** Most rows one group commit lands. @defaultValue 200000 */
  PHASEGATE_COMMIT_MAX_ROWS: int(1).default(200_000),
  /**
   * Per-table overrides of the table limits, as JSON keyed by `dataset.table`, e.g.
   * `{"nba_raw.nbac_player_boxscores": {"concurrency": 2, "commitMaxSlices": 128}}`. @defaultValue {}
   */
  PHASEGATE_TABLE_LIMITS: z
    .string()
    .default('{}')
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(
      z.record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/, 'keys must be dataset.table'),
        z
          .object({
            concurrency: z.number().int().min(1).max(BQ.runningMutatingDmlPerTable),
            opsMax: z.number().int().min(1).max(MAX_COMMIT_JOBS_PER_WINDOW),
            opsWindowSeconds: z.number().min(BQ.tableMetadataUpdatesPerWindow.windowSeconds),
            dailyBudget: z.number().int().min(1).max(BQ.tableModificationsPerDay),
            commitMaxSlices: z.number().int().min(1).max(BQ.partitionsModifiedPerJob, TOO_MANY_SLICES),
            commitMaxRows: z.number().int().min(1),
            gatherSeconds: z.number().min(0),
          })
          .partial()
          .strict(),
      ),
    ),
  /**
   * How long a commit job waits for more slices before taking its batch, in seconds
   * (scaled): a short gather window turns a burst of phase jobs into one statement. @defaultValue 2
   */
  PHASEGATE_COMMIT_GATHER_SECONDS: z.coerce.number().min(0).default(2),
  /**
   * Staged slices up to this many bytes of NDJSON are kept inline in their pending entry in
   * Redis instead of as an object of their own (put, read by the commit, deleted: three
   * object-store calls per slice); the commit writes a batch's inline rows as one object. Larger
   * slices go to the object store. 0 stages every slice as an object. Redis holds an inline
   * slice only until its commit lands. @defaultValue 16384
   */
  PHASEGATE_STAGING_INLINE_MAX_BYTES: int(0, 1024 * 1024).default(16_384),
  /** Attempts of a phase job before it fails. @defaultValue 5 */
  PHASEGATE_JOB_ATTEMPTS: int(1, 100).default(5),
  /** First retry delay of a phase job, in seconds (exponential). @defaultValue 5 */
  PHASEGATE_JOB_BACKOFF_SECONDS: z.coerce.number().positive().default(5),
  /**
   * How long a job's lock lives and how often workers look for stalled jobs, in real seconds
   * (not scaled: it measures a dead process, not BigQuery). A worker killed mid-job leaves its
   * job active until its lock expires; the next stalled check hands it back. @defaultValue 30
   */
  PHASEGATE_STALLED_SECONDS: z.coerce.number().min(1).max(3600).default(30),
  /**
   * Completion-event stream cap by length (approximate, `XADD MAXLEN ~`). A dependency tracker
   * that falls further behind than this loses events, so keep it far above a day's commits.
   * @defaultValue 1000000
   */
  PHASEGATE_EVENTS_MAX_LEN: int(1000).default(1_000_000),
  /** Completion events older than this are trimmed (`XTRIM MINID`), in hours. @defaultValue 168 */
  PHASEGATE_EVENTS_MAX_AGE_HOURS: z.coerce.number().positive().default(168),
  /**
   * How long (scaled seconds) the dependency tracker delays a downstream job it enqueues, so a
   * burst of commits for one date becomes one downstream run. @defaultValue 1
   */
  PHASEGATE_TRACKER_DEBOUNCE_SECONDS: z.coerce.number().min(0).default(1),
  /**
   * How long (scaled seconds) a completion event may stay unacknowledged by a consumer before
   * another tracker claims it (the first one is presumed dead). @defaultValue 60
   */
  PHASEGATE_TRACKER_CLAIM_IDLE_SECONDS: z.coerce.number().positive().default(60),
  /**
   * A look-back processor (rolling features) waits for the earlier dates of its window that are
   * still in progress; after this long (scaled seconds) it runs anyway, so a date stuck
   * upstream never blocks the rest of the season (it runs again when that date lands). Long
   * enough that a busy backfill does not hit it. @defaultValue 3600
   */
  PHASEGATE_TRACKER_WINDOW_WAIT_SECONDS: z.coerce.number().positive().default(3600),
  /**
   * First wait (BigQuery seconds, scaled) before a slice that met the streaming buffer is
   * tried again; each later try waits twice as long, up to the cap. @defaultValue 300
   */
  PHASEGATE_CONFLICT_RETRY_BASE_SECONDS: z.coerce.number().positive().default(300),
  /** Longest wait between two tries of a conflicting slice (5, 10, 20, 20, … min). @defaultValue 1200 */
  PHASEGATE_CONFLICT_RETRY_CAP_SECONDS: z.coerce.number().positive().default(1200),
  /** Relative jitter of a conflict retry: 0.2 turns 10 min into 8–12 min. @defaultValue 0.2 */
  PHASEGATE_CONFLICT_RETRY_JITTER: z.coerce.number().min(0).max(1).default(0.2),
  /**
   * After waiting this long on the streaming buffer a slice becomes `deferred` (kept, shown,
   * retried by `phasegate retry --deferred`). BigQuery keeps streamed rows ~30 min, rarely 90.
   * @defaultValue 7200
   */
  PHASEGATE_CONFLICT_MAX_WAIT_SECONDS: z.coerce.number().positive().default(7200),
  /**
   * A streamed row's `processed_at` may precede its arrival in the buffer by this much; slices
   * with rows processed since `oldestEntryTime` minus this are held back. @defaultValue 300
   */
  PHASEGATE_CONFLICT_PROCESSED_AT_SLACK_SECONDS: z.coerce.number().min(0).default(300),
  /**
   * How long BigQuery usually keeps streamed rows in its buffer (~30 min, rarely 90). When the
   * buffer's oldest entry (`tables.get` streamingBuffer.oldestEntryTime) is due to flush before
   * a held slice's backoff would try it again, the slice is tried right after that flush
   * instead. @defaultValue 1800
   */
  PHASEGATE_CONFLICT_BUFFER_SECONDS: z.coerce.number().positive().default(1800),
  /** The shortest wait of a try timed by the buffer's flush, in seconds (scaled). @defaultValue 60 */
  PHASEGATE_CONFLICT_FLUSH_POLL_SECONDS: z.coerce.number().positive().default(60),
  /** Commits per table the circuit breaker judges (the last N within the window; ≥ 3). @defaultValue 6 */
  PHASEGATE_BREAKER_COMMITS: int(3, 1000).default(6),
  /** Only commits this recent count for the breaker, in seconds (scaled). @defaultValue 1800 */
  PHASEGATE_BREAKER_WINDOW_SECONDS: z.coerce.number().positive().default(1800),
  /** How long a tripped breaker holds back retries of a table's held slices (clean slices keep landing), in seconds (scaled). @defaultValue 1800 */
  PHASEGATE_BREAKER_COOLDOWN_SECONDS: z.coerce.number().positive().default(1800),
  /** A half-open probe commit that has not reported back after this long is presumed dead (scaled). @defaultValue 600 */
  PHASEGATE_BREAKER_PROBE_TIMEOUT_SECONDS: z.coerce.number().positive().default(600),
  /**
   * A commit counts as conflicting for the breaker when the streaming buffer held back (found
   * by the read before the MERGE or by a refused MERGE) more than this share of its fresh
   * slices — those not held before; a split that landed the rest is not a conflicting commit.
   * @defaultValue 0.5
   */
  PHASEGATE_BREAKER_CONFLICT_SHARE: z.coerce.number().min(0).max(1).default(0.5),
  /** The breaker trips when more than this share of the recent commits were conflicting. @defaultValue 0.5 */
  PHASEGATE_BREAKER_TRIP_SHARE: z.coerce.number().min(0).max(1).default(0.5),
  /** The breaker judges no fewer than this many recent commits (seed 002: fewer than 3 never trip). @defaultValue 3 */
  PHASEGATE_BREAKER_MIN_COMMITS: int(1, 1000).default(3),
  /** First wait of a commit whose table is busy (DML queue, rate limit), seconds (scaled, doubling). @defaultValue 10 */
  PHASEGATE_BUSY_RETRY_BASE_SECONDS: z.coerce.number().positive().default(10),
  /** Longest wait of a busy commit, in seconds (scaled). @defaultValue 300 */
  PHASEGATE_BUSY_RETRY_CAP_SECONDS: z.coerce.number().positive().default(300),
  /**
   * After "Too many DML statements outstanding" a table commits one at a time until this many
   * commits in a row succeeded (and at least PHASEGATE_THROTTLE_MIN_SECONDS passed). @defaultValue 5
   */
  PHASEGATE_THROTTLE_RESTORE_AFTER: int(1, 10_000).default(5),
  /** @defaultValue 300 */
  PHASEGATE_THROTTLE_MIN_SECONDS: z.coerce.number().min(0).default(300),
  /** Slack-compatible incoming webhook for notifications (breaker tripped, slices deferred, backfill failures). @defaultValue unset */
  PHASEGATE_WEBHOOK_URL: z.string().url().optional(),
  /**
   * Pub/Sub topic that receives every `committed` event and every run's end (src/events-relay):
   * `projects/P/topics/T`, or a topic name in `PHASEGATE_BQ_PROJECT`. @defaultValue unset (no relay)
   */
  PHASEGATE_PUBSUB_TOPIC: z
    .string()
    .regex(/^(projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/topics\/)?[A-Za-z][A-Za-z0-9._~%+-]{2,254}$/, 'a topic name or projects/P/topics/T')
    .optional(),
  /** At most one notification per table per kind per window; later ones fold into a digest (seconds, scaled). @defaultValue 3600 */
  PHASEGATE_NOTIFY_WINDOW_SECONDS: z.coerce.number().positive().default(3600),
  /** Scraper service for production (POST). */
  PHASEGATE_SCRAPER_URL: z.string().url().optional(),
  /** @defaultValue 180 */
  PHASEGATE_SCRAPER_TIMEOUT_SECONDS: z.coerce.number().positive().default(180),
  /** balldontlie API key (the fallback source; the fixture source needs none). @defaultValue unset */
  PHASEGATE_BDL_API_KEY: z.string().min(1).optional(),
  /**
   * balldontlie requests per minute your plan allows (free 5, ALL-STAR 60, GOAT 600): the
   * balldontlie scraper queue's BullMQ rate limiter. @defaultValue 60
   */
  PHASEGATE_BDL_REQUESTS_PER_MINUTE: int(1, 100_000).default(60),
  /** @defaultValue fixture */
  PHASEGATE_SOURCE: z.enum(['fixture', 'service']).default('fixture'),
  /** Comma-separated game ids the fixture source returns nothing for (seed 004's Play-In games). */
  PHASEGATE_FIXTURE_MISSING_GAMES: z
    .string()
    .regex(/^(\d{10}(,\d{10})*)?$/, 'comma-separated 10-digit game ids')
    .default(''),
  /** Comma-separated game ids the fixture's balldontlie has nothing for either (a game no source has). */
  PHASEGATE_FIXTURE_BDL_MISSING_GAMES: z
    .string()
    .regex(/^(\d{10}(,\d{10})*)?$/, 'comma-separated 10-digit game ids')
    .default(''),
  /** @defaultValue info */
  PHASEGATE_LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  /**
   * A worker runs `phasegate doctor`'s checks quietly before it starts its table gates and
   * refuses to start on one that would make every commit fail. @defaultValue true
   */
  PHASEGATE_WORKER_DOCTOR: bool.default(true),
  /**
   * We run on Compute Engine: `phasegate doctor` asks the metadata server for the default
   * service account's access scopes (the default ones give read-only storage). @defaultValue false
   */
  PHASEGATE_ON_GCE: bool.default(false),
  /** The metadata server's host, as google-auth-library reads it. @defaultValue metadata.google.internal */
  GCE_METADATA_HOST: z
    .string()
    .regex(/^[A-Za-z0-9.-]+(:\d+)?$/, 'a host name or host:port')
    .default('metadata.google.internal'),
  /** Dashboard port. @defaultValue 3000 */
  PHASEGATE_DASHBOARD_PORT: int(0, 65_535).default(3000),
  /** Dashboard bind address; anything but loopback needs credentials. @defaultValue 127.0.0.1 */
  PHASEGATE_DASHBOARD_HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * Dashboard bearer token (the printed sign-in link carries it in the URL fragment, never the
   * query string). Without it and without a user and
   * password, a random token is generated at start and a login URL printed. @defaultValue unset
   */
  PHASEGATE_DASHBOARD_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  /** Dashboard basic-auth user; goes with PHASEGATE_DASHBOARD_PASSWORD. @defaultValue unset */
  PHASEGATE_DASHBOARD_USER: z
    .string()
    .regex(/^[^:\s]{1,64}$/, '1–64 characters, no colon or space')
    .optional(),
  /** @defaultValue unset */
  PHASEGATE_DASHBOARD_PASSWORD: z.string().min(12, 'at least 12 characters').optional(),
  /** Bull Board and the dashboard's own actions refuse to change anything. @defaultValue false */
  PHASEGATE_DASHBOARD_READ_ONLY: bool.default(false),
  /**
   * Whether X-Forwarded-Proto/-Host/-For are believed: false, true (one hop), a hop count, or
   * proxy addresses/subnets. Decides the cookie's `Secure`, the Host checked and the client a
   * failed sign-in is counted against. @defaultValue false
   */
  PHASEGATE_DASHBOARD_TRUST_PROXY: z.string().optional(),
  /** More host names the dashboard answers to (comma-separated), e.g. a reverse proxy's name. @defaultValue none */
  PHASEGATE_DASHBOARD_ALLOWED_HOSTS: z.string().optional(),
  /**
   * How long a reader (`phasegate sql`, `conflicts`, `coverage`, the dashboard) waits for the
   * process holding the DuckDB file to answer through its read relay, and the longest a holder
   * lets one relayed query run before stopping it, in real seconds (a person waits, not BigQuery).
   * @defaultValue 30
   */
  PHASEGATE_READ_RELAY_TIMEOUT_SECONDS: z.coerce.number().positive().max(3600).default(30),
  /** Most rows one relayed query answers; a bigger result is refused, naming this setting. @defaultValue 10000 */
  PHASEGATE_READ_RELAY_MAX_ROWS: int(1, 1_000_000).default(10_000),
  /**
   * Largest reply (JSON bytes) the holder writes to Redis for one read; a bigger one is refused,
   * naming this setting. Redis holds the reply until the reader takes it. @defaultValue 8388608 (8 MiB)
   */
  PHASEGATE_READ_RELAY_MAX_BYTES: int(1024, 512 * 1024 * 1024).default(8 * 1024 * 1024),
});

type Env = z.infer<typeof schema>;

/**
 * The resolved configuration: what `loadConfig` makes of the `PHASEGATE_*` variables (and CLI
 * flags). Each field names its variable; the variable's own doc in the schema above says more.
 * Times in seconds are on BigQuery's clock (scaled by `timeScale`) unless a field says real.
 */
export interface Config {
  /** `REDIS_URL`. @defaultValue redis://127.0.0.1:6379 */
  redisUrl: string;
  /** `PHASEGATE_PREFIX`: the Redis key prefix of queues and phasegate's keys. @defaultValue phasegate */
  prefix: string;
  /** `PHASEGATE_DATA_DIR`, resolved: where the embedded warehouse and local store live. @defaultValue .phasegate */
  dataDir: string;
  /** `PHASEGATE_WAREHOUSE`. @defaultValue duckdb */
  warehouse: 'duckdb' | 'bigquery';
  /** `PHASEGATE_DUCKDB_PATH`, resolved. @defaultValue `<dataDir>/warehouse.duckdb` */
  duckdbPath: string;
  /** `PHASEGATE_BQ_RULES`: the embedded warehouse enforces BigQuery's limits and latency. @defaultValue true */
  bigqueryRules: boolean;
  /** `PHASEGATE_TIME_SCALE`: how much faster than real time BigQuery's clock runs (tests, benchmarks). @defaultValue 1 */
  timeScale: number;
  /** `PHASEGATE_STORE`: where raw files and staged rows go. @defaultValue local */
  store: 'local' | 'gcs';
  /** `PHASEGATE_STORE_DIR`, resolved. @defaultValue `<dataDir>/store` */
  storeDir: string;
  /** `PHASEGATE_GCS_BUCKET`: required with `store: 'gcs'`. */
  gcsBucket: string | undefined;
  /** `PHASEGATE_BQ_PROJECT`, `PHASEGATE_BQ_LOCATION` (@defaultValue US), `PHASEGATE_DATASET_PREFIX` (@defaultValue none). */
  bigquery: { projectId: string | undefined; location: string; datasetPrefix: string };
  /**
   * Every table's caps (`tableLimits` applies the per-table overrides): `PHASEGATE_TABLE_CONCURRENCY`
   * (@defaultValue 1), `PHASEGATE_TABLE_OPS_MAX` (@defaultValue 4) per `PHASEGATE_TABLE_OPS_WINDOW_SECONDS` (@defaultValue 10),
   * `PHASEGATE_TABLE_DAILY_BUDGET` (@defaultValue 1500), `PHASEGATE_COMMIT_MAX_SLICES` (@defaultValue 64),
   * `PHASEGATE_COMMIT_MAX_ROWS` (@defaultValue 200000), `PHASEGATE_COMMIT_GATHER_SECONDS` (@defaultValue 2).
   */
  table: {
    concurrency: number;
    opsMax: number;
    opsWindowSeconds: number;
    dailyBudget: number;
    commitMaxSlices: number;
    commitMaxRows: number;
    gatherSeconds: number;
  };
  /** Per-table overrides of `table`; read them through `tableLimits`. */
  tableOverrides: Record<string, Partial<Config['table']>>;
  /** Phase jobs: `PHASEGATE_JOB_ATTEMPTS` (@defaultValue 5), `PHASEGATE_JOB_BACKOFF_SECONDS` (@defaultValue 5), `PHASEGATE_STALLED_SECONDS` (real; @defaultValue 30). The rest of BullMQ's settings: src/queues/defaults.ts. */
  jobs: { attempts: number; backoffSeconds: number; stalledSeconds: number };
  /** Largest staged slice (NDJSON bytes) kept inline in Redis; 0 = never. */
  staging: { inlineMaxBytes: number };
  /** The `committed` stream's trim: `PHASEGATE_EVENTS_MAX_LEN` (@defaultValue 1000000), `PHASEGATE_EVENTS_MAX_AGE_HOURS` × 3600 (@defaultValue 168 h). */
  events: { maxLen: number; maxAgeSeconds: number };
  /** The dependency tracker: `PHASEGATE_TRACKER_DEBOUNCE_SECONDS` (@defaultValue 1), `PHASEGATE_TRACKER_CLAIM_IDLE_SECONDS` (@defaultValue 60), `PHASEGATE_TRACKER_WINDOW_WAIT_SECONDS` (@defaultValue 3600). */
  tracker: { debounceSeconds: number; claimIdleSeconds: number; windowWaitSeconds: number };
  /** Streaming-buffer conflicts: `PHASEGATE_CONFLICT_*` (retry base 300 s, cap 1200 s, jitter 0.2, max wait 7200 s, processed_at slack 300 s, buffer 1800 s, flush poll 60 s). */
  conflict: {
    retryBaseSeconds: number;
    retryCapSeconds: number;
    jitter: number;
    maxWaitSeconds: number;
    processedAtSlackSeconds: number;
    /** How long BigQuery usually keeps streamed rows buffered. */
    bufferSeconds: number;
    /** Shortest wait of a try timed by the buffer's expected flush. */
    flushPollSeconds: number;
  };
  /** The per-table circuit breaker: `PHASEGATE_BREAKER_*` (last 6 commits within 1800 s, cool-down 1800 s, probe timeout 600 s, conflict share 0.5, trip share 0.5, at least 3 commits). */
  breaker: {
    commits: number;
    windowSeconds: number;
    cooldownSeconds: number;
    probeTimeoutSeconds: number;
    /** Share of a commit's slices held back above which the commit counts as conflicting. */
    conflictShare: number;
    /** Share of recent conflicting commits above which the breaker trips. */
    tripShare: number;
    /** Fewest recent commits the breaker judges. */
    minCommits: number;
  };
  /** A busy table (DML queue full, serialize): `PHASEGATE_BUSY_RETRY_BASE_SECONDS` (10), `…_CAP_SECONDS` (300), `PHASEGATE_THROTTLE_RESTORE_AFTER` (5 clean commits), `PHASEGATE_THROTTLE_MIN_SECONDS` (300). */
  busy: { retryBaseSeconds: number; retryCapSeconds: number; restoreAfter: number; minThrottleSeconds: number };
  /** `PHASEGATE_WEBHOOK_URL` (Slack-compatible; none = log only) and `PHASEGATE_NOTIFY_WINDOW_SECONDS` (real; @defaultValue 3600). */
  notify: { webhookUrl: string | undefined; windowSeconds: number };
  /** `PHASEGATE_PUBSUB_TOPIC` as a full `projects/P/topics/T` path; undefined = no Pub/Sub relay. */
  pubsub: { topic: string | undefined };
  /** `PHASEGATE_SOURCE`: the embedded real-data fixture, or the scraper service. @defaultValue fixture */
  source: 'fixture' | 'service';
  /** `PHASEGATE_SCRAPER_URL` (required with `source: 'service'`), `PHASEGATE_SCRAPER_TIMEOUT_SECONDS` (real; @defaultValue 180). */
  scraper: { url: string | undefined; timeoutSeconds: number };
  /** balldontlie: `PHASEGATE_BDL_API_KEY`, `PHASEGATE_BDL_REQUESTS_PER_MINUTE` (@defaultValue 60). */
  bdl: { apiKey: string | undefined; requestsPerMinute: number };
  /** `PHASEGATE_FIXTURE_MISSING_GAMES`: games the fixture's NBA.com feed leaves out (demo, tests). @defaultValue none */
  fixtureMissingGames: string[];
  /** `PHASEGATE_FIXTURE_BDL_MISSING_GAMES`: games the fixture's balldontlie feed leaves out. @defaultValue none */
  fixtureBdlMissingGames: string[];
  /** `PHASEGATE_LOG_LEVEL`. @defaultValue info */
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  /** Whether a worker runs the doctor's checks before starting its table gates. */
  workerDoctor: boolean;
  /** `PHASEGATE_ON_GCE`: credentials from the GCE metadata server (@defaultValue false). */
  gce: { enabled: boolean; metadataHost: string };
  /** `PHASEGATE_DASHBOARD_*`: bind address (127.0.0.1), port (3000), token or user/password, read-only, trusted proxy, allowed Host names. */
  dashboard: {
    host: string;
    port: number;
    token: string | undefined;
    user: string | undefined;
    password: string | undefined;
    readOnly: boolean;
    trustProxy: TrustProxy;
    allowedHosts: string[];
  };
  /** Reads of the DuckDB file answered over Redis by the process holding it (src/warehouse/read-relay). */
  readRelay: { timeoutSeconds: number; maxRows: number; maxBytes: number };
}

/** CLI flags that override environment variables, keyed by the variable they override. */
export type ConfigFlags = Partial<Record<keyof Env, string | number | boolean | undefined>>;

/** A bad value as an error shows it: never a secret, nor the credentials inside a URL (`redis://user:pass@host`). */
function shown(variable: string, value: unknown): string {
  if (/PASSWORD|TOKEN|API_KEY|WEBHOOK/.test(variable)) return 'the value is not shown: it is a secret';
  const text = typeof value === 'string' && value.includes('@') ? value.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/i, '$1…@') : value;
  return `got ${JSON.stringify(text ?? null)}`;
}

/** Resolves the configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, flags: ConfigFlags = {}): Config {
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(schema.shape)) {
    const flag = flags[key as keyof Env];
    const value = flag !== undefined ? String(flag) : env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'configuration');
    throw new ConfigError(`${variable}: ${issue?.message ?? 'invalid'} (${shown(variable, input[variable])})`);
  }
  const e = parsed.data;
  if (e.PHASEGATE_STORE === 'gcs' && !e.PHASEGATE_GCS_BUCKET) throw new ConfigError('PHASEGATE_GCS_BUCKET: required when PHASEGATE_STORE=gcs');
  if (e.PHASEGATE_WAREHOUSE === 'bigquery' && !e.PHASEGATE_BQ_PROJECT)
    throw new ConfigError('PHASEGATE_BQ_PROJECT: required when PHASEGATE_WAREHOUSE=bigquery');
  if (e.PHASEGATE_WAREHOUSE === 'bigquery' && e.PHASEGATE_STORE !== 'gcs') {
    throw new ConfigError('PHASEGATE_STORE: must be gcs when PHASEGATE_WAREHOUSE=bigquery (BigQuery reads staged rows from GCS)');
  }
  if ((e.PHASEGATE_DASHBOARD_USER === undefined) !== (e.PHASEGATE_DASHBOARD_PASSWORD === undefined)) {
    throw new ConfigError('PHASEGATE_DASHBOARD_USER and PHASEGATE_DASHBOARD_PASSWORD: set both or neither');
  }
  if (e.PHASEGATE_BREAKER_MIN_COMMITS > e.PHASEGATE_BREAKER_COMMITS) {
    throw new ConfigError(`PHASEGATE_BREAKER_MIN_COMMITS: at most PHASEGATE_BREAKER_COMMITS (${e.PHASEGATE_BREAKER_COMMITS}), or the breaker never trips`);
  }
  const topic = e.PHASEGATE_PUBSUB_TOPIC;
  if (topic !== undefined && !topic.startsWith('projects/') && !e.PHASEGATE_BQ_PROJECT)
    throw new ConfigError('PHASEGATE_PUBSUB_TOPIC: a bare topic name needs PHASEGATE_BQ_PROJECT (or give projects/P/topics/T)');
  const dataDir = path.resolve(e.PHASEGATE_DATA_DIR);
  return {
    redisUrl: e.REDIS_URL,
    prefix: e.PHASEGATE_PREFIX,
    dataDir,
    warehouse: e.PHASEGATE_WAREHOUSE,
    duckdbPath: path.resolve(e.PHASEGATE_DUCKDB_PATH ?? path.join(dataDir, 'warehouse.duckdb')),
    bigqueryRules: e.PHASEGATE_BQ_RULES,
    timeScale: e.PHASEGATE_TIME_SCALE,
    store: e.PHASEGATE_STORE,
    storeDir: path.resolve(e.PHASEGATE_STORE_DIR ?? path.join(dataDir, 'store')),
    gcsBucket: e.PHASEGATE_GCS_BUCKET,
    bigquery: { projectId: e.PHASEGATE_BQ_PROJECT, location: e.PHASEGATE_BQ_LOCATION, datasetPrefix: e.PHASEGATE_DATASET_PREFIX },
    table: {
      concurrency: e.PHASEGATE_TABLE_CONCURRENCY,
      opsMax: e.PHASEGATE_TABLE_OPS_MAX,
      opsWindowSeconds: e.PHASEGATE_TABLE_OPS_WINDOW_SECONDS,
      dailyBudget: e.PHASEGATE_TABLE_DAILY_BUDGET,
      commitMaxSlices: e.PHASEGATE_COMMIT_MAX_SLICES,
      commitMaxRows: e.PHASEGATE_COMMIT_MAX_ROWS,
      gatherSeconds: e.PHASEGATE_COMMIT_GATHER_SECONDS,
    },
    tableOverrides: e.PHASEGATE_TABLE_LIMITS,
    jobs: { attempts: e.PHASEGATE_JOB_ATTEMPTS, backoffSeconds: e.PHASEGATE_JOB_BACKOFF_SECONDS, stalledSeconds: e.PHASEGATE_STALLED_SECONDS },
    staging: { inlineMaxBytes: e.PHASEGATE_STAGING_INLINE_MAX_BYTES },
    events: { maxLen: e.PHASEGATE_EVENTS_MAX_LEN, maxAgeSeconds: e.PHASEGATE_EVENTS_MAX_AGE_HOURS * 3600 },
    tracker: {
      debounceSeconds: e.PHASEGATE_TRACKER_DEBOUNCE_SECONDS,
      claimIdleSeconds: e.PHASEGATE_TRACKER_CLAIM_IDLE_SECONDS,
      windowWaitSeconds: e.PHASEGATE_TRACKER_WINDOW_WAIT_SECONDS,
    },
    conflict: {
      retryBaseSeconds: e.PHASEGATE_CONFLICT_RETRY_BASE_SECONDS,
      retryCapSeconds: e.PHASEGATE_CONFLICT_RETRY_CAP_SECONDS,
      jitter: e.PHASEGATE_CONFLICT_RETRY_JITTER,
      maxWaitSeconds: e.PHASEGATE_CONFLICT_MAX_WAIT_SECONDS,
      processedAtSlackSeconds: e.PHASEGATE_CONFLICT_PROCESSED_AT_SLACK_SECONDS,
      bufferSeconds: e.PHASEGATE_CONFLICT_BUFFER_SECONDS,
      flushPollSeconds: e.PHASEGATE_CONFLICT_FLUSH_POLL_SECONDS,
    },
    breaker: {
      commits: e.PHASEGATE_BREAKER_COMMITS,
      windowSeconds: e.PHASEGATE_BREAKER_WINDOW_SECONDS,
      cooldownSeconds: e.PHASEGATE_BREAKER_COOLDOWN_SECONDS,
      probeTimeoutSeconds: e.PHASEGATE_BREAKER_PROBE_TIMEOUT_SECONDS,
      conflictShare: e.PHASEGATE_BREAKER_CONFLICT_SHARE,
      tripShare: e.PHASEGATE_BREAKER_TRIP_SHARE,
      minCommits: e.PHASEGATE_BREAKER_MIN_COMMITS,
    },
    busy: {
      retryBaseSeconds: e.PHASEGATE_BUSY_RETRY_BASE_SECONDS,
      retryCapSeconds: e.PHASEGATE_BUSY_RETRY_CAP_SECONDS,
      restoreAfter: e.PHASEGATE_THROTTLE_RESTORE_AFTER,
      minThrottleSeconds: e.PHASEGATE_THROTTLE_MIN_SECONDS,
    },
    notify: { webhookUrl: e.PHASEGATE_WEBHOOK_URL, windowSeconds: e.PHASEGATE_NOTIFY_WINDOW_SECONDS },
    pubsub: { topic: topic === undefined || topic.startsWith('projects/') ? topic : `projects/${e.PHASEGATE_BQ_PROJECT}/topics/${topic}` },
    source: e.PHASEGATE_SOURCE,
    scraper: { url: e.PHASEGATE_SCRAPER_URL, timeoutSeconds: e.PHASEGATE_SCRAPER_TIMEOUT_SECONDS },
    bdl: { apiKey: e.PHASEGATE_BDL_API_KEY, requestsPerMinute: e.PHASEGATE_BDL_REQUESTS_PER_MINUTE },
    fixtureMissingGames: e.PHASEGATE_FIXTURE_MISSING_GAMES === '' ? [] : e.PHASEGATE_FIXTURE_MISSING_GAMES.split(','),
    fixtureBdlMissingGames: e.PHASEGATE_FIXTURE_BDL_MISSING_GAMES === '' ? [] : e.PHASEGATE_FIXTURE_BDL_MISSING_GAMES.split(','),
    logLevel: e.PHASEGATE_LOG_LEVEL,
    workerDoctor: e.PHASEGATE_WORKER_DOCTOR,
    gce: { enabled: e.PHASEGATE_ON_GCE, metadataHost: e.GCE_METADATA_HOST },
    dashboard: {
      host: e.PHASEGATE_DASHBOARD_HOST,
      port: e.PHASEGATE_DASHBOARD_PORT,
      token: e.PHASEGATE_DASHBOARD_TOKEN,
      user: e.PHASEGATE_DASHBOARD_USER,
      password: e.PHASEGATE_DASHBOARD_PASSWORD,
      readOnly: e.PHASEGATE_DASHBOARD_READ_ONLY,
      trustProxy: parseTrustProxy(e.PHASEGATE_DASHBOARD_TRUST_PROXY),
      allowedHosts: parseAllowedHosts(e.PHASEGATE_DASHBOARD_ALLOWED_HOSTS),
    },
    readRelay: {
      timeoutSeconds: e.PHASEGATE_READ_RELAY_TIMEOUT_SECONDS,
      maxRows: e.PHASEGATE_READ_RELAY_MAX_ROWS,
      maxBytes: e.PHASEGATE_READ_RELAY_MAX_BYTES,
    },
  };
}

/** A table's limits: the global ones with that table's overrides applied. */
export function tableLimits(config: Pick<Config, 'table' | 'tableOverrides'>, table: string): Config['table'] {
  return { ...config.table, ...config.tableOverrides[table] };
}

/** The password inside a URL (`redis://:pw@host`), decoded; undefined when it has none. */
function urlPassword(url: string | undefined): string | undefined {
  if (url === undefined || !URL.canParse(url)) return undefined;
  const { password } = new URL(url);
  return password === '' ? undefined : decodeURIComponent(password);
}

/**
 * The configured values that are secrets, for src/redact.ts to mask wherever they appear:
 * the dashboard's token and password, the balldontlie key, the passwords inside REDIS_URL
 * and PHASEGATE_SCRAPER_URL, and the whole webhook URL (a Slack webhook's path is its key).
 */
export function secretsOf(config: Pick<Config, 'redisUrl' | 'dashboard' | 'bdl' | 'notify' | 'scraper'>): (string | undefined)[] {
  return [
    config.dashboard.token,
    config.dashboard.password,
    config.bdl.apiKey,
    config.notify.webhookUrl,
    urlPassword(config.redisUrl),
    urlPassword(config.scraper.url),
  ];
}

/** Real milliseconds for a duration given in (BigQuery-clock) seconds. */
export function scaledMs(config: Pick<Config, 'timeScale'>, seconds: number): number {
  return Math.max(1, Math.round((seconds * 1000) / config.timeScale));
}

/**
 * Variables that say where state lives or whom phasegate talks to (Redis, prefixes, folders,
 * files, buckets, projects, webhooks, the dashboard's address and secrets). A harness that owns
 * those (tests, benchmarks) never inherits them from the caller's shell.
 */
const LOCATION_VARIABLES: ReadonlySet<string> = new Set([
  'REDIS_URL',
  'PHASEGATE_PREFIX',
  'PHASEGATE_DATA_DIR',
  'PHASEGATE_WAREHOUSE',
  'PHASEGATE_DUCKDB_PATH',
  'PHASEGATE_STORE',
  'PHASEGATE_STORE_DIR',
  'PHASEGATE_GCS_BUCKET',
  'PHASEGATE_BQ_PROJECT',
  'PHASEGATE_BQ_LOCATION',
  'PHASEGATE_DATASET_PREFIX',
  'PHASEGATE_WEBHOOK_URL',
  'PHASEGATE_PUBSUB_TOPIC',
  'PHASEGATE_SCRAPER_URL',
  'PHASEGATE_SOURCE',
  'PHASEGATE_DASHBOARD_PORT',
  'PHASEGATE_DASHBOARD_HOST',
  'PHASEGATE_DASHBOARD_TOKEN',
  'PHASEGATE_DASHBOARD_USER',
  'PHASEGATE_DASHBOARD_PASSWORD',
  'PHASEGATE_DASHBOARD_TRUST_PROXY',
  'PHASEGATE_BDL_API_KEY',
  'PHASEGATE_DASHBOARD_ALLOWED_HOSTS',
  'PHASEGATE_ON_GCE',
]);

/** `env` without any `PHASEGATE_*` variable: what a hermetic child process starts from. */
export function withoutPhasegateEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('PHASEGATE_')));
}

/** The product settings (limits, timings) among `env`'s `PHASEGATE_*` variables: never a location. */
export function productSettings(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('PHASEGATE_') && !LOCATION_VARIABLES.has(e[0]) && e[1] !== undefined),
  );
}
