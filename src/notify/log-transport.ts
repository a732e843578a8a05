/** Writes messages to the process log: always on, so an announcement is never only in Slack. */
import { log } from '../log.ts';
import type { NotifyMessage, Transport } from './types.ts';

export class LogTransport implements Transport {
  readonly name = 'log';

  async send(message: NotifyMessage): Promise<void> {
    log.warn(`notification: ${message.text}`);
  }
}
