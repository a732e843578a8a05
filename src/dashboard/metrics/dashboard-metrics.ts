/**
 * Prometheus metrics, in the dashboard's own prom-client Registry (never the global one, so
 * two dashboards in one process — tests — do not collide). Gauges are read fresh from Redis
 * on every scrape; counters and the histograms advance by what happened since the previous
 * scrape (they start when the dashboard starts, as Prometheus counters do).
 *
 * The one definition of phasegate's metrics: the dashboard serves them on `/metrics`, and the
 * process running the table gates exports the same registry over OTLP when `OTEL_*` asks
 * (`snapshot`, read by the bridge in src/telemetry/metrics.ts).
 */

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { tableId } from '../../processors/types.ts';
import type { CommitJobResult } from '../../queues/commit/worker.ts';
import { BREAKER_STATES } from '../../queues/conflicts/breaker.ts';
import { listStale } from '../../queues/runs/stale.ts';
import type { Runtime } from '../../runtime.ts';
import type { MetricSource, PromMetric } from '../../telemetry/metrics.ts';
import { recentBackfills } from '../data/backfill-summary.ts';
import { readCommits } from '../data/commit-history.ts';
import { heldSlices } from '../data/held-slices.ts';
import { COUNTED_STATES, queueCounts } from '../data/queue-list.ts';
import { finishedRuns, RUN_KINDS, runKind } from '../data/run-durations.ts';
import { tableStats } from '../data/table-stats.ts';

