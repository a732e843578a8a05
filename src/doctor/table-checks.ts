/**
 * Every table phasegate writes, as the warehouse holds it, against the registry: one line per
 * table that matches, one line per difference that does not (src/warehouse/schema-diff.ts).
 */
import type { TableSpec } from '../processors/types.ts';
import type { TableDescription, WarehouseAdmin } from '../warehouse/admin.ts';
import { diffTable, expectedClustering, type SchemaFinding } from '../warehouse/schema-diff.ts';
import { type Check, fail, messageOf, ok, warn } from './check.ts';

export interface TableCheckOptions {
  /**
   * The warehouse adds missing columns itself at the first commit (DuckDB's `ensureTable`),
   * so a missing column does not stop a worker. @defaultValue false
   */
  autoMigrates?: boolean | undefined;
  /** Filled with what each table looked like (null: not there), for the checks that follow. @defaultValue none */
  seen?: Map<TableSpec, TableDescription | null>;
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
  }
}

export async function tableChecks(admin: WarehouseAdmin, specs: readonly TableSpec[], opts: TableCheckOptions = {}): Promise<Check[]> {
  const checks: Check[] = [];
  for (const spec of specs) {
    const qualified = `${admin.datasetOf(spec)}.${spec.table}`;
    const subject = `table ${qualified}`;
    let described: TableDescription | null;
    try {
      described = await admin.describeTable(spec);
    } catch (err) {
      checks.push(fail(subject, `cannot be read: ${messageOf(err)}`, 'check the roles on the dataset (roles/bigquery.dataEditor)', true));
      continue;
    }
    opts.seen?.set(spec, described);
    if (!described) {
      checks.push(ok(subject, 'not there yet: the first commit creates it'));
      continue;
    }
    const findings = diffTable(spec, described);
    if (findings.length === 0) {
      const layout = described.partitioning ? `, partitioned by DAY(${spec.sliceColumn}), clustered by ${expectedClustering(spec).join(', ')}` : '';
      // Not a difference: every statement and read on the commit path filters on the slice
      // column (bigquery/sql.ts), so such a table is written like any other.
      const filter = described.requirePartitionFilter
        ? `; requires a partition filter, which every commit statement and read carries (${spec.sliceColumn})`
        : '';
      checks.push(ok(subject, `matches the registry (${spec.columns.length} columns${layout})${filter}`));
      continue;
    }
    for (const f of findings) checks.push(findingCheck(subject, f, opts, qualified));
  }
  return checks;
}
