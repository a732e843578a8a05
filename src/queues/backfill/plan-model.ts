import { DefinitionError } from '../../errors/definition-error.ts';
import { placeWindowMs } from '../commit/ops-window.ts';
/**
 * The dry run's model of a backfill: a discrete-event simulation of the phase workers, the
 * table gates and the dependency tracker, so `backfill --dry-run` can say how many group
 * commits (DML statements) each table will take, not just the lower bound of dates / batch cap.
 *
 * What it follows, each as the code it stands for does it:
 * - phase queues: one worker per phase with `concurrency` slots, jobs first in first out (one
 *   backfill's jobs share a priority); a scraper queues its phase-2 job when it ends
 *   (phase-worker.ts), a transform stages its slice for its table's gate;
 * - the table gate (staging.ts `ensureCommitJob`, `adaptiveGatherMs`; commit/worker.ts): a
 *   staging asks for the table's next commit job, delayed by the gather window times the
 *   table's pressure (its share of the rate window used, of its running commits), at once when
 *   a batch is full; a phase 3–5 table gathers up to its backlog window while its phase has
 *   jobs waiting or running, up to its upstream window while a phase upstream has, and its
 *   phase and every phase upstream running dry makes its job due (backlog-gather.ts);
 *   the job starts when due, under the table's concurrency and its BullMQ
 *   rate limit (`opsMax` per `opsWindowSeconds`, a fixed window opened by the first start);
 *   it takes up to `commitMaxSlices` pending slices (and asks for another job at once when
 *   more wait), holds its slot for the commit path's own cost, its statement's wait for a place
 *   in the table's sliding rate window (`waitForOpsSlot`: at most `opsMax` statements started in
 *   any window) and the rules layer's MERGE latency (dml-latency.ts, its mean), and when it
 *   ends asks for a job for what arrived meanwhile;
 * - the dependency tracker (events/unlocks.ts): a commit's events queue each dependent whose
 *   inputs have all landed for the date, at once (a backfill's jobs take no debounce); a
 *   look-back processor (rolling features) runs a date only once every earlier date of its
 *   season that the backfill produces has landed upstream;
 * - the process: every phase job and every commit's own work shares one event loop
 *   (`EventLoop`), which is what slows phases 3–5 when they all run at once.
 *
 * What it leaves out: failures, retries, the streaming buffer, other processes' work, DuckDB's
 * one writer and one reader connection (each statement waits for the one before). Measured
 * against real runs it lands within about a quarter of the DML statements per table, less
 * closely (up to ~30 % fewer) when phases 3–5 run at ×10 with a 1 s gather window.
 *
 * Every duration is real milliseconds; BigQuery-clock settings are divided by the time scale.
 * Nothing here touches Redis or the warehouse: it is a pure function of its input.
 */

/** One processor the backfill reaches. */
export interface ModelProcessor {
  name: string;
  phase: number;
  kind: 'scraper' | 'transform';
  /** The table it writes (`dataset.table`), for a transform. */
  table?: string | undefined;
  /** Inputs among the modelled processors that must have landed a date before it runs it. */
  dependsOn: string[];
  /**
   * A look-back window (rolling features): the input whose earlier dates it reads, and per date
   * (index into `dates`) the index of the first date of its window. A date runs only once every
   * earlier date of its window has landed in that input.
   */
  lookback?: { input: string; firstIndex: number[] } | undefined;
  /** Real ms one job takes on an otherwise idle process. */
  jobMs: number;
  /** Added per earlier date of its look-back window that the job reads. */
  jobMsPerWindowDate: number;
  /** Rows a slice stages per scheduled game. */
  rowsPerGame: number;
}

