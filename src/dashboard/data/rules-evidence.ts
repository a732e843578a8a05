/**
 * What the BigQuery-rules layer counted for a table, when this process holds that warehouse
 * (the demo, tests). A separate dashboard process has no such evidence: the rules layer counts
 * in the memory of the process that runs the commits.
 */
import type { Runtime } from '../../runtime.ts';
import { BigQueryRulesWarehouse } from '../../warehouse/rules/bigquery-rules-warehouse.ts';
import type { TableRulesRecord } from '../../warehouse/rules/rules-record.ts';

export function rulesEvidence(rt: Runtime, table: string): TableRulesRecord | undefined {
  const w = rt.openedWarehouse();
  if (!(w instanceof BigQueryRulesWarehouse)) return undefined;
  return w.record().tables[table];
}
