/**
 * Reads and checks the raw box-score files of one slice for a phase-2 processor. Any
 * problem is an InputError naming the file: the job fails at once, and the message says
 * which file to look at and why.
 */
import { InputError } from '../../../errors/input-error.ts';
import { assertScheduledHere } from '../../expectations.ts';
import { type GameIdInfo, parseGameId, seasonLabel, seasonStartYearOfDate } from '../../game-id.ts';
import type { ProcessorContext } from '../../types.ts';
import { parseBoxscore } from './boxscore.ts';
import type { ParsedBoxscore } from './boxscore-types.ts';

export interface SliceBoxscore {
  /** The object key, recorded as `source_file`. */
  key: string;
  box: ParsedBoxscore;
  game: GameIdInfo;
}

const SLICE = /^\d{4}-\d{2}-\d{2}$/;
const FILE_NAME = /^(\d{10})\.json$/;

export async function readSliceBoxscores(ctx: ProcessorContext, prefix: string): Promise<SliceBoxscore[]> {
  if (!SLICE.test(ctx.slice)) throw new InputError(`slice "${ctx.slice}" is not a YYYY-MM-DD date`);
  const out: SliceBoxscore[] = [];
  for (const key of await ctx.store.list(prefix)) {
    if (!key.endsWith('.json')) continue;
    const name = key.slice(prefix.length);
    const fileGameId = FILE_NAME.exec(name)?.[1];
    if (!fileGameId) throw new InputError(`file name is not <game_id>.json`, { file: key });
    const bytes = await ctx.store.get(key);
    // Listed, then gone: a rerun of the scraper replaced it; the next run reads the new one.
    if (bytes === null) continue;
    const box = parseBoxscore(bytes, key);
    if (box.gameId !== fileGameId) throw new InputError(`holds game ${box.gameId}, not ${fileGameId} as its name says`, { file: key });
    let game: GameIdInfo;
    try {
      game = parseGameId(box.gameId);
    } catch (err) {
      throw new InputError((err as Error).message, { file: key, cause: err });
    }
    // v2 box scores carry no date, so the slice (the folder) dates the game; a game of
    // another season in this folder means the file was written under the wrong date.
    await assertScheduledHere(ctx, box.gameId, key);
    const sliceSeason = seasonStartYearOfDate(ctx.slice);
    if (game.seasonStartYear !== sliceSeason) {
      throw new InputError(`game ${box.gameId} is a ${game.season} game, but slice ${ctx.slice} is in ${seasonLabel(sliceSeason)}`, { file: key });
    }
    out.push({ key, box, game });
  }
  return out;
}

/** The other team of a two-team box score. */
export function opponentOf(box: ParsedBoxscore, teamId: number): number | null {
  const ids = new Set([...box.teams.map((t) => t.teamId), ...box.players.map((p) => p.teamId)]);
  for (const id of ids) if (id !== teamId) return id;
  return null;
}

export function isHome(box: ParsedBoxscore, teamId: number): boolean | null {
  return box.homeTeamId === null ? null : box.homeTeamId === teamId;
}
