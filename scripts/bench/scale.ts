/**
 * `npm run bench:scale`: how cost grows with the backfill. Phase 2 of both raw tables
 * (`nbac_player_boxscore`, `nbac_team_boxscore`) over 100 / 400 / 853 / 1,700 game dates (the
 * incident's seasons, then the same seasons repeated four years back), one run each, every run
 * in a child process of its own with its own redis-server and DuckDB file; then the 853-date
 * backfill with the phase workers in 1, 2 and 4 processes of their own next to one
 * commit-gate process. Each run's makespan is set against its quota bound (cascade-bound.ts:
 * the critical path of group commits through the phases at BigQuery's per-table limits).
 * Prints one JSON line per run on stdout, then a table, the target checks (scale/targets.ts)
 * and (with --svg) the chart on stderr. See docs/bench-scale.md.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cappedProcessEnv, heapFlags, workerHeapMb } from '../../src/cli/worker-heap.ts';
import { loadConfig, productSettings } from '../../src/config/load-config.ts';
import { nbacPlayerBoxscore } from '../../src/processors/nbac/player-boxscore.ts';
import { nbacTeamBoxscore } from '../../src/processors/nbac/team-boxscore.ts';
import { type Phase, tableId } from '../../src/processors/types.ts';
import { startRedisServer } from '../../src/redis/ensure-redis.ts';
import { parseFlags, progressLog } from './options.ts';
import { compileScaleProcesses } from './scale/compile-worker.ts';
import { prepareScaleRaw } from './scale/raw.ts';
import type { ScaleRunResult, ScaleRunSpec } from './scale/run.ts';
import { RepeatedSeasonsSource } from './scale/seasons.ts';
import { SMALL, scaleTargets } from './scale/targets.ts';
import { lockWorkDir, WorkDirBusyError } from './scale/work-dir-lock.ts';
import { chartSvg, type Panel } from './svg-chart.ts';

const USAGE = `usage: npm run bench:scale -- [flags]
  --sizes LIST           game dates per run (default 100,400,853,1700)
  --processes LIST       phase-worker processes for the process runs, '' for none (default 1,2,4)
  --process-dates N      dates of the process runs (default 853)
  --process-time-scale X time scale of the process runs (default 100: the phase work, not BigQuery's latency, sets their makespan)
  --cascade              every processor downstream of phase 2 too (phases 3-5); the process runs are cascades too
  --relay                with --cascade: phases 3-5 run in the phase-worker processes, reading DuckDB through the gate's read relay (default: in the gate process, next to DuckDB)
  --workers N            phase-worker concurrency per process (default 12)
  --time-scale X         BigQuery seconds per real second (default 5)
  --seed N               rules-layer seed (default 1)
  --timeout-seconds S    a run still going after this is stopped and reported (default 1200)
  --work-dir DIR         raw files and run folders (default ./.phasegate/bench-scale)
  --svg FILE             write the chart there (default none)
  --max-old-space-mb N   run every worker process with node --max-old-space-size=N (default: the cap \`phasegate worker\` of the same phases would take, src/cli/worker-heap.ts)
  --memory-log FILE      the commit-gate process appends its memory there about once a second: ms, RSS, heap used, heap total, external, array buffers, DuckDB (MB) (default none)
  --worker-node-flags=S  node flags for the phase-worker processes only, in place of that default, space-separated, e.g. --worker-node-flags="--max-old-space-size=128" (default none)
  --gate-node-flags=S    more node flags for the commit-gate process, after its heap flags, space-separated, e.g. --gate-node-flags="--cpu-prof --cpu-prof-dir=/tmp/prof" (default none)
  --keep-run-dirs        keep each run's folder (its DuckDB file, with the run log nba_orchestration.processing_run_log) under --work-dir for a look afterwards; a run's old folder is removed before it starts (default: removed at the end)
  --quiet                no progress lines`;

interface ScaleOptions {
  sizes: number[];
  processes: number[];
  processDates: number;
  processTimeScale: number;
  cascade: boolean;
  relay: boolean;
  workers: number;
  timeScale: number;
  seed: number;
  timeoutSeconds: number;
  workDir: string;
  svg: string | undefined;
  maxOldSpaceMb: number | undefined;
  workerNodeFlags: string[];
  gateNodeFlags: string[];
  memoryLog: string | undefined;
  keepRunDirs: boolean;
  verbose: boolean;
}

function list(flag: string, v: string | undefined, fallback: number[], min: number): number[] {
  if (v === undefined) return fallback;
  if (v.trim() === '') return [];
  return v.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < min) throw new Error(`--${flag}: "${s}" must be a whole number ≥ ${min}\n${USAGE}`);
    return n;
  });
}

function parse(argv: string[]): ScaleOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      sizes: { type: 'string' },
      processes: { type: 'string' },
      'process-dates': { type: 'string' },
      'process-time-scale': { type: 'string' },
      cascade: { type: 'boolean' },
      relay: { type: 'boolean' },
      workers: { type: 'string' },
      'time-scale': { type: 'string' },
      seed: { type: 'string' },
      'timeout-seconds': { type: 'string' },
      'work-dir': { type: 'string' },
      svg: { type: 'string' },
      'max-old-space-mb': { type: 'string' },
      'worker-node-flags': { type: 'string' },
      'gate-node-flags': { type: 'string' },
      'memory-log': { type: 'string' },
      'keep-run-dirs': { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) throw new Error(USAGE);
  const num = (flag: string, v: string | undefined, d: number, ok: (n: number) => boolean) => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isFinite(n) || !ok(n)) throw new Error(`--${flag}: "${v}" is out of range\n${USAGE}`);
    return n;
  };
  return {
    sizes: list('sizes', values.sizes, [100, 400, 853, 1700], 1),
    processes: list('processes', values.processes, [1, 2, 4], 1),
    processDates: num('process-dates', values['process-dates'], 853, (n) => Number.isInteger(n) && n >= 1),
    processTimeScale: num('process-time-scale', values['process-time-scale'], 100, (n) => n > 0 && n <= 100_000),
    cascade: values.cascade ?? false,
    relay: values.relay ?? false,
    workers: num('workers', values.workers, 12, (n) => Number.isInteger(n) && n >= 1),
    timeScale: num('time-scale', values['time-scale'], 5, (n) => n > 0 && n <= 100_000),
    seed: num('seed', values.seed, 1, Number.isInteger),
    timeoutSeconds: num('timeout-seconds', values['timeout-seconds'], 1200, (n) => n > 0),
    workDir: path.resolve(values['work-dir'] ?? path.join('.phasegate', 'bench-scale')),
    svg: values.svg === undefined ? undefined : path.resolve(values.svg),
    maxOldSpaceMb:
      values['max-old-space-mb'] === undefined ? undefined : num('max-old-space-mb', values['max-old-space-mb'], 0, (n) => Number.isInteger(n) && n >= 16),
    workerNodeFlags: (values['worker-node-flags'] ?? '').split(/\s+/).filter(Boolean),
    gateNodeFlags: (values['gate-node-flags'] ?? '').split(/\s+/).filter(Boolean),
    memoryLog: values['memory-log'] === undefined ? undefined : path.resolve(values['memory-log']),
    keepRunDirs: values['keep-run-dirs'] ?? false,
    verbose: !values.quiet,
  };
}

/**
 * Runs one scale run in a child process and returns what it printed. The run's redis-server is
 * started here and stopped when the child has ended, whichever way it ended.
 */