export class DashboardMetrics implements MetricSource {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;
  private readonly queueJobs = new Gauge({
    name: 'phasegate_queue_jobs',
    help: 'Jobs per queue and state',
    labelNames: ['queue', 'state'],
    registers: [this.registry],
  });
  private readonly inFlight = new Gauge({
    name: 'phasegate_table_commits_in_flight',
    help: 'Commit jobs running per table',
    labelNames: ['table'],
    registers: [this.registry],
  });
  private readonly inFlightCap = new Gauge({
    name: 'phasegate_table_commit_concurrency_cap',
    help: "The commit queue's global concurrency (at most the warehouse's running mutating DML per table: BigQuery's 2)",
    labelNames: ['table'],
    registers: [this.registry],
  });
  private readonly pending = new Gauge({
    name: 'phasegate_table_pending_slices',
    help: 'Staged slices waiting for the next group commit',
    labelNames: ['table'],
    registers: [this.registry],
  });
  private readonly opsWindow = new Gauge({
    name: 'phasegate_table_operations_in_window',
    help: 'Group commits that landed in the last ops window',
    labelNames: ['table'],
    registers: [this.registry],
  });
  private readonly opsWindowCap = new Gauge({
    name: 'phasegate_table_operations_window_cap',
    help: 'Table operations allowed per ops window',
    labelNames: ['table'],
    registers: [this.registry],
  });
  private readonly opsToday = new Gauge({
    name: 'phasegate_table_operations_today',
    help: 'DML statements (group commits) counted today (UTC), failed ones included; DML has no daily cap',
    labelNames: ['table'],
    registers: [this.registry],
  });
  private readonly modificationsToday = new Gauge({
    name: 'phasegate_table_modifications_today',
    help: 'Table modifications (load, copy, query-append jobs) counted today (UTC), against the daily budget',
    labelNames: ['table'],
    registers: [this.registry],
  });
  private readonly budget = new Gauge({
    name: 'phasegate_table_daily_budget',
    help: 'Table modifications a table may use per day',
    labelNames: ['table'],
    registers: [this.registry],
  });
  private readonly breaker = new Gauge({
    name: 'phasegate_breaker_state',
    help: "1 for the breaker's current state per table (absent until breaker data exists)",
    labelNames: ['table', 'state'],
    registers: [this.registry],
  });
  private readonly conflicts = new Gauge({
    name: 'phasegate_conflicts_24h',
    help: 'Conflicts in the last 24 h per table and type (absent until conflict data exists)',
    labelNames: ['table', 'type'],
    registers: [this.registry],
  });
  // No run id as a label: every run would add series that never go away. A run's own
  // progress is on its dashboard page and in `status --backfill`; these are what alerts need.
  private readonly runSlices = new Gauge({
    name: 'phasegate_run_slices',
    help: 'Slices of the runs (backfills, cascades, audits) still in progress, per processor and state',
    labelNames: ['processor', 'state'],
    registers: [this.registry],
  });
  private readonly runsInProgress = new Gauge({
    name: 'phasegate_runs_in_progress',
    help: 'Recent runs (the last 10) with slices still to end',
    registers: [this.registry],
  });
  private readonly runFinishedRatio = new Gauge({
    name: 'phasegate_run_slices_finished_ratio',
    help: 'Share of the slices of the runs in progress that are in a final state (1 when none is in progress)',
    registers: [this.registry],
  });
  private readonly runOldestAge = new Gauge({
    name: 'phasegate_run_oldest_in_progress_age_seconds',
    help: 'Age of the oldest of the recent runs still in progress, per kind (0 when none is)',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  private readonly runDuration = new Histogram({
    name: 'phasegate_run_duration_seconds',
    help: 'Start to end of the runs that finished, per kind (backfill, cascade, retry) and outcome (ok, failed, cancelled)',
    labelNames: ['kind', 'outcome'],
    // A run is a date or two (seconds) up to seasons of backfill (a day or more).
    buckets: [10, 30, 60, 300, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400, 172_800],
    registers: [this.registry],
  });
  private readonly held = new Gauge({
    name: 'phasegate_table_held_slices',
    help: 'Slices a table gate holds back: waiting for their next try (streaming buffer, open breaker) or deferred after the maximum wait',
    labelNames: ['table', 'state'],
    registers: [this.registry],
  });
  private readonly heldAge = new Gauge({
    name: 'phasegate_table_oldest_held_slice_age_seconds',
    help: 'How long the longest-held slice of a table has been held, since its first conflict (0 when none is held)',
    labelNames: ['table'],
    registers: [this.registry],
  });
  private readonly stale = new Gauge({
    name: 'phasegate_stale_slices',
    help: 'Landed slices computed from an input that has since recommitted with other rows, per processor (backfill --only-stale recomputes them)',
    labelNames: ['processor'],
    registers: [this.registry],
  });
  private readonly rows = new Counter({
    name: 'phasegate_rows_committed_total',
    help: 'Rows committed, from the committed-events stream',
    labelNames: ['table', 'processor'],
    registers: [this.registry],
  });
  private readonly slices = new Counter({
    name: 'phasegate_slices_committed_total',
    help: 'Slices (dates) committed',
    labelNames: ['table'],
    registers: [this.registry],
  });
  private readonly operations = new Counter({
    name: 'phasegate_table_operations_total',
    help: 'Group commits (one statement each) that landed',
    labelNames: ['table'],
    registers: [this.registry],
  });
  private readonly workersReplaced = new Counter({
    name: 'phasegate_workers_replaced_total',
    help: "Workers a process replaced because their wait for the next job never ended while Redis answered (a reset of BullMQ's blocking connection that never finished)",
    labelNames: ['queue'],
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'phasegate_commit_duration_seconds',
    help: 'Commit job run time (take batch, load, MERGE) of completed commits',
    labelNames: ['table'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });

  /** The count per queue in Redis at the previous scrape; the first scrape only sets it. */
  private replacedSeen: Map<string, number> | undefined;
  private lastEventId: string | undefined;
  private lastRunEndId: string | undefined;
  private lastBatch = new Map<string, string>();
  private readonly finishedWatermark = new Map<string, number>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly rt: Runtime,
    readonly startedAt = Date.now(),
  ) {}

  /** Refreshes from Redis, then renders. Scrapes are serialised so counters never count twice. */
  render(): Promise<string> {
    return this.serialised(async () => {
      await this.refresh();
      return this.registry.metrics();
    });
  }

  /** Refreshes from Redis, then gives every metric as data (the OTLP export's read). */
  snapshot(): Promise<PromMetric[]> {
    return this.serialised(async () => {
      await this.refresh();
      // prom-client's typings call `type` a numeric enum; the objects carry 'counter', 'gauge', 'histogram'.
      return (await this.registry.getMetricsAsJSON()).map((m) => ({ name: m.name, help: m.help, type: String(m.type), values: m.values }));
    });
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async refresh(): Promise<void> {
    const [counts, tables, backfills] = await Promise.all([queueCounts(this.rt), tableStats(this.rt), recentBackfills(this.rt, 10)]);
    this.queueJobs.reset();
    for (const q of counts) for (const s of COUNTED_STATES) this.queueJobs.set({ queue: q.queue.name, state: s }, q.counts[s]);
    this.breaker.reset();
    this.conflicts.reset();
    for (const t of tables.tables) {
      const l = { table: t.table };
      this.inFlight.set(l, t.inFlight);
      this.inFlightCap.set(l, t.inFlightCap);
      this.pending.set(l, t.pendingSlices);
      this.opsWindow.set(l, t.opsInWindow);
      this.opsWindowCap.set(l, t.opsCap);
      this.opsToday.set(l, t.opsToday);
      this.modificationsToday.set(l, t.modificationsToday);
      this.budget.set(l, t.dailyBudget);
      if (t.breaker) for (const s of BREAKER_STATES) this.breaker.set({ table: t.table, state: s }, t.breaker.state === s ? 1 : 0);
      if (t.conflicts) for (const [type, n] of Object.entries(t.conflicts.byType)) this.conflicts.set({ table: t.table, type }, n);
    }
    this.runSlices.reset();
    const running = backfills.filter((b) => b.finished < b.total);
    const slices = new Map<string, number>();
    for (const b of running)
      for (const [processor, c] of Object.entries(b.perProcessor))
        for (const [state, n] of Object.entries(c)) slices.set(`${processor}\u0000${state}`, (slices.get(`${processor}\u0000${state}`) ?? 0) + n);
    for (const [key, n] of slices) {
      const [processor, state] = key.split('\u0000') as [string, string];
      this.runSlices.set({ processor, state }, n);
    }
    this.runsInProgress.set(running.length);
    const now = Date.now();
    for (const kind of RUN_KINDS) {
      const started = running.filter((b) => runKind(b.record) === kind).map((b) => Date.parse(b.record.createdAt));
      this.runOldestAge.set({ kind }, started.length > 0 ? Math.max(0, (now - Math.min(...started)) / 1000) : 0);
    }
    this.held.reset();
    for (const h of await heldSlices(this.rt)) {
      this.held.set({ table: h.table, state: 'waiting' }, h.waiting);
      this.held.set({ table: h.table, state: 'deferred' }, h.deferred);
      this.heldAge.set({ table: h.table }, h.oldestSince === undefined ? 0 : Math.max(0, (now - h.oldestSince) / 1000));
    }
    const total = running.reduce((n, b) => n + b.total, 0);
    this.runFinishedRatio.set(total === 0 ? 1 : running.reduce((n, b) => n + b.finished, 0) / total);
    const stale = await listStale(this.rt);
    for (const def of this.rt.registry.transforms()) this.stale.set({ processor: def.name }, stale.filter((x) => x.processor === def.name).length);
    await Promise.all([this.tailEvents(), this.observeCommitJobs(), this.observeRunEnds(), this.countReplacedWorkers()]);
  }

  /**
   * Worker replacements since the previous scrape, from the counts every process keeps in Redis.
   * The first scrape takes them as they are (the counter starts with the dashboard); a count
   * that went down is a Redis that lost its data, counting again from nothing.
   */
  private async countReplacedWorkers(): Promise<void> {
    const now = new Map(Object.entries(await this.rt.redis.hgetall(this.rt.keys.workersReplaced())).map(([queue, n]) => [queue, Number(n)]));
    const seen = this.replacedSeen;
    this.replacedSeen = now;
    if (!seen) return;
    for (const [queue, n] of now) {
      const before = seen.get(queue) ?? 0;
      const added = n >= before ? n - before : n;
      if (added > 0) this.workersReplaced.inc({ queue }, added);
    }
  }

  /** Runs that ended since the previous scrape (the run-ends stream, one entry per run). */
  private async observeRunEnds(): Promise<void> {
    const { runs, lastId } = await finishedRuns(this.rt, this.lastRunEndId ? { afterId: this.lastRunEndId } : { sinceMs: this.startedAt });
    for (const r of runs) this.runDuration.observe({ kind: r.kind, outcome: r.outcome }, r.seconds);
    if (lastId) this.lastRunEndId = lastId;
  }

  private async tailEvents(): Promise<void> {
    const points = await readCommits(this.rt, this.lastEventId ? { afterId: this.lastEventId } : { sinceMs: this.startedAt });
    for (const p of points) {
      this.rows.inc({ table: p.table, processor: p.processor }, p.rows);
      this.slices.inc({ table: p.table });
      // One batch's events are appended together; a new batch id is a new table operation.
      if (this.lastBatch.get(p.table) !== p.batchId) {
        this.operations.inc({ table: p.table });
        this.lastBatch.set(p.table, p.batchId);
      }
    }
    const last = points.at(-1);
    if (last) this.lastEventId = last.id;
  }

  /** Completed commit jobs finished since the previous scrape (the queue keeps its last 200). */
  private async observeCommitJobs(): Promise<void> {
    for (const def of this.rt.registry.transforms()) {
      const table = tableId(def.table);
      const since = this.finishedWatermark.get(table) ?? this.startedAt;
      const jobs = await this.rt.queues.commit(table).getJobs(['completed'], 0, 199);
      let newest = since;
      for (const job of jobs) {
        const { finishedOn, processedOn } = job;
        if (finishedOn === undefined || processedOn === undefined || finishedOn <= since) continue;
        newest = Math.max(newest, finishedOn);
        // A commit that found nothing to take did no table operation: not a commit latency.
        if ((job.returnvalue as CommitJobResult | undefined)?.slices === 0) continue;
        this.latency.observe({ table }, Math.max(0, finishedOn - processedOn) / 1000);
      }
      this.finishedWatermark.set(table, newest);
    }
  }
}
