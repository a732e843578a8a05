/**
 * GET /tables — per target table, how close it is to each BigQuery per-table limit: commits
 * in flight vs the concurrency cap, table operations in the last window vs the rate cap,
 * today's table modifications (and load jobs) vs the daily budget, the breaker, conflicts —
 * and what waits, why and until when (table-waits.ts).
 *
 * A gate at its concurrency or window cap is working as meant (commits queue behind it), so
 * those gauges never turn amber or red; only the daily budget, which ends a table's day, does.
 */

import type { ConflictSummary } from '../../queues/conflicts/log.ts';
import { commitQueueName } from '../../queues/names.ts';
import { warehouseCaps } from '../../warehouse/index.ts';
import { authOf, type Handler } from '../context.ts';
import { type TableStats, tableStats } from '../data/table-stats.ts';
import { describeWait } from '../data/table-waits.ts';
import { html, type SafeHtml, urlPart } from '../html/escape.ts';
import { num, relative, when } from '../html/format.ts';
import { page } from '../html/layout.ts';
import { depthChart, throughputChart } from './charts.ts';

/**
 * A gauge. `alarm`: low/high/optimum make the browser colour the bar amber then red as the
 * limit nears — only for a limit whose end is a failure; a cap the gate holds by design gets
 * a plain bar, full when at the cap.
 */
function meter(value: number, max: number, alarm: boolean): SafeHtml {
  const bar = alarm
    ? html`<meter min="0" max="${max}" low="${max * 0.6}" high="${max * 0.85}" optimum="0" value="${Math.min(value, max)}"></meter>`
    : html`<meter min="0" max="${max}" value="${Math.min(value, max)}"></meter>`;
  return html`<span class="gauge">${bar} ${num(value)} / ${num(max)}</span>`;
}

function waitsTable(tables: readonly TableStats[], now: number): SafeHtml {
  const rows = tables.flatMap((t) =>
    t.waits.map(
      (w) =>
        html`<tr data-table="${t.table}" data-wait="${w.kind}"><td class="mono">${t.table}</td><td>${describeWait(w, t.table, now)}</td><td class="mono date">${w.until !== undefined ? when(w.until) : '—'}</td></tr>`,
    ),
  );
  if (rows.length === 0) return html`<p class="muted" id="waits">Nothing waits: every staged date goes to its table's next commit.</p>`;
  return html`<div class="wide"><table class="data" id="waits"><thead><tr><th>table</th><th>why it waits</th><th>until (UTC)</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

function conflictsCell(c: ConflictSummary | undefined, known: boolean): SafeHtml {
  if (!known) return html`<span class="muted">no conflict data</span>`;
  if (!c || c.total === 0) return html`0`;
  const types = Object.entries(c.byType)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  const resolutions = Object.entries(c.byResolution)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  return html`${num(c.total)} (${num(c.resolved)} resolved)<div class="muted">${types}</div><div class="muted">${resolutions}</div>${c.latestAt ? html`<div class="muted">last ${relative(c.latestAt)}</div>` : ''}`;
}

function breakerCell(t: TableStats): SafeHtml {
  if (!t.breaker) return html`<span class="muted">no breaker data</span>`;
  const b = t.breaker;
  // A breaker that never moved reads "since" the epoch (breaker.ts): say so instead of 1970.
  const since = Date.parse(b.since) > 0 ? html`since <span class="date">${when(b.since)}</span> (${relative(b.since)})` : html`never tripped`;
  return html`<span class="badge ${b.state}">${b.state}</span><div class="muted">${since}</div>
${b.reopensAt && b.state === 'open' ? html`<div class="muted">probe ${relative(b.reopensAt)}</div>` : ''}
${b.recentCommits !== undefined ? html`<div class="muted">${num(b.recentConflicts ?? 0)} of the last ${num(b.recentCommits)} commits conflicted</div>` : ''}
${b.recentSlices ? html`<div class="muted">${num(Math.round((b.heldShare ?? 0) * 1000) / 10)} % of their ${num(b.recentSlices)} slices held back</div>` : ''}
${b.state === 'open' ? html`<div class="muted">retries of held dates paused; clean dates keep landing</div>` : ''}`;
}

export const tablesPage: Handler = async (c, _req, res) => {
  const now = Date.now();
  const { tables, conflictsKnown } = await tableStats(c.rt, now);
  const scaled = c.rt.config.timeScale !== 1;
  // The warehouse stops a table's load jobs (table modifications) at this many a day, failed ones included.
  const caps = warehouseCaps(c.rt.config);
  const dailyLoads = caps.dailyModifications;
  const rows = tables.map(
    (
      t,
    ) => html`<tr data-table="${t.table}"><td data-label="table"><a href="/queues/queue/${urlPart(commitQueueName(t.table))}" class="mono">${t.table}</a><div class="muted">written by ${t.writer}</div></td>
<td data-k="in-flight" data-label="commits in flight / cap">${meter(t.inFlight, t.inFlightCap, false)}${t.inFlight >= t.inFlightCap ? html`<div class="muted">at the cap: the next commit starts when one lands</div>` : ''}<div class="muted">${num(t.commitsWaiting)} queued · ${num(t.pendingSlices)} dates staged${t.commitsFailed ? html` · <span class="bad">${num(t.commitsFailed)} failed</span>` : ''}</div></td>
<td data-k="ops-window" data-label="operations in the last window / cap">${meter(t.opsInWindow, t.opsCap, false)}<div class="muted">per ${t.windowSeconds} s${scaled ? html` (${num(t.windowMs)} ms real at ×${c.rt.config.timeScale})` : ''}</div></td>
<td data-k="ops-today" data-label="modifications today (UTC) / budget">${meter(t.modificationsToday, t.dailyBudget, true)}<div class="muted">table modifications (loads, copies, appends)</div><div class="muted" data-k="dml-today">DML statements today: ${num(t.opsToday)} (no daily cap)</div>${t.loadJobs !== undefined ? html`<div class="muted">load jobs (rules layer, this process): ${num(t.loadJobs)}${dailyLoads === undefined ? '' : html` / ${num(dailyLoads)}`}</div>` : ''}</td>
<td data-k="breaker" data-label="breaker">${breakerCell(t)}</td><td data-k="conflicts" data-label="conflicts, last 24 h">${conflictsCell(t.conflicts, conflictsKnown)}</td></tr>`,
  );
  const charts = [await throughputChart(c), depthChart(c)];
  const body = html`<h1>Table gates</h1>
<p class="muted">${caps.summary}. Each gate holds its table under its caps for every worker in every process.</p>
<div class="wide"><table class="data stack" id="gates"><thead><tr><th>table</th><th>commits in flight / cap</th><th>operations in the last window / cap</th><th>modifications today (UTC) / budget</th><th>breaker</th><th>conflicts, last 24 h</th></tr></thead><tbody>${rows}</tbody></table></div>
<h2>What waits, and until when</h2>
${waitsTable(tables, now)}
<div class="charts">${charts}</div>`;
  res
    .type('html')
    .send(
      page({ title: 'Tables', active: 'tables', body, csrf: authOf(res)?.csrf, readOnly: c.opts.readOnly, refreshSeconds: c.opts.refreshSeconds || undefined })
        .value,
    );
};
