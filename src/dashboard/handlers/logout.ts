/** POST /logout — drops the session cookie. */

import { clearSessionCookie } from '../auth/middleware.ts';
import type { Handler } from '../context.ts';

export const logout: Handler = async (_c, req, res) => {
  clearSessionCookie(req, res);
  res.redirect(303, '/login');
};
