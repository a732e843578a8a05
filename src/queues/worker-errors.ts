/** A BullMQ worker's `error` events, logged once per run of failures (see RepeatedErrors). */
import type { Worker } from 'bullmq';
import { RepeatedErrors } from '../redis/repeated-errors.ts';

/** A lost connection is one line, a lost lock one line naming the job; a completed job ends the run of failures. */
export function logWorkerErrors(worker: Worker, what: string): void {
  const errors = new RepeatedErrors(what, 'error');
  worker.on('error', (err) => errors.failed(err));
  worker.on('completed', () => errors.ok());
}
