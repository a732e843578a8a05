/** One line of `phasegate doctor`: what was checked, what was found, and how to fix it. */

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  /** What was checked, e.g. `redis`, `dataset nba_raw`, `table nba_raw.nbac_player_boxscores`. */
  subject: string;
  status: CheckStatus;
  /** What was found, one line. */
  detail: string;
  /** How to fix a warning or failure, one line. */
  fix?: string | undefined;
  /**
   * A failure that makes every commit fail (a missing column, a dataset BigQuery cannot read
   * the bucket from): a worker refuses to start its table gates on one. @defaultValue false
   */
  blocksCommits?: boolean | undefined;
}

const MARK: Record<CheckStatus, string> = { ok: '✓', warn: '!', fail: '✗' };

export function ok(subject: string, detail: string): Check {
  return { subject, status: 'ok', detail };
}

export function warn(subject: string, detail: string, fix?: string): Check {
  return { subject, status: 'warn', detail, fix };
}

export function fail(subject: string, detail: string, fix: string, blocksCommits = false): Check {
  return { subject, status: 'fail', detail, fix, blocksCommits };
}

/** `✓ redis: …`, `! redis persistence: … — fix: …`, `✗ table …: … — fix: …`. */
export function formatCheck(c: Check): string {
  return `${MARK[c.status]} ${c.subject}: ${c.detail}${c.fix ? ` — fix: ${c.fix}` : ''}`;
}

export function formatChecks(checks: readonly Check[]): string {
  return checks.map(formatCheck).join('\n');
}

/** `phasegate doctor` exits 1 on any failure; warnings alone exit 0. */
export function exitCodeOf(checks: readonly Check[]): 0 | 1 {
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
}

/** The failures a worker refuses to start on. */
export function blocking(checks: readonly Check[]): Check[] {
  return checks.filter((c) => c.status === 'fail' && c.blocksCommits === true);
}

/** The message of a thrown value, first line only (client errors can run to pages). */
export function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] ?? text;
}
