/** What the notifier sends and through what. */

/** The announcements phasegate makes; anything else goes to the log only. */
/**
 * `coverage-critical`: scheduled games no source has after the fallback (sent at once);
 * `coverage-digest`: the audit's other findings, one message per audit run (seed 004).
 */
export const NOTIFY_KINDS = ['breaker-tripped', 'slices-deferred', 'backfill-failed', 'coverage-critical', 'coverage-digest'] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];

export interface NotifyEvent {
  kind: NotifyKind;
  /** What the event is about — a table (`dataset.table`) or a backfill's processors. One window each. */
  subject: string;
  /** One line, plain text (escaped by the notifier where it goes into mrkdwn). */
  title: string;
  /** Details, Slack mrkdwn: any text phasegate did not write goes through `escapeMrkdwn` (./mrkdwn.ts). */
  text: string;
}

/** A Slack block (the subset we send). */
export type SlackBlock =
  | { type: 'header'; text: { type: 'plain_text'; text: string } }
  | { type: 'section'; text: { type: 'mrkdwn'; text: string } }
  | { type: 'context'; elements: { type: 'mrkdwn'; text: string }[] };

/** Slack-compatible incoming-webhook body: `text` is the fallback every receiver shows. */
export interface NotifyMessage {
  text: string;
  blocks?: SlackBlock[];
}

export interface Transport {
  readonly name: string;
  /** Delivers one message; throws when it could not. */
  send(message: NotifyMessage): Promise<void>;
}
