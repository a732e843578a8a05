/**
 * The digest a commit compares with the slice's last one to tell whether its downstream was
 * computed from other rows (src/queues/commit/staging.ts `contentHash`).
 */
import { expect } from 'chai';
import type { Row, TableSpec } from '../src/processors/types.ts';
import { contentHash } from '../src/queues/commit/staging.ts';

const spec: TableSpec = {
  dataset: 'nba_analytics',
  table: 'digest_t',
  columns: [
    { name: 'game_date', type: 'DATE', nullable: false },
    { name: 'player_id', type: 'INT64', nullable: false },
    { name: 'points', type: 'INT64' },
    { name: 'notes', type: 'JSON' },
    { name: 'processed_at', type: 'TIMESTAMP' },
  ],
  primaryKey: ['game_date', 'player_id'],
  sliceColumn: 'game_date',
};

const rows: Row[] = [
  { game_date: '2024-01-05', player_id: 1, points: 20, notes: null, processed_at: '2024-01-06T10:00:00.000Z' },
  { game_date: '2024-01-05', player_id: 2, points: 7, notes: '[{"rule":"team_totals"}]', processed_at: '2024-01-06T10:00:00.000Z' },
];

describe('contentHash: what a slice says, apart from when it was made', () => {
  it('is the same for the same values in another row order, key order, processing time, or with keys the table lacks', () => {
    const again: Row[] = [
      { processed_at: '2026-12-06T08:00:00.000Z', notes: '[{"rule":"team_totals"}]', points: 7, player_id: 2, game_date: '2024-01-05', extra: 'x' },
      { player_id: 1, game_date: '2024-01-05', points: 20, notes: null, processed_at: '2026-12-06T08:00:00.000Z' },
    ];
    expect(contentHash(spec, again)).to.equal(contentHash(spec, rows));
    expect(contentHash(spec, rows)).to.match(/^[0-9a-f]{16}$/);
  });

  it('changes when a value, a row or a null changes', () => {
    const base = contentHash(spec, rows);
    const [first, second] = rows as [Row, Row];
    expect(contentHash(spec, [{ ...first, points: 21 }, second])).not.to.equal(base);
    expect(contentHash(spec, [first])).not.to.equal(base);
    expect(contentHash(spec, [{ ...first, notes: '[]' }, second])).not.to.equal(base);
    // A missing column is a NULL, as it lands.
    const { notes: _dropped, ...withoutNotes } = first;
    expect(contentHash(spec, [withoutNotes, second])).to.equal(base);
  });
});
