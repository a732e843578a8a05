/**
 * What the tables must hold at the end of a chaos run, computed without the pipeline: the
 * fixture source's box scores for each date, run through the same processors in memory.
 * Then the check of the real tables against it, key by key per date.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Registry } from '../../src/processors/registry.ts';
import type { BoxscoreSource, TableSpec, TransformDef } from '../../src/processors/types.ts';
import { tableId } from '../../src/processors/types.ts';
import { FixtureSource } from '../../src/sources/fixture/fixture-source.ts';
import { sourceClients } from '../../src/sources/source-clients.ts';
import { LocalObjectStore } from '../../src/storage/local-store.ts';
import type { Warehouse } from '../../src/warehouse/types.ts';

/** Per table (`dataset.table`): expected rows per date. */
export type Expected = Record<string, { spec: TableSpec; rowsByDate: Record<string, number>; total: number }>;

export async function expectedRows(registry: Registry, source: BoxscoreSource, processors: readonly string[], dates: readonly string[]): Promise<Expected> {
  const dir = await mkdtemp(path.join(tmpdir(), 'phasegate-chaos-expected-'));
  try {
    const store = new LocalObjectStore(dir);
    const defs = processors.map((p) => registry.get(p));
    const clients = sourceClients(source instanceof FixtureSource ? source : undefined);
    for (const def of defs) if (def.kind === 'scraper') for (const slice of dates) await def.run({ slice, store, source, schedule: source, clients });
    const out: Expected = {};
    for (const def of defs.filter((d): d is TransformDef => d.kind === 'transform')) {
      const rowsByDate: Record<string, number> = {};
      let total = 0;
      for (const slice of dates) {
        const n = (await def.run({ slice, store, schedule: source })).length;
        rowsByDate[slice] = n;
        total += n;
      }
      out[tableId(def.table)] = { spec: def.table, rowsByDate, total };
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface TableCheck {
  table: string;
  expectedRows: number;
  rows: number;
  distinctKeys: number;
  duplicateRows: number;
  /** Dates whose distinct keys differ from the expected rows (missing or extra rows). */
  wrongDates: string[];
  ok: boolean;
}

export async function checkTables(warehouse: Warehouse & { tableName(spec: TableSpec): string }, expected: Expected): Promise<TableCheck[]> {
  const checks: TableCheck[] = [];
  for (const [table, { spec, rowsByDate, total }] of Object.entries(expected)) {
    const ident = (name: string) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a plain identifier: ${name}`);
      return `"${name}"`;
    };
    const keyList = spec.primaryKey.map(ident).join(', ');
    // Identifiers come from the processor registry; tableName validates and quotes the table.
    const rows = await warehouse.query(
      `SELECT CAST(${ident(spec.sliceColumn)} AS VARCHAR) AS d, count(*) AS n, count(DISTINCT (${keyList})) AS k FROM ${warehouse.tableName(spec)} GROUP BY 1`,
    );
    const byDate = new Map(rows.map((r) => [String(r.d), { n: Number(r.n), k: Number(r.k) }]));
    let n = 0;
    let k = 0;
    for (const { n: rn, k: rk } of byDate.values()) {
      n += rn;
      k += rk;
    }
    const wrongDates = [...new Set([...Object.keys(rowsByDate), ...byDate.keys()])].filter((d) => (byDate.get(d)?.k ?? 0) !== (rowsByDate[d] ?? 0)).sort();
    checks.push({
      table,
      expectedRows: total,
      rows: n,
      distinctKeys: k,
      duplicateRows: n - k,
      wrongDates,
      ok: n === total && k === total && wrongDates.length === 0,
    });
  }
  return checks;
}
