/** POST /login — checks a token or user/password and sets the session cookie. */

import { checkPassword, checkToken, safeNext, setSessionCookie, unauthorized } from '../auth/middleware.ts';
import type { Handler } from '../context.ts';

export const loginSubmit: Handler = async (c, req, res) => {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const ok = (str(body.token) !== '' && checkToken(c, str(body.token))) || (str(body.user) !== '' && checkPassword(c, str(body.user), str(body.password)));
  if (!ok) return unauthorized(c, req, res, 'wrong token or password');
  setSessionCookie(c, req, res);
  res.redirect(303, safeNext(body.next));
};
