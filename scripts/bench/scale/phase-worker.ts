/**
 * A phase-worker process of `bench:scale`: like `phasegate worker --phases 2` (with `--cascade`,
 * `--phases 2,3,4,5`), configured only through the environment, with the bench's
 * repeated-seasons source. It never holds the warehouse: phase 2 only stages, and phases 3–5
 * read the DuckDB file through the commit-gate process's read relay (phase-worker.ts in
 * src/queues), as workers read BigQuery over the network. It says `ready` on stdout and stops
 * on SIGTERM, or at once when the run process dies (its stdin closes). Run compiled (compile-worker.ts), like an installed `phasegate worker`.
 */
import { loadConfig } from '../../../src/config/load-config.ts';
import type { Phase } from '../../../src/processors/types.ts';
import { openRuntime } from '../../../src/runtime.ts';
import { RepeatedSeasonsSource } from './seasons.ts';

async function main(): Promise<void> {
  const concurrency = Number(process.argv[2] ?? 12);
  const phases = (process.argv[3] ?? '2').split(',').map((p) => Number(p) as Phase);
  const rt = await openRuntime(loadConfig(process.env), { redisExplicit: true, source: new RepeatedSeasonsSource() });
  await rt.startWorkers({ phases, commit: false, concurrency, tracker: false });
  // Where this process's memory goes, sampled: the JS heap, what V8 holds outside it (Buffers), RSS.
  const peak = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0, rssAtStart: process.memoryUsage().rss };
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.heapTotal = Math.max(peak.heapTotal, m.heapTotal);
    peak.external = Math.max(peak.external, m.external);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
  }, 250);
  process.stdout.write('ready\n');
  // The run process that started it died without a SIGTERM (its stdin, never written, closed):
  // nobody reads its figures, and its Redis is gone with the run.
  process.stdin.once('close', () => process.exit(1));
  process.stdin.resume();
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  clearInterval(sampler);
  const mb = (n: number) => Math.round((n / 1048576) * 10) / 10;
  process.stdout.write(`memory ${JSON.stringify(Object.fromEntries(Object.entries(peak).map(([k, v]) => [k, mb(v)])))}\n`);
  await rt.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`phase worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
