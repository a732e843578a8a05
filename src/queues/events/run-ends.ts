/**
 * Run ends: one entry per run (a backfill, a cascade, an audit) on a stream of its own, written
 * once — by whichever process first sees the run's last slice reach a final state (the
 * "finished" check in src/queues/runs/finished.ts) — so a consumer learns that a run ended
 * without polling `status`. A stream of its own, not an entry of the `committed` stream: that
 * stream's consumers (the dependency tracker, anyone's) read every entry as a committed slice.
 */
import type { RedisClient } from '../../redis/connect.ts';
import type { Keys } from '../../redis/keys.ts';
import { luaScript } from '../../redis/script.ts';
import type { SliceState } from '../status-store.ts';

export interface RunEndEvent {
  type: 'run_finished';
  /** The run's id (`bf-…`). */
  run: string;
  /** The processors the run requested. */
  processors: string[];
  cascade: boolean;
  /** Slices of every processor the run reached, by final state (states with none left out). */
  counts: Partial<Record<SliceState, number>>;
  finishedAt: string;
}

/** Run ends kept: far more runs than anyone starts between two reads of a relay. */
const RUN_ENDS_MAX_LEN = 10_000;
/** How long the once-marker lives: longer than any run is re-announced (a run's statuses live 30 days). */
const ONCE_SECONDS = 30 * 86_400;

/**
 * KEYS: once (the run's marker), stream (run ends). ARGV: marker TTL seconds, stream cap, then
 * the entry's field/value pairs. Returns 1 when it appended the entry, 0 when the run's end was
 * recorded before. One script so that a crash cannot set the marker without the entry.
 */
const appendOnce = luaScript(
  'run_end_once',
  ['once', 'stream'],
  `if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) == false then return 0 end
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(fields))
return 1`,
);

function toFields(event: RunEndEvent): string[] {
  return [
    'type',
    event.type,
    'run',
    event.run,
    'processors',
    JSON.stringify(event.processors),
    'cascade',
    String(event.cascade),
    'counts',
    JSON.stringify(event.counts),
    'finishedAt',
    event.finishedAt,
  ];
}

/** Appends the run's end unless it was appended before; true when this call appended it. */
export async function recordRunEnd(redis: RedisClient, keys: Keys, event: RunEndEvent): Promise<boolean> {
  const added = await appendOnce.run(
    redis,
    { once: keys.notifyOnce('run-ended', event.run), stream: keys.runEnds() },
    ONCE_SECONDS,
    RUN_ENDS_MAX_LEN,
    ...toFields(event),
  );
  return Number(added) === 1;
}

/** Whether the run's end was recorded already (cheap: lets the caller skip reading the run). */
export async function runEndRecorded(redis: RedisClient, keys: Keys, run: string): Promise<boolean> {
  return (await redis.exists(keys.notifyOnce('run-ended', run))) === 1;
}

export function parseRunEndFields(fields: readonly string[]): RunEndEvent {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) o[fields[i] as string] = fields[i + 1] as string;
  return {
    type: 'run_finished',
    run: o.run ?? '',
    processors: o.processors ? (JSON.parse(o.processors) as string[]) : [],
    cascade: o.cascade === 'true',
    counts: o.counts ? (JSON.parse(o.counts) as RunEndEvent['counts']) : {},
    finishedAt: o.finishedAt ?? '',
  };
}
