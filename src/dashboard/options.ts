/** Options of the dashboard, one interface, defaults in one object. */
import type { Credentials } from './auth/credentials.ts';
import { type BreakerReader, readBreaker } from './data/breaker.ts';
import { type ConflictReader, readConflicts } from './data/conflicts.ts';

export interface DashboardOptions {
  /** Who may sign in (see `resolveCredentials`). Required: the caller decides, the app never guesses. */
  credentials: Credentials;
  /**
   * Bull Board refuses changes and the dashboard's retry actions answer 403.
   * @defaultValue config.dashboard.readOnly (PHASEGATE_DASHBOARD_READ_ONLY)
   */
  readOnly: boolean;
  /** Where breaker state comes from. @defaultValue readBreaker (no data until the breaker exists) */
  breaker: BreakerReader;
  /** Where conflicts come from. @defaultValue readConflicts (no data until the conflict log exists) */
  conflicts: ConflictReader;
  /** How long a sign-in lasts. @defaultValue 43_200_000 (12 h) */
  sessionTtlMs: number;
  /** Queue-depth sampling interval of a running server. @defaultValue 15_000 */
  sampleEveryMs: number;
  /** Auto-refresh of pages that change while work runs, in seconds; 0 turns it off. @defaultValue 10 */
  refreshSeconds: number;
}

export const DASHBOARD_DEFAULTS = {
  breaker: readBreaker,
  conflicts: readConflicts,
  sessionTtlMs: 12 * 3_600_000,
  sampleEveryMs: 15_000,
  refreshSeconds: 10,
} satisfies Partial<DashboardOptions>;
