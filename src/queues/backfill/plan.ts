/**
 * `backfill --dry-run`'s plan: what a backfill will run and what it will cost each table,
 * estimated by the model of plan-model.ts.
 */
import { tableLimits } from '../../config/load-config.ts';
import { DEFAULT_RULES_OPTIONS, type DmlLatencyOptions } from '../../warehouse/rules/options.ts';
import { quotaLine, tableQuota } from '../commit/table-quota.ts';
import type { PipelineContext } from '../context.ts';
import { phaseConcurrency } from '../defaults.ts';
import { type BackfillRequest, directWork, queueOrder, roots } from './backfill.ts';
import { cascadeProcessors } from './cascade.ts';
import { modelInput } from './plan-costs.ts';
import { simulatePlan } from './plan-model.ts';

export interface TableEstimate {
  table: string;
  slices: number;
  /**
   * DML statements (group commits) the run is estimated to take: the model's figure
   * (plan-model.ts), never below `minOperations`.
   */
  operations: number;
  /** Group commits needed at the batch limit: the lower bound of DML statements. */
  minOperations: number;
  /**
   * Table modifications (loads, copies, query appends) used today, against `dailyBudget`. A
   * group commit is DML and spends none (src/limits/bigquery.ts).
   */
  usedToday: number;
  dailyBudget: number;
  /** DML statements the table ran today (shown, never capped). */
  dmlToday: number;
  /** `DML today … · table modifications today …/…`, as status and the dashboard word it. */
  quota: string;
}

/** A processor the backfill reaches and the jobs it will run. */
export interface ProcessorEstimate {
  processor: string;
  phase: number;
  jobs: number;
  /** Queued now (a root), or run when its upstream lands. */
  queuedNow: boolean;
}

export interface BackfillPlan {
  /** Phase jobs the run takes, the cascade's included. */
  jobs: number;
  /** Processors whose jobs are enqueued now; the others run when their upstream lands. */
  roots: string[];
  processors: ProcessorEstimate[];
  tables: TableEstimate[];
  /** What the estimate assumes, in one line. */
  assumptions: string;
  /** The model's time from the first job to the last commit, real seconds. */
  estimatedSeconds: number;
}

export interface PlanOptions {
  /** Phase jobs at once per phase queue. @defaultValue 4 (the `worker` command's default) */
  concurrency?: number | undefined;
  /** The MERGE latency to assume. @defaultValue the rules layer's (DEFAULT_RULES_OPTIONS.dmlLatency) */
  dml?: DmlLatencyOptions | undefined;
}

/** The `worker` command's `--concurrency` default: what a dry run assumes without `--workers`. */
export const DEFAULT_WORKER_CONCURRENCY = 4;

/**
 * The dry run's plan: every processor the backfill reaches (with `cascade`, down to phase 5)
 * with its jobs, and per table the DML statements the model (plan-model.ts) expects the run to
 * take, given the table caps, the gather window, the time scale and the workers' concurrency.
 */
export async function planBackfill(ctx: PipelineContext, req: BackfillRequest, opts: PlanOptions = {}): Promise<BackfillPlan> {
  const reached = cascadeProcessors(ctx, { processors: req.processors.map((p) => p.name), cascade: req.cascade ?? false });
  const concurrency = opts.concurrency ?? DEFAULT_WORKER_CONCURRENCY;
  const dml = opts.dml ?? DEFAULT_RULES_OPTIONS.dmlLatency;
  const direct = directWork(ctx, req);
  const model = simulatePlan(await modelInput(ctx, reached, queueOrder(ctx, direct), req.dates, { concurrency, dml }));
  const rootNames = new Set(direct.map(([p]) => p.name));
  const processors: ProcessorEstimate[] = reached.map((p) => ({
    processor: p.name,
    phase: p.phase,
    jobs: model.jobs[p.name] ?? 0,
    queuedNow: rootNames.has(p.name),
  }));
  const tables: TableEstimate[] = [];
  for (const t of model.tables) {
    const limits = tableLimits(ctx.config, t.table);
    const quota = await tableQuota(ctx, t.table);
    const minOperations = Math.ceil(t.slices / limits.commitMaxSlices);
    tables.push({
      table: t.table,
      slices: t.slices,
      operations: Math.max(minOperations, t.statements),
      minOperations,
      usedToday: quota.modificationsToday,
      dailyBudget: quota.dailyBudget,
      dmlToday: quota.dmlToday,
      quota: quotaLine(quota),
    });
  }
  const l = ctx.config.table;
  const assumptions =
    `assumes: ${concurrency} phase jobs at once per phase (phases 3–5: ${phaseConcurrency(ctx.config, 3, concurrency)}, reading together), one process; time scale ×${ctx.config.timeScale}; ` +
    `gather ${l.gatherSeconds} s, ≤${l.commitMaxSlices} slices a commit, ${l.opsMax} commits per ${l.opsWindowSeconds} s, ${l.concurrency} at once per table` +
    `${Object.keys(ctx.config.tableOverrides).length > 0 ? ' (PHASEGATE_TABLE_LIMITS overrides applied)' : ''}; ` +
    `MERGE ${dml.baseSeconds} s + ${dml.perThousandRowsSeconds} s per 1,000 rows; measured job costs (plan-costs.ts); ` +
    `every date runs, none fails or waits on the streaming buffer`;
  return {
    jobs: processors.reduce((n, p) => n + p.jobs, 0),
    roots: roots(req).map((p) => p.name),
    processors,
    tables,
    assumptions,
    estimatedSeconds: model.durationMs / 1000,
  };
}
