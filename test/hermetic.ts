/**
 * Loaded by mocha before any test file (.mocharc.json `require`): every test starts from an
 * environment with no `PHASEGATE_*` variable, so a user's shell (an exported
 * PHASEGATE_DUCKDB_PATH, say) cannot send tests to its files. Tests set only what they own.
 * The one exception is a switch a test itself reads, not a phasegate setting:
 * PHASEGATE_UPDATE_SCREENSHOTS=1 makes the browser test write the screenshots under docs/.
 */
const TEST_SWITCHES: ReadonlySet<string> = new Set(['PHASEGATE_UPDATE_SCREENSHOTS']);

for (const key of Object.keys(process.env)) {
  if (key.startsWith('PHASEGATE_') && !TEST_SWITCHES.has(key)) delete process.env[key];
}
