/** The work of `phasegate config show | apply`: the shared settings recorded in Redis. */
import type { Command } from 'commander';
import { type SettingDifference, SHARED_SETTINGS, sharedTexts } from '../../config/shared-settings.ts';
import { applySharedSettings, differencesFrom, type RecordedSettings, readSharedSettings } from '../../queues/commit/shared-settings.ts';
import { configFrom, type GlobalFlags, withRuntime } from '../common.ts';

const WIDTH = Math.max(...SHARED_SETTINGS.map(({ setting }) => setting.env.length));

/** One line per shared setting: its recorded value, and this environment's where it differs. */
function lines(recorded: RecordedSettings, mine: Record<string, string>): string[] {
  return SHARED_SETTINGS.map(({ setting: { env } }) => {
    const r = recorded.values[env];
    const m = mine[env];
    const value = r ?? `(not recorded; this environment: ${m})`;
    const differs = r !== undefined && m !== undefined && r !== m ? `   ≠ this environment: ${m}` : '';
    return `  ${env.padEnd(WIDTH)}  ${value}${differs}`;
  });
}

function by(recorded: RecordedSettings): string {
  return `recorded${recorded.recordedAt ? ` at ${recorded.recordedAt}` : ''}${recorded.recordedBy ? ` by ${recorded.recordedBy}` : ''}`;
}

function summary(differences: readonly SettingDifference[]): string {
  if (differences.length === 0) return 'this environment agrees with the recorded set';
  return `this environment differs in ${differences.length} setting(s): a worker started here refuses to start; 'phasegate config apply' records this environment's values for every worker`;
}

export async function runConfigShow(flags: { json?: boolean }, cmd: Command): Promise<void> {
  const config = configFrom(cmd.optsWithGlobals<GlobalFlags>());
  await withRuntime(config, async (rt) => {
    const recorded = await readSharedSettings(rt);
    const mine = sharedTexts(config);
    const differences = differencesFrom(rt, recorded);
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ recorded: recorded ?? null, environment: mine, differences }, null, 2)}\n`);
      return;
    }
    if (!recorded) {
      process.stdout.write(
        `no shared settings recorded on prefix ${config.prefix}: the first worker that starts table gates records its own; this environment's:\n`,
      );
      for (const { setting } of SHARED_SETTINGS) process.stdout.write(`  ${setting.env.padEnd(WIDTH)}  ${mine[setting.env]}\n`);
      return;
    }
    process.stdout.write(`shared settings of prefix ${config.prefix}, ${by(recorded)}:\n${lines(recorded, mine).join('\n')}\n${summary(differences)}\n`);
  });
}

export async function runConfigApply(flags: { json?: boolean }, cmd: Command): Promise<void> {
  const config = configFrom(cmd.optsWithGlobals<GlobalFlags>());
  await withRuntime(config, async (rt) => {
    const before = await readSharedSettings(rt);
    const changed = differencesFrom(rt, before);
    const recorded = await applySharedSettings(rt);
    const tables = rt.registry.gatedTables().length;
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ recorded, changed, tables }, null, 2)}\n`);
      return;
    }
    for (const d of changed) process.stdout.write(`${d.variable}: ${d.recorded} → ${d.mine}\n`);
    process.stdout.write(
      `recorded this environment's shared settings on prefix ${config.prefix} and set the caps of ${tables} table gates from them; ` +
        'running workers keep their batch sizes and gather window until restarted, and a worker with other values now refuses to start\n',
    );
  });
}
