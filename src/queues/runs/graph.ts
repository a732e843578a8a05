/**
 * A run's graph: the slices (processor × game date) a backfill, a cascade or an audit reaches,
 * and the one place their states are decided. The dependency tracker asks it whether a
 * downstream slice can run, the phase worker and the commit path ask it which downstream
 * slices an ended slice settles, and the CLI, the dashboard, the demo and the audit read a
 * run's progress from it — so a wait ends exactly when nothing the run reached will still run.
 *
 * The rule for a downstream slice, from its inputs for the same date:
 * - it runs when every required input landed rows (committed, or incomplete with some games:
 *   the dependant then says itself what it misses), or when the required inputs ended without
 *   rows and an optional input (the fallback source) landed the date;
 * - it is `upstream_failed`, at once, when a required input failed, was deferred, cancelled or
 *   is itself upstream_failed — whichever of several inputs it is, and whatever the others do;
 * - when the required inputs ended without rows and no fallback landed: `empty` if every one
 *   was empty (nothing scheduled), else `upstream_failed` naming the input that landed
 *   nothing. A required input that ended incomplete with nothing landed counts as failed for
 *   its dependants (there is no row to compute from); one that landed some games does not;
 * - a slice none of whose inputs the run produces was started directly (a requested root):
 *   its own job decides, whatever its inputs hold;
 * - an input the run does not reach, and that holds no final state for the date, will not
 *   come: nothing in this run will produce it. It counts as having landed nothing, so a run
 *   never waits on work nothing will run (the audit's fallback nights: NBA.com's raw tables
 *   never ran for them, balldontlie's did).
 */
import { inputsOf } from '../../processors/registry.ts';
import type { ProcessorDef, TransformDef } from '../../processors/types.ts';
import type { PipelineContext } from '../context.ts';
import { FAILED_STATES, FINAL_STATES, landed, SLICE_STATES, type SliceState, type SliceStatus } from '../status-store.ts';
import type { BackfillRecord } from './record.ts';

/** One input of a downstream slice, as the verdict sees it. */
export interface InputView {
  processor: string;
  /** A dependency (`dependsOn`); an optional input (a fallback source) otherwise. */
  required: boolean;
  /** Whether the run produces this input for the date (it is one of the run's slices). */
  inRun: boolean;
  status: SliceStatus | undefined;
}

/** What a downstream slice does next, given its inputs. */
export type Verdict =
  | { kind: 'ready' }
  | { kind: 'wait' }
  | { kind: 'ended'; status: 'upstream_failed' | 'empty'; upstream: { processor: string; slice: string }; error: string };

type InputClass = 'landed' | 'broken' | 'empty' | 'nothing' | 'absent' | 'pending';

function classify(input: InputView): InputClass {
  const s = input.status;
  if (landed(s)) return 'landed';
  if (s && FAILED_STATES.has(s.status)) return 'broken';
  if (s?.status === 'empty') return 'empty';
  if (s && FINAL_STATES.has(s.status)) return 'nothing';
  return input.inRun ? 'pending' : 'absent';
}

/** The root of a chain of ruled-out slices: `nbac_team_boxscore 2023-11-02 failed: <reason>`. */
function rootCause(error: string): string {
  let e = error;
  for (let m = /^upstream \S+ \S+ upstream_failed, from (.*)$/s.exec(e); m; m = /^upstream \S+ \S+ upstream_failed, from (.*)$/s.exec(e)) e = m[1] as string;
  return e.replace(/^upstream /, '');
}

function why(input: InputView, cls: InputClass, slice: string): string {
  const s = input.status;
  const reason = s?.error ? `: ${s.error}` : '';
  switch (cls) {
    case 'broken':
      // A ruled-out input names its own root cause: one step, not a chain of every phase between.
      if (s?.status === 'upstream_failed' && s.error) return `upstream ${input.processor} ${slice} upstream_failed, from ${rootCause(s.error)}`;
      return `upstream ${input.processor} ${slice} ${s?.status}${reason}`;
    case 'empty':
      return `upstream ${input.processor} ${slice} empty${reason}`;
    case 'nothing':
      return `upstream ${input.processor} ${slice} landed nothing${reason}`;
    default:
      return `upstream ${input.processor} has not landed ${slice} and nothing in this run produces it`;
  }
}

