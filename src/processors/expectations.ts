/** What a game-date slice must contain, shared by every processor whose rows carry `game_id`. */
import type { ProcessorContext, SliceExpectation } from './types.ts';

/**
 * The schedule's games on the slice's date, or `null` when the schedule does not cover the
 * date at all (then the input present is the expectation).
 */
export async function scheduledGames(ctx: ProcessorContext): Promise<SliceExpectation> {
  if (!(await ctx.schedule.covers(ctx.slice))) return null;
  return (await ctx.schedule.games(ctx.slice)).map((g) => g.gameId).sort();
}
