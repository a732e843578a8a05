/**
 * Parsing of the dashboard's network settings from `PHASEGATE_*`-style variables. Kept apart
 * (and free of imports from the configuration module) so the configuration can call it.
 *
 * - `PHASEGATE_DASHBOARD_TRUST_PROXY`: whether `X-Forwarded-Proto`, `X-Forwarded-Host` and
 *   `X-Forwarded-For` are believed. `false` (default): never. `true`: from the immediate peer
 *   (one reverse proxy in front). A number: that many proxy hops. Otherwise a comma-separated
 *   list of proxy addresses or subnets (`loopback`, `uniquelocal`, `10.0.0.0/8`, …).
 * - `PHASEGATE_DASHBOARD_ALLOWED_HOSTS`: comma-separated host names (or addresses) the
 *   dashboard answers to, besides loopback names and its bind address.
 */
import { isIP } from 'node:net';
import { ConfigError } from '../errors/config-error.ts';

/** What express's `trust proxy` setting is given. */
export type TrustProxy = false | number | string;

export interface DashboardNetworkSettings {
  trustProxy: TrustProxy;
  allowedHosts: string[];
}

const NAMED_SUBNETS = new Set(['loopback', 'linklocal', 'uniquelocal']);

export function parseTrustProxy(value: string | undefined, name = 'PHASEGATE_DASHBOARD_TRUST_PROXY'): TrustProxy {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || v === 'false' || v === '0' || v === 'no' || v === 'off') return false;
  // Not express's `true` (trust every hop): that would believe a client's own X-Forwarded-For.
  if (v === 'true' || v === 'yes' || v === 'on') return 1;
  if (/^\d{1,2}$/.test(v)) return Number(v);
  const parts = v
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  for (const p of parts) {
    const [address = '', bits, ...rest] = p.split('/');
    const ok =
      NAMED_SUBNETS.has(p) ||
      (isIP(address) !== 0 && rest.length === 0 && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (isIP(address) === 4 ? 32 : 128))));
    if (!ok) throw new ConfigError(`${name}: "${p}" is not true/false, a hop count, an address, a subnet or loopback/linklocal/uniquelocal`);
  }
  return parts.join(',');
}

export function parseAllowedHosts(value: string | undefined, name = 'PHASEGATE_DASHBOARD_ALLOWED_HOSTS'): string[] {
  const hosts = (value ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  for (const h of hosts) {
    if (!/^(\[[0-9a-f:.]+\]|[0-9a-f:.]+|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?)$/.test(h)) {
      throw new ConfigError(`${name}: "${h}" is not a host name or address (no port, no scheme)`);
    }
  }
  return hosts;
}

/** Both settings from an environment-like record. */
export function dashboardNetworkSettings(env: Readonly<Record<string, string | undefined>>): DashboardNetworkSettings {
  return {
    trustProxy: parseTrustProxy(env.PHASEGATE_DASHBOARD_TRUST_PROXY),
    allowedHosts: parseAllowedHosts(env.PHASEGATE_DASHBOARD_ALLOWED_HOSTS),
  };
}