/** The verdict for one downstream slice (see the module's rule). */
export function inputVerdict(slice: string, inputs: readonly InputView[]): Verdict {
  const required = inputs.filter((i) => i.required).map((i) => ({ i, cls: classify(i) }));
  const optional = inputs.filter((i) => !i.required).map((i) => ({ i, cls: classify(i) }));
  const ended = (status: 'upstream_failed' | 'empty', pick: { i: InputView; cls: InputClass }): Verdict => ({
    kind: 'ended',
    status,
    upstream: { processor: pick.i.processor, slice },
    error: why(pick.i, pick.cls, slice),
  });
  // None of its inputs comes from the run: the slice was started directly (a requested root)
  // and its own job reads whatever is there.
  if (!inputs.some((i) => i.inRun)) return { kind: 'ready' };
  const broken = required.find((r) => r.cls === 'broken');
  if (broken) return ended('upstream_failed', broken);
  if (required.every((r) => r.cls === 'landed')) return { kind: 'ready' };
  if (required.some((r) => r.cls === 'pending')) return { kind: 'wait' };
  if (optional.some((o) => o.cls === 'landed')) return { kind: 'ready' };
  if (optional.some((o) => o.cls === 'pending')) return { kind: 'wait' };
  const missing = required.filter((r) => r.cls !== 'landed');
  if (missing.length > 0 && missing.every((r) => r.cls === 'empty')) return ended('empty', missing[0] as (typeof missing)[number]);
  // Name a fallback that failed before an input that only had nothing: it is what a person fixes.
  const fallback = optional.find((o) => o.cls === 'broken');
  return ended('upstream_failed', fallback ?? missing.find((r) => r.cls !== 'empty') ?? (missing[0] as (typeof missing)[number]));
}

/** The processors of a run, in phase order (registry order lists upstream first within a phase). */
export function runProcessors(ctx: Pick<PipelineContext, 'registry'>, record: Pick<BackfillRecord, 'processors' | 'cascade'>): ProcessorDef[] {
  const names = ctx.registry.reached(record.processors, record.cascade);
  return ctx.registry
    .all()
    .filter((p) => names.has(p.name))
    .sort((a, b) => a.phase - b.phase);
}

/**
 * Which slices belong to a run: per processor, the dates it runs. A requested processor runs
 * its dates (a retry's own dates per processor); a processor the run reaches downstream runs
 * every date an input of it runs in the run, plus the dates started directly (a resumed
 * cascade), plus the slices the run triggered beyond its dates (a look-back window's later
 * dates, recorded by the tracker as `extra`).
 */
export class RunScope {
  readonly processors: ProcessorDef[];
  private readonly cells = new Map<string, Set<string>>();

  constructor(
    ctx: Pick<PipelineContext, 'registry'>,
    readonly record: BackfillRecord,
    extra: ReadonlyMap<string, readonly string[]> = new Map(),
  ) {
    this.processors = runProcessors(ctx, record);
    const requested = new Set(record.processors);
    for (const def of this.processors) {
      const dates = new Set<string>();
      if (requested.has(def.name)) for (const d of record.only ? (record.only[def.name] ?? []) : record.dates) dates.add(d);
      else {
        for (const d of record.startDownstream?.[def.name] ?? []) dates.add(d);
        if (def.kind === 'transform') for (const input of inputsOf(def)) for (const d of this.cells.get(input) ?? []) dates.add(d);
      }
      for (const d of extra.get(def.name) ?? []) dates.add(d);
      this.cells.set(def.name, dates);
    }
  }

  /** Whether the run reaches the processor at all. */
  reaches(processor: string): boolean {
    return this.cells.has(processor);
  }

  /** Whether the slice is one of the run's. */
  has(processor: string, slice: string): boolean {
    return this.cells.get(processor)?.has(slice) ?? false;
  }

  /** The run's slices of a processor, ascending. */
  slicesOf(processor: string): string[] {
    return [...(this.cells.get(processor) ?? [])].sort();
  }
}

/**
 * The inputs of a downstream slice as the verdict takes them. `inRun` says whether the run
 * produces an input for the slice: a run's scope knows its slices; live work (no backfill)
 * counts the processors its job was asked to reach.
 */
export function inputViews(
  def: TransformDef,
  slice: string,
  inRun: RunScope | ((processor: string) => boolean),
  statusOf: (processor: string) => SliceStatus | undefined,
): InputView[] {
  const optional = new Set(def.optionalInputs ?? []);
  return inputsOf(def).map((processor) => ({
    processor,
    required: !optional.has(processor),
    inRun: inRun instanceof RunScope ? inRun.has(processor, slice) : inRun(processor),
    status: statusOf(processor),
  }));
}

/**
 * A slice's state in the graph: the stored one, or what its inputs decided for a slice still
 * pending (its status then carries that state, before the settle write lands).
 */
export interface GraphCell {
  state: SliceState;
  status: SliceStatus | undefined;
}

/** Reads the statuses of some slices of one processor, in order. */
export type StatusReader = (processor: string, slices: readonly string[]) => Promise<(SliceStatus | undefined)[]>;

export interface RunGraph {
  id: string;
  scope: RunScope;
  /** processor → slice → cell, for every slice of the run. */
  cells: Map<string, Map<string, GraphCell>>;
  /** Every slice of the run is in a terminal state. */
  done: boolean;
}

/** Extra slices the tracker ran for a run beyond its own (key `processor/slice`). */
export async function readExtra(ctx: Pick<PipelineContext, 'redis' | 'keys'>, runId: string): Promise<Map<string, string[]>> {
  const members = await ctx.redis.smembers(ctx.keys.runExtra(runId));
  const out = new Map<string, string[]>();
  for (const m of members) {
    const at = m.lastIndexOf('/');
    if (at <= 0) continue;
    const p = m.slice(0, at);
    out.set(p, [...(out.get(p) ?? []), m.slice(at + 1)]);
  }
  return out;
}

