/**
 * The targets `bench:scale` checks, one line each, MET / NOT MET (INFO where a figure has no
 * target at that size): table operations per table against ⌈dates / commitMaxSlices⌉ + 4, real
 * time per date, a cascade's makespan against its quota bound, and peak RSS (issue 24).
 */
import { idleLaneSeconds } from '../cascade-bound.ts';
import type { ScaleRunResult } from './run.ts';

/** The small constant of "⌈dates / commitMaxSlices⌉ + a small constant" table operations. */
export const SMALL = 4;
/** A cascade's makespan may exceed its quota bound by this factor (issue 24). */
export const BOUND_FACTOR = 1.3;
/** Peak RSS of the commit-gate process with phases 3–5 in it, and of a phase-2 worker process, with default settings (issue 24). */
export const GATE_RSS_MB = 400;
export const PHASE2_RSS_MB = 160;

const verdict = (ok: boolean) => (ok ? 'MET    ' : 'NOT MET');

export interface TargetContext {
  maxSlices: number;
  /** The runs over `--sizes`, in order. */
  sizes: readonly ScaleRunResult[];
  /** The process runs (`--processes`). */
  procs: readonly ScaleRunResult[];
  rawTables: readonly string[];
  relay: boolean;
  /** A heap cap or node flags were given: the memory figures are not the defaults'. */
  tunedHeap: boolean;
}

/** `makespan ≤ 1.3 × bound` for a cascade (INFO for phase 2 alone), with the bound's parts. */
function boundLine(r: ScaleRunResult, where: string): string {
  const b = r.bound;
  const ratio = r.makespanOverBound ?? Number.POSITIVE_INFINITY;
  const head = r.cascade ? verdict(ratio <= BOUND_FACTOR) : 'INFO   ';
  return (
    `${head} ${r.dates} dates${r.cascade ? ' × every processor' : ''} at × ${r.timeScale}, ${where}: makespan ${r.makespanSeconds.bigquery} s ≤ ${BOUND_FACTOR} × quota bound ${b.seconds} s — × ${r.makespanOverBound ?? '—'}` +
    ` (at the gates' own caps ${b.atGateCapsSeconds} s; critical path ${b.criticalPath})${r.timedOut ? ' (TIMED OUT)' : ''}`
  );
}

/**
 * Where a cascade's makespan went: per table, inputs first, when its statements ran in the run
 * beside the bound's schedule — the first table whose end runs far past its bound's is where
 * the run fell behind.
 */
function scheduleLine(r: ScaleRunResult, where: string): string {
  const spans = r.bound.tables.map((b) => {
    const ran = r.tables.find((t) => t.table === b.id)?.statements ?? [];
    if (ran.length === 0) return `${b.id.split('.')[1]} — (${b.firstStartSeconds}–${b.endSeconds})`;
    const run = `${Math.min(...ran.map(([start]) => start))}–${Math.max(...ran.map(([, end]) => end))}`;
    return `${b.id.split('.')[1]} ${run} (${b.firstStartSeconds}–${b.endSeconds}) idle ${idleLaneSeconds(ran, b.running)}`;
  });
  return `INFO    ${r.dates} dates × every processor at × ${r.timeScale}, ${where}: statements per table, first start – last end, run (bound), BigQuery s, and idle lane-seconds (fewer running than the bound's caps allow): ${spans.join(', ')}`;
}

/** What the run's processes spent on the CPU, beside its makespan (real seconds). */
function cpuLine(r: ScaleRunResult, where: string): string {
  const { gateSeconds, gateMainThreadBusy, phaseWorkerSeconds } = r.cpu;
  const workers = phaseWorkerSeconds.length > 0 ? `; phase-worker processes ${phaseWorkerSeconds.join(', ')} CPU s` : '';
  return `INFO    ${r.dates} dates${r.cascade ? ' × every processor' : ''} at × ${r.timeScale}, ${where}: commit-gate process ${gateSeconds} CPU s in ${r.makespanSeconds.real} real s, its main thread busy ${Math.round(gateMainThreadBusy * 100)} %${workers}`;
}

/** The queues whose jobs failed an attempt or stalled: "nba_raw.nbac_team_boxscore commits 2 failed attempts (IO Error: …)". */
function retriesLine(r: ScaleRunResult, where: string): string {
  const parts = r.retries.map((q) => {
    const what = [q.failedAttempts > 0 ? `${q.failedAttempts} failed attempts` : '', q.stalled > 0 ? `${q.stalled} stalled` : ''].filter(Boolean).join(', ');
    return `${q.queue} ${what}${q.reasons.length > 0 ? ` (${q.reasons.join('; ')})` : ''}`;
  });
  return `INFO    ${r.dates} dates × ${r.cascade ? 'every processor' : 'phase 2'}, ${where}: jobs tried again or stalled: ${parts.join(', ')}`;
}

