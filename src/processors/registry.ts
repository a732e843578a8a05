/**
 * The processor registry: every processor is declared once, and table and column names
 * reach SQL only from here, validated as identifiers when the registry is built.
 */
import { DefinitionError } from '../errors/definition-error.ts';
import { InputError } from '../errors/input-error.ts';
import { playerGameSummary } from './analytics/player-game-summary.ts';
import { teamDefenseGameSummary } from './analytics/team-defense-game-summary.ts';
import { teamOffenseGameSummary } from './analytics/team-offense-game-summary.ts';
import { playerCrosswalk } from './crosswalk/player-crosswalk.ts';
import { playerRollingFeatures } from './precompute/player-rolling-features.ts';
import { playerPointsPredictions } from './predictions/player-points-predictions.ts';
import { SOURCES, sourceProcessors } from './source-registry.ts';
import { type LogTableDef, type ProcessorDef, QUALITY_ISSUES_COLUMN, type TableSpec, type TransformDef, tableId } from './types.ts';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** Every processor a transform reads: its dependencies, then its optional inputs. */
export function inputsOf(def: TransformDef): readonly string[] {
  return [...def.dependsOn, ...(def.optionalInputs ?? [])];
}
const NAME = /^[a-z][a-z0-9_]{0,63}$/;

function checkIdent(what: string, value: string): void {
  if (!IDENT.test(value)) throw new DefinitionError(`registry: ${what} ${JSON.stringify(value)} is not a valid identifier`);
}

function checkTable(spec: TableSpec): void {
  checkIdent('dataset', spec.dataset);
  checkIdent('table', spec.table);
  const names = new Set<string>();
  for (const col of spec.columns) {
    checkIdent(`column of ${tableId(spec)}`, col.name);
    if (names.has(col.name)) throw new DefinitionError(`registry: ${tableId(spec)} declares column ${col.name} twice`);
    names.add(col.name);
  }
  for (const key of [...spec.primaryKey, spec.sliceColumn, ...(spec.clusterBy ?? [])]) {
    if (!names.has(key)) throw new DefinitionError(`registry: ${tableId(spec)} names ${key}, which is not one of its columns`);
  }
  const slice = spec.columns.find((c) => c.name === spec.sliceColumn);
  if (slice?.type !== 'DATE') throw new DefinitionError(`registry: ${tableId(spec)} slice column ${spec.sliceColumn} must be a DATE`);
  if (spec.unitColumn !== undefined) {
    const unit = spec.columns.find((c) => c.name === spec.unitColumn);
    if (unit?.type !== 'STRING') throw new DefinitionError(`registry: ${tableId(spec)} unit column ${spec.unitColumn} must be a STRING column`);
    // The no-move check looks a key up by its unit: the unit must be part of the key, unless
    // the slice is (then no key can sit under another slice).
    if (!spec.primaryKey.includes(spec.unitColumn) && !spec.primaryKey.includes(spec.sliceColumn)) {
      throw new DefinitionError(`registry: ${tableId(spec)} primary key must include its unit column ${spec.unitColumn} or its slice column`);
    }
  }
  if ((spec.plausibility ?? []).some((r) => r.level === 'warn') && spec.columns.find((c) => c.name === QUALITY_ISSUES_COLUMN)?.type !== 'JSON') {
    throw new DefinitionError(`registry: ${tableId(spec)} has warn-level rules but no ${QUALITY_ISSUES_COLUMN} JSON column to record them in`);
  }
}

export class Registry {
  private readonly byName = new Map<string, ProcessorDef>();

  private readonly logs = new Map<string, LogTableDef>();

  /**
   * `logTables` are phasegate's own log tables (conflicts, runs; src/tables): they get a commit
   * gate like a processor's table, but are not processors, so no backfill or phase job can name
   * them. The runtime hands them in (`withLogTables`): the registry is the ground floor and
   * imports nothing above it.
   */
  constructor(
    private readonly defs: readonly ProcessorDef[],
    logTables: readonly LogTableDef[] = [],
  ) {
    for (const def of defs) {
      if (!NAME.test(def.name)) throw new DefinitionError(`registry: processor name ${JSON.stringify(def.name)} must match ${NAME}`);
      if (this.byName.has(def.name)) throw new DefinitionError(`registry: processor ${def.name} is declared twice`);
      if (def.kind === 'transform') {
        checkTable(def.table);
        if (def.expects && def.table.unitColumn === undefined)
          throw new DefinitionError(`registry: ${def.name} declares what a slice must contain but its table has no unit column`);
      }
      this.byName.set(def.name, def);
    }
    const owners = new Map<string, string>();
    for (const def of this.transforms()) {
      for (const dep of inputsOf(def)) {
        if (!this.byName.has(dep)) throw new DefinitionError(`registry: ${def.name} depends on unknown processor ${dep}`);
      }
      const id = tableId(def.table);
      const owner = owners.get(id);
      // One processor owns a table's slices; two would delete each other's rows in the MERGE.
      if (owner) throw new DefinitionError(`registry: ${def.name} and ${owner} both write ${id}`);
      owners.set(id, def.name);
    }
    for (const log of logTables) {
      checkTable(log.table);
      const id = tableId(log.table);
      if (log.table.writeMode !== 'append') throw new DefinitionError(`registry: log table ${id} must be append-only`);
      if (this.byName.has(log.name)) throw new DefinitionError(`registry: log table ${log.name} has a processor's name`);
      const owner = owners.get(id);
      if (owner) throw new DefinitionError(`registry: ${log.name} and ${owner} both write ${id}`);
      owners.set(id, log.name);
      this.logs.set(id, log);
    }
    this.checkAcyclic();
  }

