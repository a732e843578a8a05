/**
 * `npm run chaos`: the crash-and-restart run (see harness.ts). Prints the run log (every kill,
 * with what was in flight) and ends with one JSON summary line; exits 1 unless every date was
 * committed with exact row counts after the kills that landed. `REDIS_URL` (or `--redis-url`)
 * points it at a running Redis, which it never kills; without one it starts its own.
 */
import { parseArgs } from 'node:util';
import { type ChaosOptions, DEFAULT_CHAOS_OPTIONS, runChaos } from './harness.ts';

const USAGE = `usage: npm run chaos -- [flags]
  --start / --end D      game dates (default ${DEFAULT_CHAOS_OPTIONS.start}..${DEFAULT_CHAOS_OPTIONS.end})
  --kills N              worker SIGKILLs, at least 5 (default ${DEFAULT_CHAOS_OPTIONS.kills})
  --redis-kill-at N      worker life during which Redis is killed too, 0 = never (default ${DEFAULT_CHAOS_OPTIONS.redisKillAt})
  --min-up / --max-up S  a worker lives at least min seconds once running, and at most max short of its kill point (default ${DEFAULT_CHAOS_OPTIONS.minUpSeconds}..${DEFAULT_CHAOS_OPTIONS.maxUpSeconds})
  --stalled-seconds S    PHASEGATE_STALLED_SECONDS of the worker (default ${DEFAULT_CHAOS_OPTIONS.stalledSeconds})
  --concurrency N        phase-worker concurrency (default ${DEFAULT_CHAOS_OPTIONS.concurrency})
  --time-scale X         PHASEGATE_TIME_SCALE (default ${DEFAULT_CHAOS_OPTIONS.timeScale})
  --seed N               random seed of the kill points, points of the run's progress: every seed lands every kill (default ${DEFAULT_CHAOS_OPTIONS.seed})
  --redis-url URL        a running Redis to use (default: REDIS_URL, else a redis-server of its own, killed once mid-run)
  --timeout-seconds S    give up after (default ${DEFAULT_CHAOS_OPTIONS.timeoutSeconds})
  --keep                 keep the data folder (DuckDB file, worker logs, AOF)`;

function parse(argv: string[]): Partial<ChaosOptions> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      start: { type: 'string' },
      end: { type: 'string' },
      kills: { type: 'string' },
      'redis-kill-at': { type: 'string' },
      'min-up': { type: 'string' },
      'max-up': { type: 'string' },
      'stalled-seconds': { type: 'string' },
      concurrency: { type: 'string' },
      'time-scale': { type: 'string' },
      seed: { type: 'string' },
      'redis-url': { type: 'string' },
      'timeout-seconds': { type: 'string' },
      keep: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) throw new Error(USAGE);
  const num = (flag: string, v: string | undefined, ok: (n: number) => boolean): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || !ok(n)) throw new Error(`--${flag}: "${v}" is out of range\n${USAGE}`);
    return n;
  };
  const out: Partial<ChaosOptions> = {
    start: values.start,
    end: values.end,
    kills: num('kills', values.kills, (n) => Number.isInteger(n) && n >= 5),
    redisKillAt: num('redis-kill-at', values['redis-kill-at'], (n) => Number.isInteger(n) && n >= 0),
    minUpSeconds: num('min-up', values['min-up'], (n) => n >= 0),
    maxUpSeconds: num('max-up', values['max-up'], (n) => n > 0),
    stalledSeconds: num('stalled-seconds', values['stalled-seconds'], (n) => n >= 1),
    concurrency: num('concurrency', values.concurrency, (n) => Number.isInteger(n) && n >= 1),
    timeScale: num('time-scale', values['time-scale'], (n) => n > 0),
    seed: num('seed', values.seed, Number.isInteger),
    timeoutSeconds: num('timeout-seconds', values['timeout-seconds'], (n) => n > 0),
    keep: values.keep,
    redisUrl: values['redis-url'] ?? process.env.REDIS_URL,
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as Partial<ChaosOptions>;
}

async function main(): Promise<number> {
  let opts: Partial<ChaosOptions>;
  try {
    opts = parse(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const report = await runChaos(opts);
  const { events: _events, ...summary } = report;
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  const kills = `${report.workerKills} of ${report.killsPlanned} worker kills, ${report.redisRestarts} Redis restart${report.redisRestarts === 1 ? '' : 's'}`;
  process.stdout.write(
    report.ok ? `chaos: OK — every date committed, exact rows, after ${kills}\n` : `chaos: FAILED (${kills}) — ${report.problems.join('; ')}\n`,
  );
  return report.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
