/**
 * Log tables: tables phasegate itself writes (conflicts, processing runs), not a processor's
 * output. They are declared in the registry like a processor's table — one owner each,
 * identifiers validated, a commit gate of their own — but no backfill, `--processors` list or
 * phase job can name them. Their rows go through the same group commit, in append mode:
 * many rows per statement, never one statement (or load job) per row.
 */
import type { TableSpec } from '../../processors/types.ts';

export interface LogTableDef {
  kind: 'log';
  /** What the log is called in logs and `status`; never a processor name. */
  name: string;
  description: string;
  table: TableSpec & { writeMode: 'append' };
}
