/**
 * The layering of docs/architecture.md, kept by a tool: `npm run deps` (part of `npm test`)
 * fails on an import from a lower layer to a higher one, and on any import cycle.
 *
 * LAYERS lists the floors from the ground up; a module may import its own floor and the floors
 * below it, never one above. Each entry is a regular expression on the path under src/.
 */
const LAYERS = [
  ['limits', 'limits/'],
  ['base', '(errors/|redact\\.ts|prng\\.ts|terminal-text\\.ts)'],
  ['log', 'log\\.ts'],
  ['telemetry', 'telemetry/'],
  ['config', 'config/'],
  ['io', '(redis/|storage/)'],
  ['processors', 'processors/'],
  ['tables', 'tables/'],
  ['integrity', 'integrity/'],
  ['sources', 'sources/'],
  ['warehouse', 'warehouse/'],
  ['notify', 'notify/'],
  ['queues', 'queues/'],
  ['coverage', '(coverage/|events-relay/)'],
  ['schedules', '(schedules/|doctor/)'],
  ['runtime', 'runtime\\.ts'],
  ['dashboard', 'dashboard/'],
  ['cli', 'cli/'],
];

const under = (pattern) => `^src/${pattern}`;

const upward = LAYERS.slice(0, -1).map(([name, pattern], i) => ({
  name: `no-upward-from-${name}`,
  comment: `${name} is below ${LAYERS.slice(i + 1)
    .map(([n]) => n)
    .join(', ')}: see docs/architecture.md`,
  severity: 'error',
  from: { path: under(pattern) },
  to: { path: `^src/(${LAYERS.slice(i + 1)
    .map(([, p]) => p)
    .join('|')})` },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import cycle: two modules that need each other are one module, or a layer is missing',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'every-module-in-a-layer',
      comment: 'a new top-level folder or file under src/ needs its place in LAYERS (and docs/architecture.md)',
      severity: 'error',
      from: { path: '^src/', pathNot: `^src/(${LAYERS.map(([, p]) => p).join('|')})` },
      to: {},
    },
    {
      name: 'src-never-imports-tests-or-scripts',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|scripts)/' },
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '(^|/)(node_modules|dist)/' },
  },
};
