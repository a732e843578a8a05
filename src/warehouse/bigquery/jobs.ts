/**
 * Query jobs with client-side ids: how a statement runs at most once however often its
 * `jobs.insert` is retried, and how the caller waits for it.
 *
 * BigQuery refuses a second job with the same id (HTTP 409 `duplicate`), so a retried insert
 * of the same batch finds the first job and waits for it instead of running the MERGE again.
 * The Node client only handles that 409 itself for ids it generated; with our own ids it
 * surfaces the 409, and we adopt the existing job here.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BigQuery, Job, JobMetadata } from '@google-cloud/bigquery';
import type { BigQueryErrorPayload } from '../../errors/classify.ts';
import { PermanentError } from '../../errors/permanent-error.ts';

type JobConfiguration = NonNullable<JobMetadata['configuration']>;

// BigQuery job ids: letters, digits, `_` and `-`, at most 1,024 characters.
const JOB_ID_MAX = 1024;
// Room left for the `_r<n>` suffix of a re-run (see `runJob`).
const JOB_ID_BASE_MAX = JOB_ID_MAX - 8;
/**
 * How many failed runs of one batch id may be stepped over. A failed DML job changed
 * nothing, so each retry of a busy or conflicting batch may run again under `<id>_r<n>`.
 */
const MAX_RUNS = 500;

/** Polling `jobs.get`: start quick (most commits take seconds), back off to 5 s. */
export interface PollOptions {
  /** @defaultValue 250 */
  initialMs?: number;
  /** @defaultValue 5000 */
  maxMs?: number;
}

const POLL_DEFAULTS = { initialMs: 250, maxMs: 5000 } satisfies Required<PollOptions>;

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/**
 * A job id derived only from its parts, so the same batch always gets the same id. Characters
 * outside `[A-Za-z0-9_-]` become `_`; when that (or truncation) changed anything, a hash of
 * the original keeps two different batches from sharing an id.
 */
export function deterministicJobId(...parts: string[]): string {
  const raw = ['phasegate', ...parts].join('_');
  const clean = raw.replace(/[^A-Za-z0-9_-]/g, '_');
  if (clean === raw && clean.length <= JOB_ID_BASE_MAX) return clean;
  const hash = shortHash(raw);
  return `${clean.slice(0, JOB_ID_BASE_MAX - hash.length - 1)}_${hash}`;
}

/** The id of the n-th run of a batch: the base id, then `<base>_r2`, `<base>_r3`, … */
export function runJobId(base: string, run: number): string {
  return run === 1 ? base : `${base}_r${run}`;
}

/** A failed job's `status`, shaped like the client's `ApiError` so the classifier reads it. */
export function jobFailure(jobId: string, status: NonNullable<JobMetadata['status']>): Error & BigQueryErrorPayload {
  const result = status.errorResult ?? {};
  const errors = (status.errors?.length ? status.errors : [result]).map((e) => ({
    reason: e.reason ?? undefined,
    message: e.message ?? undefined,
    location: e.location ?? undefined,
  }));
  const err = new Error(result.message ?? `BigQuery job ${jobId} failed`) as Error & BigQueryErrorPayload;
  err.name = 'ApiError';
  err.reason = result.reason ?? undefined;
  err.errors = errors;
  return err;
}

/**
 * The job a `createJob` rejection still created. The Node client rejects whenever the
 * insert answer has `status.errors` (bigquery.js, createJob), but BigQuery lists non-fatal
 * errors there too: only `status.errorResult` means the job failed ("Errors here do not
 * necessarily mean that the job has not completed or was unsuccessful", REST reference,
 * JobStatus). The answer rides on the error as `response`.
 */
function createdDespiteErrors(thrown: unknown, jobId: string): JobMetadata | undefined {
  const answer = (thrown as { response?: JobMetadata } | null)?.response;
  if (!answer?.status || answer.status.errorResult || answer.jobReference?.jobId !== jobId) return undefined;
  return answer;
}

function isAlreadyExists(thrown: unknown): boolean {
  const p = thrown as BigQueryErrorPayload | null;
  return !!p && (p.code === 409 || p.errors?.some((e) => e.reason === 'duplicate') === true);
}

function sourceUris(config: JobConfiguration | undefined): string {
  const defs = config?.query?.tableDefinitions ?? {};
  return JSON.stringify(Object.values(defs).map((d) => [...(d.sourceUris ?? [])].sort()));
}

/**
 * An existing job may be adopted only if it is the same statement over the same staged
 * objects; otherwise the batch id was reused for different work and waiting would lie.
 */
function assertSameWork(jobId: string, existing: JobMetadata, config: JobConfiguration): void {
  const same = existing.configuration?.query?.query === config.query?.query && sourceUris(existing.configuration) === sourceUris(config);
  if (!same) throw new PermanentError(`BigQuery job ${jobId} already exists for a different statement; batch ids must not be reused`);
}

/**
 * Polls `jobs.get` until the job is DONE; a DONE job with an `errorResult` is thrown. No
 * deadline of our own: BigQuery ends a query job after 6 hours, and a MERGE queued behind
 * other DML (up to 20 per table) legitimately waits minutes.
 */
export async function waitForJob(job: Job, first: JobMetadata | undefined, poll: PollOptions = {}): Promise<JobMetadata> {
  const { initialMs, maxMs } = { ...POLL_DEFAULTS, ...poll };
  let metadata = first;
  let delay = initialMs;
  while (metadata?.status?.state !== 'DONE') {
    if (metadata) {
      await sleep(delay);
      delay = Math.min(delay * 2, maxMs);
    }
    [metadata] = await job.getMetadata();
  }
  if (metadata.status.errorResult) throw jobFailure(job.id ?? 'unknown', metadata.status);
  return metadata;
}

export interface RunJobRequest {
  /** Deterministic id of the work; re-runs after a failure get `_r<n>` suffixes. */
  jobId: string;
  location: string;
  configuration: JobConfiguration;
}

/**
 * Runs a query job and waits for it. If the id is taken (a retried insert, or a retried
 * batch), the existing job is adopted when it is running or succeeded, so the statement
 * never runs twice; when it failed — which for DML means it changed nothing — the next
 * `_r<n>` id is tried. Errors are thrown as the client reports them; the caller classifies.
 */
export async function runJob(client: BigQuery, request: RunJobRequest, poll?: PollOptions): Promise<JobMetadata> {
  for (let run = 1; run <= MAX_RUNS; run++) {
    const started = await startJob(client, request, runJobId(request.jobId, run));
    if (started) return await waitForJob(started.job, started.metadata, poll);
  }
  throw new PermanentError(`BigQuery job ${request.jobId} failed ${MAX_RUNS} times`);
}

/**
 * Inserts the job, or adopts the one already under its id; null when that one failed (the
 * caller tries the next id). A job created with non-fatal errors is started, not failed.
 */
async function startJob(client: BigQuery, request: RunJobRequest, jobId: string): Promise<{ job: Job; metadata: JobMetadata | undefined } | null> {
  try {
    const [job, metadata] = await client.createJob({ jobId, location: request.location, configuration: request.configuration });
    return { job, metadata };
  } catch (err) {
    const created = createdDespiteErrors(err, jobId);
    if (created) return { job: client.job(jobId, { location: created.jobReference?.location ?? request.location }), metadata: created };
    if (!isAlreadyExists(err)) throw err;
    const job = client.job(jobId, { location: request.location });
    const [existing] = await job.getMetadata();
    assertSameWork(jobId, existing ?? {}, request.configuration);
    if (existing?.status?.state === 'DONE' && existing.status.errorResult) return null;
    return { job, metadata: existing };
  }
}
