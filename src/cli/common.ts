/**
 * What every command shares: global flags → config, examples in the help, one-line errors,
 * exit codes, and actions loaded only when their command runs. This module stays light —
 * `phasegate --help` imports it and every command definition, and nothing else: the runtime
 * (BullMQ, the warehouse) and the processor registry are imported when a command needs them.
 */
import type { Command } from 'commander';
import { type Config, type ConfigFlags, loadConfig, secretsOf } from '../config/load-config.ts';
import { ConfigError } from '../errors/config-error.ts';
import { InputError } from '../errors/input-error.ts';
import { PhasegateError } from '../errors/phasegate-error.ts';
import { setLogLevel } from '../log.ts';
import type { Registry } from '../processors/registry.ts';
import { redact, rememberSecrets } from '../redact.ts';
import { describeRedisError } from '../redis/repeated-errors.ts';
import type { Runtime, RuntimeOptions } from '../runtime.ts';
import { heldFileMessage, lockHolder } from '../warehouse/read-relay/lock.ts';

export interface GlobalFlags {
  redisUrl?: string;
  prefix?: string;
  dataDir?: string;
  warehouse?: string;
  timeScale?: string;
  logLevel?: string;
}

export function addGlobalFlags(program: Command): Command {
  return program
    .option('--redis-url <url>', 'Redis URL (REDIS_URL)')
    .option('--prefix <prefix>', 'BullMQ key prefix (PHASEGATE_PREFIX)')
    .option('--data-dir <dir>', 'folder for local state (PHASEGATE_DATA_DIR)')
    .option('--warehouse <kind>', 'duckdb | bigquery (PHASEGATE_WAREHOUSE)')
    .option('--time-scale <n>', 'run BigQuery-time windows N times faster (PHASEGATE_TIME_SCALE)')
    .option('--log-level <level>', 'error | warn | info | debug (PHASEGATE_LOG_LEVEL)');
}

export function configFrom(flags: GlobalFlags, extra: ConfigFlags = {}): Config {
  const config = loadConfig(process.env, {
    REDIS_URL: flags.redisUrl,
    PHASEGATE_PREFIX: flags.prefix,
    PHASEGATE_DATA_DIR: flags.dataDir,
    PHASEGATE_WAREHOUSE: flags.warehouse,
    PHASEGATE_TIME_SCALE: flags.timeScale,
    PHASEGATE_LOG_LEVEL: flags.logLevel,
    ...extra,
  });
  rememberSecrets(...secretsOf(config));
  setLogLevel(config.logLevel);
  return config;
}

/**
 * PHASEGATE_TABLE_LIMITS may only name tables that have a gate: an override of a misspelt
 * table would be silently ignored while the real one runs on the defaults.
 */
export function checkTableLimits(config: Pick<Config, 'tableOverrides'>, registry: Pick<Registry, 'gatedTables'>): void {
  const tables = registry.gatedTables();
  for (const key of Object.keys(config.tableOverrides)) {
    if (!tables.includes(key)) throw new ConfigError(`PHASEGATE_TABLE_LIMITS["${key}"]: no processor writes this table (tables: ${tables.join(', ')})`);
  }
}

export async function withRuntime<T>(config: Config, fn: (rt: Runtime) => Promise<T>, opts: RuntimeOptions = {}): Promise<T> {
  const { openRuntime, defaultRegistry } = await import('../runtime.ts');
  const registry = opts.registry ?? defaultRegistry();
  // Checked before Redis is touched, like every flag.
  checkTableLimits(config, registry);
  const rt = await openRuntime(config, {
    redisExplicit: process.env.REDIS_URL !== undefined || config.redisUrl !== 'redis://127.0.0.1:6379',
    // What a process running the table gates exports when OTEL_* asks: /metrics' own registry.
    metrics: async (rt) => new (await import('../dashboard/metrics/dashboard-metrics.ts')).DashboardMetrics(rt),
    ...opts,
    registry,
  });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

// Help text is read on a terminal: an example longer than this goes on with a shell `\`.
const EXAMPLE_WIDTH = 78;

/** A shell command in lines of at most EXAMPLE_WIDTH columns, continued with ` \`. */
function shellLines(command: string, first: string, next: string): string[] {
  const lines: string[] = [];
  let line = first;
  for (const word of command.split(' ')) {
    if (line.length > next.length && line.length + 1 + word.length + 2 > EXAMPLE_WIDTH) {
      lines.push(`${line} \\`);
      line = next + word;
    } else line += line.endsWith(' ') ? word : ` ${word}`;
  }
  return [...lines, line];
}

/** `Examples:` after a command's help: what each does, then `$ phasegate …`. */
export function withExamples(cmd: Command, examples: readonly [command: string, what: string][]): Command {
  const text = examples.flatMap(([command, what]) => [`  # ${what}`, ...shellLines(command, '  $ ', '      ')]).join('\n');
  return cmd.addHelpText('after', `\nExamples:\n${text}\n`);
}

/**
 * A command's action, imported when the command runs: `--help` and the other commands never
 * load what it needs (the warehouse clients, DuckDB, the dashboard). Its errors end the
 * process through `exitOnError`.
 */
export function lazyAction<A extends unknown[]>(load: () => Promise<(...args: A) => Promise<void>>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const action = await load();
      await action(...args);
    } catch (err) {
      exitOnError(err);
    }
  };
}

/**
 * Bad input and bad configuration: one line on stderr, exit 2. Anything else: exit 1 — a
 * DuckDB file another process holds said in our words (who holds it, what to run), never
 * DuckDB's own lock error. The line is redacted: an error from Redis, a source or a library
 * may quote a URL with its password.
 */
export function exitOnError(err: unknown): never {
  if (err instanceof InputError || err instanceof ConfigError) {
    process.stderr.write(`phasegate: ${redact(err.message)}\n`);
    process.exit(2);
  }
  const holder = lockHolder(err);
  // A Redis refusal (maxmemory, a discarded MULTI, BullMQ's script text) in one line of ours.
  const message = holder ? heldFileMessage(holder) : err instanceof PhasegateError ? err.message : describeRedisError(err, false);
  process.stderr.write(`phasegate: ${redact(message)}\n`);
  process.exit(1);
}

/**
 * An AbortSignal that fires on the first SIGINT/SIGTERM: in-process runs stop waiting, let
 * their workers finish the active jobs, and close. A second signal exits at once.
 */
export function stopSignal(): AbortSignal {
  const ac = new AbortController();
  void untilSignal().then((sig) => {
    process.stderr.write(`\n${sig}: finishing active jobs, then stopping (again to quit now)\n`);
    ac.abort();
    void untilSignal().then(() => process.exit(130));
  });
  return ac.signal;
}

/** Resolves when SIGINT/SIGTERM arrives (once). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export function parsePositiveInt(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`${what}: "${value}" must be a positive whole number`);
  return n;
}
