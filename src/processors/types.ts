/**
 * The shapes every processor is declared with. A processor is declared once, in the
 * registry, and is a pure-ish function `inputs → rows`: it never writes to the warehouse
 * and never touches Redis. The queue layer stages its rows and the table gate commits them.
 */

import type { Config } from '../config/load-config.ts';
import { DefinitionError } from '../errors/definition-error.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/** BigQuery standard SQL types; the DuckDB warehouse maps each to its own. */
export type ColumnType = 'STRING' | 'INT64' | 'FLOAT64' | 'BOOL' | 'DATE' | 'TIMESTAMP' | 'JSON';

export interface Column {
  name: string;
  type: ColumnType;
  /** @defaultValue true */
  nullable?: boolean;
  description?: string;
}

/** A cell value as staged in NDJSON: dates are `YYYY-MM-DD`, timestamps ISO-8601 strings. */
export type Cell = string | number | boolean | null;
export type Row = Record<string, Cell>;

/** How bad a broken plausibility rule is (see src/processors/plausibility-rules.ts). */
export type RuleLevel = 'fatal' | 'warn';

/** A rule one row is checked against on its own. */
export interface RowRule {
  /** Short stable name, e.g. `fgm_le_fga`: what `quality_issues` and errors cite. */
  name: string;
  level: RuleLevel;
  /**
   * Why the row breaks the rule (`fgm 9 > fga 7`), or `undefined` when it holds. A rule whose
   * inputs are null (a player who did not play) holds.
   */
  check: (row: Row) => string | undefined;
}

/**
 * A rule over the rows that share `groupBy` (one team's lines in one game): what no single
 * row can show, such as one name under two ids. Always `fatal`: a group has no one row to
 * record a warning on.
 */
export interface GroupRule {
  name: string;
  level: 'fatal';
  groupBy: readonly string[];
  /** The first row that breaks the rule and why, or `undefined` when the group holds. */
  checkGroup: (rows: readonly Row[]) => { row: Row; detail: string } | undefined;
}

export type PlausibilityRule = RowRule | GroupRule;

/** One issue recorded with a row. */
export interface QualityIssue {
  rule: string;
  level: RuleLevel;
  detail: string;
}

export interface TableSpec {
  /** Dataset name, e.g. `nba_raw`. Validated as an identifier by the registry. */
  dataset: string;
  /** Table name inside the dataset, e.g. `nbac_player_boxscores`. */
  table: string;
  columns: readonly Column[];
  /** Columns that identify a row; the MERGE matches on them. */
  primaryKey: readonly string[];
  /** The DATE column a job owns per run (its slice); the table is partitioned by it. */
  sliceColumn: string;
  /** @defaultValue the primary key, at most four columns (BigQuery's clustering limit) */
  clusterBy?: readonly string[];
  /**
   * `merge`: a commit upserts on the primary key and deletes the batch slices' rows that
   * vanished. `append`: a commit only inserts (log tables), still one statement per batch.
   * @defaultValue 'merge'
   */
  writeMode?: 'merge' | 'append';
  /**
   * The column naming what a slice is made of (`game_id`): staging counts a slice's games by
   * it against what the transform expects, the gate refuses a commit that would hold fewer of
   * them than the warehouse does, or that would move one to another slice. A merge table
   * without one has its primary key include the slice column (nothing can move) and is
   * guarded by row counts. @defaultValue none
   */
  unitColumn?: string;
  /**
   * Plausibility rules every staged row is checked against (src/processors/plausibility-rules.ts): a `fatal`
   * rule fails the slice naming the row and rule, a `warn` rule keeps the row and records the
   * issue in its `quality_issues` column. @defaultValue []
   */
  plausibility?: readonly PlausibilityRule[];
}

/** The JSON column a row's `warn` issues are recorded in (a JSON list, null when none). */
export const QUALITY_ISSUES_COLUMN = 'quality_issues';