export interface ModelTable {
  commitMaxSlices: number;
  /** `PHASEGATE_COMMIT_GATHER_SECONDS` (BigQuery clock). */
  gatherSeconds: number;
  opsMax: number;
  opsWindowSeconds: number;
  /** Commits running at once. */
  concurrency: number;
  /** `PHASEGATE_COMMIT_BACKLOG_GATHER_SECONDS` (BigQuery clock): a phase 3–5 table's gather while its phase has a backlog. @defaultValue 0 */
  backlogGatherSeconds?: number | undefined;
  /** `PHASEGATE_COMMIT_UPSTREAM_GATHER_SECONDS` (BigQuery clock): a phase 3–5 table's gather while a phase upstream of it has jobs. @defaultValue 0 */
  upstreamGatherSeconds?: number | undefined;
}

export interface PlanModelInput {
  /** Reached processors, upstream first. */
  processors: ModelProcessor[];
  /** Jobs queued at the start, in the order they are queued: a processor and its dates (indexes into `dates`). */
  roots: { name: string; dates: number[] }[];
  /** Game dates, ascending. */
  dates: string[];
  /** Scheduled games per date (same order as `dates`). */
  games: number[];
  /** Phase jobs at once per phase queue. */
  concurrency: number;
  /** Phase 3–5 jobs at once per phase queue (they read together: `phaseConcurrency`). @defaultValue concurrency */
  readingConcurrency?: number | undefined;
  timeScale: number;
  tables: Record<string, ModelTable>;
  /** The rules layer's MERGE latency: BigQuery seconds per statement and per thousand rows. */
  dml: { baseSeconds: number; perThousandRowsSeconds: number };
  /** Callbacks a task is split into on the event loop. @defaultValue LOOP_STEPS */
  loopSteps?: number | undefined;
  /** Hears every modelled commit as it starts (real ms since the first job): for looking into the model. */
  onCommit?: ((table: string, atMs: number, slices: number, rows: number) => void) | undefined;
  /** Hears every modelled statement as it starts, after its place in the rate window (real ms since the first job). */
  onStatement?: ((table: string, atMs: number) => void) | undefined;
}

export interface ModelTableResult {
  table: string;
  slices: number;
  /** Group commits the run takes: DML statements. */
  statements: number;
}

export interface PlanModelResult {
  /** Jobs per processor. */
  jobs: Record<string, number>;
  tables: ModelTableResult[];
  /** Real ms from the first job to the last commit. */
  durationMs: number;
}

/**
 * A commit job's own work besides the MERGE's wait, in ms of the process's time: the integrity
 * read, the streaming-buffer check, the DuckDB statement itself, marking the slices and
 * publishing their events. Measured with the rules layer off (`PHASEGATE_BQ_RULES=false`, so a
 * commit job's time is its own): 35–220 ms per commit of a ×10 cascade of 64 dates, `--workers 1`,
 * growing with its slices and rows (42 slices, 7,629 rows: ~200 ms).
 */
export const COMMIT_WORK = { baseMs: 40, perSliceMs: 2, perThousandRowsMs: 10 } as const;

/**
 * Callbacks a phase job or a commit's own work takes on the event loop (see `EventLoop`): about
 * the Redis and DuckDB round trips of a job (its status, its run-log row, its reads, its
 * staging). Fitted with the cost factor of plan-costs.ts; 8 to 14 gave the same estimates.
 */
export const LOOP_STEPS = 10;

/** Time between a commit's events and the tracker's reaction (a blocking stream read, a few round trips), real ms. */
const TRACKER_MS = 5;

type Ev = { at: number; seq: number; run: () => void };

/** A binary heap of timed events; ties run in the order they were scheduled. */
class Agenda {
  private readonly heap: Ev[] = [];
  private seq = 0;
  now = 0;

  at(at: number, run: () => void): void {
    const ev = { at: Math.max(at, this.now), seq: this.seq++, run };
    const h = this.heap;
    h.push(ev);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!before(h[i] as Ev, h[p] as Ev)) break;
      [h[i], h[p]] = [h[p] as Ev, h[i] as Ev];
      i = p;
    }
  }

  runAll(limit: number): void {
    for (let n = 0; n < limit; n++) {
      const ev = this.pop();
      if (!ev) return;
      this.now = ev.at;
      ev.run();
    }
    throw new DefinitionError(`plan model: more than ${limit} events; the model does not settle`);
  }

  private pop(): Ev | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l] as Ev, h[m] as Ev)) m = l;
        if (r < h.length && before(h[r] as Ev, h[m] as Ev)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m] as Ev, h[i] as Ev];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Ev, b: Ev): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/**
 * The process's event loop: a task (a phase job, a commit's own work) is a run of `steps`
 * callbacks, each a share of its work, and each queues behind every callback already waiting
 * (first in, first out) — a job's Redis and DuckDB round trips each hand the loop to the others.
 * So under load every job takes about `steps` rounds of the loop, whatever its own work: what
 * the run log shows (at ×10 with 4 jobs per phase a 10 ms job and a 50 ms one both take ~150–200 ms).
 */
