/**
 * What the dry run's model (plan-model.ts) assumes a processor's job costs and stages, and how
 * a backfill request becomes the model's input. The costs are measurements, not settings.
 */
import { tableLimits } from '../../config/load-config.ts';
import { lookbackOf } from '../../processors/precompute/lookback.ts';
import { type ProcessorDef, tableId } from '../../processors/types.ts';
import type { DmlLatencyOptions } from '../../warehouse/rules/options.ts';
import type { PipelineContext } from '../context.ts';
import { phaseConcurrency } from '../defaults.ts';
import type { ModelProcessor, PlanModelInput } from './plan-model.ts';

export interface JobCost {
  /** Ms of the process's event loop one job takes (see `EventLoop`, plan-model.ts). */
  jobMs: number;
  /** Added per earlier date its look-back window reads (rolling features read the season so far). */
  jobMsPerWindowDate?: number;
  /** Rows its slice stages per scheduled game (0 for a scraper). */
  rowsPerGame: number;
}

/**
 * Measured on this repository's fixture, 2023-24 season (160 dates, 1,230 games), embedded
 * default. `jobMs` is 0.3 × the mean `duration_ms` of the processor's rows in
 * `nba_orchestration.processing_run_log` after `backfill --cascade --workers 2` at ×1 (player
 * scraper 37 ms, team scraper 24, player box scores 51, team 11, player summary 49, team
 * offense and defense 27, predictions 15): a run-log time includes the waits for the event loop
 * behind the job's neighbours, and 0.3 is the share that fitted (with `LOOP_STEPS`, plan-model.ts)
 * four measured cascades best — ×1 `--workers 2` (160 dates), ×2 `--workers 2` (28 dates), ×10
 * gather 10 s `--workers 4` (160 and 64 dates). Rolling features' time grows with the season so
 * far (63 ms a job in October, 178 ms in April: 60 + 0.8 per earlier date, × 0.3). `rowsPerGame`
 * is the table's rows ÷ games after that run, on the real player lines (32,385 player lines,
 * 2,460 team lines, 26,393 players who played). The balldontlie pair: the demo's Play-In nights (3 dates, 6 games).
 */
export const JOB_COSTS: Readonly<Record<string, JobCost>> = {
  nbac_player_boxscore_scraper: { jobMs: 10.8, rowsPerGame: 0 },
  nbac_team_boxscore_scraper: { jobMs: 7.2, rowsPerGame: 0 },
  bdl_player_boxscore_scraper: { jobMs: 9, rowsPerGame: 0 },
  nbac_player_boxscore: { jobMs: 15, rowsPerGame: 26.3 },
  nbac_team_boxscore: { jobMs: 3.6, rowsPerGame: 2 },
  bdl_player_boxscore: { jobMs: 16.8, rowsPerGame: 26.3 },
  player_game_summary: { jobMs: 15, rowsPerGame: 21.5 },
  team_offense_game_summary: { jobMs: 8.4, rowsPerGame: 2 },
  team_defense_game_summary: { jobMs: 8.4, rowsPerGame: 2 },
  player_rolling_features: { jobMs: 18, jobMsPerWindowDate: 0.24, rowsPerGame: 21.5 },
  player_points_predictions: { jobMs: 6, rowsPerGame: 21.5 },
};

/** A processor not measured yet: the mean of the transforms above. */
const UNMEASURED: JobCost = { jobMs: 13.5, rowsPerGame: 15 };

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
          ? { input: lookback.input, firstIndex: dates.map((d, i) => firstInWindow(dates, i, lookback.earlier(d).start)) }
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
      backlogGatherSeconds: l.backlogGatherSeconds,
      upstreamGatherSeconds: l.upstreamGatherSeconds,
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
    readingConcurrency: phaseConcurrency(ctx.config, 3, settings.concurrency),
    timeScale: ctx.config.timeScale,
    tables,
    dml: { baseSeconds: settings.dml.baseSeconds, perThousandRowsSeconds: settings.dml.perThousandRowsSeconds },
  };
}
