/**
 * GET /coverage — source coverage as a calendar: each game date coloured by its worst tier
 * (red when a scheduled game is in no source), its tooltip naming the games each source lacks
 * and their tiers; below it, the dates that need a look. `?start=&end=` picks the dates; without
 * them, the month ending at the latest date the warehouse holds. When the warehouse cannot be
 * read the page says so and why, above whatever the last audit recorded.
 */

import { DATE_STATES, type DateCoverage } from '../../coverage/report.ts';
import { InputError } from '../../errors/input-error.ts';
import { authOf, type Handler } from '../context.ts';
import { type CoverageView, coverageView } from '../data/coverage.ts';
import { escapeHtml, html, type SafeHtml, trusted } from '../html/escape.ts';
import { clip, num, when } from '../html/format.ts';
import { page } from '../html/layout.ts';

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function queryDate(value: unknown, what: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !DATE.test(value) || Number.isNaN(Date.parse(value))) throw new InputError(`${what}: not a YYYY-MM-DD date`);
  return value;
}

function tooltip(d: DateCoverage, sources: readonly string[]): string {
  const lines = [`${d.date} · ${d.worst}`, `scheduled games: ${d.scheduledGames}`];
  lines.push(`found: ${sources.map((s) => `${s} ${d.found[s] ?? 0}`).join(', ')} · analytics ${d.analyticsGames}`);
  lines.push(
    `tiers: ${Object.entries(d.tiers)
      .map(([t, n]) => `${t} ${n}`)
      .join(', ')}`,
  );
  if (d.missing.length > 0) lines.push(`no source has: ${d.missing.join(', ')}`);
  for (const g of d.games) {
    if (g.tier === 'gold' && g.missingFrom.length === 0 && g.scheduled) continue;
    const parts = [`sources ${g.sources.join(',') || 'none'}`, `tier ${g.tier ?? 'none'}`];
    if (g.missingFrom.length > 0) parts.push(`missing from ${g.missingFrom.join(',')}`);
    if (!g.scheduled) parts.push('not scheduled here');
    lines.push(`${g.gameId}: ${parts.join(' · ')}`);
  }
  return clip(lines.join('\n'), 3000);
}

/** Month by month, a week per row; days without games are blank. One pass of string building. */
function renderCalendar(view: CoverageView): string {
  const byDate = new Map(view.dates.map((d) => [d.date, d]));
  const months = [...new Set(view.dates.map((d) => d.date.slice(0, 7)))];
  const out: string[] = ['<div class="months">'];
  for (const month of months) {
    const first = new Date(`${month}-01T00:00:00Z`);
    const lead = (first.getUTCDay() + 6) % 7;
    const days = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
    out.push(`<section class="month"><h3>${escapeHtml(month)}</h3><table class="grid calendar"><thead><tr>`);
    for (const w of WEEKDAYS) out.push(`<th>${w.slice(0, 2)}</th>`);
    out.push('</tr></thead><tbody><tr>');
    for (let i = 0; i < lead; i++) out.push('<td class="cov-blank"></td>');
    for (let day = 1; day <= days; day++) {
      const date = `${month}-${String(day).padStart(2, '0')}`;
      const d = byDate.get(date);
      if (d) out.push(`<td class="cov-${escapeHtml(d.worst)}" data-d="${escapeHtml(date)}" title="${escapeHtml(tooltip(d, view.sources))}">${day}</td>`);
      else out.push(`<td class="cov-blank">${day}</td>`);
      if ((lead + day) % 7 === 0 && day < days) out.push('</tr><tr>');
    }
    out.push('</tr></tbody></table></section>');
  }
  out.push('</div>');
  return out.join('');
}

function attentionTable(view: CoverageView): SafeHtml {
  const needing = view.dates.filter((d) => d.worst !== 'gold' && d.worst !== 'none');
  // "All gold" only about dates actually shown: over nothing it would say what nobody saw.
  if (view.dates.length === 0) return html`<p class="muted">Nothing to judge: no game dates are shown.</p>`;
  if (needing.length === 0)
    return html`<p class="muted">Every date shown is gold: every scheduled game is in the primary source, complete, without warnings.</p>`;
  return html`<table class="data" id="attention"><thead><tr><th>date</th><th>worst</th><th class="num">scheduled</th>${view.sources.map((s) => html`<th class="num">${s}</th>`)}<th>no source has</th><th>games not gold</th></tr></thead><tbody>${needing.map(
    (d) =>
      html`<tr data-date="${d.date}"><td class="mono">${d.date}</td><td><span class="legend"><span class="cov-${d.worst}">${d.worst}</span></span></td><td class="num">${num(d.scheduledGames)}</td>${view.sources.map((s) => html`<td class="num">${num(d.found[s] ?? 0)}</td>`)}<td class="mono">${d.missing.join(', ')}</td><td class="mono">${d.games
        .filter((g) => g.tier !== 'gold' && !d.missing.includes(g.gameId))
        .map((g) => `${g.gameId} ${g.tier ?? 'none'} (${g.sources.join(',') || 'none'})`)
        .join(', ')}</td></tr>`,
  )}</tbody></table>`;
}

export const coveragePage: Handler = async (c, req, res) => {
  const start = queryDate(req.query.start, 'start');
  const end = queryDate(req.query.end, 'end');
  if ((start === undefined) !== (end === undefined)) throw new InputError('give both start and end, or neither');
  if (start && end && start > end) throw new InputError(`start ${start} is after end ${end}`);
  const view = await coverageView(c.rt, start && end ? { start, end } : undefined);
  const origin =
    view.from === 'warehouse'
      ? html`read from the warehouse now`
      : view.from === 'last audit'
        ? html`as of the last audit <span class="mono">${view.run?.runId}</span> (${when(view.run?.finishedAt)})`
        : html`no audit has run yet: <span class="mono">phasegate audit</span>, or <span class="mono">phasegate schedule set daily-audit --cron "0 9 * * *"</span>`;
  const unreadable = view.unreadable ? html`<p class="warn" role="alert" id="unreadable">Could not read the warehouse: ${view.unreadable}.</p>` : html``;
  const empty =
    view.from === 'warehouse'
      ? view.range
        ? html`<p class="muted">No game dates between ${view.range.start} and ${view.range.end}.</p>`
        : html`<p class="muted">The warehouse holds no game dates yet.</p>`
      : html`<p class="muted">No game dates to show.</p>`;
  const body = html`<h1>Source coverage</h1>
<p class="muted">Each game date is coloured by its worst game: gold (NBA.com, complete), silver (the fallback source, or warnings), bronze (incomplete), pending (raw data not yet through phase 3), missing (a scheduled game no source has). Hover a date for its games. ${origin}.</p>
${unreadable}
<form class="actions" method="get" action="/coverage"><label>from <input type="date" name="start" value="${view.range?.start ?? start ?? ''}"></label><label>to <input type="date" name="end" value="${view.range?.end ?? end ?? ''}"></label><button type="submit">Show</button></form>
<div class="legend">${DATE_STATES.filter((s) => s !== 'none').map((s) => html`<span class="cov-${s}">${s}</span>`)}<span class="cov-blank">no games</span></div>
${view.dates.length === 0 ? empty : trusted(renderCalendar(view))}
<h2>Dates that need a look</h2>
${attentionTable(view)}`;
  res.type('html').send(page({ title: 'Coverage', active: 'coverage', body, csrf: authOf(res)?.csrf, readOnly: c.opts.readOnly }).value);
};
