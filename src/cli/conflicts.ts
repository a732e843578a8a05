/** `phasegate conflicts`: what it accepts and its help; the work is in actions/conflicts.ts. */
import type { Command } from 'commander';
import { lazyAction, withExamples } from './common.ts';

export function registerConflicts(program: Command): void {
  const cmd = program
    .command('conflicts')
    .description(
      'streaming-buffer conflicts: a per-day summary (met, resolved, unresolved, retries) and the conflicts still unresolved, from the conflict log, and per table what waits now',
    )
    .option('--since <when>', 'how far back: 7d, 24h, 90m or an ISO date/time (default: 7d for the summary, 24h for unresolved)')
    .option('--json', 'print JSON')
    .action(lazyAction(() => import('./actions/conflicts.ts').then((m) => m.runConflicts)));
  withExamples(cmd, [
    ['phasegate conflicts', 'the last 7 days per day and processor, and what is unresolved since yesterday'],
    ['phasegate conflicts --since 2h --json', 'the last two hours, as JSON'],
  ]);
}
