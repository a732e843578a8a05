/**
 * The staging side of commit-time integrity: before a slice's rows are staged, they must show
 * they are the slice's and only the slice's, with no key twice and no impossible value, and
 * say how much of what the slice must contain they hold. Pure: the phase worker feeds it the
 * rows and the expectation, staging acts on the verdict.
 */
import { InputError } from '../errors/input-error.ts';
import { evaluate, evaluateGroups, type QualityIssue, recordedIssues } from '../processors/plausibility-rules.ts';
import { QUALITY_ISSUES_COLUMN, type Row, type SliceExpectation, type TableSpec, tableId } from '../processors/types.ts';

/**
 * - `complete`: every expected unit is staged.
 * - `partial`: some expected units are missing; the others stage (the slice ends `incomplete`).
 * - `nothing`: units were expected and none came: nothing stages (`incomplete`).
 * - `empty`: nothing expected (no games that day, or no schedule) and nothing came: nothing stages (`empty`).
 * - `unscheduled`: the schedule does not cover the date; the input present is the expectation.
 */
export type SliceOutcome = 'complete' | 'partial' | 'nothing' | 'empty' | 'unscheduled';

export interface SliceCheck {
  outcome: SliceOutcome;
  /** The rows to stage, their `quality_issues` filled from the `warn` rules. */
  rows: Row[];
  /** Staged rows per unit (`game_id` → rows); the key `*` holds every row when the table has no unit column. */
  units: Record<string, number>;
  /** Expected units the input does not have, sorted. */
  missing: string[];
  /** How many units were expected (null: no schedule for the date). */
  expected: number | null;
  /** Rows kept with a `warn` issue. */
  warnings: number;
}

/** Every row of a table without a unit column counts under this one key. */
export const ALL_ROWS = '*';

/** Where a row came from, for messages: its raw file when it has one, else the job. */
function origin(row: Row, fallback: string): string {
  return typeof row.source_file === 'string' ? row.source_file : fallback;
}

function keyOf(spec: TableSpec, row: Row): string {
  return spec.primaryKey.map((k) => `${k}=${String(row[k])}`).join(', ');
}

export interface SliceCheckInput {
  spec: TableSpec;
  processor: string;
  slice: string;
  rows: readonly Row[];
  expectation: SliceExpectation | undefined;
}

/**
 * Checks a slice's rows. Throws InputError (the job fails at once, no retries) for a row of
 * another slice, a primary key twice, a `fatal` rule broken (a row's or a group's: naming the
 * file, the row and the rule), or a unit the expectation does not hold (naming its file);
 * otherwise says what stages.
 */
export function checkSlice({ spec, processor, slice, rows: input, expectation }: SliceCheckInput): SliceCheck {
  const table = tableId(spec);
  const job = `${processor} ${slice}`;
  const seen = new Map<string, string>();
  const rows: Row[] = [];
  const units: Record<string, number> = {};
  /** The file each unit came from, for a message about a unit the schedule does not list. */
  const unitFiles = new Map<string, Set<string>>();
  let warnings = 0;
  const qualityColumn = spec.columns.some((c) => c.name === QUALITY_ISSUES_COLUMN);
  for (const row of input) {
    // A row outside the job's slice would escape the MERGE's slice-scoped delete.
    if (row[spec.sliceColumn] !== slice) {
      throw new InputError(`${processor} produced a row with ${spec.sliceColumn}=${String(row[spec.sliceColumn])} for slice ${slice}`, {
        file: origin(row, job),
      });
    }
    const key = keyOf(spec, row);
    const first = seen.get(key);
    // The MERGE would keep one of them at random: the input is ambiguous, not "the last one wins".
    if (first !== undefined) {
      const files = first === origin(row, job) ? first : `${first} and ${origin(row, job)}`;
      throw new InputError(`${table}: primary key (${key}) appears twice in slice ${slice} (${files})`);
    }
    seen.set(key, origin(row, job));
    const issues = evaluate(spec.plausibility ?? [], row);
    const fatal = issues.find((i) => i.level === 'fatal');
    if (fatal) throw new InputError(`${table}: row (${key}) breaks rule ${fatal.rule}: ${fatal.detail}`, { file: origin(row, job) });
    const recorded: QualityIssue[] = [...recordedIssues(row[QUALITY_ISSUES_COLUMN]), ...issues];
    const quality = recorded.length > 0 ? JSON.stringify(recorded) : null;
    // A row whose issues cell is already what it should be stages as it came — most rows: this
    // check, copying each, made 6 % of what the commit-gate process allocated in an 853-date
    // cascade (bench:scale, a sampling heap profile). A row that changes is copied: the caller's
    // row is never changed.
    const out = qualityColumn && row[QUALITY_ISSUES_COLUMN] !== quality ? { ...row, [QUALITY_ISSUES_COLUMN]: quality } : row;
    if (recorded.length > 0) warnings += 1;
    rows.push(out);
    const unit = spec.unitColumn === undefined ? ALL_ROWS : String(row[spec.unitColumn]);
    units[unit] = (units[unit] ?? 0) + 1;
    unitFiles.set(unit, (unitFiles.get(unit) ?? new Set()).add(origin(row, job)));
  }
  const group = evaluateGroups(spec.plausibility ?? [], input);
  if (group)
    throw new InputError(`${table}: row (${keyOf(spec, group.row)}) breaks rule ${group.rule.name}: ${group.detail}`, { file: origin(group.row, job) });
  if (expectation === undefined) return { outcome: rows.length === 0 ? 'empty' : 'complete', rows, units, missing: [], expected: null, warnings };
  if (expectation === null) return { outcome: rows.length === 0 ? 'empty' : 'unscheduled', rows, units, missing: [], expected: null, warnings };
  const expected = new Set(expectation);
  const extra = Object.keys(units).filter((u) => !expected.has(u));
  if (extra.length > 0) {
    const files = [...new Set(extra.flatMap((u) => [...(unitFiles.get(u) ?? [])]))].sort();
    throw new InputError(
      `${table}: slice ${slice} holds ${spec.unitColumn ?? 'rows'} ${extra.join(', ')} (from ${files.join(', ')}), which the schedule does not list on ${slice}` +
        (expected.size > 0 ? ` (it lists ${[...expected].sort().join(', ')})` : ' (no games that day)'),
    );
  }
  const missing = [...expected].filter((u) => !(u in units)).sort();
  const outcome: SliceOutcome = expected.size === 0 ? 'empty' : rows.length === 0 ? 'nothing' : missing.length > 0 ? 'partial' : 'complete';
  return { outcome, rows, units, missing, expected: expected.size, warnings };
}

/** A person's line for a slice missing some of its games. */
export function describeMissing(check: Pick<SliceCheck, 'missing' | 'expected' | 'units'>, unitName = 'games'): string {
  const have = Object.keys(check.units).length;
  return `${have} of ${check.expected ?? have} scheduled ${unitName}; missing ${check.missing.join(', ')}`;
}
