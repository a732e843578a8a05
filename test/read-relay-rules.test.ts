/**
 * A phase job in another process reads the DuckDB file through the holder's read relay; with
 * BigQuery's rules on, those reads are what they would be in the holder itself: counted as the
 * query jobs they would be on BigQuery (the benchmark's query-job target reads that count), and
 * a table's metadata carries the streaming buffer the rules keep. Before, the relay read
 * DuckDB beneath the rules: a relay cascade reported "0 reads" and no buffer.
 */
import { expect } from 'chai';
import { type ColumnType, type Row, tableId } from '../src/processors/types.ts';
import { defaultRegistry } from '../src/runtime.ts';
import { rulesOf } from '../src/warehouse/duckdb/backend.ts';
import { relayReader } from '../src/warehouse/read-relay/client.ts';
import { runtimePerTest, until } from './helpers.ts';

const TEAMS = defaultRegistry().tableSpec('nba_raw.nbac_team_boxscore');
const DATE = '2023-11-01';
/** A value of each column type, for a row that only has to be well-formed. */
const SOME: Record<ColumnType, unknown> = {
  STRING: 'x',
  INT64: 1,
  FLOAT64: 1.5,
  BOOL: false,
  DATE,
  TIMESTAMP: '2023-11-02T00:00:00.000Z',
  JSON: '{}',
};

describe('read relay with BigQuery rules: reads counted, the streaming buffer seen', function () {
  this.timeout(60_000);
  const env = runtimePerTest({ PHASEGATE_TIME_SCALE: '1' });

  it("a relayed read is one query job in the holder's record, a relayed check one check job, and the metadata carries the buffer", async () => {
    const { rt, config } = env;
    // The table gates take the file and serve reads of it.
    await rt.startWorkers({ phases: [], commit: true, concurrency: 1, tracker: false });
    const rules = rulesOf(await rt.warehouse());
    if (!rules) throw new Error('the runtime has no BigQuery rules layer');
    await rules.ensureTable(TEAMS);
    const reader = relayReader({ config, redis: rt.redis, keys: rt.keys });
    await until(async () => (await reader.presence()) !== undefined, 'the relay to serve', 20_000);

    const before = rules.record().tables[tableId(TEAMS)] ?? { readJobs: 0, checkJobs: 0, tableReads: 0 };
    expect(await reader.readSlices(TEAMS, [DATE])).to.deep.equal([]);
    expect(await reader.presentSlices(TEAMS, [DATE])).to.deep.equal([]);
    const after = rules.record().tables[tableId(TEAMS)];
    expect({ reads: after?.readJobs, checks: after?.checkJobs, tableReads: after?.tableReads }).to.deep.equal({
      reads: before.readJobs + 1,
      checks: before.checkJobs + 1,
      tableReads: before.tableReads + 1,
    });

    // Another writer streams a row (phasegate never does): BigQuery keeps it in the buffer.
    const row: Row = { ...Object.fromEntries(TEAMS.columns.map((c) => [c.name, SOME[c.type]])), game_date: DATE };
    await rules.streamingInsert(TEAMS, [row]);
    const meta = await reader.tableMetadata(TEAMS);
    expect(meta.streamingBuffer?.estimatedRows, 'the buffer as the holder sees it').to.equal(1);
    expect(meta.streamingBuffer?.oldestEntryTime).to.be.instanceOf(Date);
    expect(meta.streamingBuffer?.oldestEntryTime.getTime()).to.equal((await rules.tableMetadata(TEAMS)).streamingBuffer?.oldestEntryTime.getTime());
  });
});
