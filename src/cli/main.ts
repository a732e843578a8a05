/**
 * The `phasegate` command. A run imports only the module of the command it names, and that
 * module only declares the command's options and help: its action is imported when it runs
 * (`lazyAction`). So `--help` and `status` never load the warehouse clients, DuckDB or the
 * dashboard. A new command keeps its heavy imports in its action and gets a row in COMMANDS.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { addGlobalFlags, withExamples } from './common.ts';

// src/cli/main.ts and its build dist/cli/main.js sit at the same depth below package.json.
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

type Register = (program: Command) => void;

/** Every command, in the order the help lists them; each module is imported only when needed. */
const COMMANDS: readonly [name: string, load: () => Promise<Register>][] = [
  ['backfill', () => import('./backfill.ts').then((m) => m.registerBackfill)],
  ['worker', () => import('./worker.ts').then((m) => m.registerWorker)],
  ['status', () => import('./status.ts').then((m) => m.registerStatus)],
  ['processors', () => import('./processors.ts').then((m) => m.registerProcessors)],
  ['fixtures', () => import('./fixtures.ts').then((m) => m.registerFixtures)],
  ['demo', () => import('./demo.ts').then((m) => m.registerDemo)],
  ['dashboard', () => import('./dashboard.ts').then((m) => m.registerDashboard)],
  ['sql', () => import('./sql.ts').then((m) => m.registerSql)],
  ['conflicts', () => import('./conflicts.ts').then((m) => m.registerConflicts)],
  ['retry', () => import('./retry.ts').then((m) => m.registerRetry)],
  ['cancel', () => import('./cancel.ts').then((m) => m.registerCancel)],
  ['coverage', () => import('./coverage.ts').then((m) => m.registerCoverage)],
  ['audit', () => import('./audit.ts').then((m) => m.registerAudit)],
  ['schedule', () => import('./schedule.ts').then((m) => m.registerSchedule)],
  ['config', () => import('./config.ts').then((m) => m.registerConfig)],
  ['doctor', () => import('./doctor.ts').then((m) => m.registerDoctor)],
  ['migrate', () => import('./migrate.ts').then((m) => m.registerMigrate)],
];

// Global flags that take a value: the word after one is not a command.
const GLOBAL_VALUE_FLAGS: ReadonlySet<string> = new Set(['--redis-url', '--prefix', '--data-dir', '--warehouse', '--time-scale', '--log-level']);

/** The command a command line names, when it is one of ours; otherwise (help, a typo) undefined. */
export function commandNamed(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (GLOBAL_VALUE_FLAGS.has(arg)) i += 1;
    else if (!arg.startsWith('-')) return COMMANDS.some(([name]) => name === arg) ? arg : undefined;
  }
  return undefined;
}

/**
 * The program with the named command only — its run does not import the others' modules — or,
 * for help, a typo or no command, with all of them (the help lists them; commander suggests one).
 */
export async function buildProgram(args: readonly string[]): Promise<Command> {
  const program = addGlobalFlags(new Command('phasegate'))
    .description('BullMQ pipeline into BigQuery that backfills years of dates without tripping per-table write limits')
    .version(version, '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride((err) => {
      // Usage errors (unknown option, missing argument) are bad input: exit 2, like ours.
      process.exit(err.exitCode === 0 ? 0 : 2);
    });
  const named = commandNamed(args);
  for (const [name, load] of COMMANDS) if (named === undefined || named === name) (await load())(program);
  // sql's module belongs to its own author; its examples are added here until it has some.
  const sql = program.commands.find((c) => c.name() === 'sql');
  if (sql)
    withExamples(sql, [
      ['phasegate sql "SELECT game_date, count(*) AS games FROM nba_raw.nbac_team_boxscore GROUP BY 1 ORDER BY 1 LIMIT 5"', 'games per date'],
      ['phasegate sql "SELECT * FROM nba_predictions.player_points_predictions LIMIT 5" --json', 'rows as JSON'],
    ]);
  withExamples(program, [
    ['phasegate demo', 'the real 2023-24 season through all five phases, on the embedded default'],
    ['phasegate processors', 'what there is to backfill'],
    ['phasegate backfill --processors nbac_player_boxscore --start 2021-10-19 --end 2025-06-22 --dry-run', 'what four seasons would cost'],
    [
      'phasegate backfill --processors nbac_player_boxscore_scraper,nbac_player_boxscore --start 2023-11-01 --end 2023-11-30 --cascade --workers 2',
      'a month through every phase, with workers in this process',
    ],
    ['phasegate status', 'queues, table gates and backfills'],
  ]);
  program.addHelpText('after', "'phasegate <command> --help' shows a command's options and examples.\n");
  return program;
}

const args = process.argv.slice(2);
await (await buildProgram(args)).parseAsync(process.argv);
