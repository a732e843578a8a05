/**
 * Loaded by mocha before any test file (.mocharc.json `require`): every test starts from an
 * environment with no `PHASEGATE_*` variable, so a user's shell (an exported
 * PHASEGATE_DUCKDB_PATH, say) cannot send tests to its files. Tests set only what they own.
 */
for (const key of Object.keys(process.env)) {
  if (key.startsWith('PHASEGATE_')) delete process.env[key];
}
