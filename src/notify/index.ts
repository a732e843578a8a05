/**
 * The process's notifier, built once per pipeline context from the configuration: the log
 * transport always, the webhook when PHASEGATE_WEBHOOK_URL is set.
 */
import type { Redis } from 'ioredis';
import { type Config, scaledMs } from '../config/load-config.ts';
import type { Keys } from '../redis/keys.ts';
import { LogTransport } from './log-transport.ts';
import { Notifier } from './notifier.ts';
import type { Transport } from './types.ts';
import { WebhookTransport } from './webhook-transport.ts';

export { LogTransport } from './log-transport.ts';
export { escapeMrkdwn } from './mrkdwn.ts';
export { digestFor, messageFor, Notifier } from './notifier.ts';
export type { NotifyEvent, NotifyKind, NotifyMessage, Transport } from './types.ts';
export { WebhookTransport } from './webhook-transport.ts';

type NotifierHost = { config: Pick<Config, 'prefix' | 'notify' | 'timeScale'>; redis: Redis; keys: Keys };

const notifiers = new WeakMap<object, Notifier>();

export function transportsFor(config: Pick<Config, 'notify'>): Transport[] {
  const out: Transport[] = [new LogTransport()];
  if (config.notify.webhookUrl) out.push(new WebhookTransport(config.notify.webhookUrl));
  return out;
}

/** The notifier of a context (one per runtime), created on first use. */
export function notifierFor(ctx: NotifierHost): Notifier {
  let n = notifiers.get(ctx);
  if (!n) {
    n = new Notifier({
      redis: ctx.redis,
      keys: ctx.keys,
      transports: transportsFor(ctx.config),
      windowMs: scaledMs(ctx.config, ctx.config.notify.windowSeconds),
    });
    notifiers.set(ctx, n);
  }
  return n;
}

/** Stops the context's notifier timers (runtime close). */
export function closeNotifier(ctx: object): void {
  notifiers.get(ctx)?.close();
  notifiers.delete(ctx);
}
