/**
 * Every table phasegate writes, as the warehouse holds it, against the registry: one line per
 * table that matches, one line per difference that does not (src/warehouse/schema-diff.ts).
 */
import type { TableSpec } from '../processors/types.ts';
import { diffTable, expectedClustering, type SchemaFinding } from '../warehouse/schema-diff.ts';
import type { Warehouse } from '../warehouse/types.ts';
import { type Check, fail, messageOf, ok, warn } from './check.ts';

export interface TableCheckOptions {
  /**
   * The warehouse adds missing columns itself at the first commit (DuckDB's `ensureTable`),
   * so a missing column does not stop a worker. @defaultValue false
   */
  autoMigrates?: boolean;
}

function findingCheck(subject: string, f: SchemaFinding, opts: TableCheckOptions, qualified: string): Check {
  switch (f.kind) {
    case 'missingColumn':
      return fail(
        subject,
        `missing column ${f.column.name} (${f.column.type}): every commit writing it fails${opts.autoMigrates ? ' (a worker’s first commit adds it, too)' : ''}`,
        'phasegate migrate (adds it as NULLABLE)',
        !opts.autoMigrates,
      );
    case 'typeMismatch':
      return fail(
        subject,
        `column ${f.column} is ${f.actual}, the registry says ${f.expected}: its staged values cannot land`,
        'rename the table (or the column) and let phasegate create it again; migrate never changes a type',
        true,
      );
    case 'requiredInTable':
      return fail(
        subject,
        `column ${f.column} is REQUIRED in the table but nullable in the registry: a commit with a NULL there fails`,
        `ALTER TABLE ${qualified} ALTER COLUMN ${f.column} DROP NOT NULL`,
      );
    case 'unknownRequired':
      return fail(
        subject,
        `column ${f.column} is REQUIRED and not in the registry: every insert (which never names it) fails`,
        `ALTER TABLE ${qualified} ALTER COLUMN ${f.column} DROP NOT NULL`,
        true,
      );
    case 'partitioning':
      return fail(
        subject,
        `partitioned ${f.actual}, the registry expects ${f.expected}: a commit cannot be pruned to its slices and reads the whole table`,
        'recreate the table partitioned by the slice column (CREATE TABLE … PARTITION BY … AS SELECT, then swap), or drop it and backfill',
      );
    case 'clustering':
      return warn(
        subject,
        `clustered by ${f.actual.join(', ') || 'nothing'}, the registry expects ${f.expected.join(', ')}: reads by key scan more`,
        `bq update --clustering_fields=${f.expected.join(',')} ${qualified}`,
      );
    case 'requirePartitionFilter':
      return fail(
        subject,
        'requirePartitionFilter is set: phasegate’s reads by game and of the logs by time have no partition filter and fail',
        `ALTER TABLE ${qualified} SET OPTIONS (require_partition_filter = false)`,
        true,
      );
  }
}

export async function tableChecks(warehouse: Warehouse, specs: readonly TableSpec[], opts: TableCheckOptions = {}): Promise<Check[]> {
  const checks: Check[] = [];
  for (const spec of specs) {
    const qualified = `${warehouse.datasetOf(spec)}.${spec.table}`;
    const subject = `table ${qualified}`;
    let described: Awaited<ReturnType<Warehouse['describeTable']>>;
    try {
      described = await warehouse.describeTable(spec);
    } catch (err) {
      checks.push(fail(subject, `cannot be read: ${messageOf(err)}`, 'check the roles on the dataset (roles/bigquery.dataEditor)', true));
      continue;
    }
    if (!described) {
      checks.push(ok(subject, 'not there yet: the first commit creates it'));
      continue;
    }
    const findings = diffTable(spec, described);
    if (findings.length === 0) {
      const layout = described.partitioning ? `, partitioned by DAY(${spec.sliceColumn}), clustered by ${expectedClustering(spec).join(', ')}` : '';
      checks.push(ok(subject, `matches the registry (${spec.columns.length} columns${layout})`));
      continue;
    }
    for (const f of findings) checks.push(findingCheck(subject, f, opts, qualified));
  }
  return checks;
}
