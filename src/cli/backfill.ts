/** `phasegate backfill`: what it accepts and its help; the work is in actions/backfill.ts. */
import type { Command } from 'commander';
import { lazyAction, withExamples } from './common.ts';

export function registerBackfill(program: Command): void {
  const cmd = program
    .command('backfill')
    .description('enqueue a backfill over a date range, a dates file, or a failed-dates file')
    .option('--processors <list>', 'comma-separated processor names (phasegate processors lists them)')
    .option('--start <date>', 'first date (YYYY-MM-DD)')
    .option('--end <date>', 'last date (YYYY-MM-DD)')
    .option('--dates-file <file>', 'JSON array, {"dates": [...]}, or one date per line')
    .option('--retry-failed <file>', 'a failed-dates file written by --wait')
    .option('--dry-run', 'print every processor the run reaches with its jobs and the estimated DML statements per table; enqueue nothing')
    .option('--wait', 'show progress until every date is committed or failed')
    .option('--workers <n>', 'also run workers in this process with this phase concurrency (implies --wait); with --dry-run, estimate for them')
    .option('--priority <n>', 'BullMQ priority (lower runs first; live work is 1)', '10')
    .option('--cascade', 'carry the work down every dependent phase')
    .option('--only-missing', 'skip slices the warehouse already holds')
    .option(
      '--only-stale',
      'recompute the stale slices (computed from an input that has since recommitted with other rows); --processors and --start/--end narrow them',
    )
    .option('--allow-shrink', 'let a slice commit fewer games or rows than the warehouse holds for it (logged in the run log)')
    .option('--allow-move', 'let a commit move a game the warehouse holds under another date (logged in the run log)')
    .option('--verbose', 'with the bars, print every info log line (each commit) above them')
    .option('--json', 'print the result as JSON')
    .action(lazyAction(() => import('./actions/backfill.ts').then((m) => m.runBackfill)));
  withExamples(cmd, [
    ['phasegate backfill --processors nbac_player_boxscore --start 2021-10-19 --end 2025-06-22 --dry-run', 'what four seasons would cost, per table'],
    [
      'phasegate backfill --processors nbac_player_boxscore_scraper,nbac_player_boxscore --start 2023-11-01 --end 2023-11-30 --cascade --workers 2',
      'scrape and load a month, carry it down to predictions, with workers in this process',
    ],
    ['phasegate backfill --processors nbac_team_boxscore --dates-file dates.txt --wait', 'dates outside the schedule, one per line; wait for them'],
    ['phasegate backfill --retry-failed .phasegate/failed/failed_dates_<id>.json --wait', 'run again what failed or ended incomplete'],
    ['phasegate backfill --processors player_game_summary --start 2023-10-24 --end 2024-04-14 --cascade --only-missing', 'resume a stopped cascade'],
    ['phasegate backfill --only-stale --wait', 'recompute every stale slice (after a corrected date was re-run without --cascade)'],
  ]);
}
