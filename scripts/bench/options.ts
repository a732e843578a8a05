/**
 * Flags of the incident-replay benchmark. Every parameter of the replay is a flag; the
 * defaults replay seed 000 (853 game dates, 12 workers) and are sized so the three modes
 * finish in well under 10 minutes on a 2-core machine.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';

export const MODES = ['naive', 'per-job', 'phasegate'] as const;
export type Mode = (typeof MODES)[number];

export interface BenchOptions {
  /**
   * Game dates replayed: the first N game dates of the incident's range.
   * @defaultValue 853 (every date of 2021-10-19..2025-06-22, the incident's backfill)
   */
  dates: number;
  /** @defaultValue '2021-10-19' */
  start: string;
  /** @defaultValue '2025-06-22' */
  end: string;
  /** Concurrent workers of each mode (the incident ran 12). @defaultValue 12 */
  workers: number;
  /**
   * `naive` only: BigQuery seconds a backfill worker's scraper takes per raw file (one game)
   * before it writes it; every file written starts one processor run. @defaultValue 45
   */
  scrapeSeconds: number;
  /**
   * Dates the live writer streams rows into while the backfill runs.
   * @defaultValue 40
   */
  liveDates: number;
  /** Live writer's pace: dates streamed per BigQuery minute. @defaultValue 30 */
  liveRate: number;
  /**
   * The live writer streams a date between `liveLead` and 2 × `liveLead` dates past the mode's
   * frontier, the way the auto-processor worked on the dates the backfill was about to reach.
   * More than the workers in flight, so the stream lands before the mode's own write.
   * @defaultValue 30
   */
  liveLead: number;
  /** How long streamed rows stay in the streaming buffer, BigQuery seconds. @defaultValue 1800 */
  bufferSeconds: number;
  /** BigQuery seconds per real second, for the rules layer and phasegate's queue timings. @defaultValue 30 */
  timeScale: number;
  /** Seed of the live writer's date choice and the rules layer's latency jitter. @defaultValue 1 */
  seed: number;
  /** @defaultValue every mode, in the order naive, per-job, phasegate */
  modes: Mode[];
  /** A mode still running after this many real seconds is stopped and reported as timed out. @defaultValue 600 */
  timeoutSeconds: number;
  /** Where the pre-scraped raw files and each mode's DuckDB file go. @defaultValue ./.phasegate/bench */
  workDir: string;
  /** @defaultValue REDIS_URL or redis://127.0.0.1:6379 (an embedded redis-server starts when none answers) */
  redisUrl: string;
  /**
   * A Redis Cluster's seed nodes (`host:port,…`) for the queue modes, which then run under a
   * hash-tagged prefix; `redisUrl` lends only its credentials. @defaultValue none: `redisUrl`'s server
   */
  redisCluster?: string | undefined;
  /** Progress lines on stderr. @defaultValue true */
  verbose: boolean;
  /** Where to write one NDJSON line per date per mode (begun, written, streamed; BigQuery seconds). @defaultValue none */
  traceDir?: string | undefined;
}

export const DEFAULT_BENCH_OPTIONS = {
  dates: 853,
  start: '2021-10-19',
  end: '2025-06-22',
  workers: 12,
  scrapeSeconds: 45,
  liveDates: 40,
  liveRate: 30,
  liveLead: 30,
  bufferSeconds: 1800,
  timeScale: 30,
  seed: 1,
  modes: [...MODES],
  timeoutSeconds: 600,
  workDir: path.join('.phasegate', 'bench'),
  redisUrl: 'redis://127.0.0.1:6379',
  verbose: true,
} satisfies BenchOptions;

export const USAGE = `usage: npm run bench:incident -- [flags]
  --dates N            game dates replayed, from --start (default ${DEFAULT_BENCH_OPTIONS.dates})
  --start / --end      date range (default ${DEFAULT_BENCH_OPTIONS.start}..${DEFAULT_BENCH_OPTIONS.end})
  --workers N          concurrent workers per mode (default ${DEFAULT_BENCH_OPTIONS.workers})
  --scrape-seconds S   naive: BigQuery seconds the scraper takes per raw file it writes (default ${DEFAULT_BENCH_OPTIONS.scrapeSeconds})
  --live-dates N       dates the live writer streams into (default ${DEFAULT_BENCH_OPTIONS.liveDates})
  --live-rate R        live writer dates per BigQuery minute (default ${DEFAULT_BENCH_OPTIONS.liveRate})
  --live-lead N        live writer streams dates N..2N past the backfill's frontier (default ${DEFAULT_BENCH_OPTIONS.liveLead})
  --buffer-seconds S   streaming buffer hold, BigQuery seconds (default ${DEFAULT_BENCH_OPTIONS.bufferSeconds})
  --time-scale X       BigQuery seconds per real second (default ${DEFAULT_BENCH_OPTIONS.timeScale})
  --seed N             random seed (default ${DEFAULT_BENCH_OPTIONS.seed})
  --modes LIST         comma-separated: ${MODES.join(',')} (default all)
  --timeout-seconds S  real seconds before a mode is stopped (default ${DEFAULT_BENCH_OPTIONS.timeoutSeconds})
  --work-dir DIR       raw files and DuckDB files (default ${DEFAULT_BENCH_OPTIONS.workDir})
  --redis-url URL      Redis for the queue modes (default REDIS_URL or ${DEFAULT_BENCH_OPTIONS.redisUrl})
  --redis-cluster H:P,…  a Redis Cluster's seed nodes for the queue modes (default PHASEGATE_REDIS_CLUSTER)
  --trace DIR          write <mode>.ndjson: per date, when it was begun and written (BigQuery seconds)
  --quiet              no progress lines on stderr`;

