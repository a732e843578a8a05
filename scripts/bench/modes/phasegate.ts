/**
 * `phasegate`: the product path, unchanged. A runtime like `phasegate worker --phases 2,commit`
 * (phase-2 workers at the benchmark's concurrency, the table's real commit gate), and a
 * backfill of the phase-2 processor over the dates, whose raw files are already in the store.
 * Statuses are read as a user would read them (`status --json`), sampled while it runs so
 * that a date seen waiting on the streaming buffer counts as a conflict met.
 */
import { tableLimits } from '../../../src/config/load-config.ts';
import { tableId } from '../../../src/processors/types.ts';
import { backfillProgress, startBackfill } from '../../../src/queues/backfill/backfill.ts';
import { openRuntime } from '../../../src/runtime.ts';
import type { BigQueryRulesWarehouse } from '../../../src/warehouse/rules/bigquery-rules-warehouse.ts';
import { latencyStats, type ModeOutcome } from '../measure.ts';
import { asRulesWarehouse, emptyOutcome, gateDrained, type ModeOpener, sleep } from '../mode.ts';

const PROCESSOR = 'nbac_player_boxscore';
/** Where issue 3's conflict log lives; counted when present. */
const CONFLICT_LOG = { schema: 'nba_orchestration', table: 'streaming_conflict_log' } as const;