class EventLoop {
  private readonly queue: { ms: number; after: () => void }[] = [];
  private busy = 0;

  constructor(
    private readonly ag: Agenda,
    private readonly servers: number,
  ) {}

  run(workMs: number, steps: number, done: () => void): void {
    const n = Math.max(1, Math.round(steps));
    const each = workMs / n;
    let left = n;
    const step = () => {
      left--;
      if (left > 0) this.push(each, step);
      else done();
    };
    this.push(each, step);
  }

  private push(ms: number, after: () => void): void {
    this.queue.push({ ms, after });
    this.next();
  }

  private next(): void {
    while (this.busy < this.servers && this.queue.length > 0) {
      const cb = this.queue.shift() as { ms: number; after: () => void };
      this.busy++;
      this.ag.at(this.ag.now + cb.ms, () => {
        this.busy--;
        cb.after();
        this.next();
      });
    }
  }
}

interface Gate {
  name: string;
  limits: ModelTable;
  /** Pending slices: date index → rows. */
  pending: Map<number, number>;
  /** When the next commit job is due, if one was asked for (one per commit sequence). */
  nextDue: number | undefined;
  /** A wake-up for the next job is on the agenda at this time. */
  wakeAt: number | undefined;
  running: number;
  /** The writer's phase when it is 3–5 (backlog-gather.ts `downstreamPhase`). */
  phase: number | undefined;
  /** The writer's phase. */
  writer: number;
  /** The asked-for job gathers for its phase's backlog. */
  backlog: boolean;
  windowStart: number;
  windowUsed: number;
  /** When its last `opsMax` statements started, oldest first (the rate window's places). */
  statementStarts: number[];
  statements: number;
  slices: number;
}