export class UsageError extends Error {}

function num(flag: string, value: string | undefined, fallback: number, check: (n: number) => boolean, what: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || !check(n)) throw new UsageError(`--${flag}: "${value}" must be ${what}`);
  return n;
}

const positiveInt = (n: number) => Number.isInteger(n) && n >= 1;

export function parseBenchArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      dates: { type: 'string' },
      start: { type: 'string' },
      end: { type: 'string' },
      workers: { type: 'string' },
      'scrape-seconds': { type: 'string' },
      'live-dates': { type: 'string' },
      'live-rate': { type: 'string' },
      'live-lead': { type: 'string' },
      'buffer-seconds': { type: 'string' },
      'time-scale': { type: 'string' },
      seed: { type: 'string' },
      modes: { type: 'string' },
      'timeout-seconds': { type: 'string' },
      'work-dir': { type: 'string' },
      'redis-url': { type: 'string' },
      'redis-cluster': { type: 'string' },
      quiet: { type: 'boolean' },
      trace: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) throw new UsageError(USAGE);
  const d = DEFAULT_BENCH_OPTIONS;
  const modes = values.modes === undefined ? [...d.modes] : values.modes.split(',').map((m) => m.trim());
  for (const m of modes) if (!(MODES as readonly string[]).includes(m)) throw new UsageError(`--modes: "${m}" is not one of ${MODES.join(', ')}`);
  for (const [flag, v] of [
    ['start', values.start],
    ['end', values.end],
  ] as const) {
    if (v !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(v)) throw new UsageError(`--${flag}: "${v}" is not YYYY-MM-DD`);
  }
  return {
    dates: num('dates', values.dates, d.dates, positiveInt, 'a positive whole number'),
    start: values.start ?? d.start,
    end: values.end ?? d.end,
    workers: num('workers', values.workers, d.workers, positiveInt, 'a positive whole number'),
    scrapeSeconds: num('scrape-seconds', values['scrape-seconds'], d.scrapeSeconds, (n) => n >= 0, 'a number ≥ 0'),
    liveDates: num('live-dates', values['live-dates'], d.liveDates, (n) => Number.isInteger(n) && n >= 0, 'a whole number ≥ 0'),
    liveRate: num('live-rate', values['live-rate'], d.liveRate, (n) => n > 0, 'a number > 0'),
    liveLead: num('live-lead', values['live-lead'], d.liveLead, (n) => Number.isInteger(n) && n >= 1, 'a positive whole number'),
    bufferSeconds: num('buffer-seconds', values['buffer-seconds'], d.bufferSeconds, (n) => n >= 0, 'a number ≥ 0'),
    timeScale: num('time-scale', values['time-scale'], d.timeScale, (n) => n > 0 && n <= 100_000, 'a number in (0, 100000]'),
    seed: num('seed', values.seed, d.seed, Number.isInteger, 'a whole number'),
    modes: [...new Set(modes)] as Mode[],
    timeoutSeconds: num('timeout-seconds', values['timeout-seconds'], d.timeoutSeconds, (n) => n > 0, 'a number > 0'),
    workDir: path.resolve(values['work-dir'] ?? d.workDir),
    redisUrl: values['redis-url'] ?? env.REDIS_URL ?? d.redisUrl,
    redisCluster: values['redis-cluster'] ?? env.PHASEGATE_REDIS_CLUSTER,
    verbose: !values.quiet,
    traceDir: values.trace === undefined ? undefined : path.resolve(values.trace),
  };
}

/**
 * A benchmark's flags, or the exit code when they are not flags to run with: a `--help` (its
 * usage text, which starts with "usage:") exits 0, a bad flag 2 — the message on stderr either way.
 */
export function parseFlags<T>(parse: (argv: string[]) => T, argv: string[] = process.argv.slice(2)): { opts: T } | { exitCode: number } {
  try {
    return { opts: parse(argv) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${message}\n`);
    return { exitCode: message.startsWith('usage:') ? 0 : 2 };
  }
}

/** A benchmark's progress lines on stderr, `[tag hh:mm:ss] line`, when it is verbose. */
export function progressLog(tag: string, verbose: boolean): (line: string) => void {
  return (line) => {
    if (verbose) process.stderr.write(`[${tag} ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  };
}

/** A flag's positive whole number, or its default when not given; an Error naming the flag and the usage otherwise. */
export function wholeFlag(usage: string): (flag: string, value: string | undefined, fallback: number) => number {
  return (flag, value, fallback) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag}: "${value}" must be a positive whole number\n${usage}`);
    return n;
  };
}
