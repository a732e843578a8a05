/**
 * balldontlie's `/nba/v1/stats` rows, checked with zod at the edge: a shape change fails the
 * file naming it, instead of becoming nulls in the warehouse. Its games carry
 * `home_team_id`/`visitor_team_id` (older responses nest `home_team`/`visitor_team` objects).
 */
import { z } from 'zod';

const count = z.number().int().nullable();
const rate = z.number().nullable().optional();

const team = z.object({ id: z.number().int(), abbreviation: z.string().optional(), full_name: z.string().optional() }).passthrough();

export const bdlStatSchema = z
  .object({
    id: z.number().int(),
    min: z.string().nullable(),
    fgm: count,
    fga: count,
    fg_pct: rate,
    fg3m: count,
    fg3a: count,
    fg3_pct: rate,
    ftm: count,
    fta: count,
    ft_pct: rate,
    oreb: count,
    dreb: count,
    reb: count,
    ast: count,
    stl: count,
    blk: count,
    turnover: count,
    pf: count,
    pts: count,
    plus_minus: z.number().nullable().optional(),
    player: z.object({ id: z.number().int(), first_name: z.string(), last_name: z.string(), position: z.string().nullable().optional() }).passthrough(),
    team,
    game: z
      .object({
        id: z.number().int(),
        date: z.string().regex(/^\d{4}-\d{2}-\d{2}/),
        season: z.number().int(),
        postseason: z.boolean().optional(),
        home_team_id: z.number().int().optional(),
        visitor_team_id: z.number().int().optional(),
        home_team: team.optional(),
        visitor_team: team.optional(),
      })
      .passthrough(),
  })
  .passthrough();

export type BdlStat = z.infer<typeof bdlStatSchema>;

/** What the scraper writes per game: the source's rows, and which NBA.com game they are. */
export interface BdlGameFile {
  source: 'balldontlie';
  gameId: string;
  bdlGameId: number;
  date: string;
  stats: BdlStat[];
}

export function homeOf(game: BdlStat['game']): number | undefined {
  return game.home_team_id ?? game.home_team?.id;
}

export function visitorOf(game: BdlStat['game']): number | undefined {
  return game.visitor_team_id ?? game.visitor_team?.id;
}

/** balldontlie writes minutes as "32", "32:15" or "" / "00" for a player who sat. */
export function bdlSeconds(min: string | null): number | null {
  if (min === null || min.trim() === '') return null;
  const m = /^(\d{1,3})(?::(\d{1,2}))?$/.exec(min.trim());
  if (!m) return null;
  return Number(m[1]) * 60 + Number(m[2] ?? 0);
}

/** Where one source serves balldontlie's stats for a date (the API, or the fixture). */
export interface BdlSource {
  /** Every stats row of the date's games, all pages. */
  bdlStats(date: string): Promise<BdlStat[]>;
}
