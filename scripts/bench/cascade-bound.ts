/**
 * A cascade's quota bound: the makespan, in BigQuery seconds, of the schedule BigQuery's
 * per-table limits allow when every table of the cascade lands its slices in full group
 * commits, in slice order, each as soon as its inputs have landed those slices — with no cost
 * for the phase work itself. It is the incident replay's bound (`quotaLowerBound`,
 * measure.ts) carried through the dependency graph: the same three limits per table, now with
 * a start time per statement.
 *
 * - group commits: a table's slices in order, cut at `maxSlices` slices (and `maxRows` rows)
 *   per statement — the fewest statements the table gate may use;
 * - a statement starts when its slices have landed in every input table of the cascade (an
 *   input that does not hold a slice does not hold it back), when a running slot is free
 *   (`running` per table) and when the rate window allows it: the n-th table operation starts
 *   no earlier than the (n − opsPerWindow)-th + windowSeconds (the table's DDL is its first,
 *   at 0), as BigQuery's sliding window counts them;
 * - it holds its slot for the rules layer's MERGE latency model (`dmlLatencyMs`, no jitter):
 *   base + perThousandRows × rows / 1000;
 * - a slice streamed into the table (`flushAt`) cannot be MERGEd before its buffer flushes.
 *
 * Statements are started in slice order (as a gate takes the oldest pending slices first), so
 * the bound is the critical path of group commits through the phases at the tables' caps. A
 * schedule that commits a table's last slices in smaller statements could end a little sooner
 * (by less than one full statement's latency per phase); the bound does not chase that.
 */

import { dmlLatencyMs } from '../../src/warehouse/rules/dml-latency.ts';
import type { DmlLatencyOptions } from '../../src/warehouse/rules/options.ts';

/** What limits one table's statements. */
export interface TableCaps {
  /** Most slices one statement lands. */
  maxSlices: number;
  /** Most rows one statement lands. */
  maxRows: number;
  /** Statements running at once. */
  running: number;
  /** Table operations per window (the DDL and every statement). */
  opsPerWindow: number;
  windowSeconds: number;
}

export interface CascadeTable {
  /** `dataset.table`. */
  id: string;
  /** Tables of the cascade whose landing of a slice this table's statement over it waits for. */
  inputs: readonly string[];
  /** Rows this table lands per slice (only the slices it lands). */
  rowsBySlice: ReadonlyMap<string, number>;
  caps: TableCaps;
  /** BigQuery seconds from the start at which a streamed slice's buffer flushes. */
  flushAt?: ReadonlyMap<string, number>;
}

export interface TableSchedule {
  id: string;
  statements: number;
  rows: number;
  /** When its first statement started and its last ended, BigQuery seconds. */
  firstStartSeconds: number;
  endSeconds: number;
  /** Statements the bound let run at once (its caps' `running`). */
  running: number;
}

export interface CascadeBound {
  seconds: number;
  tables: TableSchedule[];
  /** The statements that set the bound, from the first to the last: per table, how many in a row. */
  criticalPath: { id: string; statements: number }[];
}

interface Statement {
  table: string;
  slices: string[];
  rows: number;
  start: number;
  end: number;
  /** What held its start: an input's statement, the one before it in its table, or nothing (0). */
  after: Statement | undefined;
}

/** Cuts the slices, in order, into statements of at most `maxSlices` slices and `maxRows` rows. */
export function groupSlices(rowsBySlice: ReadonlyMap<string, number>, caps: Pick<TableCaps, 'maxSlices' | 'maxRows'>): { slices: string[]; rows: number }[] {
  const groups: { slices: string[]; rows: number }[] = [];
  let current: { slices: string[]; rows: number } | undefined;
  for (const slice of [...rowsBySlice.keys()].sort()) {
    const rows = rowsBySlice.get(slice) ?? 0;
    if (!current || current.slices.length >= caps.maxSlices || (current.slices.length > 0 && current.rows + rows > caps.maxRows)) {
      current = { slices: [], rows: 0 };
      groups.push(current);
    }
    current.slices.push(slice);
    current.rows += rows;
  }
  return groups;
}