/** `dataset.table`, the name used for commit queues, Redis keys and logs. */
export function tableId(spec: Pick<TableSpec, 'dataset' | 'table'>): string {
  return `${spec.dataset}.${spec.table}`;
}

/** The columns a read of a table's slices is ordered by, in every warehouse: the slice, then the rest of the key. */
export function readOrder(spec: Pick<TableSpec, 'sliceColumn' | 'primaryKey'>): string[] {
  return [spec.sliceColumn, ...spec.primaryKey.filter((k) => k !== spec.sliceColumn)];
}

export type Phase = 1 | 2 | 3 | 4 | 5;

/** An inclusive range of game dates (`YYYY-MM-DD`): a look-back window, a report's span. */
export interface DateRange {
  /** First date, inclusive. */
  start: string;
  /** Last date, inclusive. */
  end: string;
}

/**
 * A look-back window: a transform whose rows for date D read its input for earlier dates too
 * (rolling features). The dependency tracker uses it twice: a commit of the input for D re-runs
 * the later dates whose window includes D, and a date waits while an earlier date of its window
 * is still being produced.
 */
export interface Lookback {
  /** The processor (one of `dependsOn`) whose earlier slices the window reads. */
  input: string;
  /** The earlier dates a slice's rows read (the slice itself excluded). */
  earlier(slice: string): DateRange;
  /** The later dates whose rows read `slice`: the ones to refresh when it is committed again. */
  later(slice: string): DateRange;
}

/** What a processor job is handed: its slice and read access to its declared inputs. */
export interface ProcessorContext {
  /** The slice value, a `YYYY-MM-DD` game date. */
  slice: string;
  store: ObjectStore;
  /** The games the source's schedule holds: what a slice must contain. */
  schedule: Schedule;
  /** Read-only query on the warehouse (phase 3+ inputs), in the warehouse's SQL dialect. */
  readTable?: (spec: TableSpec, slices: readonly string[]) => Promise<Row[]>;
}

/**
 * The warehouse reader of a processor that reads its inputs from tables (phase 3+). The phase
 * worker always hands one to such processors; a caller that does not is misusing it.
 */
export function tableReader(ctx: ProcessorContext, processor: string): NonNullable<ProcessorContext['readTable']> {
  if (!ctx.readTable) throw new DefinitionError(`${processor} reads the warehouse: run it on a worker with one`);
  return ctx.readTable;
}

/** Phase 1: fetches raw files for a slice into the object store. Writes no table. */
export interface ScraperDef {
  kind: 'scraper';
  name: string;
  phase: 1;
  description: string;
  /** Object-store prefix the scraper writes under, for a slice. */
  outputPrefix: (slice: string) => string;
  /**
   * A source with a request budget of its own runs on its own queue (`scrape-<queue>`) whose
   * BullMQ rate limiter is that budget; a `RateLimitedError` pauses that queue only.
   * @defaultValue the phase-1 queue, no limiter
   */
  rateLimit?: (config: Config) => { queue: string; max: number; durationMs: number };
  /** Scrapes one slice; says what it wrote and which scheduled games the source had nothing for. */
  run: (ctx: ScraperContext) => Promise<ScrapeResult>;
}

/**
 * How to make the client a source's scrapers fetch through. The runtime makes it once per
 * pipeline (never per module: two pipelines in one process keep their own keys) and hands it
 * to the scrapers as `ctx.clients.of(def)`; the embedded fixture serves its own stand-in.
 */
export interface SourceClientDef<C> {
  /** The source's name (`bdl`): what the fixture's stand-in is found by. */
  source: string;
  /** The production client, from the settings (its credentials). */
  create(config: Config): C;
}

/** The clients of one pipeline, made on first use. */
export interface SourceClients {
  of<C>(def: SourceClientDef<C>): C;
}

/**
 * What a scraper is handed: the schedule, the pipeline's box-score source (the primary's
 * client), the clients of the other sources, and the settings.
 */
export type ScraperContext = ProcessorContext & { source: BoxscoreSource; clients: SourceClients; config?: Config | undefined };

