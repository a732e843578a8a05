/**
 * Shared by the commit- and conflict-path tests: rows for the player box-score table, the
 * runtime's warehouse as the BigQuery rules layer, and a webhook receiver.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { nbacPlayerBoxscore } from '../src/processors/nbac/player-boxscore.ts';
import type { Row } from '../src/processors/types.ts';
import type { Runtime } from '../src/runtime.ts';
import { BigQueryRulesWarehouse } from '../src/warehouse/rules/bigquery-rules-warehouse.ts';

export const PLAYER = nbacPlayerBoxscore;
export const PLAYER_TABLE = 'nba_raw.nbac_player_boxscores';

/** The runtime's warehouse, which these tests need to be the BigQuery rules layer (its record, its streaming inserts). */
export async function rulesWarehouse(env: { rt: Runtime }): Promise<BigQueryRulesWarehouse> {
  const w = await env.rt.warehouse();
  expect(w).to.be.instanceOf(BigQueryRulesWarehouse);
  return w as BigQueryRulesWarehouse;
}

/** A valid row of `nba_raw.nbac_player_boxscores` (keys and a few stats). */
export function boxRow(date: string, player: number, pts = 10, processedAt = new Date().toISOString()): Row {
  return {
    game_id: `00223${date.replace(/-/g, '').slice(3)}`,
    game_date: date,
    season: '2023-24',
    game_type: 'regular_season',
    team_id: 1610612737,
    player_id: player,
    player_name: `Player ${player}`,
    pts,
    source_file: `raw/${date}/test.json`,
    processed_at: processedAt,
  };
}

export function boxRows(date: string, players: number, pts = 10, processedAt?: string): Row[] {
  return Array.from({ length: players }, (_, i) => boxRow(date, 1000 + i, pts, processedAt));
}

export const DATES = ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05'];

/** A local HTTP server that records JSON bodies POSTed to it, answering `status`. */
export class Receiver {
  readonly bodies: { text: string; blocks?: unknown[] }[] = [];
  status = 200;
  private readonly server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      if (req.method === 'POST') this.bodies.push(JSON.parse(body) as { text: string; blocks?: unknown[] });
      res.writeHead(this.status, { 'content-type': 'text/plain' }).end(this.status === 200 ? 'ok' : 'no');
    });
  });

  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
