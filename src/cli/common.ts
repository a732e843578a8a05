/** What every command shares: global flags → config, one-line errors, exit codes. */
import type { Command } from 'commander';
import { type Config, type ConfigFlags, loadConfig } from '../config/index.ts';
import { ConfigError } from '../errors/config-error.ts';
import { InputError } from '../errors/input-error.ts';
import { PhasegateError } from '../errors/phasegate-error.ts';
import { setLogLevel } from '../log.ts';
import { openRuntime, type Runtime, type RuntimeOptions } from '../runtime.ts';

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
  setLogLevel(config.logLevel);
  return config;
}

export async function withRuntime<T>(config: Config, fn: (rt: Runtime) => Promise<T>, opts: RuntimeOptions = {}): Promise<T> {
  const rt = await openRuntime(config, { redisExplicit: process.env.REDIS_URL !== undefined || config.redisUrl !== 'redis://127.0.0.1:6379', ...opts });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

/** Bad input and bad configuration: one line on stderr, exit 2. Anything else: exit 1. */
export function exitOnError(err: unknown): never {
  if (err instanceof InputError || err instanceof ConfigError) {
    process.stderr.write(`phasegate: ${err.message}\n`);
    process.exit(2);
  }
  const message = err instanceof PhasegateError || err instanceof Error ? err.message : String(err);
  process.stderr.write(`phasegate: ${message}\n`);
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
