/**
 * One `phasegate worker --phases all` child process, as an operator runs it: the real CLI,
 * configured only through the environment. Its log goes to a file; the harness learns it is
 * ready from its "worker running" line, and kills it with SIGKILL (no cleanup of any kind).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { withoutPhasegateEnv } from '../../src/config/load-config.ts';

const BIN = path.resolve(import.meta.dirname, '..', '..', 'bin', 'phasegate.js');

export interface WorkerProcess {
  readonly pid: number;
  readonly n: number;
  readonly startedAt: number;
  /** Real ms timestamp the worker said it was running, once it has. */
  readyAt: number | undefined;
  /** Resolves when the worker has said it is running, or rejects when it exits first. */
  ready: Promise<void>;
  /** Resolves with how it ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isRunning(): boolean;
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startWorkerProcess(opts: { n: number; env: Record<string, string>; concurrency: number; logFile: string }): WorkerProcess {
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  const child: ChildProcess = spawn(process.execPath, [BIN, 'worker', '--phases', 'all', '--concurrency', String(opts.concurrency)], {
    env: { ...withoutPhasegateEnv(process.env), ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });
  void exited.then(() => log.end());
  const proc: WorkerProcess = {
    pid: child.pid ?? -1,
    n: opts.n,
    startedAt: Date.now(),
    readyAt: undefined,
    ready: new Promise<void>((resolve, reject) => {
      let buffered = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        log.write(chunk);
        if (proc.readyAt !== undefined) return;
        buffered += chunk.toString();
        if (buffered.includes('worker running')) {
          proc.readyAt = Date.now();
          resolve();
        }
      });
      void exited.then((info) => reject(new Error(`worker #${opts.n} exited before it was ready (code ${info.code}, signal ${info.signal})`)));
    }),
    exited,
    isRunning: () => exitInfo === undefined,
    kill: async (signal) => {
      if (exitInfo === undefined) child.kill(signal);
      return exited;
    },
  };
  child.stdout?.on('data', (chunk: Buffer) => log.write(chunk));
  // A rejection nobody awaits (the worker died while the harness waited elsewhere) is expected.
  proc.ready.catch(() => undefined);
  return proc;
}