/** Records a slice the run reached beyond its own dates, so its graph waits for it too. */
export async function noteExtra(ctx: Pick<PipelineContext, 'redis' | 'keys'>, runId: string, processor: string, slice: string): Promise<void> {
  const key = ctx.keys.runExtra(runId);
  await ctx.redis
    .multi()
    .sadd(key, `${processor}/${slice}`)
    .expire(key, 30 * 86_400)
    .exec();
}

/**
 * The run's graph: each slice's stored state, and for a slice not final yet, what its inputs
 * decide (an upstream that ended without rows settles it now, even before the settle write).
 * `read` decides which statuses count: the latest ones by default; the dashboard passes the
 * run's own. `extra` are the slices the run triggered beyond its dates (read from Redis when
 * not given).
 */
export async function runGraph(
  ctx: PipelineContext,
  record: BackfillRecord,
  opts: { read?: StatusReader | undefined; extra?: ReadonlyMap<string, readonly string[]> | undefined } = {},
): Promise<RunGraph> {
  const read: StatusReader = opts.read ?? ((processor, slices) => ctx.statuses.getMany(processor, slices));
  const scope = new RunScope(ctx, record, opts.extra ?? (await readExtra(ctx, record.id)));
  const cells = new Map<string, Map<string, GraphCell>>();
  // Inputs outside the run on the run's dates are read too: a retry's inputs that stay as they are.
  const outside = new Map<string, Map<string, SliceStatus | undefined>>();
  const statusOf = async (processor: string, slices: readonly string[]): Promise<void> => {
    const have = cells.get(processor);
    const known = outside.get(processor) ?? new Map<string, SliceStatus | undefined>();
    const want = slices.filter((s) => !have?.has(s) && !known.has(s));
    if (want.length === 0) return;
    const list = await ctx.statuses.getMany(processor, want);
    want.forEach((s, i) => {
      known.set(s, list[i]);
    });
    outside.set(processor, known);
  };
  let done = true;
  for (const def of scope.processors) {
    const slices = scope.slicesOf(def.name);
    const statuses = await read(def.name, slices);
    const mine = new Map<string, GraphCell>();
    // Only work still to come is judged by its inputs (running, staged and final slices decide
    // themselves), so only its inputs are read: a run polled to its end reads no more than its own.
    const pending = def.kind === 'transform' ? slices.filter((_, i) => (statuses[i]?.status ?? 'pending') === 'pending') : [];
    if (def.kind === 'transform') for (const input of inputsOf(def)) await statusOf(input, pending);
    const judged = new Set(pending);
    slices.forEach((slice, i) => {
      const status = statuses[i];
      let cell: GraphCell = { state: status?.status ?? 'pending', status };
      if (def.kind === 'transform' && judged.has(slice)) {
        const verdict = inputVerdict(
          slice,
          inputViews(def, slice, scope, (p) => cells.get(p)?.get(slice)?.status ?? outside.get(p)?.get(slice)),
        );
        if (verdict.kind === 'ended') cell = { state: verdict.status, status: { ...(status ?? { updatedAt: '' }), status: verdict.status } };
      }
      mine.set(slice, cell);
      if (!FINAL_STATES.has(cell.state)) done = false;
    });
    cells.set(def.name, mine);
  }
  return { id: record.id, scope, cells, done };
}

/** Counts per state over a processor's cells, every state present. */
export function countCells(cells: Iterable<GraphCell>): Record<SliceState, number> {
  const counts = Object.fromEntries(SLICE_STATES.map((s) => [s, 0])) as Record<SliceState, number>;
  for (const c of cells) counts[c.state] += 1;
  return counts;
}

/**
 * Whether phasegate's own log tables (the run log, the conflict and coverage logs) hold no
 * rows still to land: a run's last run-log rows are staged with its last slices and land a
 * gather window later, through their own gates. Polls until they did, the timeout, or the
 * signal; a run that returned before them would say "log rows staged" while the table holds none.
 */
export async function logsLanded(ctx: PipelineContext, opts: { timeoutMs: number; signal?: AbortSignal | undefined; pollMs?: number }): Promise<boolean> {
  const tables = ctx.registry.logTables().map((l) => `${l.table.dataset}.${l.table.table}`);
  for (const until = Date.now() + opts.timeoutMs; ; ) {
    let open = 0;
    let served = true;
    for (const table of tables) {
      const rows = (await ctx.gate.pendingCount(table)) + (await ctx.gate.takenBatches(table)).size;
      open += rows;
      // Nothing lands them while no process runs that table's gate: waiting would not end.
      if (rows > 0 && (await ctx.queues.commit(table).getWorkersCount()) === 0) served = false;
    }
    if (open === 0) return true;
    if (!served) return false;
    if (Date.now() >= until || opts.signal?.aborted) return false;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 200));
  }
}
