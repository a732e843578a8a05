/**
 * `phasegate migrate`: brings every table phasegate writes up to the registry where that is
 * safe — a missing table is created, a missing column added as NULLABLE (BigQuery
 * `tables.patch`, DuckDB `ALTER TABLE … ADD COLUMN`). Anything else the doctor reports (a
 * changed type, other partitioning) needs a person, and is reported as such.
 */
import type { Registry } from '../processors/registry.ts';
import type { WarehouseAdmin } from '../warehouse/admin.ts';
import { missingColumns } from '../warehouse/schema-diff.ts';
import { type Check, fail, messageOf, ok } from './check.ts';
import { gatedSpecs } from './run-doctor.ts';
import { tableChecks } from './table-checks.ts';

/** `admin`: the warehouse's schema facet (`adminOf` in warehouse/index.ts). */
export async function migrate(warehouse: WarehouseAdmin, registry: Registry): Promise<Check[]> {
  const checks: Check[] = [];
  for (const spec of gatedSpecs(registry)) {
    const subject = `table ${warehouse.datasetOf(spec)}.${spec.table}`;
    try {
      const described = await warehouse.describeTable(spec);
      if (!described) {
        await warehouse.ensureTable(spec);
        checks.push(ok(subject, 'created'));
        continue;
      }
      const missing = missingColumns(spec, described);
      if (missing.length === 0) continue;
      await warehouse.addColumns(spec, missing);
      checks.push(ok(subject, `added ${missing.map((c) => `${c.name} (${c.type}, NULLABLE)`).join(', ')}`));
    } catch (err) {
      checks.push(
        fail(
          subject,
          `migration failed: ${messageOf(err)}`,
          'check the roles on the dataset (roles/bigquery.dataEditor) and that no worker holds the DuckDB file',
        ),
      );
    }
  }
  // What is left is what migrate cannot do: the doctor's lines for it.
  const after = await tableChecks(warehouse, gatedSpecs(registry));
  const left = after.filter((c) => c.status !== 'ok');
  if (checks.length === 0 && left.length === 0) checks.push(ok('migrate', 'every table already matches the registry'));
  return [...checks, ...left];
}
