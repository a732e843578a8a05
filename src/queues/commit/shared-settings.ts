/**
 * One set of caps per pipeline. A table gate's caps (BullMQ's global concurrency and rate
 * limit) live in Redis and bind every worker, but each process sets them from its own
 * environment when its gates start — so the settings they come from (declared `shared`:
 * the table caps and limits, batch sizes, gather window, time scale) are recorded in Redis by
 * the first process that starts table gates, and every worker compares its own with that set
 * before it starts anything: one that differs refuses (exit 2) instead of silently winning.
 * `phasegate config apply` replaces the set on purpose and re-applies the gates' caps.
 */
import { hostname } from 'node:os';
import { differenceLine, type SettingDifference, type SharedTexts, sharedDifferences, sharedTexts } from '../../config/shared-settings.ts';
import { SharedSettingsError } from '../../errors/shared-settings-error.ts';
import type { PipelineContext } from '../context.ts';
import { reapplyThrottle } from './throttle.ts';

type Ctx = Pick<PipelineContext, 'config' | 'redis' | 'keys'>;

export interface RecordedSettings {
  /** Variable → canonical value (JSON). */
  values: SharedTexts;
  /** When it was recorded (ISO). */
  recordedAt: string | undefined;
  /** Which process recorded it: `host pid N`, or `… (config apply)`. */
  recordedBy: string | undefined;
}

const META = new Set(['recordedAt', 'recordedBy']);

function fromHash(h: Record<string, string>): RecordedSettings | undefined {
  const values = Object.fromEntries(Object.entries(h).filter(([k]) => !META.has(k)));
  if (Object.keys(values).length === 0) return undefined;
  return { values, recordedAt: h.recordedAt, recordedBy: h.recordedBy };
}

function recorder(how = ''): string {
  return `${hostname()} pid ${process.pid}${how}`;
}

/** The recorded set; undefined when none is (no gate started on this Redis since it was empty). */
export async function readSharedSettings(ctx: Ctx): Promise<RecordedSettings | undefined> {
  return fromHash(await ctx.redis.hgetall(ctx.keys.sharedSettings()));
}

/**
 * Records this process's shared settings where the set has none (all of them on an empty Redis,
 * or one a newer phasegate shares), in one MULTI so two gates starting at once record one set;
 * returns the set as recorded. A field already recorded is never changed here.
 */
export async function recordSharedSettings(ctx: Ctx, now = new Date()): Promise<RecordedSettings> {
  const key = ctx.keys.sharedSettings();
  const multi = ctx.redis.multi();
  for (const [variable, text] of Object.entries(sharedTexts(ctx.config))) multi.hsetnx(key, variable, text);
  multi.hsetnx(key, 'recordedAt', now.toISOString()).hsetnx(key, 'recordedBy', recorder()).hgetall(key);
  const replies = await multi.exec();
  const last = replies?.at(-1);
  if (!last || last[0]) throw last?.[0] ?? new Error('recording the shared settings: the MULTI was discarded');
  return fromHash(last[1] as Record<string, string>) ?? { values: {}, recordedAt: undefined, recordedBy: undefined };
}

/** Where this process's shared settings differ from `recorded`. */
export function differencesFrom(ctx: Pick<Ctx, 'config'>, recorded: RecordedSettings | undefined): SettingDifference[] {
  return recorded ? sharedDifferences(recorded.values, sharedTexts(ctx.config)) : [];
}

/**
 * Run by every worker before it starts anything: throws SharedSettingsError (one line: the
 * setting, both values) when this environment differs from the recorded set, and changes
 * nothing in Redis then. `record`: this process starts table gates, so it records the set when
 * there is none. A worker without gates on a Redis without a set has nothing to compare with.
 */
export async function checkSharedSettings(ctx: Ctx, opts: { record: boolean }): Promise<void> {
  let recorded = await readSharedSettings(ctx);
  const before = differencesFrom(ctx, recorded);
  if (before.length === 0 && opts.record) recorded = await recordSharedSettings(ctx);
  // Checked again after recording: another gate may have recorded its set in between.
  const differences = before.length > 0 ? before : differencesFrom(ctx, recorded);
  if (differences.length > 0)
    throw new SharedSettingsError(
      differenceLine(differences),
      differences.map((d) => d.variable),
    );
}

/**
 * `phasegate config apply`: this environment's shared settings become the recorded set, and
 * every table gate's caps are set from them at once (a table the throttle holds at one commit at
 * a time stays so). Running workers keep the batch sizes and gather window they started with
 * until they restart (with these values: a worker with the old ones now refuses to start).
 */
export async function applySharedSettings(ctx: Ctx & Pick<PipelineContext, 'queues' | 'registry'>, now = new Date()): Promise<RecordedSettings> {
  const key = ctx.keys.sharedSettings();
  const values = sharedTexts(ctx.config);
  const recordedBy = recorder(' (config apply)');
  await ctx.redis
    .multi()
    .del(key)
    .hset(key, { ...values, recordedAt: now.toISOString(), recordedBy })
    .exec();
  for (const table of ctx.registry.gatedTables()) {
    await ctx.queues.applyTableCaps(table);
    await reapplyThrottle(ctx, table);
  }
  return { values, recordedAt: now.toISOString(), recordedBy };
}
