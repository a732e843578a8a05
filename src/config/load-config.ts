/**
 * One typed, validated configuration, resolved by a pure function of environment variables
 * and CLI flags (flags win). An invalid value stops the program with one line naming the
 * variable and what is wrong.
 */
import { z } from 'zod';
import { ConfigError } from '../errors/config-error.ts';
import { assemble, type ConfigOf, type DeclaredSetting, declared, type VariableOf, withDefaults } from './define-setting.ts';
import { SETTINGS } from './settings.ts';

/** The settings in declaration order; the schema below and the README's table are made from them. */
export const DECLARED_SETTINGS: readonly DeclaredSetting[] = declared(SETTINGS);

/** One field per variable; an unset variable without a default is undefined. */
const schema = z.object(Object.fromEntries(DECLARED_SETTINGS.map(({ setting: s }) => [s.env, s.default === undefined ? s.type.optional() : s.type])));

/**
 * The resolved configuration: what `loadConfig` makes of the variables (and CLI flags), typed
 * from the declarations in settings.ts (each field's variable, default and doc are there).
 * Times in seconds are on BigQuery's clock (scaled by `timeScale`) unless a setting says real.
 */
export type Config = ConfigOf<typeof SETTINGS>;

/** Every variable a setting reads. */
export type SettingVariable = VariableOf<typeof SETTINGS>;

// The per-table overrides are parsed apart (JSON numbers, not variable texts); they must name
// exactly the table limits they override.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const overridesMatchTable: Same<Required<Config['tableOverrides'][string]>, Config['table']> = true;
void overridesMatchTable;

const SECRET_VARIABLES: ReadonlySet<string> = new Set(DECLARED_SETTINGS.filter(({ setting: s }) => s.secret).map(({ setting: s }) => s.env));

/** CLI flags that override environment variables, keyed by the variable they override. */
export type ConfigFlags = Partial<Record<SettingVariable, string | number | boolean | undefined>>;

/** A bad value as an error shows it: never a secret, nor the credentials inside a URL (`redis://user:pass@host`). */
function shown(variable: string, value: unknown): string {
  if (SECRET_VARIABLES.has(variable)) return 'the value is not shown: it is a secret';
  const text = typeof value === 'string' && value.includes('@') ? value.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/i, '$1…@') : value;
  return `got ${JSON.stringify(text ?? null)}`;
}

