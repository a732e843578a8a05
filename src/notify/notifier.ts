/**
 * Notifications without storms (the incident sent ~100 e-mails per backfill): at most one
 * message per subject (table) per kind per window. Events inside an open window fold into a
 * digest, sent when the window ends — by a timer in the process that folded, or with the next
 * message of that kind, whichever comes first. Window and digest live in Redis, changed by
 * one script each, so several worker processes share one window and never each send.
 */

import { log } from '../log.ts';
import { redactDeep } from '../redact.ts';
import type { RedisClient } from '../redis/connect.ts';
import type { Keys } from '../redis/keys.ts';
import { luaScript } from '../redis/script.ts';
import { clipAtWord } from '../terminal-text.ts';
import { escapeMrkdwn } from './mrkdwn.ts';
import type { NotifyEvent, NotifyKind, NotifyMessage, SlackBlock, Transport } from './types.ts';

/**
 * Opens a window and sends, or folds the event into the open window's digest.
 * KEYS: [1] window end (ms, string), [2] digest list
 * ARGV: [1] now (ms), [2] window (ms), [3] event JSON
 * Returns {'fold', windowEnd} or {'send', windowEnd, folded events of the previous window…}.
 */
const NOTIFY = luaScript(
  'notify_window',
  ['window', 'digest'],
  `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local untilMs = tonumber(redis.call('GET', KEYS[1]) or '0')
if untilMs > now then
  redis.call('RPUSH', KEYS[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], math.max(window * 4, 60000))
  return {'fold', tostring(untilMs)}
end
local out = {'send', tostring(now + window)}
for _, item in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do out[#out + 1] = item end
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[1], tostring(now + window), 'PX', window * 2)
return out
`,
);

/**
 * Takes the digest of a window that has ended; sending it opens the next window.
 * KEYS: [1] window end, [2] digest list; ARGV: [1] now (ms), [2] window (ms)
 * Returns the folded events (empty while the window is open or nothing folded).
 */
const FLUSH = luaScript(
  'notify_flush',
  ['window', 'digest'],
  `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local untilMs = tonumber(redis.call('GET', KEYS[1]) or '0')
if untilMs > now then return {} end
local items = redis.call('LRANGE', KEYS[2], 0, -1)
if #items == 0 then return {} end
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[1], tostring(now + window), 'PX', window * 2)
return items
`,
);

const LABELS: Record<NotifyKind, string> = {
  'breaker-tripped': 'circuit breaker trips',
  'slices-deferred': 'deferrals',
  'backfill-failed': 'backfills finished with failures',
  'coverage-critical': 'games no source has',
  'coverage-digest': 'coverage digests',
};

// Slack refuses a header over 150 characters and a section over 3,000.
const HEADER_MAX = 150;
const SECTION_MAX = 3000;
const DIGEST_LINES = 20;

/** Cut at a word, ending in `…`; never inside an escape (`&amp;` cut to `&am` would show as text). */
function clip(text: string, max: number): string {
  const cut = clipAtWord(text, max);
  return cut === text ? text : cut.replace(/&[a-z]*…$/, '…');
}

interface Folded extends NotifyEvent {
  at: string;
}

export interface NotifierOptions {
  redis: RedisClient;
  keys: Pick<Keys, 'notifyWindow' | 'notifyDigest'>;
  transports: readonly Transport[];
  /** One message per subject per kind per this many ms. */
  windowMs: number;
  /** @defaultValue Date.now */
  now?: () => number;
}

export class Notifier {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly opts: NotifierOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Sends the event now, or folds it into the open window's digest. Never throws. */
  async notify(event: NotifyEvent): Promise<'sent' | 'folded'> {
    const { keys, redis, windowMs } = this.opts;
    const folded: Folded = { ...event, at: new Date(this.now()).toISOString() };
    const res = (await NOTIFY.run(
      redis,
      { window: keys.notifyWindow(event.kind, event.subject), digest: keys.notifyDigest(event.kind, event.subject) },
      this.now(),
      windowMs,
      JSON.stringify(folded),
    )) as string[];
    const [verdict, untilMs, ...earlier] = res;
    if (verdict === 'fold') {
      this.flushAt(event.kind, event.subject, Number(untilMs));
      return 'folded';
    }
    await this.deliver(
      messageFor(
        event,
        earlier.map((e) => JSON.parse(e) as Folded),
      ),
    );
    return 'sent';
  }

