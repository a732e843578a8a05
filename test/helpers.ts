/**
 * Test isolation: every test runtime gets its own BullMQ prefix (`test-<uuid>`) and data
 * folder on the real Redis and a real DuckDB, and is torn down with its keys. A test that
 * leaves a runtime (workers, connections) open fails (see 00-leaks.test.ts).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { Redis } from 'ioredis';
import winston from 'winston';
import { type Config, loadConfig, withoutPhasegateEnv } from '../src/config/load-config.ts';
import { log } from '../src/log.ts';
import type { CommittedEvent } from '../src/queues/events/stream.ts';
import { openRuntime, type Runtime, type RuntimeOptions } from '../src/runtime.ts';

export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Runtimes opened by tests and not closed yet, with where each was opened. */
export const openRuntimes = new Map<Runtime, string>();

export interface TestEnv {
  config: Config;
  rt: Runtime;
  dir: string;
  cleanup: () => Promise<void>;
}

const BIN = path.resolve(import.meta.dirname, '..', 'bin', 'phasegate.js');

/**
 * The environment of a child process a test starts: the caller's without any `PHASEGATE_*`
 * (whatever was exported after the hermetic set-up ran), plus what the test owns.
 */
export function childEnv(own: Record<string, string>): NodeJS.ProcessEnv {
  return { ...withoutPhasegateEnv(process.env), ...own };
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `phasegate ARGS` as a user would: a child process with `childEnv(env)`. */
export function runCli(args: readonly string[], env: Record<string, string>): Promise<CliRun> {
  return runNode([BIN, ...args], env);
}

/** `node ARGV` (a script and its arguments, node flags first) in a child process with `childEnv(env)`; its exit code and output. */
export function runNode(argv: readonly string[], env: Record<string, string>, opts: { timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...argv], { env: childEnv(env), maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 0 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** What a child process wrote, kept as it comes (for a test's failure message or its checks). */
export interface ChildOutput {
  stdout: string;
  stderr: string;
}

/** `phasegate ARGS` in a child process of its own, in the test's environment plus `env`; its output kept. */
export function spawnCli(args: readonly string[], env: Record<string, string>): { proc: ChildProcess; out: ChildOutput } {
  const proc = spawn(process.execPath, [BIN, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const out: ChildOutput = { stdout: '', stderr: '' };
  proc.stdout?.on('data', (b: Buffer) => {
    out.stdout += b.toString();
  });
  proc.stderr?.on('data', (b: Buffer) => {
    out.stderr += b.toString();
  });
  return { proc, out };
}

/**
 * How a child process ended within `ms`: `exited <code>`, or `still running <s> s <after>` —
 * a string to compare, so a test that hangs says so instead of timing out.
 */
export function exitWithin(proc: ChildProcess, ms: number, after: string): Promise<string> {
  if (proc.exitCode !== null) return Promise.resolve(`exited ${proc.exitCode}`);
  return Promise.race([
    once(proc, 'exit').then(([code]) => `exited ${code}`),
    new Promise<string>((r) => setTimeout(() => r(`still running ${ms / 1000} s ${after}`), ms).unref()),
  ]);
}

/** `text` as a regular expression that matches it literally (a path, a number with its dot). */
export function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export async function deleteKeys(url: string, pattern: string): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

export async function testConfig(env: Record<string, string> = {}): Promise<{ config: Config; dir: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'phasegate-test-'));
  const config = loadConfig({
    REDIS_URL: TEST_REDIS_URL,
    PHASEGATE_PREFIX: `test-${randomUUID().slice(0, 8)}`,
    PHASEGATE_DATA_DIR: dir,
    PHASEGATE_TIME_SCALE: '200',
    PHASEGATE_LOG_LEVEL: 'error',
    ...env,
  });
  return { config, dir };
}

export async function openTestRuntime(env: Record<string, string> = {}, opts: RuntimeOptions = {}): Promise<TestEnv> {
  return openRuntimeFor(testCaller(), env, opts);
}

/** The test file's line that called into this helper, to name a runtime left open. */
function testCaller(): string {
  return (
    new Error().stack
      ?.split('\n')
      .find((l) => l.includes('.test.ts'))
      ?.trim() ?? 'unknown test'
  );
}

/**
 * A runtime of its own for each test of the calling suite: opened before each test, closed and
 * its keys and folder removed after it. The returned object reads the current test's.
 */
export function runtimePerTest(env: Record<string, string> = {}, opts: RuntimeOptions = {}): TestEnv {
  const caller = testCaller();
  let current: TestEnv | undefined;
  beforeEach(async () => {
    current = await openRuntimeFor(caller, env, opts);
  });
  afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });
  const now = (): TestEnv => {
    if (!current) throw new Error('runtimePerTest: no runtime outside a test');
    return current;
  };
  return {
    get config() {
      return now().config;
    },
    get rt() {
      return now().rt;
    },
    get dir() {
      return now().dir;
    },
    cleanup: async () => now().cleanup(),
  };
}

async function openRuntimeFor(caller: string, env: Record<string, string>, opts: RuntimeOptions): Promise<TestEnv> {
  const { config, dir } = await testConfig(env);
  const rt = await openRuntime(config, { redisExplicit: true, ...opts });
  openRuntimes.set(rt, caller);
  return {
    config,
    rt,
    dir,
    cleanup: async () => {
      if (openRuntimes.has(rt)) {
        openRuntimes.delete(rt);
        await rt.close();
      }
      await deleteKeys(TEST_REDIS_URL, `${config.prefix}:*`);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export { until } from '../scripts/lib/wait.ts';

/** The event a commit of `processor`'s table writes for `slice` (what the tracker handles), now. */
export function committedEvent(processor: string, table: string, slice: string, opts: { rows?: number; backfillId?: string | undefined } = {}): CommittedEvent {
  return { type: 'committed', processor, table, slice, rows: opts.rows ?? 2, batchId: 'b', committedAt: new Date().toISOString(), backfillId: opts.backfillId };
}

/**
 * Puts a table's breaker into the open state in Redis (its real keys), with `recent` commit
 * outcomes (true = conflicted, newest first) in the judging window: what a run of conflicting
 * commits leaves behind, without running them.
 */
export async function openBreaker(rt: Runtime, table: string, at: { since: number; reopensAt: number }, recent: readonly boolean[] = []): Promise<void> {
  const now = Date.now();
  await rt.redis.hset(rt.keys.breaker(table), { state: 'open', since: String(at.since), reopensAt: String(at.reopensAt), trips: '1' });
  if (recent.length > 0) await rt.redis.rpush(rt.keys.breakerRecent(table), ...recent.map((conflicted, i) => `${now - i}:${conflicted ? 1 : 0}:1`));
}

/** Runs `fn` on a connection to a fresh in-memory DuckDB, both closed after. */
export async function withMemoryDuckDB<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    return await fn(conn);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/**
 * The process logger's records at `level` and above while `body` runs (tests log at `error`
 * only): each record's JSON line. The level and transports are restored after.
 */
export async function withLogLines<T>(level: string, body: (lines: readonly string[]) => Promise<T>): Promise<T> {
  const lines: string[] = [];
  const sink = new winston.transports.Stream({
    stream: new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  });
  const before = log.level;
  log.level = level;
  log.add(sink);
  try {
    return await body(lines);
  } finally {
    log.remove(sink);
    log.level = before;
  }
}
