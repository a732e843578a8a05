/**
 * A slice staged again replaces its pending entry; the gate hands back the entry it replaced
 * (read in the same MULTI) and the stager deletes that object — unless a commit already took
 * it, in which case nothing was replaced and the commit's object stays.
 */
import { expect } from 'chai';
import type { TableSpec, TransformDef } from '../src/processors/types.ts';
import { stageRows } from '../src/queues/commit/staging.ts';
import { runtimePerTest } from './helpers.ts';

const spec: TableSpec = {
  dataset: 'nba_raw',
  table: 'restage_t',
  columns: [
    { name: 'k', type: 'STRING', nullable: false },
    { name: 'd', type: 'DATE', nullable: false },
  ],
  primaryKey: ['d', 'k'],
  sliceColumn: 'd',
};
const TABLE = 'nba_raw.restage_t';
const SLICE = '2024-01-01';
const def: TransformDef = { kind: 'transform', name: 'restage_t', phase: 2, description: 'test', table: spec, dependsOn: [], run: async () => [] };

describe('re-staging a slice deletes the object it replaced', () => {
  // Every slice as an object of its own: the path these tests are about (inline-staging.test.ts has the other).
  const env = runtimePerTest({ PHASEGATE_STAGING_INLINE_MAX_BYTES: '0' });

  it('register returns the pending entry it overwrote, atomically', async () => {
    const entry = (object: string) => ({ object, rows: 1, processor: def.name, stagedAt: new Date().toISOString() });
    expect((await env.rt.gate.register(TABLE, SLICE, entry('staging/a.ndjson'))).previous).to.equal(undefined);
    const second = await env.rt.gate.register(TABLE, SLICE, entry('staging/b.ndjson'));
    expect(second.previous?.object).to.equal('staging/a.ndjson');
    expect(second.pending).to.equal(1);
  });

  it('the stager deletes the previous staging of a pending slice', async () => {
    const first = await stageRows(env.rt, def, SLICE, [{ k: 'a', d: SLICE }], undefined);
    expect(await env.rt.store.exists(first.object)).to.equal(true);
    const second = await stageRows(env.rt, def, SLICE, [{ k: 'b', d: SLICE }], undefined);
    expect(second.object).not.to.equal(first.object);
    expect(await env.rt.store.exists(first.object)).to.equal(false);
    expect(await env.rt.store.exists(second.object)).to.equal(true);
    expect((await env.rt.gate.pending(TABLE)).get(SLICE)?.object).to.equal(second.object);
  });

  it('a staging a commit already took is not deleted by the next staging', async () => {
    const first = await stageRows(env.rt, def, SLICE, [{ k: 'a', d: SLICE }], undefined);
    const { batch } = await env.rt.gate.take(TABLE, 'c-test', { maxSlices: 10, maxRows: 1000 });
    expect(batch?.entries[SLICE]?.object).to.equal(first.object);
    const second = await stageRows(env.rt, def, SLICE, [{ k: 'b', d: SLICE }], undefined);
    expect(await env.rt.store.exists(first.object)).to.equal(true);
    expect(await env.rt.store.exists(second.object)).to.equal(true);
  });
});
