/**
 * Runs the dashboard: checks the bind address against the credentials, listens, samples
 * queue depth for the charts, prints the login URL once, and closes everything it opened.
 * The login URL carries a token in its fragment (`/login#token=…`), never in the query.
 */
import type { AddressInfo } from 'node:net';
import type { Runtime } from '../runtime.ts';
import { buildApp, createDashboardContext, type DashboardInput } from './app.ts';
import { type Credentials, checkBind, resolveCredentials } from './auth/credentials.ts';
import { queueCounts } from './data/queue-list.ts';

export interface StartOptions extends Partial<DashboardInput> {
  /** @defaultValue config.dashboard.host (PHASEGATE_DASHBOARD_HOST, 127.0.0.1) */
  host?: string;
  /** 0 picks a free port. @defaultValue config.dashboard.port (PHASEGATE_DASHBOARD_PORT, 3000) */
  port?: number;
  /** Where the one-time sign-in line goes. @defaultValue standard error */
  announce?: (line: string) => void;
}

export interface RunningDashboard {
  url: string;
  /** The URL that signs a browser in: `/login#token=…` when there is a token (the fragment never reaches a server or a log). */
  loginUrl: string;
  credentials: Credentials;
  close(): Promise<void>;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startDashboard(rt: Runtime, opts: StartOptions = {}): Promise<RunningDashboard> {
  const host = opts.host ?? rt.config.dashboard.host;
  const credentials = opts.credentials ?? resolveCredentials(rt.config.dashboard);
  checkBind(host, credentials);
  const c = createDashboardContext(rt, { ...opts, host, credentials });
  const app = buildApp(c);
  const server = app.listen(opts.port ?? rt.config.dashboard.port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${urlHost(host)}:${port}`;
  const loginUrl = credentials.token !== undefined ? `${url}/login#token=${encodeURIComponent(credentials.token)}` : `${url}/login`;
  c.depth.start(c.opts.sampleEveryMs, () => queueCounts(rt));
  const announce = opts.announce ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (credentials.generated) announce(`phasegate dashboard: ${url}  — sign in with this URL (printed once): ${loginUrl}`);
  else announce(`phasegate dashboard: ${url} (sign in with the configured ${credentials.token !== undefined ? 'token' : 'user and password'})`);
  let closing: Promise<void> | undefined;
  return {
    url,
    loginUrl,
    credentials,
    close() {
      closing ??= (async () => {
        await c.depth.stop();
        // Browsers keep connections alive; close them so close() does not wait for their timeout.
        server.closeAllConnections();
        await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
      })();
      return closing;
    },
  };
}
