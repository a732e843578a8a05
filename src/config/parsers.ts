/**
 * Parsers of settings' texts shared by several declarations (settings.ts): each turns a
 * variable's text into its value, and its first issue is the one-line error naming the variable.
 */
import path from 'node:path';
import { z } from 'zod';
import { BIGQUERY_LIMITS as BQ, formatLimit, MAX_COMMIT_JOBS_PER_WINDOW } from '../limits/bigquery.ts';

export const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
export const positive = z.coerce.number().positive();
export const atLeast0 = z.coerce.number().min(0);
export const share = z.coerce.number().min(0).max(1);
export const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');
export const resolvedPath = z
  .string()
  .min(1)
  .transform((p) => path.resolve(p));
/** A size as DuckDB takes it for `memory_limit`: a number and a unit, decimal (MB) or binary (MiB). */
export const duckdbSize = z.string().regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'a size with its unit, e.g. 256MB or 1GiB');
export const gameIds = z
  .string()
  .regex(/^(\d{10}(,\d{10})*)?$/, 'comma-separated 10-digit game ids')
  .transform((ids) => (ids === '' ? [] : ids.split(',')));
/**
 * A key prefix: letters, digits, `_` and `-`, with at most one `{…}` group — a Redis Cluster
 * hash tag, so that every key under the prefix hashes to one slot (BullMQ's recipe for a
 * cluster: docs.bullmq.io/patterns/redis-cluster).
 */
export const prefixText = z
  .string()
  .regex(/^[A-Za-z0-9_-]*(\{[A-Za-z0-9_-]+\})?[A-Za-z0-9_-]*$/, 'letters, digits, _ and - only, with at most one {hash tag}')
  .min(1)
  .max(64);
/** `host:port,host:port`: a Redis Cluster's seed nodes (the client learns the others from them). */
export const clusterNodes = z
  .string()
  .regex(/^[A-Za-z0-9.-]+:\d{1,5}(,[A-Za-z0-9.-]+:\d{1,5})*$/, 'comma-separated host:port seed nodes')
  .transform((text) =>
    text.split(',').map((node) => {
      const i = node.lastIndexOf(':');
      return { host: node.slice(0, i), port: Number(node.slice(i + 1)) };
    }),
  );
// A group commit modifies one partition per slice; BigQuery fails a job that modifies more.
export const TOO_MANY_SLICES = `at most ${formatLimit(BQ.partitionsModifiedPerJob)}: BigQuery lets one job modify at most that many partitions (one per slice)`;

/** Per-table overrides of the table gates' limits; the keys are `Config['table']`'s (checked in load-config.ts). */
export const tableLimitsJson = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not valid JSON' });
      return z.NEVER;
    }
  })
  .pipe(
    z.record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/, 'keys must be dataset.table'),
      z
        .object({
          concurrency: z.number().int().min(1).max(BQ.runningMutatingDmlPerTable),
          opsMax: z.number().int().min(1).max(MAX_COMMIT_JOBS_PER_WINDOW),
          opsWindowSeconds: z.number().min(BQ.tableMetadataUpdatesPerWindow.windowSeconds),
          dailyBudget: z.number().int().min(1).max(BQ.tableModificationsPerDay),
          commitMaxSlices: z.number().int().min(1).max(BQ.partitionsModifiedPerJob, TOO_MANY_SLICES),
          commitMaxRows: z.number().int().min(1),
          gatherSeconds: z.number().min(0),
          backlogGatherSeconds: z.number().min(0),
          upstreamGatherSeconds: z.number().min(0),
        })
        .partial()
        .strict(),
    ),
  );
