/**
 * Secrets are never repeated and upstream text cannot format a notification: each entry point
 * of issue 22 (points 5–7) as a user meets it — the CLI as a child process, a real redis-server
 * with a password, a real HTTP scraper service and webhook receiver.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { DefinitionError } from '../src/errors/definition-error.ts';
import { Registry } from '../src/processors/registry.ts';
import type { TransformDef } from '../src/processors/types.ts';
import { startCascadingBackfill, waitForCascade } from '../src/queues/backfill/cascade.ts';
import { freePort, pingRedis } from '../src/redis/ensure-redis.ts';
import { Receiver } from './conflict-fixtures.ts';
import { type CliRun, deleteKeys, openTestRuntime, runCli, TEST_REDIS_URL, type TestEnv, until } from './helpers.ts';

const PASSWORD = 'Sup3rS3cretPW';
// A loopback port nothing listens on (the discard port).
const DEAD = 9;

/** Neither output of a run holds the secret. */
function expectNoSecret(run: CliRun, ...secrets: string[]): void {
  for (const secret of secrets) {
    expect(run.stdout, 'stdout').to.not.include(secret);
    expect(run.stderr, 'stderr').to.not.include(secret);
  }
}

describe('secrets are never repeated', function () {
  this.timeout(60_000);
  let dir: string;
  let prefix: string;

  const run = (args: string[], env: Record<string, string>) =>
    runCli(args, { PHASEGATE_PREFIX: prefix, PHASEGATE_DATA_DIR: dir, PHASEGATE_LOG_LEVEL: 'info', ...env });

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'phasegate-secrets-'));
    prefix = `test-${randomUUID().slice(0, 8)}`;
  });
  after(async () => {
    await deleteKeys(TEST_REDIS_URL, `${prefix}:*`);
    await rm(dir, { recursive: true, force: true });
  });

  const noAnswer = (scheme: string) => `REDIS_URL: no Redis answers at ${scheme}://:***@127.0.0.1:${DEAD};`;

  it('status: the password in REDIS_URL is masked when nothing answers', async () => {
    const r = await run(['status'], { REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${DEAD}` });
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include(`phasegate: ${noAnswer('redis')}`);
    expectNoSecret(r, PASSWORD);
  });

  it('--redis-url: the password in the flag is masked too', async () => {
    const r = await run(['--redis-url', `redis://default:${PASSWORD}@127.0.0.1:${DEAD}`, 'status'], {});
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include(`REDIS_URL: no Redis answers at redis://default:***@127.0.0.1:${DEAD};`);
    expectNoSecret(r, PASSWORD);
  });

  it('backfill: the password is masked before anything is queued', async () => {
    const r = await run(['backfill', '--processors', 'nbac_player_boxscore', '--start', '2023-11-01', '--end', '2023-11-02'], {
      REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${DEAD}`,
    });
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include(noAnswer('redis'));
    expectNoSecret(r, PASSWORD);
  });

  it('rediss://: a TLS URL is masked the same way', async () => {
    const r = await run(['status'], { REDIS_URL: `rediss://:${PASSWORD}@127.0.0.1:${DEAD}` });
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include(noAnswer('rediss'));
    expectNoSecret(r, PASSWORD);
  });

  describe('a Redis that refuses the credentials (WRONGPASS)', () => {
    let server: ChildProcess;
    let port: number;

    before(async () => {
      port = await freePort();
      server = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', 'the-right-one', '--save', '', '--appendonly', 'no', '--dir', dir],
        { stdio: 'ignore' },
      );
      await until(() => pingRedis(`redis://:the-right-one@127.0.0.1:${port}`, 200), 'redis-server with a password', 10_000, 50);
    });
    after(async () => {
      if (server.exitCode === null) {
        server.kill('SIGTERM');
        await once(server, 'exit');
      }
    });

    it('says the credentials were refused, not that nothing answers, and masks them', async () => {
      const r = await run(['status'], { REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${port}` });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include(`phasegate: REDIS_URL: Redis at redis://:***@127.0.0.1:${port} refused the credentials (WRONGPASS`);
      expect(r.stderr).to.not.include('no Redis answers');
      expectNoSecret(r, PASSWORD);
    });
  });

  describe('a scraper URL with credentials', () => {
    let service: http.Server;
    let requests = 0;

    before(async () => {
      service = http.createServer((req, res) => {
        requests += 1;
        req.resume();
        res.writeHead(500).end('down');
      });
      service.listen(0, '127.0.0.1');
      await once(service, 'listening');
    });
    after(async () => {
      service.closeAllConnections();
      await new Promise<void>((resolve) => service.close(() => resolve()));
    });

    it('is a configuration error shown redacted (exit 2), and no request is made or retried', async () => {
      const { port } = service.address() as AddressInfo;
      const r = await run(['backfill', '--processors', 'nbac_player_boxscore_scraper', '--start', '2023-11-01', '--end', '2023-11-01', '--workers', '1'], {
        REDIS_URL: TEST_REDIS_URL,
        PHASEGATE_SOURCE: 'service',
        PHASEGATE_SCRAPER_URL: `http://scraper:Scr4perPassw0rd@127.0.0.1:${port}/scrape?key=K3yS3cret&season=2023`,
      });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include(
        `phasegate: PHASEGATE_SCRAPER_URL: credentials in the URL are not sent (fetch refuses a URL with user:password@); remove them and let the service take a key in the query (got http://scraper:***@127.0.0.1:${port}/scrape?key=***&season=2023)`,
      );
      expect(r.stderr.trim().split('\n')).to.have.length(1);
      expectNoSecret(r, 'Scr4perPassw0rd', 'K3yS3cret');
      expect(requests).to.equal(0);
    });
  });
});

describe('upstream text in a notification', function () {
  this.timeout(60_000);
  const receiver = new Receiver();
  let env: TestEnv;
  const hostile = 'upstream said <!channel> see <https://evil.example/login|docs.nba.com> & retry with ?api_key=Upstr3amK3y';

  const failing: TransformDef = {
    kind: 'transform',
    name: 'hostile_upstream',
    phase: 2,
    description: 'fails every date with an upstream error body',
    table: {
      dataset: 'nba_raw',
      table: 'hostile_upstream',
      columns: [{ name: 'game_date', type: 'DATE' }],
      primaryKey: ['game_date'],
      sliceColumn: 'game_date',
    },
    dependsOn: [],
    run: async () => {
      throw new DefinitionError(hostile);
    },
  };

  before(async () => {
    const url = await receiver.start();
    env = await openTestRuntime({ PHASEGATE_TIME_SCALE: '200', PHASEGATE_WEBHOOK_URL: url }, { registry: new Registry([failing]) });
  });
  after(async () => {
    await env?.cleanup();
    await receiver.stop();
  });

  it('reaches the webhook escaped for Slack mrkdwn and redacted, with phasegate’s own formatting kept', async () => {
    const rt = env.rt;
    await rt.startWorkers({ phases: [2], commit: true, concurrency: 1 });
    const record = await startCascadingBackfill(rt, { processors: [failing], dates: ['2024-01-01'], cascade: true });
    await waitForCascade(rt, record, { pollMs: 50, timeoutMs: 30_000 });
    const notice = await until(async () => receiver.bodies.find((b) => b.text.includes(`backfill ${record.id} finished`)), 'the finished notice', 10_000);
    const body = JSON.stringify(notice);
    expect(body).to.not.include('<!channel>');
    expect(body).to.not.include('<https://');
    expect(body).to.not.include('Upstr3amK3y');
    expect(notice.text).to.include('upstream said &lt;!channel&gt; see &lt;https://evil.example/login|docs.nba.com&gt; &amp; retry with ?api_key=***');
    // phasegate's own mrkdwn is untouched.
    expect(notice.text).to.include(`See \`phasegate status --backfill ${record.id}\``);
  });
});
