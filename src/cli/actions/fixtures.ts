/** `phasegate fixtures`: the fixture source's seasons, dates and games. */
import type { Command } from 'commander';
import { checkRange } from '../../queues/backfill/dates.ts';
import { FixtureSource } from '../../sources/fixture/fixture-source.ts';
import { configFrom, type GlobalFlags } from '../common.ts';
import { plural } from '../render/text.ts';

export async function runFixtures(flags: { start: string; end: string; json?: boolean }, cmd: Command): Promise<void> {
  const config = configFrom(cmd.optsWithGlobals<GlobalFlags>());
  checkRange(flags.start, flags.end);
  const source = new FixtureSource({ missingGameIds: config.fixtureMissingGames });
  const dates = await source.gameDates(flags.start, flags.end);
  const bySeason = new Map<string, { dates: number; games: number; first: string; last: string }>();
  for (const date of dates) {
    const games = await source.games(date);
    const season = games[0] ? `20${games[0].gameId.slice(3, 5)}` : '?';
    const s = bySeason.get(season) ?? { dates: 0, games: 0, first: date, last: date };
    s.dates += 1;
    s.games += games.length;
    s.last = date;
    bySeason.set(season, s);
  }
  const out = [...bySeason.entries()].map(([start, s]) => ({ season: `${start}-${String(Number(start) + 1).slice(2)}`, ...s }));
  if (flags.json) process.stdout.write(`${JSON.stringify({ dates: dates.length, seasons: out }, null, 2)}\n`);
  else {
    process.stdout.write(`${plural(dates.length, 'game date')} between ${flags.start} and ${flags.end}\n`);
    for (const s of out) process.stdout.write(`  ${s.season}: ${plural(s.dates, 'date')}, ${plural(s.games, 'game')} (${s.first} … ${s.last})\n`);
  }
}
