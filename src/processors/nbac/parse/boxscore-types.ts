/**
 * One shape for a box score whatever feed it came from (stats.nba.com v2 or v3), so the
 * phase-2 processors map it to rows without knowing the version.
 */

/** Counting stats are integers; null on a line of a player who did not play. */
export interface StatLine {
  fgm: number | null;
  fga: number | null;
  fg3m: number | null;
  fg3a: number | null;
  ftm: number | null;
  fta: number | null;
  oreb: number | null;
  dreb: number | null;
  reb: number | null;
  ast: number | null;
  stl: number | null;
  blk: number | null;
  tov: number | null;
  pf: number | null;
  pts: number | null;
  fgPct: number | null;
  fg3Pct: number | null;
  ftPct: number | null;
  plusMinus: number | null;
}

export interface PlayerLine extends StatLine {
  gameId: string;
  teamId: number;
  teamAbbr: string;
  teamCity: string | null;
  playerId: number;
  playerName: string;
  /** v2's NICKNAME (from 2019-20 on); null when the feed has none. */
  nickname: string | null;
  /** `F`, `C` or `G` for starters; null for the bench. */
  startPosition: string | null;
  isStarter: boolean;
  comment: string | null;
  dnpReason: string | null;
  /** Minutes exactly as the feed wrote them. */
  minutes: string | null;
  secondsPlayed: number | null;
}

export interface TeamLine extends StatLine {
  gameId: string;
  teamId: number;
  teamAbbr: string;
  teamCity: string | null;
  teamName: string | null;
  minutes: string | null;
  secondsPlayed: number | null;
}

export interface ParsedBoxscore {
  format: 'boxscoretraditionalv2' | 'boxscoretraditionalv3';
  gameId: string;
  /** Null when the feed does not say which team was at home. */
  homeTeamId: number | null;
  awayTeamId: number | null;
  players: PlayerLine[];
  teams: TeamLine[];
}

export const COUNTING_STATS = ['fgm', 'fga', 'fg3m', 'fg3a', 'ftm', 'fta', 'oreb', 'dreb', 'reb', 'ast', 'stl', 'blk', 'tov', 'pf', 'pts'] as const;
export const RATE_STATS = ['fgPct', 'fg3Pct', 'ftPct', 'plusMinus'] as const;
