/**
 * GET /backfills/:id — the dates × processors grid of one backfill's own outcome (see
 * data/backfill-outcome.ts): a later run of the same slices does not rewrite it, it marks
 * them "re-run by …". With `--cascade` the grid has a row for every processor the cascade
 * reaches (phases 3–5 too), and the backfill reads "finished" only when all of them are.
 * A waiting or staged cell's tooltip says why it waits and until when (data/table-waits.ts).
 *
 * Built for 853 dates × 6 processors (5,118 cells): statuses come from two HMGETs per
 * processor, every cell is one `<td>` whose colour is a class and whose tooltip is its title,
 * and the page is rendered in one pass of string building. The time taken is sent as a
 * `Server-Timing` header.
 */

import { performance } from 'node:perf_hooks';
import { NotFoundError } from '../../errors/not-found-error.ts';
import { tableId } from '../../processors/types.ts';
import { type BackfillRecord, getBackfill } from '../../queues/backfill/backfill.ts';
import { PHASE_STATES } from '../../queues/backfill/cascade.ts';
import { readBreaker } from '../../queues/conflicts/breaker.ts';
import { datesNow } from '../../queues/runs/views.ts';
import { FINAL_STATES, SLICE_STATES, STATUS_STORE_DEFAULTS } from '../../queues/status-store.ts';
import { authOf, type DashboardContext, type Handler } from '../context.ts';
import { actionable, type BackfillOutcome, backfillOutcome, type OutcomeCell, type OutcomeRow } from '../data/backfill-outcome.ts';
import { PHASE_TITLES } from '../data/queue-list.ts';
import { readTableWaits, sliceWaits, type TableWaits } from '../data/table-waits.ts';
import { escapeHtml, html, type SafeHtml, trusted, urlPart } from '../html/escape.ts';
import { clip, num, relative, when } from '../html/format.ts';
import { page } from '../html/layout.ts';

function rerunLine(cell: OutcomeCell): string | undefined {
  const r = cell.rerun;
  if (!r) return undefined;
  const who = r.by ?? 'a run outside any backfill';
  const now = `now ${r.latest.status}${r.latest.error && r.latest.status !== 'committed' ? `: ${clip(r.latest.error, 200)}` : ''} (updated ${when(r.latest.updatedAt)})`;
  return cell.status === r.latest ? `run by ${who} (it took the work over): ${now}` : `re-run by ${who} since: ${now}`;
}

function tooltip(processor: string, date: string, cell: OutcomeCell, waits: readonly { text: string }[], now: number): string {
  const s = cell.status;
  if (!s) return `${processor} · ${date}\nno status recorded`;
  const lines = [`${processor} · ${date}`, `status: ${s.status}`];
  for (const w of waits) lines.push(`waits: ${w.text}`);
  if (s.rows !== undefined) lines.push(`rows: ${s.rows}`);
  if (s.attempts !== undefined) lines.push(`attempts: ${s.attempts}`);
  if (s.nextTryAt && s.status === 'waiting') lines.push(`next try: ${when(s.nextTryAt)} (${relative(s.nextTryAt, now)})`);
  if (s.committedAt && (s.status === 'committed' || (s.status === 'incomplete' && !s.nothingLanded))) lines.push(`committed: ${when(s.committedAt)}`);
  if (s.expectedGames !== undefined)
    lines.push(s.expectedGames === null ? 'scheduled games: no schedule for this date' : `scheduled games: ${s.expectedGames}`);
  if (s.missingGames?.length) lines.push(`missing games: ${s.missingGames.join(', ')}`);
  if (s.warnings) lines.push(`rows with warnings: ${s.warnings} (quality_issues)`);
  if (s.note) lines.push(`note: ${clip(s.note, 300)}`);
  if (s.error && s.status !== 'committed') lines.push(`${s.status === 'incomplete' || s.status === 'empty' ? 'why' : 'error'}: ${clip(s.error, 600)}`);
  lines.push(`updated: ${when(s.updatedAt)}`);
  const rerun = rerunLine(cell);
  if (rerun) lines.push(rerun);
  return lines.join('\n');
}

