/**
 * GET /login — the sign-in form (also the body of every 401 a browser sees). Its one script,
 * /assets/login.js, signs in with a login link's `#token=…`: it removes the fragment from the
 * address bar and history, then posts the token with this form.
 */
import type { DashboardContext, Handler } from '../context.ts';
import { SIGN_IN_CSP } from '../html/csp.ts';
import { html, type SafeHtml } from '../html/escape.ts';
import { page } from '../html/layout.ts';

export function loginHtml(c: DashboardContext, opts: { next: string; error?: string | undefined }): SafeHtml {
  const { token, basic, generated } = c.opts.credentials;
  return page({
    title: 'Sign in',
    active: 'none',
    body: html`<div class="login"><h1>Sign in to phasegate</h1>
${opts.error ? html`<p class="warn">${opts.error}</p>` : ''}
<form id="login-form" method="post" action="/login">
<input type="hidden" name="next" value="${opts.next}">
${basic ? html`<label for="user">User</label><input id="user" name="user" autocomplete="username"><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">` : ''}
${token !== undefined ? html`<label for="token">Token</label><input id="token" name="token" type="password" autocomplete="off">` : ''}
<button class="primary" type="submit">Sign in</button></form>
<p class="muted">${generated ? 'The token was printed on the terminal that started the dashboard (its login link signs you in directly).' : 'Use the token or user and password from the dashboard configuration (PHASEGATE_DASHBOARD_*).'}</p></div>
${token !== undefined ? html`<script src="/assets/login.js"></script>` : ''}`,
  });
}

export const loginPage: Handler = async (c, req, res) => {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Security-Policy', SIGN_IN_CSP);
  res.type('html').send(loginHtml(c, { next: typeof req.query.next === 'string' ? req.query.next : '/' }).value);
};
