/**
 * Small staged slices stay inline in their pending entry in Redis (PHASEGATE_STAGING_INLINE_MAX_BYTES)
 * instead of an object each; bigger ones still go to the object store. A commit writes each run
 * of consecutive inline slices of its batch as one object, reads it with the others in batch
 * order, and deletes it once landed. Real queues, Redis and DuckDB behind the BigQuery rules.
 */
import { expect } from 'chai';
import { addDays, datesIn } from '../src/processors/precompute/lookback.ts';
import { Registry } from '../src/processors/registry.ts';
import type { Row, TableSpec, TransformDef } from '../src/processors/types.ts';
import { stagedObjectKeys, stagedObjects } from '../src/queues/commit/staged-objects.ts';
import { stageRows } from '../src/queues/commit/staging.ts';
import type { Runtime } from '../src/runtime.ts';
import { openTestRuntime, runtimePerTest, until } from './helpers.ts';

const spec: TableSpec = {
  dataset: 'nba_raw',
  table: 'inline_t',
  columns: [
    { name: 'd', type: 'DATE', nullable: false },
    { name: 'k', type: 'STRING', nullable: false },
    { name: 'v', type: 'STRING', nullable: true },
  ],
  primaryKey: ['d', 'k'],
  sliceColumn: 'd',
};
const TABLE = 'nba_raw.inline_t';
const def: TransformDef = { kind: 'transform', name: 'inline_t', phase: 2, description: 'test', table: spec, dependsOn: [], run: async () => [] };
// 2 KiB: a slice of a few short rows stays inline, one with a long value does not.
const MAX = 2048;
const rowsOf = (d: string, n: number, v = 'x'): Row[] => Array.from({ length: n }, (_, i) => ({ d, k: `k${i}`, v }));

async function stagingObjects(rt: Runtime): Promise<string[]> {
  return rt.store.list(`staging/${TABLE}/`);
}

