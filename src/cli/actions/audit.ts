/**
 * The work of `phasegate audit [--since D|Nd] [--until D]`: runs the source-coverage audit now. In this
 * process when it can open the warehouse (then, with the embedded DuckDB, it also runs the
 * workers that land the fallback: no other process can commit while this one holds the file);
 * when a worker process holds it, the audit is queued for that worker and this one waits.
 */

import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { scaledMs } from '../../config/load-config.ts';
import { AUDIT_DEFAULTS, type AuditReport, runAudit } from '../../coverage/audit.ts';
import { auditWindow } from '../../coverage/window.ts';
import { PermanentError } from '../../errors/permanent-error.ts';
import { TransientError } from '../../errors/transient-error.ts';
import { auditJobId, PHASES, SCHEDULER_JOBS } from '../../queues/names.ts';
import type { Runtime } from '../../runtime.ts';
import type { AuditNowData } from '../../schedules/handlers.ts';
import { warehouseDeclaration } from '../../warehouse/index.ts';
import { configFrom, type GlobalFlags, parsePositiveInt, stopSignal, withRuntime } from '../common.ts';
import { isWarehouseLocked } from './coverage.ts';

export interface AuditFlags {
  since?: string;
  until?: string;
  fallback?: boolean;
  workers?: string;
  json?: boolean;
}

function print(report: AuditReport): void {
  const w = (s: string) => process.stdout.write(`${s}\n`);
  const logRows = report.logsLanded ? `${report.logged} log rows landed` : `${report.logged} log rows staged (not landed yet)`;
  w(`audit ${report.runId}: ${report.dates} game dates ${report.start} … ${report.end}, ${logRows}`);
  if (report.ended === false && report.follow) w(`  repairs still running when the audit stopped waiting: ${report.follow}`);
  const events = Object.entries(report.events).map(([t, n]) => `${t} ${n}`);
  w(`  events: ${events.join(', ') || 'nothing changed since the last audit'}`);
  if (report.repair)
    w(
      `  repair: ${report.repair.games.length} game(s) on ${report.repair.dates.join(', ')} re-run from the primary source's raw files by ${report.repair.processors.join(', ')} (backfill ${report.repair.backfillId})`,
    );
  if (report.fallback)
    w(
      `  fallback: ${report.fallback.games.length} game(s) on ${report.fallback.dates.join(', ')} the primary has no files of, asked of the fallback source (backfill ${report.fallback.backfillId})`,
    );
  w(`  no source after the fallback (critical): ${report.critical.map((g) => `${g.gameId} (${g.date})`).join(', ') || 'none'}`);
  w(`  announced: ${report.announced.critical > 0 ? 'a critical alert' : 'no critical alert'}, ${report.announced.digest} digest line(s)`);
}

async function inProcess(rt: Runtime, flags: AuditFlags, window: { start: string; end: string }, signal: AbortSignal): Promise<AuditReport> {
  // A warehouse that is a file one process holds (DuckDB): this process's own workers land the
  // repairs, as no other process can; on a service (BigQuery) the running workers do.
  const workers = flags.workers !== undefined ? parsePositiveInt(flags.workers, '--workers') : warehouseDeclaration(rt.config).heldFile ? 2 : 0;
  await rt.warehouse();
  return runAudit(rt, {
    ...window,
    fallback: flags.fallback,
    signal,
    // This process holds the embedded warehouse: only its own workers can land the repairs.
    onFallback: async () => {
      if (workers > 0) await rt.startWorkers({ phases: PHASES, commit: true, concurrency: workers, scheduler: false });
    },
  });
}

/** Queues the audit for the worker holding the warehouse and waits for its second step. */
async function viaWorker(rt: Runtime, flags: AuditFlags, window: { start: string; end: string }, signal: AbortSignal): Promise<AuditReport> {
  const runId = `audit-${window.start}-${window.end}-${randomBytes(3).toString('hex')}`;
  const queue = rt.queues.scheduler();
  const data: AuditNowData = { ...window, runId, fallback: flags.fallback !== false };
  await queue.add(SCHEDULER_JOBS.auditNow, data, { jobId: auditJobId('now', runId) });
  process.stderr.write(`phasegate: a worker holds the warehouse; audit ${runId} is queued for it\n`);
  const deadline = Date.now() + scaledMs(rt.config, AUDIT_DEFAULTS.fallbackWaitSeconds) + 600_000;
  for (;;) {
    const job = await queue.getJob(auditJobId('finish', runId));
    const state = job ? await job.getState() : 'unknown';
    if (job && state === 'completed') return job.returnvalue as AuditReport;
    if (job && state === 'failed') throw new PermanentError(`audit ${runId} failed in the worker: ${job.failedReason}`);
    const started = await queue.getJob(`${SCHEDULER_JOBS.auditNow}.${runId}`);
    if (started && (await started.getState()) === 'failed') throw new PermanentError(`audit ${runId} failed in the worker: ${started.failedReason}`);
    if (signal.aborted || Date.now() > deadline)
      throw new TransientError(`audit ${runId} has not finished; its result will be in nba_orchestration.source_coverage_log`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function runAuditCommand(flags: AuditFlags, cmd: Command): Promise<void> {
  const config = configFrom(cmd.optsWithGlobals<GlobalFlags>());
  const window = auditWindow({ since: flags.since, until: flags.until });
  await withRuntime(config, async (rt) => {
    const signal = stopSignal();
    let report: AuditReport;
    try {
      report = await inProcess(rt, flags, window, signal);
    } catch (err) {
      if (!isWarehouseLocked(err)) throw err;
      report = await viaWorker(rt, flags, window, signal);
    }
    if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else print(report);
    // A game no source has needs a person: the exit code says so.
    if (report.critical.length > 0) process.exitCode = 1;
  });
}