  /** Sends the digest of a window that has ended; true if there was one. */
  async flush(kind: NotifyKind, subject: string): Promise<boolean> {
    const { keys, redis, windowMs } = this.opts;
    const items = (await FLUSH.run(
      redis,
      { window: keys.notifyWindow(kind, subject), digest: keys.notifyDigest(kind, subject) },
      this.now(),
      windowMs,
    )) as string[];
    if (items.length === 0) return false;
    await this.deliver(
      digestFor(
        kind,
        subject,
        items.map((e) => JSON.parse(e) as Folded),
      ),
    );
    return true;
  }

  /** Stops the digest timers; a digest not sent yet goes out with the next message (here or elsewhere). */
  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private flushAt(kind: NotifyKind, subject: string, untilMs: number): void {
    const id = `${kind}\u0000${subject}`;
    if (this.closed || this.timers.has(id)) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(id);
        if (this.closed) return;
        this.flush(kind, subject).catch((err: unknown) => log.warn(`notification digest ${kind} ${subject}: ${(err as Error).message}`));
      },
      Math.max(0, untilMs - this.now()) + 5,
    );
    // A pending digest must not keep a finished CLI process alive; another process or the
    // next message sends it.
    timer.unref();
    this.timers.set(id, timer);
  }

  private async deliver(unredacted: NotifyMessage): Promise<void> {
    // A slice's failure reason may quote a URL with its key; no transport may repeat it.
    const message = redactDeep(unredacted);
    for (const transport of this.opts.transports) {
      try {
        await transport.send(message);
      } catch (err) {
        // A notification must never fail the commit that caused it.
        log.warn(`notification via ${transport.name} failed: ${(err as Error).message}`);
      }
    }
  }
}

function blocks(title: string, text: string, context?: string): SlackBlock[] {
  const out: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(title, HEADER_MAX) } },
    { type: 'section', text: { type: 'mrkdwn', text: clip(text, SECTION_MAX) } },
  ];
  if (context) out.push({ type: 'context', elements: [{ type: 'mrkdwn', text: clip(context, SECTION_MAX) }] });
  return out;
}

function lines(events: readonly Folded[]): string {
  const shown = events.slice(0, DIGEST_LINES).map((e) => `• ${e.at} — ${escapeMrkdwn(e.title)}`);
  if (events.length > DIGEST_LINES) shown.push(`• … and ${events.length - DIGEST_LINES} more`);
  return shown.join('\n');
}

/**
 * One event, with what folded into the previous window if its digest was never sent. Titles
 * and subjects are plain text: the header block shows them as is, the mrkdwn fields escaped.
 */
export function messageFor(event: NotifyEvent, earlier: readonly Folded[] = []): NotifyMessage {
  const context = earlier.length > 0 ? `Also ${earlier.length} earlier ${LABELS[event.kind]} on ${escapeMrkdwn(event.subject)}:\n${lines(earlier)}` : undefined;
  const title = `phasegate: ${event.title}`;
  return { text: `${escapeMrkdwn(title)}\n${event.text}${context ? `\n${context}` : ''}`, blocks: blocks(title, event.text, context) };
}

/** The digest of one window: every folded event, oldest first. */
export function digestFor(kind: NotifyKind, subject: string, events: readonly Folded[]): NotifyMessage {
  const title = `phasegate: ${events.length} more ${LABELS[kind]} on ${subject}`;
  const text = lines(events);
  return { text: `${escapeMrkdwn(title)}\n${text}`, blocks: blocks(title, text) };
}
