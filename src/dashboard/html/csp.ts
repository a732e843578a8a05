/**
 * Content-Security-Policy of phasegate's pages. They send no script at all, so their policy
 * forbids scripts outright; a job error containing `<script>` could not run even if escaping
 * failed. The sign-in page is the one exception: it loads one script of this origin
 * (/assets/login.js), which exchanges a `#token=` login link for the session cookie. It shows
 * no pipeline data.
 */
export const PAGE_CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export const SIGN_IN_CSP = `${PAGE_CSP}; script-src 'self'`;

/**
 * Bull Board (/queues) is a JavaScript application; its page may load only what this server
 * serves (its bundle, its styles, its locale files, the API). That, and the page being
 * rewritten without its link to a public font host (bull-board.ts), is what keeps a dashboard
 * on a closed network from calling out: the fonts fall back to the system's.
 * `style-src 'unsafe-inline'`: its page and its components set inline styles; scripts stay
 * 'self' only (its inline `__UI_CONFIG__` block is JSON, which a browser does not execute).
 */
export const BULL_BOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'";