  private checkAcyclic(): void {
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (name: string, path: string[]): void => {
      if (state.get(name) === 'done') return;
      if (state.get(name) === 'visiting') throw new DefinitionError(`registry: dependency cycle ${[...path, name].join(' → ')}`);
      state.set(name, 'visiting');
      const def = this.byName.get(name);
      if (def?.kind === 'transform') for (const dep of inputsOf(def)) visit(dep, [...path, name]);
      state.set(name, 'done');
    };
    for (const name of this.byName.keys()) visit(name, []);
  }

  /** This registry with `logs` declared too (those it has already are kept once). */
  withLogTables(logs: readonly LogTableDef[]): Registry {
    const missing = logs.filter((l) => !this.logs.has(tableId(l.table)));
    return missing.length === 0 ? this : new Registry(this.defs, [...this.logs.values(), ...missing]);
  }

  /** The processor, or an InputError listing the known names. */
  get(name: string): ProcessorDef {
    const def = this.byName.get(name);
    if (!def) throw new InputError(`unknown processor "${name}" (known: ${[...this.byName.keys()].join(', ')})`);
    return def;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  all(): ProcessorDef[] {
    return [...this.byName.values()];
  }

  transforms(): TransformDef[] {
    return this.all().filter((d): d is TransformDef => d.kind === 'transform');
  }

  /** phasegate's own log tables (append-only, written through their own commit gates). */
  logTables(): LogTableDef[] {
    return [...this.logs.values()];
  }

  isLogTable(table: string): boolean {
    return this.logs.has(table);
  }

  /** Every table with a commit gate (`dataset.table`): the transforms' tables, then the log tables. */
  gatedTables(): string[] {
    return [...this.transforms().map((d) => tableId(d.table)), ...this.logs.keys()];
  }

  /** The spec of any gated table: a transform's target or a log table. */
  tableSpec(table: string): TableSpec {
    return this.logs.get(table)?.table ?? this.writerOf(table).table;
  }

  /** The transform writing a table (`dataset.table`). */
  writerOf(table: string): TransformDef {
    const def = this.transforms().find((d) => tableId(d.table) === table);
    if (!def) throw new InputError(`no processor writes table ${table}`);
    return def;
  }

  /** Transforms that directly depend on `name`, or read it as an optional input. */
  dependents(name: string): TransformDef[] {
    return this.transforms().filter((d) => inputsOf(d).includes(name));
  }

  /** The processors a run of `names` reaches: those, and with `cascade` everything downstream of them. */
  reached(names: readonly string[], cascade: boolean): Set<string> {
    const out = new Set(names);
    if (cascade) for (const n of names) for (const d of this.downstream(n)) out.add(d.name);
    return out;
  }

  /** Every processor downstream of `name`, transitively. */
  downstream(name: string): TransformDef[] {
    const seen = new Map<string, TransformDef>();
    const walk = (n: string): void => {
      for (const dep of this.dependents(n)) {
        if (!seen.has(dep.name)) {
          seen.set(dep.name, dep);
          walk(dep.name);
        }
      }
    };
    walk(name);
    return [...seen.values()];
  }

  /** Parses a comma-separated processor list; InputError for unknown names. */
  parseList(list: string): ProcessorDef[] {
    const names = list
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (names.length === 0) throw new InputError('--processors: name at least one processor');
    return [...new Set(names)].map((n) => this.get(n));
  }
}

/** Every processor phasegate ships. */
export const PROCESSORS: readonly ProcessorDef[] = [
  // Phases 1 and 2: each source's scrapers and raw processors (src/processors/source-registry.ts).
  ...SOURCES.flatMap(sourceProcessors),
  // Phases 3–5 run from completion events (see src/queues/events/dependency-tracker.ts).
  playerCrosswalk,
  playerGameSummary,
  teamOffenseGameSummary,
  teamDefenseGameSummary,
  playerRollingFeatures,
  playerPointsPredictions,
];
