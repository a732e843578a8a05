/**
 * The reports of every SQL warehouse, once: the statements come from `report-sql.ts` in the
 * warehouse's dialect and run through the small `ReportRunner` the warehouse hands in; the
 * rows become the shapes callers read here, not in each warehouse.
 */
import { QUALITY_ISSUES_COLUMN, type Row, type TableSpec } from '../../processors/types.ts';
import type { DateRange, GameHolding, PredictionSample, PredictionSampleRequest, TableSummary, WarehouseReports } from '../types.ts';
import type { Dialect } from './dialect.ts';
import {
  conflictSummarySql,
  coverageViewSql,
  gameHoldingsSql,
  type ReportStatement,
  samplePredictionsSql,
  tableSummarySql,
  unresolvedConflictsSql,
} from './report-sql.ts';

/** What a warehouse gives its reports: its dialect, its table names, one read, one view. */
export interface ReportRunner {
  readonly dialect: Dialect;
  /** The quoted, qualified name of a spec's table in this warehouse, after checking the spec. */
  tableName(spec: TableSpec): string;
  /** Runs one of phasegate's own report reads (not a person's query); `spec` names the table in errors. */
  select(statement: ReportStatement, spec: TableSpec): Promise<Row[]>;
  /** Makes `view` (in the log's dataset) read `query`, creating or replacing it only as the warehouse must. */
  ensureView(log: TableSpec, view: string, query: string): Promise<void>;
}

function count(value: unknown): number {
  const n = Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}

const list = (v: unknown): string[] => (v ? String(v).split(',') : []);

export class SqlReports implements WarehouseReports {
  private readonly runner: ReportRunner;

  constructor(runner: ReportRunner) {
    this.runner = runner;
  }

  async gameHoldings(spec: TableSpec, slices: readonly string[]): Promise<GameHolding[]> {
    const statement = gameHoldingsSql(this.runner.dialect, this.runner.tableName(spec), spec, slices);
    if (slices.length === 0) return [];
    const rows = await this.runner.select(statement, spec);
    return rows.map((r) => ({ slice: String(r.slice), unit: String(r.unit), rows: Number(r.n), tiers: list(r.tiers), sources: list(r.sources) }));
  }

  async ensureCoverageView(log: TableSpec, view: string): Promise<void> {
    await this.runner.ensureView(log, view, coverageViewSql(this.runner.dialect, this.runner.tableName(log)));
  }

  async tableSummary(spec: TableSpec, range: DateRange): Promise<TableSummary> {
    const quality = spec.columns.some((c) => c.name === QUALITY_ISSUES_COLUMN) ? QUALITY_ISSUES_COLUMN : undefined;
    const [r] = await this.runner.select(tableSummarySql(this.runner.dialect, this.runner.tableName(spec), spec, quality, range), spec);
    return { rows: count(r?.n), dates: count(r?.dates), games: count(r?.games), warnings: count(r?.warnings) };
  }

  async samplePredictions(request: PredictionSampleRequest): Promise<PredictionSample[]> {
    const statement = samplePredictionsSql(
      this.runner.dialect,
      { table: this.runner.tableName(request.predictions), spec: request.predictions },
      { table: this.runner.tableName(request.actuals), spec: request.actuals },
      request.range,
      request.limit ?? 5,
    );
    const rows = await this.runner.select(statement, request.predictions);
    return rows.map((r) => ({
      gameDate: String(r.game_date),
      player: String(r.player_name),
      team: String(r.team_abbr),
      predicted: Number(r.predicted_points),
      actual: Number(r.pts),
      basis: String(r.prediction_basis),
    }));
  }

  conflictSummary(spec: TableSpec, since: Date): Promise<Row[]> {
    return this.runner.select(conflictSummarySql(this.runner.dialect, this.runner.tableName(spec), spec, since), spec);
  }

  unresolvedConflicts(spec: TableSpec, since: Date): Promise<Row[]> {
    return this.runner.select(unresolvedConflictsSql(this.runner.dialect, this.runner.tableName(spec), spec, since), spec);
  }
}