export function simulatePlan(input: PlanModelInput): PlanModelResult {
  const ag = new Agenda();
  const scaled = (seconds: number) => Math.max(1, (seconds * 1000) / input.timeScale);
  const byName = new Map(input.processors.map((p) => [p.name, p]));
  const dependents = new Map<string, ModelProcessor[]>();
  for (const p of input.processors) for (const d of p.dependsOn) dependents.set(d, [...(dependents.get(d) ?? []), p]);
  const landed = new Map<string, boolean[]>(input.processors.map((p) => [p.name, input.dates.map(() => false)]));
  const requested = new Map<string, boolean[]>(input.processors.map((p) => [p.name, input.dates.map(() => false)]));
  const jobs: Record<string, number> = Object.fromEntries(input.processors.map((p) => [p.name, 0]));
  const queues = new Map<number, { waiting: { p: ModelProcessor; date: number }[]; busy: number }>();
  const cpu = new EventLoop(ag, 1);
  const steps = input.loopSteps ?? LOOP_STEPS;
  let lastCommitEnd = 0;
  /** Commits whose events the tracker has not handled yet, by the phase of the table's writer. */
  const trackerInFlight = new Map<number, number>();
  const inFlight = (phase: number, by: number) => trackerInFlight.set(phase, (trackerInFlight.get(phase) ?? 0) + by);
  /** Whether a processor of `phase` is downstream of a processor of `from`. */
  const fed = new Map<string, boolean>();
  const feeds = (from: number, phase: number): boolean => {
    const key = `${from}>${phase}`;
    let answer = fed.get(key);
    if (answer === undefined) {
      const reached = new Set<string>();
      const walk = (name: string): void => {
        for (const d of input.processors) {
          if (!d.dependsOn.includes(name) || reached.has(d.name)) continue;
          reached.add(d.name);
          walk(d.name);
        }
      };
      for (const p of input.processors) if (p.phase === from) walk(p.name);
      answer = input.processors.some((d) => d.phase === phase && reached.has(d.name));
      fed.set(key, answer);
    }
    return answer;
  };

  const gates = new Map<string, Gate>();
  for (const p of input.processors) {
    if (p.kind !== 'transform' || !p.table || gates.has(p.table)) continue;
    const limits = input.tables[p.table];
    if (!limits) throw new DefinitionError(`plan model: no limits for ${p.table}`);
    gates.set(p.table, {
      name: p.table,
      limits,
      pending: new Map(),
      nextDue: undefined,
      wakeAt: undefined,
      running: 0,
      phase: p.phase >= 3 ? p.phase : undefined,
      writer: p.phase,
      backlog: false,
      windowStart: Number.NEGATIVE_INFINITY,
      windowUsed: 0,
      statementStarts: [],
      statements: 0,
      slices: 0,
    });
  }

  const queueOf = (phase: number) => {
    let q = queues.get(phase);
    if (!q) {
      q = { waiting: [], busy: 0 };
      queues.set(phase, q);
    }
    return q;
  };

  const startJobs = (phase: number) => {
    const q = queueOf(phase);
    const slots = phase >= 3 ? (input.readingConcurrency ?? input.concurrency) : input.concurrency;
    while (q.busy < slots && q.waiting.length > 0) {
      const job = q.waiting.shift() as { p: ModelProcessor; date: number };
      q.busy++;
      jobs[job.p.name] = (jobs[job.p.name] ?? 0) + 1;
      const window = job.p.lookback ? job.date - (job.p.lookback.firstIndex[job.date] ?? job.date) : 0;
      cpu.run(job.p.jobMs + job.p.jobMsPerWindowDate * window, steps, () => {
        q.busy--;
        finishJob(job.p, job.date);
        startJobs(phase);
      });
    }
  };

  const enqueue = (p: ModelProcessor, date: number) => {
    const req = requested.get(p.name) as boolean[];
    if (req[date]) return;
    req[date] = true;
    ag.at(ag.now, () => {
      queueOf(p.phase).waiting.push({ p, date });
      startJobs(p.phase);
    });
  };

  const finishJob = (p: ModelProcessor, date: number) => {
    if (p.kind === 'scraper') {
      (landed.get(p.name) as boolean[])[date] = true;
      // A scraper queues its dependents itself, at once (phase-worker.ts `runScraper`).
      for (const d of dependents.get(p.name) ?? []) enqueue(d, date);
      return;
    }
    const gate = gates.get(p.table as string) as Gate;
    gate.pending.set(date, Math.round(p.rowsPerGame * (input.games[date] ?? 0)));
    gate.slices++;
    askCommit(gate, gate.pending.size >= gate.limits.commitMaxSlices);
    // staging.ts `phaseJobFinished`: the phase's gathers, and those of the dry phases downstream.
    if (gate.phase !== undefined) for (let q = gate.phase; q <= 5; q++) startOnPhaseDrained(q);
  };

  /** backlog-gather.ts `moreComing`; a finished job has already left its queue's busy slots. */
  const moreComing = (phase: number) => {
    const q = queueOf(phase);
    return q.waiting.length > 0 || q.busy > 0;
  };

  /** backlog-gather.ts `backlogOf(…).upstreamBusy`: unhandled events of processors upstream of the phase's, an upstream phase's jobs, or its tables' commits. */
  const upstreamBusy = (phase: number) =>
    [...trackerInFlight].some(([p, n]) => n > 0 && feeds(p, phase)) ||
    [...queues.keys()].some((p) => p < phase && moreComing(p)) ||
    [...gates.values()].some((g) => g.writer < phase && (g.running > 0 || g.nextDue !== undefined));

  /** staging.ts `startOnPhaseDrained`. */
  const startOnPhaseDrained = (phase: number) => {
    if (moreComing(phase) || upstreamBusy(phase)) return;
    for (const g of gates.values()) {
      if (!g.backlog || g.phase !== phase || g.nextDue === undefined) continue;
      g.backlog = false;
      g.nextDue = Math.min(g.nextDue, ag.now);
      tryStart(g);
    }
  };

  /** staging.ts `adaptiveGatherMs`. */
  const gatherWindowMs = (gate: Gate) => (gate.limits.gatherSeconds > 0 ? scaled(gate.limits.gatherSeconds) : 0);
  const gatherMs = (gate: Gate) => {
    const windowMs = gatherWindowMs(gate);
    if (windowMs === 0) return 0;
    const opsWindow = scaled(gate.limits.opsWindowSeconds);
    const inWindow = ag.now < gate.windowStart + opsWindow;
    const used = inWindow ? gate.windowUsed : 0;
    if (used >= gate.limits.opsMax) return Math.max(windowMs, gate.windowStart + opsWindow - ag.now);
    const pressure = Math.min(1, Math.max(used / gate.limits.opsMax, gate.running / Math.max(1, Math.min(2, gate.limits.concurrency))));
    return windowMs * pressure;
  };

  /** staging.ts `ensureCommitJob`: one job per commit sequence; a full batch makes it due now. */
  const askCommit = (gate: Gate, full: boolean) => {
    if (gate.nextDue === undefined) {
      let wait = full ? 0 : gatherMs(gate);
      // staging.ts `burstGatherMs`: a raw table gathers at least a window while its phase has more coming.
      if (!full && gate.phase === undefined && moreComing(gate.writer)) wait = Math.max(wait, gatherWindowMs(gate));
      const backlog = gate.limits.backlogGatherSeconds ?? 0;
      if (!full && gate.phase !== undefined && backlog > 0 && moreComing(gate.phase)) {
        wait = Math.max(wait, scaled(backlog));
        gate.backlog = true;
      }
      const upstream = gate.limits.upstreamGatherSeconds ?? 0;
      if (!full && gate.phase !== undefined && upstream > 0 && upstreamBusy(gate.phase)) {
        wait = Math.max(wait, scaled(upstream));
        gate.backlog = true;
      }
      gate.nextDue = ag.now + wait;
    } else if (full) gate.nextDue = Math.min(gate.nextDue, ag.now);
    tryStart(gate);
  };

  const wake = (gate: Gate, at: number) => {
    if (gate.wakeAt !== undefined && gate.wakeAt <= at && gate.wakeAt >= ag.now) return;
    gate.wakeAt = at;
    ag.at(at, () => {
      if (gate.wakeAt === at) gate.wakeAt = undefined;
      tryStart(gate);
    });
  };

  const tryStart = (gate: Gate) => {
    if (gate.nextDue === undefined) return;
    if (ag.now < gate.nextDue) return wake(gate, gate.nextDue);
    if (gate.running >= gate.limits.concurrency) return; // the end of a running commit tries again
    const opsWindow = scaled(gate.limits.opsWindowSeconds);
    if (ag.now >= gate.windowStart + opsWindow) {
      gate.windowStart = ag.now;
      gate.windowUsed = 0;
    }
    if (gate.windowUsed >= gate.limits.opsMax) return wake(gate, gate.windowStart + opsWindow);
    gate.windowUsed++;
    gate.nextDue = undefined;
    gate.backlog = false;
    // The take: up to the batch cap, earliest dates first (the take script sorts its fields).
    const taken = [...gate.pending.keys()].sort((a, b) => a - b).slice(0, gate.limits.commitMaxSlices);
    if (taken.length === 0) return;
    let rows = 0;
    for (const d of taken) {
      rows += gate.pending.get(d) ?? 0;
      gate.pending.delete(d);
    }
    gate.running++;
    gate.statements++;
    input.onCommit?.(gate.name, ag.now, taken.length, rows);
    // More than one batch waits: the next commit is asked for at once — a phase 3–5 table's
    // partial batch gathers (commit/worker.ts).
    if (gate.pending.size > 0) askCommit(gate, gate.phase === undefined || gate.pending.size >= gate.limits.commitMaxSlices);
    const mergeMs = ((input.dml.baseSeconds + (input.dml.perThousandRowsSeconds * rows) / 1000) * 1000) / input.timeScale;
    const workMs = COMMIT_WORK.baseMs + COMMIT_WORK.perSliceMs * taken.length + (COMMIT_WORK.perThousandRowsMs * rows) / 1000;
    const landedBatch = () => {
      // Released before the job ends: what arrived meanwhile waits a window at full pressure.
      if (gate.pending.size > 0) askCommit(gate, false);
      gate.running--;
      lastCommitEnd = ag.now;
      // commit/worker.ts: a data table's commit landing starts the gathers downstream that are
      // still dry one gather window later (staging.ts `startIfDry`).
      ag.at(ag.now + scaled(gate.limits.gatherSeconds), () => {
        for (let q = Math.max(3, gate.writer + 1); q <= 5; q++) startOnPhaseDrained(q);
      });
      const owner = input.processors.filter((p) => p.table === gate.name);
      inFlight(gate.writer, 1);
      ag.at(ag.now + TRACKER_MS, () => {
        inFlight(gate.writer, -1);
        for (const p of owner) for (const d of taken) (landed.get(p.name) as boolean[])[d] = true;
        for (const p of owner) unlock(p, taken);
        // dependency-tracker.ts: handled events may have been the last work upstream of a gather.
        ag.at(ag.now + scaled(gate.limits.gatherSeconds), () => {
          for (let q = 3; q <= 5; q++) startOnPhaseDrained(q);
        });
      });
      tryStart(gate);
    };
    // The commit path's own work (its reads, the statement, the marking), its statement's place
    // in the rate window, and the MERGE's latency.
    cpu.run(workMs, steps, () => ag.at(statementStart(gate) + mergeMs, landedBatch));
  };

  /**
   * commit/worker.ts `waitForOpsSlot`: a statement starts once fewer than `opsMax` started in
   * the window before it, sliding, as BigQuery counts (the fixed window above starts the jobs).
   * Places are given in order, so the starts stay sorted.
   */
  const statementStart = (gate: Gate): number => {
    const starts = gate.statementStarts;
    const oldest = starts.length >= gate.limits.opsMax ? starts[starts.length - gate.limits.opsMax] : undefined;
    const at = oldest === undefined ? ag.now : Math.max(ag.now, oldest + placeWindowMs(scaled(gate.limits.opsWindowSeconds)));
    starts.push(at);
    if (starts.length > gate.limits.opsMax) starts.shift();
    input.onStatement?.(gate.name, at);
    return at;
  };

  /** unlocks.ts: what a commit of `p` for `dates` lets run. */
  const unlock = (p: ModelProcessor, dates: number[]) => {
    for (const d of dependents.get(p.name) ?? []) {
      if (d.kind !== 'transform') continue;
      // A look-back processor's later dates may have been waiting for these.
      const candidates = d.lookback?.input === p.name ? input.dates.map((_, i) => i) : dates;
      for (const date of candidates) {
        if ((requested.get(d.name) as boolean[])[date]) continue;
        if (!d.dependsOn.every((dep) => (landed.get(dep) as boolean[])[date])) continue;
        if (d.lookback && !windowLanded(d.lookback, date)) continue;
        enqueue(d, date);
      }
    }
  };

  const windowLanded = (lookback: NonNullable<ModelProcessor['lookback']>, date: number) => {
    const l = landed.get(lookback.input) as boolean[];
    for (let i = lookback.firstIndex[date] ?? date; i < date; i++) if (!l[i]) return false;
    return true;
  };

  for (const root of input.roots) {
    const p = byName.get(root.name);
    if (p) for (const i of root.dates) enqueue(p, i);
  }
  ag.runAll(50_000_000);
  return {
    jobs,
    tables: [...gates.values()].map((g) => ({ table: g.name, slices: g.slices, statements: g.statements })),
    durationMs: lastCommitEnd,
  };
}
