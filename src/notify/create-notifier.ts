/**
 * The process's notifier, built once per pipeline context from the configuration: the log
 * transport always, the webhook when PHASEGATE_WEBHOOK_URL is set.
 */

import { type Config, scaledMs } from '../config/load-config.ts';
import type { RedisClient } from '../redis/connect.ts';
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

type NotifierHost = { config: Pick<Config, 'prefix' | 'notify' | 'timeScale'>; redis: RedisClient; keys: Keys };

export function transportsFor(config: Pick<Config, 'notify'>): Transport[] {
  const out: Transport[] = [new LogTransport()];
  if (config.notify.webhookUrl) out.push(new WebhookTransport(config.notify.webhookUrl));
  return out;
}

/** The notifier a pipeline context carries (one per runtime; the runtime closes it). */
export function createNotifier(host: NotifierHost): Notifier {
  return new Notifier({
    redis: host.redis,
    keys: host.keys,
    transports: transportsFor(host.config),
    windowMs: scaledMs(host.config, host.config.notify.windowSeconds),
  });
}
