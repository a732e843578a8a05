/**
 * The work of `phasegate coverage [--start D --end D] [--json]`: per game date, the scheduled games, the
 * games each source holds, the games per tier and the games no source has — read from the
 * warehouse now (through the read relay of the worker process holding the embedded warehouse,
 * when one does), or, when that worker does not answer, from the last audit.
 */
import type { Command } from 'commander';
import { coverageReport, type DateCoverage } from '../../coverage/report.ts';
import { scanCoverage } from '../../coverage/scan.ts';
import { readSnapshot } from '../../coverage/snapshot.ts';
import { coverageTargets } from '../../coverage/sources.ts';
import { auditWindow } from '../../coverage/window.ts';
import { InputError } from '../../errors/input-error.ts';
import { WarehouseHeldError } from '../../errors/warehouse-held-error.ts';
import { TIERS } from '../../processors/tiers.ts';
import { checkRange } from '../../queues/backfill/dates.ts';
import { relayOnLock } from '../../warehouse/read-relay/client.ts';
import { lockHolder } from '../../warehouse/read-relay/lock.ts';
import { configFrom, type GlobalFlags, withRuntime } from '../common.ts';

/** DuckDB lets one process hold its file; another one's open fails with this. */
export function isWarehouseLocked(err: unknown): boolean {
  return lockHolder(err) !== undefined;
}

function pad(s: string | number, n: number): string {
  return String(s).padStart(n);
}

export function coverageLines(dates: readonly DateCoverage[], sources: readonly string[]): string[] {
  const head = [
    'date      ',
    pad('scheduled', 9),
    ...sources.map((s) => pad(s, 5)),
    pad('analytics', 9),
    ...[...TIERS, 'none'].map((t) => pad(t, 6)),
    '  worst   ',
    'missing (no source)',
  ];
  const out = [head.join(' ')];
  for (const d of dates) {
    out.push(
      [
        d.date,
        pad(d.scheduledGames, 9),
        ...sources.map((s) => pad(d.found[s] ?? 0, 5)),
        pad(d.analyticsGames, 9),
        ...[...TIERS, 'none'].map((t) => pad(d.tiers[t] ?? 0, 6)),
        `  ${d.worst.padEnd(8)}`,
        d.missing.join(', ') || '-',
      ].join(' '),
    );
    // Games worth a look: not gold, or missing from a primary source.
    for (const g of d.games) {
      if (g.tier === 'gold' && g.missingFrom.length === 0 && g.scheduled) continue;
      const parts = [`sources ${g.sources.join(',') || 'none'}`, `tier ${g.tier ?? 'none'}${g.primarySource ? ` (${g.primarySource})` : ''}`];
      if (g.missingFrom.length > 0) parts.push(`missing from ${g.missingFrom.join(',')}`);
      if (!g.scheduled) parts.push('not on the schedule for this date');
      out.push(`    ${g.gameId}  ${parts.join('  ')}`);
    }
  }
  return out;
}

export async function runCoverage(flags: { start?: string; end?: string; json?: boolean }, cmd: Command): Promise<void> {
  const config = configFrom(cmd.optsWithGlobals<GlobalFlags>());
  if (flags.start && flags.end) checkRange(flags.start, flags.end);
  const window = auditWindow({ since: flags.start, until: flags.end });
  await withRuntime(config, async (rt) => {
    const targets = coverageTargets(rt.registry);
    const sources = targets.names;
    let dates: DateCoverage[];
    let from: 'warehouse' | 'last audit';
    try {
      // A worker holding the DuckDB file answers the reads through its read relay.
      const warehouse = await rt.warehouse().catch((err: unknown) => relayOnLock(err, rt));
      const gameDates = await rt.source.gameDates(window.start, window.end);
      dates = coverageReport(await scanCoverage(rt, warehouse, gameDates, targets));
      from = 'warehouse';
    } catch (err) {
      if (!(err instanceof WarehouseHeldError)) throw err;
      const snap = await readSnapshot(rt, window);
      if (!snap.run) throw new InputError(`${err.message}, and no audit has run yet: run \`phasegate audit\` (the worker runs it)`);
      dates = snap.dates;
      from = 'last audit';
      process.stderr.write(
        `phasegate: a worker holds the warehouse and did not answer (${err.message}); showing the last audit (${snap.run.runId}, ${snap.run.finishedAt})\n`,
      );
    }
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ start: window.start, end: window.end, from, sources, dates }, null, 2)}\n`);
      return;
    }
    if (dates.length === 0) {
      process.stdout.write(`no game dates between ${window.start} and ${window.end}\n`);
      return;
    }
    for (const line of coverageLines(dates, sources)) process.stdout.write(`${line}\n`);
  });
}