/** A row's label: its phase before the first processor of each phase. */
function phaseLabel(row: OutcomeRow): string {
  return row.phase === undefined ? 'not in the registry' : `phase ${row.phase} · ${PHASE_TITLES[row.phase]}`;
}

/** The grid, month by month (a calendar reads better than one 853-row table); a cascade's rows grouped by phase. */
function renderGrid(outcome: BackfillOutcome, waitsOf: (processor: string) => TableWaits | undefined, now: number): string {
  const { record, rows } = outcome;
  const months = new Map<string, number[]>();
  record.dates.forEach((d, i) => {
    const m = d.slice(0, 7);
    const list = months.get(m);
    if (list) list.push(i);
    else months.set(m, [i]);
  });
  const phased = new Set(rows.map((r) => r.phase)).size > 1;
  const out: string[] = ['<div class="months">'];
  const names = rows.map((r) => escapeHtml(r.processor));
  for (const [month, indexes] of months) {
    out.push(`<section class="month"><h3>${escapeHtml(month)}</h3><table class="grid"><thead><tr><th></th>`);
    for (const i of indexes) out.push(`<th>${escapeHtml(record.dates[i]?.slice(8) ?? '')}</th>`);
    out.push('</tr></thead><tbody>');
    rows.forEach((row, ri) => {
      if (phased && (ri === 0 || rows[ri - 1]?.phase !== row.phase))
        out.push(`<tr class="phase"><th colspan="${indexes.length + 1}">${escapeHtml(phaseLabel(row))}</th></tr>`);
      const waits = waitsOf(row.processor);
      out.push(`<tr data-p="${names[ri]}"><th>${names[ri]}</th>`);
      for (const i of indexes) {
        const cell = row.cells[i] ?? { status: undefined };
        const date = record.dates[i] ?? '';
        const why = sliceWaits(date, cell.status, waits, now);
        const s = cell.status;
        out.push(
          `<td class="s-${s ? escapeHtml(s.status) : 'none'}" data-d="${escapeHtml(date)}"${cell.rerun ? ` data-rerun="${escapeHtml(cell.rerun.by ?? 'outside')}"` : ''}${why.length > 0 ? ` data-why="${why.map((w) => w.kind).join(' ')}"` : ''} title="${escapeHtml(tooltip(row.processor, date, cell, why, now))}"></td>`,
        );
      }
      out.push('</tr>');
    });
    out.push('</tbody></table></section>');
  }
  out.push('</div>');
  return out.join('');
}

/** The wait reasons of every table a row with a staged or waiting cell writes to, read once per table. */
async function waitsByProcessor(c: DashboardContext, outcome: BackfillOutcome, now: number): Promise<Map<string, TableWaits>> {
  const tables = new Map<string, string[]>();
  for (const row of outcome.rows) {
    if (!c.rt.registry.has(row.processor)) continue;
    const def = c.rt.registry.get(row.processor);
    if (def.kind !== 'transform' || !row.cells.some((cell) => cell.status?.status === 'waiting' || cell.status?.status === 'staged')) continue;
    const table = tableId(def.table);
    tables.set(table, [...(tables.get(table) ?? []), row.processor]);
  }
  const out = new Map<string, TableWaits>();
  await Promise.all(
    [...tables].map(async ([table, processors]) => {
      const breaker = await readBreaker(c.rt, table).catch(() => undefined);
      const waits = await readTableWaits(c.rt, table, { breaker, now });
      for (const p of processors) out.set(p, waits);
    }),
  );
  return out;
}

function statusLine(outcome: BackfillOutcome): SafeHtml {
  if (outcome.done) return html`<span class="badge closed" id="state">finished</span>`;
  const requestedDone = outcome.rows.filter((r) => r.requested).every((r) => r.cells.every((c) => c.status && FINAL_STATES.has(c.status.status)));
  const open = outcome.rows
    .filter((r) => !r.cells.every((c) => c.status && FINAL_STATES.has(c.status.status)))
    .map((r) => r.phase)
    .filter((p) => p !== undefined);
  const phases = [...new Set(open)].sort();
  return html`<span class="badge half-open" id="state">running</span>${requestedDone && phases.length > 0 ? html` <span class="muted">the requested processors are done; the cascade still has phase ${phases.join(', ')} work</span>` : ''}`;
}

