/**
 * GET /failures — failed and deferred slices with their reason and a retry action; waiting
 * slices below; then the audit log of actions taken through the dashboard.
 */
import type { SliceStatus } from '../../queues/status-store.ts';
import { authOf, type Handler } from '../context.ts';
import { type AuditEntry, readAudit } from '../data/audit.ts';
import { type AttentionSlice, attentionSlices, type BoardPlace, boardPlaces } from '../data/failures.ts';
import { html, type SafeHtml, urlPart } from '../html/escape.ts';
import { clip, num, relative, when } from '../html/format.ts';
import { page } from '../html/layout.ts';

function backfillLink(s: SliceStatus): SafeHtml | string {
  return s.backfillId ? html`<a href="/backfills/${urlPart(s.backfillId)}" class="mono">${s.backfillId}</a>` : html`<span class="muted">live</span>`;
}

/** Where Bull Board shows the failure (see data/failures.ts: a phase job fails in BullMQ terms; a slice failed at its gate does not). */
function boardCell(p: BoardPlace | undefined): SafeHtml | string {
  if (!p || p.kind === 'gone') return html`<span class="muted">no job kept</span>`;
  if (p.kind === 'phase-job') return html`<a href="/queues/queue/${urlPart(p.queue)}/${urlPart(p.jobId)}" data-board="phase-job">failed job</a>`;
  if (p.kind === 'deferred')
    return html`<a href="/queues/queue/${urlPart(p.queue)}" data-board="deferred">table gate</a><div class="muted">held past the longest wait; no job failed</div>`;
  return html`<a href="/queues/queue/${urlPart(p.queue)}?status=failed" data-board="table-gate">table gate</a><div class="muted">failed at its commit; the phase job completed</div>`;
}

/** How many audit entries the page shows (the log keeps more). */
const AUDIT_SHOWN = 50;

function auditTable(entries: readonly AuditEntry[]): SafeHtml {
  if (entries.length === 0) return html`<p class="muted">No action has been taken through the dashboard yet.</p>`;
  return html`<table class="data" id="audit"><thead><tr><th>when</th><th>who</th><th>client</th><th>action</th><th>target</th><th>outcome</th></tr></thead><tbody>${entries.map(
    (e) =>
      html`<tr data-audit><td class="date">${when(e.at)}</td><td>${e.who}</td><td class="mono">${e.client}</td><td class="mono">${e.action}</td><td class="mono">${clip(e.target, 300)}</td><td>${clip(e.outcome, 300)}</td></tr>`,
  )}</tbody></table>`;
}

export const failuresPage: Handler = async (c, req, res) => {
  const [list, audit] = await Promise.all([attentionSlices(c.rt, 500), readAudit(c, AUDIT_SHOWN)]);
  const auth = authOf(res);
  const retryForm = (items: readonly AttentionSlice[], label: string, id?: string) =>
    c.opts.readOnly
      ? html`<button type="button" disabled title="read-only dashboard">${label}</button>`
      : html`<form class="inline" method="post" action="/failures/retry"><input type="hidden" name="_csrf" value="${auth?.csrf}">${items.map((i) => html`<input type="hidden" name="slice" value="${i.processor}/${i.slice}">`)}<button type="submit" ${id ? html`id="${id}"` : ''}>${label}</button></form>`;
  const rows = (items: readonly AttentionSlice[], withRetry: boolean, places?: readonly BoardPlace[]) =>
    items.map(
      (
        i,
        n,
      ) => html`<tr data-slice="${i.processor}/${i.slice}"><td class="mono" data-label="processor">${i.processor}</td><td class="mono date" data-label="date">${i.slice}</td><td data-label="backfill">${backfillLink(i.status)}</td>
<td data-label="status"><span class="legend"><span class="s-${i.status.status}">${i.status.status}</span></span>${i.status.nextTryAt && i.status.status === 'waiting' ? html`<div class="muted">next try ${relative(i.status.nextTryAt)}</div>` : ''}</td>
<td class="num" data-label="attempts">${num(i.status.attempts)}</td><td class="date" data-label="updated">${when(i.status.updatedAt)}</td><td class="err" data-label="reason">${clip(i.status.error, 2000) || html`<span class="muted">no reason recorded</span>`}</td>
${places ? html`<td data-label="in Bull Board">${boardCell(places[n])}</td>` : ''}${withRetry ? html`<td>${retryForm([i], 'Retry')}</td>` : ''}</tr>`,
    );
  const needing = [...list.slices.failed, ...list.slices.deferred];
  const places = await boardPlaces(c.rt, needing);
  const head = (retry: boolean) =>
    html`<thead><tr><th>processor</th><th>date</th><th>backfill</th><th>status</th><th class="num">attempts</th><th>updated</th><th>reason</th>${retry ? html`<th>in Bull Board</th><th></th>` : ''}</tr></thead>`;
  const q = req.query.enqueued;
  const body = html`<h1>Failures</h1>
${typeof q === 'string' && /^\d{1,9}$/.test(q) ? html`<p class="notice" role="status">Requeued ${q} slice(s).</p>` : ''}
<p>${num(list.counts.failed)} failed · ${num(list.counts.deferred)} deferred (waited past the maximum; nothing is dropped) · ${num(list.counts.waiting)} waiting on a busy table or the streaming buffer</p>
<h2>Failed and deferred</h2>
${needing.length === 0 ? html`<p class="muted">Nothing has failed.</p>` : html`<div class="actions">${retryForm(needing, `Retry all ${needing.length} shown`, 'retry-all')}</div><div class="wide"><table class="data stack" id="failed">${head(true)}<tbody>${rows(needing, true, places)}</tbody></table></div>`}
<h2>Waiting</h2>
${list.slices.waiting.length === 0 ? html`<p class="muted">No slice is waiting.</p>` : html`<div class="wide"><table class="data stack">${head(false)}<tbody>${rows(list.slices.waiting, false)}</tbody></table></div>`}
${list.counts.failed + list.counts.deferred > needing.length || list.counts.waiting > list.slices.waiting.length ? html`<p class="muted">Showing the newest 500 of each state.</p>` : ''}
<h2>Recent dashboard actions</h2>
<p class="muted">Retries and Bull Board changes (and refused attempts), newest first: the last ${AUDIT_SHOWN} shown.</p>
${auditTable(audit)}`;
  res.type('html').send(page({ title: 'Failures', active: 'failures', body, csrf: auth?.csrf, readOnly: c.opts.readOnly }).value);
};
