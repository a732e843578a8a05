/**
 * Content-Security-Policy of phasegate's pages. They send no script at all, so their policy
 * forbids scripts outright; a job error containing `<script>` could not run even if escaping
 * failed. The sign-in page is the one exception: it loads one script of this origin
 * (/assets/login.js), which exchanges a `#token=` login link for the session cookie. It shows
 * no pipeline data. Bull Board is a JavaScript application with its own assets and keeps the
 * browser defaults.
 */
export const PAGE_CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export const SIGN_IN_CSP = `${PAGE_CSP}; script-src 'self'`;
