/**
 * The settings every process on one pipeline must agree on (declared `shared` in settings.ts):
 * a table gate's caps live in Redis and bind every worker, so two machines with different
 * `PHASEGATE_TABLE_LIMITS` would each set their own and the last one started would win. Here
 * they are turned into texts that compare by value (`1` and `1.0` are the same time scale, the
 * order of keys in a JSON override does not matter) and compared with a recorded set; where the
 * set is recorded and checked is src/queues/shared-settings.ts.
 */
import type { DeclaredSetting } from './define-setting.ts';
import { type Config, DECLARED_SETTINGS } from './load-config.ts';

/** The shared settings, in declaration order. */
export const SHARED_SETTINGS: readonly DeclaredSetting[] = DECLARED_SETTINGS.filter(({ setting: s }) => s.shared);

/** Variable → the value's canonical text (JSON, object keys sorted). */
export type SharedTexts = Record<string, string>;

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, sortedKeys(v)]),
    );
  return value;
}

/** The canonical text of a value: equal values, equal texts. */
export function canonicalText(value: unknown): string {
  return JSON.stringify(sortedKeys(value)) ?? 'null';
}

/** This configuration's shared settings, as texts that compare by value. */
export function sharedTexts(config: Config): SharedTexts {
  const texts: SharedTexts = {};
  for (const { path, setting } of SHARED_SETTINGS) {
    let node: unknown = config;
    for (const key of path) node = (node as Record<string, unknown>)[key];
    texts[setting.env] = canonicalText(node);
  }
  return texts;
}

export interface SettingDifference {
  variable: string;
  recorded: string;
  mine: string;
}

/**
 * Where `mine` differs from a recorded set, in declaration order. A variable the set does not
 * hold (recorded by a phasegate that did not share it yet) is no difference: it is added to the
 * set by the next process that starts table gates.
 */
export function sharedDifferences(recorded: Readonly<Record<string, string>>, mine: SharedTexts): SettingDifference[] {
  return SHARED_SETTINGS.flatMap(({ setting: { env } }) => {
    const r = recorded[env];
    const m = mine[env];
    return r === undefined || m === undefined || r === m ? [] : [{ variable: env, recorded: r, mine: m }];
  });
}

/** The one line a worker refuses to start with: the first difference, both values, what to run. */
export function differenceLine(differences: readonly SettingDifference[]): string {
  const [first, ...rest] = differences;
  if (!first) return 'the shared settings agree';
  const more = rest.length > 0 ? ` (and ${rest.map((d) => d.variable).join(', ')})` : '';
  return (
    `${first.variable}: this environment has ${first.mine}, the pipeline's recorded set has ${first.recorded}${more}; ` +
    "every worker must agree — 'phasegate config show' compares, 'phasegate config apply' records this environment's"
  );
}
