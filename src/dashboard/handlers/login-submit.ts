/**
 * POST /login — checks a token or user/password and starts a session. Failed attempts count
 * against the client's sign-in limit; over it, every attempt answers 429 until the window ends.
 */

import { checkPassword, checkToken, safeNext, startSession, tooManySignIns, unauthorized } from '../auth/middleware.ts';
import { clientOf, type Handler } from '../context.ts';

export const loginSubmit: Handler = async (c, req, res) => {
  const client = clientOf(req);
  const waitMs = await c.throttle.waitMs(client);
  if (waitMs > 0) return tooManySignIns(c, req, res, waitMs);
  const body = (req.body ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const byToken = str(body.token) !== '' && checkToken(c, str(body.token));
  const byPassword = !byToken && str(body.user) !== '' && checkPassword(c, str(body.user), str(body.password));
  if (!byToken && !byPassword) {
    await c.throttle.fail(client);
    return unauthorized(c, req, res, 'wrong token or password');
  }
  await startSession(c, req, res, byToken ? { by: 'token' } : { by: 'password', user: str(body.user) });
  res.setHeader('Cache-Control', 'no-store');
  res.redirect(303, safeNext(body.next));
};
