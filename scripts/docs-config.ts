/**
 * Writes README.md's configuration table from the settings' declarations (src/config/settings.ts).
 * `--check` writes nothing and exits 1 when the README's table differs (what test/config.test.ts checks).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { DECLARED_SETTINGS } from '../src/config/load-config.ts';
import { readmeSettingsTable, settingsTable, withSettingsTable } from '../src/config/settings-table.ts';

const readmePath = new URL('../README.md', import.meta.url);
const readme = await readFile(readmePath, 'utf8');
const table = settingsTable(DECLARED_SETTINGS);
if (process.argv.includes('--check')) {
  const same = readmeSettingsTable(readme) === table;
  console.log(same ? 'README.md: the configuration table matches the declarations' : 'README.md: the configuration table differs: run npm run docs:config');
  process.exitCode = same ? 0 : 1;
} else {
  const next = withSettingsTable(readme, table);
  if (next !== readme) await writeFile(readmePath, next);
  console.log(next === readme ? 'README.md: configuration table unchanged' : 'README.md: configuration table written');
}