describe('inline staging: small slices stay in Redis, big ones go to the object store', function () {
  this.timeout(60_000);
  const env = runtimePerTest({ PHASEGATE_STAGING_INLINE_MAX_BYTES: String(MAX), PHASEGATE_COMMIT_GATHER_SECONDS: '0' }, { registry: new Registry([def]) });

  it('a small slice is staged inline (no object); a big one as an object of its own', async () => {
    const small = await stageRows(env.rt, def, '2024-01-01', rowsOf('2024-01-01', 3), undefined);
    expect(small.object).to.equal('');
    expect(
      small.inline
        ?.split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    ).to.deep.equal(rowsOf('2024-01-01', 3));
    expect((await env.rt.gate.pending(TABLE)).get('2024-01-01')?.inline).to.equal(small.inline);
    const big = await stageRows(env.rt, def, '2024-01-02', rowsOf('2024-01-02', 3, 'y'.repeat(MAX)), undefined);
    expect(big.inline).to.equal(undefined);
    expect(await env.rt.store.exists(big.object)).to.equal(true);
    expect(await stagingObjects(env.rt)).to.deep.equal([big.object]);
  });

  it("an object's bytes are its rows' NDJSON in UTF-8, whatever characters they hold; the inline limit counts bytes", async () => {
    // Latin-1 (é), past it (ć, written two bytes a char), and past the BMP (a surrogate pair, four bytes).
    // ...and a row of 3,000 two-byte characters, more than the buffer's first slack: it grows once.
    const names = ['Nikola Jokić', 'Luka Dončić', 'Théo Maledon', 'ascii only', 'emoji 🏀🏀', 'x'.repeat(MAX), 'ć'.repeat(3000), 'after the growth'];
    const rows = names.map((v, i) => ({ d: '2024-01-03', k: `k${i}`, v }));
    const staged = await stageRows(env.rt, def, '2024-01-03', rows, undefined);
    const bytes = await env.rt.store.get(staged.object);
    const lines = rows.map((r) => `${JSON.stringify(r)}\n`).join('');
    expect(bytes?.equals(Buffer.from(lines, 'utf8'))).to.equal(true);
    // Fewer UTF-16 units than MAX but more bytes: an object, not inline.
    const wide = [{ d: '2024-01-04', k: 'k0', v: 'ć'.repeat(MAX / 2) }];
    expect(`${JSON.stringify(wide[0])}\n`.length).to.be.below(MAX);
    const widely = await stageRows(env.rt, def, '2024-01-04', wide, undefined);
    expect(widely.inline).to.equal(undefined);
    expect((await env.rt.store.get(widely.object))?.toString('utf8')).to.equal(`${JSON.stringify(wide[0])}\n`);
  });

  it('re-staging an inline slice replaces its entry, touching no object', async () => {
    await stageRows(env.rt, def, '2024-01-01', rowsOf('2024-01-01', 3), undefined);
    const second = await stageRows(env.rt, def, '2024-01-01', rowsOf('2024-01-01', 2, 'z'), undefined);
    expect((await env.rt.gate.pending(TABLE)).get('2024-01-01')?.inline).to.equal(second.inline);
    expect(await stagingObjects(env.rt)).to.deep.equal([]);
  });

  it('a batch of inline and object slices lands every row, each run of inline slices read as one object', async () => {
    const dates = ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05'];
    // inline, inline, object, inline, inline: two runs of inline slices around one object.
    for (const d of dates) await stageRows(env.rt, def, d, d === '2024-01-03' ? rowsOf(d, 2, 'w'.repeat(MAX)) : rowsOf(d, 2, d), undefined);
    const { batch } = await env.rt.gate.take(TABLE, 'c-test', { maxSlices: 64, maxRows: 1000 });
    if (!batch) throw new Error('nothing taken');
    const objects = await stagedObjects(env.rt, TABLE, batch);
    expect(objects).to.have.length(3);
    expect(objects[1]).to.equal(batch.entries['2024-01-03']?.object);
    const first = (await env.rt.store.get(objects[0] as string))?.toString();
    expect(first).to.equal(`${batch.entries['2024-01-01']?.inline}${batch.entries['2024-01-02']?.inline}`);
    // A retried job writes the same bytes under the same keys.
    expect(await stagedObjects(env.rt, TABLE, batch)).to.deep.equal(objects);
    expect((await env.rt.store.get(objects[0] as string))?.toString()).to.equal(first);
    expect([...stagedObjectKeys(TABLE, batch)].sort()).to.deep.equal([...objects].sort());
    await env.rt.gate.putBack(TABLE, batch, batch.slices);
    // This take was the test's, not a commit job's: its inline objects are the test's to remove.
    for (const key of [objects[0], objects[2]]) await env.rt.store.delete(key as string);

    await env.rt.startWorkers({ phases: [], commit: true, concurrency: 1, tracker: false });
    await until(async () => {
      const statuses = await env.rt.statuses.getMany(def.name, dates);
      return statuses.every((s) => s?.status === 'committed');
    }, 'every slice committed');
    const w = await env.rt.warehouse();
    const rows = await w.query(`SELECT CAST(d AS VARCHAR) AS d, k, v FROM ${TABLE} ORDER BY d, k`);
    expect(rows.map((r) => `${r.d}/${r.k}/${String(r.v).slice(0, 10)}`)).to.deep.equal(
      dates.flatMap((d) => rowsOf(d, 2, d === '2024-01-03' ? 'w'.repeat(10) : d).map((r) => `${r.d}/${r.k}/${r.v}`)),
    );
    // The landed batch's objects, the inline runs' included, are gone.
    await until(async () => (await stagingObjects(env.rt)).length === 0 || undefined, 'staged objects deleted');
  });

  it('with the threshold at 0 every slice is an object, as before', async () => {
    const objectsOnly = await openTestRuntime({ PHASEGATE_STAGING_INLINE_MAX_BYTES: '0' }, { registry: new Registry([def]) });
    try {
      const entry = await stageRows(objectsOnly.rt, def, '2024-01-01', rowsOf('2024-01-01', 1), undefined);
      expect(entry.inline).to.equal(undefined);
      expect(await objectsOnly.rt.store.exists(entry.object)).to.equal(true);
    } finally {
      await objectsOnly.cleanup();
    }
  });

  it('a process makes and writes a few staged bodies at a time, however many jobs stage at once', async () => {
    // The store's own put, watched: how many are in flight, each held a moment as a busy disk would.
    const store = env.rt.store;
    const put = store.put.bind(store);
    let inFlight = 0;
    let most = 0;
    store.put = async (key, body) => {
      most = Math.max(most, ++inFlight);
      try {
        await new Promise((r) => setTimeout(r, 20));
        return await put(key, body);
      } finally {
        inFlight -= 1;
      }
    };
    const days = datesIn({ start: '2024-02-01', end: addDays('2024-02-01', 39) });
    const staged = await Promise.all(days.map((d) => stageRows(env.rt, def, d, rowsOf(d, 2, 'b'.repeat(MAX)), undefined)));
    expect(most).to.equal(16);
    // Every one of them staged, as an object of its own, registered with the gate.
    expect(staged.every((e) => e.object !== '' && e.inline === undefined)).to.equal(true);
    expect((await stagingObjects(env.rt)).sort()).to.deep.equal(staged.map((e) => e.object).sort());
    expect([...(await env.rt.gate.pending(TABLE)).keys()].sort()).to.deep.equal(days);
  });
});