/** What held DuckDB's memory at its peak, largest first: ", of it: IN_MEMORY_TABLE 112.9 MB, BASE_TABLE 35.5 MB". */
function duckdbTags(tags: Record<string, number> | undefined): string {
  const held = Object.entries(tags ?? {})
    .filter(([, mb]) => mb >= 1)
    .sort(([, a], [, b]) => b - a);
  return held.length === 0 ? '' : `; of it: ${held.map(([tag, mb]) => `${tag} ${mb} MB`).join(', ')}`;
}

const whereOf = (r: ScaleRunResult) => (r.phaseProcesses === 0 ? 'phase workers in the gate process' : `phase workers in ${r.phaseProcesses} process(es)`);

export function scaleTargets(ctx: TargetContext): string[] {
  const out: string[] = [];
  const opsBound = (dates: number) => Math.ceil(dates / ctx.maxSlices) + SMALL;
  for (const r of ctx.sizes) {
    for (const t of ctx.rawTables) {
      const ops = r.tables.find((x) => x.table === t)?.tableOperations ?? 0;
      out.push(
        `${verdict(ops <= opsBound(r.dates))} ${r.dates} dates, ${t}: table operations ${ops} ≤ ⌈dates / ${ctx.maxSlices}⌉ + ${SMALL} = ${opsBound(r.dates)}`,
      );
    }
  }
  for (let i = 1; i < ctx.sizes.length; i++) {
    const [a, b] = [ctx.sizes[i - 1] as ScaleRunResult, ctx.sizes[i] as ScaleRunResult];
    out.push(
      `${verdict(b.realMsPerDate <= a.realMsPerDate * 1.1)} real time per date flat or falling (within 10 %): ${a.dates} → ${b.dates} dates: ${a.realMsPerDate} → ${b.realMsPerDate} ms`,
    );
  }
  const all = [...ctx.sizes, ...ctx.procs];
  for (const r of all) {
    const where = whereOf(r);
    out.push(boundLine(r, where));
    if (r.cascade) out.push(scheduleLine(r, where));
    if (r.retries.length > 0) out.push(retriesLine(r, where));
    out.push(cpuLine(r, where));
  }
  for (const r of all.filter((x) => x.cascade)) {
    for (const t of r.tables.filter((x) => x.phase >= 3 && x.rows > 0)) {
      out.push(
        `${verdict(t.tableOperations <= opsBound(r.dates))} ${r.dates} dates × every processor, ${whereOf(r)}, ${t.table} (phase ${t.phase}): table operations ${t.tableOperations} ≤ ⌈dates / ${ctx.maxSlices}⌉ + ${SMALL} = ${opsBound(r.dates)}`,
      );
    }
  }
  for (const r of all.filter((x) => x.cascade)) {
    // Query jobs against commits: every job (phases 3–5 reading their inputs, and the commit
    // path's integrity check, one per commit), then the phases' reads alone.
    const commits = r.tables.reduce((n, t) => n + t.commits, 0);
    const { reads, checks } = r.queryJobs;
    const perTable = r.tables.filter((t) => t.tableReads > 0).map((t) => `${t.table.split('.')[1]} ${t.tableReads}`);
    out.push(
      `${verdict(reads + checks <= commits + SMALL)} ${r.dates} dates × every processor, ${whereOf(r)}: query jobs ${reads + checks} (${reads} reads, ${checks} checks) ≤ commits ${commits} + ${SMALL}`,
    );
    out.push(
      `${verdict(reads <= commits + SMALL)} ${r.dates} dates × every processor, ${whereOf(r)}: phase 3–5 input reads ${reads} ≤ commits ${commits} + ${SMALL} (tables read in them: ${perTable.join(', ')})`,
    );
  }
  const tuned = ctx.tunedHeap ? ' (heap capped by flags: not the defaults)' : '';
  for (const r of all.filter((x) => x.cascade && !(ctx.relay && x.phaseProcesses > 0))) {
    out.push(
      `${verdict(r.gateRssMb < GATE_RSS_MB)} commit-gate process with phases 3–5 < ${GATE_RSS_MB} MB at ${r.dates} dates × every processor, ${whereOf(r)}${tuned}: ${r.gateRssMb} MB (JS heap peak ${r.gateMemoryMb.heapUsedPeak} MB, DuckDB peak ${r.gateMemoryMb.duckdbPeak} MB of its limit ${r.gateMemoryMb.duckdbLimit}${duckdbTags(r.gateMemoryMb.duckdbAtPeak)})`,
    );
  }
  for (const r of ctx.procs.filter((x) => x.phaseProcesses > 0 && !(ctx.relay && x.cascade))) {
    const worst = Math.max(...r.phaseWorkerRssMb);
    out.push(`${verdict(worst < PHASE2_RSS_MB)} phase-2 worker process < ${PHASE2_RSS_MB} MB at ${r.dates} dates${tuned}: ${r.phaseWorkerRssMb.join(', ')} MB`);
  }
  const biggest = ctx.sizes.at(-1);
  if (biggest && !biggest.cascade) out.push(`INFO    worker RSS at ${biggest.dates} dates × phase 2: ${biggest.gateRssMb} MB`);
  return out;
}
