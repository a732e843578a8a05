/**
 * One read of what the warehouse holds per scheduled game over some dates: the schedule's
 * games, each source's raw rows per game, the analytics rows with their tier and picked
 * source, and the processors' statuses for the dates (what phasegate believes landed).
 */

import { worstOf } from '../processors/tiers.ts';
import type { PipelineContext } from '../queues/context.ts';
import type { SliceStatus } from '../queues/status-store.ts';
import type { GameHolding, Warehouse } from '../warehouse/types.ts';
import { type CoverageTargets, coverageTargets } from './sources.ts';

export interface GameScan {
  gameId: string;
  date: string;
  /** The schedule places the game on this date (else a table holds a game the schedule does not know there). */
  scheduled: boolean;
  /** Rows per raw table holding the game (`nba_raw.nbac_player_boxscores` → 24); a table without rows is absent. */
  raw: Record<string, number>;
  /** What the analytics table holds of the game, when it holds any rows of it. */
  analytics?: { rows: number; tier: string | null; sources: string[] } | undefined;
}

export interface DateScan {
  date: string;
  /** Scheduled game ids, in schedule order. */
  scheduled: string[];
  /** Scheduled games first, then games found that the schedule does not place here. */
  games: GameScan[];
  /** Per processor (raw sources' and analytics'): its status for the date. */
  statuses: Record<string, SliceStatus | undefined>;
}

export interface CoverageScan {
  targets: CoverageTargets;
  dates: DateScan[];
}

async function holdings(
  warehouse: Warehouse,
  target: { table: Parameters<Warehouse['reports']['gameHoldings']>[0] },
  dates: readonly string[],
): Promise<GameHolding[]> {
  // A table nothing has committed to yet holds nothing; creating it is what the gate would do.
  await warehouse.ensureTable(target.table);
  return warehouse.reports.gameHoldings(target.table, dates);
}

export async function scanCoverage(
  ctx: Pick<PipelineContext, 'registry' | 'source' | 'statuses'>,
  warehouse: Warehouse,
  dates: readonly string[],
  targets: CoverageTargets = coverageTargets(ctx.registry),
): Promise<CoverageScan> {
  if (dates.length === 0) return { targets, dates: [] };
  const raw = await Promise.all(targets.sources.map(async (s) => ({ source: s, rows: await holdings(warehouse, s, dates) })));
  const analytics = targets.analytics ? await holdings(warehouse, targets.analytics, dates) : [];
  const processors = [...targets.sources.map((s) => s.processor), ...(targets.analytics ? [targets.analytics.def.name] : [])];
  const statuses = new Map(await Promise.all(processors.map(async (p) => [p, await ctx.statuses.getMany(p, dates)] as const)));
  const out: DateScan[] = [];
  for (const [i, date] of dates.entries()) {
    const scheduled = (await ctx.source.games(date)).map((g) => g.gameId);
    const games = new Map<string, GameScan>(scheduled.map((gameId) => [gameId, { gameId, date, scheduled: true, raw: {} }]));
    const game = (gameId: string): GameScan => {
      let g = games.get(gameId);
      if (!g) {
        g = { gameId, date, scheduled: false, raw: {} };
        games.set(gameId, g);
      }
      return g;
    };
    for (const { source, rows } of raw) for (const h of rows) if (h.slice === date && h.rows > 0) game(h.unit).raw[source.tableName] = h.rows;
    for (const h of analytics) {
      if (h.slice !== date || h.rows === 0) continue;
      game(h.unit).analytics = { rows: h.rows, tier: worstOf(h.tiers), sources: h.sources };
    }
    out.push({
      date,
      scheduled,
      games: [...games.values()],
      statuses: Object.fromEntries(processors.map((p) => [p, statuses.get(p)?.[i]])),
    });
  }
  return { targets, dates: out };
}
