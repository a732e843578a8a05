/** The frame every phasegate page shares: navigation, stylesheet, optional auto-refresh. */
import { type HtmlValue, html, type SafeHtml } from './escape.ts';

export type NavItem = 'overview' | 'tables' | 'failures' | 'coverage' | 'queues' | 'none';

export interface PageOptions {
  title: string;
  active: NavItem;
  body: HtmlValue;
  /** Reload the page every N seconds (a meta refresh: no script needed). */
  refreshSeconds?: number | undefined;
  /** The signed-in view gets navigation and a sign-out button (which needs the CSRF token). */
  csrf?: string | undefined;
  readOnly?: boolean | undefined;
}

const NAV: { id: NavItem; href: string; label: string }[] = [
  { id: 'overview', href: '/', label: 'Overview' },
  { id: 'tables', href: '/tables', label: 'Tables' },
  { id: 'failures', href: '/failures', label: 'Failures' },
  { id: 'coverage', href: '/coverage', label: 'Coverage' },
  { id: 'queues', href: '/queues', label: 'Queues (Bull Board)' },
];

export function page(opts: PageOptions): SafeHtml {
  const nav =
    opts.csrf !== undefined
      ? html`${NAV.map((n) => html`<a href="${n.href}" class="${n.id === opts.active ? 'active' : ''}">${n.label}</a>`)}<a href="/metrics">Metrics</a>
      ${opts.readOnly ? html`<span class="ro" title="PHASEGATE_DASHBOARD_READ_ONLY">read-only</span>` : ''}
      <form method="post" action="/logout"><input type="hidden" name="_csrf" value="${opts.csrf}"><button type="submit">Sign out</button></form>`
      : '';
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
${opts.refreshSeconds ? html`<meta http-equiv="refresh" content="${opts.refreshSeconds}">` : ''}
<title>${opts.title} · phasegate</title><link rel="stylesheet" href="/assets/dashboard.css"></head>
<body><header class="top"><span class="brand">phasegate</span>${nav}</header>
<main>${opts.body}</main></body></html>`;
}
