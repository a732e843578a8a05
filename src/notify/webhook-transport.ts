/** Posts messages to a Slack-compatible incoming webhook (`{text, blocks}` as JSON). */
import { TransientError } from '../errors/transient-error.ts';
import type { NotifyMessage, Transport } from './types.ts';

export interface WebhookOptions {
  /** A hung receiver must not hold a commit job. @defaultValue 5000 */
  timeoutMs?: number;
}

export class WebhookTransport implements Transport {
  readonly name = 'webhook';
  private readonly url: string;
  private readonly timeoutMs: number;

  constructor(url: string, options: WebhookOptions = {}) {
    this.url = url;
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  async send(message: NotifyMessage): Promise<void> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(message),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    // Drain the body so the socket goes back to the pool.
    const body = await res.text();
    if (!res.ok) throw new TransientError(`webhook answered HTTP ${res.status}: ${body.slice(0, 200)}`);
  }
}
