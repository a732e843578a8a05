/**
 * One player identity across sources: a fallback source's player (balldontlie numbers players
 * apart from NBA.com) is matched to an NBA.com person id by what both report — the name,
 * normalised, then the team and the season. Pure, and the one place the rule lives: the
 * crosswalk processor records its verdicts in `nba_reference.player_crosswalk`, and phase 3
 * reads them from there for the rows it writes. A name two NBA.com players share is listed as
 * ambiguous, never guessed.
 */

/** How a source player was matched, best first. */
export const MATCH_METHODS = {
  name_team_season: 1,
  name_season: 0.9,
  name_team_previous_season: 0.8,
  name_previous_season: 0.7,
  ambiguous: 0,
  unmatched: 0,
} as const;

export type MatchMethod = keyof typeof MATCH_METHODS;

/** An NBA.com player as its box scores report him. */
export interface Candidate {
  personId: number;
  name: string;
  teamId: number;
  /** `2023-24`. */
  season: string;
}

/** A fallback source's player on one line. */
export interface SourcePlayer {
  name: string;
  teamId: number;
  season: string;
}

export interface Match {
  /** The NBA.com person id; null when unmatched or ambiguous. */
  personId: number | null;
  /** The matched NBA.com name (accents and all). */
  nbaName: string | null;
  method: MatchMethod;
  confidence: number;
  /** The person ids an ambiguous name could be, ascending; empty otherwise. */
  candidates: number[];
}

// Generational suffixes: NBA.com writes "Jaren Jackson Jr.", others "Jaren Jackson".
const SUFFIXES = new Set(['jr', 'sr', 'ii', 'iii', 'iv', 'v']);

/**
 * A name as both sources would agree on it: accents dropped (`Jokić` → `jokic`), lower case,
 * punctuation gone (`P.J.` → `pj`, `O'Neale` → `oneale`, hyphens become spaces), generational
 * suffixes dropped, spaces collapsed.
 */
export function normaliseName(name: string): string {
  const words = name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[.'’`]/g, '')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()
    .split(' ')
    .filter((w) => w !== '');
  while (words.length > 1 && SUFFIXES.has(words.at(-1) as string)) words.pop();
  return words.join(' ');
}

/** `2023-24` → `2022-23`. */
export function previousSeason(season: string): string {
  const start = Number(season.slice(0, 4)) - 1;
  return `${start}-${String((start + 1) % 100).padStart(2, '0')}`;
}

/** Candidates indexed by normalised name, built once per slice. */
export class CandidateIndex {
  private readonly byName = new Map<string, Candidate[]>();

  constructor(candidates: Iterable<Candidate>) {
    for (const c of candidates) {
      const key = normaliseName(c.name);
      const list = this.byName.get(key) ?? [];
      list.push(c);
      this.byName.set(key, list);
    }
  }

  match(player: SourcePlayer): Match {
    const same = this.byName.get(normaliseName(player.name)) ?? [];
    const steps: [MatchMethod, (c: Candidate) => boolean][] = [
      ['name_team_season', (c) => c.season === player.season && c.teamId === player.teamId],
      ['name_season', (c) => c.season === player.season],
      ['name_team_previous_season', (c) => c.season === previousSeason(player.season) && c.teamId === player.teamId],
      ['name_previous_season', (c) => c.season === previousSeason(player.season)],
    ];
    for (const [method, fits] of steps) {
      const found = same.filter(fits);
      const ids = [...new Set(found.map((c) => c.personId))].sort((a, b) => a - b);
      if (ids.length === 1) return { personId: ids[0] as number, nbaName: found[0]?.name ?? null, method, confidence: MATCH_METHODS[method], candidates: [] };
      if (ids.length > 1) return { personId: null, nbaName: null, method: 'ambiguous', confidence: 0, candidates: ids };
    }
    return { personId: null, nbaName: null, method: 'unmatched', confidence: 0, candidates: [] };
  }
}
