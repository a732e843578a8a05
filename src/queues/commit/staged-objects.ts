/**
 * What a commit reads and leaves behind: the staged objects of its batch, in batch order. A
 * slice staged as an object is read from it; the rows of slices staged inline (staging.ts) are
 * written for the commit as one object per run of consecutive inline slices, and deleted with
 * the others once the batch landed.
 */
import { createHash } from 'node:crypto';
import type { PipelineContext } from '../context.ts';
import type { TakenBatch } from './table-gate.ts';

/** Keys of inline runs written for a batch object (it may shrink after: held or refused slices leave it). */
const inlineWritten = new WeakMap<TakenBatch, Set<string>>();

/** A commit reads, in batch order, each object-staged entry's own object and each run of consecutive inline entries as one object. */
type StagedPart = { object: string } | { key: string; bodies: string[] };

function partsOf(table: string, batch: Pick<TakenBatch, 'jobId' | 'slices' | 'entries'>): StagedPart[] {
  const parts: StagedPart[] = [];
  let run: { fields: string[]; bodies: string[] } | undefined;
  const close = () => {
    if (!run) return;
    // Named by the batch's job and a hash of the run's fields and rows: a retry of the job writes
    // the same bytes under the same key, and no key ever names two different bodies (GCS staging
    // keys are create-only, gcs-store.ts).
    const hash = createHash('sha256').update(run.fields.join(',')).update('\n').update(run.bodies.join('')).digest('hex').slice(0, 16);
    parts.push({ key: `staging/${table}/_inline/${batch.jobId}-${hash}.ndjson`, bodies: run.bodies });
    run = undefined;
  };
  for (const field of batch.slices) {
    const entry = batch.entries[field];
    if (!entry) continue;
    if (entry.inline === undefined) {
      close();
      if (entry.object) parts.push({ object: entry.object });
      continue;
    }
    run ??= { fields: [], bodies: [] };
    run.fields.push(field);
    run.bodies.push(entry.inline);
  }
  close();
  return parts;
}

/**
 * The objects a commit of the batch reads, in batch order (a later object's row wins a key the
 * warehouse sees twice): an object-staged slice's own object, and for each run of consecutive
 * inline slices one object stashed now (ObjectStore.stash: memory for the local store, an upload
 * for GCS) — one per run instead of one per slice. Call it right before the statement: the
 * batch may have shrunk since the last call.
 */
export async function stagedObjects(ctx: PipelineContext, table: string, batch: TakenBatch): Promise<string[]> {
  const parts = partsOf(table, batch);
  let written = inlineWritten.get(batch);
  if (!written) {
    written = new Set();
    inlineWritten.set(batch, written);
  }
  const puts: Promise<void>[] = [];
  for (const part of parts) {
    if (!('key' in part)) continue;
    puts.push(ctx.store.stash(part.key, part.bodies.join('')));
    written.add(part.key);
  }
  await Promise.all(puts);
  return parts.map((p) => ('key' in p ? p.key : p.object));
}

/**
 * Every object a landed (or given-up) batch leaves behind: its slices' own objects and the
 * inline runs written for it, including those of a larger version of the batch (before a hold
 * or the integrity gate took slices out of it).
 */
export function stagedObjectKeys(table: string, batch: TakenBatch): string[] {
  const keys = new Set(inlineWritten.get(batch));
  for (const part of partsOf(table, batch)) keys.add('key' in part ? part.key : part.object);
  return [...keys];
}

/**
 * Writes a batch's inline rows as objects that outlive the process (a log batch that cannot land
 * keeps its rows for a person to look at; a stash may live only in memory). Returns their keys.
 */
export async function keepStaged(ctx: PipelineContext, table: string, batch: TakenBatch): Promise<string[]> {
  const parts = partsOf(table, batch);
  await Promise.all(parts.map((p) => ('key' in p ? ctx.store.put(p.key, p.bodies.join('')) : undefined)));
  return parts.map((p) => ('key' in p ? p.key : p.object));
}