export const openPhasegate: ModeOpener = async (env) => {
  const rt = await openRuntime(env.config, { redisExplicit: true, rules: env.rules });
  let warehouse: BigQueryRulesWarehouse;
  try {
    warehouse = asRulesWarehouse(await rt.warehouse(), 'phasegate');
  } catch (err) {
    await rt.close();
    throw err;
  }

  async function conflictLog(): Promise<{ rows: number; resolved: number; dates: string[] } | null> {
    const [exists] = await warehouse.query('SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = $schema AND table_name = $table', {
      schema: CONFLICT_LOG.schema,
      table: CONFLICT_LOG.table,
    });
    if (Number(exists?.n ?? 0) === 0) return null;
    // Constant identifiers (the bench sets no dataset prefix), so no spec is needed to name it.
    const name = `"${CONFLICT_LOG.schema}"."${CONFLICT_LOG.table}"`;
    const rows = await warehouse.query(`SELECT CAST(game_date AS VARCHAR) AS d, resolved FROM ${name}`);
    return {
      rows: rows.length,
      resolved: rows.filter((r) => r.resolved === true).length,
      dates: [...new Set(rows.map((r) => String(r.d)))].sort(),
    };
  }

  return {
    warehouse,
    loadJobs: () => Object.values(warehouse.record().tables).reduce((n, t) => n + t.loadJobs, 0),
    async run({ startedAt, deadline, frontier }): Promise<ModeOutcome> {
      const out = emptyOutcome();
      // Measurement only, the product path unchanged: the moment each date's status says
      // `staged` (its rows are in the object store and registered with the gate), and how long
      // each MERGE into the target table takes (BigQuery's latency model plus DuckDB's work).
      const store = rt.statuses;
      const noteStaged = (processor: string, slice: string, status: string) => {
        if (processor === PROCESSOR && status === 'staged' && !out.startedAtMs.has(slice)) out.startedAtMs.set(slice, Date.now() - startedAt);
      };
      const update = store.update.bind(store);
      store.update = async (processor, slice, patch) => {
        noteStaged(processor, slice, patch.status);
        return update(processor, slice, patch);
      };
      // A phase job's `staged` lands in its staging step (staging.ts), when that step runs.
      const updateIn = store.updateIn.bind(store);
      store.updateIn = (step, processor, slice, patch) => {
        updateIn(step, processor, slice, patch);
        step.afterRun(async () => noteStaged(processor, slice, patch.status));
      };
      const target = tableId(env.spec);
      const commitMs: number[] = [];
      const statements: NonNullable<ModeOutcome['statements']> = [];
      const commit = warehouse.commit.bind(warehouse);
      warehouse.commit = async (batch) => {
        const t0 = Date.now();
        const mine = tableId(batch.table) === target;
        try {
          const result = await commit(batch);
          if (mine) {
            commitMs.push(Date.now() - t0);
            statements.push({ startMs: t0 - startedAt, endMs: Date.now() - startedAt, slices: batch.slices.length, ok: true });
          }
          return result;
        } catch (err) {
          if (mine) statements.push({ startMs: t0 - startedAt, endMs: Date.now() - startedAt, slices: batch.slices.length, ok: false });
          throw err;
        }
      };
      await rt.startWorkers({ phases: [2], commit: true, concurrency: env.opts.workers });
      const record = await startBackfill(rt, { processors: [rt.registry.get(PROCESSOR)], dates: env.raw.dates });
      let timedOut = false;
      let lastLog = Date.now();
      let progress = await backfillProgress(rt, record);
      for (;;) {
        const statuses = progress.statuses[PROCESSOR] ?? [];
        statuses.forEach((s, i) => {
          const date = env.raw.dates[i] as string;
          if (!s) return;
          if (s.status !== 'pending') frontier.begun(date);
          if (s.status === 'waiting' && /streaming buffer|conflict/i.test(s.error ?? '')) out.conflictDates.add(date);
          if (s.status === 'committed' && s.committedAt && !out.writtenAtMs.has(date)) out.writtenAtMs.set(date, Date.parse(s.committedAt) - startedAt);
        });
        if (progress.done) break;
        if (Date.now() > deadline) {
          timedOut = true;
          break;
        }
        if (env.opts.verbose && Date.now() - lastLog > 5_000) {
          lastLog = Date.now();
          const c = progress.perProcessor[PROCESSOR];
          env.log(
            `phasegate: ${c?.committed ?? 0} committed, ${c?.staged ?? 0} staged, ${c?.waiting ?? 0} waiting, ${(c?.pending ?? 0) + (c?.running ?? 0)} not processed yet, ${c?.failed ?? 0} failed of ${env.raw.dates.length}`,
          );
        }
        // Often enough that the live writer's lead stays ahead of the phase workers.
        await sleep(100);
        progress = await backfillProgress(rt, record);
      }
      const makespanMs = Date.now() - startedAt;
      const statuses = progress.statuses[PROCESSOR] ?? [];
      statuses.forEach((s, i) => {
        const date = env.raw.dates[i] as string;
        if (s?.status === 'failed') out.failed.set(date, s.error ?? 'failed');
        if (s?.status === 'deferred') out.deferred.set(date, s.error ?? 'deferred');
        if (s?.status === 'committed') out.rowsTouched += s.rows ?? 0;
      });
      // The log's last rows (resolutions) go through the log table's own gate a moment after
      // the slices commit; read it once that gate is empty.
      const logTable = `${CONFLICT_LOG.schema}.${CONFLICT_LOG.table}`;
      await gateDrained(rt.gate, logTable);
      const log = await conflictLog();
      // The conflict log is the product's own record of conflicts; sampling can miss a short wait.
      for (const d of log?.dates ?? []) out.conflictDates.add(d);
      const scale = env.config.timeScale;
      // Each commit job's own run, from its start (breaker, take, integrity, the read before
      // the MERGE) to its end (statuses, events): what one commit costs the dates in it.
      const jobs = await rt.queues.commit(target).getJobs(['completed'], 0, 999);
      const jobSeconds = jobs
        .filter((j) => (j.returnvalue as { slices?: number } | undefined)?.slices && j.processedOn && j.finishedOn)
        .map((j) => (((j.finishedOn ?? 0) - (j.processedOn ?? 0)) / 1000) * scale);
      return {
        ...out,
        waitsForBuffer: true,
        latencyFrom: 'staged',
        statements,
        makespanMs,
        timedOut,
        extra: {
          conflictLog: log ? { rows: log.rows, resolved: log.resolved } : 'table not present',
          backfillId: record.id,
          // The configured window; the gate shortens it while the table has headroom.
          gatherWindowSeconds: tableLimits(env.config, target).gatherSeconds,
          commitSeconds: latencyStats(commitMs.map((ms) => (ms / 1000) * scale)),
          commitJobSeconds: latencyStats(jobSeconds),
        },
      };
    },
    close: () => rt.close(),
  };
};
