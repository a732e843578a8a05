/**
 * A phase-2 worker process of `bench:scale`: like `phasegate worker --phases 2`, configured
 * only through the environment, with the bench's repeated-seasons source. It never opens the
 * warehouse (phase 2 only stages); it says `ready` on stdout and stops on SIGTERM.
 */
import { loadConfig } from '../../../src/config/index.ts';
import { openRuntime } from '../../../src/runtime.ts';
import { RepeatedSeasonsSource } from './seasons.ts';

async function main(): Promise<void> {
  const concurrency = Number(process.argv[2] ?? 12);
  const rt = await openRuntime(loadConfig(process.env), { redisExplicit: true, source: new RepeatedSeasonsSource() });
  await rt.startWorkers({ phases: [2], commit: false, concurrency, tracker: false });
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  await rt.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`phase worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
