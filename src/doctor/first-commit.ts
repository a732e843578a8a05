/**
 * The first commit, predicted before any run: for each table that exists, whether these
 * credentials may write it, and a dry run of the exact statement its table gate will send — the
 * MERGE (log tables: INSERT … SELECT) from a temporary external table over a staged object, with
 * the registry's columns and the commit's parameters (`dryRunCommit`, src/warehouse/bigquery).
 * BigQuery checks a dry run as it would the job — column types, access, a partition filter
 * where the table requires one, the read of the bucket — without running or billing it. A
 * table not there yet is created by the first commit (its line above says so); its dataset's
 * line says whether that creation is allowed.
 *
 * The dry run reads one real, empty object staged for the purpose and deleted afterwards, so
 * a job's read of the bucket is checked too.
 */
import { randomUUID } from 'node:crypto';
import type { TableSpec } from '../processors/types.ts';
import type { CloudProject, TableDescription, WarehouseAdmin } from '../warehouse/admin.ts';
import { type Check, fail, messageOf, ok, warn } from './check.ts';

/**
 * What a commit's MERGE needs on its target table: read the partitions it replaces, write rows
 * (roles/bigquery.dataEditor holds both; cloud.google.com/bigquery/docs/access-control).
 */
export const TABLE_WRITE_PERMISSIONS = ['bigquery.tables.getData', 'bigquery.tables.updateData'] as const;

/** Where the probe object goes: under the staging prefix, like every staged object. */
const PROBE_PREFIX = 'staging/doctor';

/** The fix for a failed dry run, from BigQuery's text. */
function dryRunFix(message: string, dataset: string, bucket: string): string {
  if (/Access Denied|permission/i.test(message)) {
    return `grant roles/bigquery.dataEditor on dataset ${dataset} and roles/storage.objectViewer on gs://${bucket} to these credentials`;
  }
  if (/without a filter over column/i.test(message)) {
    return 'this phasegate’s statements carry the slice filter: upgrade every worker, or ALTER TABLE … SET OPTIONS (require_partition_filter = false)';
  }
  if (/cannot be inserted into column|has type|Invalid schema|No such field|not found inside/i.test(message)) {
    return 'the table and the registry disagree (see its table line): phasegate migrate adds missing columns; a changed type needs the table renamed and created again';
  }
  if (/Not found: (URI|Files)|location/i.test(message)) {
    return `keep gs://${bucket} in the datasets’ location (PHASEGATE_BQ_LOCATION)`;
  }
  return 'compare the table with the registry (phasegate doctor’s table line) and the roles on its dataset';
}

export async function firstCommitChecks(
  cloud: CloudProject,
  admin: WarehouseAdmin,
  specs: readonly TableSpec[],
  seen: ReadonlyMap<TableSpec, TableDescription | null>,
): Promise<Check[]> {
  const existing = specs.filter((s) => seen.get(s));
  if (existing.length === 0) return [];
  const checks: Check[] = [];
  const bucket = cloud.bucket.bucketName;
  const probe = `${PROBE_PREFIX}/${randomUUID()}.ndjson`;
  try {
    await cloud.bucket.put(probe, '');
  } catch (err) {
    return [
      fail(
        'first commit',
        `cannot stage an object in gs://${bucket} to dry-run the commits with: ${messageOf(err)}`,
        'grant roles/storage.objectUser on the bucket',
        true,
      ),
    ];
  }
  try {
    for (const spec of existing) {
      const dataset = admin.datasetOf(spec);
      const subject = `first commit ${dataset}.${spec.table}`;
      try {
        const missing = await cloud.missingTablePermissions(spec, TABLE_WRITE_PERMISSIONS);
        if (missing.length > 0) {
          checks.push(
            fail(
              subject,
              `the credentials lack ${missing.join(', ')} on the table: the commit fails with Access Denied`,
              `grant roles/bigquery.dataEditor on dataset ${dataset}`,
              true,
            ),
          );
          continue;
        }
      } catch (err) {
        checks.push(fail(subject, `tables.testIamPermissions failed: ${messageOf(err)}`, `grant roles/bigquery.dataEditor on dataset ${dataset}`, true));
        continue;
      }
      const statement = spec.writeMode === 'append' ? 'INSERT … SELECT' : 'MERGE';
      try {
        await cloud.dryRunCommit(spec, probe);
      } catch (err) {
        const message = messageOf(err);
        checks.push(fail(subject, `a dry run of its ${statement} fails: ${message}`, dryRunFix(message, dataset, bucket), true));
        continue;
      }
      // Where BigQuery insists on a partition filter, the gate's own read — what it runs when a
      // commit's integrity guard refuses a batch — is asked too: the statement alone does not
      // prove the reads around it.
      if (seen.get(spec)?.requirePartitionFilter) {
        try {
          await cloud.dryRunGateRead(spec);
        } catch (err) {
          const message = messageOf(err);
          checks.push(
            fail(subject, `a dry run of the gate's read (when a commit's guard refuses a batch) fails: ${message}`, dryRunFix(message, dataset, bucket), true),
          );
          continue;
        }
      }
      const reads = seen.get(spec)?.requirePartitionFilter ? ' and of the gate’s read (partition filter required)' : '';
      checks.push(ok(subject, `a dry run of its ${statement} from a staged object${reads} passes`));
    }
  } finally {
    try {
      await cloud.bucket.delete(probe);
    } catch (err) {
      checks.push(warn('first commit', `the probe object ${probe} could not be deleted: ${messageOf(err)}`, `gcloud storage rm gs://${bucket}/${probe}`));
    }
  }
  return checks;
}