async function runChild(run: Omit<ScaleRunSpec, 'redisUrl'>, runEntry: string, gateNodeFlags: readonly string[]): Promise<ScaleRunResult> {
  const redis = await startRedisServer();
  try {
    return await runChildOn({ ...run, redisUrl: redis.url }, runEntry, gateNodeFlags);
  } finally {
    await redis.stop();
  }
}

function runChildOn(spec: ScaleRunSpec, runEntry: string, gateNodeFlags: readonly string[]): Promise<ScaleRunResult> {
  return new Promise((resolve, reject) => {
    // The commit-gate process runs the gates and phases 3–5 (and phase 2 with no phase-worker
    // processes): without a cap of the bench's own, the one \`phasegate worker\` would take.
    const phases: Phase[] = [...(spec.phaseProcesses === 0 ? [2 as const] : []), ...(spec.cascade && !spec.relay ? ([3, 4, 5] as const) : [])];
    const cap = spec.maxOldSpaceMb ?? workerHeapMb(loadConfig(productSettings(process.env)), { phases, commit: true, concurrency: spec.workers });
    const heap = cap === undefined ? [] : heapFlags(cap);
    const child = spawn(process.execPath, [...heap, ...gateNodeFlags, runEntry, JSON.stringify(spec)], {
      // As `phasegate worker` starts its capped child (src/cli/worker-heap.ts).
      env: cappedProcessEnv(process.env),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as ScaleRunResult);
      else reject(new Error(`scale run of ${spec.dates} dates exited with code ${code}: ${out.slice(-500)}`));
    });
  });
}

