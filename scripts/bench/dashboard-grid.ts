/**
 * `npm run bench:dashboard`: how long the dashboard takes to answer the backfill grid of the
 * incident's size — 853 game dates × 2 processors, and × 6 — served from a Redis seeded with
 * statuses directly (no pipeline run). Prints one JSON object per size on stdout.
 *
 * The figure is the server's own time (`Server-Timing: total`: Redis reads plus rendering),
 * median of several requests after a warm-up, next to the wall-clock round trip.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../../src/config/load-config.ts';
import { startDashboard } from '../../src/dashboard/start-dashboard.ts';
import { BIGQUERY_TEXTS } from '../../src/errors/classify.ts';
import type { BackfillRecord } from '../../src/queues/backfill/backfill.ts';
import type { PipelineContext } from '../../src/queues/context.ts';
import { SLICE_STATES, type SliceState, type SliceStatus } from '../../src/queues/status-store.ts';
import { openRuntime } from '../../src/runtime.ts';

/** `count` game dates: October to mid-April of consecutive seasons, like the incident's four seasons. */
export function seasonDates(count: number, firstSeason = 2021): string[] {
  const out: string[] = [];
  for (let season = firstSeason; out.length < count; season++) {
    for (let t = Date.UTC(season, 9, 19); t <= Date.UTC(season + 1, 3, 14) && out.length < count; t += 86_400_000) {
      // About five game days in seven, as in a real schedule.
      if (new Date(t).getUTCDay() !== 1 && new Date(t).getUTCDay() !== 4) out.push(new Date(t).toISOString().slice(0, 10));
    }
  }
  return out;
}

/** The state of slice i: a fixed mix with every state present, so the grid renders all colours. */
export function stateOf(i: number, p: number): SliceState {
  const k = (i * 7 + p * 13) % 100;
  if (k < 70) return 'committed';
  if (k < 75) return 'failed';
  if (k < 85) return 'waiting';
  if (k < 87) return 'deferred';
  if (k < 90) return 'running';
  if (k < 95) return 'staged';
  return 'pending';
}

export interface SeededGrid {
  record: BackfillRecord;
  /** Per processor, the number of slices seeded in each state. */
  expected: Record<string, Record<SliceState, number>>;
}

/**
 * Writes a backfill record and its slice statuses straight into Redis, in the layout
 * `startBackfill` and the workers use, with error texts as long and as hostile as real ones.
 */
export async function seedGridBackfill(ctx: PipelineContext, opts: { dates: string[]; processors: string[]; id?: string }): Promise<SeededGrid> {
  const record: BackfillRecord = {
    id: opts.id ?? `bf-bench-${randomUUID().slice(0, 8)}`,
    createdAt: new Date().toISOString(),
    processors: opts.processors,
    dates: opts.dates,
    priority: 10,
    cascade: false,
  };
  await ctx.redis
    .multi()
    .hset(ctx.keys.backfill(record.id), { definition: JSON.stringify(record) })
    .zadd(ctx.keys.backfills(), Date.now(), record.id)
    .exec();
  const expected: Record<string, Record<SliceState, number>> = {};
  const nextTryAt = new Date(Date.now() + 600_000).toISOString();
  for (const [p, processor] of opts.processors.entries()) {
    const counts = Object.fromEntries(SLICE_STATES.map((s) => [s, 0])) as Record<SliceState, number>;
    const byState = new Map<SliceState, string[]>();
    opts.dates.forEach((date, i) => {
      const s = stateOf(i, p);
      counts[s] += 1;
      byState.set(s, [...(byState.get(s) ?? []), date]);
    });
    for (const [state, dates] of byState) {
      const status: Omit<SliceStatus, 'updatedAt'> = {
        status: state,
        backfillId: record.id,
        attempts: state === 'failed' ? 5 : 1,
        rows: state === 'committed' || state === 'staged' ? 240 : undefined,
      };
      if (state === 'failed')
        status.error = `${processor}: nba-com/player-boxscores/x/0022100001.json: Unexpected token < in JSON at position 0 <script>alert(1)</script> ${'x'.repeat(200)}`;
      if (state === 'waiting') Object.assign(status, { error: `busy: ${BIGQUERY_TEXTS.dmlOutstanding('nba_raw.nbac_player_boxscores')}`, nextTryAt });
      if (state === 'deferred')
        status.error =
          'conflict: UPDATE or DELETE statement over table nba_raw.nbac_player_boxscores would affect rows in the streaming buffer, which is not supported';
      await ctx.statuses.setMany(processor, dates, status);
    }
    expected[processor] = counts;
  }
  return { record, expected };
}

