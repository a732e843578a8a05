/**
 * `phasegate backfill --workers N` runs the workers in its own process and waits for the run.
 * Ctrl-C ends the wait, not the work — but with Redis dead the wait's own poll, the summary
 * after it and the workers' close all wait on Redis, and the command did not end until a
 * second Ctrl-C. Now, after the first Ctrl-C, what waits on Redis waits no longer than
 * PHASEGATE_SHUTDOWN_REDIS_WAIT_SECONDS (as a worker's close does): the command exits 1 with
 * one line that names Redis by host and port.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { startRedisServer } from '../src/redis/ensure-redis.ts';
import { type ChildOutput, exitWithin, spawnCli, until } from './helpers.ts';

describe('backfill --workers stopped (Ctrl-C) while its Redis does not answer', function () {
  this.timeout(120_000);
  let redis: Awaited<ReturnType<typeof startRedisServer>> | undefined;
  let cli: ChildProcess | undefined;
  let dir = '';

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'phasegate-redis-gone-backfill-'));
  });
  after(async () => {
    if (cli && cli.exitCode === null && cli.signalCode === null) cli.kill('SIGKILL');
    await redis?.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * `backfill --workers 2` of a 20-date cascade on `redis`, until its jobs are enqueued and then
   * `settleMs` more: by then its workers run and its wait has begun (on a loaded machine, not always).
   */
  async function startBackfillCli(url: string, settleMs = 1500): Promise<{ proc: ChildProcess; out: ChildOutput }> {
    const env = {
      REDIS_URL: url,
      PHASEGATE_PREFIX: 'gone-bf',
      PHASEGATE_DATA_DIR: path.join(dir, 'data'),
      PHASEGATE_TIME_SCALE: '20',
      PHASEGATE_SHUTDOWN_REDIS_WAIT_SECONDS: '2',
      PHASEGATE_LOG_LEVEL: 'warn',
    };
    const { proc, out } = spawnCli(
      [
        'backfill',
        '--processors',
        'nbac_player_boxscore_scraper,nbac_team_boxscore_scraper',
        '--start',
        '2023-11-01',
        '--end',
        '2023-11-20',
        '--cascade',
        '--workers',
        '2',
      ],
      env,
    );
    cli = proc;
    // The run is under way: its jobs are enqueued and the wait has begun.
    await until(async () => out.stdout.includes('enqueued'), 'the backfill to start', 60_000, 50);
    await new Promise((r) => setTimeout(r, settleMs));
    return { proc, out };
  }

  it('with Redis alive, Ctrl-C ends the wait as before: exit 130, and the line that says how to follow the run', async () => {
    redis = await startRedisServer();
    const { proc, out } = await startBackfillCli(redis.url);
    proc.kill('SIGINT');
    expect(await exitWithin(proc, 60_000, 'after Ctrl-C'), out.stderr.slice(-2000)).to.equal('exited 130');
    const lines = out.stderr.split('\n').filter((l) => l.startsWith('phasegate: '));
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(
      /^phasegate: stopped waiting for backfill bf-\S+ \(its queued jobs stay in Redis for any `phasegate worker`\); follow it with: phasegate status --backfill bf-\S+$/,
    );
    await redis.stop();
    redis = undefined;
  });

  for (const [when, settleMs] of [
    ['', 1500],
    // Its workers still starting: the tracker's first command waited for Redis as long as it was
    // dead, and the command ran until a second Ctrl-C (CI, on a loaded machine).
    [' while its workers start', 0],
  ] as const)
    it(`with Redis dead${when}, the first Ctrl-C ends it after the wait: exit 1 and one line`, async () => {
      redis = await startRedisServer();
      const port = redis.port;
      const { proc, out } = await startBackfillCli(redis.url, settleMs);

      const server = redis;
      redis = undefined;
      server.process.kill('SIGKILL');
      await once(server.process, 'exit');
      const started = Date.now();
      proc.kill('SIGINT');
      expect(await exitWithin(proc, 30_000, 'after Ctrl-C'), out.stderr.slice(-2000)).to.equal('exited 1');
      expect(Date.now() - started).to.be.below(20_000);
      const lines = out.stderr.split('\n').filter((l) => l.startsWith('phasegate: '));
      expect(lines).to.deep.equal([
        `phasegate: Redis at 127.0.0.1:${port} did not answer for 2 s while this process stopped: it let go of its active jobs (BullMQ gives them to the next worker once their locks expire)`,
      ]);
      expect(out.stderr).to.not.include('Unhandled error event');
    });
});
