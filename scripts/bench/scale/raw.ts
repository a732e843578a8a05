/**
 * Phase 1 once for `bench:scale`: both NBA.com scrapers (player and team box scores) over
 * the run's dates, from the repeated-seasons source, into one local store every run reads. A
 * manifest of the dates lets a second run skip the scrape.
 */
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { nbacPlayerBoxscoreScraper, nbacTeamBoxscoreScraper } from '../../../src/processors/nbac/boxscore-scrapers.ts';
import { sourceClients } from '../../../src/sources/source-clients.ts';
import { LocalObjectStore } from '../../../src/storage/local-store.ts';
import type { RepeatedSeasonsSource } from './seasons.ts';

export async function prepareScaleRaw(workDir: string, dates: readonly string[], source: RepeatedSeasonsSource, log: (line: string) => void): Promise<string> {
  const storeDir = path.join(workDir, 'raw');
  const store = new LocalObjectStore(storeDir);
  const hash = createHash('sha256').update(dates.join(',')).digest('hex').slice(0, 12);
  const manifest = path.join(storeDir, `scale-manifest-${hash}.json`);
  await rm(path.join(storeDir, 'staging'), { recursive: true, force: true });
  const done = await readFile(manifest, 'utf8').then(
    (t) => (JSON.parse(t) as { dates: string[] }).dates.join(',') === dates.join(','),
    () => false,
  );
  if (done) {
    log(`raw player and team box scores for ${dates.length} dates already in ${storeDir}`);
    return storeDir;
  }
  const started = Date.now();
  for (const slice of dates) {
    await nbacPlayerBoxscoreScraper.run({ slice, store, source, schedule: source, clients: sourceClients(undefined) });
    await nbacTeamBoxscoreScraper.run({ slice, store, source, schedule: source, clients: sourceClients(undefined) });
  }
  await writeFile(manifest, `${JSON.stringify({ dates })}\n`);
  log(`scraped raw player and team box scores for ${dates.length} dates into ${storeDir} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return storeDir;
}