/** Resolves the configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, flags: ConfigFlags = {}): Config {
  const given: Record<string, string> = {};
  for (const { setting: s } of DECLARED_SETTINGS) {
    const flag = flags[s.env as SettingVariable];
    const value = flag !== undefined ? String(flag) : env[s.env];
    if (value !== undefined && value !== '') given[s.env] = value;
  }
  const parsed = schema.safeParse(withDefaults(DECLARED_SETTINGS, given));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'configuration');
    throw new ConfigError(`${variable}: ${issue?.message ?? 'invalid'} (${shown(variable, given[variable])})`);
  }
  // The one place the declarations' value types meet the parsed values: `assemble` puts each
  // value where its declaration sits, and each was parsed by that declaration's own type.
  const c = assemble(DECLARED_SETTINGS, parsed.data) as Config;
  // A MULTI or Lua script over keys in different slots fails on a cluster (CROSSSLOT): a hash
  // tag in the prefix puts every key of the pipeline in one slot.
  if (c.redisCluster && !/\{[^{}]+\}/.test(c.prefix)) {
    throw new ConfigError(
      `PHASEGATE_PREFIX: on a Redis Cluster (PHASEGATE_REDIS_CLUSTER) it must carry a hash tag such as {${c.prefix.replace(/[{}]/g, '') || 'phasegate'}} so every key hashes to one slot (got ${JSON.stringify(c.prefix)})`,
    );
  }
  if (c.store === 'gcs' && !c.gcsBucket) throw new ConfigError('PHASEGATE_GCS_BUCKET: required when PHASEGATE_STORE=gcs');
  if (c.warehouse === 'bigquery' && !c.bigquery.projectId) throw new ConfigError('PHASEGATE_BQ_PROJECT: required when PHASEGATE_WAREHOUSE=bigquery');
  if (c.warehouse === 'bigquery' && c.store !== 'gcs') {
    throw new ConfigError('PHASEGATE_STORE: must be gcs when PHASEGATE_WAREHOUSE=bigquery (BigQuery reads staged rows from GCS)');
  }
  if ((c.dashboard.user === undefined) !== (c.dashboard.password === undefined)) {
    throw new ConfigError('PHASEGATE_DASHBOARD_USER and PHASEGATE_DASHBOARD_PASSWORD: set both or neither');
  }
  if (c.breaker.minCommits > c.breaker.commits) {
    throw new ConfigError(`PHASEGATE_BREAKER_MIN_COMMITS: at most PHASEGATE_BREAKER_COMMITS (${c.breaker.commits}), or the breaker never trips`);
  }
  const topic = c.pubsub.topic;
  if (topic !== undefined && !topic.startsWith('projects/')) {
    if (!c.bigquery.projectId) throw new ConfigError('PHASEGATE_PUBSUB_TOPIC: a bare topic name needs PHASEGATE_BQ_PROJECT (or give projects/P/topics/T)');
    // One form downstream: the full path.
    c.pubsub.topic = `projects/${c.bigquery.projectId}/topics/${topic}`;
  }
  return c;
}

/** A table's limits: the global ones with that table's overrides applied. */
export function tableLimits(config: Pick<Config, 'table' | 'tableOverrides'>, table: string): Config['table'] {
  return { ...config.table, ...config.tableOverrides[table] };
}

/** The password inside a URL (`redis://:pw@host`), decoded; undefined when it has none. */
function urlPassword(url: string | undefined): string | undefined {
  if (url === undefined || !URL.canParse(url)) return undefined;
  const { password } = new URL(url);
  return password === '' ? undefined : decodeURIComponent(password);
}

/**
 * The configured values that are secrets, for src/redact.ts to mask wherever they appear:
 * the dashboard's token and password, the balldontlie key, the passwords inside REDIS_URL
 * and PHASEGATE_SCRAPER_URL, and the whole webhook URL (a Slack webhook's path is its key).
 */
export function secretsOf(config: Pick<Config, 'redisUrl' | 'dashboard' | 'bdl' | 'notify' | 'scraper'>): (string | undefined)[] {
  return [
    config.dashboard.token,
    config.dashboard.password,
    config.bdl.apiKey,
    config.notify.webhookUrl,
    urlPassword(config.redisUrl),
    urlPassword(config.scraper.url),
  ];
}

/** Real milliseconds for a duration given in (BigQuery-clock) seconds. */
export function scaledMs(config: Pick<Config, 'timeScale'>, seconds: number): number {
  return Math.max(1, Math.round((seconds * 1000) / config.timeScale));
}

/**
 * Variables that say where state lives or whom phasegate talks to (declared `location`: Redis,
 * prefixes, folders, files, buckets, projects, webhooks, the dashboard's address and secrets).
 * A harness that owns those (tests, benchmarks) never inherits them from the caller's shell.
 */
const LOCATION_VARIABLES: ReadonlySet<string> = new Set(DECLARED_SETTINGS.filter(({ setting: s }) => s.location).map(({ setting: s }) => s.env));

/** `env` without any `PHASEGATE_*` variable: what a hermetic child process starts from. */
export function withoutPhasegateEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('PHASEGATE_')));
}

/** The product settings (limits, timings) among `env`'s `PHASEGATE_*` variables: never a location. */
export function productSettings(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('PHASEGATE_') && !LOCATION_VARIABLES.has(e[0]) && e[1] !== undefined),
  );
}