export interface GridTiming {
  dates: number;
  processors: number;
  cells: number;
  /** Median server time (Redis reads + render), ms. */
  serverMs: number;
  /** Median server time spent reading Redis, ms. */
  redisMs: number;
  /** Median wall-clock round trip, ms. */
  roundTripMs: number;
  maxServerMs: number;
  bytes: number;
  runs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

function serverTiming(header: string | null, name: string): number {
  const m = new RegExp(`${name};dur=([0-9.]+)`).exec(header ?? '');
  return m ? Number(m[1]) : Number.NaN;
}

/** Requests the grid `runs` times after one warm-up; returns medians and the last body. */
export async function measureGrid(
  url: string,
  headers: Record<string, string>,
  runs = 5,
): Promise<{ timing: Omit<GridTiming, 'dates' | 'processors' | 'cells'>; body: string }> {
  const server: number[] = [];
  const redis: number[] = [];
  const trip: number[] = [];
  let body = '';
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    const res = await fetch(url, { headers });
    body = await res.text();
    const t1 = performance.now();
    if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status}`);
    if (i === 0) continue; // warm-up: first request compiles the code paths
    server.push(serverTiming(res.headers.get('server-timing'), 'total'));
    redis.push(serverTiming(res.headers.get('server-timing'), 'redis'));
    trip.push(t1 - t0);
  }
  const r1 = (n: number) => Math.round(n * 10) / 10;
  return {
    timing: {
      serverMs: r1(median(server)),
      redisMs: r1(median(redis)),
      roundTripMs: r1(median(trip)),
      maxServerMs: r1(Math.max(...server)),
      bytes: Buffer.byteLength(body),
      runs,
    },
    body,
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'phasegate-bench-dashboard-'));
  const config = loadConfig({ ...process.env, PHASEGATE_PREFIX: `bench-${randomUUID().slice(0, 8)}`, PHASEGATE_DATA_DIR: dir, PHASEGATE_LOG_LEVEL: 'warn' });
  const rt = await openRuntime(config, { redisExplicit: process.env.REDIS_URL !== undefined });
  const token = randomUUID();
  const dashboard = await startDashboard(rt, { port: 0, host: '127.0.0.1', credentials: { token, generated: false }, announce: () => undefined });
  try {
    const dates = seasonDates(853);
    const real = rt.registry.all().map((p) => p.name);
    for (const n of [2, 6]) {
      // The registry's processors first; synthetic names fill up to n (the page does not need them registered).
      const processors = Array.from({ length: n }, (_, i) => real[i] ?? `bench_processor_${i + 1}`);
      const { record } = await seedGridBackfill(rt, { dates, processors });
      const { timing } = await measureGrid(`${dashboard.url}/backfills/${record.id}`, { authorization: `Bearer ${token}` }, 7);
      const out: GridTiming = { dates: dates.length, processors: n, cells: dates.length * n, ...timing };
      process.stdout.write(`${JSON.stringify(out)}\n`);
    }
  } finally {
    await dashboard.close();
    // Remove everything the run wrote under its own prefix.
    let cursor = '0';
    do {
      const [next, keys] = await rt.redis.scan(cursor, 'MATCH', `${config.prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await rt.redis.del(...keys);
    } while (cursor !== '0');
    await rt.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bench:dashboard: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