const pad = (s: string | number, n: number) => String(s).padStart(n);

function table(rows: readonly ScaleRunResult[], rawTables: readonly string[]): string[] {
  const head = [
    pad('dates', 6),
    pad('scale', 5),
    pad('procs', 5),
    ...rawTables.map((t) => pad(`ops ${/player/.test(t) ? 'player' : 'team'}`, 11)),
    pad('commits', 8),
    pad('rows', 9),
    pad('makespan BQ s', 14),
    pad('bound BQ s', 11),
    pad('× bound', 8),
    pad('real s', 8),
    pad('real ms/date', 13),
    pad('worker RSS MB', 14),
    pad('Redis MB', 9),
    pad('DuckDB MB', 10),
  ];
  const lines = [head.join(' ')];
  for (const r of rows) {
    const raw = rawTables.map((t) => r.tables.find((x) => x.table === t));
    const data = r.tables.filter((t) => !t.log);
    const rss = r.phaseProcesses === 0 ? String(r.gateRssMb) : `${Math.max(...r.phaseWorkerRssMb)}+${r.gateRssMb}`;
    lines.push(
      [
        pad(r.dates, 6),
        pad(`×${r.timeScale}`, 5),
        pad(r.phaseProcesses === 0 ? 'in' : r.phaseProcesses, 5),
        ...raw.map((t) => pad(t?.tableOperations ?? '—', 11)),
        pad(
          data.reduce((n, t) => n + t.commits, 0),
          8,
        ),
        pad(
          data.reduce((n, t) => n + t.rows, 0),
          9,
        ),
        pad(r.makespanSeconds.bigquery, 14),
        pad(r.bound.seconds, 11),
        pad(r.makespanOverBound ?? '—', 8),
        pad(r.makespanSeconds.real, 8),
        pad(r.realMsPerDate, 13),
        pad(rss, 14),
        pad(r.redis.peakMemoryMb, 9),
        pad(r.warehouseFileMb, 10),
      ].join(' '),
    );
  }
  return lines;
}

