/**
 * One shape for a box score whatever feed it came from (stats.nba.com v2 or v3), so the
 * phase-2 processors map it to rows without knowing the version.
 */

import type { CountingStat } from '../../boxscore/counting-stats.ts';

/** Counting stats are integers; null on a line of a player who did not play. */
export type StatLine = { [S in CountingStat]: number | null } & {
  fgPct: number | null;
  fg3Pct: number | null;
  ftPct: number | null;
  plusMinus: number | null;
};

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
