/**
 * Loaded by mocha before any test file (.mocharc.json `require`): every test starts from an
 * environment with no `PHASEGATE_*` variable, nor one that redirects the Pub/Sub or
 * OpenTelemetry clients, so a user's shell (an exported PHASEGATE_DUCKDB_PATH, say) cannot send
 * tests to its files or its collector. Tests set only what they own.
 * The one exception is a switch a test itself reads, not a phasegate setting:
 * PHASEGATE_UPDATE_SCREENSHOTS=1 makes the browser test write the screenshots under docs/.
 */
const TEST_SWITCHES: ReadonlySet<string> = new Set(['PHASEGATE_UPDATE_SCREENSHOTS']);

/**
 * Variables of the Google and OpenTelemetry clients that would redirect what a test sends: the
 * Pub/Sub emulator's address, gcloud's endpoint override, and every `OTEL_*` (an exporter's
 * endpoint, headers, or `OTEL_SDK_DISABLED`).
 */
const CLIENT_REDIRECTS: ReadonlySet<string> = new Set(['PUBSUB_EMULATOR_HOST', 'PUBSUB_PROJECT_ID', 'CLOUDSDK_API_ENDPOINT_OVERRIDES_PUBSUB']);

for (const key of Object.keys(process.env)) {
  if (key.startsWith('PHASEGATE_') && !TEST_SWITCHES.has(key)) delete process.env[key];
  if (key.startsWith('OTEL_') || CLIENT_REDIRECTS.has(key)) delete process.env[key];
}
