/**
 * The gate's Redis side of the conflict path, step by step: a hold moves fields from a taken
 * batch back to pending in one script, so wherever a worker is killed every slice is in
 * exactly one place — a batch (whose job re-reads it) or pending (held or not) — and none is
 * lost or landed twice. Also: held fields are skipped until due, deferred ones until a retry,
 * a re-staging makes a held slice takeable, and a batch whose job is gone is put back.
 */
import { expect } from 'chai';
import { sliceOfField, TableGateStore, type TakenBatch } from '../src/queues/commit/table-gate.ts';
import { mendTableGate } from '../src/queues/commit/worker.ts';
import { PLAYER_TABLE } from './conflict-fixtures.ts';
import { runtimePerTest } from './helpers.ts';

const SLICES = ['2024-02-01', '2024-02-02', '2024-02-03', '2024-02-04'];
const LIMITS = { maxSlices: 64, maxRows: 1_000_000 };

function entry(slice: string, version = 1) {
  return { object: `staging/${PLAYER_TABLE}/${slice}/v${version}.ndjson`, rows: 10, processor: 'nbac_player_boxscore', stagedAt: new Date().toISOString() };
}

describe('table gate: holds, deferrals and crash safety of the conflict path', () => {
  const env = runtimePerTest();
  let gate: TableGateStore;

  beforeEach(async () => {
    gate = env.rt.gate;
    for (const s of SLICES) await gate.register(PLAYER_TABLE, s, entry(s));
  });

  /** Every slice is in exactly one place: one taken batch, or pending. */
  async function placesOf(): Promise<Map<string, string[]>> {
    const places = new Map<string, string[]>();
    const add = (slice: string, where: string) => places.set(slice, [...(places.get(slice) ?? []), where]);
    for (const [jobId, batch] of await gate.takenBatches(PLAYER_TABLE)) for (const s of batch.slices) add(s, `batch:${jobId}`);
    for (const s of (await gate.pending(PLAYER_TABLE)).keys()) add(s, 'pending');
    return places;
  }

  async function expectEachOnce(): Promise<void> {
    const places = await placesOf();
    expect([...places.keys()].sort()).to.deep.equal(SLICES);
    for (const [slice, where] of places) expect(where, slice).to.have.length(1);
  }

  it('a hold returns the batch that remains and the held fields go back to pending in one step; a re-run re-reads that batch', async () => {
    const { batch, seq } = await gate.take(PLAYER_TABLE, 'c1', LIMITS);
    expect(batch?.slices).to.deep.equal(SLICES);
    // The take answers the sequence it moved to: what names the commit job for what is left.
    expect(seq).to.equal(await gate.currentSeq(PLAYER_TABLE));
    await expectEachOnce();
    const due = Date.now() + 60_000;
    const { batch: rest } = await gate.hold(PLAYER_TABLE, batch as TakenBatch, [
      { field: '2024-02-02', dueMs: due, info: JSON.stringify({ attempts: 1 }) },
      { field: '2024-02-04', dueMs: Number.POSITIVE_INFINITY, info: JSON.stringify({ attempts: 3 }) },
    ]);
    expect(rest.slices).to.deep.equal(['2024-02-01', '2024-02-03']);
    expect(Object.keys(rest.entries).sort()).to.deep.equal(['2024-02-01', '2024-02-03']);
    // The caller's batch is its own: nothing shrinks it behind its back.
    expect(batch?.slices).to.deep.equal(SLICES);
    await expectEachOnce();
    // Killed right after the hold: BullMQ re-runs job c1, which lands exactly the rest.
    const again = await gate.take(PLAYER_TABLE, 'c1', LIMITS);
    expect(again.batch?.slices).to.deep.equal(['2024-02-01', '2024-02-03']);
    expect(again.nextDueMs).to.equal(due);
    // A re-read moves nothing on: the sequence is the one the first take left.
    expect(again.seq).to.equal(seq);
    // Another commit skips the held field (not due) and the deferred one (never by itself).
    const other = await gate.take(PLAYER_TABLE, 'c2', LIMITS);
    expect(other.batch).to.equal(null);
    expect(other.remaining).to.equal(0);
    expect(other.nextDueMs).to.equal(due);
    // A take that finds nothing still moves the sequence on, as a take always did.
    expect(other.seq).to.equal(seq + 1);
    expect(await gate.currentSeq(PLAYER_TABLE)).to.equal(seq + 1);
    expect(await gate.held(PLAYER_TABLE)).to.deep.equal([
      { field: '2024-02-02', dueMs: due },
      { field: '2024-02-04', dueMs: Number.POSITIVE_INFINITY },
    ]);
    // Once due, a commit takes it; the deferred one still waits for a person.
    const later = await gate.take(PLAYER_TABLE, 'h1', LIMITS, due + 1);
    expect(later.batch?.slices).to.deep.equal(['2024-02-02']);
    // Landing releases the batch and forgets the field's hold and its notes.
    await gate.release(PLAYER_TABLE, later.batch as TakenBatch);
    expect(await gate.holdInfo(PLAYER_TABLE, ['2024-02-02', '2024-02-04'])).to.deep.equal([undefined, JSON.stringify({ attempts: 3 })]);
    await gate.release(PLAYER_TABLE, again.batch as TakenBatch);
    // `retry --deferred`: due now, then taken.
    expect(await gate.unpark(PLAYER_TABLE)).to.deep.equal(['2024-02-04']);
    const retried = await gate.take(PLAYER_TABLE, 'c3', LIMITS);
    expect(retried.batch?.slices).to.deep.equal(['2024-02-04']);
  });

  it('a held slice staged again takes its newer rows and is looked at by the next commit; the older object is reported unused', async () => {
    const { batch } = await gate.take(PLAYER_TABLE, 'c1', LIMITS);
    // Re-staged while the batch is in flight.
    await gate.register(PLAYER_TABLE, '2024-02-03', entry('2024-02-03', 2));
    const { superseded } = await gate.hold(PLAYER_TABLE, batch as TakenBatch, [{ field: '2024-02-03', dueMs: Date.now() + 60_000, info: '{}' }]);
    expect(superseded).to.deep.equal(['2024-02-03']);
    expect((await gate.pending(PLAYER_TABLE)).get('2024-02-03')?.object).to.match(/v2\.ndjson$/);
    // Staging again after the hold makes it takeable (a new try; the commit checks the buffer first).
    await gate.register(PLAYER_TABLE, '2024-02-03', entry('2024-02-03', 3));
    const next = await gate.take(PLAYER_TABLE, 'c2', LIMITS);
    expect(next.batch?.slices).to.deep.equal(['2024-02-03']);
    expect(next.batch?.entries['2024-02-03']?.object).to.match(/v3\.ndjson$/);
    // Its notes survive, so the commit knows it conflicted before.
    expect(await gate.holdInfo(PLAYER_TABLE, ['2024-02-03'])).to.deep.equal(['{}']);
  });

  it('a worker start puts back a batch whose job no longer exists', async () => {
    await gate.take(PLAYER_TABLE, 'c-gone', LIMITS);
    expect(await gate.pendingCount(PLAYER_TABLE)).to.equal(0);
    await mendTableGate(env.rt, PLAYER_TABLE);
    expect((await gate.takenBatches(PLAYER_TABLE)).size).to.equal(0);
    expect([...(await gate.pending(PLAYER_TABLE)).keys()].sort()).to.deep.equal(SLICES);
    // And a commit job is queued for them.
    const counts = await env.rt.queues.commit(PLAYER_TABLE).getJobCounts('waiting', 'delayed');
    expect((counts.waiting ?? 0) + (counts.delayed ?? 0)).to.be.at.least(1);
  });

  it('append tables register each chunk under its own field; the statement slices are the distinct dates', () => {
    expect(sliceOfField('2024-02-01#1b2c')).to.equal('2024-02-01');
    expect(sliceOfField('2024-02-01')).to.equal('2024-02-01');
    expect(TableGateStore.slicesOf({ slices: ['2024-02-02#a', '2024-02-01#b', '2024-02-02#c'] })).to.deep.equal(['2024-02-01', '2024-02-02']);
  });
});
