/** Options of the dashboard, one interface, defaults in one object. */

import type { TrustProxy } from '../config/dashboard-settings.ts';
import type { Credentials } from './auth/credentials.ts';
import type { SignInLimit } from './auth/throttle.ts';

export interface DashboardOptions {
  /** Who may sign in (see `resolveCredentials`). Required: the caller decides, the app never guesses. */
  credentials: Credentials;
  /**
   * Bull Board refuses changes and the dashboard's retry actions answer 403.
   * @defaultValue config.dashboard.readOnly (PHASEGATE_DASHBOARD_READ_ONLY)
   */
  readOnly: boolean;
  /**
   * The address the server is bound to: decides which Host names are accepted by default
   * (loopback names always; the bind address; every local address when bound to all).
   * @defaultValue config.dashboard.host (PHASEGATE_DASHBOARD_HOST)
   */
  host: string;
  /**
   * More Host names the dashboard answers to (a reverse proxy's public name).
   * @defaultValue config.dashboard.allowedHosts (PHASEGATE_DASHBOARD_ALLOWED_HOSTS), else none
   */
  allowedHosts: readonly string[];
  /**
   * Whether X-Forwarded-Proto/-Host/-For are believed (express `trust proxy`): false, a hop
   * count, or proxy addresses. Decides `Secure` on the cookie and the client address the
   * sign-in limit counts. @defaultValue config.dashboard.trustProxy (PHASEGATE_DASHBOARD_TRUST_PROXY), else false
   */
  trustProxy: TrustProxy;
  /** Failed sign-ins per client before 429. @defaultValue 10 per 60 s */
  signInLimit: SignInLimit;
  /** How long a sign-in lasts. @defaultValue 43_200_000 (12 h) */
  sessionTtlMs: number;
  /** Queue-depth sampling interval of a running server. @defaultValue 15_000 */
  sampleEveryMs: number;
  /** Auto-refresh of pages that change while work runs, in seconds; 0 turns it off. @defaultValue 10 */
  refreshSeconds: number;
}

export const DASHBOARD_DEFAULTS = {
  signInLimit: { max: 10, windowMs: 60_000 },
  sessionTtlMs: 12 * 3_600_000,
  sampleEveryMs: 15_000,
  refreshSeconds: 10,
} satisfies Partial<DashboardOptions>;
