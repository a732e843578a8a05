/** What checkSlice stages for each row: the issues recorded and found, the caller's rows left as they were. */
import { expect } from 'chai';
import { checkSlice } from '../src/integrity/slice-check.ts';
import { atMostValue } from '../src/processors/plausibility-rules.ts';
import type { Row, TableSpec } from '../src/processors/types.ts';

const SPEC: TableSpec = {
  dataset: 'nba_analytics',
  table: 'lines',
  sliceColumn: 'game_date',
  primaryKey: ['game_date', 'player_id'],
  unitColumn: 'game_id',
  columns: [
    { name: 'game_date', type: 'DATE' },
    { name: 'player_id', type: 'INT64' },
    { name: 'game_id', type: 'STRING' },
    { name: 'pts', type: 'INT64' },
    { name: 'quality_issues', type: 'JSON' },
  ],
  plausibility: [atMostValue('pts_at_most_100', 'pts', 100)],
};

const EARLIER = JSON.stringify([{ rule: 'fallback_source', level: 'warn', detail: 'from the fallback' }]);

describe('checkSlice: the quality issues a row stages with', () => {
  it('keeps a clean row as it came, records a found issue after the ones it carried, and never changes the input rows', () => {
    const input: Row[] = [
      { game_date: '2024-01-02', player_id: 1, game_id: 'g1', pts: 10, quality_issues: null },
      { game_date: '2024-01-02', player_id: 2, game_id: 'g1', pts: 150, quality_issues: null },
      { game_date: '2024-01-02', player_id: 3, game_id: 'g1', pts: 20, quality_issues: EARLIER },
      { game_date: '2024-01-02', player_id: 4, game_id: 'g1', pts: 120, quality_issues: EARLIER },
      { game_date: '2024-01-02', player_id: 5, game_id: 'g1', pts: 30 },
    ];
    const before = structuredClone(input);
    const check = checkSlice({ spec: SPEC, processor: 'lines', slice: '2024-01-02', rows: input, expectation: ['g1'] });
    expect(input).to.deep.equal(before);
    expect(check.outcome).to.equal('complete');
    expect(check.warnings).to.equal(3);
    const found = { rule: 'pts_at_most_100', level: 'warn' };
    const issues = check.rows.map((r) => (typeof r.quality_issues === 'string' ? JSON.parse(r.quality_issues) : r.quality_issues));
    expect(issues[0]).to.equal(null);
    expect(issues[1]).to.deep.equal([{ ...found, detail: 'pts 150 > 100' }]);
    expect(issues[2]).to.deep.equal(JSON.parse(EARLIER));
    expect(issues[3]).to.deep.equal([...JSON.parse(EARLIER), { ...found, detail: 'pts 120 > 100' }]);
    // A row without the cell stages with it, null.
    expect(check.rows[4]).to.deep.equal({ ...before[4], quality_issues: null });
    expect(check.rows.map((r) => r.pts)).to.deep.equal([10, 150, 20, 120, 30]);
  });
});
