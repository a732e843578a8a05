/**
 * Slack mrkdwn treats `<`, `>` and `&` as control characters: `<!channel>` notifies a whole
 * channel and `<https://evil|docs.example>` shows one link while opening another
 * (api.slack.com/reference/surfaces/formatting#escaping). Text phasegate did not write — an
 * upstream error, a slice's failure reason — is escaped before it joins a message; phasegate's
 * own markup (`*bold*`, `` `code` ``) is written around it and stays.
 */

/** Untrusted text as inert mrkdwn. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The text a reader sees, for transports that are not Slack (the log). */
export function unescapeMrkdwn(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