/** What a scraper did for one slice. */
export interface ScrapeResult {
  /** Game ids the schedule holds for the slice (what the scraper asked the source for). */
  expected: string[];
  /** Object keys written, sorted. */
  written: string[];
  /** Scheduled game ids the source had no data for (seed 004's Play-In games). */
  missing: string[];
}

/**
 * What a slice must contain, as values of the table's `unitColumn` (game ids), or `null` when
 * the schedule does not cover the date at all: then the input present is the expectation.
 */
export type SliceExpectation = readonly string[] | null;

/** Phase 2+: turns its inputs for one slice into the rows of its target table. */
export interface TransformDef {
  kind: 'transform';
  name: string;
  phase: Exclude<Phase, 1>;
  description: string;
  table: TableSpec;
  /** Processors whose output for the slice this one needs (scrapers or transforms). */
  dependsOn: readonly string[];
  /**
   * Inputs it reads when they are there but does not wait for (a fallback source): a commit
   * of one re-runs this processor for the slice, like a dependency's. @defaultValue []
   */
  optionalInputs?: readonly string[];
  /** Object-store prefix holding the raw files for a slice (phase 2 processors). */
  inputPrefix?: (slice: string) => string;
  /**
   * What a slice must contain (for box scores: the schedule's games on the date). Staging
   * compares it with the staged rows' `unitColumn`: a slice missing some is `incomplete`, a
   * slice with none of them stages nothing. @defaultValue no expectation (only the gate's no-shrink and no-move checks)
   */
  expects?: (ctx: ProcessorContext) => Promise<SliceExpectation>;
  /** Its inputs are warehouse tables (phase 3+): the worker hands it `readTable`. @defaultValue false */
  readsWarehouse?: boolean;
  /** It reads its input's earlier dates too (precompute/lookback.ts). @defaultValue none */
  lookback?: Lookback;
  /**
   * Produces the slice's rows. Throws `InputError` for malformed input: the job then fails
   * at once, naming the file and the reason.
   */
  run: (ctx: ProcessorContext) => Promise<Row[]>;
}

export type ProcessorDef = ScraperDef | TransformDef;

/** One game on the schedule. */
export interface ScheduledGame {
  gameId: string;
  gameDate: string;
  homeTeamId: number;
  awayTeamId: number;
  homeAbbr: string;
  awayAbbr: string;
}

/** The league schedule as a source knows it: which games are on which date. */
export interface Schedule {
  /** Game dates (YYYY-MM-DD, ascending) between two dates inclusive. */
  gameDates(start: string, end: string): Promise<string[]>;
  games(date: string): Promise<ScheduledGame[]>;
  /** Whether the schedule covers the date's season at all (a date with no games is covered). */
  covers(date: string): Promise<boolean>;
  /** The date the schedule places a game on, if it knows the game. */
  dateOfGame(gameId: string): Promise<string | undefined>;
}

/**
 * Where scrapers get raw box scores: the fixture source (embedded default, built from real
 * data) or the HTTP scraper service (production). Each returns stats.nba.com JSON.
 */
export interface BoxscoreSource extends Schedule {
  /** The player box score JSON of a game, or null when the source has none (seed 004). */
  playerBoxscore(game: ScheduledGame): Promise<unknown | null>;
  teamBoxscore(game: ScheduledGame): Promise<unknown | null>;
}

/**
 * Log tables: tables phasegate itself writes (conflicts, processing runs), not a processor's
 * output. They are declared in the registry like a processor's table — one owner each,
 * identifiers validated, a commit gate of their own — but no backfill, `--processors` list or
 * phase job can name them. Their rows go through the same group commit, in append mode:
 * many rows per statement, never one statement (or load job) per row.
 */
export interface LogTableDef {
  kind: 'log';
  /** What the log is called in logs and `status`; never a processor name. */
  name: string;
  description: string;
  table: TableSpec & { writeMode: 'append' };
}