function phaseTable(outcome: BackfillOutcome): SafeHtml | string {
  const phases = Object.entries(outcome.perPhase);
  if (!outcome.record.cascade || phases.length === 0) return '';
  return html`<table class="data summary" id="phases"><thead><tr><th>phase</th>${PHASE_STATES.map((s) => html`<th class="num">${s}</th>`)}</tr></thead><tbody>${phases.map(
    ([phase, counts]) =>
      html`<tr data-phase="${phase}"><td>phase ${phase} · ${PHASE_TITLES[Number(phase) as keyof typeof PHASE_TITLES]}</td>${PHASE_STATES.map((s) => html`<td class="num" data-count="phase${phase}:${s}">${num(counts[s])}</td>`)}</tr>`,
  )}</tbody></table>`;
}

export const backfillPage: Handler = async (c, req, res) => {
  const started = performance.now();
  const id = String(req.params.id);
  let record: BackfillRecord;
  try {
    record = await getBackfill(c.rt, id);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    res
      .status(404)
      .type('html')
      .send(
        page({
          title: 'Unknown backfill',
          active: 'overview',
          csrf: authOf(res)?.csrf,
          body: html`<h1>Unknown backfill</h1><p>There is no backfill <span class="mono">${id}</span>. <a href="/">Overview →</a></p>`,
        }).value,
      );
    return;
  }
  const now = Date.now();
  const outcome = await backfillOutcome(c.rt, record);
  const waits = await waitsByProcessor(c, outcome, now);
  const current = await datesNow(c.rt, outcome.graph);
  const readMs = performance.now() - started;
  let retryable = 0;
  for (const row of outcome.rows) for (const cell of row.cells) if (actionable(cell)) retryable += 1;
  const totals = Object.fromEntries(SLICE_STATES.map((s) => [s, 0])) as Record<(typeof SLICE_STATES)[number], number>;
  for (const row of outcome.rows) for (const s of SLICE_STATES) totals[s] += row.counts[s];

  // The outcome of a retry arrives in the query string (POST → redirect → GET); it is only shown as counts.
  const count = (key: string) => {
    const v = req.query[key];
    return typeof v === 'string' && /^\d{1,9}$/.test(v) ? Number(v) : 0;
  };
  const notice =
    req.query.enqueued !== undefined
      ? html`<p class="notice" role="status" id="retry-notice">Requeued ${count('enqueued')} slice(s)${count('carried') ? html`, ${count('carried')} more follow their upstream` : ''}${count('already') ? html`, ${count('already')} were still queued` : ''}${count('skipped') ? html`, ${count('skipped')} were no longer failed` : ''}.</p>`
      : req.query.cancelled !== undefined
        ? html`<p class="notice" role="status" id="cancel-notice">Cancelled: ${count('cancelled')} slice(s) will not run; ${count('landing')} running or staged slice(s) still land.</p>`
        : '';
  const rerunOf = (row: OutcomeRow) => row.cells.filter((cell) => cell.rerun).length;
  const auth = authOf(res);
  const summary = html`<div class="wide"><table class="data summary"><thead><tr><th>processor</th><th>phase</th>${SLICE_STATES.map((s) => html`<th class="num"><span class="legend"><span class="s-${s}">${s}</span></span></th>`)}<th class="num">re-run since</th><th class="num">total</th></tr></thead><tbody>
${outcome.rows.map((r) => html`<tr data-row="${r.processor}"><td class="mono">${r.processor}${r.requested ? '' : html` <span class="muted">(cascade)</span>`}</td><td>${r.phase ?? '—'}</td>${SLICE_STATES.map((s) => html`<td class="num" data-count="${r.processor}:${s}">${num(r.counts[s])}</td>`)}<td class="num" data-count="${r.processor}:rerun">${num(rerunOf(r))}</td><td class="num">${num(record.dates.length)}</td></tr>`)}
<tr><th>all</th><th></th>${SLICE_STATES.map((s) => html`<th class="num" data-count="all:${s}">${num(totals[s])}</th>`)}<th class="num" data-count="all:rerun">${num(outcome.rerun)}</th><th class="num">${num(outcome.total)}</th></tr></tbody></table></div>`;
  const actions = html`<div class="actions">
${c.opts.readOnly ? html`<button type="button" disabled title="read-only dashboard">Retry failed (${retryable})</button>` : html`<form class="inline" method="post" action="/backfills/${urlPart(record.id)}/retry-failed"><input type="hidden" name="_csrf" value="${auth?.csrf}"><button class="primary" id="retry-failed" type="submit" ${retryable === 0 ? trusted('disabled') : ''}>Retry failed (${retryable})</button></form>`}
${
  outcome.done
    ? ''
    : c.opts.readOnly
      ? html`<button type="button" disabled title="read-only dashboard">Cancel run</button>`
      : html`<form class="inline" method="post" action="/backfills/${urlPart(record.id)}/cancel"><input type="hidden" name="_csrf" value="${auth?.csrf}"><button id="cancel-run" type="submit" title="remove its queued jobs; running jobs finish and staged slices land">Cancel run</button></form>`
}
<a class="button" id="export-failed" href="/backfills/${urlPart(record.id)}/failed-dates.json" download="failed_dates_${record.id}.json">Export failed dates (JSON)</a>
<span class="muted">The export is the file <span class="mono">phasegate backfill --retry-failed</span> reads.</span></div>`;
  const notes = [
    outcome.ownKept
      ? ''
      : html`<p class="warn" id="own-expired">This backfill's own statuses are not kept (they expire ${STATUS_STORE_DEFAULTS.backfillOutcomeTtlSeconds / 86_400} days after its last write, and backfills from before they were kept have none): the grid shows each slice's latest status, which a later run may have written.</p>`,
    outcome.rerun > 0
      ? html`<p class="notice" id="rerun-notice">${num(outcome.rerun)} slice(s) were run again by another run since: they show this backfill's own outcome, marked with a blue corner; the tooltip says who re-ran them and how that went.</p>`
      : '',
  ];
  const cascadeNote = record.cascade
    ? html` · cascade: ${outcome.rows.filter((r) => !r.requested).length} downstream processors (phases ${[...new Set(outcome.rows.filter((r) => !r.requested).map((r) => r.phase))].join(', ')})`
    : '';
  const legend = html`<div class="legend">${['none', ...SLICE_STATES].map((s) => html`<span class="s-${s}">${s === 'none' ? 'no status' : s}</span>`)}<span class="rerun">re-run since (blue corner)</span></div>`;
  const body = html`<h1>Backfill <span class="mono">${record.id}</span></h1>
<p class="muted">${record.dates.length} dates (<span class="date">${record.dates[0]}</span> … <span class="date">${record.dates.at(-1)}</span>) × ${record.processors.length} processors${cascadeNote} · created <span class="date">${when(record.createdAt)}</span> · priority ${record.priority} · ${num(outcome.finished)} / ${num(outcome.total)} slices final</p>
<p>${statusLine(outcome)}</p>
<p class="muted" id="views">The counts and the grid show <strong>this run's outcome</strong> (as <span class="mono">phasegate status --backfill ${record.id}</span>). <span id="state-now">The dates' state now: ${num(current.landed)} of ${num(current.total)} slices landed (${num(current.stale)} stale, ${num(current.rerunFailed)} kept after a failed re-run), ${num(current.needLook)} need a look, ${num(current.inProgress)} in progress.</span></p>
${notice}${notes}${summary}${phaseTable(outcome)}${actions}
${legend}
${trusted(renderGrid(outcome, (p) => waits.get(p), now))}`;
  const out = page({
    title: `Backfill ${record.id}`,
    active: 'overview',
    body,
    csrf: auth?.csrf,
    readOnly: c.opts.readOnly,
    refreshSeconds: outcome.done ? undefined : c.opts.refreshSeconds || undefined,
  }).value;
  const total = performance.now() - started;
  res.setHeader('Server-Timing', `redis;dur=${readMs.toFixed(1)}, total;dur=${total.toFixed(1)}`);
  res.type('html').send(out);
};
