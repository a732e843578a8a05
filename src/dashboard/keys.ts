/**
 * Every Redis key the dashboard owns, built in this one function, under the runtime's prefix
 * next to phasegate's own keys (`<prefix>:pg:…`), so a test's or a deployment's clean-up of
 * the prefix takes them along.
 */
import { createHash } from 'node:crypto';

export interface DashboardKeys {
  /**
   * String (JSON, expiring with the sign-in) per session. Named by a digest of the session id,
   * so whoever can read Redis sees which sessions exist but cannot take one over.
   */
  session(id: string): string;
  /** Counter of failed sign-ins of one client in the current window (expires with the window). */
  signInFailures(client: string): string;
  /** List of audit entries (JSON), newest first, capped. */
  audit(): string;
}

export function dashboardKeysFor(prefix: string): DashboardKeys {
  const base = `${prefix}:pg:dashboard`;
  const digest = (value: string) => createHash('sha256').update(value).digest('base64url');
  return {
    session: (id) => `${base}:session:${digest(id)}`,
    signInFailures: (client) => `${base}:sign-in-failures:${client}`,
    audit: () => `${base}:audit`,
  };
}
