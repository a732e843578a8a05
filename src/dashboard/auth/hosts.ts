/**
 * Which `Host` a request may name. A page on another site can point its own domain at
 * 127.0.0.1 (DNS rebinding) and then talk to the dashboard as "same origin"; the browser still
 * sends that domain as Host, so refusing unknown host names closes the door. Loopback names are
 * always accepted (only this machine reaches them); so is the bind address, every address of
 * this machine when bound to all interfaces, and the names configured in
 * PHASEGATE_DASHBOARD_ALLOWED_HOSTS.
 */
import { hostname, networkInterfaces } from 'node:os';
import { isLoopback } from './credentials.ts';

export function normalizeHost(host: string): string {
  return host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '0:0:0:0:0:0:0:0';
}

/** The host names a dashboard bound to `bindHost` answers to, besides loopback names. */
export function allowedHostNames(bindHost: string, extra: readonly string[]): Set<string> {
  const names = new Set(extra.map(normalizeHost));
  const bind = normalizeHost(bindHost);
  if (isWildcard(bind)) {
    names.add(normalizeHost(hostname()));
    for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) names.add(normalizeHost(i.address));
  } else {
    names.add(bind);
  }
  return names;
}

/** `hostname` is express's `req.hostname` (no port; X-Forwarded-Host when the proxy is trusted). */
export function hostAllowed(names: ReadonlySet<string>, host: string | undefined): boolean {
  if (host === undefined || host === '') return false;
  const h = normalizeHost(host);
  return isLoopback(h) || names.has(h);
}
