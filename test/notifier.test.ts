/**
 * Notifications without storms, against a real local HTTP receiver and real Redis: at most
 * one message per subject per kind per window, later events folded into one digest sent when
 * the window ends (or with the next message); two processes share one window; a failing
 * webhook never throws.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { setLogLevel } from '../src/log.ts';
import { LogTransport, Notifier, type NotifyEvent, type Transport, transportsFor, WebhookTransport } from '../src/notify/create-notifier.ts';
import { messageFor } from '../src/notify/notifier.ts';
import { keysFor } from '../src/redis/keys.ts';
import { Receiver } from './conflict-fixtures.ts';
import { deleteKeys, TEST_REDIS_URL, until } from './helpers.ts';

const trip = (n: number, subject = 'nba_raw.nbac_player_boxscores'): NotifyEvent => ({
  kind: 'breaker-tripped',
  subject,
  title: `circuit breaker tripped on ${subject} (#${n})`,
  text: `trip number ${n}`,
});

describe('notifier: one message per table per kind per window, the rest in a digest', function () {
  this.timeout(20_000);
  const receiver = new Receiver();
  let url: string;
  let redis: Redis;
  let prefix: string;
  const notifiers: Notifier[] = [];

  const make = (windowMs: number, transports: Transport[] = [new WebhookTransport(url)]) => {
    const n = new Notifier({ redis, keys: keysFor(prefix), transports, windowMs });
    notifiers.push(n);
    return n;
  };

  before(async () => {
    url = await receiver.start();
    redis = new Redis(TEST_REDIS_URL);
    setLogLevel('error');
  });
  beforeEach(() => {
    prefix = `test-${randomUUID().slice(0, 8)}`;
    receiver.bodies.length = 0;
    receiver.status = 200;
  });
  afterEach(async () => {
    for (const n of notifiers.splice(0)) n.close();
    await deleteKeys(TEST_REDIS_URL, `${prefix}:*`);
  });
  after(async () => {
    await redis.quit();
    await receiver.stop();
  });

  it('3 trips within a window → 1 message now + 1 digest when the window ends', async () => {
    const n = make(600);
    expect(await n.notify(trip(1))).to.equal('sent');
    expect(await n.notify(trip(2))).to.equal('folded');
    expect(await n.notify(trip(3))).to.equal('folded');
    await until(async () => (receiver.bodies.length >= 1 ? true : undefined), 'the first message');
    expect(receiver.bodies).to.have.length(1);
    expect(receiver.bodies[0]?.text).to.match(/^phasegate: circuit breaker tripped on nba_raw\.nbac_player_boxscores \(#1\)\ntrip number 1$/);
    // Slack-compatible: a fallback text and blocks.
    expect(receiver.bodies[0]?.blocks?.[0]).to.deep.equal({
      type: 'header',
      text: { type: 'plain_text', text: 'phasegate: circuit breaker tripped on nba_raw.nbac_player_boxscores (#1)' },
    });
    await until(async () => (receiver.bodies.length >= 2 ? true : undefined), 'the digest', 5000);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.bodies).to.have.length(2);
    const digest = receiver.bodies[1]?.text ?? '';
    expect(digest).to.match(/^phasegate: 2 more circuit breaker trips on nba_raw\.nbac_player_boxscores\n/);
    expect(digest).to.include('(#2)');
    expect(digest).to.include('(#3)');
  });

  it('windows are per subject and per kind', async () => {
    const n = make(5000);
    expect(await n.notify(trip(1, 'nba_raw.a'))).to.equal('sent');
    expect(await n.notify(trip(1, 'nba_raw.b'))).to.equal('sent');
    expect(await n.notify({ kind: 'slices-deferred', subject: 'nba_raw.a', title: '2 deferred', text: 'x' })).to.equal('sent');
    expect(await n.notify(trip(2, 'nba_raw.a'))).to.equal('folded');
    expect(receiver.bodies).to.have.length(3);
  });

  it('two processes share one window: only one sends, and the digest goes out once', async () => {
    const a = make(500);
    const b = make(500);
    const verdicts = await Promise.all([a.notify(trip(1)), b.notify(trip(2)), a.notify(trip(3)), b.notify(trip(4))]);
    expect(verdicts.filter((v) => v === 'sent')).to.have.length(1);
    await until(async () => (receiver.bodies.length >= 2 ? true : undefined), 'the digest', 5000);
    // Both processes' windows ended with the digest: a second one would arrive right behind it.
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.bodies).to.have.length(2);
    expect(receiver.bodies[1]?.text).to.match(/^phasegate: 3 more circuit breaker trips/);
  });

  it('a digest nobody flushed goes out with the next message of its kind', async () => {
    const first = make(300);
    await first.notify(trip(1));
    await first.notify(trip(2));
    first.close(); // the process that folded it went away before the window ended
    await new Promise((r) => setTimeout(r, 450));
    expect(receiver.bodies).to.have.length(1);
    const second = make(300);
    expect(await second.notify(trip(3))).to.equal('sent');
    expect(receiver.bodies).to.have.length(2);
    expect(receiver.bodies[1]?.text).to.include('trip number 3');
    expect(receiver.bodies[1]?.text).to.include('Also 1 earlier circuit breaker trips on nba_raw.nbac_player_boxscores');
    expect(receiver.bodies[1]?.text).to.include('(#2)');
  });

  it('a failing webhook is logged, never thrown, and the log transport still speaks', async () => {
    receiver.status = 500;
    const said: string[] = [];
    const log = new LogTransport();
    const spy = { name: 'spy', send: async (m: { text: string }) => void said.push(m.text) };
    const n = make(1000, [new WebhookTransport(url), log, spy]);
    expect(await n.notify(trip(1))).to.equal('sent');
    expect(receiver.bodies).to.have.length(1);
    expect(said).to.have.length(1);
    const dead = make(1000, [new WebhookTransport('http://127.0.0.1:9/hook', { timeoutMs: 500 })]);
    expect(await dead.notify(trip(1, 'nba_raw.other'))).to.equal('sent');
  });

  it('the configuration picks the transports: log always, webhook when PHASEGATE_WEBHOOK_URL is set', () => {
    expect(transportsFor({ notify: { webhookUrl: undefined, windowSeconds: 3600 } }).map((t) => t.name)).to.deep.equal(['log']);
    expect(transportsFor({ notify: { webhookUrl: url, windowSeconds: 3600 } }).map((t) => t.name)).to.deep.equal(['log', 'webhook']);
  });

  it('a long title or text is cut at a word with an ellipsis, never mid-word nor inside an escape', () => {
    const words = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
    // Event texts arrive escaped for mrkdwn (`&amp;`); one without a space is cut hard, but never inside an escape.
    const msg = messageFor({ kind: 'backfill-failed', subject: 'x', title: words, text: '&amp;'.repeat(1000) });
    const [first, second] = (msg.blocks ?? []) as { text: { text: string } }[];
    const header = first?.text.text ?? '';
    expect(header.length).to.be.at.most(150);
    expect(header).to.match(/ word\d+…$/);
    expect(`phasegate: ${words}`.startsWith(header.slice(0, -1))).to.equal(true);
    const section = second?.text.text ?? '';
    expect(section.length).to.be.at.most(3000);
    expect(section).to.match(/^(&amp;)+…$/);
  });
});