async function main(): Promise<number> {
  const flags = parseFlags(parse);
  if ('exitCode' in flags) return flags.exitCode;
  const opts = flags.opts;
  const log = progressLog('scale', opts.verbose);
  const started = Date.now();
  const config = loadConfig(productSettings(process.env));
  const maxSlices = config.table.commitMaxSlices;
  const source = new RepeatedSeasonsSource();
  const most = Math.max(...opts.sizes, ...(opts.processes.length > 0 ? [opts.processDates] : []));
  await mkdir(opts.workDir, { recursive: true });
  // Held until the process exits: a second run in the same work dir refuses at once.
  await lockWorkDir(opts.workDir);
  const storeDir = await prepareScaleRaw(opts.workDir, await source.firstDates(most), source, log);
  const results: ScaleRunResult[] = [];
  log('compiling the run and phase-worker processes (they run JavaScript, as an installed phasegate worker does)');
  const compiled = compileScaleProcesses(opts.workDir);
  const workerEntry = compiled.worker;
  const runs: Omit<ScaleRunSpec, 'redisUrl'>[] = [
    ...opts.sizes.map((dates) => ({ dates, phaseProcesses: 0, cascade: opts.cascade, timeScale: opts.timeScale })),
    // The in-process run first: the baseline the process runs are compared with, at their scale.
    ...(opts.processes.length > 0 ? [0, ...opts.processes] : []).map((p) => ({
      dates: opts.processDates,
      phaseProcesses: p,
      // With --cascade the process runs are cascades too (phases 3–5 where --relay says).
      cascade: opts.cascade,
      relay: opts.relay,
      timeScale: opts.processTimeScale,
    })),
  ].map((r, i) => ({
    ...r,
    workers: opts.workers,
    storeDir,
    runDir: path.join(opts.workDir, `run-${i}`),
    seed: opts.seed,
    timeoutSeconds: opts.timeoutSeconds,
    maxOldSpaceMb: opts.maxOldSpaceMb,
    workerNodeFlags: opts.workerNodeFlags,
    memoryLog: opts.memoryLog,
    keepRunDir: opts.keepRunDirs,
    workerEntry,
  }));
  for (const spec of runs) {
    log(
      `${spec.dates} dates${spec.cascade ? ' × every processor (cascade)' : ''}, phase workers ${spec.phaseProcesses === 0 ? 'in the gate process' : `in ${spec.phaseProcesses} processes`}: starting`,
    );
    const r = await runChild(spec, compiled.run, opts.gateNodeFlags);
    results.push(r);
    process.stdout.write(`${JSON.stringify(r)}\n`);
    log(`  done in ${r.makespanSeconds.real} s real (${r.makespanSeconds.bigquery} s BigQuery), ${r.failed} failed`);
  }

  const rawTables = [tableId(nbacPlayerBoxscore.table), tableId(nbacTeamBoxscore.table)];
  const w = (s: string) => process.stderr.write(`${s}\n`);
  w('');
  for (const line of table(results, rawTables)) w(line);
  w('');
  const sizes = results.slice(0, opts.sizes.length);
  const procs = results.slice(opts.sizes.length);
  const tunedHeap = opts.maxOldSpaceMb !== undefined || opts.workerNodeFlags.length > 0;
  for (const line of scaleTargets({ maxSlices, sizes, procs, rawTables, relay: opts.relay, tunedHeap })) w(line);
  const base = procs.find((r) => r.phaseProcesses === 1);
  for (const r of procs) {
    w(
      `INFO    ${r.dates} dates at × ${r.timeScale}, phase workers ${r.phaseProcesses === 0 ? 'in the commit-gate process' : `in ${r.phaseProcesses} process(es) + 1 commit-gate process`}: ${r.makespanSeconds.real} s real, speed-up ${base ? (base.makespanSeconds.real / r.makespanSeconds.real).toFixed(2) : '—'} × over 1 process`,
    );
  }
  if (opts.svg && sizes.length > 0) {
    const ops = (t: string) => sizes.map((r) => [r.dates, r.tables.find((x) => x.table === t)?.tableOperations ?? 0] as const);
    const panels: Panel[] = [
      {
        title: 'Table operations per raw table',
        xLabel: 'game dates backfilled',
        yLabel: 'table operations',
        series: [
          { name: 'player box scores', points: ops(rawTables[0] as string) },
          { name: 'team box scores', points: ops(rawTables[1] as string) },
          { name: `dates / ${maxSlices} + ${SMALL}`, points: sizes.map((r) => [r.dates, Math.ceil(r.dates / maxSlices) + SMALL] as const), dashed: true },
        ],
      },
      {
        title: 'Makespan',
        xLabel: 'game dates backfilled',
        yLabel: 'seconds',
        series: [
          { name: 'real', points: sizes.map((r) => [r.dates, r.makespanSeconds.real] as const) },
          { name: `BigQuery clock (× ${opts.timeScale})`, points: sizes.map((r) => [r.dates, r.makespanSeconds.bigquery] as const) },
        ],
      },
      {
        title: 'Real time per date',
        xLabel: 'game dates backfilled',
        yLabel: 'ms per date',
        series: [{ name: 'real ms per date', points: sizes.map((r) => [r.dates, r.realMsPerDate] as const) }],
      },
      {
        title: 'Memory and disk',
        xLabel: 'game dates backfilled',
        yLabel: 'MB',
        series: [
          { name: 'peak worker RSS', points: sizes.map((r) => [r.dates, r.gateRssMb] as const) },
          { name: 'Redis peak (INFO memory)', points: sizes.map((r) => [r.dates, r.redis.peakMemoryMb] as const) },
          { name: 'DuckDB file', points: sizes.map((r) => [r.dates, r.warehouseFileMb] as const) },
        ],
      },
    ];
    if (procs.length > 0)
      panels.push({
        title: `${opts.processDates} dates at × ${opts.processTimeScale}: phase-worker processes`,
        xLabel: 'phase-worker processes beside the commit-gate process (0: inside it)',
        yLabel: 'real seconds',
        series: [{ name: 'makespan, real', points: procs.map((r) => [r.phaseProcesses, r.makespanSeconds.real] as const) }],
      });
    await mkdir(path.dirname(opts.svg), { recursive: true });
    await writeFile(
      opts.svg,
      chartSvg(`bench:scale — phase 2 of both raw tables${opts.cascade ? ' and every processor downstream' : ''}`, panels, {
        note: `Embedded DuckDB behind the BigQuery rules, time scale × ${opts.timeScale}, ${opts.workers} phase workers per process${opts.maxOldSpaceMb ? `, node --max-old-space-size=${opts.maxOldSpaceMb}` : ''}; one run per point.`,
      }),
    );
    w(`chart written to ${path.relative(process.cwd(), opts.svg)}`);
  }
  w(`total ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    // A run refused for its work dir says so in one line; anything else with its stack.
    process.stderr.write(
      err instanceof WorkDirBusyError ? `${err.message}\n` : `bench:scale: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
