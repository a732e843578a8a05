/**
 * Every phasegate page and action, declared once. `app.ts` turns each entry into an express
 * route with the guards its fields ask for.
 */
import type { Handler } from './context.ts';
import { cancelBackfill } from './handlers/backfill-cancel.ts';
import { exportFailedDates } from './handlers/backfill-export.ts';
import { backfillPage } from './handlers/backfill-page.ts';
import { retryBackfillFailed } from './handlers/backfill-retry.ts';
import { coveragePage } from './handlers/coverage.ts';
import { failuresPage } from './handlers/failures.ts';
import { retryFailures } from './handlers/failures-retry.ts';
import { healthz } from './handlers/healthz.ts';
import { loginPage } from './handlers/login-page.ts';
import { loginSubmit } from './handlers/login-submit.ts';
import { logout } from './handlers/logout.ts';
import { metrics } from './handlers/metrics.ts';
import { overview } from './handlers/overview.ts';
import { tablesPage } from './handlers/tables.ts';

export interface Route {
  method: 'get' | 'post';
  path: string;
  handler: Handler;
  /** `public`: no credentials needed. @defaultValue 'signed-in' */
  access?: 'public' | 'signed-in';
  /** Changes pipeline state: refused on a read-only dashboard. Implies a CSRF check. @defaultValue false */
  changes?: boolean;
  /** A form post that must carry the CSRF token (ambient credentials). @defaultValue false */
  csrf?: boolean;
}

export const ROUTES: readonly Route[] = [
  { method: 'get', path: '/', handler: overview },
  { method: 'get', path: '/backfills/:id', handler: backfillPage },
  { method: 'get', path: '/backfills/:id/failed-dates.json', handler: exportFailedDates },
  { method: 'post', path: '/backfills/:id/retry-failed', handler: retryBackfillFailed, changes: true },
  { method: 'post', path: '/backfills/:id/cancel', handler: cancelBackfill, changes: true },
  { method: 'get', path: '/tables', handler: tablesPage },
  { method: 'get', path: '/failures', handler: failuresPage },
  { method: 'get', path: '/coverage', handler: coveragePage },
  { method: 'post', path: '/failures/retry', handler: retryFailures, changes: true },
  { method: 'get', path: '/metrics', handler: metrics },
  { method: 'get', path: '/healthz', handler: healthz, access: 'public' },
  { method: 'get', path: '/login', handler: loginPage, access: 'public' },
  { method: 'post', path: '/login', handler: loginSubmit, access: 'public' },
  { method: 'post', path: '/logout', handler: logout, csrf: true },
];