/** Inputs before the tables that read them; a cycle is a caller's mistake. */
function inDependencyOrder(tables: readonly CascadeTable[]): CascadeTable[] {
  const byId = new Map(tables.map((t) => [t.id, t]));
  const out: CascadeTable[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (t: CascadeTable): void => {
    if (state.get(t.id) === 'done') return;
    if (state.get(t.id) === 'visiting') throw new Error(`cascade bound: dependency cycle through ${t.id}`);
    state.set(t.id, 'visiting');
    for (const id of t.inputs) {
      const input = byId.get(id);
      if (input) visit(input);
    }
    state.set(t.id, 'done');
    out.push(t);
  };
  for (const t of tables) visit(t);
  return out;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

export function cascadeQuotaBound(tables: readonly CascadeTable[], latency: Pick<DmlLatencyOptions, 'baseSeconds' | 'perThousandRowsSeconds'>): CascadeBound {
  const model = { ...latency, jitter: 0 };
  // The rules layer's latency model at BigQuery's clock (time scale 1), without its jitter.
  const seconds = (rows: number) => dmlLatencyMs(model, rows, 1, () => 0.5) / 1000;
  /** Per table, per slice: the statement that landed it. */
  const landedBy = new Map<string, Map<string, Statement>>();
  const schedules: TableSchedule[] = [];
  let last: Statement | undefined;
  for (const table of inDependencyOrder(tables)) {
    const { caps } = table;
    const mine = new Map<string, Statement>();
    landedBy.set(table.id, mine);
    // The DDL that created the table is its first operation, at 0.
    const opStarts: number[] = [0];
    const slotFree: number[] = Array.from({ length: caps.running }, () => 0);
    let previous: Statement | undefined;
    let rows = 0;
    const groups = groupSlices(table.rowsBySlice, caps);
    for (const group of groups) {
      let start = previous?.start ?? 0;
      let after = previous;
      for (const slice of group.slices) {
        for (const input of table.inputs) {
          const by = landedBy.get(input)?.get(slice);
          if (by && by.end > start) {
            start = by.end;
            after = by;
          }
        }
        const flush = table.flushAt?.get(slice);
        if (flush !== undefined && flush > start) {
          start = flush;
          after = undefined;
        }
      }
      const slot = slotFree.indexOf(Math.min(...slotFree));
      const windowed = opStarts.length >= caps.opsPerWindow ? (opStarts[opStarts.length - caps.opsPerWindow] as number) + caps.windowSeconds : 0;
      const held = Math.max(slotFree[slot] as number, windowed);
      if (held > start) {
        start = held;
        after = previous;
      }
      const statement: Statement = { table: table.id, slices: group.slices, rows: group.rows, start, end: start + seconds(group.rows), after };
      slotFree[slot] = statement.end;
      opStarts.push(start);
      for (const slice of group.slices) mine.set(slice, statement);
      rows += group.rows;
      previous = statement;
      if (!last || statement.end > last.end) last = statement;
    }
    const statements = [...new Set(mine.values())];
    schedules.push({
      id: table.id,
      statements: groups.length,
      rows,
      firstStartSeconds: round1(statements[0]?.start ?? 0),
      endSeconds: round1(Math.max(0, ...statements.map((s) => s.end))),
      running: table.caps.running,
    });
  }
  // Walk back from the statement that ends last along what held each start.
  const path: { id: string; statements: number }[] = [];
  for (let s = last; s; s = s.after) {
    const head = path[0];
    if (head?.id === s.table) head.statements++;
    else path.unshift({ id: s.table, statements: 1 });
  }
  return { seconds: round1(last?.end ?? 0), tables: schedules, criticalPath: path };
}

/** `a ×14 → b ×1 → c ×1`: the critical path, for a report line. */
export function formatCriticalPath(path: CascadeBound['criticalPath']): string {
  return path.map((p) => `${p.id} ×${p.statements}`).join(' → ');
}

/**
 * Lane-seconds a table's statements left unused between its first start and its last end: the
 * time with fewer than `lanes` running, times how many were free. A table on the critical path
 * idles where something other than its caps held it (a commit job's own work between its
 * statements, inputs not landed yet). `statements` are [start, end, …] in seconds.
 */
export function idleLaneSeconds(statements: readonly (readonly number[])[], lanes: number): number {
  if (statements.length === 0) return 0;
  const edges = statements.flatMap(([start = 0, end = 0]) => [[start, 1] as const, [end, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let running = 0;
  let at = edges[0]?.[0] ?? 0;
  let idle = 0;
  for (const [time, change] of edges) {
    idle += (time - at) * Math.max(0, lanes - running);
    running += change;
    at = time;
  }
  return round1(idle);
}
