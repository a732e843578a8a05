/** What a game-date slice must contain, shared by every processor whose rows carry `game_id`. */
import { InputError } from '../errors/input-error.ts';
import type { ProcessorContext, SliceExpectation } from './types.ts';

/**
 * The schedule's games on the slice's date, or `null` when the schedule does not cover the
 * date at all (then the input present is the expectation).
 */
export async function scheduledGames(ctx: ProcessorContext): Promise<SliceExpectation> {
  if (!(await ctx.schedule.covers(ctx.slice))) return null;
  return (await ctx.schedule.games(ctx.slice)).map((g) => g.gameId).sort();
}

/**
 * Fails a raw file whose game the schedule places on another date: its rows would land under
 * the wrong date (and a MERGE on the key would move them there). The file is misplaced.
 */
export async function assertScheduledHere(ctx: ProcessorContext, gameId: string, file: string): Promise<void> {
  const scheduled = await ctx.schedule.dateOfGame(gameId);
  if (scheduled !== undefined && scheduled !== ctx.slice) {
    throw new InputError(`game ${gameId} is scheduled on ${scheduled}, but its file is under ${ctx.slice}`, { file });
  }
}
