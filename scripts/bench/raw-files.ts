/**
 * Phase 1 once for every mode: the fixture source's player box scores for the replayed dates,
 * scraped into one local store that all modes read. The incident was a phase-2 failure (the
 * raw files were in GCS already), so the modes are compared on phase 2 and the load alone.
 *
 * A manifest records the expected rows per date (the processor run over the raw files), so a
 * second run with the same dates skips the scrape.
 */
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { nbacPlayerBoxscoreScraper } from '../../src/processors/nbac/boxscore-scrapers.ts';
import { nbacPlayerBoxscore } from '../../src/processors/nbac/player-boxscore.ts';
import { FixtureSource } from '../../src/sources/fixture/fixture-source.ts';
import { sourceClients } from '../../src/sources/source-clients.ts';
import { LocalObjectStore } from '../../src/storage/local-store.ts';

/** The fixture source's schedule: what the bench's slices must contain. */
export const FIXTURE_SCHEDULE = new FixtureSource();

export interface RawFiles {
  /** Root of the shared store (PHASEGATE_STORE_DIR of every mode). */
  storeDir: string;
  store: LocalObjectStore;
  dates: string[];
  /** Player lines the processor makes of each date's raw files: what the table must hold. */
  expectedRows: Record<string, number>;
  expectedTotal: number;
}

interface Manifest {
  dates: string[];
  expectedRows: Record<string, number>;
}

export async function prepareRawFiles(workDir: string, dates: readonly string[], log: (line: string) => void): Promise<RawFiles> {
  const storeDir = path.join(workDir, 'raw');
  const store = new LocalObjectStore(storeDir);
  const hash = createHash('sha256').update(dates.join(',')).digest('hex').slice(0, 12);
  const manifestFile = path.join(storeDir, `manifest-${hash}.json`);
  // Staged NDJSON left by an interrupted run would only take disk space; start clean.
  await rm(path.join(storeDir, 'staging'), { recursive: true, force: true });
  let manifest: Manifest | undefined;
  try {
    manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as Manifest;
  } catch {
    manifest = undefined;
  }
  if (!manifest || manifest.dates.join(',') !== dates.join(',')) {
    const started = Date.now();
    const source = FIXTURE_SCHEDULE;
    const expectedRows: Record<string, number> = {};
    for (const slice of dates) {
      await nbacPlayerBoxscoreScraper.run({ slice, store, source, schedule: source, clients: sourceClients(source) });
      expectedRows[slice] = (await nbacPlayerBoxscore.run({ slice, store, schedule: source })).length;
    }
    manifest = { dates: [...dates], expectedRows };
    await writeFile(manifestFile, `${JSON.stringify(manifest)}\n`);
    log(`scraped raw player box scores for ${dates.length} dates into ${storeDir} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } else {
    log(`raw player box scores for ${dates.length} dates already in ${storeDir}`);
  }
  const expectedTotal = Object.values(manifest.expectedRows).reduce((a, b) => a + b, 0);
  return { storeDir, store, dates: [...dates], expectedRows: manifest.expectedRows, expectedTotal };
}
