/**
 * What the dry run's model (plan-model.ts) assumes a processor's job costs and stages, and how
 * a backfill request becomes the model's input. The costs are measurements, not settings.
 */
import { tableLimits } from '../../config/index.ts';
import { lookbackOf } from '../../processors/precompute/lookback.ts';
import { type ProcessorDef, tableId } from '../../processors/types.ts';
import type { DmlLatencyOptions } from '../../warehouse/rules/options.ts';
import type { PipelineContext } from '../context.ts';
import type { ModelProcessor, PlanModelInput } from './plan-model.ts';

export interface JobCost {
  /** Real ms of the process's time one job takes. */
  jobMs: number;
  /** Added per earlier date its look-back window reads (rolling features read the season so far). */
  jobMsPerWindowDate?: number;
  /** Rows its slice stages per scheduled game (0 for a scraper). */
  rowsPerGame: number;
}

/**
 * Measured on this repository's fixture, 2023-24 season (160 dates, 1,230 games), embedded
 * default: `jobMs` is the mean `duration_ms` of the processor's rows in
 * `nba_orchestration.processing_run_log` after `backfill --cascade --workers 2` at ×1 (phases
 * then mostly run one at a time, two jobs each); rolling features' time grows with the season
 * so far (63 ms a job in October, 178 ms in April: 60 + 0.8 per earlier date). `rowsPerGame`
 * is the table's rows ÷ games after that run (34,194 player lines, 2,460 team lines, 29,349
 * players who played). The balldontlie pair: the demo's Play-In nights (3 dates, 6 games).
 */
export const JOB_COSTS: Readonly<Record<string, JobCost>> = {
  nbac_player_boxscore_scraper: { jobMs: 36, rowsPerGame: 0 },
  nbac_team_boxscore_scraper: { jobMs: 24, rowsPerGame: 0 },
  bdl_player_boxscore_scraper: { jobMs: 30, rowsPerGame: 0 },
  nbac_player_boxscore: { jobMs: 50, rowsPerGame: 27.8 },
  nbac_team_boxscore: { jobMs: 12, rowsPerGame: 2 },
  bdl_player_boxscore: { jobMs: 56, rowsPerGame: 28 },
  player_game_summary: { jobMs: 50, rowsPerGame: 23.9 },
  team_offense_game_summary: { jobMs: 28, rowsPerGame: 2 },
  team_defense_game_summary: { jobMs: 28, rowsPerGame: 2 },
  player_rolling_features: { jobMs: 60, jobMsPerWindowDate: 0.8, rowsPerGame: 23.9 },
  player_points_predictions: { jobMs: 20, rowsPerGame: 23.9 },
};

/** A processor not measured yet: the mean of the transforms above. */
const UNMEASURED: JobCost = { jobMs: 45, rowsPerGame: 15 };

export function jobCost(name: string): JobCost {
  return JOB_COSTS[name] ?? UNMEASURED;
}

/** Index of the first of `dates` (ascending) at or after `from`, looking back from `i`. */
function firstInWindow(dates: readonly string[], i: number, from: string): number {
  let j = i;
  while (j > 0 && (dates[j - 1] as string) >= from) j--;
  return j;
}

export interface ModelSettings {
  /** Phase jobs at once per phase queue (`--workers N`, else the `worker` command's default). */
  concurrency: number;
  /** The rules layer's MERGE latency model. */
  dml: DmlLatencyOptions;
}

/**
 * The model's input for a backfill: the processors it reaches (with `cascade`, every phase
 * down to 5), each one's inputs among them — an input the backfill does not run counts as
 * landed — and the table caps from the configuration.
 */
export async function modelInput(
  ctx: PipelineContext,
  reached: readonly ProcessorDef[],
  roots: readonly [ProcessorDef, string[]][],
  dates: readonly string[],
  settings: ModelSettings,
): Promise<PlanModelInput> {
  const names = new Set(reached.map((p) => p.name));
  const index = new Map(dates.map((d, i) => [d, i]));
  const processors: ModelProcessor[] = reached.map((def) => {
    const cost = jobCost(def.name);
    const base = { name: def.name, phase: def.phase, jobMs: cost.jobMs, jobMsPerWindowDate: cost.jobMsPerWindowDate ?? 0, rowsPerGame: cost.rowsPerGame };
    if (def.kind === 'scraper') return { ...base, kind: 'scraper', dependsOn: [] };
    const lookback = lookbackOf(def);
    return {
      ...base,
      kind: 'transform',
      table: tableId(def.table),
      // Required inputs only: an optional one (a fallback source) never holds a date back.
      dependsOn: def.dependsOn.filter((d) => names.has(d)),
      lookback:
        lookback && names.has(lookback.input)
          ? { input: lookback.input, firstIndex: dates.map((d, i) => firstInWindow(dates, i, lookback.earlier(d).from)) }
          : undefined,
    };
  });
  const tables: PlanModelInput['tables'] = {};
  for (const p of processors) {
    if (!p.table) continue;
    const l = tableLimits(ctx.config, p.table);
    tables[p.table] = {
      commitMaxSlices: l.commitMaxSlices,
      gatherSeconds: l.gatherSeconds,
      opsMax: l.opsMax,
      opsWindowSeconds: l.opsWindowSeconds,
      concurrency: l.concurrency,
    };
  }
  const games: number[] = [];
  for (const d of dates) games.push((await ctx.source.games(d)).length);
  return {
    processors,
    roots: roots.map(([def, ds]) => ({ name: def.name, dates: ds.map((d) => index.get(d)).filter((i): i is number => i !== undefined) })),
    dates: [...dates],
    games,
    concurrency: settings.concurrency,
    timeScale: ctx.config.timeScale,
    tables,
    dml: { baseSeconds: settings.dml.baseSeconds, perThousandRowsSeconds: settings.dml.perThousandRowsSeconds },
    debounceSeconds: ctx.config.tracker.debounceSeconds,
  };
}
