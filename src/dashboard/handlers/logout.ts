/** POST /logout — ends the session on the server (its Redis record is deleted) and drops the cookie. */

import { clearSessionCookie } from '../auth/middleware.ts';
import { authOf, type Handler } from '../context.ts';

export const logout: Handler = async (c, req, res) => {
  const session = authOf(res)?.session;
  if (session !== undefined) await c.sessions.revoke(session);
  clearSessionCookie(req, res);
  res.redirect(303, '/login');
};
