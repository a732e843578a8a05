/**
 * Who may open the dashboard: a bearer token and/or a basic-auth user, from configuration.
 * With neither configured a random token is generated at start and a login URL is printed
 * once (the way Jupyter does), and the server refuses to listen anywhere but loopback.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { Config } from '../../config/load-config.ts';
import { ConfigError } from '../../errors/config-error.ts';

export interface Credentials {
  token?: string | undefined;
  basic?: { user: string; password: string } | undefined;
  /** The token was generated at start: nobody configured credentials. */
  generated: boolean;
}

export function resolveCredentials(dashboard: Config['dashboard']): Credentials {
  const basic = dashboard.user !== undefined && dashboard.password !== undefined ? { user: dashboard.user, password: dashboard.password } : undefined;
  if (dashboard.token !== undefined || basic) return { token: dashboard.token, basic, generated: false };
  // 24 random bytes: far beyond guessing, short enough to paste.
  return { token: randomBytes(24).toString('base64url'), generated: true };
}

/** `localhost`, 127.0.0.0/8 and ::1 (with or without brackets): reachable from this machine only. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/**
 * A generated token is printed on this machine's terminal only, so it protects nothing on a
 * shared network: binding beyond loopback needs credentials someone chose.
 */
export function checkBind(host: string, credentials: Credentials): void {
  if (credentials.generated && !isLoopback(host)) {
    throw new ConfigError(
      `refusing to serve the dashboard on ${host} without credentials: set PHASEGATE_DASHBOARD_TOKEN or PHASEGATE_DASHBOARD_USER and PHASEGATE_DASHBOARD_PASSWORD, or bind to 127.0.0.1`,
    );
  }
}
