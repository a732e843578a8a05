/** Writes messages to the process log: always on, so an announcement is never only in Slack. */
import { log } from '../log.ts';
import { unescapeMrkdwn } from './mrkdwn.ts';
import type { NotifyMessage, Transport } from './types.ts';

export class LogTransport implements Transport {
  readonly name = 'log';

  async send(message: NotifyMessage): Promise<void> {
    // The log is not Slack: it shows the text as a reader of the message would see it.
    log.warn(`notification: ${unescapeMrkdwn(message.text)}`);
  }
}
